"""Entries' content hashes (`ledger.audit.entry_hash`): noted as the journal writes them, taken
by the audit record of the write, and recomputed from the rows when the chain is verified.

The journal notes each entry's hash from the draft it is writing (no row is read back on the
posting path); the hashes live with the connection for as long as its transaction does (those
written in a savepoint rolled back are forgotten with it), and the audit append takes those of
the entries its record names. An entry the write did not record in this transaction (an
operation naming an earlier entry) is hashed from its rows. An operation's record names every
entry the operation wrote (`written_since`), not only those its answer names.

Verifying reads the records that hold content in sequence order and the entries they name in
chunks, and finds the first entry whose rows no longer give the hash its record holds, or that is
gone; then that every entry is vouched for: by the content epoch (those recorded before it) or
by a record. An entry inserted behind the chain's back is named, as is a record written without
content after the epoch.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select, text

from ledger.accounts import EntryDraft
from ledger.audit import EntryContent, content_problem, entry_hash, ledger_digest
from store.rows import one_of
from store.tables import AuditRecord, Entry, Posting

entry_t = Entry.__table__
posting_t = Posting.__table__
audit_t = AuditRecord.__table__

_ENTRY_COLUMNS = [entry_t.c[name] for name in (
    "id", "book_id", "effective_date", "recorded_at", "recorded_by", "kind", "description", "dimensions",
    "reverses_entry_id",
)]  # fmt: skip
_NOTED = "codi.entries_written"  # key of connection.info: the _Written of its transaction
CHUNK = 2_000  # entries read back at a time


class _Written:
    """The entries one transaction has written: their hashes until an audit record takes them,
    and the order they were written in; those of a savepoint rolled back are forgotten."""

    def __init__(self, transaction) -> None:
        self.transaction = transaction
        self.hashes: dict[int, str] = {}
        self.order: list[int] = []
        self.savepoints: dict[str, int] = {}  # name -> len(order) when it began

    def roll_back(self, savepoint: str) -> None:
        began = self.savepoints.pop(savepoint, len(self.order))
        for entry_id in self.order[began:]:
            self.hashes.pop(entry_id, None)
        del self.order[began:]


def note_written(connection: Connection, written: Iterable[tuple[int, EntryDraft, int]], recorded_at: datetime) -> None:
    """Note the content hash of each (entry id, draft as written, user) just recorded."""
    noted = _written(connection)
    for entry_id, draft, user_id in written:
        noted.order.append(entry_id)
        noted.hashes[entry_id] = entry_hash(EntryContent(
            entry_id, draft.book_id, draft.effective_date, recorded_at, user_id, draft.kind, draft.description,
            draft.dimensions, draft.reverses_entry_id, [(p.account_id, p.amount_satang) for p in draft.postings],
        ))  # fmt: skip


def mark(connection: Connection) -> int:
    """A mark of how far the transaction's writing has gone, for `written_since`."""
    return len(_written(connection).order)


def written_since(connection: Connection, mark: int, *, named: Sequence[int]) -> list[int]:
    """The entries `named` and after them any other the transaction has written since `mark`: an
    operation's audit record names every entry it made, whether its answer names it or not."""
    return [*named, *sorted(set(_written(connection).order[mark:]) - set(named))]


def take_hashes(connection: Connection, entry_ids: Sequence[int]) -> list[str]:
    """The content hashes of `entry_ids`, for the audit record that names them."""
    noted = _written(connection).hashes
    unnoted = [i for i in entry_ids if i not in noted]
    if unnoted:
        noted |= {e.id: entry_hash(e) for e in read_contents(connection, unnoted).values()}
    return [noted.pop(i) for i in entry_ids]


def _written(connection: Connection) -> _Written:
    transaction = connection.get_transaction()
    held = connection.info.get(_NOTED)
    if held is None or held.transaction is not transaction:
        held = connection.info[_NOTED] = _Written(transaction)
    return held


@event.listens_for(Engine, "savepoint")
def _savepoint_began(connection: Connection, name: str) -> None:
    _written(connection).savepoints[name] = len(_written(connection).order)


@event.listens_for(Engine, "rollback_savepoint")
def _savepoint_rolled_back(connection: Connection, name: str, _context) -> None:
    _written(connection).roll_back(name)


@event.listens_for(Engine, "release_savepoint")
def _savepoint_released(connection: Connection, name: str, _context) -> None:
    _written(connection).savepoints.pop(name, None)


def read_contents(connection: Connection, entry_ids: Sequence[int]) -> dict[int, EntryContent]:
    """The entries of `entry_ids` that exist, as their rows say now."""
    if not entry_ids:
        return {}
    query = select(*_ENTRY_COLUMNS).where(one_of(connection, entry_t.c.id, entry_ids))
    entries = connection.execute(query).mappings().all()
    return _contents(connection, entries, one_of(connection, posting_t.c.entry_id, entry_ids))


def _contents(connection: Connection, entries: Sequence[Any], postings_of) -> dict[int, EntryContent]:
    postings: dict[int, list[tuple[int, int]]] = {e["id"]: [] for e in entries}
    query = select(posting_t.c.entry_id, posting_t.c.account_id, posting_t.c.amount_satang).where(postings_of)
    for entry_id, account_id, amount in connection.execute(query):
        postings.setdefault(entry_id, []).append((account_id, amount))
    return {
        e["id"]: EntryContent(
            e["id"], e["book_id"], e["effective_date"], e["recorded_at"], e["recorded_by"], e["kind"],
            e["description"], json.loads(e["dimensions"]), e["reverses_entry_id"], postings[e["id"]],
        )
        for e in entries
    }  # fmt: skip


