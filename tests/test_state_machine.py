"""A hypothesis state machine driving the real app through its HTTP API: entries (with
Idempotency-Key replays and reused keys), reversals, period closes and entries into closed
periods, against a model of the expected balances. After every step it checks DESIGN.md
section 4: balances (3, 4), idempotency (5), closed periods and balance rules (6), reversals
(7), the audit chain (11) and what a party-bound token may see (12)."""

import uuid
from datetime import date

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from api.app import create_app
from ledger.calendar import Period, periods_of_fiscal_year
from ledger.money import format_amount, parse_amount
from store import books
from tests.conftest import NOW, FixedClock, make_user

TODAY = date(2024, 6, 14)  # NOW in Bangkok
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2024, 6, 30)
CLOSABLE = [Period(2023, 12)] + [Period(2024, month) for month in range(1, 6)]
CODES = ["1100", "1200-01", "1290", "2100", "3100", "3200", "4100", "5400"]
RULES = {"debit_or_zero": lambda b: b >= 0, "credit_or_zero": lambda b: b <= 0, "none": lambda b: True}
CODE = st.sampled_from(CODES)


@st.composite
def balanced_lines(draw) -> list[tuple[str, int]]:
    debits = draw(st.lists(st.tuples(CODE, st.integers(1, 10**7)), min_size=1, max_size=2))
    total = sum(amount for _, amount in debits)
    credit_codes = draw(st.lists(CODE, min_size=1, max_size=2))
    if len(credit_codes) == 2 and total > 1:
        first = draw(st.integers(1, total - 1))
        credits = [(credit_codes[0], -first), (credit_codes[1], first - total)]
    else:
        credits = [(credit_codes[0], -total)]
    return draw(st.permutations(debits + credits))


