"""Members' savings (สัจจะสะสมทรัพย์) in an organisation's own book: the organisation's rule,
deposits and withdrawals, a month's deposits at once (a list, or a CSV file), the year's
interest, and the reads (every member's savings, one member's balance and statement).

Officers (and admins) write; every role reads. A token bound to a party reads the organisation's
savings only if the party is the organisation, and a member's own only if it is that member;
anything else is 404, before anything is read. A list of deposits is one operation: a bad line
refuses the whole list (422 `bad_lines`, each line named in `errors`) and nothing is written.
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api import report_tables
from api.context import ClockDep, ReadDep, Reader, Registrar
from api.formats import table_response
from api.routes.journal import check_range
from api.routes.reports import FORMATS, Output
from api.savings_schemas import (
    BulkCreate,
    BulkPublic,
    InterestCreate,
    InterestPublic,
    MemberSavings,
    MemberStatement,
    MovementCreate,
    MovementPublic,
    SavingsPublic,
    SavingsRulePublic,
    SavingsRuleUpdate,
)
from api.schemas import ClientDate, IdPath
from api.writes import Outcome, Write, perform
from ledger.calendar import check_fiscal_year, fiscal_year_bounds, fiscal_year_of
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount, parse_amount, parse_rate
from ledger.savings import SavingsRule, parse_deposits_csv
from store import books, look_through, savings
from store.tiers import organisation_book
from store.users import Principal

router = APIRouter(prefix="/v1/organisations/{organisation_id}/savings", tags=["savings"])
CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV (text/csv) under the header `member_id,amount,effective_date`, one deposit a line",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


def own(principal: Principal, organisation_id: int, member_id: int | None = None) -> None:
    """A party's token reads its own organisation's savings, or its own as a member: else 404."""
    if principal.party_id not in (None, organisation_id, member_id):
        raise books.not_found("organisation (a party with an organisation book)", organisation_id)


def not_future(day: date, today: date) -> None:
    if day > today:
        raise LedgerError(Rejection.date_in_future, f"{day} is after the business date {today}")


# --- the rule ----------------------------------------------------------------------------------


def rule_body(organisation_id: int, rule: SavingsRule) -> SavingsRulePublic:
    return SavingsRulePublic(organisation_id=organisation_id, minimum=format_amount(rule.minimum_satang),
                             withdraw_in_arrears=rule.withdraw_in_arrears,
                             monthly_deposit=format_amount(rule.monthly_deposit_satang),
                             rate_percent=str(rule.rate_percent))  # fmt: skip


@router.get("/rule", response_model=SavingsRulePublic)
def get_rule(organisation_id: IdPath, connection: ReadDep, principal: Reader) -> SavingsRulePublic:
    """The organisation's rule (the defaults, if it set none: no minimum, no withdrawal in arrears)."""
    own(principal, organisation_id)
    organisation_book(connection, organisation_id)
    return rule_body(organisation_id, savings.rule_of(connection, organisation_id))


@router.put("/rule", response_model=SavingsRulePublic)
def set_rule(organisation_id: IdPath, body: SavingsRuleUpdate, request: Request, write: Write,
             principal: Registrar) -> Response:  # fmt: skip
    """Set the organisation's rule: the minimum balance a member keeps, whether a member with a
    loan in arrears may withdraw, the fixed monthly deposit, the yearly rate on savings."""
    rule = SavingsRule(parse_amount(body.minimum), body.withdraw_in_arrears, parse_amount(body.monthly_deposit),
                       parse_rate(body.rate_percent))  # fmt: skip

    def work(connection, now):
        savings.set_rule(connection, organisation_id, rule, user_id=principal.user_id, now=now)
        return Outcome(rule_body(organisation_id, rule), f"savings-rule:{organisation_id}")

    return perform(request, write, principal, "savings.rule.set", work)


# --- deposits and withdrawals ------------------------------------------------------------------


def run_movement(request: Request, write, principal: Principal, organisation_id: int, body: MovementCreate,
                 sign: int, action: str) -> Response:  # fmt: skip
    amount = parse_amount(body.amount)
    if amount <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "the amount must be more than zero")
    not_future(body.effective_date, request.app.state.clock.today())
    movement = savings.Movement(body.member_id, sign * amount, body.effective_date)

    def work(connection, now):
        [entry_id] = savings.record(connection, organisation_id, [movement], user_id=principal.user_id, now=now)
        book = organisation_book(connection, organisation_id)
        balance = savings.balances(connection, book["id"]).get(body.member_id, 0)
        answer = MovementPublic(organisation_id=organisation_id, member_id=body.member_id,
                                amount=format_amount(amount), effective_date=body.effective_date, entry_id=entry_id,
                                balance=format_amount(balance))  # fmt: skip
        return Outcome(answer, f"savings:{organisation_id}:{body.member_id}", 201, [entry_id])

    return perform(request, write, principal, action, work)


