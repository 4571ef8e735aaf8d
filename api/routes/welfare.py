"""Community welfare funds: contribution rules, sales (one by one, or a market day's in bulk) and
their reversals, settlements, a fund's member and matching contributions, benefits and
administration costs, and the reads: a fund's statement and receivables, an enterprise's sales
summary, programme totals.

Officers (and admins) make rules and record settlements; sales are recorded by officers or by an
enterprise's own token, for its own sales only. A token bound to a welfare fund's party records
and reads that fund's own money; an administration cost over the fund's cap goes through only
with an approver's (or admin's) override and reason, which the audit trail records as such.
Party-bound tokens see their own sales, rules, settlements and fund, and anything else is 404;
programme totals are for staff.
"""

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api import logs
from api.context import APPROVERS, Admin, ClockDep, JournalWriter, ReadDep, Reader, Registrar, Staff, role
from api.formats import CsvFormatDep
from api.middleware import IMPORT_BODY_BYTES
from api.pages import PageDep, next_cursor
from api.render import csv_response
from api.routes.commands import propose
from api.routes.journal import check_range
from api.schemas import AdminCommandPublic, ClientDate, IdPath, IdQuery, Page
from api.welfare_schemas import (
    AdminCostCreate,
    AdminCostPublic,
    AdminCostsPage,
    AdvanceRefundCreate,
    AdvanceRefundPublic,
    BenefitCreate,
    BenefitPublic,
    FundSettingsPublic,
    FundSettingsUpdate,
    FundStatementPublic,
    ImportPublic,
    MatchingCreate,
    MatchingPage,
    MatchingPublic,
    MemberContributionCreate,
    MemberContributionPublic,
    ProgrammeTotalsPublic,
    ReceivablesPublic,
    RuleCreate,
    RuleEnd,
    RulePublic,
    SaleCreate,
    SalePublic,
    SaleReversalCreate,
    SalesSummaryPublic,
    SettlementCreate,
    SettlementPublic,
    SettlementReversalCreate,
)
from api.writes import Outcome, Write, WriteRequest, perform
from ledger.calendar import fiscal_year_of
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount, parse_amount, parse_rate
from ledger.welfare import Channel, ContributionRule, check_product_lines
from store import books, welfare
from store.bulk import ImportReport
from store.users import Principal

router = APIRouter(prefix="/v1", tags=["welfare"])
CSV = {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv or Accept: text/csv"}
CostRecorder = Annotated[Principal, Depends(role(frozenset({"admin", "officer", "approver", "enterprise"})))]
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": f"One sale a line, at most {welfare.MAX_IMPORT_LINES:,} lines and "
        f"{IMPORT_BODY_BYTES // (1024 * 1024)} MiB: CSV (Content-Type text/csv) "
        f"under a header naming {', '.join(welfare.CSV_COLUMNS)} (the first five required), or JSON lines "
        "with those fields and optional product `lines`. Each line's `key` makes it idempotent.",
        "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}},
    }
}


def money(row: dict, *names: str) -> dict:
    """The row with each `<name>_satang` also as `<name>`, a decimal string of baht."""
    return {**row, **{name: format_amount(row[f"{name}_satang"]) for name in names}}


def own(principal: Principal, party_id: int, what: str) -> None:
    """A party's token deals with its own party only: anything else is 404."""
    if principal.party_id not in (None, party_id):
        raise books.not_found(what, party_id)


def not_future(day: date, today: date) -> None:
    if day > today:
        raise LedgerError(Rejection.date_in_future, f"{day} is after the business date {today}")


# --- contribution rules ------------------------------------------------------------------------


@router.post("/contribution-rules", status_code=201, response_model=RulePublic)
def create_rule(body: RuleCreate, request: Request, write: Write, principal: Registrar) -> Response:
    """A rate of an enterprise's sales (through one channel, or all) that goes to a welfare fund,
    from a date (to a date). Rules of the same enterprise and channel may not overlap."""
    rule = ContributionRule(body.enterprise_party_id, body.fund_party_id, parse_rate(body.rate_percent),
                            body.channel, body.effective_from, body.effective_to)  # fmt: skip

    def work(connection, now):
        row = welfare.create_rule(connection, rule, user_id=principal.user_id, now=now)
        return Outcome(RulePublic.model_validate(row), f"contribution-rule:{row['id']}", 201)

    return perform(request, write, principal, "welfare.rule.create", work)


