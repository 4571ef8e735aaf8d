"""The three tiers (issue 18): CODI -> organisation -> member. Where an organisation's own book is."""

from sqlalchemy import Connection, select

from store import books
from store.books import Row


def organisation_book(connection: Connection, organisation_id: int) -> Row:
    """The organisation's own book: of kind organisation, owned by the organisation (the lowest
    id if several); 404 if it has none."""
    b = books.book_t.c
    query = select(books.book_t).where(b.kind == "organisation", b.party_id == organisation_id).order_by(b.id)
    row = connection.execute(query.limit(1)).mappings().first()
    if row is None:
        raise books.not_found("book of organisation", organisation_id)
    return dict(row)
