"""The three tiers' shared look-up: an organisation's own book (TIERS.md, convention 1)."""

from typing import Any

from sqlalchemy import Connection, select

from ledger.charts import BookKind
from store.books import book_t, not_found

Row = dict[str, Any]


def organisation_book(connection: Connection, organisation_id: int) -> Row:
    """The organisation's book (kind organisation, owned by the party; the lowest id if several)."""
    query = (
        select(book_t).where(book_t.c.kind == BookKind.organisation.value, book_t.c.party_id == organisation_id)
        .order_by(book_t.c.id).limit(1)
    )  # fmt: skip
    row = connection.execute(query).mappings().first()
    if row is None:
        raise not_found("organisation (a party with an organisation book)", organisation_id)
    return dict(row)
