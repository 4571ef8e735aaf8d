"""Statements, ledgers and schedules under /v1/reports, the year-end close of a book, and the
programmes of a party (a dimension of the reports).

Every report takes one book, or several (`book_id` repeated) to consolidate them with the
inter-book balances eliminated, and may be cut by a dimension (`dimension=province&value=...`).
It answers JSON, or CSV, XLSX or PDF in English or Thai (`format`, `lang`). An enterprise token
runs reports only on the books its party owns; the schedules of another book it may read only
for its own party (its own loans, its own contributions).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api import report_tables
from api.context import Admin, Clock, ClockDep, DbDep, ReadDep, Reader, Registrar
from api.formats import (
    FORMATS_DOC,
    MEDIA_TYPES,
    FormatDep,
    LanguageDep,
    check_output,
    streamed_table_response,
    table_response,
)  # fmt: skip
from api.report_schemas import (
    FinancialPositionReport,
    GeneralLedgerReport,
    IncomeStatementReport,
    LoansReceivableReport,
    PartyScheduleReport,
    PeriodTrialBalanceReport,
    ProgrammeCreate,
    ProgrammesPublic,
    ReportScope,
    TrialBalanceReport,
    YearEndCloseCreate,
    YearEndClosePublic,
    YearEndReversalCreate,
)  # fmt: skip
from api.routes.journal import check_range
from api.routes.registry import owned_book, visible_book
from api.schemas import MAX_ID, ClientDate, Id, IdPath, IdQuery
from api.streams import general_ledger_json, streamed_json
from api.writes import Outcome, Write, WriteRequest, perform
from ledger.accounts import AccountType
from ledger.calendar import check_fiscal_year, fiscal_year_bounds
from ledger.charts import BookKind
from ledger.errors import LedgerError, Rejection
from ledger.loans import LoanClass
from ledger.money import format_amount
from ledger.reports import (
    INTER_BOOK_DIFFERENCE,
    FinancialPosition,
    IncomeStatement,
    ReportAccount,
    Statement,
    StatementLine,
    TreeLine,
    consolidate,
    financial_position,
    general_ledger,
    income_statement,
    movements_between,
    period_trial_balance,
    prior_period,
    running_lines,
    tree_lines,
)  # fmt: skip
from store import books, journal, reports, year_end
from store.engine import Database
from store.reports import Cut
from store.users import Principal

router = APIRouter(prefix="/v1")
FORMATS = {"content": {media.split(";")[0]: {} for media in MEDIA_TYPES.values()}, "description": FORMATS_DOC}
BookIds = Annotated[list[Id], Query(alias="book_id", min_length=1, max_length=reports.MAX_BOOKS)]
Dimension = Annotated[str | None, Query(max_length=40, description="region, province, centre or programme")]
Value = Annotated[str | None, Query(max_length=200)]
IdRequired = Annotated[int, Query(ge=1, le=MAX_ID)]
DateFrom = Annotated[ClientDate | None, Query(alias="from")]
DateTo = Annotated[ClientDate | None, Query(alias="to")]


def _amount(satang: int) -> str:
    return format_amount(satang)


def _pair(pair: tuple[int, int]) -> dict[str, str]:
    return {"amount": _amount(pair[0]), "prior": _amount(pair[1])}


def _output(fmt: FormatDep, lang: LanguageDep) -> tuple[str, str]:
    """The format and language asked for, refused before any work if we have no such thing."""
    check_output(fmt, lang)
    return fmt, lang


Output = Annotated[tuple[str, str], Depends(_output)]


def _answer(output: tuple[str, str], body: dict, table: Callable[[], Any]) -> Any:
    fmt, lang = output
    return body if fmt == "json" else table_response(table(), fmt, lang)


# --- the books, the cut and the balances of a report -------------------------------------------


@dataclass
class Scope:
    books: list[dict]
    accounts: list[ReportAccount]
    cut: Cut | None
    owners: dict[int, int | None]

    @property
    def ids(self) -> list[int]:
        return [b["id"] for b in self.books]

    @property
    def consolidated(self) -> bool:
        return len(self.books) > 1

    def body(self) -> dict:
        cut = {"dimension": self.cut.dimension, "value": self.cut.value} if self.cut else None
        return {"books": self.books, "consolidated": self.consolidated, "cut": cut}

    def balances(self, connection, as_of: date) -> tuple[dict[int, int], dict[int, int]]:
        """Balances at the end of `as_of`, consolidated, and what the elimination took out."""
        return self.net_of_inter_book(reports.balances(connection, self.ids, as_of, self.cut))

    def net_of_inter_book(self, balances: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
        if not self.consolidated:
            return balances, {}
        result = consolidate(self.accounts, balances, self.owners)
        return result.balances, result.eliminations

    def with_difference(self, *balances: dict[int, int]) -> list[ReportAccount]:
        """The accounts, and the inter-book difference line where a consolidation left one."""
        extra = any(INTER_BOOK_DIFFERENCE.id in b for b in balances)
        return self.accounts + ([INTER_BOOK_DIFFERENCE] if extra else [])


def scope_of(connection, book_ids: list[int], principal: Principal, dimension: str | None, value: str | None) -> Scope:
    ids = list(dict.fromkeys(book_ids))
    chosen = [owned_book(connection, book_id, principal) for book_id in ids]
    if (dimension is None) != (value is None):
        raise LedgerError(Rejection.invalid_request, "dimension and value go together")
    cut = Cut(dimension, value) if dimension is not None and value is not None else None
    reports.check_cut(connection, cut)
    return Scope(chosen, reports.report_accounts(connection, ids), cut, {b["id"]: b["party_id"] for b in chosen})


def _period(date_from: date | None, date_to: date | None, fiscal_year: int | None) -> tuple[date, date]:
    if fiscal_year is not None:
        check_fiscal_year(fiscal_year)
        if date_from is not None or date_to is not None:
            raise LedgerError(Rejection.invalid_request, "give a fiscal_year, or from and to, not both")
        return fiscal_year_bounds(fiscal_year)
    if date_from is None or date_to is None:
        raise LedgerError(Rejection.invalid_request, "give from and to, or a fiscal_year")
    check_range(date_from, date_to)
    return date_from, date_to


def _day(as_of: date | None, fiscal_year: int | None, clock: Clock) -> date:
    """The day a report at a date is drawn at: `as_of`, or the last day of `fiscal_year`, or today."""
    if fiscal_year is None:
        return as_of or clock.today()
    check_fiscal_year(fiscal_year)
    if as_of is not None:
        raise LedgerError(Rejection.invalid_request, "give a fiscal_year, or as_of, not both")
    return fiscal_year_bounds(fiscal_year)[1]


def _account_fields(account: ReportAccount, level: int = 1) -> dict:
    return {"account_id": account.id, "book_id": account.book_id, "code": account.code, "name_th": account.name_th,
            "name_en": account.name_en, "type": account.type.value, "parent_id": account.parent_id,
            "party_id": account.party_id, "level": level}  # fmt: skip


# --- the figures of each report, for the routes here and for the pages (web/routes/audit.py) ---


def trial_balance_of(
    connection, scope: Scope, day: date, *, depth: int | None = None, under: int | None = None
) -> tuple[dict[int, int], dict[int, int], tuple[TreeLine, ...]]:
    """The balances at the end of `day`, what the consolidation took out, and the lines shown."""
    balances, eliminated = scope.balances(connection, day)
    accounts = scope.with_difference(balances)
    if under is not None and under not in {a.id for a in accounts if a.id}:
        raise books.not_found("account", under)
    return balances, eliminated, tree_lines(accounts, balances, depth=depth, under=under)


def financial_position_of(connection, scope: Scope, day: date) -> tuple[date, FinancialPosition]:
    """The statement at the end of `day` beside the same date a year earlier (that date, and it)."""
    _, prior_day = prior_period(day, day)
    now, then = scope.balances(connection, day)[0], scope.balances(connection, prior_day)[0]
    return prior_day, financial_position(scope.with_difference(now, then), now, then)


def income_and_expenses(connection, scope: Scope, start: date, end: date) -> dict[int, int]:
    """Each account's movement over the period, without the year-end closing entries."""
    opening = reports.opening_balances(connection, scope.ids, start, scope.cut)
    closing = reports.balances(connection, scope.ids, end, scope.cut)
    closes = reports.closing_movements(connection, scope.ids, start, end, scope.cut)
    return scope.net_of_inter_book(movements_between(opening, closing, closes))[0]


