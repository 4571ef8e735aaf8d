"""Load and contention on PostgreSQL: 16 clients at once against the real server, for a bounded
time, with a mixed workload of hot spots: postings that all move the fund's two hot accounts
(cash at bank and the fund's capital), loan repayments (cash at bank again, against a handful of
loans, so that clients collide on them), reversals of the client's own entries, sales of one
enterprise to one welfare fund (each locks the same six accounts of the pair, in two books), and
reads.

Every answer must be the one the operation expects (201 or 200): a deadlock or serialization
failure the server did not absorb by retrying, or any 5xx, is counted as reaching a client and
fails the run. The figures printed are the throughput and the p50/p99 latency of each kind of
request; at the end every invariant must hold (`reliability.invariants`), and the sales in the
database must be exactly those answered 201, each once.

The mix is a table (`MIX`): a kind of request is a weight and a function that makes one request
from the client's state; a new kind is one more row.

    python -m reliability.load [--db postgresql|sqlite] [--seconds 20] [--clients 16] [--seed 7]
"""

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text

from bench.client import Client, Server
from reliability import invariants
from reliability.service import Ledger, fresh_ledger, say
from store import users

LOANS = 4  # few, so that repayments collide on them
REPAYMENT_DAY = "2024-03-01"
SALE_DAY = "2024-06-03"
CHANNELS = ("market", "online_shop", "retailer")  # one rule for all of them: every sale contributes


@dataclass
class Welfare:
    """One enterprise selling under one contribution rule to one welfare fund."""

    enterprise_party_id: int
    fund_party_id: int
    enterprise_token: str  # bound to the enterprise: it records its own sales, as its staff would


@dataclass
class Setup:
    ledger: Ledger
    officer: str
    loan_ids: list[int]
    welfare: Welfare


@dataclass
class ClientState:
    number: int
    rng: random.Random
    setup: Setup
    entries: list[int] = field(default_factory=list)  # its own, not yet reversed
    sequence: int = 0

    def key(self, kind: str) -> str:
        self.sequence += 1
        return f"load-{self.number}-{kind}-{self.sequence}"


Request = tuple[str, str, dict | None, str | None, str | None, int]  # method, path, body, key, token, status


def posting(state: ClientState) -> Request:
    ledger, amount = state.setup.ledger, f"{state.rng.randint(1, 100_000) / 100:.2f}"
    debit, credit = ("1100", "3100") if state.rng.random() < 0.5 else ("5100", "1100")
    lines = [(ledger.accounts[debit], amount), (ledger.accounts[credit], f"-{amount}")]
    return "POST", "/v1/entries", ledger.entry_body(lines, description="load"), state.key("entry"), None, 201


def repayment(state: ClientState) -> Request:
    loan_id = state.rng.choice(state.setup.loan_ids)
    body = {"amount": f"{state.rng.randint(100, 5_000) / 100:.2f}", "effective_date": REPAYMENT_DAY}
    return "POST", f"/v1/loans/{loan_id}/repayments", body, state.key("repay"), state.setup.officer, 201


def reversal(state: ClientState) -> Request:
    if not state.entries:
        return posting(state)
    entry_id = state.entries.pop(state.rng.randrange(len(state.entries)))
    return "POST", f"/v1/entries/{entry_id}/reversal", {"date": "original"}, state.key("undo"), None, 201


def sale(state: ClientState) -> Request:
    welfare, rng = state.setup.welfare, state.rng
    body = {"enterprise_party_id": welfare.enterprise_party_id, "effective_date": SALE_DAY,
            "channel": rng.choice(CHANNELS), "amount": f"{rng.randint(100, 500_000) / 100:.2f}",
            "payment": rng.choice(["cash", "credit"])}  # fmt: skip
    return "POST", "/v1/sales", body, state.key("sale"), welfare.enterprise_token, 201


def read(state: ClientState) -> Request:
    ledger, welfare = state.setup.ledger, state.setup.welfare
    path = state.rng.choice([
        f"/v1/accounts/{ledger.accounts['1100']}/balance", f"/v1/books/{ledger.book_id}/trial-balance",
        f"/v1/entries?book_id={ledger.book_id}&limit=20", f"/v1/loans/{state.rng.choice(state.setup.loan_ids)}",
        f"/v1/sales?enterprise_party_id={welfare.enterprise_party_id}&limit=20",
        f"/v1/welfare-funds/{welfare.fund_party_id}/receivables",
    ])  # fmt: skip
    return "GET", path, None, None, None, 200


MIX: dict[str, tuple[int, Callable[[ClientState], Request]]] = {
    "posting": (40, posting),
    "repayment": (15, repayment),
    "sale": (15, sale),
    "reversal": (10, reversal),
    "read": (20, read),
}


@dataclass
class Results:
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    sale_ids: list[int] = field(default_factory=list)  # as answered 201
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_loop(state: ClientState, port: int, deadline: float, results: Results) -> None:
    tokens = (state.setup.officer, state.setup.welfare.enterprise_token)
    clients = {None: Client(port, state.setup.ledger.token), **{token: Client(port, token) for token in tokens}}
    kinds, weights = list(MIX), [weight for weight, _ in MIX.values()]
    while time.monotonic() < deadline:
        kind = state.rng.choices(kinds, weights)[0]
        method, path, body, key, token, expected = MIX[kind][1](state)
        headers = {"Content-Type": "application/json", "Idempotency-Key": key} if key else None
        started = time.perf_counter()
        status, answer = clients[token].request(method, path, json.dumps(body).encode() if body else None, headers)
        elapsed_ms = (time.perf_counter() - started) * 1000
        with results.lock:
            results.latencies_ms.setdefault(kind, []).append(elapsed_ms)
            if status != expected:
                results.failures.append(f"{kind} {method} {path}: {status} {answer[:200]!r}")
        if status == 201 and path == "/v1/entries":
            state.entries.append(json.loads(answer)["id"])
        if status == 201 and path == "/v1/sales":
            with results.lock:
                results.sale_ids.append(json.loads(answer)["id"])
    for client in clients.values():
        client.close()


