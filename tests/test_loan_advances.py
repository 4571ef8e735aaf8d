"""Advance payments: what a repayment beyond what is due does (`ledger.loan_book.advance_payment`,
`advanced_schedule`), under each of the three choices.

- Worked example: 100,000 baht at 12 % a year over 12 months, disbursed 15 January 2024, and
  40,000 baht paid on 1 March 2024 (the first instalment, then 15 of the second period's 29
  days of interest, the rest principal), each choice checked against a schedule computed here
  in plain Decimal, independently of `ledger.loans`.
- Properties (hypothesis) of each choice over random loans, dates and amounts.
- Through the store: the same repayments give the same loan whatever order they are recorded
  in (each one recorded out of order is backdated: the later ones are re-allocated).
"""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.accounts import EntryDraft, Posting
from ledger.loan_book import (
    LoanTx,
    TxKind,
    advanced_schedule,
    days_past_due,
    instalment_payments,
    interest_earned_through,
    is_settled,
    repayment,
    totals,
)
from ledger.loans import AdvancePayment, Component, LoanTerms, allocate_payment, schedule
from store import books, journal, loans, users
from tests.conftest import NOW

AMOUNT, DISBURSED, PAID_ON = 10_000_000, date(2024, 1, 15), date(2024, 3, 1)
RATE = Decimal("0.01")  # 12 % a year, a month
CENT = Decimal(1)