def income_statement_of(connection, scope: Scope, first: date, last: date) -> IncomeStatement:
    """The period's statement beside the same period a year earlier."""
    prior_first, prior_last = prior_period(first, last)
    now = income_and_expenses(connection, scope, first, last)
    return income_statement(scope.accounts, now, income_and_expenses(connection, scope, prior_first, prior_last))


def ledger_accounts(scope: Scope, account_id: int | None) -> list[ReportAccount]:
    """The accounts a general ledger shows: every account of the scope, or the one asked for."""
    accounts = [a for a in scope.accounts if account_id in (None, a.id)]
    if not accounts:
        raise books.not_found("account", account_id)
    return accounts


def general_ledger_of(
    connection, scope: Scope, period: tuple[date, date], account_id: int | None = None
) -> tuple[tuple[ReportAccount, Statement], ...]:
    """Every account's statement over the period (or the one account's), all at once (at most
    MAX_LEDGER_LINES lines: the page, PDF and XLSX)."""
    accounts = ledger_accounts(scope, account_id)
    opening = reports.opening_balances(connection, scope.ids, period[0], scope.cut)
    lines = reports.ledger_lines(connection, scope.ids, period[0], period[1], scope.cut, account_id)
    return general_ledger(accounts, opening, lines)


def streamed_ledger(
    db: Database, scope: Scope, accounts: list[ReportAccount], period: tuple[date, date]
) -> Iterator[tuple[ReportAccount, int, Iterator[StatementLine]]]:
    """Each account with a balance or a movement: (account, opening balance, its lines with their
    running balances), read account by account from a server-side cursor in a read transaction
    of its own that lasts while the answer streams. Each account's lines are to be read before
    the next account's."""
    with db.read() as connection:
        opening = reports.opening_balances(connection, scope.ids, period[0], scope.cut)
        for account in accounts:
            rows = reports.account_ledger_rows(connection, scope.ids, account.id, *period, scope.cut)
            first = next(rows, None)
            if first is not None or opening.get(account.id, 0):
                movements = chain([first], rows) if first is not None else rows
                yield account, opening.get(account.id, 0), running_lines(opening.get(account.id, 0), movements)