def contents_through(connection: Connection, through_entry_id: int) -> Iterator[EntryContent]:
    """Every entry up to `through_entry_id`, in id order, read a chunk at a time."""
    after = 0
    while after < through_entry_id:
        in_chunk = (entry_t.c.id > after) & (entry_t.c.id <= through_entry_id)
        query = select(*_ENTRY_COLUMNS).where(in_chunk).order_by(entry_t.c.id).limit(CHUNK)
        entries = connection.execute(query).mappings().all()
        if not entries:
            return
        last = entries[-1]["id"]
        contents = _contents(connection, entries, (posting_t.c.entry_id > after) & (posting_t.c.entry_id <= last))
        yield from (contents[e["id"]] for e in entries)
        after = last


def ledger_content(connection: Connection, through: int | None = None) -> dict[str, Any]:
    """The content epoch's figure: every entry recorded so far (or up to `through`), counted and
    digested."""
    if through is None:
        through = connection.execute(select(func.max(entry_t.c.id))).scalar_one() or 0
    hashes = [(e.id, entry_hash(e)) for e in contents_through(connection, through)]
    return {"through_entry_id": through, "entries": len(hashes), "digest": ledger_digest(hashes)}


@dataclass(frozen=True)
class ContentProblem:
    seq: int | None  # the record that vouches for the entry; None: no record does
    entry_id: int | None
    problem: str


def first_problem(connection: Connection) -> ContentProblem | None:
    """The first record, in sequence order, whose content does not hold or whose entries' rows
    no longer give the hashes it lists; else the first entry that no record vouches for."""
    legacy, started, through, pending = 0, False, 0, []
    for seq, entry_ids, content in _records(connection):
        if content is None:
            if started:
                return ContentProblem(seq, None, "written without its entries' content after the content epoch")
            legacy += 1
            continue
        if problem := _epoch_problem(connection, seq, content, first=not started, legacy_records=legacy):
            return problem
        started = True
        through = content.get("ledger", {}).get("through_entry_id", through)
        if len(content["entries"]) != len(entry_ids):
            return ContentProblem(seq, None, "its content does not list a hash for each of its entries")
        pending += [(seq, e, h) for e, h in zip(entry_ids, content["entries"], strict=True)]
        if len(pending) >= CHUNK:
            if problem := _check_chunk(connection, pending):
                return problem
            pending = []
    return _check_chunk(connection, pending) or _unvouched(connection, through)


def _epoch_problem(connection: Connection, seq: int, content: dict, *, first: bool, legacy_records: int):
    if "ledger" not in content:
        if first and legacy_records:
            return ContentProblem(seq, None, "the first record with content is not the content epoch")
        return None
    if not first:
        return ContentProblem(seq, None, "a second content epoch: the ledger was vouched for anew")
    if ledger_content(connection, through=content["ledger"]["through_entry_id"]) != content["ledger"]:
        return ContentProblem(seq, None, "the entries recorded before the content epoch no longer give its "
                                         "digest: one was changed, removed or inserted")  # fmt: skip
    return None


def _check_chunk(connection: Connection, pending: list[tuple[int, int, str]]) -> ContentProblem | None:
    """Pending (record, entry id, listed hash) triples against the entries' rows."""
    entry_ids = [e for _, e, _ in pending]
    found = {i: entry_hash(e) for i, e in read_contents(connection, entry_ids).items()}
    problem = content_problem(entry_ids, [h for _, _, h in pending], found)
    if problem is None:
        return None
    position, what = problem
    return ContentProblem(pending[position][0], entry_ids[position], what)


_LISTED_IDS = {
    "postgresql": "SELECT DISTINCT CAST(x AS BIGINT) AS id FROM audit_record r, "
                  "json_array_elements_text(CAST(r.entry_ids AS json)) AS x WHERE r.content IS NOT NULL",
    "sqlite": "SELECT DISTINCT CAST(x.value AS INTEGER) AS id FROM audit_record r, json_each(r.entry_ids) AS x "
              "WHERE r.content IS NOT NULL",
}  # fmt: skip


def _unvouched(connection: Connection, through: int) -> ContentProblem | None:
    """The first entry after the epoch that no record lists (an anti-join, in the database)."""
    query = text(f"""SELECT e.id FROM entry e LEFT JOIN ({_LISTED_IDS[connection.dialect.name]}) listed
                     ON listed.id = e.id WHERE e.id > :through AND listed.id IS NULL ORDER BY e.id LIMIT 1""")
    entry_id = connection.execute(query, {"through": through}).scalar()
    if entry_id is None:
        return None
    return ContentProblem(None, entry_id, f"entry {entry_id} is vouched for by no audit record: it was inserted "
                                          "behind the chain's back")  # fmt: skip


def _records(connection: Connection) -> Iterator[tuple[int, list[int], dict | None]]:
    after = 0
    while True:
        query = (select(audit_t.c.seq, audit_t.c.entry_ids, audit_t.c.content)
                 .where(audit_t.c.seq > after).order_by(audit_t.c.seq).limit(CHUNK))  # fmt: skip
        rows = connection.execute(query).all()
        for seq, entry_ids, content in rows:
            yield seq, json.loads(entry_ids), None if content is None else json.loads(content)
        if len(rows) < CHUNK:
            return
        after = rows[-1].seq
