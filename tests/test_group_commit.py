"""Group commit: concurrent writes share transactions, and each caller hears only its own outcome."""

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import StaticPool

from store.group_commit import GroupCommit


class Store:
    """An in-memory table of numbers, counting the transactions that commit."""

    def __init__(self) -> None:
        self.engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        # As store.engine does: BEGIN ourselves, or the driver lets a savepoint's RELEASE commit.
        event.listen(self.engine, "connect", lambda dbapi, _: setattr(dbapi, "isolation_level", None))
        event.listen(self.engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
        with self.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE number (value INTEGER PRIMARY KEY)")
        self.commits = 0

    @contextmanager
    def begin(self):
        with self.engine.begin() as connection:
            yield connection
            if connection.info.pop("spoil_commit", False):
                raise RuntimeError("the commit failed")
        self.commits += 1

    def numbers(self) -> list[int]:
        with self.engine.connect() as connection:
            return list(connection.execute(text("SELECT value FROM number ORDER BY value")).scalars())


def insert(value: int):
    def write(connection):
        connection.execute(text("INSERT INTO number VALUES (:v)"), {"v": value})
        return value

    return write


def run_concurrently(group: GroupCommit, writes, release: threading.Event | None = None) -> list:
    """Each write from a thread of its own; with `release` (a held writer), once all of them
    have queued, let the writer go, so that it finds them all waiting."""
    outcomes: list = [None] * len(writes)

    def call(index: int) -> None:
        try:
            outcomes[index] = group.run(writes[index])
        except Exception as error:  # noqa: BLE001 - the outcome under test
            outcomes[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(writes))]
    for thread in threads:
        thread.start()
    if release is not None:
        wait_until(lambda: group.waiting() == len(writes))
        release.set()
    for thread in threads:
        thread.join()
    return outcomes


def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the writes never queued up"
        time.sleep(0.01)


def held_open(group: GroupCommit):
    """A write that keeps the writer busy until released, so that others queue up behind it."""
    entered, release = threading.Event(), threading.Event()

    def write(connection):
        entered.set()
        release.wait(10)
        return "held"

    waiter = threading.Thread(target=group.run, args=(write,))
    waiter.start()
    entered.wait(10)
    return release, waiter


@pytest.fixture
def store():
    return Store()


def test_queued_writes_commit_together(store):
    group = GroupCommit(store.begin)
    release, waiter = held_open(group)
    outcomes = run_concurrently(group, [insert(v) for v in range(1, 21)], release)
    waiter.join()
    group.close()
    assert outcomes == list(range(1, 21))
    assert store.numbers() == list(range(1, 21))
    assert store.commits == 2  # the held write's, then one for the 20 that queued behind it


def test_a_failing_write_leaves_no_trace_and_spoils_nothing(store):
    group = GroupCommit(store.begin)
    release, waiter = held_open(group)
    outcomes = run_concurrently(group, [insert(1), insert(2), insert(1), insert(3)], release)  # the second 1 collides
    waiter.join()
    group.close()
    assert sorted(o for o in outcomes if isinstance(o, int)) == [1, 2, 3]
    assert sum(isinstance(o, Exception) for o in outcomes) == 1
    assert store.numbers() == [1, 2, 3]


def test_a_failed_commit_runs_each_write_alone(store):
    group = GroupCommit(store.begin)

    def spoiler(connection):
        insert(99)(connection)
        connection.info["spoil_commit"] = True
        return 99

    release, waiter = held_open(group)
    outcomes = run_concurrently(group, [insert(1), spoiler, insert(2)], release)
    waiter.join()
    group.close()
    assert outcomes[0] == 1 and outcomes[2] == 2
    assert isinstance(outcomes[1], RuntimeError)
    assert store.numbers() == [1, 2]


def test_batches_are_bounded(store):
    group = GroupCommit(store.begin, max_batch=3)
    release, waiter = held_open(group)
    run_concurrently(group, [insert(v) for v in range(1, 10)], release)
    waiter.join()
    group.close()
    assert store.numbers() == list(range(1, 10))
    assert store.commits == 1 + 9 // 3


def test_close_finishes_queued_writes_and_a_later_write_starts_again(store):
    group = GroupCommit(store.begin)
    assert group.run(insert(1)) == 1
    group.close()
    group.close()  # closing twice is harmless
    assert group.run(insert(2)) == 2
    group.close()
    assert store.numbers() == [1, 2]


class Inserts:
    """A batchable write: one `run_many` inserts the values of every write of its group at once."""

    calls: list[list[int]] = []

    def __init__(self, value: int, batch_key: str = "numbers") -> None:
        self.value, self.batch_key = value, batch_key

    def run_many(self, connection, writes: list["Inserts"]) -> list:
        Inserts.calls.append([w.value for w in writes])
        if any(w.value == 13 for w in writes) and len(writes) > 1:
            raise RuntimeError("13 spoils its group")
        fresh = [w for w in writes if w.value >= 0]
        if fresh:
            connection.execute(text("INSERT INTO number VALUES (:v)"), [{"v": w.value} for w in fresh])
        return [w.value if w.value >= 0 else ValueError(f"{w.value} is refused") for w in writes]


def test_batchable_writes_of_one_key_share_one_call(store):
    Inserts.calls = []
    group = GroupCommit(store.begin)
    release, waiter = held_open(group)
    writes = [Inserts(1), Inserts(2), Inserts(-1), insert(3), Inserts(4), Inserts(5, batch_key="other")]
    outcomes = run_concurrently(group, writes, release)
    waiter.join()
    group.close()
    assert outcomes[:2] == [1, 2] and outcomes[3:] == [3, 4, 5]
    assert isinstance(outcomes[2], ValueError)  # returned by run_many, raised to its caller alone
    assert store.numbers() == [1, 2, 3, 4, 5]
    assert sum(len(call) for call in Inserts.calls) == 5  # each batchable write handled once
    assert len(Inserts.calls) < 5  # and some of them together


def test_a_group_whose_call_fails_runs_each_write_alone(store):
    Inserts.calls = []
    group = GroupCommit(store.begin)
    release, waiter = held_open(group)
    outcomes = run_concurrently(group, [Inserts(1), Inserts(13), Inserts(2)], release)
    waiter.join()
    group.close()
    assert outcomes == [1, 13, 2]
    assert store.numbers() == [1, 2, 13]
    assert [13] in Inserts.calls  # 13 alone succeeds: only its group failed


def test_batches_are_counted_and_waiting_writes_seen(store):
    group = GroupCommit(store.begin)
    release, waiter = held_open(group)
    threads = [threading.Thread(target=group.run, args=(insert(v),)) for v in (1, 2, 3)]
    for thread in threads:
        thread.start()
    wait_until(lambda: group.waiting() == 3)
    release.set()
    for thread in [waiter, *threads]:
        thread.join()
    group.close()
    assert group.batches_committed == 2  # the held write's batch, then the three together


def test_a_write_that_submits_another_is_our_bug_and_says_so(store):
    group = GroupCommit(store.begin)
    with pytest.raises(AssertionError, match="may not submit another write"):
        group.run(lambda connection: group.run(insert(1)))
    group.close()
    assert store.numbers() == []
