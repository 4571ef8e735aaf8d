"""The audit trail as a hash chain (invariant 11).

Every write, and every refused write, becomes an audit record. Each record's hash is
SHA-256(previous hash + canonical record), the canonical record being its fields as JSON with
sorted keys and no spaces; the first record follows `GENESIS_HASH`. An auditor keeps a digest
(the sequence number and hash of the head) elsewhere; `verify_chain` later recomputes every hash
and names the first record that was changed, removed or inserted, or a digest the chain no
longer reaches.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


def canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(previous_hash.encode() + canonical(fields)).hexdigest()


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
