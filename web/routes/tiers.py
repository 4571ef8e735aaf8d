"""The three tiers' pages (issue 18): an organisation's own book as CODI's office sees it, CODI's
look-through of the organisations, and a member's own savings and loans on a phone.

- /office/organisations/{id} (staff read; officers and admins write): the members with their
  savings and arrears, the member loans (each to its loan card), the savings rule and the lending
  rule, the month with CODI (`remittances.month_of`, GET /v1/organisations/{id}/remittances/{month}),
  and the forms: a remittance (POST .../remittances), a deposit or withdrawal (POST
  .../savings/deposits, .../withdrawals) and a month's deposits (POST .../savings/deposits/bulk),
  each the API's own route run under the form's idempotency key.
- /office/look-through: the look-through by organisation and its roll-ups (GET
  /v1/reports/look-through's readers) and the reconciliation across tiers (GET
  /v1/reports/tier-reconciliation), the lines that differ marked.
- /members/{id}, and the home page of a member's person: the member's savings with the year's
  statement, and the member's loans with their schedules. Who may see a member is the API's rule
  (`store.look_through.member`): the member, its organisation and the staff; anyone else 404.
"""

from calendar import monthrange
from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse

from api.context import REGISTRARS
from api.routes import look_through as look_through_api
from api.routes import remittances as remittances_api
from api.routes import savings as savings_api
from api.routes.remittances import RemittanceCreate
from api.savings_schemas import BulkCreate, MovementCreate
from api.schemas import IdPath
from api.writes import form_write
from ledger.calendar import fiscal_year_bounds, fiscal_year_of, page_form
from ledger.errors import LedgerError, Rejection
from ledger.look_through import share_percent
from ledger.money import format_amount
from store import books, loans, onlend, remittances, savings, tier_reconciliation
from store import look_through as figures_of
from store.savings import BadLines
from store.tiers import organisation_book
from store.users import Principal
from web.forms import message, read_amount, read_date
from web.i18n import N_
from web.office_form import FormField, OfficeForm, status_of, typed_of
from web.routes import page_router
from web.routes.investments import PageStaff
from web.routes.loan import loan_view
from web.session import PagePrincipal, page_role
from web.templating import render

router = page_router()
PageRegistrar = Annotated[Principal, Depends(page_role(REGISTRARS))]
MAX_MEMBERS = 500  # shown on the page and in a month's deposits (the API takes as many lines)
MAX_MEMBER_LOANS = 20
MonthQuery = Annotated[str, Query(max_length=10)]
MOVEMENT = OfficeForm("movement", N_("Record a deposit or a withdrawal"), N_("Record it"), (
    FormField("member_id", "party", N_("Member")),
    FormField("direction", "choice", N_("Deposit or withdrawal"), options=(("deposit", N_("Deposit")),
                                                                           ("withdrawal", N_("Withdrawal")))),
    FormField("amount", "amount", N_("Amount, in baht")),
    FormField("effective_date", "date", N_("Date")),
), {Rejection.savings_below_minimum: "amount", Rejection.savings_withdrawal_in_arrears: "direction",
    Rejection.date_in_future: "effective_date", Rejection.period_closed: "effective_date"})  # fmt: skip
REMITTANCE = OfficeForm("remittance", N_("Record the payment to CODI for this month"), N_("Record the payment"), (
    FormField("codi_loan_id", "party", N_("CODI's loan")),
    FormField("paid_on", "date", N_("Paid on")),
    FormField("remit_amount", "amount", N_("Amount paid, in baht")),
    FormField("from_reserve", "amount", N_("Of it, from the reserve, in baht"), N_("Leave empty: nothing"),
              optional=True),
), {Rejection.remittance_month_mismatch: "paid_on", Rejection.date_in_future: "paid_on",
    Rejection.period_closed: "paid_on", Rejection.remittance_exceeds_due: "remit_amount",
    Rejection.amount_must_be_positive: "remit_amount", Rejection.insufficient_balance: "remit_amount",
    Rejection.reserve_exceeds_remittance: "from_reserve"})  # fmt: skip
