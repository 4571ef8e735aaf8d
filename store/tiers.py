"""The tiers (issue 18, docs TIERS conventions): finding an organisation's own book."""

from typing import Any

from sqlalchemy import Connection, select

from store.books import book_t, not_found

Row = dict[str, Any]


def organisation_book(connection: Connection, organisation_id: int) -> Row:
    """The organisation's own book: its book of kind organisation (the lowest id, if several)."""
    query = (select(book_t).where(book_t.c.kind == "organisation", book_t.c.party_id == organisation_id)
             .order_by(book_t.c.id).limit(1))  # fmt: skip
    row = connection.execute(query).mappings().first()
    if row is None:
        raise not_found("organisation book of party", organisation_id)
    return dict(row)
