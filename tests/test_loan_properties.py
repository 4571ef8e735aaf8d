"""A hypothesis state machine over the life of one loan, driven through the store: tranches,
repayments, backdated repayments (later ones reversed and re-posted), close of business on random
days (charging penalties on some products) and close of business run again for a day already
closed, reschedules (folding arrears) and moratoria, the undisbursed remainder cancelled,
write-off, recoveries, refunds and interest rebates. After every step it checks:

- invariant 8: principal outstanding = disbursed - principal repaid - principal written off, never
  negative, equal to the balance of the loan's receivable sub-account; the schedule's principal
  sums to what was disbursed;
- every satang of a repayment allocated exactly once, none to more than was due, penalties first
  when the order says so;
- the journal balanced (invariants 1, 3, 4) and the loan accounts equal to what the loan
  transactions say: interest and penalty receivable, overpayments (less refunds), interest and
  penalty income, recovery income, losses on write-off, and cash;
- a closed loan was fully disbursed (but for a cancelled remainder) and owes nothing; a
  written-off loan owes nothing;
- close of business twice for a day changes nothing.

Then properties of `ledger.loan_book` alone: a tranche adds exactly its principal and keeps the
due dates and what fell due before it; interest is earned day by day, never more than the
schedule's; a repayment settles accrued interest before it counts as income.
"""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
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

from ledger.accounts import EntryDraft, Posting
from ledger.errors import LedgerError, Rejection
from ledger.loan_book import (
    LoanTx,
    Totals,
    TxKind,
    close_of_day,
    dues,
    figures,
    instalment_views,
    instalments_for,
    interest_earned_through,
    penalty_earned_through,
    repayment,
    reschedule,
    settled_merged,
    totals,
    with_tranche,
)
from ledger.loans import (
    AdvancePayment,
    Amortization,
    Component,
    DayCount,
    FrequencyUnit,
    InterestBasis,
    InterestMethod,
    LoanTerms,
    allocate_payment,
    days_past_due,
    schedule,
)
from store import books, journal, loan_cob, loans, users
from tests.conftest import NOW, attempt

FIRST_DAY, TODAY = date(2024, 1, 1), date(2024, 12, 31)
CASH_SATANG = 10**12
TERMS = st.sampled_from([
    LoanTerms(rate_annual_percent=Decimal("12"), term_instalments=6, penalty_rate_annual_percent=Decimal("24")),
    LoanTerms(rate_annual_percent=Decimal("4"), term_instalments=8, amortization=Amortization.equal_principal,
              repayment_unit=FrequencyUnit.weeks, repayment_every=2, advance_payment=AdvancePayment.hold_credit),
    LoanTerms(rate_annual_percent=Decimal("6"), term_instalments=6, advance_payment=AdvancePayment.reduce_instalment,
              grace_principal_periods=2),
    LoanTerms(rate_annual_percent=Decimal("9"), term_instalments=4, interest_method=InterestMethod.flat,
              grace_principal_periods=1, instalment_multiple_satang=100),
    LoanTerms(rate_annual_percent=Decimal("0"), term_instalments=3, advance_payment=AdvancePayment.reduce_instalment),
    LoanTerms(rate_annual_percent=Decimal("18.25"), term_instalments=5, interest_basis=InterestBasis.daily,
              day_count=DayCount.actual, grace_interest_periods=2,
              allocation_order=(Component.principal, Component.interest, Component.penalty),
              penalty_rate_annual_percent=Decimal("7.5"), penalty_from_day=10),
])  # fmt: skip