BULK_DATE = "bulk_date"
DONE = {"remitted": N_("The payment to CODI is recorded."), "moved": N_("The savings are recorded."),
        "deposited": N_("The month's deposits are recorded.")}  # fmt: skip


# --- an organisation's page ----------------------------------------------------------------------


@router.get("/office/organisations/{organisation_id}")
def organisation_page(request: Request, principal: PageStaff, organisation_id: IdPath, month: MonthQuery = "",
                      done: str = ""):  # fmt: skip
    return _organisation_page(request, principal, organisation_id, month, {}, done=DONE.get(done))


def _month_start(text: str, today: date) -> date:
    """The month asked for (YYYY-MM), this month if none: a month the API reads the same way."""
    return remittances_api._month_start(remittances_api._checked_month(text)) if text else today.replace(day=1)


def _organisation_page(request: Request, principal: Principal, organisation_id: int, month: str, forms: dict,
                       status: int = 200, done: str | None = None):  # fmt: skip
    """The page, with each form blank unless `forms` gives it (what was typed and its errors)."""
    today = request.app.state.clock.today()
    start = _month_start(month, today)
    with request.app.state.db.read() as connection:
        figures = _organisation_figures(connection, organisation_id, today, start)
    last = start.replace(day=monthrange(start.year, start.month)[1])
    blank = {
        "movement": (MOVEMENT.blank(effective_date=page_form(today), direction="deposit"), []),
        "remittance": (REMITTANCE.blank(paid_on=page_form(min(last, today))), []),
        "bulk": (_bulk_blank(figures["members"], figures["savings_rule"].monthly_deposit_satang, today), []),
    }
    shown = {**blank, **forms}
    loan_ids = [line["codi_loan_id"] for line in figures["month"]["loans"]]
    options = {"member_options": [(m["id"], m) for m in figures["members"]],
               "loan_options": [(loan_id, str(loan_id)) for loan_id in loan_ids]}  # fmt: skip
    months = {"previous_month": (start - timedelta(days=1)).replace(day=1),
              "next_month": last + timedelta(days=1) if last < today else None}  # fmt: skip
    return render(request, "office_organisation.html", status, **figures, **months, month_start=start, today=today,
                  may_write=principal.role in REGISTRARS, forms=shown, movement=MOVEMENT, remittance=REMITTANCE,
                  done=done, **options)  # fmt: skip


def _organisation_figures(connection, organisation_id: int, today: date, month_start: date) -> dict:
    """What the page shows of the organisation, each read by the store function its API route calls."""
    book = organisation_book(connection, organisation_id)
    members = books.list_parties(connection, only_party=None, after=0, limit=MAX_MEMBERS,
                                 filters={"member_of": organisation_id, "kind": "member"})  # fmt: skip
    saved = savings.balances(connection, book["id"])
    names = {m["id"]: m for m in members}
    member_loans = figures_of.member_loans(connection, book["id"], today)
    return {
        "organisation": books.get_party(connection, organisation_id), "book": book, "members": members,
        "saved": saved, "in_arrears": savings.in_arrears(connection, book["id"], names),
        "total_savings": savings.organisation_savings(connection, organisation_id),
        "member_loans": member_loans, "names": names, "savings_rule": savings.rule_of(connection, organisation_id),
        "lending_rule": onlend.lending_rule(connection, organisation_id),
        "month": remittances.month_of(connection, organisation_id, month_start),
    }  # fmt: skip


def _bulk_blank(members: list[dict], monthly_satang: int, today: date) -> dict:
    """A month's deposits: each member's field filled with the rule's monthly amount."""
    amount = format_amount(monthly_satang) if monthly_satang else ""
    return {BULK_DATE: page_form(today), "key": MOVEMENT.blank()["key"],
            **{f"amount-{m['id']}": amount for m in members}}  # fmt: skip


