"""The files the daily routine keeps away from the database (docs/operations.md): the day's audit
digest, and dumps in a backup folder, rotated.

- `audit-digest-YYYYMMDD.txt`: the head of the audit chain on a business day, written once. A
  second run the same day with the same head is no change; with another head (the chain moved
  since) it is refused, and the file kept is left as it is: a digest kept is evidence, and
  evidence is never replaced.
- `codi-ledger-dump-YYYYMMDD-HHMMSS.jsonl` (Thailand time): a dump (`store.dump`), of which the
  newest `keep` are kept. The names sort as the times do, so the newest is the last by name.

Every file appears whole or not at all: it is written under a temporary name in the same folder,
flushed to disk, then linked to its name, which fails rather than replace a file already there.
"""

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ledger.audit import Digest
from store.dump import Summary, dump_file
from store.engine import Database

DUMP_NAME = re.compile(r"^codi-ledger-dump-\d{8}-\d{6}\.jsonl$")


class KeptFileError(Exception):
    """A file kept cannot be written as asked: nothing was changed."""


# --- the audit digest -------------------------------------------------------------------------


def digest_text(head: Digest, day: date) -> str:
    """The head of the chain as a person writes it down: its hash in groups of eight."""
    groups = " ".join(head.hash[i : i + 8] for i in range(0, 64, 8))
    return (f"codi-ledger audit digest of {day.isoformat()} (business day, Asia/Bangkok)\n"
            f"sequence  {head.seq}\n"
            f"head hash {groups}\n"
            f"check later: codi-ledger audit verify --seq {head.seq} --hash {head.hash}\n")  # fmt: skip


def digest_path(folder: Path, day: date) -> Path:
    return folder / f"audit-digest-{day:%Y%m%d}.txt"


def keep_digest(folder: Path, head: Digest, day: date) -> tuple[Path, bool]:
    """Write the day's digest into `folder`; the file and whether it was written now (False: the
    same digest was kept already). Refused if the day's file holds another digest."""
    path, content = digest_path(folder, day), digest_text(head, day)
    if _write_new(path, content.encode()):
        return path, True
    if path.read_text(encoding="utf-8") != content:
        raise KeptFileError(f"{path} already holds another digest of {day}: it is kept as it is")
    return path, False


# --- dumps --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptDump:
    path: Path
    summary: Summary
    removed: list[Path]  # the older dumps rotated out


def keep_dump(db: Database, folder: Path, *, at: datetime, keep: int) -> KeptDump:
    """Dump the database into `folder` under a name with the time `at` (Thailand's, as the caller
    gives it), then remove all but the newest `keep` dumps there."""
    if keep < 1:
        raise KeptFileError(f"keep at least one dump, not {keep}")
    path = folder / f"codi-ledger-dump-{at:%Y%m%d-%H%M%S}.jsonl"
    with _temporary(folder) as partial:
        summary = dump_file(db, partial)
        _flush(partial)
        try:
            _link(partial, path)
        except FileExistsError:
            raise KeptFileError(f"{path} exists already: a dump was kept this very second") from None
    return KeptDump(path, summary, rotate(folder, keep))


def dumps(folder: Path) -> list[Path]:
    """The dumps kept in `folder`, oldest first (partial files and other files aside)."""
    return sorted(p for p in folder.iterdir() if DUMP_NAME.match(p.name) and p.is_file())


def rotate(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` dumps; those removed."""
    removed = dumps(folder)[:-keep]
    for path in removed:
        path.unlink()
    return removed


def latest_dump(folder: Path) -> Path:
    kept = dumps(folder) if folder.is_dir() else []
    if not kept:
        raise KeptFileError(f"no dump (codi-ledger-dump-YYYYMMDD-HHMMSS.jsonl) in {folder}")
    return kept[-1]


# --- whole files ----------------------------------------------------------------------------------


def _write_new(path: Path, content: bytes) -> bool:
    """Write `content` to `path` whole, unless `path` exists; whether it was written."""
    with _temporary(path.parent) as partial:
        partial.write_bytes(content)
        _flush(partial)
        try:
            _link(partial, path)
        except FileExistsError:
            return False
    return True


@contextmanager
def _temporary(folder: Path) -> Iterator[Path]:
    """A temporary file name in `folder` (which is made if missing), removed on leaving."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=folder, prefix=".partial-")
    os.close(handle)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _flush(path: Path) -> None:
    with open(path, "rb") as written:
        os.fsync(written.fileno())


def _link(partial: Path, path: Path) -> None:
    """Give the written file its name, atomically; FileExistsError if the name is taken. The
    folder is flushed too, so that the name survives a crash."""
    os.link(partial, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