@router.post("/contribution-rules/{rule_id}/end", response_model=RulePublic)
def end_rule(rule_id: IdPath, body: RuleEnd, request: Request, write: Write, principal: Registrar) -> Response:
    """Set the last day a rule applies (not before a sale it priced), to make way for the next."""

    def work(connection, now):
        row = welfare.end_rule(connection, rule_id, effective_to=body.effective_to)
        return Outcome(RulePublic.model_validate(row), f"contribution-rule:{rule_id}")

    return perform(request, write, principal, "welfare.rule.end", work)


@router.get("/contribution-rules", response_model=Page[RulePublic])
def list_rules(
    connection: ReadDep, principal: Reader, page: PageDep, enterprise_party_id: IdQuery = None,
    fund_party_id: IdQuery = None,
) -> dict:  # fmt: skip
    filters = {"enterprise_party_id": enterprise_party_id, "fund_party_id": fund_party_id}
    rows = welfare.list_rules(connection, filters=filters, only_party=principal.party_id, after=page.after,
                              limit=page.limit)  # fmt: skip
    return {"data": rows, "next_cursor": next_cursor(rows, page)}


@router.get("/contribution-rules/{rule_id}", response_model=RulePublic)
def get_rule(rule_id: IdPath, connection: ReadDep, principal: Reader) -> dict:
    rule = welfare.get_rule(connection, rule_id)
    if principal.party_id not in (None, rule["enterprise_party_id"], rule["fund_party_id"]):
        raise books.not_found("contribution rule", rule_id)
    return rule


# --- sales -------------------------------------------------------------------------------------


def sale_body(sale: dict) -> dict:
    outstanding = 0 if sale["reversal"] else sale["contribution_satang"] - sale["settled_satang"]
    lines = [{**line, "amount": format_amount(line["amount_satang"])} for line in sale["lines"]]
    body = money(sale, "amount", "contribution", "advance_applied", "settled")
    return {**body, "outstanding": format_amount(outstanding), "lines": lines}


def visible_sale(connection, sale_id: int, principal: Principal) -> dict:
    sale = welfare.get_sale(connection, sale_id)
    if principal.party_id not in (None, sale["enterprise_party_id"], sale["fund_party_id"]):
        raise books.not_found("sale", sale_id)
    return sale


def check_sale(principal: Principal, sale: welfare.SaleRequest, today: date) -> None:
    """What a sale is refused for before anything is written: another enterprise's (404), product
    lines that do not sum to its amount, a date after today."""
    own(principal, sale.enterprise_party_id, "enterprise")
    check_product_lines(sale.amount_satang, [x["amount_satang"] for x in sale.lines])
    not_future(sale.effective_date, today)


def run_sale(request: Request, write: WriteRequest, principal: Principal, sale: welfare.SaleRequest) -> Response:
    """Record a sale checked by `check_sale`: the audited, idempotent write of the API and the pages."""

    def work(connection, now):
        [answer] = welfare.record_sales(connection, [sale], user_id=principal.user_id, now=now)
        if isinstance(answer, LedgerError):
            raise answer
        body_ = SalePublic.model_validate(sale_body(welfare.get_sale(connection, answer["id"])))
        return Outcome(body_, f"sale:{answer['id']}", 201, welfare.sale_entry_ids([answer]))

    return perform(request, write, principal, "sale.record", work, needs_key=True)


