"""Bulk import of entries from JSON lines, one entry a line:

    {"key": "2024-05-market-0001", "book": "CODI-FUND", "effective_date": "2024-05-01",
     "description": "...", "kind": "manual", "dimensions": {"province": "Nakhon Sawan"},
     "postings": [{"account": "1100", "amount": "-500.00"}, {"account": "1200", "amount": "500.00"}]}

Every line is checked; good lines are recorded in batches, one transaction and one audit record
a batch; a line whose key was recorded before (with the same content) is not recorded again;
each rejected line is reported with its number and reason and costs the others nothing.
"""

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ledger.accounts import EntryDraft, Posting
from ledger.calendar import parse_client_date
from ledger.errors import LedgerError, Rejection
from ledger.money import parse_amount
from ledger.text import check_storable
from store import audit_log, idempotency, journal, users
from store.books import account_t, book_t
from store.engine import Database
from store.idempotency import StoredAnswer

IMPORT_KINDS = ("manual", "opening", "adjustment", "import")
MAX_LINE_BYTES = 64 * 1024
# What an import said of a refused line, in the file of those lines the pages give back to be
# put right: a line's `reason` is not part of what it asks, nor of the text its key is judged by.
REASON_FIELD = "reason"


@dataclass
class ImportReport:
    recorded: int = 0
    replayed: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    number: int
    key: str
    request_hash: str
    draft: EntryDraft


class Accounts:
    """Book codes and account codes to ids, loaded once per book."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.books = {code: id_ for id_, code in connection.execute(select(book_t.c.id, book_t.c.code))}
        self.codes: dict[int, dict[str, int]] = {}

    def book_id(self, code: str) -> int:
        if code not in self.books:
            raise LedgerError(Rejection.not_found, f"there is no book {code!r}")
        return self.books[code]

    def account_id(self, book_id: int, code: str) -> int:
        if book_id not in self.codes:
            query = select(account_t.c.code, account_t.c.id).where(account_t.c.book_id == book_id)
            self.codes[book_id] = dict(self.connection.execute(query).all())
        if code not in self.codes[book_id]:
            raise LedgerError(Rejection.not_found, f"book {book_id} has no account {code!r}")
        return self.codes[book_id][code]


def parse_line(number: int, raw: bytes, accounts: Accounts) -> Line:
    if len(raw) > MAX_LINE_BYTES:
        raise LedgerError(Rejection.request_too_large, f"a line has at most {MAX_LINE_BYTES} bytes")
    check_storable(raw)
    try:
        data = json.loads(raw)
        raw = without_reason(raw, data)
        book_id = accounts.book_id(data["book"])
        draft = EntryDraft(
            book_id=book_id,
            effective_date=parse_client_date(data["effective_date"]),
            kind=data.get("kind", "import"),
            description=str(data["description"])[:500],
            postings=tuple(
                Posting(accounts.account_id(book_id, str(p["account"])), parse_amount(p["amount"]))
                for p in data["postings"]
            ),  # fmt: skip
            dimensions={str(k)[:40]: str(v)[:100] for k, v in data.get("dimensions", {}).items()},
        )
        key = data["key"]
    except LedgerError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise LedgerError(Rejection.invalid_request, f"not a valid entry line: {error!r}") from None
    if not isinstance(key, str) or not 0 < len(key) <= 200:
        raise LedgerError(Rejection.idempotency_key_required, "each line needs a key of 1 to 200 characters")
    if draft.kind not in IMPORT_KINDS:
        raise LedgerError(Rejection.invalid_request, f"kind must be one of {', '.join(IMPORT_KINDS)}")
    return Line(number, key, hashlib.sha256(raw.strip()).hexdigest(), draft)


def without_reason(raw: bytes, data: object) -> bytes:
    """A JSON line's text without its `reason` field (taken out of `data` too), or as it is."""
    if not isinstance(data, dict) or REASON_FIELD not in data:
        return raw
    del data[REASON_FIELD]
    return json.dumps(data, ensure_ascii=False).encode()