# --- trial balances ----------------------------------------------------------------------------


@router.get("/reports/trial-balance", response_model=TrialBalanceReport, responses={200: FORMATS}, tags=["reports"])
def trial_balance(
    output: Output, connection: ReadDep, principal: Reader, clock: ClockDep, book_ids: BookIds,
    as_of: ClientDate | None = None, fiscal_year: int | None = None,
    depth: Annotated[int | None, Query(ge=1, le=10)] = None, account_id: IdQuery = None, dimension: Dimension = None,
    value: Value = None,
):  # fmt: skip
    """งบทดลอง: every account's balance at the end of `as_of` (default today), or of a Thai fiscal
    year (`fiscal_year=2567`: at 30 Sep 2024), in a debit or credit column. `depth=1` shows the
    control accounts only, rolled up; `account_id` drills down into one control account's
    sub-accounts."""
    day = _day(as_of, fiscal_year, clock)
    scope = scope_of(connection, book_ids, principal, dimension, value)
    balances, eliminated, lines = trial_balance_of(connection, scope, day, depth=depth, under=account_id)
    debit, credit = sum(line.debit_satang for line in lines), sum(line.credit_satang for line in lines)
    body = {
        **scope.body(), "as_of": day, "fiscal_year": fiscal_year, "depth": depth, "account_id": account_id,
        "lines": [{**_account_fields(line.account, line.level), "debit": _amount(line.debit_satang),
                   "credit": _amount(line.credit_satang), "rolled_up_balance": _amount(line.rolled_up_satang),
                   "elimination": _amount(eliminated[line.account.id]) if line.account.id in eliminated else None}
                  for line in lines],
        "total_debit": _amount(debit), "total_credit": _amount(credit),
        "inter_book_difference": _amount(balances[0]) if 0 in balances else None,
    }  # fmt: skip
    return _answer(output, body, lambda: report_tables.trial_balance(scope.books, day, lines))


