"""Many writers at once, on PostgreSQL (SQLite has one writer at a time, so there is nothing to
race there): threads post through the real app to a few shared accounts, some of them refused
for want of balance, some repeating each other's Idempotency-Keys, some racing to reverse the
same entry. Afterwards every figure must be exact: nothing lost, nothing doubled, no balance
rule broken at any point of the order the database chose, no error of the database's own
(deadlock, serialization failure) reaching a client, and the audit chain whole."""

import random
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Date, text

from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="concurrent writers need PostgreSQL (CODI_TEST_DB=postgres)")

THREADS = 10
SHARED_KEYS = 4  # deposits every thread sends under the same keys
OWN_OPERATIONS = {"deposit": 2, "spend": 3, "lend": 2, "repay": 2, "impossible": 1, "reverse": 1}
SEED_CAPITAL = 200_00  # satang in cash before the threads start: small, so spends get refused
IMPOSSIBLE = 1_000_000_00  # more than all the cash there can ever be: refused in any order


def baht(satang: int) -> str:
    sign = "-" if satang < 0 else ""
    return f"{sign}{abs(satang) // 100}.{abs(satang) % 100:02d}"


def satang(amount: str) -> int:
    return int(Decimal(amount) * 100)


@dataclass(frozen=True)
class Request:
    kind: str
    key: str
    day: str
    lines: tuple[tuple[int, int], ...]  # (account id, satang)


@dataclass(frozen=True)
class Answer:
    request: Request
    status: int
    body: dict
    replayed: bool
    content_type: str


