"""Parties, books and accounts: registering them and reading them back."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ledger.charts import CHARTS, BookKind
from ledger.errors import LedgerError, Rejection
from ledger.parties import PartyKind, check_membership, may_have_members
from store.rows import one_of
from store.tables import Account, AccountBalance, Book, Party

party_t = Party.__table__
book_t = Book.__table__
account_t = Account.__table__
balance_t = AccountBalance.__table__

Row = dict[str, Any]


def not_found(what: str, key: object) -> LedgerError:
    return LedgerError(Rejection.not_found, f"{what} {key} does not exist or is not yours")


def _one(connection: Connection, statement, what: str, key: object, parameters: Row | None = None) -> Row:
    row = connection.execute(statement, parameters).mappings().first()
    if row is None:
        raise not_found(what, key)
    return dict(row)


def create_party(connection: Connection, fields: Row, *, now: datetime) -> Row:
    """Register a party: its centre must exist, and a member belongs to an organisation
    (`ledger.parties.check_membership`); a national ID another party has is refused."""
    if fields.get("centre_id") is not None:
        get_party(connection, fields["centre_id"])
    _check_membership(connection, None, fields)
    try:
        with connection.begin_nested():
            party_id = connection.execute(insert(party_t).values(**fields, created_at=now)).inserted_primary_key[0]
    except IntegrityError:
        if not _national_id_taken(connection, fields.get("national_id")):
            raise
        raise LedgerError(
            Rejection.duplicate_national_id,
            "another party has this national ID; an admin may register the party as a known duplicate",
        ) from None
    return get_party(connection, party_id)


def _check_membership(connection: Connection, party_id: int | None, party: Row) -> None:
    """The party as it would be: a member of an organisation that exists and may have members."""
    member_of = party.get("member_of")
    organisation = None
    if member_of is not None and party["kind"] == PartyKind.member:
        organisation = get_party(connection, member_of)["kind"]
    check_membership(party_id=party_id, kind=party["kind"], member_of=member_of, organisation_kind=organisation)


def _has_members(connection: Connection, party_id: int) -> bool:
    return connection.execute(select(exists().where(party_t.c.member_of == party_id))).scalar_one()


def _national_id_taken(connection: Connection, national_id: str | None) -> bool:
    """Whether a party not marked as a known duplicate has this number (the unique index's rule)."""
    taken = exists().where(party_t.c.national_id == national_id, ~party_t.c.known_duplicate)
    return national_id is not None and connection.execute(select(taken)).scalar_one()


def get_party(connection: Connection, party_id: int) -> Row:
    return _one(connection, select(party_t).where(party_t.c.id == party_id), "party", party_id)


def update_party(connection: Connection, party_id: int, changes: Row) -> Row:
    """Change what `changes` names of the party (its kind, names, region, province, district,
    centre, organisation, national ID, contact); the party after. A national ID another party has
    is refused as at registration, a party is not its own centre, a member stays a member of an
    organisation, and an organisation with members keeps a kind that has members."""
    party = get_party(connection, party_id)
    if changes.get("centre_id") is not None:
        if changes["centre_id"] == party_id:
            raise LedgerError(Rejection.invalid_request, f"party {party_id} cannot be its own centre")
        get_party(connection, changes["centre_id"])
    _check_membership(connection, party_id, {**party, **changes})
    if "kind" in changes and not may_have_members(changes["kind"]) and _has_members(connection, party_id):
        raise LedgerError(Rejection.organisation_has_members,
                          f"party {party_id} has members: it keeps a kind that has members")  # fmt: skip
    if changes:
        try:
            with connection.begin_nested():
                connection.execute(update(party_t).where(party_t.c.id == party_id).values(**changes))
        except IntegrityError:
            if not _national_id_taken(connection, changes.get("national_id")):
                raise
            raise LedgerError(Rejection.duplicate_national_id, "another party has this national ID") from None
    return get_party(connection, party_id)


PARTY_FILTERS = ("kind", "region", "province", "district", "centre_id", "member_of")
MAX_NAME_SEARCH = 100


def list_parties(connection: Connection, *, only_party: int | None, after: int, limit: int,
                 filters: Row | None = None) -> list[Row]:  # fmt: skip
    """A page of parties by id. `filters` may name a kind, region, province, district, centre or
    organisation (`member_of`) (equal) and `name`, a part of the Thai or English name (any case)."""
    query = select(party_t).where(party_t.c.id > after).order_by(party_t.c.id).limit(limit)
    if only_party is not None:
        query = query.where(party_t.c.id == only_party)
    filters = filters or {}
    for name in PARTY_FILTERS:
        if filters.get(name) is not None:
            query = query.where(party_t.c[name] == filters[name])
    if part := filters.get("name"):
        part = part[:MAX_NAME_SEARCH]
        query = query.where(or_(party_t.c.name_th.icontains(part, autoescape=True),
                                party_t.c.name_en.icontains(part, autoescape=True)))  # fmt: skip
    return [dict(r) for r in connection.execute(query).mappings()]


def create_book(connection: Connection, fields: Row, *, now: datetime) -> Row:
    """A new book with the chart of accounts of its kind."""
    if fields.get("party_id") is not None:
        get_party(connection, fields["party_id"])
    try:
        with connection.begin_nested():
            book_id = connection.execute(insert(book_t).values(**fields, created_at=now)).inserted_primary_key[0]
    except IntegrityError:
        raise LedgerError(Rejection.duplicate, f"a book with code {fields['code']!r} exists") from None
    codes: dict[str, int] = {}
    for line in CHARTS[BookKind(fields["kind"])]:
        codes[line.code] = _insert_account(connection, {
            "book_id": book_id, "code": line.code, "name_en": line.name_en, "name_th": line.name_th,
            "type": line.type.value, "balance_rule": line.rule.value,
            "parent_id": codes.get(line.parent_code) if line.parent_code else None,
            "party_id": None, "created_at": now,
        })  # fmt: skip
    return get_book(connection, book_id)


_BOOK_BY_ID = select(book_t).where(book_t.c.id == bindparam("book_id"))


def get_book(connection: Connection, book_id: int, *, visible_to: int | None = None) -> Row:
    """The book; with `visible_to`, only if that party may see it (`visible_book_filter`). A book
    that is not the party's is refused by the same one query, with the same error, as one that
    does not exist: neither the answer nor the work done tells them apart."""
    if visible_to is None:
        return _one(connection, _BOOK_BY_ID, "book", book_id, {"book_id": book_id})
    query = select(book_t).where(book_t.c.id == book_id, visible_book_filter(visible_to))
    return _one(connection, query, "book", book_id)


def codi_book_ids():
    """The ids of CODI's own books, a subquery: every book but an organisation's own, whose loans
    are the organisation's to its members (issue 18), not CODI's: CODI's portfolio and dashboard
    count these books' loans only, unless asked for a book."""
    return select(book_t.c.id).where(book_t.c.kind != BookKind.organisation)


def in_book_or_codis(column, book_id: int | None):
    """The condition that `column` (a book id) is `book_id`, or without one, one of CODI's own books."""
    return column == book_id if book_id is not None else column.in_(codi_book_ids())


def visible_book_filter(party_id: int):
    """Books a party may see: those it owns, and those holding one of its accounts."""
    holds_account = exists().where(account_t.c.book_id == book_t.c.id, account_t.c.party_id == party_id)
    return or_(book_t.c.party_id == party_id, holds_account)


def list_books(connection: Connection, *, only_party: int | None, after: int, limit: int) -> list[Row]:
    query = select(book_t).where(book_t.c.id > after).order_by(book_t.c.id).limit(limit)
    if only_party is not None:
        query = query.where(visible_book_filter(only_party))
    return [dict(r) for r in connection.execute(query).mappings()]


def _insert_account(connection: Connection, values: Row) -> int:
    return connection.execute(insert(account_t).values(**values)).inserted_primary_key[0]


def create_account(connection: Connection, fields: Row, *, now: datetime) -> Row:
    book = get_book(connection, fields["book_id"])
    if fields.get("party_id") is not None:
        get_party(connection, fields["party_id"])
    if fields.get("parent_id") is not None:
        parent = get_account(connection, fields["parent_id"])
        if parent["book_id"] != book["id"]:
            raise LedgerError(Rejection.account_not_in_book, "a parent account must be in the same book")
    try:
        with connection.begin_nested():
            account_id = _insert_account(connection, {**fields, "created_at": now})
    except IntegrityError:
        raise LedgerError(Rejection.duplicate, f"account code {fields['code']!r} exists in this book") from None
    return get_account(connection, account_id)


ACCOUNT_COLUMNS = [*account_t.c, balance_t.c.balance_satang, balance_t.c.posting_count]


def get_account(connection: Connection, account_id: int, *, visible_to: int | None = None) -> Row:
    """The account with its balance; with `visible_to`, only if that party may see it (it carries
    the party, or its book is the party's), decided in the same one query as the look-up."""
    query = select(*ACCOUNT_COLUMNS).join(balance_t).where(account_t.c.id == account_id)
    if visible_to is not None:
        owns_book = select(book_t.c.id).where(book_t.c.id == account_t.c.book_id, book_t.c.party_id == visible_to)
        query = query.where(or_(account_t.c.party_id == visible_to, owns_book.exists()))
    return _one(connection, query, "account", account_id)


def check_accounts_of_book(connection: Connection, book_id: int, account_ids: Iterable[int]) -> None:
    """Refuse, as not found, the first of `account_ids` that is not an account of the book: a
    party writing in its own book cannot see another book's accounts, so one is answered as an
    id nobody has is, by the same one query."""
    wanted = sorted(set(account_ids))
    query = select(account_t.c.id).where(account_t.c.book_id == book_id, one_of(connection, account_t.c.id, wanted))
    found = set(connection.execute(query).scalars())
    missing = [account_id for account_id in wanted if account_id not in found]
    if missing:
        raise not_found("account", missing[0])


def list_accounts(connection: Connection, *, book_id: int, only_party: int | None, after: int, limit: int) -> list[Row]:
    query = (
        select(*ACCOUNT_COLUMNS).join(balance_t)
        .where(account_t.c.book_id == book_id, account_t.c.id > after)
        .order_by(account_t.c.id).limit(limit)
    )  # fmt: skip
    if only_party is not None:
        owns_book = select(book_t.c.id).where(book_t.c.id == book_id, book_t.c.party_id == only_party)
        query = query.where(or_(account_t.c.party_id == only_party, owns_book.exists()))
    return [dict(r) for r in connection.execute(query).mappings()]


def book_accounts(connection: Connection, book_id: int) -> list[Row]:
    """Every account of a book with its current balance, in code order (for reports)."""
    query = select(*ACCOUNT_COLUMNS).join(balance_t).where(account_t.c.book_id == book_id).order_by(account_t.c.code)
    return [dict(r) for r in connection.execute(query).mappings()]