class LoanMachine(RuleBasedStateMachine):
    def __init__(self, databases) -> None:
        super().__init__()
        self.db, self._drop = databases.fresh()
        with self.db.write() as c:
            self.borrower = books.create_party(c, {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์"}, now=NOW)["id"]
            self.book = books.create_book(c, {"code": "FUND", "kind": "fund", "name_th": "กองทุน"}, now=NOW)["id"]
            self.ids = {a["code"]: a["id"] for a in books.book_accounts(c, self.book)}
            self.officer = users.add_user(c, name="officer", role="officer", party_id=None, now=NOW)[0]
            self.approver = users.add_user(c, name="approver", role="approver", party_id=None, now=NOW)[0]
            journal.record_entry(c, EntryDraft(self.book, FIRST_DAY, "manual", "capital", (
                Posting(self.ids["1100"], CASH_SATANG), Posting(self.ids["3100"], -CASH_SATANG))),
                recorded_by=self.officer, recorded_at=NOW)  # fmt: skip
        self.last_money_day = FIRST_DAY
        self.last_version_day = FIRST_DAY  # of the newest schedule version made by a restructure
        self.last_fold_day = FIRST_DAY  # of the latest reschedule that folded arrears
        self.closed_days: list[date] = []

    def teardown(self) -> None:
        self._drop()

    def loan_state(self):
        with self.db.read() as c:
            return loans.state(c, loans.get_loan(c, self.loan_id))

    # --- rules -----------------------------------------------------------------------------

    @initialize(terms=TERMS, amount=st.integers(1_000_00, 1_000_000_00), first=st.integers(0, 100),
                gap=st.integers(0, 60))  # fmt: skip
    def open_loan(self, terms, amount, first, gap):
        """An approved loan, most often with a first tranche of `first` % paid out."""
        with self.db.write() as c:
            product = {
                "book_id": self.book,
                "code": "P",
                "name_th": "สินเชื่อ",
                "terms": terms,
                "min_savings_percent": Decimal(10),
            }
            product = loans.create_product(c, product, created_by=self.officer, now=NOW)
            application = {
                "product_id": product["id"],
                "borrower_party_id": self.borrower,
                "amount_satang": amount,
                "savings_satang": amount,
            }
            loan = loans.apply(c, application, recorded_by=self.officer, now=NOW)
            loans.approve(c, loan["id"], approved_by=self.approver, now=NOW)
        self.loan_id = loan["id"]
        if first:
            self.last_money_day = FIRST_DAY + timedelta(days=gap)
            with self.db.write() as c:
                loans.disburse(c, self.loan_id, amount_satang=max(1, amount * first // 100), on=self.last_money_day,
                               today=TODAY, user_id=self.officer, now=NOW)  # fmt: skip

    @rule(share=st.integers(1, 100), gap=st.integers(0, 30))
    def disburse(self, share, gap):
        current = self.loan_state()
        left = current.loan["amount_satang"] - totals(current.txs).disbursed_satang
        on = min(self.last_money_day + timedelta(days=gap), TODAY)
        done = attempt(
            self.db,
            lambda c: loans.disburse(c, self.loan_id, amount_satang=max(1, left * share // 100), on=on, today=TODAY,
                                     user_id=self.officer, now=NOW),
            Rejection.loan_fully_disbursed, Rejection.loan_matured, Rejection.loan_closed, Rejection.loan_written_off,
            Rejection.loan_remainder_cancelled,
        )  # fmt: skip
        matured = current.plan is not None and on >= current.plan.maturity_on
        ended = current.loan["status"] in ("closed", "written_off") or current.loan["cancelled_satang"] > 0
        assert (done is None) == (left == 0 or matured or ended)
        self.last_money_day = on if done else self.last_money_day

    @rule(share=st.integers(1, 150), gap=st.integers(0, 45))
    def repay(self, share, gap):
        """A repayment of a share of what is due (or of the next instalment, if nothing is)."""
        current = self.loan_state()
        on = min(self.last_money_day + timedelta(days=gap), TODAY)
        shown = current.figures(on)
        due = shown.principal_due_satang + shown.interest_due_satang or shown.next_due_satang or 10_000
        amount = max(1, due * share // 100)
        done = attempt(
            self.db,
            lambda c: loans.repay(c, self.loan_id, amount_satang=amount, on=on, today=TODAY, user_id=self.officer,
                                  now=NOW),
            Rejection.loan_not_disbursed, Rejection.loan_closed, Rejection.loan_written_off,
            Rejection.date_before_last_transaction,
        )  # fmt: skip
        assert (done is None) == (current.loan["status"] != "active" or on < self.last_fold_day)
        if done is None:
            return
        self.last_money_day = on
        tx, due = done.transaction, dues(current.plan, totals(current.txs), on)
        parts = [tx[f"{part}_satang"] for part in ("penalty", "interest", "principal", "overpayment")]
        assert sum(parts) == amount and all(part >= 0 for part in parts)  # every satang exactly once
        # What is due is paid first, in the terms' order; only what is left is an advance
        paid_due = allocate_payment(amount, due, current.terms.allocation_order)
        assert tx["penalty_satang"] == paid_due.penalty_satang
        assert tx["interest_satang"] >= paid_due.interest_satang and tx["principal_satang"] >= paid_due.principal_satang
        ahead = tx["interest_satang"] + tx["principal_satang"] - paid_due.interest_satang - paid_due.principal_satang
        assert ahead + tx["overpayment_satang"] == paid_due.overpayment_satang
        # and only what is left after the whole principal is an overpayment
        assert tx["overpayment_satang"] == 0 or totals(self.loan_state().txs).outstanding_satang == 0

    @rule(rate=st.sampled_from([None, Decimal("3.5"), Decimal("0")]), extra=st.integers(0, 3), gap=st.integers(0, 40))
    def reschedule(self, rate, extra, gap):
        """A reschedule from some day: the principal still to fall due is scheduled again."""
        current = self.loan_state()
        on = min(max(self.last_money_day, self.last_version_day) + timedelta(days=gap), TODAY)
        done = attempt(
            self.db,
            lambda c: loans.reschedule_loan(c, self.loan_id, on=on, reason="restructured", rate_percent=rate,
                                            extra_instalments=extra, today=TODAY, user_id=self.officer, now=NOW),
            Rejection.loan_not_disbursed, Rejection.loan_closed, Rejection.loan_written_off, Rejection.invalid_request,
            Rejection.nothing_to_reschedule, Rejection.date_before_last_transaction,
        )  # fmt: skip
        if done is not None:
            after = self.loan_state().plan
            assert after.amount_satang == current.plan.amount_satang
            kept = [i for i in current.plan.instalments if i.due_on <= on]
            head, sums = after.instalments[: len(kept)], totals(current.txs)
            # what fell due stays only as far as it was paid: the arrears are folded into the rest
            assert [i.due_on for i in head] == [i.due_on for i in kept]
            assert sum(i.principal_satang for i in head) == sums.principal_repaid_satang
            assert sum(i.interest_satang for i in head) == sums.interest_paid_satang
            # no interest is lost or charged twice: the schedule asks what it accrues, and on a
            # loan no longer accruing the folded interest besides (income when it is paid)
            folded = sum(i.interest_accrued_satang for i in kept) - sums.interest_paid_satang
            asked = sum(i.interest_satang - i.interest_accrued_satang for i in after.instalments)
            assert asked == (0 if current.loan["accruing"] else folded)
            shown = self.loan_state().figures(on)  # not past due for what the new schedule replaced
            assert (shown.days_past_due, shown.principal_due_satang, shown.interest_due_satang) == (0, 0, 0)
            self.last_version_day = on
            self.last_fold_day = on if list(head) != kept else self.last_fold_day

    @rule()
    def cancel_the_remainder(self):
        """The undisbursed rest of an active loan cancelled: no tranche may follow (the disburse
        rule), and the loan closes once what was disbursed is repaid (the invariants)."""
        current = self.loan_state()
        if current.loan["status"] != "active":
            return  # a loan never disbursed would be cancelled outright: test_api_loan_closure
        done = attempt(
            self.db,
            lambda c: loans.cancel(c, self.loan_id, reason="phase two dropped", today=TODAY, user_id=self.approver,
                                   now=NOW),
            Rejection.nothing_to_cancel,
        )  # fmt: skip
        disbursed = totals(current.txs).disbursed_satang
        assert (done is None) == (disbursed == current.loan["amount_satang"] or current.loan["cancelled_satang"] > 0)
        if done is not None:
            assert done["cancelled_satang"] == current.loan["amount_satang"] - disbursed
            assert self.loan_state().plan.instalments == current.plan.instalments  # it covers what was disbursed
            self.last_version_day = TODAY

    @rule(gap=st.integers(0, 40), span=st.integers(0, 120))
    def moratorium(self, gap, span):
        first = max(self.last_money_day, self.last_version_day) + timedelta(days=gap)
        done = attempt(
            self.db,
            lambda c: loans.grant_moratorium(c, self.loan_id, first_day=first, last_day=first + timedelta(days=span),
                                             reason="flood", user_id=self.officer, now=NOW),
            Rejection.loan_not_disbursed, Rejection.loan_closed, Rejection.loan_written_off,
            Rejection.nothing_to_reschedule, Rejection.date_before_last_transaction,
            Rejection.moratorium_without_due_date, Rejection.invalid_term,
        )  # fmt: skip
        if done is not None:
            self.last_version_day = first

    @rule(share=st.integers(1, 120), to_cash=st.booleans(), gap=st.integers(0, 30))
    def rebate(self, share, to_cash, gap):
        current = self.loan_state()
        sums = totals(current.txs)
        left = sums.interest_paid_satang - sums.rebated_satang
        on = min(self.last_money_day + timedelta(days=gap), TODAY)
        amount = max(1, left * share // 100)
        done = attempt(
            self.db,
            lambda c: loans.rebate(c, self.loan_id, amount_satang=amount, on=on, reason="good payer", to_cash=to_cash,
                                   today=TODAY, user_id=self.approver, now=NOW),
            Rejection.loan_not_disbursed, Rejection.loan_written_off, Rejection.not_in_good_standing,
            Rejection.rebate_exceeds_interest_paid,
        )  # fmt: skip
        assert done is None or amount <= left
        self.last_money_day = on if done else self.last_money_day

    @rule(gap=st.integers(0, 60))
    def write_off(self, gap):
        current = self.loan_state()
        on = min(self.last_money_day + timedelta(days=gap), TODAY)
        done = attempt(
            self.db,
            lambda c: loans.write_off_loan(c, self.loan_id, on=on, reason="uncollectable", today=TODAY,
                                           user_id=self.approver, now=NOW),
            Rejection.loan_not_disbursed, Rejection.loan_closed, Rejection.loan_written_off,
            Rejection.nothing_to_write_off,
        )  # fmt: skip
        if done is None:
            return
        self.last_money_day = on
        before = totals(current.txs)
        assert done.transaction["principal_satang"] == before.outstanding_satang
        assert done.transaction["interest_satang"] == before.interest_receivable_satang

    @rule(share=st.integers(1, 120), gap=st.integers(0, 30))
    def recover(self, share, gap):
        sums = totals(self.loan_state().txs)
        left = sums.written_off_satang - sums.recovered_satang
        on = min(self.last_money_day + timedelta(days=gap), TODAY)
        amount = max(1, left * share // 100)
        done = attempt(
            self.db,
            lambda c: loans.recover(c, self.loan_id, amount_satang=amount, on=on, today=TODAY, user_id=self.officer,
                                    now=NOW),
            Rejection.loan_not_written_off, Rejection.recovery_exceeds_written_off,
        )  # fmt: skip
        assert (done is None) == (sums.written_off_satang == 0 or amount > left)
        self.last_money_day = on if done else self.last_money_day
        assert done is None or done.loan["status"] == "written_off"  # a recovery never reopens a loan

    @rule(share=st.integers(1, 120), gap=st.integers(0, 30))
    def refund(self, share, gap):
        current = self.loan_state()
        held = totals(current.txs).overpayment_balance_satang
        on = min(self.last_money_day + timedelta(days=gap), TODAY)
        amount = max(1, held * share // 100)
        done = attempt(
            self.db,
            lambda c: loans.refund(c, self.loan_id, amount_satang=amount, on=on, today=TODAY, user_id=self.officer,
                                   now=NOW),
            Rejection.refund_exceeds_overpayment, Rejection.loan_not_disbursed,
        )  # fmt: skip
        assert (done is None) == (amount > held or current.loan["status"] in ("applied", "approved"))
        self.last_money_day = on if done else self.last_money_day

    @precondition(lambda self: self.last_money_day > FIRST_DAY)
    @rule(back=st.integers(1, 30), amount=st.integers(1, 500_000))
    def repay_backdated(self, back, amount):
        """A repayment dated before later ones: they are reversed and re-posted after it, each
        with its amount and date; the journal stays balanced and the figures re-derivable (the
        invariants below)."""
        on = max(FIRST_DAY, self.last_money_day - timedelta(days=back))
        before = [(t.on, t.amount_satang) for t in self.loan_state().txs if t.kind is TxKind.repayment]
        done = attempt(
            self.db,
            lambda c: loans.repay(c, self.loan_id, amount_satang=amount, on=on, today=TODAY, user_id=self.officer,
                                  now=NOW),
            Rejection.date_before_last_transaction, Rejection.loan_not_disbursed, Rejection.loan_closed,
            Rejection.loan_written_off,
        )  # fmt: skip
        if done is None:
            return
        after = [(t.on, t.amount_satang) for t in self.loan_state().txs if t.kind is TxKind.repayment]
        assert sorted(after) == sorted([*before, (on, amount)])
        later = [r for r in before if r[0] > on]
        assert len(done.more_entry_ids) == 2 * len(later)  # a reversal and a re-posting each
        with self.db.read() as c:
            links = c.execute(text("SELECT count(*) FROM loan_repayment_reversal")).scalar_one()
            reversed_ = c.execute(text(
                "SELECT count(*) FROM entry e JOIN loan_repayment_reversal l ON l.reversal_entry_id = e.id "
                "JOIN loan_transaction t ON t.id = l.original_tx_id WHERE e.reverses_entry_id = t.entry_id"
            )).scalar_one()  # fmt: skip
        assert links == reversed_

    @rule(data=st.data())
    def take_back_a_repayment(self, data):
        """A repayment taken back (it bounced): its entry reversed, the later repayments re-posted
        with their amounts and dates; the invariants below hold after it."""
        repayments = [r for r in self.loan_state().rows if r["kind"] == TxKind.repayment]
        if not repayments:
            return
        target = data.draw(st.sampled_from(repayments))
        done = attempt(
            self.db,
            lambda c: loans.undo_repayment(c, self.loan_id, target["id"], reason="bounced", user_id=self.officer,
                                           now=NOW),
            Rejection.date_before_last_transaction, Rejection.loan_written_off,
        )  # fmt: skip
        if done is None:
            return
        after = [(t.on, t.amount_satang) for t in self.loan_state().txs if t.kind is TxKind.repayment]
        kept = [(r["effective_date"], r["amount_satang"]) for r in repayments if r is not target]
        assert sorted(after) == sorted(kept)
        with self.db.read() as c:
            reversal = c.execute(text("SELECT reverses_entry_id FROM entry WHERE id = :e"), {"e": done.entry_id})
            assert reversal.scalar_one() == target["entry_id"]

    @rule(gap=st.integers(0, 60))
    def close_of_business_soon(self, gap):
        """Close of business some days after the last disbursement or repayment."""
        self.close_of_business(min(self.last_money_day + timedelta(days=gap), TODAY))

    @rule(day=st.dates(FIRST_DAY, TODAY))
    def close_of_business(self, day):
        with self.db.write() as c:
            loan_cob.close_of_business(c, day, today=TODAY, user_id=self.officer, now=NOW, reader=self.db.read)
        self.closed_days.append(day)
        self.close_of_business_reads_the_schedule_through_the_next_due_date(day)

    def close_of_business_reads_the_schedule_through_the_next_due_date(self, day):
        """What close of business reads of a schedule (due by the day, and the next instalment)
        is cut where it should be, and decides the day as the whole schedule would."""
        with self.db.read() as c:
            whole = loans.plans_of(c, [self.loan_id], day).get(self.loan_id)
            unmerged = loans.plans_through_next_due(c, [self.loan_id], day, merge_settled=False)
            cut = unmerged.plans.get(self.loan_id)
            sums = loans.sums_of(c, [self.loan_id]).get(self.loan_id, Totals())
            due = loans.plans_through_next_due(c, [self.loan_id], day)
            merged, paid = due.plans.get(self.loan_id), due.paid.get(self.loan_id, 0)
            assert paid == sum(satang for _, satang in loans.payments_of(c, [self.loan_id], day).get(self.loan_id, []))
            assert unmerged.paid == due.paid  # what the loans paid does not depend on the merging
            principal = loans.principal_payments_of(c, [self.loan_id], day).get(self.loan_id, [])
        assert (whole is None) == (cut is None) == (merged is None)
        if whole is None:
            return
        after = [i for i in whole[0].instalments if i.due_on > day][:1]
        kept = tuple(i for i in whole[0].instalments if i.due_on <= day) + tuple(after)
        assert cut == (replace(whole[0], instalments=kept), whole[1])
        terms = loans.terms_from_json(whole[1])
        decide = [close_of_day(plan, terms, sums, paid, day, principal) for plan in (whole[0], cut[0])]
        assert decide[0] == decide[1]
        # the database merges the paid instalments of a penalty-free loan as the domain does
        assert merged == (cut[0] if terms.penalty_rate_annual_percent else settled_merged(cut[0], paid, day), whole[1])

    @precondition(lambda self: self.closed_days)
    @rule(data=st.data())
    def close_of_business_again(self, data):
        """A day closed before, closed again, and again: the second time changes nothing. (The
        first may: a tranche dated on or before a closed day is brought up to it.)"""
        day = data.draw(st.sampled_from(self.closed_days))
        self.close_of_business(day)
        before = self.snapshot()
        with self.db.write() as c:
            report = loan_cob.close_of_business(c, day, today=TODAY, user_id=self.officer, now=NOW, reader=self.db.read)
        assert report.entry_ids == [] and report.accrued_satang == report.reversed_satang == 0
        assert self.snapshot() == before

    def snapshot(self) -> tuple:
        with self.db.read() as c:
            balances = c.execute(text("SELECT account_id, balance_satang FROM account_balance ORDER BY 1")).all()
            count = c.execute(text("SELECT count(*) FROM loan_transaction")).scalar_one()
            loan = loans.get_loan(c, self.loan_id)
        return balances, count, loan

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def outstanding_principal_is_the_sub_account_balance(self):
        current = self.loan_state()
        sums = totals(current.txs)
        outstanding = sums.disbursed_satang - sums.principal_repaid_satang - sums.principal_written_off_satang
        assert outstanding == sums.outstanding_satang >= 0
        account_id = current.loan["receivable_account_id"]
        with self.db.read() as c:
            shown = books.get_account(c, account_id)["balance_satang"] if account_id else 0
        assert shown == outstanding
        assert current.figures(TODAY).principal_outstanding_satang == outstanding
        if current.plan is not None:
            assert current.plan.amount_satang == sum(i.principal_satang for i in current.plan.instalments)
            assert current.plan.amount_satang == sums.disbursed_satang
        if current.loan["status"] == "closed":  # all disbursed, all paid, and nothing left accrued
            assert outstanding == 0 and sums.interest_paid_satang >= current.plan.interest_satang
            assert sums.interest_receivable_satang == sums.penalty_receivable_satang == 0
            assert sums.disbursed_satang == current.loan["amount_satang"] - current.loan["cancelled_satang"]
        if current.loan["status"] == "written_off":
            assert outstanding == sums.interest_receivable_satang == sums.penalty_receivable_satang == 0
        assert sums.recovered_satang <= sums.written_off_satang

    @invariant()
    def loan_accounts_are_what_the_loan_transactions_say(self):
        sums = totals(self.loan_state().txs)
        with self.db.read() as c:
            balance = {a["code"]: a["balance_satang"] for a in books.book_accounts(c, self.book)}
        assert balance["1210"] == sums.interest_receivable_satang >= 0
        assert balance["1220"] == sums.penalty_receivable_satang >= 0
        assert balance["4100"] == -sums.interest_income_satang
        assert balance["4200"] == -sums.penalty_recognised_satang
        assert balance["4400"] == -sums.recovered_satang
        assert balance["5200"] == sums.principal_written_off_satang  # no allowance was provided
        assert balance["2100"] == -sums.overpayment_balance_satang
        repaid = sums.principal_repaid_satang + sums.interest_paid_satang + sums.penalty_paid_satang
        rebated_in_cash = sums.rebated_satang - sums.rebated_to_overpayment_satang
        moved = repaid + sums.overpaid_satang + sums.recovered_satang - sums.refunded_satang - rebated_in_cash
        assert balance["1100"] == CASH_SATANG - sums.disbursed_satang + moved

    @invariant()
    def the_journal_balances(self):
        with self.db.read() as c:
            unbalanced = c.execute(text(
                "SELECT entry_id FROM posting GROUP BY entry_id HAVING sum(amount_satang) <> 0"
            )).all()  # fmt: skip
            stored = c.execute(text(
                "SELECT b.account_id, b.balance_satang, coalesce(sum(p.amount_satang), 0) FROM account_balance b "
                "LEFT JOIN posting p ON p.account_id = b.account_id GROUP BY b.account_id, b.balance_satang"
            )).all()  # fmt: skip
            orphans = c.execute(text(
                "SELECT count(*) FROM loan_transaction t LEFT JOIN entry e ON e.id = t.entry_id WHERE e.id IS NULL"
            )).scalar_one()  # fmt: skip
        assert unbalanced == [] and orphans == 0
        assert all(balance == int(total) for _, balance, total in stored)
        assert sum(balance for _, balance, _ in stored) == 0

    @invariant()
    def accruals_happen_at_most_once_a_loan_and_day(self):
        txs = self.loan_state().txs
        days = [tx.on for tx in txs if tx.kind in (TxKind.accrual, TxKind.accrual_reversal)]
        assert len(days) == len(set(days))  # and never accrued and reversed on the same day
        penalty_days = [tx.on for tx in txs if tx.kind is TxKind.penalty]
        assert len(penalty_days) == len(set(penalty_days))


def test_a_loan_keeps_its_invariants(databases):
    run_state_machine_as_test(
        lambda: LoanMachine(databases),
        settings=settings(
            max_examples=20,
            stateful_step_count=14,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


# --- the pure loan book (ledger.loan_book) ------------------------------------------------------

PURE = settings(max_examples=60, deadline=None)
AMOUNT = st.integers(1_00, 10_000_000_00)


def test_the_module_doctests_pass():
    import doctest

    import ledger.loan_book

    assert doctest.testmod(ledger.loan_book).failed == 0


@PURE
@given(terms=TERMS, first=AMOUNT, second=AMOUNT, start=st.dates(FIRST_DAY, TODAY), after=st.integers(0, 200))
def test_a_tranche_adds_its_principal_and_keeps_the_due_dates(terms, first, second, start, after):
    before = schedule(first, terms, start)
    on = start + timedelta(days=after)
    try:
        merged = with_tranche(before, terms, second, on)
    except LedgerError as error:
        assert error.reason is Rejection.loan_matured and on >= before.maturity_on
        return
    assert merged.amount_satang == first + second == sum(i.principal_satang for i in merged.instalments)
    assert [i.due_on for i in merged.instalments] == [i.due_on for i in before.instalments]
    assert merged.instalments[-1].outstanding_after_satang == 0
    for old, new in zip(before.instalments, merged.instalments, strict=True):
        assert min(new.principal_satang, new.interest_satang, new.outstanding_after_satang) >= 0
        if old.due_on <= on:  # what fell due before the tranche is as it was
            assert new == old
        else:  # the new money only adds
            assert new.interest_accrued_satang >= old.interest_accrued_satang


@PURE
@given(terms=TERMS, amount=AMOUNT, start=st.dates(FIRST_DAY, TODAY), days=st.lists(st.integers(-10, 400), max_size=8))
def test_interest_is_earned_day_by_day_up_to_the_schedule(terms, amount, start, days):
    plan = schedule(amount, terms, start)
    earned = [interest_earned_through(plan, start + timedelta(days=d)) for d in sorted(days)]
    assert earned == sorted(earned) and all(0 <= e <= plan.interest_satang for e in earned)
    assert interest_earned_through(plan, plan.maturity_on - timedelta(days=1)) == plan.interest_satang
    assert interest_earned_through(plan, start - timedelta(days=1)) == 0


@PURE
@given(terms=TERMS, amount=AMOUNT, start=st.dates(FIRST_DAY, TODAY), later=st.integers(-10, 500),
       paid_share=st.fractions(0, 1), extra=st.integers(-5, 5), recognised=st.integers(0, 10**8),
       receivable=st.integers(0, 10**8))  # fmt: skip
def test_close_of_business_decides_the_same_on_a_schedule_with_its_paid_instalments_merged(
    terms, amount, start, later, paid_share, extra, recognised, receivable
):
    plan = schedule(amount, terms, start)
    paid = max(0, int(plan.total_satang * paid_share) + extra)
    day = start + timedelta(days=later)
    merged = settled_merged(plan, paid, day)
    kept = len(merged.instalments)
    assert merged.instalments[1:] == plan.instalments[len(plan.instalments) - kept + 1:]  # a head merged into one
    assert sum(i.total_satang for i in merged.instalments) == plan.total_satang
    assert sum(i.interest_accrued_satang for i in merged.instalments) == sum(
        i.interest_accrued_satang for i in plan.instalments)  # fmt: skip
    if terms.penalty_rate_annual_percent:
        return  # penalties walk each instalment's history: close of business never merges these
    sums = Totals(disbursed_satang=amount, accrued_satang=receivable, interest_paid_satang=recognised)
    assert close_of_day(merged, terms, sums, paid, day) == close_of_day(plan, terms, sums, paid, day)


@PURE
@given(terms=TERMS, amount=AMOUNT, paid=AMOUNT, receivable=st.integers(0, 10**8), later=st.integers(0, 400))
def test_a_repayment_settles_what_was_accrued_first(terms, amount, paid, receivable, later):
    plan = schedule(amount, terms, FIRST_DAY)
    sums = Totals(disbursed_satang=amount, accrued_satang=receivable)
    allocation, from_receivable = repayment(paid, plan, terms, sums, FIRST_DAY + timedelta(days=later))
    assert allocation.total_satang == paid
    assert from_receivable == min(allocation.interest_satang, receivable)


@PURE
@given(terms=TERMS, amount=AMOUNT, start=st.dates(FIRST_DAY, TODAY), later=st.integers(0, 800),
       principal_share=st.fractions(0, 1), interest_paid=st.integers(0, 10**8))  # fmt: skip
def test_what_is_late_is_what_fell_due_before_the_day(terms, amount, start, later, principal_share, interest_paid):
    """Past due is what is due less the part of the instalments due that very day; each
    instalment's principal outstanding after it is the amount less the principal through it."""
    plan = schedule(amount, terms, start)
    principal_paid = int(amount * principal_share)
    txs = [LoanTx(TxKind.disbursement, start, amount, principal_satang=amount),
           LoanTx(TxKind.repayment, start, principal_paid + interest_paid, principal_satang=principal_paid,
                  interest_satang=interest_paid)]  # fmt: skip
    day = start + timedelta(days=later)
    shown, views = figures(plan, terms, txs, day), instalment_views(plan, totals(txs, day), day)
    assert 0 <= shown.principal_past_due_satang <= shown.principal_due_satang
    assert 0 <= shown.interest_past_due_satang <= shown.interest_due_satang
    assert shown.due_satang - shown.past_due_satang == sum(v.unpaid_satang for v in views if v.status == "due")
    assert shown.past_due_satang == sum(v.unpaid_satang for v in views if v.status == "overdue")  # no penalty here
    if all(i.due_on != day for i in plan.instalments):
        assert shown.past_due_satang == shown.due_satang
    through = 0
    for view in views:
        through += view.principal_satang
        assert view.outstanding_after_satang == amount - through >= 0
    assert views[-1].outstanding_after_satang == 0


@PURE
@given(terms=TERMS, amount=AMOUNT, start=st.dates(FIRST_DAY, TODAY), days=st.lists(st.integers(0, 500), max_size=6),
       paid=st.lists(st.tuples(st.integers(1, 400), st.integers(1, 10**7)), max_size=4))  # fmt: skip
def test_penalties_are_earned_day_by_day_and_stop_with_payment(terms, amount, start, days, paid):
    plan = schedule(amount, terms, start)
    payments = sorted((start + timedelta(days=d), satang) for d, satang in paid)
    earned = [penalty_earned_through(plan, terms, payments, start + timedelta(days=d)) for d in sorted(days)]
    assert earned == sorted(earned) and all(e >= 0 for e in earned)  # never taken back as days pass
    if terms.penalty_rate_annual_percent == 0:
        assert set(earned) <= {0}
    unpaid = penalty_earned_through(plan, terms, [], plan.maturity_on + timedelta(days=30))
    assert penalty_earned_through(plan, terms, payments, plan.maturity_on + timedelta(days=30)) <= unpaid
    # after a day (a fold): only the days after it count; after the day before lending, all do
    last = start + timedelta(days=max(days, default=0))
    whole = penalty_earned_through(plan, terms, payments, last)
    assert penalty_earned_through(plan, terms, payments, last, after=start - timedelta(days=1)) == whole
    later = [penalty_earned_through(plan, terms, payments, last, after=start + timedelta(days=d)) for d in sorted(days)]
    assert later == sorted(later, reverse=True) and all(0 <= e <= whole for e in later)


@PURE
@given(terms=TERMS, amount=AMOUNT, start=st.dates(FIRST_DAY, TODAY), after=st.integers(0, 300),
       extra=st.integers(0, 4), suspended=st.integers(0, 3), rate=st.sampled_from([None, Decimal("3.5")]))  # fmt: skip
def test_a_reschedule_keeps_what_fell_due_and_the_principal(terms, amount, start, after, extra, suspended, rate):
    plan, on = schedule(amount, terms, start), start + timedelta(days=after)
    try:
        new, _ = reschedule(plan, terms, on, rate_percent=rate, extra_instalments=extra, suspended_periods=suspended)
    except LedgerError as error:
        assert error.reason in (Rejection.nothing_to_reschedule, Rejection.invalid_grace_periods)
        return
    kept = [i for i in plan.instalments if i.due_on <= on]
    assert list(new.instalments[: len(kept)]) == kept
    assert sum(i.principal_satang for i in new.instalments) == amount == new.amount_satang
    assert all(a.due_on < b.due_on for a, b in zip(new.instalments, new.instalments[1:], strict=False))
    assert [i.number for i in new.instalments] == list(range(1, len(new.instalments) + 1))
    moved = new.instalments[len(kept): len(kept) + suspended]
    assert all(i.total_satang == i.interest_accrued_satang == 0 for i in moved)  # a moratorium owes nothing


@PURE
@given(terms=TERMS, amount=AMOUNT, start=st.dates(FIRST_DAY, TODAY), after=st.integers(0, 300),
       extra=st.integers(0, 4), paid=st.tuples(st.integers(0, 100), st.integers(0, 100)),
       rate=st.sampled_from([None, Decimal("3.5")]), accruing=st.booleans())  # fmt: skip
def test_folded_arrears_leave_nothing_past_due_and_keep_every_satang(
    terms, amount, start, after, extra, paid, rate, accruing
):
    """A reschedule that folds arrears: the instalments due by its date ask exactly what was
    paid of them, the principal still sums to the amount, and the interest the new schedule
    asks equals what it accrues: the unpaid interest moves to the new instalments, no more (on a
    loan no longer accruing, it is asked without being accrued again)."""
    plan, on = schedule(amount, terms, start), start + timedelta(days=after)
    kept = [i for i in plan.instalments if i.due_on <= on]
    principal = sum(i.principal_satang for i in kept) * paid[0] // 100
    interest = sum(i.interest_satang for i in kept) * paid[1] // 100
    sums = Totals(disbursed_satang=amount, principal_repaid_satang=principal, interest_paid_satang=interest)
    try:
        new, _ = reschedule(plan, terms, on, rate_percent=rate, extra_instalments=extra, folding=sums,
                            accruing=accruing)  # fmt: skip
    except LedgerError as error:
        assert error.reason in (Rejection.nothing_to_reschedule, Rejection.invalid_grace_periods)
        return
    head = new.instalments[: len(kept)]
    assert [i.due_on for i in head] == [i.due_on for i in kept]
    assert sum(i.principal_satang for i in head) == principal and sum(i.interest_satang for i in head) == interest
    assert sum(i.principal_satang for i in new.instalments) == amount and all(
        min(i.principal_satang, i.interest_satang) >= 0 for i in new.instalments)  # fmt: skip
    accrued_before = sum(i.interest_accrued_satang for i in kept)
    assert sum(i.interest_accrued_satang for i in head) == (accrued_before if accruing else interest)
    asked = sum(i.interest_satang - i.interest_accrued_satang for i in new.instalments)
    assert asked == (0 if accruing else accrued_before - interest)
    assert all(a.due_on < b.due_on for a, b in zip(new.instalments, new.instalments[1:], strict=False))
    assert days_past_due(new, terms, [(on, principal + interest)], on) == 0


@PURE
@given(terms=TERMS, amount=AMOUNT, start=st.dates(FIRST_DAY, TODAY), after=st.integers(0, 300),
       share=st.integers(5, 200), rate=st.sampled_from([None, Decimal("3.5")]))  # fmt: skip
def test_a_new_instalment_gives_the_shortest_term_that_asks_no_more(terms, amount, start, after, share, rate):
    """The term `instalments_for` finds keeps every new instalment within the one asked for, and
    one instalment fewer would not."""
    plan, on = schedule(amount, terms, start), start + timedelta(days=after)
    kept = len([i for i in plan.instalments if i.due_on <= on])
    asked = max(1, plan.instalments[0].total_satang * share // 100)
    try:
        count = instalments_for(plan, terms, on, asked, rate_percent=rate)
    except LedgerError as error:
        refusals = (Rejection.nothing_to_reschedule, Rejection.invalid_term, Rejection.invalid_grace_periods)
        assert error.reason in refusals
        return

    def largest(n: int) -> int:
        new, _ = reschedule(plan, terms, on, rate_percent=rate, extra_instalments=n - (len(plan.instalments) - kept))
        return max(i.total_satang for i in new.instalments[kept:])

    assert largest(count) <= asked
    assert count == 1 or largest(count - 1) > asked
