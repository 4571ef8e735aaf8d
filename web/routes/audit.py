"""The auditor's pages under /audit (roles auditor and admin, as the API's audit routes): the
statements of a book, or of several consolidated, for a Thai fiscal year beside the one before,
each figure drillable to the tamper-evident record behind it:

    trial balance -> the account's general ledger -> the entry -> the audit record(s) that wrote it

Every figure comes from the functions the API's routes call (api.routes.reports: `scope_of`,
`trial_balance_of`, `financial_position_of`, `income_statement_of`, `general_ledger_of`;
store.journal, store.audit_log), and every download is the API's own answer for the same
report: the same `api.report_tables` table through the same `api.formats.table_response`, and
the book's Beancount export through the API's export route itself.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from sqlalchemy import Connection

from api import report_tables
from api.context import AUDIT_READERS, BANGKOK, check_role
from api.formats import table_response
from api.routes import exports
from api.routes.reports import (
    Scope,
    financial_position_of,
    general_ledger_of,
    income_and_expenses,
    income_statement_of,
    scope_of,
    trial_balance_of,
)  # fmt: skip
from ledger.accounts import AccountType
from ledger.audit import Digest
from ledger.calendar import check_fiscal_year, fiscal_year_bounds, fiscal_year_of, periods_of_fiscal_year
from ledger.charts import BookKind
from ledger.errors import LedgerError, Rejection
from ledger.reports import (
    TEMPORARY_TYPES,
    FinancialPosition,
    IncomeStatement,
    SectionLine,
    income_statement,
    prior_period,
)
from store import audit_log, books, journal, reports, users
from store.users import Principal
from web.chart import of_months
from web.forms import read_date
from web.i18n import N_
from web.routes import page_router
from web.session import PagePrincipal
from web.templating import render

router = page_router()
RECORDS_PER_PAGE = 25
YEARS_OFFERED = 6  # this fiscal year and the five before it
DOWNLOADS = ("pdf", "xlsx", "csv")
CHART_SERIES = {"income": N_("Income"), "expenses": N_("Expenses")}
HASH_GROUP = 8
BookIds = Annotated[list[int], Query(alias="book_id", max_length=reports.MAX_BOOKS)]
FiscalYear = Annotated[int | None, Query()]


def auditor(principal: Principal) -> Principal:
    """The API's rule for the audit trail (`AuditReader`): an auditor or an admin; others 403."""
    return check_role(principal, AUDIT_READERS)


# --- the choice of books and year --------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """The books (one, or several consolidated) and the fiscal year (BE) a page shows."""

    books: list[dict]  # every book, for the picker
    book_ids: list[int]
    fiscal_year: int
    years: list[int]
    today: date

    @property
    def bounds(self) -> tuple[date, date]:
        return fiscal_year_bounds(self.fiscal_year)

    @property
    def as_of(self) -> date:
        """The year's end, or today while the year runs: a balance is never dated in the future."""
        return min(self.bounds[1], self.today)

    def query(self, **extra: Any) -> str:
        pairs = [("book_id", i) for i in self.book_ids] + [("fiscal_year", self.fiscal_year)]
        return urlencode(pairs + [(k, v) for k, v in extra.items() if v is not None])


def choice_of(connection: Connection, book_ids: list[int], fiscal_year: int | None, today: date) -> Choice:
    every = books.list_books(connection, only_party=None, after=0, limit=reports.MAX_BOOKS * 10)
    chosen = list(dict.fromkeys(book_ids)) or [_default_book(every)]
    year = fiscal_year or fiscal_year_of(today)
    check_fiscal_year(year)
    current = fiscal_year_of(today)
    years = sorted({*range(current - YEARS_OFFERED + 1, current + 1), year}, reverse=True)
    return Choice(every, chosen, year, years, today)


def _default_book(every: list[dict]) -> int:
    """The fund's book, the one an auditor opens first; else the first book."""
    if not every:
        raise books.not_found("book", "any")
    return next((b["id"] for b in every if b["kind"] == BookKind.fund), every[0]["id"])