@router.post("/deposits", status_code=201, response_model=MovementPublic)
def deposit(organisation_id: IdPath, body: MovementCreate, request: Request, write: Write,
            principal: Registrar) -> Response:  # fmt: skip
    """A member's deposit: Dr cash 1100, Cr the member's savings (2200-<member>, opened on first use)."""
    return run_movement(request, write, principal, organisation_id, body, 1, "savings.deposit")


@router.post("/withdrawals", status_code=201, response_model=MovementPublic)
def withdraw(organisation_id: IdPath, body: MovementCreate, request: Request, write: Write,
             principal: Registrar) -> Response:  # fmt: skip
    """A member's withdrawal, within the rule: 409 `savings_below_minimum` if it would leave less
    than the minimum, `savings_withdrawal_in_arrears` while the member has a loan in arrears."""
    return run_movement(request, write, principal, organisation_id, body, -1, "savings.withdrawal")


def run_bulk(request: Request, write, principal: Principal, organisation_id: int, movements, action: str):
    """Record a month's deposits as one operation: all, or none with every bad line named."""

    def work(connection, now):
        entry_ids = savings.record(connection, organisation_id, movements, user_id=principal.user_id, now=now,
                                   bulk=True)  # fmt: skip
        total = format_amount(sum(m.amount_satang for m in movements))
        answer = BulkPublic(organisation_id=organisation_id, recorded=len(entry_ids), total=total, entry_ids=entry_ids)
        return Outcome(answer, f"savings:{organisation_id}", 201, entry_ids)

    return perform(request, write, principal, action, work)


@router.post("/deposits/bulk", status_code=201, response_model=BulkPublic)
def bulk_deposits(organisation_id: IdPath, body: BulkCreate, request: Request, write: Write,
                  principal: Registrar) -> Response:  # fmt: skip
    """A month's deposits for the members at once, on one date; a line without an amount deposits
    the rule's fixed monthly amount."""
    not_future(body.effective_date, request.app.state.clock.today())
    with request.app.state.db.read() as connection:
        monthly = savings.rule_of(connection, organisation_id).monthly_deposit_satang
    movements, errors = [], []
    for number, line in enumerate(body.deposits, 1):
        try:
            amount = monthly if line.amount is None else parse_amount(line.amount)
            movements.append(savings.Movement(line.member_id, amount, body.effective_date, number))
        except LedgerError as error:
            errors.append((number, error))
    refuse_lines(errors)
    return run_bulk(request, write, principal, organisation_id, movements, "savings.deposit.bulk")


@router.post("/deposits/import", status_code=201, response_model=BulkPublic, openapi_extra=CSV_BODY)
async def import_deposits(organisation_id: IdPath, request: Request, write: Write, principal: Registrar) -> Response:
    """The same from a CSV file (`member_id,amount,effective_date`), all or nothing."""
    try:
        text = (await request.body()).decode()
    except UnicodeDecodeError:
        raise LedgerError(Rejection.invalid_request, "the file is not UTF-8 text") from None
    lines, errors = parse_deposits_csv(text)
    today = request.app.state.clock.today()
    errors += [(x.number, LedgerError(Rejection.date_in_future, f"{x.effective_date} is after {today}"))
               for x in lines if x.effective_date > today]  # fmt: skip
    movements = [savings.Movement(x.member_id, x.amount_satang, x.effective_date, x.number) for x in lines]
    refuse_lines(errors)
    return run_bulk(request, write, principal, organisation_id, movements, "savings.deposit.import")


def refuse_lines(errors: list[tuple[int, LedgerError]]) -> None:
    """Refuse a list with lines that could not be read, naming each, before anything is written
    (what the lines ask is checked by `savings.record`, which names each line it refuses too)."""
    if errors:
        raise savings.BadLines(errors)


# --- the reads ---------------------------------------------------------------------------------