def _refused(form: OfficeForm, error: LedgerError) -> tuple[list, int]:
    if error.reason == Rejection.forbidden:
        raise error
    return [form.refusal(error)], status_of(error)


@router.post("/office/organisations/{organisation_id}/remittances")
async def record_remittance(request: Request, principal: PageRegistrar, organisation_id: IdPath,
                            month: MonthQuery = ""):  # fmt: skip
    """The month's payment to CODI: the API's route (both books, or neither) under the form's key."""
    typed = await typed_of(request, REMITTANCE)
    start = _month_start(month, request.app.state.clock.today())
    values, errors = REMITTANCE.read(typed)
    status = 422
    if not errors:
        reserve = values["from_reserve"] and format_amount(values["from_reserve"])
        body = RemittanceCreate(codi_loan_id=values["codi_loan_id"], month=f"{start:%Y-%m}", on=values["paid_on"],
                                amount=format_amount(values["remit_amount"]), from_reserve=reserve)  # fmt: skip
        write = form_write(request, typed["key"], {"organisation": organisation_id, **body.model_dump()})
        try:
            remittances_api.remit(organisation_id, body, request, write, principal, request.app.state.clock)
            return RedirectResponse(f"/office/organisations/{organisation_id}?month={start:%Y-%m}&done=remitted", 303)
        except LedgerError as error:
            errors, status = _refused(REMITTANCE, error)
    return _organisation_page(request, principal, organisation_id, month, {"remittance": (typed, errors)}, status)


@router.post("/office/organisations/{organisation_id}/savings")
async def record_movement(request: Request, principal: PageRegistrar, organisation_id: IdPath):
    """A member's deposit or withdrawal, within the organisation's rule: the API's route."""
    typed = await typed_of(request, MOVEMENT)
    values, errors = MOVEMENT.read(typed)
    status = 422
    if not errors:
        body = MovementCreate(member_id=values["member_id"], amount=format_amount(values["amount"]),
                              effective_date=values["effective_date"])  # fmt: skip
        write = form_write(request, typed["key"], {"organisation": organisation_id, "direction": values["direction"],
                                                   **body.model_dump()})  # fmt: skip
        run = savings_api.deposit if values["direction"] == "deposit" else savings_api.withdraw
        try:
            run(organisation_id, body, request, write, principal)
            return RedirectResponse(f"/office/organisations/{organisation_id}?done=moved", 303)
        except LedgerError as error:
            errors, status = _refused(MOVEMENT, error)
    return _organisation_page(request, principal, organisation_id, "", {"movement": (typed, errors)}, status)


@router.post("/office/organisations/{organisation_id}/savings/month")
async def record_month(request: Request, principal: PageRegistrar, organisation_id: IdPath):
    """A month's deposits, one amount a member (an empty field: none), all or nothing: the API's route."""
    sent = await request.form()
    with request.app.state.db.read() as connection:
        organisation_book(connection, organisation_id)
        members = books.list_parties(connection, only_party=None, after=0, limit=MAX_MEMBERS,
                                     filters={"member_of": organisation_id, "kind": "member"})  # fmt: skip
    fields = [f"amount-{m['id']}" for m in members]
    typed = {name: str(sent.get(name, ""))[:40] for name in (*fields, BULK_DATE, "key")}
    body, errors = _read_month(typed, members)
    status = 422
    if body is not None:
        write = form_write(request, typed["key"], {"organisation": organisation_id, **body.model_dump()})
        try:
            savings_api.bulk_deposits(organisation_id, body, request, write, principal)
            return RedirectResponse(f"/office/organisations/{organisation_id}?done=deposited", 303)
        except BadLines as error:
            errors = [(f"amount-{body.deposits[line['line'] - 1].member_id}", MOVEMENT.refusal(
                LedgerError(line["reason"], line["detail"]))[1]) for line in error.errors]  # fmt: skip
        except LedgerError as error:
            errors, status = [(BULK_DATE, MOVEMENT.refusal(error)[1])], status_of(error)
    return _organisation_page(request, principal, organisation_id, "", {"bulk": (typed, errors)}, status)


