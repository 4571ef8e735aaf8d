"""Co-investment: enterprises' share classes, registers, cap tables, distribution policies and
distributions, and the fund's investments in them.

Officers (and admins) keep registers, policies and distributions and record investments; an
approver (or admin) other than the recorder approves a purchase above the admin's threshold, and
approvers record impairments. Every role reads; an enterprise token reads only its own
enterprise and the investments in it (anything else is 404).
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.context import Admin, Approver, ClockDep, LoanOfficer, ReadDep, Reader, Registrar, Staff
from api.equity_schemas import (
    CapTablePublic,
    DistributionCreate,
    DistributionPaymentCreate,
    DistributionPublic,
    EnterpriseEquityPublic,
    ExitBuyer,
    ExitCreate,
    ExitPlanCreate,
    ImpairmentCreate,
    InvestmentCreate,
    InvestmentPublic,
    InvestmentsPublic,
    InvestmentStatementPublic,
    PolicyCreate,
    PolicyPublic,
    PurchaseCreate,
    RegisterCreate,
    RegisterEventPublic,
    RegisterWritten,
    ShareClassCreate,
    ShareClassPublic,
    ThresholdCreate,
    ThresholdPublic,
)
from api.pages import PageDep, next_cursor
from api.routes.commands import propose
from api.schemas import AdminCommandPublic, ClientDate, IdPath, IdQuery, Page, Region
from api.writes import Outcome, Write, perform
from ledger.equity import Declaration, EventKind, Policy, Position, RegisterEvent, position_from
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount, parse_amount, parse_rate
from store import books, equity
from store.users import Principal

router = APIRouter(prefix="/v1")
TAGS = ["co-investment"]
AsOf = Annotated[ClientDate | None, Query(description="Default: the business date (Bangkok)")]
GroupBy = Annotated[str | None, Query(pattern="^(region|province|centre)$")]


def visible_enterprise(connection, party_id: int, principal: Principal) -> dict:
    """An enterprise the principal may read: any, or for a party-bound token its own only."""
    if principal.party_id is not None and principal.party_id != party_id:
        raise books.not_found("enterprise", party_id)
    return equity.get_enterprise(connection, party_id)


def _rate(text: str | None) -> Decimal | None:
    return None if text is None else parse_rate(text)


# --- bodies ------------------------------------------------------------------------------------


def class_body(row: dict) -> dict:
    return {**row, "par_value": format_amount(row["par_value_satang"])}


def event_body(row: dict) -> dict:
    return {**row, "amount": format_amount(row["amount_satang"]), "paid": format_amount(row["paid_satang"])}


def cap_table_body(connection, party_id: int, day: date) -> dict:
    found = equity.cap_table_as_of(connection, party_id, day)
    table = found["table"]
    names = {p: books.get_party(connection, p)["name_th"] for p in (h.party_id for h in table.holders)}
    lines = [{"party_id": line.party_id, "share_class_id": line.class_id, "shares": line.shares,
              "committed": format_amount(line.committed_satang), "paid": format_amount(line.paid_satang),
              "unpaid": format_amount(line.committed_satang - line.paid_satang),
              "percent_of_class": str(line.percent_of_class)} for line in table.lines]  # fmt: skip
    holders = [{"party_id": h.party_id, "name_th": names[h.party_id], "nominal": format_amount(h.nominal_satang),
                "votes": h.votes, "paid": format_amount(h.paid_satang), "percent_of_capital": str(h.percent_of_capital),
                "percent_of_votes": str(h.percent_of_votes)} for h in table.holders]  # fmt: skip
    return {
        "enterprise_party_id": party_id, "as_of": day, "lines": lines, "holders": holders,
        "classes": [{"share_class_id": c, "shares_issued": n} for c, n in sorted(table.shares_by_class.items())],
        "total_nominal": format_amount(sum(h.nominal_satang for h in table.holders)),
        "total_committed": format_amount(sum(line.committed_satang for line in table.lines)),
        "total_paid": format_amount(sum(line.paid_satang for line in table.lines)),
    }  # fmt: skip


def policy_body(party_id: int, row: dict | None) -> dict:
    if row is None:
        policy = equity.DEFAULT_POLICY
        row = {"effective_from": None, "reserve_min_percent": str(policy.reserve_min_percent),
               "dividend_cap_percent": str(policy.dividend_cap_percent), "holder_cap_percent": None}  # fmt: skip
    return {**row, "enterprise_party_id": party_id}


def distribution_body(row: dict) -> dict:
    appropriated = row["reserve_satang"] + row["dividend_satang"] + row["patronage_satang"]
    return {
        **row, "net_profit": format_amount(row["net_profit_satang"]), "reserve": format_amount(row["reserve_satang"]),
        "dividends": format_amount(row["dividend_satang"]), "patronage_refunds": format_amount(row["patronage_satang"]),
        "declared_dividend": _optional_amount(row["declared_dividend_satang"]),
        "retained": format_amount(row["net_profit_satang"] - appropriated),
        "parts": [{**p, "amount": format_amount(p["amount_satang"])} for p in row["parts"]],
        "payments": [{**p, "amount": format_amount(p["amount_satang"])} for p in row["payments"]],
    }  # fmt: skip


def figures_body(figures: equity.Figures, day: date) -> dict:
    held = figures.position
    average = None
    if held.shares:
        average = str((Decimal(held.cost_satang) / held.shares / 100).quantize(Decimal("0.0001")))
    return {
        "as_of": day, "shares": held.shares, "cost": format_amount(held.cost_satang), "average_cost_per_share": average,
        "impairment": format_amount(held.impairment_satang), "carrying_amount": format_amount(held.carrying_satang),
        "percent_of_class": str(figures.percent_of_class), "percent_of_capital": str(figures.percent_of_capital),
        "dividends_declared": format_amount(figures.dividends_declared_satang),
        "dividends_received": format_amount(figures.dividends_received_satang),
        "realised_gain": format_amount(held.realised_gain_satang),
    }  # fmt: skip


def _optional_amount(satang: int | None) -> str | None:
    return None if satang is None else format_amount(satang)


def investment_body(connection, row: dict, figures: equity.Figures, day: date) -> dict:
    pending = equity.pending_purchase(connection, row["id"])
    plan = {"target_date": row["exit_target_on"], "price_rule": row["exit_price_rule"],
            "price_per_share": _optional_amount(row["exit_price_per_share_satang"]), "note": row["exit_plan_note"],
            "indicative_price": _optional_amount(figures.indicative_exit_price_satang)}  # fmt: skip
    return {
        **row, "exit_plan": plan, "figures": figures_body(figures, day),
        "pending_purchase": {**pending, "price": format_amount(pending["price_satang"])} if pending else None,
    }  # fmt: skip


def investments_body(connection, rows: list[dict], day: date) -> list[dict]:
    figures = equity.figures_of(connection, rows, day)
    return [investment_body(connection, row, figures[row["id"]], day) for row in rows]


def visible_investment(connection, investment_id: int, principal: Principal) -> dict:
    rows = equity.list_investments(connection, filters={}, only_party=principal.party_id,
                                   after=investment_id - 1, limit=1)  # fmt: skip
    if not rows or rows[0]["id"] != investment_id:
        raise books.not_found("investment", investment_id)
    return rows[0]


def _investment_answer(connection, investment_id: int, today: date, status: int = 200) -> Outcome:
    row = equity.list_investments(connection, filters={}, only_party=None, after=investment_id - 1, limit=1)[0]
    body = InvestmentPublic.model_validate(investments_body(connection, [row], today)[0])
    return Outcome(body, f"investment:{investment_id}", status)


# --- share classes and registers ----------------------------------------------------------------


@router.post("/enterprises/{party_id}/share-classes", status_code=201, response_model=ShareClassPublic, tags=TAGS)
def create_share_class(
    party_id: IdPath, body: ShareClassCreate, request: Request, write: Write, principal: Registrar
) -> Response:
    """A class of shares of a community enterprise or cooperative: a par value and votes per share."""
    fields = {**body.model_dump(exclude={"par_value"}), "par_value_satang": parse_amount(body.par_value)}

    def work(connection, now):
        row = equity.create_share_class(connection, party_id, fields, user_id=principal.user_id, now=now)
        return Outcome(ShareClassPublic.model_validate(class_body(row)), f"share-class:{row['id']}", 201)

    return perform(request, write, principal, "equity.share-class.create", work)


@router.get("/enterprises/{party_id}/share-classes", response_model=list[ShareClassPublic], tags=TAGS)
def list_share_classes(party_id: IdPath, connection: ReadDep, principal: Reader) -> list[dict]:
    visible_enterprise(connection, party_id, principal)
    return [class_body(r) for r in equity.list_share_classes(connection, party_id)]


def parse_event(body, classes: dict[int, int]) -> RegisterEvent:
    """The domain's event from the request; an issue's price defaults to its shares at par and
    its payment to the whole price."""
    amount = None if body.amount is None else parse_amount(body.amount)
    if body.kind == "issue":
        amount = body.shares * classes.get(body.share_class_id, 0) if amount is None else amount
        paid = amount if body.paid is None else parse_amount(body.paid)
    elif body.paid is not None:
        raise LedgerError(Rejection.invalid_request, "only an issue is paid at once: record a payment instead")
    else:
        paid = 0
    return RegisterEvent(EventKind(body.kind), body.effective_date, body.share_class_id, body.shares,
                         to_party=body.to_party_id, from_party=body.from_party_id, amount_satang=amount or 0,
                         paid_satang=paid)  # fmt: skip


@router.post("/enterprises/{party_id}/register", status_code=201, response_model=RegisterWritten, tags=TAGS)
def record_register(
    party_id: IdPath, body: RegisterCreate, request: Request, write: Write, principal: Registrar, clock: ClockDep
) -> Response:
    """Record register events, all or none, in order: issues, payments towards shares, transfers,
    buy-backs and cancellations. None may leave a holder below zero or, for those who gain
    shares, above the policy's holder cap; none is dated before the register's last event or
    inside a period already distributed. When the enterprise keeps its book here, money that
    moves is posted in it. The fund's own shares move only through /v1/investments. Needs an
    Idempotency-Key."""
    today = clock.today()

    def work(connection, now):
        pars = {c["id"]: c["par_value_satang"] for c in equity.list_share_classes(connection, party_id)}
        events = [parse_event(e, pars) for e in body.events]
        done = equity.record_register_events(connection, party_id, events, notes=[e.note for e in body.events],
                                             today=today, user_id=principal.user_id, now=now)  # fmt: skip
        answer = RegisterWritten(events=[event_body(r) for r in done.rows], entry_ids=done.entry_ids)
        return Outcome(answer, f"enterprise:{party_id}:register", 201, done.entry_ids)

    return perform(request, write, principal, "equity.register", work, needs_key=True)


@router.get("/enterprises/{party_id}/register", response_model=Page[RegisterEventPublic], tags=TAGS)
def list_register(party_id: IdPath, connection: ReadDep, principal: Reader, page: PageDep) -> dict:
    """The register's events in the order recorded."""
    visible_enterprise(connection, party_id, principal)
    rows = equity.register_rows(connection, party_id, after=page.after, limit=page.limit)
    return {"data": [event_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


@router.get("/enterprises/{party_id}/cap-table", response_model=CapTablePublic, tags=TAGS)
def cap_table(party_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep, as_of: AsOf = None) -> dict:
    """Shares, committed and paid-up capital per holder and class at the end of a date, with each
    holder's percentage of its class, of the nominal capital and of the votes (each sums to 100)."""
    visible_enterprise(connection, party_id, principal)
    return cap_table_body(connection, party_id, as_of or clock.today())


# --- policies and distributions ----------------------------------------------------------------


@router.post("/enterprises/{party_id}/distribution-policy", status_code=201, response_model=PolicyPublic, tags=TAGS)
def set_policy(party_id: IdPath, body: PolicyCreate, request: Request, write: Write, principal: Registrar) -> Response:
    """The enterprise's own rules from a date: the least share of net profit for the legal reserve,
    the yearly dividend cap on paid-up capital, and a cap on any one holder's share of the capital."""
    policy = Policy(parse_rate(body.reserve_min_percent), _rate(body.dividend_cap_percent),
                    _rate(body.holder_cap_percent))  # fmt: skip

    def work(connection, now):
        row = equity.set_policy(connection, party_id, policy, effective_from=body.effective_from,
                                user_id=principal.user_id, now=now)  # fmt: skip
        return Outcome(PolicyPublic.model_validate(policy_body(party_id, row)), f"enterprise:{party_id}:policy", 201)

    return perform(request, write, principal, "equity.policy.set", work)


@router.get("/enterprises/{party_id}/distribution-policy", response_model=PolicyPublic, tags=TAGS)
def get_policy(party_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep, as_of: AsOf = None) -> dict:
    """The policy in force on a date (the cooperative model when none is set)."""
    visible_enterprise(connection, party_id, principal)
    return policy_body(party_id, equity.policy_row(connection, party_id, as_of or clock.today()))


def declaration_of(body: DistributionCreate) -> Declaration:
    """The domain's declaration from the request (a page's preview reads its form the same way)."""
    return Declaration(
        body.period_start, body.period_end, parse_amount(body.net_profit), parse_rate(body.reserve_percent),
        _rate(body.dividend_rate_percent), parse_amount(body.patronage_refund),
        tuple((b.party_id, parse_amount(b.amount)) for b in body.business),
        None if body.dividend_amount is None else parse_amount(body.dividend_amount),
    )  # fmt: skip


@router.post("/enterprises/{party_id}/distributions", status_code=201, response_model=DistributionPublic, tags=TAGS)
def declare(
    party_id: IdPath, body: DistributionCreate, request: Request, write: Write, principal: Registrar, clock: ClockDep
) -> Response:
    """Declare a period's distribution of net profit: the reserve, a dividend on paid-up capital
    pro-rated by days held (actual/actual: 366 days in a year with 29 February), at a yearly rate
    or as an amount to share out (at most what the policy's cap gives), and a patronage refund split
    by each member's business; parts by the largest remainder. Posted in the enterprise's book
    (when it keeps one) and, for the fund's part, in the fund's. Needs an Idempotency-Key."""
    declaration = declaration_of(body)
    today = clock.today()

    def work(connection, now):
        row = equity.declare(connection, party_id, declaration, declared_on=body.declared_on, today=today,
                             user_id=principal.user_id, now=now)  # fmt: skip
        answer = DistributionPublic.model_validate(distribution_body(row))
        return Outcome(answer, f"distribution:{row['id']}", 201, row["entry_ids"])

    return perform(request, write, principal, "equity.distribution.declare", work, needs_key=True)


@router.get("/enterprises/{party_id}/distributions", response_model=list[DistributionPublic], tags=TAGS)
def list_distributions(party_id: IdPath, connection: ReadDep, principal: Reader) -> list[dict]:
    visible_enterprise(connection, party_id, principal)
    return [distribution_body(r) for r in equity.list_distributions(connection, party_id)]


@router.get("/enterprises/{party_id}/distributions/{distribution_id}", response_model=DistributionPublic, tags=TAGS)
def get_distribution(party_id: IdPath, distribution_id: IdPath, connection: ReadDep, principal: Reader) -> dict:
    visible_enterprise(connection, party_id, principal)
    return distribution_body(equity.get_distribution(connection, party_id, distribution_id))


@router.post("/enterprises/{party_id}/distributions/{distribution_id}/payments", response_model=DistributionPublic,
             tags=TAGS)  # fmt: skip
def pay(
    party_id: IdPath, distribution_id: IdPath, body: DistributionPaymentCreate, request: Request, write: Write,
    principal: Registrar, clock: ClockDep,
) -> Response:  # fmt: skip
    """Pay the parts not yet paid (or those of the holders named): Dr dividends payable / Cr cash
    in the enterprise's book, Dr cash / Cr dividends receivable in the fund's. Needs an
    Idempotency-Key."""
    today = clock.today()

    def work(connection, now):
        row = equity.pay(connection, party_id, distribution_id, paid_on=body.paid_on, holders=body.holder_party_ids,
                         today=today, user_id=principal.user_id, now=now)  # fmt: skip
        paid = [e for p in row["payments"] if p["paid_on"] == body.paid_on for e in p["entry_ids"]]
        answer = DistributionPublic.model_validate(distribution_body(row))
        return Outcome(answer, f"distribution:{distribution_id}", 200, sorted(set(paid)))

    return perform(request, write, principal, "equity.distribution.pay", work, needs_key=True)


@router.get("/enterprises/{party_id}/equity", response_model=EnterpriseEquityPublic, tags=TAGS)
def enterprise_view(party_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep) -> dict:
    """An enterprise's own view: its share classes, cap table today, the fund's investments in it
    and its distributions."""
    visible_enterprise(connection, party_id, principal)
    day = clock.today()
    rows = equity.list_investments(connection, filters={"enterprise_party_id": party_id}, only_party=None)
    return {
        "enterprise_party_id": party_id,
        "share_classes": [class_body(r) for r in equity.list_share_classes(connection, party_id)],
        "cap_table": cap_table_body(connection, party_id, day), "investments": investments_body(connection, rows, day),
        "distributions": [distribution_body(r) for r in equity.list_distributions(connection, party_id)],
    }  # fmt: skip


# --- the fund's investments --------------------------------------------------------------------


@router.get("/investment-settings", response_model=ThresholdPublic, tags=TAGS)
def get_threshold(connection: ReadDep, principal: Staff, book_id: IdQuery = None) -> dict:
    """The approval threshold in force (staff only: it is the fund's own control)."""
    book = equity.fund_book(connection, book_id)
    satang = equity.approval_threshold(connection, book["id"])
    return {"book_id": book["id"], "approval_threshold": format_amount(satang)}


@router.post("/investment-settings", status_code=202, response_model=AdminCommandPublic, tags=TAGS)
def set_threshold(body: ThresholdCreate, request: Request, write: Write, principal: Admin) -> Response:
    """An admin proposes the purchase price above which an investment waits for a second user's
    approval (0, the default, means every purchase does): an admin command, in force once a
    second admin approves it (`/v1/admin-commands/{id}/approval`)."""
    satang = parse_amount(body.approval_threshold)
    return propose(request, write, principal, "investment.settings", lambda connection: {
        "book_id": equity.fund_book(connection, body.book_id)["id"], "approval_threshold_satang": satang})  # fmt: skip


def _order(body: PurchaseCreate) -> equity.PurchaseOrder:
    return equity.PurchaseOrder(body.shares, parse_amount(body.price), body.effective_date)


@router.post("/investments", status_code=201, response_model=InvestmentPublic, tags=TAGS)
def record_investment(
    body: InvestmentCreate, request: Request, write: Write, principal: LoanOfficer, clock: ClockDep
) -> Response:
    """Record the fund's purchase of shares in an enterprise: posted at once (Dr investments in
    community enterprises, the enterprise's sub-account / Cr cash at bank, and the shares issued
    to the fund on the register) when the price is within the approval threshold; otherwise
    pending until a different user approves it. Needs an Idempotency-Key."""
    order, today = _order(body), clock.today()

    def work(connection, now):
        row = equity.record_investment(connection, book_id=body.book_id, enterprise_party_id=body.enterprise_party_id,
                                       share_class_id=body.share_class_id, order=order, today=today,
                                       user_id=principal.user_id, now=now)  # fmt: skip
        return _with_entries(connection, _investment_answer(connection, row["id"], today, 201), row["id"], now)

    return perform(request, write, principal, "investment.record", work, needs_key=True)


def _with_entries(connection, outcome: Outcome, investment_id: int, now) -> Outcome:
    """The answer with the entries this request posted (its events recorded at `now`)."""
    rows = equity.investment_events(connection, [investment_id])[investment_id]
    outcome.entry_ids = sorted({r["entry_id"] for r in rows if r["recorded_at"] == now})
    return outcome


@router.get("/investments", response_model=InvestmentsPublic, tags=TAGS)
def list_investments(
    connection: ReadDep, principal: Reader, clock: ClockDep, page: PageDep, as_of: AsOf = None,
    book_id: IdQuery = None, enterprise_party_id: IdQuery = None,
    status: Annotated[str | None, Query(pattern="^(pending|active|exited)$")] = None, region: Region | None = None,
    province: Annotated[str | None, Query(max_length=80)] = None, centre_id: IdQuery = None,
    exit_before: Annotated[ClientDate | None, Query(description="Exit plans due by this date")] = None,
    group_by: GroupBy = None,
) -> dict:  # fmt: skip
    """The fund's portfolio: each position's cost, impairment, carrying amount, percentage held,
    dividends and realised gains as of a date; filtered by enterprise, region, province, centre,
    status or exit date; with `group_by` (region, province, centre) totals of every match."""
    day = as_of or clock.today()
    filters = {"book_id": book_id, "enterprise_party_id": enterprise_party_id, "status": status, "region": region,
               "province": province, "centre_id": centre_id, "exit_before": exit_before}  # fmt: skip
    rows = equity.list_investments(connection, filters=filters, only_party=principal.party_id, after=page.after,
                                   limit=page.limit)  # fmt: skip
    answer = {"data": investments_body(connection, rows, day), "next_cursor": next_cursor(rows, page)}
    if group_by:
        every = equity.list_investments(connection, filters=filters, only_party=principal.party_id)
        answer |= _groups(equity.figures_of(connection, every, day), every, group_by)
    return answer


def _groups(figures: dict[int, equity.Figures], rows: list[dict], group_by: str) -> dict:
    found = investment_groups(figures, rows, group_by)
    return {"totals": _group_body(found["totals"]), "groups": [_group_body(g) for g in found["groups"]]}


GROUP_FIGURES = {"cost": lambda f: f.position.cost_satang, "impairment": lambda f: f.position.impairment_satang,
                 "carrying_amount": lambda f: f.position.carrying_satang,
                 "dividends_declared": lambda f: f.dividends_declared_satang,
                 "realised_gain": lambda f: f.position.realised_gain_satang}  # fmt: skip


def investment_groups(figures: dict[int, equity.Figures], rows: list[dict], group_by: str) -> dict:
    """Totals in satang of every position, and of each region, province or centre (`key`, or
    "none" for positions without one); the pages show the same sums the API answers."""
    column = {"centre": "centre_id"}.get(group_by, group_by)
    keyed: dict[str, list[equity.Figures]] = {}
    for row in rows:
        keyed.setdefault(str(row[column] or "none"), []).append(figures[row["id"]])
    everything = [f for group in keyed.values() for f in group]
    return {"totals": _group("all", everything), "groups": [_group(k, v) for k, v in sorted(keyed.items())]}


def _group(key: str, members: list[equity.Figures]) -> dict:
    sums = {f"{name}_satang": sum(pick(f) for f in members) for name, pick in GROUP_FIGURES.items()}
    return {"key": key, "count": len(members), **sums}


def _group_body(group: dict) -> dict:
    return {"key": group["key"], "count": group["count"],
            **{name: format_amount(group[f"{name}_satang"]) for name in GROUP_FIGURES}}  # fmt: skip


@router.get("/investments/{investment_id}", response_model=InvestmentPublic, tags=TAGS)
def get_investment(
    investment_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep, as_of: AsOf = None
) -> dict:
    row = visible_investment(connection, investment_id, principal)
    return investments_body(connection, [row], as_of or clock.today())[0]


def _investment_write(action: str, call: Callable, status: int = 201, needs_key: bool = True):
    """A route body for a write to one investment: `call(connection, now, today, user_id)`."""

    def route(investment_id: int, request: Request, write, principal: Principal, clock) -> Response:
        today = clock.today()

        def work(connection, now):
            call(connection, now, today, principal.user_id)
            answer = _investment_answer(connection, investment_id, today, status)
            return _with_entries(connection, answer, investment_id, now)

        return perform(request, write, principal, action, work, needs_key=needs_key)

    return route


@router.post("/investments/{investment_id}/purchases", status_code=201, response_model=InvestmentPublic, tags=TAGS)
def add_purchase(
    investment_id: IdPath, body: PurchaseCreate, request: Request, write: Write, principal: LoanOfficer,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """A further purchase for the position, on the same approval rule; the cost basis is the
    average cost of all shares held. Needs an Idempotency-Key."""
    order = _order(body)
    return _investment_write(
        "investment.purchase",
        lambda c, now, today, user: equity.add_purchase(c, investment_id, order, today=today, user_id=user, now=now),
    )(investment_id, request, write, principal, clock)


@router.post("/investments/{investment_id}/approval", response_model=InvestmentPublic, tags=TAGS)
def approve(investment_id: IdPath, request: Request, write: Write, principal: Approver, clock: ClockDep) -> Response:
    """Approve the pending purchase: by an approver (or admin) other than its recorder. It is
    posted now, dated as recorded."""
    return _investment_write("investment.approve", lambda c, now, today, user: equity.approve(
        c, investment_id, approved_by=user, today=today, now=now), 200, False)(
        investment_id, request, write, principal, clock)  # fmt: skip


def _movement(body: ImpairmentCreate) -> equity.Movement:
    return equity.Movement(body.effective_date, parse_amount(body.amount), reason=body.reason)


def exit_sales(body: ExitCreate) -> list[equity.ExitSale]:
    """The buyers of an exit: the list, or the one buyer the body names (not both)."""
    names_one = (body.shares, body.price, body.buyer_party_id) != (None, None, None)
    if body.buyers is not None and names_one or body.buyers is None and None in (body.shares, body.price):
        raise LedgerError(Rejection.invalid_request, "an exit gives shares and price for one buyer, or buyers")
    buyers = body.buyers or [ExitBuyer(buyer_party_id=body.buyer_party_id, shares=body.shares, price=body.price)]
    return [equity.ExitSale(buyer.buyer_party_id, buyer.shares, parse_amount(buyer.price)) for buyer in buyers]


@router.post("/investments/{investment_id}/impairments", status_code=201, response_model=InvestmentPublic, tags=TAGS)
def impair(
    investment_id: IdPath, body: ImpairmentCreate, request: Request, write: Write, principal: Approver,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """Impair the investment when the enterprise is in trouble, with a reason: Dr impairment losses
    (5300) / Cr the allowance for impairment (1390, the enterprise's sub-account), at most the
    carrying amount. Needs an Idempotency-Key."""
    move = _movement(body)
    return _investment_write("investment.impair", lambda c, now, today, user: equity.impair_investment(
        c, investment_id, move, reverse=False, today=today, user_id=user, now=now))(
        investment_id, request, write, principal, clock)  # fmt: skip


@router.post("/investments/{investment_id}/impairment-reversals", status_code=201, response_model=InvestmentPublic,
             tags=TAGS)  # fmt: skip
def reverse_impairment(
    investment_id: IdPath, body: ImpairmentCreate, request: Request, write: Write, principal: Approver,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """Reverse impairment when the enterprise recovers, with a reason, at most what is impaired:
    Dr the allowance / Cr impairment losses. Needs an Idempotency-Key."""
    move = _movement(body)
    return _investment_write("investment.impairment-reversal", lambda c, now, today, user: equity.impair_investment(
        c, investment_id, move, reverse=True, today=today, user_id=user, now=now))(
        investment_id, request, write, principal, clock)  # fmt: skip


@router.post("/investments/{investment_id}/exits", status_code=201, response_model=InvestmentPublic, tags=TAGS)
def exit_investment(
    investment_id: IdPath, body: ExitCreate, request: Request, write: Write, principal: LoanOfficer, clock: ClockDep
) -> Response:
    """Sell some or all shares back to the enterprise (a buy-back on its register) or to members
    (transfers), to one buyer or to several at once (`buyers`, all or none, one entry): Dr cash,
    Dr allowance for the impairment the shares carried / Cr investments at average cost, Cr gain
    on disposal (4500) or Dr loss (5100). Needs an Idempotency-Key."""
    sales = exit_sales(body)
    return _investment_write("investment.exit", lambda c, now, today, user: equity.exit_investment(
        c, investment_id, body.effective_date, sales, today=today, user_id=user, now=now))(
        investment_id, request, write, principal, clock)  # fmt: skip


@router.post("/investments/{investment_id}/exit-plan", response_model=InvestmentPublic, tags=TAGS)
def set_exit_plan(
    investment_id: IdPath, body: ExitPlanCreate, request: Request, write: Write, principal: LoanOfficer,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """Keep the plan to hand the enterprise back to its community: a target date and a price rule
    (cost, par, carrying amount, a fixed price per share, or par plus the enterprise's retained
    earnings per share outstanding, `par_plus_retained`). Reported with the investment, its
    indicative price as of the date read."""
    price = None if body.price_per_share is None else parse_amount(body.price_per_share)
    plan = {"exit_target_on": body.target_date, "exit_price_rule": body.price_rule,
            "exit_price_per_share_satang": price, "exit_plan_note": body.note}  # fmt: skip
    return _investment_write("investment.exit-plan", lambda c, now, today, user: equity.set_exit_plan(
        c, investment_id, plan), 200, False)(investment_id, request, write, principal, clock)  # fmt: skip


def events_with_positions(connection, investment_id: int) -> list[tuple[dict, Position]]:
    """Every event of the investment, each with the position after it."""
    moves, found = [], []
    for event in equity.investment_events(connection, [investment_id])[investment_id]:
        moves.append((event["kind"], event["shares"], event["cost_satang"], event["impairment_satang"],
                      event["gain_satang"]))  # fmt: skip
        found.append((event, position_from(moves)))
    return found


@router.get("/investments/{investment_id}/statement", response_model=InvestmentStatementPublic, tags=TAGS)
def statement(investment_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep) -> dict:
    """Every event of the investment with the position after it."""
    row = visible_investment(connection, investment_id, principal)
    lines = []
    for event, after in events_with_positions(connection, investment_id):
        lines.append({**event, "event_id": event["id"], **{name: format_amount(event[f"{name}_satang"])
                      for name in ("amount", "cost", "impairment", "gain")},
                      "shares_after": after.shares, "cost_after": format_amount(after.cost_satang),
                      "impairment_after": format_amount(after.impairment_satang),
                      "carrying_amount_after": format_amount(after.carrying_satang)})  # fmt: skip
    day = clock.today()
    figures = equity.figures_of(connection, [row], day)[investment_id]
    return {"investment_id": investment_id, "lines": lines, "figures": figures_body(figures, day)}
