"""Group commit: the writes of concurrent requests share one transaction and one commit.

One thread runs every write submitted to a `GroupCommit`. It takes what is queued (up to
`max_batch` writes), runs each in a savepoint of its own, so a write that raises leaves no trace
and spoils nothing for its neighbours, and commits them together: one fsync on SQLite, one commit
round trip on PostgreSQL, and no writer waiting on another's locks. If the commit itself fails (a
deferred constraint, a lost connection), each write of the batch runs again alone, so a bad write
never sinks the others and a caller hears only its own write's error.

An observer (`observe_batch`, api.metrics) may be told, as each batch begins, how long each of
its writes waited in the queue.

A write is a function of the connection; its caller blocks until the batch holding it has
committed, then gets its return value, or its exception. A write that is also `Batchable` may be
run together with the writes of the same `batch_key` queued next to it: one call of its
`run_many` does the work of all of them (one insert of all their rows rather than one each), and
answers each with a value or the exception that refused it. If `run_many` itself raises, each of
those writes runs again alone.
"""

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from time import monotonic
from typing import Protocol, TypeVar, runtime_checkable

from sqlalchemy import Connection

T = TypeVar("T")
Job = tuple[Callable[[Connection], object], Future, float]  # the write, its answer, when it was queued
_STOP = None


@runtime_checkable
class Batchable(Protocol):
    batch_key: object

    def run_many(self, connection: Connection, writes: list["Batchable"]) -> list[object]:
        """Each write's answer, in order: a value, or an exception (returned, not raised)."""


class GroupCommit:
    def __init__(self, begin: Callable[[], AbstractContextManager[Connection]], max_batch: int = 64) -> None:
        self._begin = begin
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self.batches_committed = 0  # how the writes were grouped shows in this and `waiting`
        self.observe_batch: Callable[[list[float]], None] | None = None

    def waiting(self) -> int:
        """Writes queued and not yet taken into a batch."""
        return self._queue.qsize()

    def run(self, write: Callable[[Connection], T]) -> T:
        """Run `write` in the next batch; return what it returned once the batch has committed."""
        return self.submit(write).result()

    def submit(self, write: Callable[[Connection], T] | Batchable) -> Future:
        """Queue `write` for the next batch; the future holds its answer once that has committed
        (so that an event loop can await it without a thread waiting)."""
        # A write that waited for another from the writer thread would wait for itself forever.
        assert threading.current_thread() is not self._thread, "a write may not submit another write"
        future: Future = Future()
        self._start()
        self._queue.put((write, future, monotonic()))
        return future

    def close(self) -> None:
        """Finish the writes already queued and stop the thread."""
        with self._starting:
            if self._thread is not None:
                self._queue.put(_STOP)
                self._thread.join()
                self._thread = None

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="group-commit", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if batch:
                self._observe(batch)
                self._commit(batch)

    def _next_batch(self) -> tuple[list[Job], bool]:
        batch: list[Job] = []
        item = self._queue.get()
        while item is not _STOP:
            batch.append(item)
            if len(batch) == self._max_batch:
                return batch, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _observe(self, batch: list[Job]) -> None:
        if self.observe_batch is not None:
            began = monotonic()
            self.observe_batch([began - queued for _, _, queued in batch])

    def _commit(self, batch: list[Job]) -> None:
        try:
            with self._begin() as connection:
                outcomes = [o for group in _groups([w for w, _, _ in batch]) for o in _attempt_group(connection, group)]
        except Exception as error:
            if len(batch) > 1:
                for job in batch:
                    self._commit([job])
            else:
                batch[0][1].set_exception(error)
            return
        self.batches_committed += 1
        for (_, future, _), (succeeded, value) in zip(batch, outcomes, strict=True):
            if succeeded:
                future.set_result(value)
            else:
                future.set_exception(value)


def _groups(writes: list) -> list[list]:
    """Consecutive batchable writes of one key together; any other write alone."""
    groups: list[list] = []
    for write in writes:
        if groups and isinstance(write, Batchable) and _key(groups[-1][0]) == write.batch_key:
            groups[-1].append(write)
        else:
            groups.append([write])
    return groups


def _key(write) -> object:
    return write.batch_key if isinstance(write, Batchable) else None


def _attempt_group(connection: Connection, writes: list) -> list[tuple[bool, object]]:
    if not isinstance(writes[0], Batchable):
        return [_attempt(connection, writes[0])]
    try:
        with connection.begin_nested():
            answers = writes[0].run_many(connection, writes)
    except Exception as error:  # the group's code failed: each write on its own, to find whose
        if len(writes) == 1:
            return [(False, error)]
        return [outcome for write in writes for outcome in _attempt_group(connection, [write])]
    return [(not isinstance(answer, Exception), answer) for answer in answers]


def _attempt(connection: Connection, write: Callable[[Connection], object]) -> tuple[bool, object]:
    try:
        with connection.begin_nested():
            return True, write(connection)
    except Exception as error:  # the caller's to handle: it gets it back through its future
        return False, error
