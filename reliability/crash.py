"""Crash safety: the real server (`codi-ledger run`, uvicorn) killed with SIGKILL at random moments
while several clients write to it, then started again, on SQLite and on PostgreSQL.

Each client posts entries (the Idempotency-Key in the description too, so the database itself
says how often each write landed) and now and then reverses one of its own. A write answered
201 is *acknowledged*; one that met a dead server is *unacknowledged*. At the end, the server up
again, every unacknowledged write is sent again with its key, and then:

- every acknowledged write is in the database exactly once, with the id it was answered with;
- every retried write completed, and no write is there twice;
- no entry is partial, every balance is the sum of its postings, every book sums to zero and
  the audit chain verifies (`reliability.invariants`).

    python -m reliability.crash [--db sqlite|postgresql|both] [--seconds 30] [--clients 4] [--seed 7]

Exit status 0 when everything held. PostgreSQL: a database made on BENCH_PG_URL (or
TEST_DATABASE_URL), dropped afterwards.
"""

import argparse
import http.client
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import text

from bench.client import Client, Server
from reliability import invariants
from reliability.service import Ledger, database_kinds, fresh_ledger, say

KILL_AFTER_S = (0.3, 2.0)  # a kill comes this long after the server answered its health check
REVERSE_ONE_IN = 5


@dataclass
class Writes:
    """What the clients sent: key -> (path, body), and the answers they got."""

    sent: dict[str, tuple[str, dict]] = field(default_factory=dict)
    acknowledged: dict[str, int] = field(default_factory=dict)  # key -> entry id answered
    unacknowledged: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Crashes:
    """The server, killed and started again by one thread while the clients write."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.server = Server(url)
        self.kills = 0
        self.up = threading.Event()
        self.up.set()

    def port(self) -> int:
        self.up.wait()
        return self.server.port

    def kill_and_restart(self) -> None:
        self.up.clear()
        self.server.process.kill()  # SIGKILL: no shutdown, no flush, no goodbye
        self.server.process.wait()
        self.kills += 1
        self.server = Server(self.url)
        self.up.set()


def client_loop(number: int, ledger: Ledger, crashes: Crashes, writes: Writes, stop: threading.Event, seed: int):
    rng = random.Random(seed * 1000 + number)
    mine: list[int] = []
    client = Client(crashes.port(), ledger.token)
    for n in range(10**9):
        if stop.is_set():
            break
        key = f"crash-{number}-{n}"
        path, body = _next_write(rng, ledger, mine, key)
        with writes.lock:
            writes.sent[key] = (path, body)
        try:
            status, answer = client.post(path, body, key)
        except (OSError, http.client.HTTPException):  # killed before, or while, it answered
            with writes.lock:
                writes.unacknowledged.add(key)
            client.close()
            client = Client(crashes.port(), ledger.token)
            continue
        if status != 201:
            raise AssertionError(f"{key}: {status} {answer[:300]!r}")
        entry_id = json.loads(answer)["id"]
        with writes.lock:
            writes.acknowledged[key] = entry_id
        if path == "/v1/entries":
            mine.append(entry_id)
    client.close()


def _next_write(rng: random.Random, ledger: Ledger, mine: list[int], key: str) -> tuple[str, dict]:
    if mine and rng.randrange(REVERSE_ONE_IN) == 0:
        entry_id = mine.pop(rng.randrange(len(mine)))
        return f"/v1/entries/{entry_id}/reversal", {"date": "original", "description": f"undo {key}"}
    amount = f"{rng.randint(1, 10**6) / 100:.2f}"
    lines = [(ledger.accounts["1100"], amount), (ledger.accounts["3100"], f"-{amount}")]
    return "/v1/entries", ledger.entry_body(lines, description=key)


def run_one(kind: str, seconds: float, clients: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir, fresh_ledger(kind, "crash", workdir) as ledger:
        rng, writes, stop = random.Random(seed), Writes(), threading.Event()
        crashes = Crashes(ledger.url)
        threads = [
            threading.Thread(target=client_loop, args=(i, ledger, crashes, writes, stop, seed), daemon=True)
            for i in range(clients)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(*KILL_AFTER_S))
            crashes.kill_and_restart()
        stop.set()
        for thread in threads:
            thread.join(60)
        retried = retry_unacknowledged(crashes, ledger, writes)
        crashes.server.stop()
        problems = verify(ledger, writes) + invariants.check(ledger.db)
        figures = {
            "database": kind, "seconds": seconds, "clients": clients, "seed": seed, "kills": crashes.kills,
            "writes sent": len(writes.sent), "acknowledged": len(writes.acknowledged) - retried,
            "unacknowledged, retried": retried, "writes verified": len(writes.sent), "problems": problems,
        }  # fmt: skip
        say(f"crash {kind}: {figures}")
        return figures


def retry_unacknowledged(crashes: Crashes, ledger: Ledger, writes: Writes) -> int:
    """Send every unacknowledged write again with its key: each must now complete (201)."""
    client = Client(crashes.port(), ledger.token)
    for key in sorted(writes.unacknowledged):
        path, body = writes.sent[key]
        status, answer = client.post(path, body, key)
        if status != 201:
            raise AssertionError(f"retry of {key}: {status} {answer[:300]!r}")
        writes.acknowledged[key] = json.loads(answer)["id"]
    client.close()
    return len(writes.unacknowledged)


def verify(ledger: Ledger, writes: Writes) -> list[str]:
    """Each write sent is in the database exactly once, with the id its answer named."""
    with ledger.db.read() as connection:
        rows = connection.execute(text("SELECT id, description FROM entry")).all()
    found: dict[str, list[int]] = {}
    for entry_id, description in rows:
        key = description.removeprefix("undo ")
        found.setdefault(key, []).append(entry_id)
    times = {key: len(found.get(key, [])) for key in writes.sent}
    problems = [f"{key}: recorded {count} times" for key, count in times.items() if count != 1]
    problems += [f"{key}: answered {entry_id}, recorded as {found.get(key)}"
                 for key, entry_id in writes.acknowledged.items() if found.get(key) != [entry_id]]  # fmt: skip
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.crash", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    results = [run_one(kind, args.seconds, args.clients, args.seed) for kind in database_kinds(args.db)]
    for result in results:
        for problem in result["problems"][:20]:
            print(f"{result['database']}: {problem}", file=sys.stderr)
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
