"""The journal: recording and reversing entries, and reading balances, statements and trial
balances back from it.

Recording locks the books' rows in share mode (a period close takes them exclusively) and the
balance rows of the accounts touched in ascending account order, so concurrent writers never
deadlock; the domain then checks each entry against those balances, and the postings are
written before their entries (the database's balance guard expects them there). A batch of
entries (bulk import) takes the same path as one entry.
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, text, tuple_

from ledger.accounts import (
    BalanceRule,
    EntryDraft,
    Posting,
    check_balance_bounds,
    check_balance_rules,
    check_postable_by_hand,
    check_reversible_by_hand,
    movements,
    reversal_of,
    validate_postings,
)  # fmt: skip
from ledger.calendar import is_closed
from ledger.errors import LedgerError, Rejection
from ledger.reports import Statement, rolled_up, statement
from store import entry_content
from store.books import account_t, balance_t, book_accounts, book_t, get_book, not_found
from store.rows import insert_rows
from store.tables import AccountMonth, Entry, PeriodClose
from store.tables import Posting as PostingRow

entry_t = Entry.__table__
posting_t = PostingRow.__table__
month_t = AccountMonth.__table__
period_close_t = PeriodClose.__table__

Row = dict[str, Any]

# The statements of the write path, built once: SQLAlchemy then reuses their compiled form
# without recomputing a cache key on every call.
_SHARE_LOCK_BOOKS = (
    select(book_t.c.id, book_t.c.closed_through)
    .where(book_t.c.id.in_(bindparam("ids", expanding=True)))
    .with_for_update(read=True)
)
_LOCK_BALANCES = (
    select(balance_t.c.account_id, balance_t.c.book_id, balance_t.c.balance_rule, balance_t.c.balance_satang)
    .where(balance_t.c.account_id.in_(bindparam("ids", expanding=True)))
    .order_by(balance_t.c.account_id)
    .with_for_update()
)
_MONTH_MOVEMENTS = select(month_t.c.account_id, month_t.c.month_start, month_t.c.movement_satang).where(
    month_t.c.account_id.in_(bindparam("ids", expanding=True)),
    month_t.c.month_start.in_(bindparam("months", expanding=True)),
)
_ACCOUNT_CODES = select(account_t.c.id, account_t.c.code).where(account_t.c.id.in_(bindparam("ids", expanding=True)))
_LAST_ENTRY_ID = select(func.max(entry_t.c.id))  # bare, so SQLite answers it from the index end
_NEXT_ENTRY_IDS = text("SELECT nextval('entry_id_seq') FROM generate_series(1, :n)")
_ENTRY_BY_ID = select(entry_t).where(entry_t.c.id == bindparam("entry_id"))
_ENTRIES_BY_ID = select(entry_t).where(entry_t.c.id.in_(bindparam("ids", expanding=True)))
_POSTINGS_OF_ENTRIES = (
    select(posting_t.c.entry_id, posting_t.c.account_id, account_t.c.code, posting_t.c.amount_satang)
    .join(account_t, account_t.c.id == posting_t.c.account_id)
    .where(posting_t.c.entry_id.in_(bindparam("ids", expanding=True)))
    .order_by(posting_t.c.id)
)
_REVERSALS_OF_ENTRIES = select(entry_t.c.reverses_entry_id, entry_t.c.id).where(
    entry_t.c.reverses_entry_id.in_(bindparam("ids", expanding=True))
)


def record_entry(connection: Connection, draft: EntryDraft, *, recorded_by: int, recorded_at: datetime) -> int:
    """Check and record one entry; returns its id. Raises LedgerError, having written nothing."""
    [outcome] = record_entries(connection, [draft], recorded_by=recorded_by, recorded_at=recorded_at)
    if isinstance(outcome, LedgerError):
        raise outcome
    return outcome


def record_entries(
    connection: Connection,
    drafts: Sequence[EntryDraft],
    *,
    recorded_by: int | Sequence[int],
    recorded_at: datetime,
    by_hand: bool = False,
) -> list[int | LedgerError]:
    """Check drafts in order against the balances they leave each other, and record those that
    pass; each draft's answer is its new entry id or the error that refused it. `recorded_by`
    is the user who recorded them all, or one user a draft (a batch of several users' requests).
    Drafts made `by_hand` (POST /v1/entries, the bulk import) may not move an account that an
    operation keeps (`ledger.accounts.owning_operation`)."""
    outcomes, _, _ = _record(connection, drafts, recorded_by, recorded_at, by_hand=by_hand)
    return outcomes


def recorded_entries(
    connection: Connection, drafts: Sequence[EntryDraft], *, recorded_by: Sequence[int], recorded_at: datetime
) -> list[Row | LedgerError]:
    """Record drafts made by hand, as `record_entries` does; each draft's answer is its entry as
    `get_entries` reads it back, built from the rows just written rather than read again."""
    outcomes, recorded, codes = _record(connection, drafts, recorded_by, recorded_at, by_hand=True)
    rows = {entry_id: _entry_row(entry_id, draft, user_id, recorded_at, codes) for entry_id, draft, user_id in recorded}
    return [outcome if isinstance(outcome, LedgerError) else rows[outcome] for outcome in outcomes]


Recorded = list[tuple[int, EntryDraft, int]]  # (entry id, draft as written, user)


def _record(
    connection: Connection,
    drafts: Sequence[EntryDraft],
    recorded_by: int | Sequence[int],
    recorded_at: datetime,
    *,
    by_hand: bool,
) -> tuple[list[int | LedgerError], Recorded, dict[int, str] | None]:
    users = [recorded_by] * len(drafts) if isinstance(recorded_by, int) else list(recorded_by)
    assert len(users) == len(drafts)
    outcomes: list[int | LedgerError | None] = [_invalid(d) for d in drafts]
    books = _lock_books(connection, {d.book_id for d in drafts})
    accounts = _lock_balances(connection, {p.account_id for d in drafts for p in d.postings})
    months = _month_movements(connection, set(accounts), {d.effective_date.replace(day=1) for d in drafts})
    codes = _codes(connection, set(accounts)) if by_hand else None
    accepted: list[tuple[int, EntryDraft]] = []
    for index, draft in enumerate(drafts):
        if outcomes[index] is None:
            try:
                _check_against_state(draft, books, accounts, months, codes)
            except LedgerError as error:
                outcomes[index] = error
                continue
            accepted.append((index, draft))
    entry_ids = _next_entry_ids(connection, len(accepted))
    for (index, _), entry_id in zip(accepted, entry_ids, strict=True):
        outcomes[index] = entry_id
    recorded = [
        (entry_id, _rule_safe_order(draft, accounts), users[index])
        for entry_id, (index, draft) in zip(entry_ids, accepted, strict=True)
    ]
    _insert(connection, recorded, recorded_at)
    return outcomes, recorded, codes  # type: ignore[return-value]


def _entry_row(entry_id: int, draft: EntryDraft, user_id: int, recorded_at: datetime, codes: dict[int, str]) -> Row:
    """The entry as written and as `get_entries` reads it: no entry reverses one just made."""
    return {
        "id": entry_id, "book_id": draft.book_id, "effective_date": draft.effective_date,
        "recorded_at": recorded_at.astimezone(UTC), "kind": draft.kind, "description": draft.description,
        "reverses_entry_id": draft.reverses_entry_id, "dimensions": json.loads(_dimensions_text(draft)),
        "recorded_by": user_id, "reversed_by_entry_id": None,
        "postings": [
            {"account_id": p.account_id, "account_code": codes[p.account_id], "amount_satang": p.amount_satang}
            for p in draft.postings
        ],
    }  # fmt: skip


def _dimensions_text(draft: EntryDraft) -> str:
    return json.dumps(draft.dimensions, sort_keys=True, ensure_ascii=False)


def _invalid(draft: EntryDraft) -> LedgerError | None:
    try:
        validate_postings(draft.postings)
    except LedgerError as error:
        return error
    return None


def _check_against_state(
    draft: EntryDraft, books: dict[int, Row], accounts: dict[int, Row], months: dict[tuple[int, date], int],
    codes: dict[int, str] | None,
) -> None:  # fmt: skip
    """Refuse a draft for its book, period, accounts (with `codes`, a hand-made draft's: those an
    operation keeps too), balance rules or balance bounds; on success apply its movements to
    `accounts` and `months`, so the next draft of a batch sees them."""
    book = books.get(draft.book_id)
    if book is None:
        raise not_found("book", draft.book_id)
    if is_closed(draft.effective_date, book["closed_through"]):
        raise LedgerError(
            Rejection.period_closed,
            f"book {draft.book_id} is closed through {book['closed_through']}; "
            f"the entry is dated {draft.effective_date}",
        )
    moved = movements(draft.postings)
    for account_id in moved:
        if account_id not in accounts:
            raise not_found("account", account_id)
        if accounts[account_id]["book_id"] != draft.book_id:
            raise LedgerError(Rejection.account_not_in_book, f"account {account_id} is not in book {draft.book_id}")
    if codes is not None:
        check_postable_by_hand({a: codes[a] for a in moved})
    balances = {a: accounts[a]["balance_satang"] for a in moved}
    check_balance_rules(balances, {a: accounts[a]["rule"] for a in moved}, draft.postings)
    month = draft.effective_date.replace(day=1)
    check_balance_bounds(balances, {a: months.get((a, month), 0) for a in moved}, draft.postings)
    for account_id, amount in moved.items():
        accounts[account_id]["balance_satang"] += amount
        months[account_id, month] = months.get((account_id, month), 0) + amount


def _rule_safe_order(draft: EntryDraft, accounts: dict[int, Row]) -> EntryDraft:
    """The domain checks an account's net movement; the database checks each posting row. When an
    account appears twice in one entry, write its postings towards the allowed side first, so no
    row in between breaks the rule that the whole entry keeps."""
    if len({p.account_id for p in draft.postings}) == len(draft.postings):
        return draft
    side = {BalanceRule.debit_or_zero: -1, BalanceRule.credit_or_zero: 1, BalanceRule.none: 0}
    ordered = sorted(draft.postings, key=lambda p: side[accounts[p.account_id]["rule"]] * p.amount_satang)
    return replace(draft, postings=tuple(ordered))


def _lock_books(connection: Connection, book_ids: set[int]) -> dict[int, Row]:
    """Share-lock the books written to: a period close waits for the writes in flight."""
    rows = connection.execute(_SHARE_LOCK_BOOKS, {"ids": sorted(book_ids)}).mappings()
    return {r["id"]: dict(r) for r in rows}


def _lock_balances(connection: Connection, account_ids: set[int]) -> dict[int, Row]:
    """Lock the balance rows in ascending account order, the one order every writer uses."""
    rows = connection.execute(_LOCK_BALANCES, {"ids": sorted(account_ids)})
    return {
        r.account_id: {"book_id": r.book_id, "rule": BalanceRule(r.balance_rule), "balance_satang": r.balance_satang}
        for r in rows
    }


def _month_movements(connection: Connection, account_ids: set[int], months: set[date]) -> dict[tuple[int, date], int]:
    """The accounts' movements in the months written to, read after their balance rows are locked
    (so no other writer moves them meanwhile)."""
    if not account_ids:
        return {}
    rows = connection.execute(_MONTH_MOVEMENTS, {"ids": sorted(account_ids), "months": sorted(months)})
    return {(r.account_id, r.month_start): r.movement_satang for r in rows}


def _codes(connection: Connection, account_ids: set[int]) -> dict[int, str]:
    if not account_ids:
        return {}
    return dict(connection.execute(_ACCOUNT_CODES, {"ids": sorted(account_ids)}).all())


def _next_entry_ids(connection: Connection, count: int) -> list[int]:
    if count == 0:
        return []
    if connection.dialect.name == "postgresql":
        return sorted(connection.execute(_NEXT_ENTRY_IDS, {"n": count}).scalars())
    # SQLite: BEGIN IMMEDIATE holds the only write lock, so max + 1 cannot race.
    first = (connection.execute(_LAST_ENTRY_ID).scalar_one() or 0) + 1
    return list(range(first, first + count))


def _insert(connection: Connection, entries: Recorded, recorded_at: datetime) -> None:
    """Write (entry id, draft, user) rows, the postings first, as the guards expect; and note each
    entry's content hash for the audit record of this write."""
    if not entries:
        return
    # All of a batch's postings in one statement: on PostgreSQL its statement trigger then moves
    # each account's balance once (migration 0003).
    insert_rows(connection, posting_t, [
        {"entry_id": entry_id, "book_id": d.book_id, "account_id": p.account_id, "effective_date": d.effective_date,
         "amount_satang": p.amount_satang}
        for entry_id, d, _ in entries for p in d.postings
    ])  # fmt: skip
    insert_rows(connection, entry_t, [
        {"id": entry_id, "book_id": d.book_id, "effective_date": d.effective_date, "recorded_at": recorded_at,
         "kind": d.kind, "description": d.description, "reverses_entry_id": d.reverses_entry_id,
         "dimensions": _dimensions_text(d), "recorded_by": user_id}
        for entry_id, d, user_id in entries
    ])  # fmt: skip
    entry_content.note_written(connection, entries, recorded_at)


def get_entries(connection: Connection, entry_ids: Sequence[int]) -> list[Row]:
    """Entries by id, with their postings, in the order asked."""
    rows = {r["id"]: dict(r) for r in connection.execute(_ENTRIES_BY_ID, {"ids": list(entry_ids)}).mappings()}
    return _with_postings(connection, [rows[i] for i in entry_ids])


def get_entry(connection: Connection, entry_id: int, *, visible_to: int | None = None) -> Row:
    """The entry with its postings; with `visible_to`, only if that party may see it. Whose it is
    is decided in the query that finds it, before its postings are read: another party's entry
    costs what an id nobody has does, whatever its size (docs/reliability.md, timing)."""
    if visible_to is None:
        row = connection.execute(_ENTRY_BY_ID, {"entry_id": entry_id}).mappings().first()
    else:
        query = select(entry_t).where(entry_t.c.id == entry_id, _visible_to(visible_to))
        row = connection.execute(query).mappings().first()
    if row is None:
        raise not_found("entry", entry_id)
    return _with_postings(connection, [dict(row)])[0]


def _with_postings(connection: Connection, entries: list[Row]) -> list[Row]:
    if not entries:
        return entries
    ids = [e["id"] for e in entries]
    reversed_by = dict(connection.execute(_REVERSALS_OF_ENTRIES, {"ids": ids}).all())
    by_entry: dict[int, list[Row]] = {i: [] for i in ids}
    for row in connection.execute(_POSTINGS_OF_ENTRIES, {"ids": ids}):
        by_entry[row.entry_id].append(
            {"account_id": row.account_id, "account_code": row.code, "amount_satang": row.amount_satang}
        )
    for entry in entries:
        entry["postings"] = by_entry[entry["id"]]
        entry["reversed_by_entry_id"] = reversed_by.get(entry["id"])
        entry["dimensions"] = json.loads(entry["dimensions"])
    return entries


def list_entries(
    connection: Connection, *, filters: Row, visible_to_party: int | None, after: int, limit: int
) -> list[Row]:
    query = select(entry_t).where(entry_t.c.id > after).order_by(entry_t.c.id).limit(limit)
    if filters.get("book_id") is not None:
        query = query.where(entry_t.c.book_id == filters["book_id"])
    if filters.get("kind"):
        query = query.where(entry_t.c.kind == filters["kind"])
    if filters.get("date_from"):
        query = query.where(entry_t.c.effective_date >= filters["date_from"])
    if filters.get("date_to"):
        query = query.where(entry_t.c.effective_date <= filters["date_to"])
    if filters.get("account_id") is not None:
        query = query.where(_touches(posting_t.c.account_id == filters["account_id"]))
    if filters.get("party_id") is not None:
        query = query.where(_touches_party(filters["party_id"]))
    if visible_to_party is not None:
        query = query.where(_visible_to(visible_to_party))
    rows = [dict(r) for r in connection.execute(query).mappings()]
    return _with_postings(connection, rows)


def _touches(condition):
    return select(posting_t.c.id).where(posting_t.c.entry_id == entry_t.c.id, condition).exists()


def _touches_party(party_id: int):
    party_accounts = select(account_t.c.id).where(account_t.c.party_id == party_id)
    return _touches(posting_t.c.account_id.in_(party_accounts))


def _visible_to(party_id: int):
    """Entries a party may see: those in its own books, and those touching one of its accounts."""
    owned_book = select(book_t.c.id).where(book_t.c.id == entry_t.c.book_id, book_t.c.party_id == party_id)
    return owned_book.exists() | _touches_party(party_id)


def reverse_entry(
    connection: Connection,
    *,
    entry_id: int,
    effective_date: date | None,
    description: str | None,
    recorded_by: int,
    recorded_at: datetime,
    by_hand: bool = False,
) -> int:
    """Record the entry that undoes `entry_id`, dated `effective_date` or, if None, the original's.
    Asked `by_hand` (POST /v1/entries/{id}/reversal), only a hand-made entry is reversed: an
    operation's entry is undone through the operation (`ledger.accounts.check_reversible_by_hand`)."""
    original = get_entry(connection, entry_id)
    if original["reversed_by_entry_id"] is not None or original["reverses_entry_id"] is not None:
        raise LedgerError(
            Rejection.already_reversed,
            f"entry {entry_id} is already reversed or is itself a reversal; an entry is reversed at most once",
        )
    if by_hand:
        check_reversible_by_hand(entry_id=entry_id, kind=original["kind"])
    postings = [Posting(p["account_id"], p["amount_satang"]) for p in original["postings"]]
    draft = EntryDraft(
        book_id=original["book_id"],
        effective_date=effective_date or original["effective_date"],
        kind="reversal",
        description=description or f"Reversal of entry {entry_id}: {original['description']}"[:500],
        postings=tuple(reversal_of(postings)),
        dimensions=original["dimensions"],
        reverses_entry_id=entry_id,
    )
    return record_entry(connection, draft, recorded_by=recorded_by, recorded_at=recorded_at)


def balances_as_of(
    connection: Connection, book_id: int, as_of: date, account_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """Each account's balance at the end of `as_of`: whole months from the monthly movements,
    plus, unless `as_of` ends its month, the postings of its own month up to that day.

    For given accounts the rows are found by account (their own index), not by book: a busy
    book's month holds far more postings than one account's."""
    month_start = as_of.replace(day=1)
    month_ends = (as_of + timedelta(days=1)).day == 1
    months = select(month_t.c.account_id, func.sum(month_t.c.movement_satang)).where(
        month_t.c.month_start <= month_start if month_ends else month_t.c.month_start < month_start
    )
    days = select(posting_t.c.account_id, func.sum(posting_t.c.amount_satang)).where(
        posting_t.c.effective_date >= month_start, posting_t.c.effective_date <= as_of
    )
    if account_ids is None:
        months, days = months.where(month_t.c.book_id == book_id), days.where(posting_t.c.book_id == book_id)
    else:
        months = months.where(month_t.c.account_id.in_(account_ids))
        days = days.where(posting_t.c.account_id.in_(account_ids))
    queries = [months.group_by(month_t.c.account_id)]
    if not month_ends:
        queries.append(days.group_by(posting_t.c.account_id))
    result: dict[int, int] = {}
    for query in queries:
        for account_id, amount in connection.execute(query):
            result[account_id] = result.get(account_id, 0) + int(amount)
    return result


def trial_balance_rows(connection: Connection, book_id: int, as_of: date | None) -> list[Row]:
    """Every account of the book with its balance (current, or as of a date) and the balance
    rolled up from its sub-accounts."""
    accounts = book_accounts(connection, book_id)
    if as_of is not None:
        past = balances_as_of(connection, book_id, as_of)
        for account in accounts:
            account["balance_satang"] = past.get(account["id"], 0)
    totals = rolled_up({a["id"]: a["balance_satang"] for a in accounts}, {a["id"]: a["parent_id"] for a in accounts})
    for account in accounts:
        account["rolled_up_balance_satang"] = totals[account["id"]]
    return accounts


ROWS_PER_FETCH = 5_000  # rows of a streamed statement read from the server-side cursor at a time


@dataclass(frozen=True)
class StatementPosition:
    """A place in an account's statement: the line of this date, entry and posting. Lines are in
    (date, entry, posting) order, so a page resumes after the position of its predecessor's last."""

    effective_date: date
    entry_id: int
    posting_id: int


def _statement_query(account_id: int, date_from: date, date_to: date, *extra):
    return (
        select(entry_t.c.id, entry_t.c.effective_date, entry_t.c.description, posting_t.c.amount_satang, *extra)
        .join(entry_t, entry_t.c.id == posting_t.c.entry_id)
        .where(posting_t.c.account_id == account_id,
               and_(posting_t.c.effective_date >= date_from, posting_t.c.effective_date <= date_to))
        .order_by(posting_t.c.effective_date, posting_t.c.entry_id, posting_t.c.id)
    )  # fmt: skip


def statement_rows(connection: Connection, account_id: int, date_from: date, date_to: date) -> Iterator[Sequence]:
    """(entry id, date, description, amount) of the account's postings in the period, in
    statement order, read through a server-side cursor (`stream_results`, `yield_per`): a
    statement of any length holds one batch of rows."""
    streamed = connection.execution_options(stream_results=True, yield_per=ROWS_PER_FETCH)
    return chain.from_iterable(streamed.execute(_statement_query(account_id, date_from, date_to)).partitions())


def statement_page_rows(
    connection: Connection, account_id: int, date_from: date, date_to: date, after: StatementPosition | None,
    limit: int,
) -> list[Sequence]:  # fmt: skip
    """At most `limit` (entry id, date, description, amount, posting id) of the account's
    postings in the period, in statement order, after `after` if given."""
    query = _statement_query(account_id, date_from, date_to, posting_t.c.id).limit(limit)
    if after is not None:
        here = tuple_(after.effective_date, after.entry_id, after.posting_id)
        later = tuple_(posting_t.c.effective_date, posting_t.c.entry_id, posting_t.c.id) > here
        query = query.where(posting_t.c.effective_date >= after.effective_date, later)
    return list(connection.execute(query))


def balance_before(connection: Connection, account: Row, day: date) -> int:
    """The account's balance at the start of `day` (its opening balance on a statement from `day`)."""
    if day == date.min:
        return 0
    before = balances_as_of(connection, account["book_id"], day - timedelta(days=1), [account["id"]])
    return before.get(account["id"], 0)


def balance_after(connection: Connection, account: Row, position: StatementPosition) -> int:
    """The account's balance just after the statement line at `position`: the day before it from
    the monthly movements, and that day's postings up to it; so a page's running balance carries
    on from the last, however far into the statement it starts."""
    day_postings = select(func.coalesce(func.sum(posting_t.c.amount_satang), 0)).where(
        posting_t.c.account_id == account["id"], posting_t.c.effective_date == position.effective_date,
        tuple_(posting_t.c.entry_id, posting_t.c.id) <= tuple_(position.entry_id, position.posting_id),
    )  # fmt: skip
    return balance_before(connection, account, position.effective_date) + int(connection.execute(day_postings).scalar())


def account_statement(connection: Connection, account: Row, date_from: date, date_to: date) -> Statement:
    """The whole statement at once: opening balance, every line, closing balance."""
    rows = statement_rows(connection, account["id"], date_from, date_to)
    return statement(balance_before(connection, account, date_from), rows)


def close_period(connection: Connection, *, book_id: int, through: date, closed_by: int, now: datetime) -> Row:
    """Close every period of the book up to and including the month that ends on `through`."""
    book = connection.execute(select(book_t).where(book_t.c.id == book_id).with_for_update()).mappings().first()
    if book is None:
        raise not_found("book", book_id)
    if book["closed_through"] is not None and through <= book["closed_through"]:
        raise LedgerError(
            Rejection.period_not_closable, f"book {book_id} is already closed through {book['closed_through']}"
        )
    connection.execute(book_t.update().where(book_t.c.id == book_id).values(closed_through=through))
    connection.execute(
        insert(period_close_t).values(book_id=book_id, closed_through=through, closed_at=now, closed_by=closed_by)
    )
    return get_book(connection, book_id)