def plan(fund: dict, thread: int, shared: list[Request]) -> list[Request]:
    """One thread's requests, in a shuffled order of its own (seeded, so a failure replays)."""
    rng = random.Random(thread)
    cash, capital, expense, loan, interest = (fund[c] for c in ("1100", "3100", "5400", "loan", "4100"))
    mine: list[Request] = list(shared)
    for kind, count in OWN_OPERATIONS.items():
        for n in range(count):
            amount = rng.randint(1_00, 300_00)
            lines = {
                "deposit": ((cash, amount), (capital, -amount)),
                "spend": ((expense, amount), (cash, -amount)),
                "lend": ((loan, amount), (cash, -amount)),
                # a repayment with interest: three postings
                "repay": ((cash, amount // 3 + 7), (loan, -(amount // 3)), (interest, -7)),
                "impossible": ((expense, IMPOSSIBLE), (cash, -IMPOSSIBLE)),
                "reverse": (),
            }[kind]
            day = f"2024-0{rng.choice((5, 6))}-{rng.randint(1, 28):02d}"
            mine.append(Request(kind, f"t{thread}-{kind}-{n}", day, lines))
    rng.shuffle(mine)
    return mine


def send(client: TestClient, token: str, fund: dict, request: Request, reversed_id: int) -> Answer:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": request.key}
    if request.kind == "reverse":
        response = client.post(f"/v1/entries/{reversed_id}/reversal", json={}, headers=headers)
    else:
        body = {
            "book_id": fund["book_id"],
            "effective_date": request.day,
            "description": request.kind,
            "postings": [{"account_id": a, "amount": baht(s)} for a, s in request.lines],
        }
        response = client.post("/v1/entries", json=body, headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = {"text": response.text}
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    return Answer(request, response.status_code, body, replayed, response.headers.get("content-type", ""))


def test_concurrent_writers_keep_every_figure_exact(api, db, fund):
    cash, capital, expense = fund["1100"], fund["3100"], fund["5400"]
    seed = api.entry(fund["book_id"], [(cash, baht(SEED_CAPITAL)), (capital, baht(-SEED_CAPITAL))])
    assert seed.status_code == 201, seed.text
    target = api.entry(fund["book_id"], [(expense, "1.00"), (cash, "-1.00")], day="2024-05-02")
    assert target.status_code == 201, target.text
    reversed_id = target.json()["id"]
    rng = random.Random(99)
    shared = [
        Request("deposit", f"shared-{n}", "2024-06-15", ((cash, amount), (capital, -amount)))
        for n, amount in enumerate(rng.randint(50_00, 500_00) for _ in range(SHARED_KEYS))
    ]
    plans = [plan(fund, t, shared) for t in range(THREADS)]
    most_cash = SEED_CAPITAL + sum(s for p in plans for r in p for a, s in r.lines if a == cash and s > 0)
    assert IMPOSSIBLE > most_cash

    app = api.client.app
    answers: list[list[Answer]] = [[] for _ in range(THREADS)]
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> None:
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                start.wait(timeout=120)
                for request in plans[thread]:
                    answers[thread].append(send(client, api.token, fund, request, reversed_id))
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a writer hangs: a deadlock or a lost lock"
    assert failures == []
    everything = [a for per_thread in answers for a in per_thread]
    assert len(everything) == sum(len(p) for p in plans)

    # No database error reaches a client: each answer is an entry or a refusal we expect.
    statuses = Counter(a.status for a in everything)
    assert set(statuses) <= {201, 409}, [a for a in everything if a.status not in (201, 409)][:3]
    for answer in everything:
        if answer.status == 409:
            assert answer.content_type == "application/problem+json"
            expected = {"already_reversed"} if answer.request.kind == "reverse" else {"insufficient_balance"}
            assert answer.body["reason"] in expected, answer
    assert [a.status for a in everything if a.request.kind == "impossible"] == [409] * THREADS

    # Shared keys: one effect each, the same answer to every thread, replayed to all but one.
    for request in shared:
        got = [a for a in everything if a.request.key == request.key]
        assert len(got) == THREADS
        assert {a.status for a in got} == {201}
        assert all(a.body == got[0].body for a in got)
        assert sum(not a.replayed for a in got) == 1

    # The reversal: exactly one thread wins it.
    reversals = [a for a in everything if a.request.kind == "reverse"]
    assert [a.status for a in reversals].count(201) == 1
    [won] = [a for a in reversals if a.status == 201]
    assert won.body["reverses_entry_id"] == reversed_id
    assert api.get(f"/v1/entries/{reversed_id}").json()["reversed_by_entry_id"] == won.body["id"]

    # What was accepted, from what we sent (not from what the server says it did).
    accepted: dict[int, tuple[tuple[int, int], ...]] = {
        seed.json()["id"]: ((cash, SEED_CAPITAL), (capital, -SEED_CAPITAL)),
        reversed_id: ((expense, 100), (cash, -100)),
    }
    for answer in everything:
        if answer.status != 201:
            continue
        lines = answer.request.lines or ((expense, -100), (cash, 100))  # the reversal's
        sent = [(a, baht(s)) for a, s in lines]
        assert [(p["account_id"], p["amount"]) for p in answer.body["postings"]] == sent
        assert accepted.setdefault(answer.body["id"], lines) == lines
    replays = sum(a.replayed for a in everything)
    assert replays == SHARED_KEYS * (THREADS - 1)
    assert len(accepted) == 2 + statuses[201] - replays

    totals: dict[int, int] = defaultdict(int)
    for lines in accepted.values():
        for account_id, amount in lines:
            totals[account_id] += amount
    expected = dict(totals)

    # The order the database chose: every entry touches cash, so entries were serialized on
    # its balance row and numbered in that order; replayed in it, no rule ever breaks.
    running: dict[int, int] = defaultdict(int)
    for entry_id in sorted(accepted):
        for account_id, amount in accepted[entry_id]:
            running[account_id] += amount
        assert running[cash] >= 0 and running[fund["loan"]] >= 0 and running[capital] <= 0, entry_id

    for account_id in {cash, capital, expense, fund["loan"], fund["4100"]}:
        balance = api.get(f"/v1/accounts/{account_id}").json()["balance"]
        assert satang(balance) == expected.get(account_id, 0), account_id

    with db.read() as connection:
        stored = connection.execute(text("SELECT id FROM entry ORDER BY id")).scalars().all()
        assert stored == sorted(accepted)
        kept = dict(connection.execute(text("SELECT account_id, balance_satang FROM account_balance")).all())
        summed = dict(
            connection.execute(text("SELECT account_id, sum(amount_satang) FROM posting GROUP BY account_id")).all()
        )
        counts = dict(connection.execute(text("SELECT account_id, posting_count FROM account_balance")).all())
        posted = dict(connection.execute(text("SELECT account_id, count(*) FROM posting GROUP BY account_id")).all())
        months = {
            (r[0], r[1]): r[2]
            for r in connection.execute(
                text("SELECT account_id, month_start, movement_satang FROM account_month").columns(month_start=Date)
            )
        }
        by_month = {
            (r[0], r[1]): int(r[2])
            for r in connection.execute(
                text(
                    "SELECT account_id, date_trunc('month', effective_date)::date, "
                    "sum(amount_satang) FROM posting GROUP BY 1, 2"
                )
            )
        }
        audit_count = connection.execute(text("SELECT count(*) FROM audit_record")).scalar_one()
    assert {a: int(s) for a, s in summed.items()} == expected
    assert {a: b for a, b in kept.items() if a in summed or b} == expected
    assert {a: c for a, c in counts.items() if c} == posted
    assert months == by_month
    assert sum(kept.values()) == 0

    # Every write and every refusal audited once, in one unbroken chain.
    assert audit_count == len(accepted) + statuses[409]
    verification = api.get("/v1/audit/verify").json()
    assert verification["ok"] is True, verification
    assert verification["records_checked"] == audit_count