def _opened(request: Request, principal: Principal, book_ids: list[int], fiscal_year: int | None):
    """The read connection's work for a page of the statements: the choice and its scope."""

    def with_scope(connection: Connection) -> tuple[Choice, Scope]:
        choice = choice_of(connection, book_ids, fiscal_year, request.app.state.clock.today())
        return choice, scope_of(connection, choice.book_ids, principal, None, None)

    return with_scope


# --- the statements: figures for the page, and the API's table for the download ---------------


@dataclass(frozen=True)
class Report:
    title: str  # a message id
    template: str
    figures: Callable[[Connection, Scope, Choice, int | None], dict]


@dataclass(frozen=True)
class Section:
    kind: str
    lines: list[SectionLine]
    total: tuple[int, int]


BALANCE_SHEET = (AccountType.asset, AccountType.liability, AccountType.equity)


def sections(result: FinancialPosition | IncomeStatement, kinds: tuple[AccountType, ...]) -> list[Section]:
    """A statement's lines by account type, each with its total (now, and a year earlier)."""
    return [Section(k.value, [line for line in result.lines if line.type is k], result.total(k)) for k in kinds]


def _trial_balance(connection: Connection, scope: Scope, choice: Choice, _account: int | None) -> dict:
    day = choice.as_of
    _, prior_day = prior_period(day, day)
    lines = trial_balance_of(connection, scope, day)[2]
    prior = {line.account.id: line for line in trial_balance_of(connection, scope, prior_day)[2]}
    return {"day": day, "prior_day": prior_day, "lines": lines, "prior": prior,
            "table": report_tables.trial_balance(scope.books, day, lines)}  # fmt: skip


def _financial_position(connection: Connection, scope: Scope, choice: Choice, _account: int | None) -> dict:
    day = choice.as_of
    prior_day, result = financial_position_of(connection, scope, day)
    return {"day": day, "prior_day": prior_day, "result": result, "sections": sections(result, BALANCE_SHEET),
            "table": report_tables.financial_position(scope.books, day, prior_day, result)}  # fmt: skip


def _income_statement(connection: Connection, scope: Scope, choice: Choice, _account: int | None) -> dict:
    period = choice.bounds
    result = income_statement_of(connection, scope, *period)
    return {"period": period, "prior_period": prior_period(*period), "result": result,
            "sections": sections(result, TEMPORARY_TYPES),
            "table": report_tables.income_statement(scope.books, period, result)}  # fmt: skip


def _general_ledger(connection: Connection, scope: Scope, choice: Choice, account_id: int | None) -> dict:
    ledger = general_ledger_of(connection, scope, choice.bounds, account_id)
    return {"period": choice.bounds, "ledger": ledger,
            "table": report_tables.general_ledger(scope.books, choice.bounds, ledger)}  # fmt: skip


REPORTS = {
    "trial-balance": Report(N_("Trial balance"), "audit_trial_balance.html", _trial_balance),
    "financial-position": Report(N_("Statement of financial position"), "audit_financial_position.html",
                                 _financial_position),  # fmt: skip
    "income-statement": Report(N_("Income statement"), "audit_income_statement.html", _income_statement),
    "general-ledger": Report(N_("General ledger"), "", _general_ledger),
}
PAGES = ("trial-balance", "financial-position", "income-statement")


def _statement(request: Request, principal: Principal, name: str, book_ids: list[int], fiscal_year: int | None,
               account_id: int | None = None) -> tuple[Choice, Scope, dict]:  # fmt: skip
    auditor(principal)
    with request.app.state.db.read() as connection:
        choice, scope = _opened(request, principal, book_ids, fiscal_year)(connection)
        return choice, scope, REPORTS[name].figures(connection, scope, choice, account_id)


def _statement_page(name: str):
    report = REPORTS[name]

    def page(request: Request, principal: PagePrincipal, book_ids: BookIds = [], fiscal_year: FiscalYear = None):  # noqa: B006
        choice, scope, figures = _statement(request, principal, name, book_ids, fiscal_year)
        return render(request, report.template, choice=choice, scope=scope, report=name, title=report.title,
                      **figures)  # fmt: skip

    router.get(f"/audit/{name}", name=f"audit-{name}")(page)


for _name in PAGES:
    _statement_page(_name)


