"""Parties, books and accounts."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.context import ADMINS, ReadDep, Reader, Registrar, RoleRefusal
from api.pages import PageDep, next_cursor
from api.personal import shown
from api.render import account_body
from api.schemas import (
    AccountCreate,
    AccountPublic,
    BookCreate,
    BookPublic,
    IdPath,
    IdQuery,
    Page,
    PartyCreate,
    PartyKind,
    PartyPublic,
    PartyUpdate,
    Region,
)  # fmt: skip
from api.writes import Outcome, Write, perform
from ledger.reports import rolled_up
from store import books
from store.users import Principal

router = APIRouter(prefix="/v1")


@router.post("/parties", status_code=201, response_model=PartyPublic, tags=["parties"])
def create_party(body: PartyCreate, request: Request, write: Write, principal: Registrar) -> Response:
    """A national ID another party has is refused (409 duplicate_national_id) unless an admin
    marks the party `known_duplicate`, which the audit record's action names. A `member` names
    the organisation it belongs to (`member_of`: a savings group, housing cooperative, network,
    community enterprise or welfare fund); no other kind has one (422 invalid_member_of)."""
    if body.known_duplicate and principal.role != "admin":
        raise RoleRefusal(principal.role, ADMINS, "register a known duplicate national ID")

    def work(connection, now):
        party = books.create_party(connection, body.model_dump(), now=now)
        return party_outcome(party, principal, 201)

    action = "party.create-known-duplicate" if body.known_duplicate else "party.create"
    return perform(request, write, principal, action, work)


@router.patch("/parties/{party_id}", response_model=PartyPublic, tags=["parties"])
def update_party(party_id: IdPath, body: PartyUpdate, request: Request, write: Write, principal: Registrar) -> Response:
    """Change the fields sent (only those): a party's kind, names, region, province, district,
    centre, organisation (`member_of`), national ID or contact. A national ID another party has is
    refused (409 duplicate_national_id); a member keeps an organisation (422 invalid_member_of); an
    organisation with members keeps a kind that has members (409 organisation_has_members)."""
    return perform(request, write, principal, "party.update", update_work(party_id, body, principal))


def update_work(party_id: int, body: PartyUpdate, principal: Principal):
    """The change of a party as a write's work, for this route and the party's page alike."""

    def work(connection, now):
        return party_outcome(books.update_party(connection, party_id, body.changes()), principal, 200)

    return work


@router.get("/parties", response_model=Page[PartyPublic], tags=["parties"])
def list_parties(
    connection: ReadDep, principal: Reader, page: PageDep, kind: PartyKind | None = None,
    region: Region | None = None, province: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
    district: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
    centre_id: IdQuery = None,
    member_of: IdQuery = None,
    name: Annotated[str | None, Query(min_length=1, max_length=books.MAX_NAME_SEARCH,
                                      description="A part of the Thai or English name, any case")] = None,
) -> dict:  # fmt: skip
    filters = {"kind": kind, "region": region, "province": province, "district": district, "centre_id": centre_id,
               "member_of": member_of, "name": name}  # fmt: skip
    rows = books.list_parties(connection, only_party=principal.party_id, after=page.after, limit=page.limit,
                              filters=filters)  # fmt: skip
    return {"data": [party_body(r, principal) for r in rows], "next_cursor": next_cursor(rows, page)}


@router.get("/parties/{party_id}", response_model=PartyPublic, tags=["parties"])
def get_party(party_id: IdPath, connection: ReadDep, principal: Reader) -> dict:
    if principal.party_id not in (None, party_id):
        raise books.not_found("party", party_id)
    return party_body(books.get_party(connection, party_id), principal)


def party_body(party: dict, principal: Principal | None) -> dict:
    """The party as the principal may see it: its national ID masked unless an admin asks (and
    masked for no principal: as a saved answer keeps it)."""
    return shown(books.party_t, party, principal)


def party_outcome(party: dict, principal: Principal, status_code: int) -> Outcome:
    """A write's answer that is a party: kept for replays with its national ID masked, and
    naming the party, whose export and erasure then reach the kept answer."""
    public, kept = (PartyPublic.model_validate(party_body(party, p)) for p in (principal, None))
    return Outcome(public, f"party:{party['id']}", status_code, personal_of=party["id"], kept_body=kept)


@router.post("/books", status_code=201, response_model=BookPublic, tags=["books"])
def create_book(body: BookCreate, request: Request, write: Write, principal: Registrar) -> Response:
    def work(connection, now):
        book = books.create_book(connection, body.model_dump(), now=now)
        return Outcome(BookPublic.model_validate(book), f"book:{book['id']}", 201)

    return perform(request, write, principal, "book.create", work)


@router.get("/books", response_model=Page[BookPublic], tags=["books"])
def list_books(connection: ReadDep, principal: Reader, page: PageDep) -> dict:
    rows = books.list_books(connection, only_party=principal.party_id, after=page.after, limit=page.limit)
    return {"data": rows, "next_cursor": next_cursor(rows, page)}


def visible_book(connection, book_id: int, principal: Principal) -> dict:
    """A book the principal may see: any book, or for a party the books it owns or has accounts in
    (looked up together with that right, so another party's book costs what an unknown id does)."""
    return books.get_book(connection, book_id, visible_to=principal.party_id)


def owned_book(connection, book_id: int, principal: Principal) -> dict:
    """A book the principal may see in full: any book, or for a party its own books only."""
    book = books.get_book(connection, book_id)
    if principal.party_id is not None and book["party_id"] != principal.party_id:
        raise books.not_found("book", book_id)
    return book


@router.get("/books/{book_id}", response_model=BookPublic, tags=["books"])
def get_book(book_id: IdPath, connection: ReadDep, principal: Reader) -> dict:
    return visible_book(connection, book_id, principal)


@router.post("/books/{book_id}/accounts", status_code=201, response_model=AccountPublic, tags=["accounts"])
def create_account(
    book_id: IdPath, body: AccountCreate, request: Request, write: Write, principal: Registrar
) -> Response:
    def work(connection, now):
        account = books.create_account(connection, {**body.model_dump(), "book_id": book_id}, now=now)
        return Outcome(AccountPublic.model_validate(account_body(account)), f"account:{account['id']}", 201)

    return perform(request, write, principal, "account.create", work)


@router.get("/books/{book_id}/accounts", response_model=Page[AccountPublic], tags=["accounts"])
def list_accounts(book_id: IdPath, connection: ReadDep, principal: Reader, page: PageDep) -> dict:
    visible_book(connection, book_id, principal)
    rows = books.list_accounts(
        connection, book_id=book_id, only_party=principal.party_id, after=page.after, limit=page.limit
    )
    return {"data": [account_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


def visible_account(connection, account_id: int, principal: Principal) -> dict:
    """An account the principal may see: any, or for a party those carrying it or in its books
    (looked up together with that right, like `visible_book`)."""
    return books.get_account(connection, account_id, visible_to=principal.party_id)


@router.get("/accounts/{account_id}", response_model=AccountPublic, tags=["accounts"])
def get_account(account_id: IdPath, connection: ReadDep, principal: Reader) -> dict:
    account = visible_account(connection, account_id, principal)
    tree = books.book_accounts(connection, account["book_id"])
    totals = rolled_up({a["id"]: a["balance_satang"] for a in tree}, {a["id"]: a["parent_id"] for a in tree})
    return account_body({**account, "rolled_up_balance_satang": totals[account_id]})