@router.get(
    "/reports/trial-balance/movements", response_model=PeriodTrialBalanceReport, responses={200: FORMATS},
    tags=["reports"],
)  # fmt: skip
def trial_balance_movements(
    output: Output, connection: ReadDep, principal: Reader, book_ids: BookIds, date_from: DateFrom = None,
    date_to: DateTo = None, fiscal_year: int | None = None, dimension: Dimension = None, value: Value = None,
):  # fmt: skip
    """The trial balance of a period: each account's opening balance, movement and closing balance."""
    first, last = _period(date_from, date_to, fiscal_year)
    scope = scope_of(connection, book_ids, principal, dimension, value)
    opening = scope.net_of_inter_book(reports.opening_balances(connection, scope.ids, first, scope.cut))[0]
    closing = scope.balances(connection, last)[0]
    lines = period_trial_balance(scope.with_difference(opening, closing), opening, closing)
    body = {
        **scope.body(), "date_from": first, "date_to": last,
        "lines": [{**_account_fields(line.account), "opening": _amount(line.opening_satang),
                   "movement": _amount(line.movement_satang), "closing": _amount(line.closing_satang)}
                  for line in lines],
        "total_opening": _amount(0), "total_movement": _amount(0), "total_closing": _amount(0),
    }  # fmt: skip
    return _answer(output, body, lambda: report_tables.movements(scope.books, (first, last), lines))


# --- statements --------------------------------------------------------------------------------


def _section(lines, kind: AccountType) -> list[dict]:
    return [{"code": line.code, "name_th": line.name_th, "name_en": line.name_en, "amount": _amount(line.amount_satang),
             "prior": _amount(line.prior_satang)} for line in lines if line.type is kind]  # fmt: skip


@router.get(
    "/reports/financial-position", response_model=FinancialPositionReport, responses={200: FORMATS}, tags=["reports"]
)
def financial_position_report(
    output: Output, connection: ReadDep, principal: Reader, clock: ClockDep, book_ids: BookIds,
    as_of: ClientDate | None = None, fiscal_year: int | None = None, dimension: Dimension = None,
    value: Value = None,
):  # fmt: skip
    """งบแสดงฐานะการเงิน at the end of `as_of` (default today), or of a Thai fiscal year
    (`fiscal_year=2567`: at 30 Sep 2024), beside the same date a year earlier."""
    day = _day(as_of, fiscal_year, clock)
    scope = scope_of(connection, book_ids, principal, dimension, value)
    prior_day, result = financial_position_of(connection, scope, day)
    liabilities, equity = result.total(AccountType.liability), result.total(AccountType.equity)
    body = {
        **scope.body(), "as_of": day, "fiscal_year": fiscal_year, "prior_as_of": prior_day,
        "assets": _section(result.lines, AccountType.asset),
        "liabilities": _section(result.lines, AccountType.liability),
        "equity": _section(result.lines, AccountType.equity),
        "unclosed_surplus": _pair((result.unclosed_surplus_satang, result.prior_unclosed_surplus_satang)),
        "total_assets": _pair(result.total(AccountType.asset)), "total_liabilities": _pair(liabilities),
        "total_equity": _pair(equity), "total_liabilities_and_equity": _pair(result.total_liabilities_and_equity),
    }  # fmt: skip
    return _answer(output, body, lambda: report_tables.financial_position(scope.books, day, prior_day, result))