@router.get("", response_model=SavingsPublic)
def organisation_savings(organisation_id: IdPath, connection: ReadDep, principal: Reader) -> SavingsPublic:
    """Every member's savings now, and the members' savings control (2200) they sum to."""
    own(principal, organisation_id)
    book = organisation_book(connection, organisation_id)
    saved = savings.balances(connection, book["id"])
    members = savings.members_of(connection, organisation_id, saved)
    arrears = savings.in_arrears(connection, book["id"], saved)
    rows = [MemberSavings(member_id=m, name_th=members[m]["name_th"], balance=format_amount(saved[m]),
                          in_arrears=m in arrears) for m in sorted(saved)]  # fmt: skip
    total = savings.organisation_savings(connection, organisation_id)
    return SavingsPublic(organisation_id=organisation_id, total=format_amount(total), members=rows)


@router.get("/members/{member_id}", response_model=MemberSavings)
def member_savings(organisation_id: IdPath, member_id: IdPath, connection: ReadDep, principal: Reader) -> MemberSavings:
    own(principal, organisation_id, member_id)
    book = organisation_book(connection, organisation_id)
    member = savings.member(connection, organisation_id, member_id)
    saved = savings.balances(connection, book["id"]).get(member_id, 0)
    return MemberSavings(member_id=member_id, name_th=member["name_th"], balance=format_amount(saved),
                         in_arrears=bool(savings.in_arrears(connection, book["id"], [member_id])))  # fmt: skip


@router.get("/members/{member_id}/statement", response_model=MemberStatement, responses={200: FORMATS})
def member_statement(
    organisation_id: IdPath, member_id: IdPath, output: Output, connection: ReadDep, principal: Reader,
    clock: ClockDep, date_from: Annotated[ClientDate | None, Query(alias="from")] = None,
    date_to: Annotated[ClientDate | None, Query(alias="to")] = None,
):  # fmt: skip
    """A member's savings statement (the current fiscal year unless from/to say otherwise); as
    CSV, XLSX or PDF (`format`, in Thai with `lang=th`) it is the member's printable savings and
    loan statement: the savings lines, and each loan from the organisation at the period's end."""
    own(principal, organisation_id, member_id)
    check_range(date_from, date_to)
    start, end = fiscal_year_bounds(fiscal_year_of(clock.today()))
    period = (date_from or start, date_to or end)
    book = organisation_book(connection, organisation_id)
    member = savings.member(connection, organisation_id, member_id)
    opening, found = savings.statement(connection, book["id"], member_id, *period)
    lines = [statement_line(line) for line in found]
    if output[0] != "json":
        loans = look_through.member_loans(connection, book["id"], period[1], borrower=member_id)
        rows = [{"date": x["effective_date"], "description": x["description"], "amount": x["amount"],
                 "balance": x["balance"]} for x in lines]  # fmt: skip
        table = report_tables.member_statement(dict(book), member, period, opening, rows, loans)
        return table_response(table, *output)
    shown = [{**line, "amount": format_amount(line["amount"]), "balance": format_amount(line["balance"])}
             for line in lines]  # fmt: skip
    return MemberStatement(organisation_id=organisation_id, member_id=member_id, date_from=period[0],
                           date_to=period[1], opening_balance=format_amount(opening), lines=shown,
                           closing_balance=shown[-1]["balance"] if shown else format_amount(opening))  # fmt: skip


def statement_line(line) -> dict:
    return {"entry_id": line.entry_id, "effective_date": line.effective_date, "description": line.description,
            "amount": line.amount_satang, "balance": line.running_balance_satang}  # fmt: skip


# --- the year's interest -----------------------------------------------------------------------


@router.post("/interest", status_code=201, response_model=InterestPublic)
def post_interest(organisation_id: IdPath, body: InterestCreate, request: Request, write: Write,
                  principal: Registrar) -> Response:  # fmt: skip
    """Credit each member the rule's yearly rate on their savings at the end of the fiscal year
    (the closing balance, rounded half-up once a member), dated that day: Dr 5150, Cr the member's
    savings. Once a fiscal year: again is 409 `savings_interest_already_posted`."""
    check_fiscal_year(body.fiscal_year)
    today = request.app.state.clock.today()

    def work(connection, now):
        row, entry_ids = savings.post_interest(connection, organisation_id, body.fiscal_year, today=today,
                                               user_id=principal.user_id, now=now)  # fmt: skip
        answer = InterestPublic(**{**row, "total": format_amount(row["total_satang"])},
                                organisation_id=organisation_id, entry_ids=entry_ids)  # fmt: skip
        return Outcome(answer, f"savings-interest:{row['id']}", 201, entry_ids)

    return perform(request, write, principal, "savings.interest", work)