def _satang(value: Decimal) -> int:
    return int(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _level(balance: int, count: int) -> int:
    return _satang(Decimal(balance) * RATE / (1 - (1 + RATE) ** -count))


def _reference(balance: int, count: int, first_factor: Decimal) -> list[tuple[int, int]]:
    """(principal, interest) of `count` level instalments repaying `balance`, the first period's
    interest at `first_factor`, the others at RATE; the last takes what is left."""
    level, rows = _level(balance, count), []
    for k in range(count):
        interest = _satang(Decimal(balance) * (first_factor if k == 0 else RATE))
        principal = balance if k == count - 1 else level - interest
        rows.append((principal, interest))
        balance -= principal
    return rows


def _terms(mode: AdvancePayment) -> LoanTerms:
    return LoanTerms(rate_annual_percent=Decimal("12"), term_instalments=12, advance_payment=mode)


def _paid(mode: AdvancePayment, amount_satang: int = 4_000_000):
    """The worked example: the loan, the allocation of the payment and the schedule after it."""
    terms = _terms(mode)
    plan = schedule(AMOUNT, terms, DISBURSED)
    lent = [LoanTx(TxKind.disbursement, DISBURSED, AMOUNT, AMOUNT)]
    allocation, _ = repayment(amount_satang, plan, terms, totals(lent), PAID_ON)
    tx = LoanTx(TxKind.repayment, PAID_ON, amount_satang, allocation.principal_satang, allocation.interest_satang,
                0, allocation.overpayment_satang)  # fmt: skip
    after = advanced_schedule(plan, terms, PAID_ON, allocation.principal_satang)
    return plan, allocation, after, [*lent, tx]


def _example_stub() -> tuple[int, int, int]:
    """By hand: the first instalment paid, the second period's interest earned 15 Feb..29 Feb
    (15 of its 29 days), and the principal the rest of 40,000 baht repays."""
    first = _reference(AMOUNT, 12, RATE)[0]
    balance = AMOUNT - first[0]
    stub = _satang(Decimal(_satang(Decimal(balance) * RATE)) * 15 / 29)
    advanced = 4_000_000 - sum(first) - stub
    return stub, advanced, balance - advanced


def test_reduce_instalment_worked_example():
    _, allocation, after, _ = _paid(AdvancePayment.reduce_instalment)
    stub, advanced, balance = _example_stub()
    assert (stub, advanced, balance) == (47_646, 3_063_866, 6_147_646)  # 476.46, 30,638.66, 61,476.46
    assert allocation.interest_satang == 100_000 + stub and allocation.overpayment_satang == 0
    assert allocation.principal_satang == 788_488 + advanced
    rows = after.instalments
    assert (rows[1].due_on, rows[1].principal_satang, rows[1].interest_satang) == (PAID_ON, advanced, stub)
    # The 61,476.46 left over the same 11 due dates; the first period 1..15 March is the last 14
    # days of the period of 29 that the payment fell in (15 February to 15 March), so it charges
    # 14/29 of a month's interest.
    expected = _reference(balance, 11, RATE * 14 / 29)
    assert [(i.principal_satang, i.interest_satang) for i in rows[2:]] == expected
    assert _level(balance, 11) == 592_966 and rows[2].total_satang == 592_966  # 5,929.66 instead of 8,884.88
    assert [i.due_on for i in rows[2:]] == [date(2024, 3 + k, 15) for k in range(10)] + [date(2025, 1, 15)]


def test_reduce_term_worked_example():
    before, _, after, _ = _paid(AdvancePayment.reduce_term)
    _, _, balance = _example_stub()
    old_level = before.instalments[1].total_satang
    assert old_level == _level(AMOUNT, 12) == 888_488
    # The fewest instalments none of which asks more than 8,884.88: 8 (7 would ask 9,137.14).
    fits = [n for n in range(1, 12) if max(sum(r) for r in _reference(balance, n, RATE * 14 / 29)) <= old_level]
    assert min(fits) == 8 and max(sum(r) for r in _reference(balance, 7, RATE * 14 / 29)) == 913_714
    tail = after.instalments[2:]
    assert [(i.principal_satang, i.interest_satang) for i in tail] == _reference(balance, 8, RATE * 14 / 29)
    assert tail[-1].due_on == date(2024, 10, 15) and len(after.instalments) == 10  # was 15 January 2025


def test_hold_credit_worked_example():
    before, allocation, after, txs = _paid(AdvancePayment.hold_credit)
    assert after is None  # the schedule stays
    reference = _reference(AMOUNT, 12, RATE)
    left, interest, principal = 4_000_000 - sum(reference[0]), reference[0][1], reference[0][0]
    for p, i in reference[1:]:  # the next instalments, interest then principal, oldest first
        interest, left = interest + min(left, i), left - min(left, i)
        principal, left = principal + min(left, p), left - min(left, p)
    assert (allocation.interest_satang, allocation.principal_satang) == (interest, principal)
    assert [(i.principal_satang, i.interest_satang) for i in before.instalments] == reference
    # 40,000 covers the first four instalments (35,539.52) and part of the fifth: not past due
    # until the fifth falls due on 15 June, and past due the day after.
    paid = instalment_payments(txs)
    assert days_past_due(before, _terms(AdvancePayment.hold_credit), paid, date(2024, 6, 15)) == 0
    assert days_past_due(before, _terms(AdvancePayment.hold_credit), paid, date(2024, 6, 16)) == 1


def test_a_payment_that_clears_everything_closes_the_loan_and_the_rest_is_overpaid():
    reference = _reference(AMOUNT, 12, RATE)
    # Reducing: the first instalment, the interest earned to the day and the principal left;
    # held as a credit: every instalment as scheduled (the schedule is not changed).
    to_the_day = sum(reference[0]) + _example_stub()[0] + AMOUNT - reference[0][0]
    owed = {AdvancePayment.reduce_term: to_the_day, AdvancePayment.reduce_instalment: to_the_day,
            AdvancePayment.hold_credit: sum(sum(r) for r in reference)}  # fmt: skip
    for mode in AdvancePayment:
        plan, cleared, after, txs = _paid(mode, 20_000_000)
        assert cleared.overpayment_satang == 20_000_000 - owed[mode], mode
        assert is_settled(after or plan, totals(txs), amount_satang=AMOUNT), mode
        assert after is None or after.maturity_on == PAID_ON


# --- properties --------------------------------------------------------------------------------

TERMS = st.builds(
    LoanTerms,
    rate_annual_percent=st.sampled_from([Decimal(0), Decimal("3.5"), Decimal("12"), Decimal("18.25")]),
    term_instalments=st.integers(2, 24),
    grace_principal_periods=st.integers(0, 1),
    grace_interest_periods=st.integers(0, 1),
    advance_payment=st.sampled_from(list(AdvancePayment)),
)
PROPERTY = settings(max_examples=150, deadline=None)


def _advance(terms, amount, start, days, share):
    """A loan paid as scheduled up to `start` + `days`, and then `share` % of its principal left
    beyond what is due: the plan, the totals before, the allocation and the schedule after."""
    plan = schedule(amount, terms, start)
    on = start + timedelta(days=days)
    due_rows = [i for i in plan.instalments if i.due_on <= on]
    txs = [LoanTx(TxKind.disbursement, start, amount, amount)]
    if due_rows:
        p, i = sum(r.principal_satang for r in due_rows), sum(r.interest_satang for r in due_rows)
        txs.append(LoanTx(TxKind.repayment, on, p + i, p, i))
    sums = totals(txs)
    extra = max(1, sums.outstanding_satang * share // 100)
    allocation, _ = repayment(extra, plan, terms, sums, on)
    after = advanced_schedule(plan, terms, on, sums.principal_repaid_satang + allocation.principal_satang)
    return plan, sums, on, allocation, after


ADVANCES = dict(terms=TERMS, amount=st.integers(1_000_00, 10_000_000_00), start=st.dates(date(2023, 1, 1),
                date(2026, 12, 31)), days=st.integers(0, 400), share=st.integers(1, 120))  # fmt: skip


@PROPERTY
@given(**ADVANCES)
def test_an_advance_keeps_every_satang_and_what_fell_due(terms, amount, start, days, share):
    """Whatever the choice: every satang once; the schedule still sums to the amount, its due
    dates increase; what fell due by the payment stays; interest earned by the day before is
    what it was (accrual need not be undone), and only after the whole principal is anything
    overpaid."""
    plan, sums, on, allocation, after = _advance(terms, amount, start, days, share)
    assert allocation.penalty_satang == 0 and allocation.total_satang == max(1, sums.outstanding_satang * share // 100)
    outstanding = sums.outstanding_satang - allocation.principal_satang
    assert outstanding >= 0 and (allocation.overpayment_satang == 0 or outstanding == 0)
    hold = terms.advance_payment is AdvancePayment.hold_credit
    assert (after is None) == (hold or allocation.principal_satang == 0)  # what was due was paid already
    if after is None:
        return
    rows = after.instalments
    assert sum(i.principal_satang for i in rows) == amount and all(i.total_satang >= 0 for i in rows)
    assert all(a.due_on < b.due_on for a, b in zip(rows, rows[1:], strict=False))
    assert [i for i in rows if i.due_on < on] == [i for i in plan.instalments if i.due_on < on]
    assert interest_earned_through(after, on - timedelta(days=1)) == interest_earned_through(plan, on - timedelta(1))
    assert next(i for i in rows if i.due_on >= on).outstanding_after_satang == outstanding
    # less interest in all: the period the payment falls in is rounded in two parts (the days
    # before it and after it), so it may take one satang more; no other period takes more
    assert interest_earned_through(after, rows[-1].due_on) <= interest_earned_through(plan, plan.maturity_on) + 1


@PROPERTY
@given(**ADVANCES)
def test_reduce_term_keeps_the_instalment_and_shortens_the_loan(terms, amount, start, days, share):
    terms = LoanTerms(**{**terms.__dict__, "advance_payment": AdvancePayment.reduce_term})
    plan, _, on, _, after = _advance(terms, amount, start, days, share)
    if after is None:
        return
    old, new = [i for i in plan.instalments if i.due_on > on], [i for i in after.instalments if i.due_on > on]
    assert len(new) <= len(old)
    assert not new or max(i.total_satang for i in new) <= max(i.total_satang for i in old)


@PROPERTY
@given(**ADVANCES)
def test_reduce_instalment_keeps_the_term_and_lowers_the_instalments(terms, amount, start, days, share):
    terms = LoanTerms(**{**terms.__dict__, "advance_payment": AdvancePayment.reduce_instalment})
    plan, _, on, allocation, after = _advance(terms, amount, start, days, share)
    if after is None:
        return
    old, new = [i for i in plan.instalments if i.due_on > on], [i for i in after.instalments if i.due_on > on]
    paid_off = sum(i.principal_satang for i in new) == 0
    assert paid_off or len(new) == len(old)
    assert paid_off or new[-1].due_on <= old[-1].due_on
    # no later instalment asks more than the one it replaces asked (a first shorter period less)
    assert paid_off or max(i.total_satang for i in new[1:] or new) <= max(i.total_satang for i in old)


@PROPERTY
@given(**ADVANCES)
def test_hold_credit_pays_the_next_instalments_ahead_and_keeps_the_schedule(terms, amount, start, days, share):
    terms = LoanTerms(**{**terms.__dict__, "advance_payment": AdvancePayment.hold_credit})
    plan, sums, on, allocation, after = _advance(terms, amount, start, days, share)
    assert after is None
    # paid ahead oldest first, each instalment in the terms' order: what paying the instalments
    # due later one at a time, each against its own dues, would pay
    left, principal, interest = allocation.total_satang, sums.principal_repaid_satang, sums.interest_paid_satang
    expected = {Component.principal: 0, Component.interest: 0}
    for i in (i for i in plan.instalments if i.due_on > on):
        owed = {Component.principal: i.principal_satang, Component.interest: i.interest_satang}
        paid = allocate_payment(left, owed, terms.allocation_order) if left else None
        if paid is None:
            break
        expected[Component.principal] += paid.principal_satang
        expected[Component.interest] += paid.interest_satang
        left = paid.overpayment_satang
    assert (allocation.principal_satang, allocation.interest_satang) == (expected[Component.principal],
                                                                        expected[Component.interest])  # fmt: skip
    assert allocation.overpayment_satang == left and principal + allocation.principal_satang <= amount
    assert interest >= 0


# --- through the store: the order payments are recorded in does not matter ---------------------

TODAY = date(2024, 12, 31)


def _lender(db):
    with db.write() as c:
        book = books.create_book(c, {"code": "FUND", "kind": "fund", "name_th": "กองทุน"}, now=NOW)["id"]
        borrower = books.create_party(c, {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์"}, now=NOW)["id"]
        officer = users.add_user(c, name="officer", role="officer", party_id=None, now=NOW)[0]
        approver = users.add_user(c, name="approver", role="approver", party_id=None, now=NOW)[0]
        ids = {a["code"]: a["id"] for a in books.book_accounts(c, book)}
        capital = (Posting(ids["1100"], 10**10), Posting(ids["3100"], -(10**10)))
        journal.record_entry(c, EntryDraft(book, date(2024, 1, 1), "manual", "capital", capital), recorded_by=officer,
                             recorded_at=NOW)  # fmt: skip
    return book, borrower, officer, approver


def _loan(db, lender, product_id, mode) -> int:
    book, borrower, officer, approver = lender
    with db.write() as c:
        loan = loans.apply(c, {"product_id": product_id, "borrower_party_id": borrower, "amount_satang": 1_000_000,
                               "savings_satang": 1_000_000, "advance_payment": mode}, recorded_by=officer, now=NOW)
        loans.approve(c, loan["id"], approved_by=approver, now=NOW)
        loans.disburse(c, loan["id"], amount_satang=1_000_000, on=date(2024, 1, 31), today=TODAY, user_id=officer,
                       now=NOW)  # fmt: skip
    return loan["id"]


def _seen(db, loan_id) -> tuple:
    """What a loan is: its status, the schedule in force, its figures and its totals."""
    with db.read() as c:
        loan = loans.get_loan(c, loan_id)
        current = loans.state(c, loan)
        return (loan["status"], loan["closed_on"], current.plan.instalments, current.figures(TODAY),
                totals(current.txs))


# At most 9,000 baht in all: never enough to close the loan, which would refuse the repayments
# recorded after it (and in another order, other ones).
PAYMENTS = st.lists(st.tuples(st.integers(0, 330), st.integers(1, 300_000)), min_size=1, max_size=3)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])  # fmt: skip
@given(mode=st.sampled_from(list(AdvancePayment)), payments=PAYMENTS, order=st.randoms(use_true_random=False),
       undo=st.booleans())  # fmt: skip
def test_the_same_repayments_make_the_same_loan_in_any_order_of_recording(databases, mode, payments, order, undo):
    """Repayments on a 10,000 baht loan recorded in date order, and the same ones recorded in
    a shuffled order (each one recorded before a later one is backdated, and the later ones are
    re-allocated), give the same loan: schedule, figures, totals and status. With `undo`, one
    more repayment recorded in the middle and taken back changes nothing either."""
    db, drop = databases.fresh()
    try:
        lender = _lender(db)
        with db.write() as c:
            terms = LoanTerms(rate_annual_percent=Decimal("12"), term_instalments=3)
            product = loans.create_product(c, {"book_id": lender[0], "code": "P", "name_th": "สินเชื่อ", "terms": terms,
                                               "min_savings_percent": Decimal(10)}, created_by=lender[2], now=NOW)
        dated = [(date(2024, 1, 31) + timedelta(days=d), amount) for d, amount in payments]
        shuffled = order.sample(dated, len(dated))
        seen = []
        for sequence, extra in ((sorted(dated), False), (shuffled, undo)):
            loan_id = _loan(db, lender, product["id"], mode)
            for number, (on, amount) in enumerate(sequence):
                with db.write() as c:
                    if loans.get_loan(c, loan_id)["status"] != "active":
                        continue
                    done = loans.repay(c, loan_id, amount_satang=amount, on=on, today=TODAY, user_id=lender[2],
                                       now=NOW)  # fmt: skip
                if extra and number == 0:
                    with db.write() as c:
                        taken = loans.repay(c, loan_id, amount_satang=123_45, on=on, today=TODAY, user_id=lender[2],
                                            now=NOW)  # fmt: skip
                        loans.undo_repayment(c, loan_id, taken.transaction["id"], reason="bounced",
                                             user_id=lender[2], now=NOW)  # fmt: skip
                del done
            seen.append(_seen(db, loan_id))
        assert seen[0] == seen[1]
    finally:
        drop()