@router.get(
    "/reports/income-statement", response_model=IncomeStatementReport, responses={200: FORMATS}, tags=["reports"]
)
def income_statement_report(
    output: Output, connection: ReadDep, principal: Reader, book_ids: BookIds, date_from: DateFrom = None,
    date_to: DateTo = None, fiscal_year: int | None = None, dimension: Dimension = None, value: Value = None,
):  # fmt: skip
    """งบกำไรขาดทุน for a period or a Thai fiscal year (`fiscal_year=2567`), beside the same period a
    year earlier; the year-end closing entries are not income or expenses and are left out."""
    first, last = _period(date_from, date_to, fiscal_year)
    prior_first, prior_last = prior_period(first, last)
    scope = scope_of(connection, book_ids, principal, dimension, value)
    result = income_statement_of(connection, scope, first, last)
    body = {
        **scope.body(), "date_from": first, "date_to": last, "fiscal_year": fiscal_year, "prior_from": prior_first,
        "prior_to": prior_last, "income": _section(result.lines, AccountType.income),
        "expenses": _section(result.lines, AccountType.expense),
        "total_income": _pair(result.total(AccountType.income)),
        "total_expenses": _pair(result.total(AccountType.expense)), "surplus": _pair(result.surplus),
    }  # fmt: skip
    return _answer(output, body, lambda: report_tables.income_statement(scope.books, (first, last), result))


@router.get("/reports/general-ledger", response_model=GeneralLedgerReport, responses={200: FORMATS}, tags=["reports"])
def general_ledger_report(
    output: Output, connection: ReadDep, db: DbDep, principal: Reader, book_ids: BookIds, date_from: DateFrom = None,
    date_to: DateTo = None, fiscal_year: int | None = None, account_id: IdQuery = None, dimension: Dimension = None,
    value: Value = None,
):  # fmt: skip
    """Every account (or one) of the books over a period: opening balance, each posting with its
    running balance, closing balance. JSON and CSV stream as they are read, however long; XLSX
    and PDF are drawn whole, at most 20,000 lines (`report_too_large`)."""
    fmt, lang = output
    period = _period(date_from, date_to, fiscal_year)
    scope = scope_of(connection, book_ids, principal, dimension, value)
    if fmt in ("json", "csv"):
        ledger = streamed_ledger(db, scope, ledger_accounts(scope, account_id), period)
        if fmt == "csv":
            head = report_tables.general_ledger_head(scope.books, period)
            return streamed_table_response(head, report_tables.general_ledger_rows(ledger), fmt, lang)
        scope_fields = ReportScope.model_validate(scope.body()).model_dump(mode="json")
        head = {**scope_fields, "date_from": period[0], "date_to": period[1]}
        return streamed_json(general_ledger_json(head, ledger))
    whole = general_ledger_of(connection, scope, period, account_id)
    return table_response(report_tables.general_ledger(scope.books, period, whole), fmt, lang)


# --- schedules ---------------------------------------------------------------------------------


def _schedule_book(connection, book_id: int, principal: Principal, kind: BookKind, what: str) -> dict:
    book = visible_book(connection, book_id, principal)
    if book["kind"] != kind:
        raise LedgerError(
            Rejection.invalid_request, f"{what} are kept in a {kind} book; book {book_id} is a {book['kind']}"
        )
    return book