@router.post("/sales", status_code=201, response_model=SalePublic)
def record_sale(
    body: SaleCreate, request: Request, write: Write, principal: JournalWriter, clock: ClockDep
) -> Response:
    """Record a sale in the enterprise's book and its contribution (the rule in force on its date:
    rate x amount, rounded half-up once) in the welfare fund's, in one transaction. An
    enterprise's token records its own sales only. Needs an Idempotency-Key."""
    lines = tuple({"product": x.product, "quantity": x.quantity, "amount_satang": parse_amount(x.amount)}
                  for x in body.lines)  # fmt: skip
    sale = welfare.SaleRequest(
        body.enterprise_party_id, body.effective_date, body.channel, parse_amount(body.amount), body.payment,
        body.description, lines, body.allow_zero_contribution,
    )  # fmt: skip
    check_sale(principal, sale, clock.today())
    return run_sale(request, write, principal, sale)


@router.post("/sales/import", response_model=ImportPublic, openapi_extra=IMPORT_BODY)
async def import_sales(request: Request, write: Write, principal: JournalWriter) -> Response:
    """A market day's sales at once, idempotent line by line (each line's `key`): a line recorded
    before is replayed, not recorded again; a refused line is reported with its reason and costs
    the others nothing. An enterprise's token imports its own sales only."""
    body = await request.body()  # at most IMPORT_BODY_BYTES: api.middleware refuses more
    is_csv = request.headers.get("content-type", "").split(";")[0].strip() == "text/csv"
    lines, parsed = sale_import_lines(body, is_csv=is_csv, today=request.app.state.clock.today())
    return await run_in_threadpool(run_sale_import, request, write, principal, lines, parsed)


def sale_import_lines(body: bytes, *, is_csv: bool, today: date) -> tuple[list[welfare.SaleLine], ImportReport]:
    """The sales of an import's text, and a report of the lines refused before any is recorded
    (not a sale, or dated after `today`)."""
    parsed = ImportReport()
    lines = welfare.parse_import(body, is_csv=is_csv, report=parsed)
    for line in lines:
        if line.request.effective_date > today:
            parsed.rejected.append((line.number, Rejection.date_in_future, f"{line.request.effective_date} is ahead"))
    return [line for line in lines if line.request.effective_date <= today], parsed


def run_sale_import(request: Request, write: WriteRequest, principal: Principal, lines: list[welfare.SaleLine],
                    parsed: ImportReport) -> Response:  # fmt: skip
    """Record the lines' sales, audited under `write` (the API's import, and each part of a file
    the imports page takes); the answer counts them and names each line refused."""

    def work(connection, now):
        report = replace(parsed, rejected=list(parsed.rejected))  # a retried attempt starts again
        recorded = welfare.import_sales(connection, lines, user_id=principal.user_id,
                                        only_enterprise=principal.party_id, report=report, now=now)  # fmt: skip
        answer = {"recorded": report.recorded, "replayed": report.replayed,
                  "rejected": [{"line": n, "reason": r, "detail": d} for n, r, d in sorted(report.rejected)],
                  "sales": [{"line": line.number, "sale_id": sale["id"]} for line, sale in recorded]}  # fmt: skip
        return Outcome(
            ImportPublic.model_validate(answer),
            "sale-import",
            200,
            welfare.sale_entry_ids(sale for _, sale in recorded),
        )

    answer = perform(request, write, principal, "sale.import", work)
    if "Idempotent-Replayed" not in answer.headers:
        figures = json.loads(answer.body)
        logs.event("import.sales", user_id=principal.user_id, recorded=figures["recorded"],
                   replayed=figures["replayed"], rejected=len(figures["rejected"]))  # fmt: skip
    return answer


