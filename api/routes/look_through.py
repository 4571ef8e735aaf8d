"""CODI's look-through of the organisations it lends to (`ledger.look_through`), and a member's
own summary.

Who reads what: CODI's staff (officer, approver, admin, auditor) read every organisation's line
and the roll-ups by region, province, incubation centre and programme. An organisation's own
token (role enterprise, bound to the organisation) reads its own line only; another
organisation's is answered as one that keeps no book. A member's token is the same role bound to
the member's party: it reads its own summary (savings and loans) and nothing of any other
member; the organisation's token reads its members' summaries.
"""

from collections import Counter
from datetime import date
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from api import report_tables
from api.context import ClockDep, ReadDep, Reader
from api.formats import table_response
from api.routes.reports import FORMATS, Output
from api.schemas import ClientDate, IdPath, IdQuery
from ledger.loans import loan_class
from ledger.look_through import DIMENSIONS, Figures, group_keys, roll_up, share_percent, total
from ledger.money import format_amount
from ledger.parties import region_label
from ledger.tabular import Label
from store import books
from store import look_through as figures_of
from store.books import party_t
from store.users import Principal

router = APIRouter(prefix="/v1")


class MonthFigures(BaseModel):
    month: date
    due: str
    collected: str
    collection_percent: Decimal | None


class LookThroughFigures(BaseModel):
    members: int
    loans: int
    outstanding: str
    arrears: str
    over_30: str
    over_90: str
    par30_percent: Decimal | None
    par90_percent: Decimal | None
    months: list[MonthFigures]
    due: str
    collected: str
    collection_percent: Decimal | None
    margin: str
    surplus: str
    reserve: str


class OrganisationLine(LookThroughFigures):
    organisation_id: int
    book_id: int
    name_th: str
    name_en: str | None
    region: str | None
    province: str | None
    centre_id: int | None
    programmes: list[str]


class GroupLine(LookThroughFigures):
    key: str | None
    name_th: str | None
    name_en: str | None
    organisations: int


class LookThroughReport(BaseModel):
    as_of: date
    fiscal_year: int
    organisations: list[OrganisationLine]
    groups: dict[str, list[GroupLine]]
    total: LookThroughFigures


def figures_body(f: Figures, months: list[date]) -> dict:
    due, collected = sum(f.due_satang), sum(f.collected_satang)
    money = {name: format_amount(getattr(f, f"{name}_satang"))
             for name in ("outstanding", "arrears", "over_30", "over_90", "margin", "surplus", "reserve")}  # fmt: skip
    return {
        **money, "members": f.members, "loans": f.loans, "par30_percent": f.par30_percent,
        "par90_percent": f.par90_percent, "due": format_amount(due), "collected": format_amount(collected),
        "collection_percent": share_percent(collected, due),
        "months": [{"month": m, "due": format_amount(d), "collected": format_amount(c), "collection_percent": p}
                   for m, d, c, p in zip(months, f.due_satang, f.collected_satang, f.collection_percent(),
                                         strict=True)],
    }  # fmt: skip


def group_lines(connection, lines: list[tuple[dict, Figures]]) -> dict[str, list[tuple[dict, Figures]]]:
    """Each dimension's groups, in key order (the unassigned last), each named and counted."""
    centres = _centre_names(connection, {org["centre_id"] for org, _ in lines} - {None})
    result = {}
    for dimension in DIMENSIONS:
        keys = group_keys(dimension)
        counts = Counter(k for org, _ in lines for k in keys(org))
        groups = roll_up(lines, keys)
        result[dimension] = [
            ({"key": None if k is None else str(k), "organisations": counts[k],
              **_group_name(dimension, k, centres)}, groups[k])
            for k in sorted(groups, key=lambda k: (k is None, k))
        ]  # fmt: skip
    return result


def _group_name(dimension: str, key, centres: dict[int, dict]) -> dict:
    if key is None:
        return {"name_th": None, "name_en": None}
    if dimension == "centre":
        return centres[key]
    label = region_label(key) if dimension == "region" else Label(key, key)
    return {"name_th": label.th, "name_en": label.en}


def _centre_names(connection, centre_ids: set[int]) -> dict[int, dict]:
    query = select(party_t.c.id, party_t.c.name_th, party_t.c.name_en).where(party_t.c.id.in_(centre_ids))
    return {r["id"]: {"name_th": r["name_th"], "name_en": r["name_en"]} for r in connection.execute(query).mappings()}


