"""The audit trail as a hash chain (invariant 11).

Every write, and every refused write, becomes an audit record. Each record's hash is
SHA-256(previous hash + canonical record), the canonical record being its fields as JSON with
sorted keys and no spaces; the first record follows `GENESIS_HASH`. An auditor keeps a digest
(the sequence number and hash of the head) elsewhere; `verify_chain` later recomputes every hash
and names the first record that was changed, removed or inserted, or a digest the chain no
longer reaches.

The chain also commits to the ledger it records. Each entry has a content hash: SHA-256 of its
canonical form, the JSON (sorted keys, no spaces, UTF-8) of its id, book, effective date, time
and user of recording, kind, description, dimensions, the entry it reverses, and its postings as
[account id, amount in satang] pairs in ascending order (the order they were written in is not
content). The audit record of the write that made entries holds their content hashes in its
`content` field, `{"entries": [hash, ...]}` in the order of its `entry_ids`, and the record's
own hash covers that field, so a changed posting no longer matches a record the chain vouches
for. The link from an entry to the operation that wrote it is that record (its action and
target), and its reversal link is part of its content.

Records written before the chain committed to content (migration 0015) have no `content`; their
hash is computed as it always was. The migration appended one record, the content epoch, whose
content also holds `{"ledger": {"through_entry_id": N, "entries": C, "digest": D}}`: the number
and `ledger_digest` of every entry recorded until then, so the entries written before the epoch
are vouched for as a whole, and from then on each by its own record.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(previous_hash.encode() + canonical(fields)).hexdigest()


@dataclass(frozen=True)
class EntryContent:
    """What an entry says, as the journal writes it and as it can be read back."""

    id: int
    book_id: int
    effective_date: date
    recorded_at: datetime  # aware; hashed in UTC
    recorded_by: int
    kind: str
    description: str
    dimensions: Mapping[str, Any]
    reverses_entry_id: int | None
    postings: Sequence[tuple[int, int]]  # (account id, amount in satang), in any order


def entry_hash(entry: EntryContent) -> str:
    """SHA-256 of the entry's canonical form.

    >>> from datetime import UTC, date, datetime
    >>> at = datetime(2024, 6, 14, 3, 0, tzinfo=UTC)
    >>> entry = EntryContent(7, 1, date(2024, 6, 1), at, 2, "manual", "Capital paid in", {}, None,
    ...                      [(3, -100_000), (1, 100_000)])
    >>> print(canonical_entry(entry).decode().replace(',"', ',\\n"'))
    {"book":1,
    "description":"Capital paid in",
    "dimensions":{},
    "effective_date":"2024-06-01",
    "id":7,
    "kind":"manual",
    "postings":[[1,100000],[3,-100000]],
    "recorded_at":"2024-06-14T03:00:00+00:00",
    "recorded_by":2,
    "reverses":null}
    >>> entry_hash(entry) == hashlib.sha256(canonical_entry(entry)).hexdigest()
    True

    The postings' order is not content; their amounts are:

    >>> from dataclasses import replace
    >>> entry_hash(replace(entry, postings=[(1, 100_000), (3, -100_000)])) == entry_hash(entry)
    True
    >>> entry_hash(replace(entry, postings=[(1, 10_000_000), (3, -10_000_000)])) == entry_hash(entry)
    False
    """
    return hashlib.sha256(canonical_entry(entry)).hexdigest()


def canonical_entry(entry: EntryContent) -> bytes:
    return canonical({
        "id": entry.id, "book": entry.book_id, "effective_date": entry.effective_date.isoformat(),
        "recorded_at": entry.recorded_at.astimezone(UTC).isoformat(), "recorded_by": entry.recorded_by,
        "kind": entry.kind, "description": entry.description, "dimensions": dict(entry.dimensions),
        "reverses": entry.reverses_entry_id, "postings": sorted([a, amount] for a, amount in entry.postings),
    })  # fmt: skip


def ledger_digest(entry_hashes: Iterable[tuple[int, str]]) -> str:
    """SHA-256 over the lines "id:hash\\n" of entries in ascending id order: one figure for a
    whole ledger (the content epoch's).

    >>> ledger_digest([]) == hashlib.sha256(b"").hexdigest()
    True
    >>> ledger_digest([(1, "ab"), (2, "cd")]) == hashlib.sha256(b"1:ab\\n2:cd\\n").hexdigest()
    True
    """
    digest = hashlib.sha256()
    for entry_id, content_hash in entry_hashes:
        digest.update(f"{entry_id}:{content_hash}\n".encode())
    return digest.hexdigest()


def content_problem(
    entry_ids: Sequence[int], listed: Sequence[str], found: Mapping[int, str]
) -> tuple[int, str] | None:
    """The first position whose entry's content hash, as found in the ledger now (`found`: id ->
    hash; an entry not there is gone), differs from the one its record lists: (position, problem).

    >>> content_problem([4, 5], ["aa", "bb"], {4: "aa", 5: "bb"}) is None
    True
    >>> content_problem([4, 5], ["aa", "bb"], {4: "aa", 5: "cc"})
    (1, 'entry 5: its content differs from the hash its audit record holds: changed')
    >>> content_problem([4, 5], ["aa", "bb"], {5: "bb"})
    (0, 'entry 4 is gone: its rows were removed')
    """
    for position, (entry_id, listed_hash) in enumerate(zip(entry_ids, listed, strict=True)):
        if entry_id not in found:
            return position, f"entry {entry_id} is gone: its rows were removed"
        if found[entry_id] != listed_hash:
            return position, f"entry {entry_id}: its content differs from the hash its audit record holds: changed"
    return None


@dataclass(frozen=True)
class StoredRecord:
    seq: int
    fields: Mapping[str, Any]  # everything the hash covers
    previous_hash: str
    hash: str


@dataclass(frozen=True)
class Digest:
    seq: int
    hash: str


@dataclass(frozen=True)
class Verification:
    ok: bool
    records_checked: int
    head: Digest
    first_bad_seq: int | None = None
    problem: str | None = None
    first_bad_entry: int | None = None
    first_bad_account: int | None = None
    problems: tuple[str, ...] = ()  # a deep verification's every finding, `problem` the first


def verify_chain(
    records: Iterable[StoredRecord], expected: Digest | None = None, head: Digest | None = None
) -> Verification:
    """Recompute the chain in sequence order; stop at the first record that does not match.

    `expected` is a digest the auditor kept; `head` is the head the database keeps, which the
    last record must match, so records cut from the end are found even without a digest.
    """
    previous = Digest(0, GENESIS_HASH)
    checked = 0
    for record in records:
        problem = _record_problem(record, previous)
        if problem:
            return Verification(False, checked, previous, record.seq, problem)
        if expected and record.seq == expected.seq and record.hash != expected.hash:
            return Verification(False, checked, previous, record.seq, "differs from the digest")
        previous = Digest(record.seq, record.hash)
        checked += 1
    if expected and previous.seq < expected.seq:
        missing = previous.seq + 1
        return Verification(False, checked, previous, missing, "removed: the digest is beyond it")
    if head and previous != head:
        return Verification(False, checked, previous, *_head_mismatch(previous, head))
    return Verification(True, checked, previous)


def _head_mismatch(last: Digest, head: Digest) -> tuple[int, str]:
    if last.seq < head.seq:
        return last.seq + 1, "removed: the chain ends before the head the database keeps"
    if last.seq > head.seq:
        return head.seq + 1, "added after the head the database keeps"
    return last.seq, "differs from the head the database keeps"


def _record_problem(record: StoredRecord, previous: Digest) -> str | None:
    if record.seq != previous.seq + 1:
        return "out of sequence: a record was removed or inserted before it"
    if record.previous_hash != previous.hash:
        return "does not follow the previous record: a record was removed or inserted"
    if chain_hash(previous.hash, record.fields) != record.hash:
        return "its content does not match its hash: it was changed"
    return None
