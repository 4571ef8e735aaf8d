"""Several server processes on one PostgreSQL database, as `codi-ledger run` starts them: one
server of two worker processes (`--workers 2`) and another of one, driven at once through both
ports, the same Idempotency-Keys sent to both at the same moment. Afterwards: one effect per key,
every balance the sum of its postings, the audit chain whole, and the first server's /metrics
adding up its two workers' figures."""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from store import audit_log
from store.integrity import balance_mismatches
from tests.conftest import ON_POSTGRES, make_user
from tests.test_serving import free_port

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="more than one server process needs PostgreSQL (CODI_TEST_DB=postgres)"),
]

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 120
THREADS = 6
OWN_ENTRIES = 6  # each thread's, under keys of its own
SHARED_KEYS = 8  # each sent by two threads at once, one through each server


@contextmanager
def server(url: str, *args: str) -> Iterator[int]:
    """`codi-ledger run ARGS` in processes of its own, on a free port, until the block ends."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CODI_METRICS_ALLOW": "127.0.0.1", "PYTHONPATH": str(ROOT),
           "CODI_LOG_LEVEL": "warning"}  # fmt: skip
    command = [sys.executable, "-m", "api.cli", "run", "--port", str(port), *args]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while call(port, "GET", "/ready")[0] != 200:
            assert process.poll() is None, f"the server exited with {process.returncode}"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        process.wait(60)


def call(port: int, method: str, path: str, body: dict | None = None, headers=None) -> tuple[int, dict, str]:
    """(status, headers by lower-case name, body text); status 0 when nothing answers yet."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        payload = None if body is None else json.dumps(body).encode()
        connection.request(method, path, payload, {"Content-Type": "application/json", **(headers or {})})
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read().decode()
    except ConnectionRefusedError:
        return 0, {}, ""
    finally:
        connection.close()


def deposit(fund: dict, satang: int) -> dict:
    amount = f"{satang // 100}.{satang % 100:02d}"
    return {"book_id": fund["book_id"], "effective_date": "2024-06-10", "description": "deposit",
            "postings": [{"account_id": fund["1100"], "amount": amount},
                         {"account_id": fund["3100"], "amount": f"-{amount}"}]}  # fmt: skip


def test_two_servers_on_one_database_keep_every_invariant(db, fund):
    token = make_user(db, "admin", "admin")
    auth = {"Authorization": f"Bearer {token}"}
    sent: dict[str, int] = {}  # key -> satang
    answers: dict[str, list[tuple[int, dict, str]]] = {}
    lock, failures = threading.Lock(), []

    with server(db.url, "--workers", "2") as two_workers, server(db.url) as one_worker:
        ports = (two_workers, one_worker)
        together = threading.Barrier(2)

        def post(port: int, key: str, satang: int) -> None:
            answer = call(port, "POST", "/v1/entries", deposit(fund, satang), {**auth, "Idempotency-Key": key})
            with lock:
                sent[key] = satang
                answers.setdefault(key, []).append(answer)

        def writer(thread: int) -> None:
            try:
                for n in range(OWN_ENTRIES):
                    post(ports[(thread + n) % 2], f"own-{thread}-{n}", 100 * (thread + 1) + n)
                if thread < 2:  # the pair that races the shared keys, one thread per server
                    for n in range(SHARED_KEYS):
                        together.wait(timeout=60)
                        post(ports[thread], f"shared-{n}", 5_000 + n)
            except BaseException as error:  # reported in the test's thread
                failures.append(error)

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        assert failures == [] and not any(t.is_alive() for t in threads)

        status, _, figures = call(two_workers, "GET", "/metrics")
        assert status == 200

    # Every write answered, each shared key with one effect and the same answer through both servers.
    assert {status for got in answers.values() for status, _, _ in got} == {201}
    for n in range(SHARED_KEYS):
        got = answers[f"shared-{n}"]
        assert len(got) == 2 and got[0][2] == got[1][2]
        assert sorted(headers.get("idempotent-replayed", "") for _, headers, _ in got) == ["", "true"]
    entry_ids = {json.loads(body)["id"] for got in answers.values() for _, _, body in got}
    assert len(entry_ids) == len(sent) == THREADS * OWN_ENTRIES + SHARED_KEYS

    with db.read() as connection:
        assert connection.execute(text("SELECT count(*) FROM entry")).scalar_one() == len(sent)
        cash = connection.execute(text("SELECT balance_satang FROM account_balance WHERE account_id = :a"),
                                  {"a": fund["1100"]}).scalar_one()  # fmt: skip
        assert cash == sum(sent.values())
        assert balance_mismatches(connection, limit=5) == []
        chain = audit_log.verify(connection)
        assert chain.ok, chain.problem
        assert chain.records_checked == len(sent)  # one record per effect; replays write none

    # The first server's two workers, added up: every POST it answered is counted once.
    counted = sum(float(line.rsplit(" ", 1)[1]) for line in figures.splitlines()
                  if line.startswith('codi_http_requests_total{method="POST",route="/v1/entries"'))  # fmt: skip
    own_through_first = sum((thread + n) % 2 == 0 for thread in range(THREADS) for n in range(OWN_ENTRIES))
    assert counted == own_through_first + SHARED_KEYS