def _chosen(principal: Principal, organisation_id: int | None) -> int | None:
    """The organisation asked for: a party's token may ask only for its own (and gets it)."""
    chosen = organisation_id or principal.party_id
    if principal.party_id not in (None, chosen):
        raise books.not_found("organisation book of party", chosen)
    return chosen


@router.get("/reports/look-through", response_model=LookThroughReport, responses={200: FORMATS}, tags=["reports"])
def look_through_report(
    output: Output, connection: ReadDep, principal: Reader, clock: ClockDep, as_of: ClientDate | None = None,
    organisation_id: IdQuery = None,
):  # fmt: skip
    """ติดตามสมาชิกผ่านองค์กร: for each organisation keeping its own book, its members' loans
    outstanding and in arrears, member-level PAR30 and PAR90, the collection rate (collected ÷
    due) of each month of the fiscal year to `as_of` (default today), its margin over that
    period (4100 less 5100), its accumulated surplus (3300) and reserve (3200); and the same
    rolled up by region, province, incubation centre and programme, each group the exact sum of
    its organisations (its ratios from its sums). Percentages: two places, half-up; none when
    nothing is owed or due. An organisation's token sees its own line only, without roll-ups."""
    day = as_of or clock.today()
    chosen = _chosen(principal, organisation_id)
    lines = figures_of.look_through(connection, day, chosen)
    if organisation_id is not None and not lines:
        raise books.not_found("organisation book of party", organisation_id)
    months = figures_of.fiscal_months(day)
    groups = group_lines(connection, lines) if chosen is None else {}
    everything = total(f for _, f in lines) + Figures(due_satang=(0,) * len(months),
                                                     collected_satang=(0,) * len(months))  # fmt: skip
    fmt, lang = output
    if fmt != "json":
        return table_response(report_tables.look_through(day, months, lines, groups, everything), fmt, lang)
    return {
        "as_of": day, "fiscal_year": figures_of.fiscal_year_of(day),
        "organisations": [{**figures_body(f, months), "organisation_id": org["id"], **_organisation(org)}
                          for org, f in lines],
        "groups": {d: [{**g, **figures_body(f, months)} for g, f in rows] for d, rows in groups.items()},
        "total": figures_body(everything, months),
    }  # fmt: skip


def _organisation(org: dict) -> dict:
    names = ("book_id", "name_th", "name_en", "region", "province", "centre_id", "programmes")
    return {name: org[name] for name in names}


# --- a member's own summary ----------------------------------------------------------------------


class MemberLoanLine(BaseModel):
    loan_id: int
    status: str
    amount: str
    outstanding: str
    days_past_due: int
    loan_class: str
    due_to_date: str
    repaid_to_date: str


class MemberSummary(BaseModel):
    member_id: int
    organisation_id: int
    name_th: str
    name_en: str | None
    as_of: date
    savings: str
    loans: list[MemberLoanLine]


def _loan_line(loan: dict) -> dict:
    f = loan["figures"]
    return {
        "loan_id": loan["id"], "status": loan["status"], "amount": format_amount(loan["amount_satang"]),
        "outstanding": format_amount(f.outstanding_satang), "days_past_due": f.days_past_due,
        "loan_class": loan_class(f.days_past_due).value, "due_to_date": format_amount(sum(a for _, a in f.dues)),
        "repaid_to_date": format_amount(sum(a for _, a in f.repayments)),
    }  # fmt: skip


@router.get("/members/{member_id}/summary", response_model=MemberSummary, tags=["parties"])
def member_summary(member_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep,
                   as_of: ClientDate | None = None) -> dict:  # fmt: skip
    """A member's savings (its account 2200-<member> in its organisation's book) and its loans
    from the organisation at the end of `as_of` (default today). A member's token reads its own
    only, the organisation's token its members'; any other member is answered as unknown."""
    day = as_of or clock.today()
    person = figures_of.member(connection, member_id, principal.party_id)
    book = figures_of.member_book(connection, person["member_of"])
    savings = figures_of.savings_of(connection, book["id"], member_id, day) if book else 0
    loans = figures_of.member_loans(connection, book["id"], day, borrower=member_id) if book else []
    return {
        "member_id": member_id, "organisation_id": person["member_of"], "name_th": person["name_th"],
        "name_en": person["name_en"], "as_of": day, "savings": format_amount(savings),
        "loans": [_loan_line(loan) for loan in loans],
    }  # fmt: skip