def import_file(
    db: Database, path: str, *, batch_size: int, progress: bool, now: Callable[[], datetime]
) -> ImportReport:
    report = ImportReport()
    size = max(os.path.getsize(path), 1)
    with db.write() as connection:
        principal = users.system_principal(connection, now=now())
    with open(path, "rb") as source:
        for batch in batches(source, batch_size):
            with db.write() as connection:
                _import_batch(connection, batch, principal, report, path, now())
            if progress:
                _show_progress(source.tell() / size, report)
    if progress:
        print(file=sys.stderr)
    report.rejected.sort()
    return report


def batches(source, batch_size: int) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for number, raw in enumerate(source, start=1):
        if raw.strip():
            batch.append((number, raw))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _import_batch(connection: Connection, batch, principal, report: ImportReport, path: str, now: datetime) -> None:
    recorded = import_entries(connection, batch, user_id=principal.user_id, report=report, now=now)
    if recorded:
        audit_log.append_system(
            connection, actor=principal.name, action="entry.import",
            target=f"import:{os.path.basename(path)}:{recorded[0][0].number}-{recorded[-1][0].number}"[:200],
            request=b"".join(line.request_hash.encode() for line, _ in recorded),
            entry_ids=[entry_id for _, entry_id in recorded], now=now,
        )  # fmt: skip


def import_entries(
    connection: Connection, batch: Sequence[tuple[int, bytes]], *, user_id: int, report: ImportReport, now: datetime
) -> list[tuple[Line, int]]:
    """Record the numbered lines' entries whose keys are new, under `user_id`'s keys; refusals go
    to the report. The lines recorded with their entries' ids (the caller audits them)."""
    accounts = Accounts(connection)
    lines: list[Line] = []
    for number, raw in batch:
        try:
            lines.append(parse_line(number, raw, accounts))
        except LedgerError as error:
            report.rejected.append((number, error.reason, error.detail))
    fresh = drop_known_keys(connection, lines, user_id, report)
    outcomes = journal.record_entries(
        connection, [line.draft for line in fresh], recorded_by=user_id, recorded_at=now, by_hand=True
    )
    return keep_recorded(connection, fresh, outcomes, user_id, report, lambda e: {"entry_id": e}, now)


def keep_recorded(
    connection: Connection, lines: Sequence, outcomes: Sequence, user_id: int, report: ImportReport,
    answer: Callable[[Any], dict], now: datetime,
) -> list[tuple[Any, Any]]:  # fmt: skip
    """Each line's outcome: a LedgerError rejects the line in the report; the others are recorded,
    counted, and `answer(outcome)` kept under the line's key. The recorded (line, outcome) pairs."""
    recorded = []
    for line, outcome in zip(lines, outcomes, strict=True):
        if isinstance(outcome, LedgerError):
            report.rejected.append((line.number, outcome.reason, outcome.detail))
        else:
            recorded.append((line, outcome))
    if recorded:
        idempotency.save_many(connection, [
            (user_id, line.key, StoredAnswer(line.request_hash, 201, json.dumps(answer(outcome))))
            for line, outcome in recorded
        ], now=now)  # fmt: skip
    report.recorded += len(recorded)
    return recorded


def drop_known_keys(connection: Connection, lines: list[Line], user_id: int, report: ImportReport) -> list[Line]:
    """Lines whose key is new; a known key with the same content is a replay, with other content a rejection."""
    stored = idempotency.find_many(connection, [(user_id, line.key) for line in lines]) if lines else {}
    known = {key: answer.request_hash for (_, key), answer in stored.items()}
    fresh = []
    for line in lines:
        if line.key not in known:
            known[line.key] = line.request_hash
            fresh.append(line)
        elif known[line.key] == line.request_hash:
            report.replayed += 1
        else:
            report.rejected.append(
                (line.number, Rejection.idempotency_key_reused, f"key {line.key!r} was used for another entry")
            )
    return fresh


def _show_progress(fraction: float, report: ImportReport) -> None:
    filled = int(fraction * 30)
    print(
        f"\r[{'#' * filled}{' ' * (30 - filled)}] {fraction:6.1%}  {report.recorded} recorded, "
        f"{len(report.rejected)} rejected",
        end="", file=sys.stderr, flush=True,
    )  # fmt: skip