@router.get(
    "/reports/loans-receivable", response_model=LoansReceivableReport, responses={200: FORMATS}, tags=["reports"]
)
def loans_receivable(
    output: Output,
    connection: ReadDep,
    principal: Reader,
    clock: ClockDep,
    book_id: IdRequired,
    as_of: ClientDate | None = None,
):
    """Loans receivable at the end of `as_of` by loan, borrower and Bank of Thailand class, with the
    allowance for loan losses held for each borrower (sub-accounts of 1290) and in general."""
    book = _schedule_book(connection, book_id, principal, BookKind.fund, "loans receivable")
    day = as_of or clock.today()
    loans = reports.loans_receivable(connection, book_id, day, principal.party_id)
    allowances, general = reports.allowance_by_party(connection, book_id, day, principal.party_id)
    general = general if principal.party_id is None else 0
    classes = {c.value: [0, 0] for c in LoanClass}
    for loan in loans:
        classes[loan["class"]][0] += 1
        classes[loan["class"]][1] += loan["outstanding_satang"]
    outstanding, allowance = sum(c[1] for c in classes.values()), sum(allowances.values()) + general
    body = {
        "book_id": book_id, "as_of": day,
        "lines": [{"loan_id": loan["id"], "party_id": loan["borrower_party_id"], "name_th": loan["name_th"],
                   "name_en": loan["name_en"], "region": loan["region"], "province": loan["province"],
                   "days_past_due": loan["days_past_due"], "loan_class": loan["class"],
                   "outstanding": _amount(loan["outstanding_satang"])} for loan in loans],
        "classes": [{"loan_class": c, "count": n, "outstanding": _amount(s)} for c, (n, s) in classes.items()],
        "allowances": [{"party_id": p, "allowance": _amount(a)} for p, a in sorted(allowances.items())],
        "general_allowance": _amount(general), "total_outstanding": _amount(outstanding),
        "total_allowance": _amount(allowance), "net": _amount(outstanding + allowance),
    }  # fmt: skip
    return _answer(output, body, lambda: report_tables.loans_receivable(book, day, loans, allowance))


def _party_schedule(connection, principal: Principal, book: dict, day: date, codes: tuple[str, ...]) -> tuple:
    rows, unassigned = reports.sub_ledger(connection, book["id"], day, codes, principal.party_id)
    if principal.party_id is not None:
        unassigned = dict.fromkeys(codes, 0)
    totals = {code: sum(row["balances"][code] for row in rows) + unassigned[code] for code in codes}
    body = {
        "book_id": book["id"], "as_of": day, "codes": list(codes),
        "lines": [{"party_id": row["id"], "name_th": row["name_th"], "name_en": row["name_en"],
                   "region": row["region"], "province": row["province"],
                   "balances": {c: _amount(v) for c, v in row["balances"].items()},
                   "net": _amount(sum(row["balances"].values()))} for row in rows],
        "unassigned": {c: _amount(v) for c, v in unassigned.items()},
        "totals": {c: _amount(v) for c, v in totals.items()}, "net": _amount(sum(totals.values())),
    }  # fmt: skip
    return body, rows, unassigned


def _party_schedule_route(path: str, kind: BookKind, what: str, codes: tuple[str, ...], form: tuple, doc: str):
    """A schedule of control accounts' sub-accounts by party, as a route of its own."""

    def schedule(
        output: Output, connection: ReadDep, principal: Reader, clock: ClockDep, book_id: IdRequired,
        as_of: ClientDate | None = None,
    ):  # fmt: skip
        book = _schedule_book(connection, book_id, principal, kind, what)
        day = as_of or clock.today()
        body, rows, unassigned = _party_schedule(connection, principal, book, day, codes)
        return _answer(output, body, lambda: report_tables.party_schedule(book, day, rows, unassigned, form))

    schedule.__doc__ = doc
    router.get(path, response_model=PartyScheduleReport, responses={200: FORMATS}, tags=["reports"],
               name=path.rsplit("/", 1)[1])(schedule)  # fmt: skip


_party_schedule_route(
    "/reports/investments", BookKind.fund, "investments", ("1300", "1390"), report_tables.INVESTMENTS,
    "The fund's investments by enterprise at the end of `as_of`: cost (sub-accounts of 1300), impairment (of 1390) "
    "and net.",
)  # fmt: skip
_party_schedule_route(
    "/reports/welfare-contributions", BookKind.welfare_fund, "welfare contributions", ("1200",),
    report_tables.CONTRIBUTIONS,
    "A welfare fund's contributions receivable by enterprise at the end of `as_of` (sub-accounts of 1200).",
)  # fmt: skip


# --- year-end close ----------------------------------------------------------------------------


def close_body(close: dict) -> dict:
    return {
        **close, "surplus": _amount(close["surplus_satang"]),
        "carried_forward": [{"account_id": a, "balance": _amount(b)} for a, b in close["carried_forward"].items()],
    }  # fmt: skip