def prepare(ledger: Ledger, port: int) -> Setup:
    """Cash for the fund, an officer, an approver, LOANS loans disbursed, and a welfare fund."""
    with ledger.db.write() as connection:
        now = datetime.now(UTC)
        officer = users.add_user(connection, name="load-officer", role="officer", party_id=None, now=now)[1]
        approver = users.add_user(connection, name="load-approver", role="approver", party_id=None, now=now)[1]
    admin = Client(port, ledger.token)
    cash = [(ledger.accounts["1100"], "100000000.00"), (ledger.accounts["3100"], "-100000000.00")]
    _created(admin.post("/v1/entries", ledger.entry_body(cash, description="capital", day="2024-01-02"), "capital"))
    product = {"book_id": ledger.book_id, "code": "LOAD", "name_th": "สินเชื่อ", "rate_annual_percent": "6",
               "term_instalments": 12}  # fmt: skip
    product_id = _created(admin.post("/v1/loan-products", product, "product"))["id"]
    loan_ids = []
    for number in range(LOANS):
        party = _created(admin.post("/v1/parties", {"kind": "cooperative", "name_th": f"สหกรณ์ {number}"}, f"p{number}"))
        application = {"product_id": product_id, "borrower_party_id": party["id"], "amount": "1000000.00",
                       "savings": "100000.00"}  # fmt: skip
        loan_id = _created(Client(port, officer).post("/v1/loans", application, f"loan{number}"))["id"]
        Client(port, approver).post(f"/v1/loans/{loan_id}/approval", {}, f"approve{number}")
        disbursement = {"amount": "1000000.00", "effective_date": "2024-01-31"}
        _created(Client(port, officer).post(f"/v1/loans/{loan_id}/disbursements", disbursement, f"d{number}"))
        loan_ids.append(loan_id)
    admin.close()
    return Setup(ledger, officer, loan_ids, prepare_welfare(ledger, port))


def prepare_welfare(ledger: Ledger, port: int) -> Welfare:
    """An enterprise and a welfare fund, each with its book, a 5 % rule between them for every
    channel, and a token bound to the enterprise."""
    admin = Client(port, ledger.token)
    enterprise = {"kind": "community_enterprise", "name_th": "วิสาหกิจ", "region": "north", "province": "Nan"}
    enterprise_id = _created(admin.post("/v1/parties", enterprise, "enterprise"))["id"]
    fund_id = _created(admin.post("/v1/parties", {"kind": "welfare_fund", "name_th": "กองทุนสวัสดิการ"}, "wf"))["id"]
    for code, kind, party in (("CE", "enterprise", enterprise_id), ("WF", "welfare_fund", fund_id)):
        book = {"code": code, "kind": kind, "name_th": code, "party_id": party}
        _created(admin.post("/v1/books", book, f"book-{code}"))
    rule = {"enterprise_party_id": enterprise_id, "fund_party_id": fund_id, "rate_percent": "5",
            "effective_from": "2024-01-01"}  # fmt: skip
    _created(admin.post("/v1/contribution-rules", rule, "rule"))
    admin.close()
    with ledger.db.write() as connection:
        token = users.add_user(connection, name="load-enterprise", role="enterprise", party_id=enterprise_id,
                               now=datetime.now(UTC))[1]  # fmt: skip
    return Welfare(enterprise_id, fund_id, token)


def _created(answer: tuple[int, bytes]) -> dict:
    status, body = answer
    if status not in (200, 201):
        raise RuntimeError(f"setting up: {status} {body[:300]!r}")
    return json.loads(body)


def latency(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms) or [0.0]
    return {f"p{p} ms": round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1) for p in (50, 99)}


def run(kind: str, seconds: float, clients: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir, fresh_ledger(kind, "load", workdir) as ledger:
        server = Server(ledger.url)
        try:
            setup = prepare(ledger, server.port)
            results, deadline = Results(), time.monotonic() + seconds
            states = [ClientState(i, random.Random(seed * 1000 + i), setup) for i in range(clients)]
            threads = [threading.Thread(target=client_loop, args=(s, server.port, deadline, results)) for s in states]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        finally:
            server.stop()
        everything = [ms for values in results.latencies_ms.values() for ms in values]
        figures = {
            "database": kind, "clients": clients, "seconds": round(elapsed, 1), "requests": len(everything),
            "requests per second": round(len(everything) / elapsed, 1), **latency(everything),
            "by kind": {kind_: {"n": len(values), **latency(values)} for kind_, values in results.latencies_ms.items()},
            "failures reaching clients": results.failures[:20],
            "invariants": invariants.check(ledger.db) + sales_recorded_once(ledger, results.sale_ids),
        }  # fmt: skip
        say(f"load {kind}: {json.dumps(figures, ensure_ascii=False)}")
        return figures


def sales_recorded_once(ledger: Ledger, answered: list[int]) -> list[str]:
    """The sales in the database are those answered 201, each once (a retried request carries
    its Idempotency-Key, so it may not add one)."""
    with ledger.db.read() as connection:
        stored = connection.execute(text("SELECT id FROM welfare_sale")).scalars().all()
    if sorted(stored) == sorted(answered):
        return []
    return [f"sales: {len(answered)} answered 201 ({len(set(answered))} ids), {len(stored)} in the database"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    figures = run(args.db, args.seconds, args.clients, args.seed)
    return 1 if figures["failures reaching clients"] or figures["invariants"] else 0


if __name__ == "__main__":
    sys.exit(main())