def _read_month(typed: dict, members: list[dict]) -> tuple[BulkCreate | None, list]:
    """The month's deposits as the API's body, or the fields that could not be read."""
    day, date_error = read_date(typed[BULK_DATE])
    errors = [(BULK_DATE, date_error)] if date_error else []
    lines = []
    for member in members:
        name = f"amount-{member['id']}"
        if not typed[name].strip():
            continue
        satang, error = read_amount(typed[name])
        errors += [(name, error)] if error else []
        lines.append({"member_id": member["id"], "amount": satang and format_amount(satang)})
    if not lines and not errors:
        errors.append((f"amount-{members[0]['id']}" if members else BULK_DATE,
                       message(N_("Enter at least one member's deposit."))))  # fmt: skip
    if errors:
        return None, errors
    return BulkCreate(effective_date=day, deposits=lines), []


# --- CODI's look-through -------------------------------------------------------------------------


@router.get("/office/look-through")
def look_through_page(request: Request, principal: PageStaff):
    """Every organisation's figures and their roll-ups today, and the reconciliation across tiers."""
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        lines = figures_of.look_through(connection, today)
        groups = look_through_api.group_lines(connection, lines)
        reconciliation = tier_reconciliation.reconciliation(connection)
        names = {org["id"]: org for org, _ in lines}
        names |= {line["organisation_id"]: books.get_party(connection, line["organisation_id"])
                  for line in reconciliation if line["organisation_id"] not in names}  # fmt: skip
    lines = [(org, f, _collection(f)) for org, f in lines]
    groups = {d: [(g, f, _collection(f)) for g, f in rows] for d, rows in groups.items()}
    return render(request, "office_look_through.html", today=today, lines=lines, groups=groups,
                  reconciliation=reconciliation, names=names, fiscal_year=fiscal_year_of(today),
                  dimensions=DIMENSION_NAMES)  # fmt: skip


def _collection(figures) -> object:
    """The fiscal year's collection rate so far: collected ÷ due, as the API's report gives it."""
    return share_percent(sum(figures.collected_satang), sum(figures.due_satang))


DIMENSION_NAMES = {"region": N_("By region"), "province": N_("By province"), "centre": N_("By incubation centre"),
                   "programme": N_("By programme")}  # fmt: skip


# --- a member's own ------------------------------------------------------------------------------


@router.get("/members/{member_id}")
def member_page(request: Request, principal: PagePrincipal, member_id: IdPath):
    return member_home(request, principal, member_id)


def member_home(request: Request, principal: Principal, member_id: int):
    """The member's savings this fiscal year and loans: the member's own, its organisation's or
    the staff's to see (anyone else: 404, by the API's rule)."""
    today = request.app.state.clock.today()
    start, end = fiscal_year_bounds(fiscal_year_of(today))
    with request.app.state.db.read() as connection:
        person = figures_of.member(connection, member_id, principal.party_id)
        book = figures_of.member_book(connection, person["member_of"])
        opening, lines = savings.statement(connection, book["id"], member_id, start, end) if book else (0, [])
        rows = loans.list_loans(connection, filters={"status": "active"}, only_party=member_id, after=0,
                                limit=MAX_MEMBER_LOANS) if book else []  # fmt: skip
        shown = [loan_view(connection, loan, today) for loan in rows]
        organisation = books.get_party(connection, person["member_of"])
    balance = lines[-1].running_balance_satang if lines else opening
    return render(request, "member_home.html", member=person, organisation=organisation, balance=balance,
                  opening=opening, lines=lines, year_start=start, loans=shown, today=today)  # fmt: skip