@router.post("/books/{book_id}/year-end-closes", status_code=201, response_model=YearEndClosePublic, tags=["year-end"])
def close_year(
    book_id: IdPath, body: YearEndCloseCreate, request: Request, write: Write, principal: Admin
) -> Response:
    """Close a fiscal year that has ended: post the closing entry (income and expenses into
    accumulated surplus), lock the year's periods, carry the balances forward."""
    _period(None, None, body.fiscal_year)
    return run_year_close(request, write, principal, book_id, body.fiscal_year)


def run_year_close(request: Request, write: WriteRequest, principal: Principal, book_id: int,
                   fiscal_year: int) -> Response:  # fmt: skip
    """The year-end close, audited under `write` (the API's and the periods page's)."""
    today = request.app.state.clock.today()

    def work(connection, now):
        close = year_end.close_year(connection, book_id=book_id, fiscal_year=fiscal_year, today=today,
                                    closed_by=principal.user_id, now=now)  # fmt: skip
        public = YearEndClosePublic.model_validate(close_body(close))
        return Outcome(public, f"book:{book_id}:fiscal-year:{fiscal_year}", 201, close["entry_ids"])

    return perform(request, write, principal, "year-end.close", work)


@router.get("/books/{book_id}/year-end-closes", response_model=list[YearEndClosePublic], tags=["year-end"])
def list_closes(book_id: IdPath, connection: ReadDep, principal: Reader) -> list[dict]:
    owned_book(connection, book_id, principal)
    return [close_body(close) for close in year_end.list_closes(connection, book_id)]


@router.post(
    "/books/{book_id}/year-end-closes/{fiscal_year}/reversal", response_model=YearEndClosePublic, tags=["year-end"]
)
def reverse_close(
    book_id: IdPath, fiscal_year: int, body: YearEndReversalCreate, request: Request, write: Write, principal: Admin
) -> Response:
    """Reverse a year's closing entry (an admin, with a reason), while the next year is not
    closed; the year's periods open again unless later ones were closed since."""
    _period(None, None, fiscal_year)
    return run_close_reversal(request, write, principal, book_id, fiscal_year, body.reason)


def run_close_reversal(request: Request, write: WriteRequest, principal: Principal, book_id: int,
                       fiscal_year: int, reason: str) -> Response:  # fmt: skip
    """The reversal of a year-end close, audited under `write` (the API's and the periods page's)."""
    if not reason.strip():
        raise LedgerError(Rejection.reason_required, "say why the close is reversed")

    def work(connection, now):
        close = year_end.reverse_close(connection, book_id=book_id, fiscal_year=fiscal_year, reason=reason,
                                       reversed_by=principal.user_id, now=now)  # fmt: skip
        reversal_ids = [e["reversed_by_entry_id"] for e in journal.get_entries(connection, close["entry_ids"])]
        public = YearEndClosePublic.model_validate(close_body(close))
        return Outcome(public, f"book:{book_id}:fiscal-year:{fiscal_year}:reversal", 200, reversal_ids)

    return perform(request, write, principal, "year-end.reverse", work)


# --- programmes --------------------------------------------------------------------------------


@router.post("/parties/{party_id}/programmes", status_code=201, response_model=ProgrammesPublic, tags=["parties"])
def add_programme(
    party_id: IdPath, body: ProgrammeCreate, request: Request, write: Write, principal: Registrar
) -> Response:
    """Enrol a party in a support programme: reports can then be cut by `dimension=programme`."""
    if not body.programme.strip():
        raise LedgerError(Rejection.invalid_request, "a programme needs a name")

    def work(connection, now):
        programmes = reports.add_programme(connection, party_id, body.programme.strip())
        return Outcome({"party_id": party_id, "programmes": programmes}, f"party:{party_id}", 201)

    return perform(request, write, principal, "party.programme", work)


@router.get("/parties/{party_id}/programmes", response_model=ProgrammesPublic, tags=["parties"])
def list_programmes(party_id: IdPath, connection: ReadDep, principal: Reader) -> dict:
    if principal.party_id not in (None, party_id):
        raise books.not_found("party", party_id)
    books.get_party(connection, party_id)
    return {"party_id": party_id, "programmes": reports.programmes_of(connection, party_id)}