@router.get("/sales", response_model=Page[SalePublic])
def list_sales(
    connection: ReadDep, principal: Reader, page: PageDep, enterprise_party_id: IdQuery = None,
    fund_party_id: IdQuery = None, channel: Channel | None = None,
    date_from: Annotated[ClientDate | None, Query(alias="from")] = None,
    date_to: Annotated[ClientDate | None, Query(alias="to")] = None,
) -> dict:  # fmt: skip
    check_range(date_from, date_to)
    filters = {"enterprise_party_id": enterprise_party_id, "fund_party_id": fund_party_id, "channel": channel,
               "date_from": date_from, "date_to": date_to}  # fmt: skip
    rows = welfare.list_sales(connection, filters=filters, only_party=principal.party_id, after=page.after,
                              limit=page.limit)  # fmt: skip
    return {"data": [sale_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


@router.get("/sales/{sale_id}", response_model=SalePublic)
def get_sale(sale_id: IdPath, connection: ReadDep, principal: Reader) -> dict:
    return sale_body(visible_sale(connection, sale_id, principal))


def run_sale_reversal(request: Request, write: WriteRequest, principal: Principal, sale_id: int, *, on: date,
                      reason: str) -> Response:  # fmt: skip
    """Reverse a sale the principal may see and is its enterprise's (or staff's): the audited,
    idempotent write of the API and the pages."""

    def work(connection, now):
        sale = visible_sale(connection, sale_id, principal)
        own(principal, sale["enterprise_party_id"], "sale")
        reversed_ = welfare.reverse_sale(connection, sale_id, on=on, reason=reason, user_id=principal.user_id, now=now)
        body_ = SalePublic.model_validate(sale_body(reversed_))
        return Outcome(body_, f"sale:{sale_id}", 201, reversed_["reversal"]["entry_ids"])

    return perform(request, write, principal, "sale.reverse", work, needs_key=True)


@router.post("/sales/{sale_id}/reversal", status_code=201, response_model=SalePublic)
def reverse_sale(
    sale_id: IdPath, body: SaleReversalCreate, request: Request, write: Write, principal: JournalWriter,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """Correct a sale by reversing it, with its contribution: both its entries are reversed; what
    had been paid for it becomes an advance for the enterprise's later sales. At most once."""
    on = body.effective_date or clock.today()
    not_future(on, clock.today())
    return run_sale_reversal(request, write, principal, sale_id, on=on, reason=body.reason)


# --- settlements -------------------------------------------------------------------------------


def settlement_body(row: dict) -> dict:
    allocations = [money(a, "amount") for a in row["allocations"]]
    reversal = row["reversal"] and money(row["reversal"], "reopened", "advance_taken")
    return {**money(row, "amount", "advance"), "allocations": allocations, "reversal": reversal}


@router.post("/settlements", status_code=201, response_model=SettlementPublic)
def settle(body: SettlementCreate, request: Request, write: Write, principal: Registrar, clock: ClockDep) -> Response:
    """An enterprise pays its contributions to a fund: the payment settles its sales oldest first.
    More than it owes is refused unless `advance` is set: the rest then settles later sales."""
    amount = parse_amount(body.amount)
    not_future(body.effective_date, clock.today())

    def work(connection, now):
        row = welfare.settle(
            connection, enterprise_party_id=body.enterprise_party_id, fund_party_id=body.fund_party_id,
            amount_satang=amount, on=body.effective_date, advance=body.advance, reference=body.reference,
            user_id=principal.user_id, now=now,
        )  # fmt: skip
        body_ = SettlementPublic.model_validate(settlement_body(row))
        return Outcome(body_, f"settlement:{row['id']}", 201, [row["enterprise_entry_id"], row["fund_entry_id"]])

    return perform(request, write, principal, "settlement.record", work, needs_key=True)


@router.get("/settlements", response_model=Page[SettlementPublic])
def list_settlements(
    connection: ReadDep, principal: Reader, page: PageDep, enterprise_party_id: IdQuery = None,
    fund_party_id: IdQuery = None,
) -> dict:  # fmt: skip
    return pair_page(welfare.list_settlements, settlement_body, connection, principal, page,
                     {"enterprise_party_id": enterprise_party_id, "fund_party_id": fund_party_id})  # fmt: skip


def pair_page(lister: Callable, body: Callable[[dict], dict], connection, principal: Principal, page,
              filters: dict) -> dict:  # fmt: skip
    """A page of the rows of an enterprise and a fund (settlements, refunds); a party's own only."""
    rows = lister(connection, filters=filters, only_party=principal.party_id, after=page.after, limit=page.limit)
    return {"data": [body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


@router.post("/settlements/{settlement_id}/reversal", status_code=201, response_model=SettlementPublic)
def reverse_settlement(
    settlement_id: IdPath, body: SettlementReversalCreate, request: Request, write: Write, principal: Registrar,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """Undo a settlement recorded in error (the wrong enterprise, fund or amount), at most once
    and with a reason: both its entries are reversed; the sales it paid are owed again, oldest
    first; its advance leaves the advance accounts. Refused if that advance is already used."""
    on = body.effective_date or clock.today()
    not_future(on, clock.today())

    def work(connection, now):
        row = welfare.reverse_settlement(connection, settlement_id, on=on, reason=body.reason,
                                         user_id=principal.user_id, now=now)  # fmt: skip
        body_ = SettlementPublic.model_validate(settlement_body(row))
        return Outcome(body_, f"settlement:{settlement_id}", 201, row["reversal"]["entry_ids"])

    return perform(request, write, principal, "settlement.reverse", work, needs_key=True)


@router.post("/advance-refunds", status_code=201, response_model=AdvanceRefundPublic)
def refund_advance(
    body: AdvanceRefundCreate, request: Request, write: Write, principal: Registrar, clock: ClockDep
) -> Response:
    """The fund pays back an enterprise's unused advance, in both books: never more than the
    advance it holds less what the enterprise still owes."""
    amount = parse_amount(body.amount)
    not_future(body.effective_date, clock.today())

    def work(connection, now):
        row = welfare.refund_advance(
            connection, enterprise_party_id=body.enterprise_party_id, fund_party_id=body.fund_party_id,
            amount_satang=amount, on=body.effective_date, reference=body.reference, user_id=principal.user_id,
            now=now,
        )  # fmt: skip
        body_ = AdvanceRefundPublic.model_validate(money(row, "amount"))
        return Outcome(body_, f"advance-refund:{row['id']}", 201, [row["enterprise_entry_id"], row["fund_entry_id"]])

    return perform(request, write, principal, "welfare.advance_refund", work, needs_key=True)


@router.get("/advance-refunds", response_model=Page[AdvanceRefundPublic])
def list_refunds(
    connection: ReadDep, principal: Reader, page: PageDep, enterprise_party_id: IdQuery = None,
    fund_party_id: IdQuery = None,
) -> dict:  # fmt: skip
    return pair_page(welfare.list_refunds, lambda r: money(r, "amount"), connection, principal, page,
                     {"enterprise_party_id": enterprise_party_id, "fund_party_id": fund_party_id})  # fmt: skip


# --- a fund's own money ------------------------------------------------------------------------


def fund_post(request: Request, write: Write, principal: Principal, party_id: int, action: str,
              record: Callable[[welfare.FundWrite], dict], public: Callable[[dict], object]) -> Response:  # fmt: skip
    """Write to a fund's own money (a party's token: its own fund only), answering the new row."""
    own(principal, party_id, "welfare fund")

    def work(connection, now):
        row = record(welfare.FundWrite.open(connection, party_id, user_id=principal.user_id, now=now))
        entry_ids = [row["entry_id"], *([row["codi_entry_id"]] if row.get("codi_entry_id") else [])]
        return Outcome(public(row), f"{action}:{row['id']}", 201, entry_ids)

    return perform(request, write, principal, action, work, needs_key=True)


def fund_rows(connection, principal: Principal, party_id: int, table, page) -> list[dict]:
    own(principal, party_id, "welfare fund")
    welfare.fund_book(connection, party_id)
    return welfare.list_fund_rows(connection, table, party_id, after=page.after, limit=page.limit)


def member_body(row: dict) -> MemberContributionPublic:
    return MemberContributionPublic.model_validate(money(row, "amount", "expected"))


@router.post("/welfare-funds/{party_id}/member-contributions", status_code=201,
             response_model=MemberContributionPublic)  # fmt: skip
def record_member_contributions(
    party_id: IdPath, body: MemberContributionCreate, request: Request, write: Write, principal: JournalWriter,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """Members' contributions for a period in one sum with the member count (1 baht a day, paid
    daily, monthly or yearly); what the count owed at the fund's daily rate is kept beside it."""
    amount = parse_amount(body.amount)
    not_future(body.effective_date, clock.today())

    def record(fund: welfare.FundWrite) -> dict:
        return welfare.record_member_contributions(
            fund, on=body.effective_date, period_from=body.period_from, period_to=body.period_to,
            frequency=body.frequency, member_count=body.member_count, amount_satang=amount,
        )  # fmt: skip

    return fund_post(request, write, principal, party_id, "welfare.members", record, member_body)


@router.get("/welfare-funds/{party_id}/member-contributions", response_model=Page[MemberContributionPublic])
def list_member_contributions(party_id: IdPath, connection: ReadDep, principal: Reader, page: PageDep) -> dict:
    rows = fund_rows(connection, principal, party_id, welfare.member_t, page)
    return {"data": [member_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


def matching_body(row: dict) -> MatchingPublic:
    return MatchingPublic.model_validate(money(row, "amount"))


@router.post("/welfare-funds/{party_id}/matching-contributions", status_code=201, response_model=MatchingPublic)
def record_matching(
    party_id: IdPath, body: MatchingCreate, request: Request, write: Write, principal: JournalWriter,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """A matching contribution of a source (local authority, government through CODI, donor):
    `due` when promised, `received` when paid (never more than is due). The government's money
    received `through_codi` is recorded in CODI's fund book too, in the same transaction (staff
    only: a party's token writes in no book but its own)."""
    amount = parse_amount(body.amount)
    not_future(body.effective_date, clock.today())
    if body.through_codi and principal.party_id is not None:
        raise LedgerError(Rejection.forbidden, "only CODI's staff record an entry in CODI's fund book")
    return fund_post(request, write, principal, party_id, "welfare.matching", lambda fund: welfare.record_matching(
        fund, source=body.source, kind=body.kind, amount_satang=amount, on=body.effective_date,
        source_party_id=body.source_party_id, reference=body.reference, through_codi=body.through_codi,
        codi_book_id=body.codi_book_id,
    ), matching_body)  # fmt: skip


@router.get("/welfare-funds/{party_id}/matching-contributions", response_model=MatchingPage)
def list_matching(party_id: IdPath, connection: ReadDep, principal: Reader, page: PageDep) -> dict:
    """Each source's promises and payments reconciled (due, received, outstanding), and the rows."""
    own(principal, party_id, "welfare fund")
    welfare.fund_book(connection, party_id)
    rows = welfare.list_matching(connection, party_id, after=page.after, limit=page.limit)
    sources = [money(s, "due", "received", "outstanding", "received_through_codi")
               for s in welfare.matching_by_source(connection, party_id)]  # fmt: skip
    return {"by_source": sources, "data": [matching_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


def benefit_body(row: dict) -> BenefitPublic:
    return BenefitPublic.model_validate(money(row, "amount"))


@router.post("/welfare-funds/{party_id}/benefits", status_code=201, response_model=BenefitPublic)
def pay_benefit(
    party_id: IdPath, body: BenefitCreate, request: Request, write: Write, principal: JournalWriter,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """A benefit paid (birth, illness, death, old_age, disability, scholarship, disaster) to a
    beneficiary named by a reference into the fund's own register, never by personal details."""
    amount = parse_amount(body.amount)
    not_future(body.effective_date, clock.today())
    return fund_post(request, write, principal, party_id, "welfare.benefit", lambda fund: welfare.pay_benefit(
        fund, benefit=body.benefit_type, beneficiary_ref=body.beneficiary_ref, amount_satang=amount,
        on=body.effective_date,
    ), benefit_body)  # fmt: skip


@router.get("/welfare-funds/{party_id}/benefits", response_model=Page[BenefitPublic])
def list_benefits(party_id: IdPath, connection: ReadDep, principal: Reader, page: PageDep) -> dict:
    rows = fund_rows(connection, principal, party_id, welfare.benefit_t, page)
    return {"data": [benefit_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


def admin_body(row: dict) -> AdminCostPublic:
    return AdminCostPublic.model_validate(money(row, "amount", "cap", "spent_before"))


@router.post("/welfare-funds/{party_id}/administration-costs", status_code=201, response_model=AdminCostPublic)
def record_admin_cost(
    party_id: IdPath, body: AdminCostCreate, request: Request, write: Write, principal: CostRecorder,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """An administration cost, refused if it takes the fiscal year's administration over the
    fund's cap (20 % of its inflows by default) unless an approver gives `override_reason`: the
    audit record's action is then `welfare.administration.override`."""
    amount = parse_amount(body.amount)
    not_future(body.effective_date, clock.today())
    if body.override_reason is not None and principal.role not in APPROVERS:
        raise LedgerError(Rejection.forbidden, "only an approver may override the administration cap")
    action = "welfare.administration" + (".override" if body.override_reason else "")
    return fund_post(request, write, principal, party_id, action, lambda fund: welfare.record_admin_cost(
        fund, amount_satang=amount, on=body.effective_date, description=body.description,
        override_reason=body.override_reason,
    ), admin_body)  # fmt: skip


@router.get("/welfare-funds/{party_id}/administration-costs", response_model=AdminCostsPage)
def list_admin_costs(party_id: IdPath, connection: ReadDep, principal: Reader, page: PageDep, clock: ClockDep) -> dict:
    """The costs, and the cap of the current fiscal year: how much of it is spent and left."""
    rows = fund_rows(connection, principal, party_id, welfare.admin_t, page)
    today = clock.today()
    cap = welfare.admin_cap_on(connection, welfare.fund_book(connection, party_id), today)
    percent = welfare.fund_settings(connection, party_id)["admin_cap_percent"]
    cap_body = {"fiscal_year": fiscal_year_of(today), "cap_percent": str(percent),
                "cap": format_amount(cap.cap_satang), "spent": format_amount(cap.spent_satang),
                "room": format_amount(cap.room_satang())}  # fmt: skip
    return {"cap": cap_body, "data": [admin_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


def settings_body(row: dict) -> dict:
    return {"party_id": row["party_id"], "admin_cap_percent": str(row["admin_cap_percent"]),
            "member_daily": format_amount(row["member_daily_satang"])}  # fmt: skip


@router.post("/welfare-funds/{party_id}/settings", status_code=202, response_model=AdminCommandPublic)
def set_settings(party_id: IdPath, body: FundSettingsUpdate, request: Request, write: Write, principal: Admin):
    """The fund's administration cap (percent of its inflows of a fiscal year) and members' daily
    rate: an admin command, in force once a second admin approves it."""
    cap, daily = parse_rate(body.admin_cap_percent), parse_amount(body.member_daily)
    return propose(request, write, principal, "welfare.settings", lambda _connection: {
        "party_id": party_id, "admin_cap_percent": str(cap), "member_daily_satang": daily})  # fmt: skip


@router.get("/welfare-funds/{party_id}/settings", response_model=FundSettingsPublic)
def get_settings(party_id: IdPath, connection: ReadDep, principal: Reader) -> dict:
    own(principal, party_id, "welfare fund")
    welfare.fund_book(connection, party_id)
    return settings_body(welfare.fund_settings(connection, party_id))


# --- reads -------------------------------------------------------------------------------------


@router.get("/welfare-funds/{party_id}/statement", response_model=FundStatementPublic, responses={200: CSV})
def fund_statement(
    party_id: IdPath, format: CsvFormatDep, connection: ReadDep, principal: Reader,
    date_from: Annotated[ClientDate, Query(alias="from")], date_to: Annotated[ClientDate, Query(alias="to")],
):  # fmt: skip
    """The fund's statement of a period: opening net assets, inflows by source (sales
    contributions by enterprise), benefits by type, administration, other changes, closing."""
    check_range(date_from, date_to)
    own(principal, party_id, "welfare fund")
    s = welfare.fund_statement(connection, party_id, date_from, date_to)
    body = {
        "fund_party_id": party_id, "date_from": date_from, "date_to": date_to,
        "opening_balance": format_amount(s.opening_satang), "closing_balance": format_amount(s.closing_satang),
        "inflows": [{"name": n, "amount": format_amount(x)} for n, x in s.inflows],
        "total_inflows": format_amount(s.total_inflows_satang),
        "sales_contributions_by_enterprise": [{"enterprise_party_id": e or None, "amount": format_amount(x)}
                                              for e, x in s.sales_by_enterprise],
        "outflows": [{"name": n, "amount": format_amount(x)} for n, x in s.outflows],
        "total_outflows": format_amount(s.total_outflows_satang),
        "benefits_by_type": [{"name": n, "amount": format_amount(x)} for n, x in s.benefits_by_type],
        "other_changes": format_amount(s.other_changes_satang),
    }  # fmt: skip
    if format != "csv":
        return body
    rows = [("opening_balance", "", body["opening_balance"])]
    rows += [("inflow", line["name"], line["amount"]) for line in body["inflows"]]
    rows += [("sales_contributions_by_enterprise", line["enterprise_party_id"] or "", line["amount"])
             for line in body["sales_contributions_by_enterprise"]]  # fmt: skip
    rows += [("outflow", line["name"], line["amount"]) for line in body["outflows"]]
    rows += [("benefits_by_type", line["name"], line["amount"]) for line in body["benefits_by_type"]]
    rows += [("other_changes", "", body["other_changes"]), ("closing_balance", "", body["closing_balance"])]
    return csv_response(("section", "name", "amount"), rows, f"welfare-statement-{party_id}-{date_from}-{date_to}.csv")


@router.get("/welfare-funds/{party_id}/receivables", response_model=ReceivablesPublic)
def receivables(
    party_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep, as_of: ClientDate | None = None
) -> dict:
    """What each enterprise owed the fund at the end of `as_of` (default: the business date), by
    the age its sales had then: sales, settlements and reversals dated after it are left out."""
    own(principal, party_id, "welfare fund")
    day = as_of or clock.today()
    rows = welfare.receivables(connection, party_id, day)
    data = [{**money(r, "outstanding"), "by_age": {k: format_amount(v) for k, v in r["buckets"].items()}}
            for r in rows]  # fmt: skip
    total = format_amount(sum(r["outstanding_satang"] for r in rows))
    return {"fund_party_id": party_id, "as_of": day, "total": total, "data": data}


@router.get("/enterprises/{party_id}/sales-summary", response_model=SalesSummaryPublic)
def sales_summary(
    party_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep,
    date_from: Annotated[ClientDate | None, Query(alias="from")] = None,
    date_to: Annotated[ClientDate | None, Query(alias="to")] = None,
) -> dict:  # fmt: skip
    """The enterprise's view: its sales by fund, the contributions they generated, what it has
    paid and what it owes (an enterprise's token: its own only)."""
    own(principal, party_id, "enterprise")
    date_from, date_to = date_from or date.min, date_to or clock.today()
    check_range(date_from, date_to)
    summary = welfare.enterprise_summary(connection, party_id, date_from, date_to)
    names = ("sales", "contributions", "settled", "outstanding", "paid", "refunded", "advance_held")
    return {**summary, "by_fund": [money(r, *names) for r in summary["by_fund"]]}


@router.get("/programme-totals", response_model=ProgrammeTotalsPublic)
def programme_totals(
    connection: ReadDep, principal: Staff, date_from: Annotated[ClientDate, Query(alias="from")],
    date_to: Annotated[ClientDate, Query(alias="to")], channel: Channel | None = None,
) -> dict:  # fmt: skip
    """Contributions generated by all enterprises (through one channel, or all), in all and by
    region, province and incubation centre."""
    check_range(date_from, date_to)
    totals = welfare.programme_totals(connection, date_from=date_from, date_to=date_to, channel=channel)

    def rows(items: list[dict]) -> list[dict]:
        return [money(r, "sales", "contributions") for r in items]

    return {**totals, "total": rows([totals["total"]])[0], "by_region": rows(totals["by_region"]),
            "by_province": rows(totals["by_province"]), "by_centre": rows(totals["by_centre"])}  # fmt: skip
