"""The fund officer's parties: the list (paged, filtered by kind, region, province, district,
centre, organisation (an organisation's members) and a part of the name), registering one,
changing one, and a party's page: its organisation or members, books, loans, share registers
and welfare contributions, and its personal data as the PDPA export gives it. Kinds, regions
and fields are named in the page's language by ledger.parties, as the export names them.

Officers, approvers and admins see them; officers and admins write, as the API allows
(REGISTRARS). Every figure and write is the API's: `books.list_parties` (GET /v1/parties with
the same filters), the party's creation and change (POST /v1/parties, PATCH /v1/parties/{id},
the same audited write under the form's idempotency key) and the export itself
(`api.routes.personal.export_party`, GET /v1/parties/{id}/export: national IDs masked for every
role but admin, exactly as the API masks them).
"""

import json
from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse

from api.context import REGISTRARS, check_role
from api.pages import PageDep, next_cursor
from api.routes import personal
from api.routes.registry import create_party, party_body, update_party
from api.schemas import IdPath
from api.writes import form_write
from ledger.errors import LedgerError, Rejection
from ledger.parties import FIELD_LABELS, PartyKind, Region
from store import books
from store.users import Principal
from web import party_form
from web.i18n import N_, language_of
from web.party_form import Typed
from web.routes import page_router
from web.session import PagePrincipal
from web.templating import render

router = page_router()
OFFICE_ROLES = frozenset({"officer", "approver", "admin"})
MAX_CENTRES = 500  # the incubation centres offered in the form (58 today)
MAX_ROWS_SHOWN = 20  # of each kind of record on a party's page; the export has them all
Kind = Annotated[PartyKind | Literal[""], Query()]
RegionQuery = Annotated[Region | Literal[""], Query()]
Province = Annotated[str, Query(max_length=80)]
CentreQuery = Annotated[int | Literal[""], Query(ge=1, le=2**31 - 1)]
NameQuery = Annotated[str, Query(max_length=books.MAX_NAME_SEARCH)]
LOAN_STATUSES = {
    "applied": N_("Waiting for approval"), "approved": N_("Approved, not yet paid out"), "active": N_("Running"),
    "closed": N_("Repaid"), "written_off": N_("Written off"), "rejected": N_("Turned down"),
    "withdrawn": N_("Withdrawn"), "cancelled": N_("Cancelled"),
}  # fmt: skip


def office(principal: Principal) -> Principal:
    """Officers, approvers and admins: the staff who deal with parties; others 403."""
    return check_role(principal, OFFICE_ROLES)


def registrar(principal: Principal) -> Principal:
    """The API's rule for registering and changing parties (`Registrar`): officers and admins."""
    return check_role(principal, REGISTRARS)


@router.get("/office/parties")
def parties(request: Request, principal: PagePrincipal, page: PageDep, kind: Kind = "", region: RegionQuery = "",
            province: Province = "", district: Province = "", centre_id: CentreQuery = "",
            member_of: CentreQuery = "", name: NameQuery = ""):  # fmt: skip
    office(principal)
    chosen = {"kind": kind or None, "region": region or None, "province": province.strip() or None,
              "district": district.strip() or None, "centre_id": centre_id or None, "member_of": member_of or None,
              "name": name.strip() or None}  # fmt: skip
    with request.app.state.db.read() as connection:
        rows = books.list_parties(connection, only_party=None, after=page.after, limit=page.limit, filters=chosen)
        centres = _centres(connection)
    more = next_cursor(rows, page)
    query = {k: v for k, v in chosen.items() if v is not None}
    return render(request, "office_parties.html", parties=[party_body(r, principal) for r in rows],
                  chosen=chosen, next_query={**query, "cursor": more} if more else None, centres=centres,
                  may_write=principal.role in REGISTRARS, **_labels(request))  # fmt: skip


def _labels(request: Request) -> dict:
    """The kinds and regions to choose from, and their names by value, in the page's language."""
    words = party_form.choices(language_of(request))
    return {**words, "kind_names": dict(words["kinds"]), "region_names": dict(words["regions"])}


def _centres(connection) -> dict[int, dict]:
    rows = books.list_parties(connection, only_party=None, after=0, limit=MAX_CENTRES,
                              filters={"kind": PartyKind.incubation_centre})  # fmt: skip
    return {r["id"]: r for r in rows}


# --- registering and changing a party ------------------------------------------------------------


@router.get("/office/parties/new")
def new_party(request: Request, principal: PagePrincipal):
    registrar(principal)
    return _form(request, None, party_form.blank(), [])


@router.post("/office/parties/new")
def register_party(request: Request, principal: PagePrincipal, typed: Typed):
    registrar(principal)
    body, errors = party_form.read_new(typed)
    if errors:
        return _form(request, None, typed, errors)
    try:
        write = form_write(request, typed["key"] or None, party_form.write_fields(body))
        answer = create_party(body, request, write, principal)
    except LedgerError as error:
        return _refused(request, None, typed, error)
    return RedirectResponse(f"/office/parties/{_id_of(answer)}?saved=1", 303)


