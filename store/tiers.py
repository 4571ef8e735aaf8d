"""The tiers' shared look-up (TIERS.md convention 1): an organisation's own book."""

from sqlalchemy import Connection, select

from store.books import Row, book_t, not_found


def organisation_book(connection: Connection, organisation_id: int) -> Row:
    """The organisation's book (kind organisation, its party); the lowest id if several."""
    query = (
        select(book_t)
        .where(book_t.c.kind == "organisation", book_t.c.party_id == organisation_id)
        .order_by(book_t.c.id)
        .limit(1)
    )
    row = connection.execute(query).mappings().first()
    if row is None:
        raise not_found("organisation book of party", organisation_id)
    return dict(row)
