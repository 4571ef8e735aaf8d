"""Many rows at a time (store.rows): what `insert_rows` writes reads back as it was given, through
SQLite's JSON array and PostgreSQL's COPY alike, and `one_of` finds exactly the values asked,
whatever characters they hold."""

from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, select

from store.journal import entry_t, posting_t
from store.rows import insert_rows, one_of
from store.welfare import sale_t

# Any text a request could carry but NUL (PostgreSQL's text holds none), with the characters
# that a JSON array, a COPY line and an array literal each have to escape.
CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00") | st.sampled_from(
    ["\t", "\n", "\r", "\\", '"', "'", ",", "{", "}", "ก", "😀"]
)
TEXTS = st.lists(CHARACTERS | st.sampled_from(["NULL", "\\N"]), max_size=30).map("".join)
ROWS = st.lists(
    st.fixed_dictionaries({
        "amount": st.integers(-(10**14), 10**14),
        "day": st.dates(date(1990, 1, 1), date(2100, 12, 31)),
        "at": st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
        "label": TEXTS,
        "note": st.none() | TEXTS,
    }),  # fmt: skip
    min_size=1,
    max_size=30,
)


def scratch_table() -> Table:
    """A temporary table with the column types of the ledger's own tables."""
    return Table(
        "rows_scratch",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("amount", BigInteger, nullable=False),
        Column("day", posting_t.c.effective_date.type, nullable=False),
        Column("at", entry_t.c.recorded_at.type, nullable=False),
        Column("label", entry_t.c.description.type, nullable=False),
        Column("note", sale_t.c.description.type, nullable=True),
        prefixes=["TEMPORARY"],
    )


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])  # each example rolls back
@given(rows=ROWS)
def test_rows_read_back_as_they_were_written(db, rows):
    table = scratch_table()
    with db.write() as connection:
        table.create(connection)
        try:
            insert_rows(connection, table, rows)
            stored = connection.execute(select(table).order_by(table.c.id)).mappings().all()
            assert [{k: v for k, v in r.items() if k != "id"} for r in stored] == rows
            assert [r["id"] for r in stored] == list(range(1, len(rows) + 1))  # in their order
        finally:
            table.drop(connection)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(TEXTS, min_size=1, max_size=20, unique=True), wanted=st.data())
def test_one_of_finds_exactly_the_values_asked(db, labels, wanted):
    table = scratch_table()
    asked = wanted.draw(st.lists(st.sampled_from(labels), unique=True) | st.just(["not one of them"]))
    now, day = datetime(2024, 6, 1, tzinfo=UTC), date(2024, 6, 1)
    with db.write() as connection:
        table.create(connection)
        try:
            insert_rows(connection, table, [{"amount": 1, "day": day, "at": now, "label": x, "note": None}
                                            for x in labels])  # fmt: skip
            found = connection.execute(select(table.c.label).where(one_of(connection, table.c.label, asked)))
            assert sorted(found.scalars()) == sorted(x for x in asked if x in labels)
            ids = connection.execute(select(table.c.id).where(one_of(connection, table.c.id, [1, len(labels), 10**6])))
            assert sorted(ids.scalars()) == sorted({1, len(labels)})
        finally:
            table.drop(connection)