@router.get("/audit/downloads/{name}.{format}")
def download(
    request: Request, principal: PagePrincipal, name: str, format: str, book_ids: BookIds = [],  # noqa: B006
    fiscal_year: FiscalYear = None, account_id: Annotated[int | None, Query()] = None, lang: str = "th",
):  # fmt: skip
    """A statement as the API gives it (`/v1/reports/{name}?format=...&lang=...` for the same
    books and dates): the same table, rendered by the same function."""
    if name not in REPORTS or format not in DOWNLOADS:
        raise LedgerError(Rejection.not_found, f"no download {name}.{format}")
    figures = _statement(request, principal, name, book_ids, fiscal_year, account_id)[2]
    return table_response(figures["table"], format, lang)


@router.get("/audit/books/{book_id}/export.beancount")
def beancount(request: Request, principal: PagePrincipal, book_id: int):
    """The whole book as Beancount: the API's export route itself (GET /v1/books/{id}/export)."""
    auditor(principal)
    db = request.app.state.db
    with db.read() as connection:
        return exports.export_book(book_id, connection, db, principal, "beancount")


# --- the overview: the pickers, the statements, income and expenses by month -------------------


@router.get("/audit")
def overview(request: Request, principal: PagePrincipal, book_ids: BookIds = [], fiscal_year: FiscalYear = None):  # noqa: B006
    auditor(principal)
    with request.app.state.db.read() as connection:
        choice, scope = _opened(request, principal, book_ids, fiscal_year)(connection)
        months = [_month(connection, scope, p.start, p.end) for p in periods_of_fiscal_year(choice.fiscal_year)]
    return render(request, "audit_overview.html", choice=choice, scope=scope, report="overview",
                  title=N_("Audit"), months=months, chart=of_months(months, CHART_SERIES))  # fmt: skip


def _month(connection: Connection, scope: Scope, start: date, end: date) -> dict:
    """A month's income and expenses, as the income statement adds them up."""
    result = income_statement(scope.accounts, income_and_expenses(connection, scope, start, end), {})
    return {"start": start, "income_satang": result.total(AccountType.income)[0],
            "expenses_satang": result.total(AccountType.expense)[0]}  # fmt: skip


# --- drilling down: an account's ledger, an entry, an audit record -----------------------------


@router.get("/audit/accounts/{account_id}")
def account_ledger(request: Request, principal: PagePrincipal, account_id: int, fiscal_year: FiscalYear = None):
    auditor(principal)
    with request.app.state.db.read() as connection:
        account = books.get_account(connection, account_id)
        choice, scope = _opened(request, principal, [account["book_id"]], fiscal_year)(connection)
        ledger = general_ledger_of(connection, scope, choice.bounds, account_id)
    statement = ledger[0][1] if ledger else None
    return render(request, "audit_ledger.html", choice=choice, scope=scope, report="general-ledger",
                  title=N_("General ledger"), account=account, statement=statement)  # fmt: skip


@router.get("/audit/entries/{entry_id}")
def entry_page(request: Request, principal: PagePrincipal, entry_id: int):
    auditor(principal)
    with request.app.state.db.read() as connection:
        entry = journal.get_entry(connection, entry_id)
        book = books.get_book(connection, entry["book_id"])
        accounts = {a.id: a for a in reports.report_accounts(connection, [entry["book_id"]])}
        recorder = users.get_user(connection, entry["recorded_by"])
        records = audit_log.records_writing(connection, entry_id)
    return render(request, "audit_entry.html", entry=entry, book=book, accounts=accounts, recorder=recorder,
                  records=records, fiscal_year=fiscal_year_of(entry["effective_date"]),
                  recorded_at=in_bangkok(entry["recorded_at"]))  # fmt: skip


@dataclass(frozen=True)
class RecordShown:
    record: dict
    recorded_at: datetime  # in Bangkok
    hash_groups: list[str]
    previous_hash_groups: list[str]