class JournalMachine(RuleBasedStateMachine):
    """One fund book, an admin, and a token bound to the borrower party; the model holds what
    the ledger should say."""

    def __init__(self, databases) -> None:
        super().__init__()
        self.db, self._drop = databases.fresh()
        with self.db.write() as c:
            borrower = books.create_party(c, {"kind": "cooperative", "name_th": "สหกรณ์"}, now=NOW)
            book = books.create_book(c, {"code": "FUND", "kind": "fund", "name_th": "กองทุน"}, now=NOW)
            self.ids = {a["code"]: a["id"] for a in books.book_accounts(c, book["id"])}
            self.ids["1200-01"] = books.create_account(c, {
                "book_id": book["id"], "code": "1200-01", "name_th": "ลูกหนี้", "type": "asset",
                "balance_rule": "debit_or_zero", "parent_id": self.ids["1200"], "party_id": borrower["id"],
            }, now=NOW)["id"]  # fmt: skip
            self.rules = {a["id"]: a["balance_rule"] for a in books.book_accounts(c, book["id"])}
        self.book_id = book["id"]
        self.loan = self.ids["1200-01"]
        admin = make_user(self.db, "admin", "admin")
        self.admin = {"Authorization": f"Bearer {admin}"}
        coop = make_user(self.db, "coop", "enterprise", party_id=borrower["id"])
        self.coop = {"Authorization": f"Bearer {coop}"}
        self.client = TestClient(create_app(self.db, FixedClock()), raise_server_exceptions=False)
        self.client.__enter__()
        # The model.
        self.balances = dict.fromkeys(self.rules, 0)
        self.entries: dict[int, dict] = {}  # id -> effective date, postings, reverses, reversed_by
        self.closed_through: date | None = None
        self.answers: dict[str, tuple[str, dict, int, dict]] = {}  # key -> path, body, status, answer
        self.audited = 0  # writes the audit chain must hold, accepted or refused
        self.digest: dict | None = None

    def teardown(self) -> None:
        self.client.__exit__(None, None, None)
        self._drop()

    # --- talking to the app ----------------------------------------------------------------

    def post(self, path: str, body: dict, key: str | None = None):
        headers = {**self.admin, **({"Idempotency-Key": key} if key else {})}
        response = self.client.post(path, json=body, headers=headers)
        assert response.status_code != 500, response.text
        return response

    def expect_refusal(self, response, status: int, reason: str) -> None:
        assert (response.status_code, response.json()["reason"]) == (status, reason), response.text
        assert response.headers["content-type"] == "application/problem+json"

    def entry_body(self, day: date, lines: list[tuple[str, int]], description: str = "state machine") -> dict:
        postings = [{"account_id": self.ids[code], "amount": format_amount(amount)} for code, amount in lines]
        return {"book_id": self.book_id, "effective_date": day.isoformat(), "description": description,
                "postings": postings}  # fmt: skip

    def refusal(self, day: date, movements: list[tuple[int, int]]) -> tuple[int, str] | None:
        """The model's answer to a balanced entry: a refusal, or None to accept it."""
        if self.closed_through is not None and day <= self.closed_through:
            return 409, "period_closed"
        after = dict(self.balances)
        for account_id, amount in movements:
            after[account_id] += amount
        if any(not RULES[self.rules[a]](after[a]) for a in after):
            return 409, "insufficient_balance"
        return None

    def accept(self, answer: dict, day: date, movements: list[tuple[int, int]], reverses: int | None) -> None:
        assert answer["id"] not in self.entries and all(answer["id"] > e for e in self.entries)
        assert answer["effective_date"] == day.isoformat() and answer["book_id"] == self.book_id
        assert answer["reverses_entry_id"] == reverses and answer["reversed_by_entry_id"] is None
        posted = sorted((p["account_id"], p["amount"]) for p in answer["postings"])
        assert posted == sorted((a, format_amount(x)) for a, x in movements)
        self.entries[answer["id"]] = {"day": day, "movements": movements, "reverses": reverses, "reversed_by": None}
        for account_id, amount in movements:
            self.balances[account_id] += amount

    # --- rules -----------------------------------------------------------------------------

    @rule(day=st.dates(FIRST_DAY, LAST_DAY), lines=balanced_lines(), unbalanced=st.integers(0, 5))
    def post_entry(self, day, lines, unbalanced):
        """A new entry under a new key; one in six is off by a satang and refused."""
        if unbalanced == 0:
            lines = [*lines[:-1], (lines[-1][0], lines[-1][1] + 1)] if lines[-1][1] != -1 else [*lines, ("3200", 1)]
        key = uuid.uuid4().hex
        body = self.entry_body(day, lines)
        response = self.post("/v1/entries", body, key)
        self.audited += 1
        movements = [(self.ids[code], amount) for code, amount in lines]
        if unbalanced == 0:
            self.expect_refusal(response, 422, "unbalanced_entry")
            return
        expected = self.refusal(day, movements)
        if expected is not None:
            self.expect_refusal(response, *expected)
            return
        assert response.status_code == 201, response.text
        self.accept(response.json(), day, movements, None)
        self.answers[key] = ("/v1/entries", body, 201, response.json())

    @precondition(lambda self: self.closed_through is not None)
    @rule(data=st.data(), lines=balanced_lines())
    def post_into_closed_period(self, data, lines):
        day = data.draw(st.dates(date(2023, 10, 1), self.closed_through))
        response = self.post("/v1/entries", self.entry_body(day, lines), uuid.uuid4().hex)
        self.audited += 1
        self.expect_refusal(response, 409, "period_closed")

    @precondition(lambda self: self.answers)
    @rule(data=st.data())
    def replay_a_key(self, data):
        """The same key and body: the same answer, and nothing new happens (the invariants
        check that balances did not move and that nothing was audited)."""
        key = data.draw(st.sampled_from(sorted(self.answers)))
        path, body, status, answer = self.answers[key]
        response = self.post(path, body, key)
        assert response.status_code == status and response.json() == answer
        assert response.headers.get("Idempotent-Replayed") == "true"

    @precondition(lambda self: self.answers)
    @rule(data=st.data())
    def reuse_a_key_for_another_request(self, data):
        key = data.draw(st.sampled_from(sorted(self.answers)))
        path, body, _, _ = self.answers[key]
        how = data.draw(st.sampled_from(["description", "path"]))
        if how == "path" or path != "/v1/entries":
            other_path, other_body = f"/v1/entries/{data.draw(st.sampled_from(sorted(self.entries)))}/reversal", {}
            if other_path == path:
                other_body = {"date": "original" if body.get("date") != "original" else "today"}
        else:
            other_path, other_body = path, {**body, "description": body["description"] + " (changed)"}
        response = self.post(other_path, other_body, key)
        self.audited += 1
        self.expect_refusal(response, 409, "idempotency_key_reused")

    @precondition(lambda self: self.entries)
    @rule(data=st.data(), dated=st.sampled_from(["original", "today"]))
    def reverse_an_entry(self, data, dated):
        entry_id = data.draw(st.sampled_from(sorted(self.entries)))
        entry = self.entries[entry_id]
        key = uuid.uuid4().hex
        path = f"/v1/entries/{entry_id}/reversal"
        response = self.post(path, {"date": dated}, key)
        self.audited += 1
        if entry["reverses"] is not None or entry["reversed_by"] is not None:
            self.expect_refusal(response, 409, "already_reversed")
            return
        day = entry["day"] if dated == "original" else TODAY
        undo = [(account_id, -amount) for account_id, amount in entry["movements"]]
        expected = self.refusal(day, undo)
        if expected is not None:
            self.expect_refusal(response, *expected)
            return
        assert response.status_code == 201, response.text
        reversal = response.json()
        self.accept(reversal, day, undo, entry_id)
        entry["reversed_by"] = reversal["id"]
        self.answers[key] = (path, {"date": dated}, 201, reversal)

    @rule(period=st.sampled_from(CLOSABLE))
    def close_a_period(self, period):
        response = self.post(f"/v1/books/{self.book_id}/periods/close", {"period": period.name})
        self.audited += 1
        if self.closed_through is not None and period.end <= self.closed_through:
            self.expect_refusal(response, 409, "period_not_closable")
            return
        assert response.status_code == 200, response.text
        self.closed_through = period.end
        shown = {p["period"]: p["closed"] for p in response.json()}
        assert shown == {p.name: p.end <= period.end for p in periods_of_fiscal_year(period.fiscal_year)}

    @precondition(lambda self: self.audited > 0)
    @rule()
    def keep_a_digest(self):
        """An auditor keeps the head of the chain elsewhere, to check it later."""
        self.digest = self.client.get("/v1/audit/digest", headers=self.admin).json()
        assert self.digest["seq"] == self.audited

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def balances_and_trial_balance_match_the_model(self):
        """Invariants 3 and 4 as the API shows them: every account's balance (debit minus
        credit), equal columns, and the control account rolling up the borrower's loan."""
        trial = self.client.get(f"/v1/books/{self.book_id}/trial-balance", headers=self.admin).json()
        shown = {line["account_id"]: parse_amount(line["debit"]) - parse_amount(line["credit"])
                 for line in trial["lines"]}  # fmt: skip
        assert shown == self.balances
        debit = format_amount(sum(b for b in self.balances.values() if b > 0))
        assert trial["total_debit"] == trial["total_credit"] == debit
        control = next(line for line in trial["lines"] if line["code"] == "1200")
        loans = self.balances[self.ids["1200"]] + self.balances[self.loan]
        assert control["rolled_up_balance"] == format_amount(loans)

    @invariant()
    def stored_balances_are_sums_of_postings(self):
        with self.db.read() as c:
            rows = c.execute(text(
                "SELECT b.account_id, b.balance_satang, coalesce(sum(p.amount_satang), 0), count(p.id) "
                "FROM account_balance b LEFT JOIN posting p ON p.account_id = b.account_id "
                "GROUP BY b.account_id, b.balance_satang"
            )).all()  # fmt: skip
            links = dict(c.execute(text("SELECT id, reverses_entry_id FROM entry")).all())
        assert rows and all(balance == int(total) for _, balance, total, _ in rows)
        assert {r[0]: r[1] for r in rows if r[0] in self.balances} == self.balances
        assert links == {e: entry["reverses"] for e, entry in self.entries.items()}

    @invariant()
    def the_audit_chain_verifies(self):
        """Every write, accepted or refused, is one record; replays add none. A digest kept
        earlier still matches."""
        params = {"seq": self.digest["seq"], "hash": self.digest["hash"]} if self.digest else {}
        result = self.client.get("/v1/audit/verify", params=params, headers=self.admin).json()
        assert result["ok"] is True and result["records_checked"] == self.audited, result

    @precondition(lambda self: self.entries)
    @rule(data=st.data())
    def the_borrower_reads(self, data):
        """A token bound to the borrower reads an entry only if it touches the borrower's
        account, and reads that account's balance but not the fund's cash."""
        entry_id = data.draw(st.sampled_from(sorted(self.entries)))
        touches = any(a == self.loan for a, _ in self.entries[entry_id]["movements"])
        response = self.client.get(f"/v1/entries/{entry_id}", headers=self.coop)
        assert response.status_code == (200 if touches else 404), response.text
        if touches:
            entry = response.json()
            assert entry["reverses_entry_id"] == self.entries[entry_id]["reverses"]
            assert entry["reversed_by_entry_id"] == self.entries[entry_id]["reversed_by"]
        balance = self.client.get(f"/v1/accounts/{self.loan}/balance", headers=self.coop)
        assert balance.json()["balance"] == format_amount(self.balances[self.loan])
        cash = self.client.get(f"/v1/accounts/{self.ids['1100']}/balance", headers=self.coop)
        self.expect_refusal(cash, 404, "not_found")

    @rule()
    def the_borrower_lists_entries(self):
        """Invariant 12: a token bound to the borrower lists exactly the entries that touch
        its account, page by page."""
        seen, cursor = [], None
        while True:
            params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
            page = self.client.get("/v1/entries", params=params, headers=self.coop).json()
            seen += page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        touching = sorted(e for e, entry in self.entries.items() if any(a == self.loan for a, _ in entry["movements"]))
        assert [e["id"] for e in seen] == touching
        assert all(any(p["account_id"] == self.loan for p in e["postings"]) for e in seen)

    @initialize()
    def nothing_yet(self):
        assert self.client.get("/v1/audit/verify", headers=self.admin).json()["records_checked"] == 0


def test_the_journal_keeps_its_invariants_through_the_api(databases):
    run_state_machine_as_test(
        lambda: JournalMachine(databases),
        settings=settings(
            max_examples=8,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )

