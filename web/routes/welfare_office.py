"""The fund officer's welfare-fund pages: the funds, one fund's receivables by enterprise with
their ageing, its money by source (members, local authority, CODI) with a chart, its benefits
by type and the administration cap with how much of it is used; the contribution rules (list,
make, end) and the settlements (list, record, reverse with a reason).

Every figure and write is the API's: `welfare.receivables` (GET /v1/welfare-funds/{id}/
receivables), `welfare.fund_statement` and `welfare.matching_by_source` (its statement and its
matching contributions), `welfare.list_fund_rows` of benefits, `welfare.admin_cap_on`; the forms
post through the API's own routes (POST /v1/contribution-rules, /contribution-rules/{id}/end,
/settlements, /settlements/{id}/reversal) as the same audited write under the form's key, and
a change of the cap is the API's admin command (POST /v1/welfare-funds/{id}/settings), which
a second admin approves.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from api.context import ADMINS, REGISTRARS
from api.pages import PageDep, next_cursor
from api.routes import welfare as api
from api.schemas import IdPath
from api.welfare_schemas import FundSettingsUpdate, RuleCreate, RuleEnd, SettlementCreate, SettlementReversalCreate
from api.writes import form_write
from ledger.calendar import fiscal_year_bounds, fiscal_year_of, page_form
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount
from ledger.welfare import Channel, age_buckets
from store import books, welfare
from store.users import Principal
from web import chart
from web.forms import read_date
from web.i18n import N_, language_of, translations
from web.office_form import FormField, OfficeForm, status_of, typed_of
from web.routes import page_router
from web.routes.investments import PageStaff
from web.session import page_role
from web.templating import render

router = page_router()
PageRegistrar = Annotated[Principal, Depends(page_role(REGISTRARS))]
PageAdmin = Annotated[Principal, Depends(page_role(ADMINS))]
IdFilter = Annotated[int | None, Query(ge=1)]
SOURCES = {"members": N_("Members"), "local_authority": N_("Local authority"), "government": N_("CODI (government)"),
           "sales_contributions": N_("Contributions from sales"), "donations": N_("Donations"),
           "other_income": N_("Other income")}  # fmt: skip
MATCHING_SOURCES = {"local_authority": N_("Local authority"), "government": N_("CODI (government)"),
                    "donor": N_("Donor")}  # fmt: skip
BENEFITS = {"birth": N_("Birth"), "illness": N_("Illness"), "death": N_("Death"), "old_age": N_("Old age"),
            "disability": N_("Disability"), "scholarship": N_("Scholarship"), "disaster": N_("Disaster"),
            "other": N_("Other")}  # fmt: skip
CHANNELS = (("", N_("Every way of selling")), (Channel.market.value, N_("At a market or a fair")),
            (Channel.online_shop.value, N_("In an online shop")),
            (Channel.retailer.value, N_("Through a shop that sells for us")))  # fmt: skip
ENTERPRISE = FormField("enterprise_party_id", "party", N_("Enterprise's party number"))
FUND = FormField("fund_party_id", "party", N_("Welfare fund's party number"))
RULE = OfficeForm("rule", N_("Make a contribution rule"), N_("Make the rule"), (
    ENTERPRISE, FUND, FormField("rate_percent", "percent", N_("Share of each sale to the fund, in percent")),
    FormField("channel", "choice", N_("Way of selling"), options=CHANNELS, optional=True),
    FormField("effective_from", "date", N_("From")), FormField("effective_to", "date", N_("To"),
                                                               N_("Leave empty: until further notice"), optional=True),
), {Rejection.overlapping_rules: "effective_from", Rejection.not_found: "enterprise_party_id",
    Rejection.invalid_date_range: "effective_to", Rejection.rate_out_of_range: "rate_percent"})  # fmt: skip
RULE_END = OfficeForm("rule-end", N_("End the rule"), N_("End the rule"), (
    FormField("effective_to", "date", N_("Last day it applies")),))  # fmt: skip
SETTLEMENT = OfficeForm("settlement", N_("Record a payment to a fund"), N_("Record the payment"), (
    ENTERPRISE, FUND, FormField("amount", "amount", N_("Amount paid, in baht")),
    FormField("effective_date", "date", N_("Paid on")),
    FormField("advance", "flag", N_("If it is more than the enterprise owes"), options=(
        ("no", N_("Refuse it")), ("yes", N_("Keep the rest for later sales")))),
    FormField("reference", "text", N_("Receipt or reference"), optional=True),
), {Rejection.settlement_exceeds_owed: "amount", Rejection.not_found: "enterprise_party_id",
    Rejection.date_in_future: "effective_date", Rejection.period_closed: "effective_date"})  # fmt: skip
SETTLEMENT_REVERSAL = OfficeForm("settlement-reversal", N_("Reverse the payment"), N_("Reverse the payment"), (
    FormField("reason", "text", N_("Why is it reversed?"), N_("For example: the wrong enterprise or amount")),
), {Rejection.already_reversed: "reason", Rejection.settlement_advance_used: "reason"})  # fmt: skip
CAP = OfficeForm("cap", N_("Propose another administration cap"), N_("Propose it to a second admin"), (
    FormField("admin_cap_percent", "percent", N_("Administration cap, in percent of the year's income")),
    FormField("member_daily", "amount", N_("What a member pays a day, in baht")),
))  # fmt: skip


def _post(request: Request, form: OfficeForm, typed: dict, body_type: type[BaseModel], target: dict,
          call: Callable) -> tuple[object | None, list, int]:  # fmt: skip
    """Read the form into the API's body and run the API's route with it under the form's key:
    its answer, or the errors to show and their status."""
    values, errors = form.read(typed)
    if errors:
        return None, errors, 422
    body = body_type.model_validate(form.api_values(values))
    write = form_write(request, typed["key"], {**target, **body.model_dump()})
    try:
        return call(body, write), [], 200
    except LedgerError as error:
        if error.reason == Rejection.forbidden:
            raise
        return None, [form.refusal(error)], status_of(error)


# --- the funds, and one fund ---------------------------------------------------------------------


@router.get("/office/welfare")
def funds(request: Request, principal: PageStaff, page: PageDep):
    with request.app.state.db.read() as connection:
        rows = books.list_books(connection, only_party=None, after=page.after, limit=page.limit)
    return render(request, "welfare_funds.html", funds=[b for b in rows if b["kind"] == "welfare_fund"],
                  next_cursor=next_cursor(rows, page))  # fmt: skip


@router.get("/office/welfare/funds/{fund_id}")
def fund(request: Request, principal: PageStaff, fund_id: IdPath, page: PageDep,
         as_of: Annotated[str, Query(max_length=40)] = "", proposed: str = ""):  # fmt: skip
    return _fund_page(request, principal, fund_id, page, as_of, proposed=bool(proposed))


def _fund_page(request: Request, principal: Principal, fund_id: int, page, as_of: str = "", *, proposed=False,
               cap_typed: dict | None = None, cap_errors: list | None = None, status: int | None = None):  # fmt: skip
    today = request.app.state.clock.today()
    day, date_error = read_date(as_of) if as_of.strip() else (today, None)
    day = day or today
    year = fiscal_year_of(today)
    with request.app.state.db.read() as connection:
        api.own(principal, fund_id, "welfare fund")
        book = welfare.fund_book(connection, fund_id)
        receivables = welfare.receivables(connection, fund_id, day)
        names = {r["enterprise_party_id"]: books.get_party(connection, r["enterprise_party_id"])["name_th"]
                 for r in receivables}  # fmt: skip
        statement = welfare.fund_statement(connection, fund_id, fiscal_year_bounds(year)[0], today)
        matching = welfare.matching_by_source(connection, fund_id)
        benefits = welfare.list_fund_rows(connection, welfare.benefit_t, fund_id, after=page.after, limit=page.limit)
        cap = welfare.admin_cap_on(connection, book, today)
        settings = welfare.fund_settings(connection, fund_id)
    text = translations(language_of(request))
    bars = chart.labelled_bars([(text.gettext(SOURCES[name]), satang, format_amount(satang, grouped=True))
                                for name, satang in statement.inflows if name in SOURCES])  # fmt: skip
    cap_typed = cap_typed or CAP.blank(admin_cap_percent=str(settings["admin_cap_percent"]),
                                       member_daily=format_amount(settings["member_daily_satang"]))  # fmt: skip
    return render(request, "welfare_fund.html", status or (422 if date_error else 200), book=book, fund_id=fund_id,
                  receivables=receivables, names=names, buckets=age_buckets(), day=day, as_of=as_of or page_form(day),
                  date_error=date_error, statement=statement, sources=SOURCES, bars=bars, year=year,
                  matching=matching, matching_sources=MATCHING_SOURCES, benefits=benefits, benefit_names=BENEFITS,
                  benefits_cursor=next_cursor(benefits, page), cap=cap, settings=settings, proposed=proposed,
                  may_propose=principal.role in ADMINS, cap_form=CAP, cap_typed=cap_typed,
                  cap_errors=cap_errors or [])  # fmt: skip


@router.post("/office/welfare/funds/{fund_id}/settings")
async def propose_cap(request: Request, principal: PageAdmin, fund_id: IdPath, page: PageDep):
    """The cap's change, proposed as the API's admin command: in force once a second admin approves."""
    typed = await typed_of(request, CAP)
    with request.app.state.db.read() as connection:
        welfare.fund_book(connection, fund_id)
    _, errors, status = _post(request, CAP, typed, FundSettingsUpdate, {"fund": fund_id},
                              lambda body, write: api.set_settings(fund_id, body, request, write, principal))
    if errors:
        return _fund_page(request, principal, fund_id, page, cap_typed=typed, cap_errors=errors, status=status)
    return RedirectResponse(f"/office/welfare/funds/{fund_id}?proposed=1", 303)


# --- contribution rules --------------------------------------------------------------------------


@router.get("/office/welfare/rules")
def rules(request: Request, principal: PageStaff, page: PageDep, enterprise: IdFilter = None, fund: IdFilter = None,
          done: str = ""):  # fmt: skip
    today = page_form(request.app.state.clock.today())
    return _rules_page(request, principal, page, enterprise, fund, RULE.blank(effective_from=today), [], done=done)


def _rules_page(request: Request, principal: Principal, page, enterprise, fund, typed, errors, status=None, done=""):
    filters = {"enterprise_party_id": enterprise, "fund_party_id": fund}
    with request.app.state.db.read() as connection:
        rows = welfare.list_rules(connection, filters=filters, only_party=None, after=page.after, limit=page.limit)
        ids = {r[k] for r in rows for k in ("enterprise_party_id", "fund_party_id")}
        names = {i: books.get_party(connection, i)["name_th"] for i in ids}
    return render(request, "welfare_rules.html", status or (422 if errors else 200), rules=rows, names=names,
                  filters={"enterprise": enterprise, "fund": fund}, next_cursor=next_cursor(rows, page),
                  channels=dict(CHANNELS), may_write=principal.role in REGISTRARS, form=RULE, typed=typed,
                  errors=errors, done=done[:10])  # fmt: skip


@router.post("/office/welfare/rules")
async def make_rule(request: Request, principal: PageRegistrar, page: PageDep):
    typed = await typed_of(request, RULE)
    _, errors, status = _post(request, RULE, typed, RuleCreate, {},
                              lambda body, write: api.create_rule(body, request, write, principal))  # fmt: skip
    if errors:
        return _rules_page(request, principal, page, None, None, typed, errors, status)
    return RedirectResponse("/office/welfare/rules?done=made", 303)


@router.get("/office/welfare/rules/{rule_id}/end")
def rule_end_form(request: Request, principal: PageRegistrar, rule_id: IdPath):
    typed = RULE_END.blank(effective_to=page_form(request.app.state.clock.today()))
    return _rule_end_page(request, rule_id, typed, [])


@router.post("/office/welfare/rules/{rule_id}/end")
async def end_rule(request: Request, principal: PageRegistrar, rule_id: IdPath):
    typed = await typed_of(request, RULE_END)
    _, errors, status = _post(request, RULE_END, typed, RuleEnd, {"rule_id": rule_id},
                              lambda body, write: api.end_rule(rule_id, body, request, write, principal))
    if errors:
        return _rule_end_page(request, rule_id, typed, errors, status)
    return RedirectResponse("/office/welfare/rules?done=ended", 303)


def _rule_end_page(request: Request, rule_id: int, typed: dict, errors: list, status: int | None = None):
    with request.app.state.db.read() as connection:
        rule = welfare.get_rule(connection, rule_id)
    return render(request, "welfare_form.html", status or (422 if errors else 200), form=RULE_END, typed=typed,
                  errors=errors, action=f"/office/welfare/rules/{rule_id}/end", back="/office/welfare/rules",
                  about=rule)  # fmt: skip


# --- settlements ---------------------------------------------------------------------------------


@router.get("/office/welfare/settlements")
def settlements(request: Request, principal: PageStaff, page: PageDep, enterprise: IdFilter = None,
                fund: IdFilter = None, done: str = ""):  # fmt: skip
    typed = SETTLEMENT.blank(effective_date=page_form(request.app.state.clock.today()), enterprise_party_id=str(
        enterprise or ""), fund_party_id=str(fund or ""))  # fmt: skip
    return _settlements_page(request, principal, page, enterprise, fund, typed, [], done=done)


def _settlements_page(request: Request, principal: Principal, page, enterprise, fund, typed, errors, status=None,
                      done=""):  # fmt: skip
    filters = {"enterprise_party_id": enterprise, "fund_party_id": fund}
    with request.app.state.db.read() as connection:
        rows = welfare.list_settlements(connection, filters=filters, only_party=None, after=page.after,
                                        limit=page.limit)  # fmt: skip
        ids = {r[k] for r in rows for k in ("enterprise_party_id", "fund_party_id")}
        names = {i: books.get_party(connection, i)["name_th"] for i in ids}
    return render(request, "welfare_settlements.html", status or (422 if errors else 200), settlements=rows,
                  names=names, filters={"enterprise": enterprise, "fund": fund}, next_cursor=next_cursor(rows, page),
                  may_write=principal.role in REGISTRARS, form=SETTLEMENT, typed=typed, errors=errors,
                  done=done[:10])  # fmt: skip


@router.post("/office/welfare/settlements")
async def settle(request: Request, principal: PageRegistrar, page: PageDep):
    typed = await typed_of(request, SETTLEMENT)
    _, errors, status = _post(request, SETTLEMENT, typed, SettlementCreate, {}, lambda body, write: api.settle(
        body, request, write, principal, request.app.state.clock))  # fmt: skip
    if errors:
        return _settlements_page(request, principal, page, None, None, typed, errors, status)
    return RedirectResponse("/office/welfare/settlements?done=recorded", 303)


@router.get("/office/welfare/settlements/{settlement_id}/reversal")
def reversal_form(request: Request, principal: PageRegistrar, settlement_id: IdPath):
    return _reversal_page(request, settlement_id, SETTLEMENT_REVERSAL.blank(), [])


@router.post("/office/welfare/settlements/{settlement_id}/reversal")
async def reverse(request: Request, principal: PageRegistrar, settlement_id: IdPath):
    """The reversal, dated today, with its reason: the API's route under the form's key."""
    typed = await typed_of(request, SETTLEMENT_REVERSAL)
    _, errors, status = _post(request, SETTLEMENT_REVERSAL, typed, SettlementReversalCreate,
                              {"settlement_id": settlement_id}, lambda body, write: api.reverse_settlement(
                                  settlement_id, body, request, write, principal, request.app.state.clock))  # fmt: skip
    if errors:
        return _reversal_page(request, settlement_id, typed, errors, status)
    return RedirectResponse("/office/welfare/settlements?done=reversed", 303)


def _reversal_page(request: Request, settlement_id: int, typed: dict, errors: list, status: int | None = None):
    with request.app.state.db.read() as connection:
        settlement = welfare.get_settlement(connection, settlement_id)
    return render(request, "welfare_form.html", status or (422 if errors else 200), form=SETTLEMENT_REVERSAL,
                  typed=typed, errors=errors, action=f"/office/welfare/settlements/{settlement_id}/reversal",
                  back="/office/welfare/settlements", about=settlement)  # fmt: skip