def in_bangkok(moment: datetime) -> datetime:
    """A stored moment (UTC; SQLite gives it back without its zone) as a clock in Bangkok reads it."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(BANGKOK)


def shown_record(record: dict) -> RecordShown:
    at = in_bangkok(datetime.fromisoformat(record["recorded_at"]))
    return RecordShown(record, at, hash_groups(record["hash"]), hash_groups(record["previous_hash"]))


def hash_groups(hex_hash: str) -> list[str]:
    """A hash in groups of eight characters, to read aloud, write down and compare."""
    return [hex_hash[i : i + HASH_GROUP] for i in range(0, len(hex_hash), HASH_GROUP)]


@router.get("/audit/records/{seq}")
def record_page(request: Request, principal: PagePrincipal, seq: int):
    auditor(principal)
    with request.app.state.db.read() as connection:
        record = audit_log.get_record(connection, seq)
        head = audit_log.digest(connection)
    return render(request, "audit_record.html", record=record, shown=shown_record(record), head=head)


# --- the audit trail: the digest to keep, the check of one kept, the recent records -------------


@dataclass(frozen=True)
class DigestForm:
    seq: str
    hash: str
    errors: list[tuple[str, str]]
    digest: Digest | None

    def error(self, field: str) -> str | None:
        return next((message for name, message in self.errors if name == field), None)


def read_digest(seq: str | None, hash_text: str | None) -> DigestForm | None:
    """A digest as a person copies it: the hash with or without the spaces between its groups."""
    if seq is None and hash_text is None:
        return None
    seq, hash_text = (seq or "").strip(), (hash_text or "").strip()
    compact = "".join(hash_text.split()).lower()
    errors = []
    if not seq.isdigit() or int(seq) < 1:
        errors.append(("seq", N_("Enter the sequence number, a whole number such as 120")))
    if len(compact) != 64 or any(c not in "0123456789abcdef" for c in compact):
        errors.append(("hash", N_("Enter the 64 letters and digits of the hash (0-9, a-f); spaces are fine")))
    return DigestForm(seq, hash_text, errors, None if errors else Digest(int(seq), compact))


@dataclass(frozen=True)
class TrailFilter:
    """The records asked for: by whom (a user name), which action, from and to which day (in
    Bangkok, both included), as typed; `filters` is what store.audit_log.recent_records takes."""

    typed: dict[str, str]
    filters: dict[str, Any]
    errors: list[tuple[str, dict]]

    def error(self, field: str) -> dict | None:
        return next((message for name, message in self.errors if name == field), None)

    def query(self, **extra: Any) -> str:
        return urlencode({**{k: v for k, v in self.typed.items() if v}, **extra})


def read_trail_filter(actor: str, action: str, date_from: str, date_to: str) -> TrailFilter:
    typed = {"actor": actor.strip(), "action": action.strip(), "date_from": date_from.strip(),
             "date_to": date_to.strip()}  # fmt: skip
    filters: dict[str, Any] = {"actor": typed["actor"], "action": typed["action"]}
    errors = []
    for field, bound, days in (("date_from", "since", 0), ("date_to", "until", 1)):
        if typed[field]:
            day, error = read_date(typed[field])
            if error:
                errors.append((field, error))
            else:
                filters[bound] = datetime.combine(day + timedelta(days=days), time(), BANGKOK)
    return TrailFilter(typed, filters, errors)


FilterText = Annotated[str, Query(max_length=100)]


@router.get("/audit/trail")
def trail(
    request: Request, principal: PagePrincipal, before: Annotated[int | None, Query(ge=1)] = None,
    seq: str | None = None, hash: str | None = None, actor: FilterText = "", action: FilterText = "",
    date_from: FilterText = "", date_to: FilterText = "",
):  # fmt: skip
    auditor(principal)
    form = read_digest(seq, hash)
    chosen = read_trail_filter(actor, action, date_from, date_to)
    with request.app.state.db.read() as connection:
        head = audit_log.digest(connection)
        verification = audit_log.verify(connection, form.digest) if form and form.digest else None
        records = [] if chosen.errors else audit_log.recent_records(
            connection, before=before, limit=RECORDS_PER_PAGE, filters=chosen.filters)  # fmt: skip
    status = 422 if (form and form.errors) or chosen.errors else 200
    older = records[-1]["seq"] if len(records) == RECORDS_PER_PAGE and records[-1]["seq"] > 1 else None
    return render(request, "audit_trail.html", status, head=head, head_groups=hash_groups(head.hash), form=form,
                  verification=verification, records=[shown_record(r) for r in records], older=older,
                  chosen=chosen)  # fmt: skip