@router.get("/office/parties/{party_id}/edit")
def edit_party(request: Request, principal: PagePrincipal, party_id: IdPath):
    registrar(principal)
    with request.app.state.db.read() as connection:
        party = party_body(books.get_party(connection, party_id), principal)
    return _form(request, party, party_form.of_party(party), [])


@router.post("/office/parties/{party_id}/edit")
def change_party(request: Request, principal: PagePrincipal, party_id: IdPath, typed: Typed):
    registrar(principal)
    with request.app.state.db.read() as connection:
        party = party_body(books.get_party(connection, party_id), principal)
    body, errors = party_form.read_changes(typed)
    if errors:
        return _form(request, party, typed, errors)
    try:
        write = form_write(request, typed["key"] or None, party_form.write_fields(body))
        update_party(party_id, body, request, write, principal)
    except LedgerError as error:
        return _refused(request, party, typed, error)
    return RedirectResponse(f"/office/parties/{party_id}?saved=1", 303)


def _id_of(answer) -> int:
    return int(json.loads(answer.body)["id"])


def _form(request: Request, party: dict | None, typed: dict, errors: list, status: int | None = None):
    with request.app.state.db.read() as connection:
        centres = _centres(connection)
    status = status or (422 if errors else 200)
    return render(request, "office_party_form.html", status, party=party, typed=typed, errors=errors,
                  error_of=dict(errors), centres=centres, **_labels(request))  # fmt: skip


def _refused(request: Request, party: dict | None, typed: dict, error: LedgerError):
    found = party_form.refusal(error, typed)
    if found is None:
        raise error
    conflicts = (Rejection.idempotency_key_reused, Rejection.duplicate_national_id, Rejection.organisation_has_members)
    status = 409 if error.reason in conflicts else 422
    return _form(request, party, typed, [found], status)


# --- a party's page ------------------------------------------------------------------------------


@router.get("/office/parties/{party_id}")
def party_page(request: Request, principal: PagePrincipal, party_id: IdPath):
    office(principal)
    with request.app.state.db.read() as connection:
        export = personal.export_party(party_id, connection, principal, request.app.state.clock)
        party = export["party"]
        centre = party["centre_id"] and books.get_party(connection, party["centre_id"])
        organisation = party["member_of"] and books.get_party(connection, party["member_of"])
        has_members = bool(books.list_parties(connection, only_party=None, after=0, limit=1,
                                              filters={"member_of": party_id}))  # fmt: skip
        registers = _share_registers(export["records"])
        names = _names(connection, registers | _welfare_parties(export["records"]))
    records = export["records"]
    return render(request, "office_party.html", party=party, centre=centre, organisation=organisation,
                  has_members=has_members, export=export, field_names=_field_names(request),
                  books=[b for b in records.get("book", []) if b["party_id"] == party_id],
                  loans=[loan for loan in records.get("loan", []) if loan["borrower_party_id"] == party_id],
                  registers=sorted(registers), names=names, contributions=_contributions(records),
                  members=records.get("welfare_member_contribution", [])[-MAX_ROWS_SHOWN:],
                  shown=MAX_ROWS_SHOWN, loan_statuses=LOAN_STATUSES, **_labels(request),
                  may_write=principal.role in REGISTRARS, saved=bool(request.query_params.get("saved")))  # fmt: skip


def _field_names(request: Request) -> dict[str, str]:
    """A party's fields by name, in the page's language (the export's own words)."""
    lang = language_of(request)
    return {name: label.in_language(lang) for name, label in FIELD_LABELS.items()}


def _share_registers(records: dict) -> set[int]:
    """The enterprises whose share register names the party: its own, and those it holds in."""
    rows = records.get("share_class", []) + records.get("register_event", [])
    return {row["enterprise_party_id"] for row in rows}


def _welfare_parties(records: dict) -> set[int]:
    """The enterprises and funds of the welfare sales that name the party."""
    rows = records.get("welfare_sale", [])
    return {r["enterprise_party_id"] for r in rows} | {r["fund_party_id"] for r in rows if r["fund_party_id"]}


def _contributions(records: dict) -> list[dict]:
    """The welfare contributions its sales took, or its fund received: the latest first."""
    sales = [s for s in records.get("welfare_sale", []) if s["contribution_satang"]]
    return sorted(sales, key=lambda s: (s["effective_date"], s["id"]), reverse=True)[:MAX_ROWS_SHOWN]


def _names(connection, party_ids: set[int]) -> dict[int, dict]:
    return {i: books.get_party(connection, i) for i in party_ids}


@router.get("/office/parties/{party_id}/export.json")
def party_export(request: Request, principal: PagePrincipal, party_id: IdPath):
    """The API's export of the party (GET /v1/parties/{id}/export), to keep as a file."""
    office(principal)
    with request.app.state.db.read() as connection:
        export = personal.export_party(party_id, connection, principal, request.app.state.clock)
    headers = {"Content-Disposition": f'attachment; filename="party-{party_id}.json"'}
    return JSONResponse(jsonable_encoder(personal.PartyExport.model_validate(export)), headers=headers)
