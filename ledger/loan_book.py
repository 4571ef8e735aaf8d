"""A loan's book: what a loan owes, derived from its schedule and its loan transactions.

The store keeps two append-only records of each loan: its *schedule versions* (the instalments
fixed at each disbursement) and its *loan transactions* (disbursements, repayments, accruals and
accrual reversals, penalty charges, write-offs, recoveries, refunds, each with the journal entry
that posted it). Everything a loan shows is a function of those two, computed here without I/O:

    principal outstanding = disbursed - principal repaid - principal written off   (invariant 8)
    principal due on D    = scheduled principal due by D - principal repaid, at most outstanding
    interest due on D     = scheduled interest due by D - interest paid
    past due on D         = what is due on D of the instalments due before D (and the penalty):
                            the part due on D itself is due, not yet late
    interest receivable   = accrued - reversed - interest paid out of what was accrued
                            - accrued interest reversed at write-off
    penalty due           = penalty receivable = charged - paid - reversed at write-off
                            (a penalty is due once close of business has charged it)
    overpayment balance   = overpaid + rebated to it - refunded
    days past due, class  = `ledger.loans.days_past_due` / `loan_class` over the repayments'
                            interest and principal (penalties and overpayments pay no instalment)

Restructuring. A reschedule (new rate, extra instalments) or a moratorium (periods with nothing
due and no interest) gives the loan a new schedule version from a date: the principal scheduled
later is scheduled again (`reschedule`). A moratorium keeps what fell due by then as it was; a
reschedule folds its arrears in (`fold_arrears`): the instalments due by then keep only what was
paid of them, their unpaid principal is scheduled again with the rest, their unpaid interest is
spread over the new instalments (not capitalised), so the loan is no longer past due for them.
The old version is kept; figures as of an earlier date use it.

Penalties. Principal (or principal and interest, as the terms' `penalty_on` says) overdue
since an instalment's due date is charged penalty interest (`ledger.loans.penalty_interest`, at
the terms' penalty rate from their penalty day) for each day it stays unpaid; a repayment
dated D stops the penalty of what it pays from day D on. Like accrual, close of business
charges what the loan has earned in penalties through D less what was charged already, so a
second run charges nothing. A non-performing loan is charged none.

Tranches. The first disbursement fixes a schedule (`ledger.loans.schedule`). A later tranche
gets a schedule of its own over the loan's remaining due dates (its first repayment is the
loan's next due date, its grace whatever grace is left), and the loan's new schedule version is
the sum of the two, instalment by instalment: what was already disbursed keeps its interest and
its instalments, and the new money is charged interest from its own disbursement date only. So
a version's principal always sums to what has been disbursed.

Accrual. Each instalment's accrued interest (`interest_accrued_satang`, which under an interest
grace differs from the interest due with it) is earned evenly over the days of its period
[previous due date, due date): through the end of day D a period of L days has earned
round(interest x elapsed / L), half-up, and all of it on the day before its due date. Close of
business accrues the difference between what the schedule has earned through D and what has
been recognised already (accrued, net of reversals, plus interest paid straight to income), so
running it again for the same day accrues nothing, and a day missed is caught up on the next.
A non-performing loan (more than 90 days past due) accrues nothing, and what it had accrued but
not received is reversed; interest it pays then goes straight to income.

>>> from decimal import Decimal
>>> from ledger.loans import LoanTerms, schedule
>>> plan = schedule(1_000_000, LoanTerms(rate_annual_percent=Decimal("12"), term_instalments=3), date(2024, 1, 31))
>>> interest_earned_through(plan, date(2024, 2, 28)), plan.instalments[0].interest_satang
(10000, 10000)
>>> interest_earned_through(plan, date(2024, 2, 14))  # 15 of the first period's 29 days
5172
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import accumulate, pairwise

from ledger.errors import LedgerError, Rejection
from ledger.loans import (
    DEFAULT_AGEING_BOUNDS,
    MAX_INSTALMENTS,
    AdvancePayment,
    Allocation,
    Component,
    Instalment,
    InterestMethod,
    LoanClass,
    LoanTerms,
    PenaltyBase,
    RateChange,
    Schedule,
    ageing_bucket,
    allocate_payment,
    days_past_due,
    days_past_due_having_paid,
    is_non_performing,
    loan_class,
    penalty_interest_total,
    rate_on,
    schedule,
)
from ledger.money import format_amount

__all__ = [
    "CHARGED_OFF_CLASS", "SUMMED_PARTS", "CloseOfDay", "Figures", "Fold", "InstalmentView", "LoanTx", "Portfolio",
    "StatementLine", "Totals", "TxKind", "WriteOff", "advance_mode", "advance_payment", "advanced_schedule",
    "close_of_day", "dues", "figures", "instalment_payments", "instalment_views",
    "instalments_for", "interest_earned_through", "is_settled", "missing_savings_satang", "penalty_earned_through",
    "fold_arrears", "par_percent", "repayment", "reschedule", "settled_merged", "statement_lines", "suspended_periods",
    "totals", "with_tranche", "write_off", "penalised_part",
]  # fmt: skip


class TxKind(StrEnum):
    disbursement = "disbursement"
    repayment = "repayment"
    accrual = "accrual"  # Dr interest receivable / Cr interest income
    accrual_reversal = "accrual_reversal"  # Dr interest income / Cr interest receivable
    penalty = "penalty"  # close of business: Dr penalty receivable / Cr penalty income
    write_off = "write_off"  # principal, accrued interest and penalties taken off the books
    recovery = "recovery"  # cash received after a write-off: Dr cash / Cr recovery income
    refund = "refund"  # an overpayment paid back: Dr overpayments / Cr cash
    rebate = "rebate"  # interest given back: Dr interest income / Cr overpayments (or cash)


# Which part of a transaction's amount each kind carries (the parts always sum to the amount):
#   disbursement  principal          penalty     penalty
#   repayment     all four           write_off   principal, interest and penalty taken off
#   accrual(_rev) interest           recovery    principal (of what was written off)
#                                    refund      overpayment (paid back)
#                                    rebate      overpayment (credited) or interest (paid in cash)


@dataclass(frozen=True)
class LoanTx:
    """One loan transaction. A repayment's parts sum to its amount; a disbursement is all
    principal; an accrual or its reversal all interest."""

    kind: TxKind
    on: date
    amount_satang: int
    principal_satang: int = 0
    interest_satang: int = 0
    penalty_satang: int = 0
    overpayment_satang: int = 0
    interest_from_receivable_satang: int = 0  # of the interest paid, what settled accrued interest


@dataclass(frozen=True)
class Totals:
    """A loan's transactions summed up."""

    disbursed_satang: int = 0
    principal_repaid_satang: int = 0
    interest_paid_satang: int = 0
    penalty_paid_satang: int = 0
    overpaid_satang: int = 0
    accrued_satang: int = 0
    reversed_satang: int = 0
    interest_paid_from_receivable_satang: int = 0
    penalty_charged_satang: int = 0
    principal_written_off_satang: int = 0
    interest_written_off_satang: int = 0
    penalty_written_off_satang: int = 0
    recovered_satang: int = 0
    refunded_satang: int = 0
    rebated_satang: int = 0
    rebated_to_overpayment_satang: int = 0

    @property
    def outstanding_satang(self) -> int:
        return self.disbursed_satang - self.principal_repaid_satang - self.principal_written_off_satang

    @property
    def interest_receivable_satang(self) -> int:
        paid = self.interest_paid_from_receivable_satang
        return self.accrued_satang - self.reversed_satang - paid - self.interest_written_off_satang

    @property
    def penalty_receivable_satang(self) -> int:
        return self.penalty_charged_satang - self.penalty_paid_satang - self.penalty_written_off_satang

    @property
    def overpayment_balance_satang(self) -> int:
        return self.overpaid_satang + self.rebated_to_overpayment_satang - self.refunded_satang

    @property
    def interest_income_satang(self) -> int:
        """What interest income holds for the loan: what was recognised less what was rebated.
        (Rebates are kept apart from `interest_recognised_satang`, which accrual catches up to.)"""
        return self.interest_recognised_satang - self.rebated_satang

    @property
    def written_off_satang(self) -> int:
        return self.principal_written_off_satang + self.interest_written_off_satang + self.penalty_written_off_satang

    @property
    def interest_recognised_satang(self) -> int:
        """Income taken so far: net accruals (less what a write-off reversed), and interest paid
        that had not been accrued."""
        paid_to_income = self.interest_paid_satang - self.interest_paid_from_receivable_satang
        return self.accrued_satang - self.reversed_satang - self.interest_written_off_satang + paid_to_income

    @property
    def penalty_recognised_satang(self) -> int:
        return self.penalty_charged_satang - self.penalty_written_off_satang


def totals(txs: Iterable[LoanTx], as_of: date | None = None) -> Totals:
    """The sums of the transactions dated on or before `as_of` (all of them if None)."""
    sums = dict.fromkeys(Totals.__dataclass_fields__, 0)
    for tx in txs:
        if as_of is not None and tx.on > as_of:
            continue
        for name, part in SUMMED_PARTS[tx.kind]:
            sums[name] += getattr(tx, part)
    return Totals(**sums)


# Which Totals field each kind's parts add to: (field, LoanTx attribute).
SUMMED_PARTS: dict[TxKind, tuple[tuple[str, str], ...]] = {
    TxKind.disbursement: (("disbursed_satang", "principal_satang"),),
    TxKind.accrual: (("accrued_satang", "interest_satang"),),
    TxKind.accrual_reversal: (("reversed_satang", "interest_satang"),),
    TxKind.penalty: (("penalty_charged_satang", "penalty_satang"),),
    TxKind.repayment: (
        ("principal_repaid_satang", "principal_satang"), ("interest_paid_satang", "interest_satang"),
        ("penalty_paid_satang", "penalty_satang"), ("overpaid_satang", "overpayment_satang"),
        ("interest_paid_from_receivable_satang", "interest_from_receivable_satang"),
    ),
    TxKind.write_off: (
        ("principal_written_off_satang", "principal_satang"), ("interest_written_off_satang", "interest_satang"),
        ("penalty_written_off_satang", "penalty_satang"),
    ),
    TxKind.recovery: (("recovered_satang", "principal_satang"),),
    TxKind.refund: (("refunded_satang", "overpayment_satang"),),
    TxKind.rebate: (("rebated_satang", "amount_satang"), ("rebated_to_overpayment_satang", "overpayment_satang")),
}  # fmt: skip


def instalment_payments(txs: Iterable[LoanTx]) -> list[tuple[date, int]]:
    """(date, satang) of what each repayment paid towards instalments: interest and principal."""
    return [(tx.on, tx.interest_satang + tx.principal_satang) for tx in txs if tx.kind is TxKind.repayment]


# --- tranches ----------------------------------------------------------------------------------


def with_tranche(current: Schedule | None, terms: LoanTerms, amount_satang: int, on: date) -> Schedule:
    """The loan's schedule after disbursing `amount_satang` on `on` (see the module docstring)."""
    if current is None:
        return schedule(amount_satang, terms, on)
    rows = current.instalments
    passed = bisect_right([i.due_on for i in rows], on)
    if passed == len(rows):
        raise LedgerError(Rejection.loan_matured, f"the loan's last instalment fell due on {rows[-1].due_on}")
    part = schedule(amount_satang, _tranche_terms(terms, passed, len(rows) - passed, rows[passed].due_on), on)
    merged = [*rows[:passed]]
    for old, new in zip(rows[passed:], part.instalments, strict=True):
        merged.append(Instalment(
            old.number, old.due_on, old.principal_satang + new.principal_satang,
            old.interest_satang + new.interest_satang, old.total_satang + new.total_satang,
            old.outstanding_after_satang + new.outstanding_after_satang,
            old.interest_accrued_satang + new.interest_accrued_satang,
        ))  # fmt: skip
    return Schedule(current.amount_satang + amount_satang, current.disbursed_on, tuple(merged))


def _tranche_terms(
    terms: LoanTerms, passed: int, remaining: int, first_due: date, *, regular: bool = False
) -> LoanTerms:
    """A tranche's terms: the loan's remaining due dates, and whatever grace is left of them.
    (Its dates count from the next due date, so after a clamped month end a tranche's own dates
    may fall a day or two before the loan's; its instalments are summed by number.) `regular`:
    money paid out (or back) on a due date, whose first period is a whole one."""
    return replace(
        terms,
        term_instalments=remaining,
        first_repayment_on=None if regular else first_due,
        grace_principal_periods=min(max(0, terms.grace_principal_periods - passed), remaining - 1),
        grace_interest_periods=min(max(0, terms.grace_interest_periods - passed), remaining - 1),
        interest_free_periods=min(max(0, terms.interest_free_periods - passed), remaining),
    )


# --- rescheduling and moratorium --------------------------------------------------------------


def reschedule(
    plan: Schedule, terms: LoanTerms, on: date, *, rate_percent: Decimal | None = None, extra_instalments: int = 0,
    suspended_periods: int = 0, folding: Totals | None = None, accruing: bool = True, rate_ends_on: date | None = None,
) -> tuple[Schedule, LoanTerms]:  # fmt: skip
    """The loan's schedule restructured on `on`: the instalments due by then stay as they were;
    the principal scheduled after them is re-scheduled from the last of them (the start of the
    period `on` falls in), over the instalments left plus `extra_instalments`, at `rate_percent`
    (the loan's rate if None), re-levelled, on the old due dates and as many more as needed.

    With `folding` (the loan's totals on `on`, no money moved after it) the arrears are folded
    into the new part (`fold_arrears`): the instalments due by `on` keep only what was paid of
    them, their unpaid principal is scheduled again with the rest, and their unpaid interest is
    spread over the new instalments (`accruing`: see `fold_arrears`). Without it (a
    moratorium, a rate change) arrears stay due.

    A new rate with `rate_ends_on` is a trial (CODI's 3.5 % of June 2024 for a year): from that
    day the rate in force on `on` returns (a rate change of the new terms), for the periods
    starting then (per period interest) or from that day (daily); the instalments keep the level
    of the new rate and the last one takes the difference, as after any rate change.

    A moratorium is `suspended_periods` first new periods with nothing due and no interest
    (`grace_principal_periods` and `interest_free_periods` of the new part): every instalment
    after them moves that many periods later. Returns the new schedule (its principal still sums
    to what was disbursed) and the terms the loan runs under from then on."""
    rows = plan.instalments
    kept = bisect_right([i.due_on for i in rows], on)
    folded_interest = 0
    if folding is not None:
        head, folded_interest = fold_arrears(plan, kept, folding, accruing=accruing)
        rows = (*head, *rows[kept:])
    remaining = plan.amount_satang - sum(i.principal_satang for i in rows[:kept])
    if remaining == 0 or kept == len(rows):
        raise LedgerError(Rejection.nothing_to_reschedule, "no principal is scheduled after that date")
    count = len(rows) - kept + extra_instalments + suspended_periods
    start = rows[kept - 1].due_on if kept else plan.disbursed_on
    rate = terms.rate_annual_percent if rate_percent is None else rate_percent
    changes = terms.rate_changes if rate_percent is None else ()
    if rate_percent is not None and rate_ends_on is not None:
        if rate_ends_on <= on:
            raise LedgerError(Rejection.invalid_date_range, f"a rate change ending on {rate_ends_on} ends by {on}")
        changes = (RateChange(rate_ends_on, rate_on(terms, on)),)
    loan_terms = replace(terms, rate_annual_percent=rate, rate_changes=changes, term_instalments=count + kept)
    part_terms = replace(loan_terms, term_instalments=count, first_repayment_on=rows[kept].due_on,
                         grace_principal_periods=suspended_periods, grace_interest_periods=0,
                         interest_free_periods=suspended_periods)  # fmt: skip
    part = schedule(remaining, part_terms, start)
    shares = _spread(folded_interest, len(part.instalments), terms.instalment_multiple_satang)
    moved = [i._replace(number=kept + i.number, interest_satang=i.interest_satang + share,
                        total_satang=i.total_satang + share) for i, share in zip(part.instalments, shares, strict=True)]
    return Schedule(plan.amount_satang, plan.disbursed_on, (*rows[:kept], *moved)), loan_terms


def fold_arrears(
    plan: Schedule, kept: int, sums: Totals, *, accruing: bool = True
) -> tuple[tuple[Instalment, ...], int]:
    """The first `kept` instalments (those due by a reschedule date) cut down to what was paid
    of them, and the interest to spread over the new instalments.

    Payments go to the oldest instalments first, principal and interest each on its own (as
    `instalment_views` shows them), so the kept instalments then ask exactly what was paid and
    the loan is not past due for them. Their unpaid principal simply stays in the balance that
    is scheduled again. The interest to spread is what they accrued and was not paid: their
    unpaid interest, and any interest an interest grace deferred to instalments the new
    schedule replaces. It is not capitalised: no interest is charged on it, and no entry is made.

    On an `accruing` loan that interest was accrued (it is in interest receivable): what the
    kept instalments accrued (`interest_accrued_satang`) stays as it was, so accrual neither
    counts it twice nor loses it. On a loan that no longer accrues (non-performing: what it had
    accrued and not received was reversed out of income) the kept instalments are cut to have
    accrued only what was paid, so the folded interest is not accrued again when the loan
    performs again: it is income when it is paid (cash basis), as on a non-performing loan."""
    principal_left, interest_left = sums.principal_repaid_satang, sums.interest_paid_satang
    head, outstanding, accrued = [], plan.amount_satang, 0
    for i in plan.instalments[:kept]:
        principal, interest = min(principal_left, i.principal_satang), min(interest_left, i.interest_satang)
        principal_left, interest_left = principal_left - principal, interest_left - interest
        outstanding -= principal
        accrued += i.interest_accrued_satang
        earned = i.interest_accrued_satang if accruing else interest
        head.append(Instalment(i.number, i.due_on, principal, interest, principal + interest, outstanding, earned))
    return tuple(head), max(0, accrued - sum(i.interest_satang for i in head))


def _spread(amount_satang: int, count: int, multiple: int) -> list[int]:
    """`amount_satang` in `count` equal parts of whole multiples, the earlier parts taking the
    extra multiple and the last the remainder below one multiple (as deferred interest is)."""
    units, below = divmod(amount_satang, multiple)
    each, extra = divmod(units, count)
    shares = [(each + 1) * multiple] * extra + [each * multiple] * (count - extra)
    shares[-1] += below
    return shares


def instalments_for(
    plan: Schedule, terms: LoanTerms, on: date, instalment_satang: int, *, rate_percent: Decimal | None = None,
    folding: Totals | None = None, accruing: bool = True,
) -> int:  # fmt: skip
    """How many instalments after `on` a reschedule needs for none of them to exceed
    `instalment_satang`: the fewest such (a longer term never asks more of a period). Refused if
    no term the loan may run to is enough: the instalment would not even cover the interest."""
    kept = bisect_right([i.due_on for i in plan.instalments], on)
    left = len(plan.instalments) - kept

    def largest(count: int) -> int | None:
        """The largest new instalment over `count` instalments; None if the loan may not run so long."""
        try:
            new, _ = reschedule(plan, terms, on, rate_percent=rate_percent, extra_instalments=count - left,
                                folding=folding, accruing=accruing)  # fmt: skip
        except LedgerError as refusal:
            if refusal.reason is not Rejection.invalid_term:
                raise
            return None
        return max(i.total_satang for i in new.instalments[kept:])

    longest = _first(1, MAX_INSTALMENTS - kept + 1, lambda count: largest(count) is None) - 1
    if longest < 1 or largest(longest) > instalment_satang:
        raise LedgerError(Rejection.invalid_term, f"an instalment of {format_amount(instalment_satang)} does not "
                          f"repay the loan in any term it may run to")  # fmt: skip
    return _first(1, longest, lambda count: largest(count) <= instalment_satang)


def _first(low: int, high: int, holds) -> int:
    """The least n in [low, high] for which `holds(n)`, given that it holds from some n on (high
    if it holds nowhere before): by halving."""
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if holds(middle) else (middle + 1, high)
    return low


def suspended_periods(plan: Schedule, first_day: date, last_day: date) -> int:
    """How many of the schedule's due dates fall in [first_day, last_day]: the periods a
    moratorium over those days suspends (whole periods: the first begins at the due date
    before `first_day`)."""
    if first_day > last_day:
        raise LedgerError(Rejection.invalid_date_range, f"the span {first_day}..{last_day} ends before it starts")
    count = sum(1 for i in plan.instalments if first_day <= i.due_on <= last_day)
    if count == 0:
        raise LedgerError(Rejection.moratorium_without_due_date, "no instalment falls due in that span")
    return count


# --- advance payments -------------------------------------------------------------------------


def advance_mode(terms: LoanTerms) -> AdvancePayment:
    """What a payment beyond what is due does: the terms' choice, but flat interest is fixed at
    disbursement and never re-planned, so on a flat loan an advance pays instalments ahead."""
    if terms.interest_method is InterestMethod.flat:
        return AdvancePayment.hold_credit
    return terms.advance_payment


def advance_payment(
    allocation: Allocation, plan: Schedule, base: Schedule, terms: LoanTerms, sums: Totals, on: date
) -> Allocation:
    """`allocation` (of a repayment on `on` against what is due, `sums` the loan's totals before
    it) with its overpayment applied as an advance (see the module docstring): to the next
    instalments of `plan` (holding a credit), or to the interest the current period of `base`
    has earned before `on` and then to principal (reducing the term or the instalment). What
    is left after all the principal is an overpayment, refundable."""
    excess = allocation.overpayment_satang
    principal_paid = sums.principal_repaid_satang + allocation.principal_satang
    interest_paid = sums.interest_paid_satang + allocation.interest_satang
    if excess == 0:
        return allocation
    if advance_mode(terms) is AdvancePayment.hold_credit:
        return _ahead(allocation, plan, terms, principal_paid, interest_paid)
    kept = bisect_right([i.due_on for i in base.instalments], on)
    if kept == len(base.instalments):  # nothing falls due later: nothing to pay ahead
        return allocation
    stub, deferred = _stub_interest(base, kept, on)
    scheduled = sum(i.interest_satang for i in base.instalments[:kept]) + stub
    interest = min(excess, max(0, scheduled - interest_paid))
    outstanding = sums.outstanding_satang - allocation.principal_satang
    principal = min(excess - interest, outstanding)
    if principal == outstanding:  # paid off: the interest a grace deferred is due at once
        interest += min(excess - interest - principal, max(0, scheduled + deferred - interest_paid - interest))
    return replace(allocation, interest_satang=allocation.interest_satang + interest,
                   principal_satang=allocation.principal_satang + principal,
                   overpayment_satang=excess - interest - principal)  # fmt: skip


def _ahead(
    allocation: Allocation, plan: Schedule, terms: LoanTerms, principal_paid: int, interest_paid: int
) -> Allocation:
    """The overpayment paid towards the next instalments of `plan` ahead of their dates, oldest
    first, each in the terms' order (repayments pay the oldest instalments first, so what is
    paid of each is read off the totals)."""
    left, ahead = allocation.overpayment_satang, dict.fromkeys(Component, 0)
    for i in plan.instalments:
        paid = {Component.principal: min(principal_paid, i.principal_satang),
                Component.interest: min(interest_paid, i.interest_satang)}  # fmt: skip
        principal_paid -= paid[Component.principal]
        interest_paid -= paid[Component.interest]
        unpaid = {Component.principal: i.principal_satang, Component.interest: i.interest_satang, Component.penalty: 0}
        for component in terms.allocation_order:
            taken = min(left, unpaid[component] - paid.get(component, 0))
            ahead[component] += taken
            left -= taken
        if left == 0:
            break
    return replace(allocation, interest_satang=allocation.interest_satang + ahead[Component.interest],
                   principal_satang=allocation.principal_satang + ahead[Component.principal],
                   overpayment_satang=left)  # fmt: skip


def _stub_interest(base: Schedule, kept: int, on: date) -> tuple[int, int]:
    """The interest the period in which `on` falls (after the `kept` instalments due by then) has
    earned on the days before `on`, as accrual counts it (`interest_earned_through`); and the
    interest a grace deferred that the kept instalments have not charged."""
    start = base.instalments[kept - 1].due_on if kept else base.disbursed_on
    following = base.instalments[kept]
    stub = _half_up(following.interest_accrued_satang * (on - start).days, (following.due_on - start).days)
    deferred = sum(i.interest_accrued_satang - i.interest_satang for i in base.instalments[:kept])
    return stub, deferred


def advanced_schedule(base: Schedule, terms: LoanTerms, on: date, principal_repaid_satang: int) -> Schedule | None:
    """The schedule from `on` of a loan whose repayments by then (advances dated `on` included)
    repaid `principal_repaid_satang`, `base` the schedule before the advances dated `on`; None
    if nothing was advanced or the terms hold advances as a credit. The instalments due by `on`
    stay; an instalment due on `on` asks the principal advanced and the interest its period
    earned before `on` (or the one due that day takes the principal); the principal left is
    scheduled from `on` over the loan's next due dates, with whatever grace is left of them:
    over as many instalments (`reduce_instalment`) or the fewest none of which asks more than
    the largest of those it replaces (`reduce_term`). Interest a grace deferred is spread over
    them, as a reschedule spreads folded interest."""
    rows = base.instalments
    kept = bisect_right([i.due_on for i in rows], on)
    advanced = principal_repaid_satang - sum(i.principal_satang for i in rows[:kept])
    if advance_mode(terms) is AdvancePayment.hold_credit or advanced <= 0 or kept == len(rows):
        return None
    stub, deferred = _stub_interest(base, kept, on)
    remaining = base.amount_satang - sum(i.principal_satang for i in rows[:kept]) - advanced
    head = list(rows[:kept])
    if head and head[-1].due_on == on:  # paid on a due date: that instalment takes the principal
        last = head[-1]
        head[-1] = last._replace(principal_satang=last.principal_satang + advanced,
                                 total_satang=last.total_satang + advanced, outstanding_after_satang=remaining)
    else:
        head.append(Instalment(kept + 1, on, advanced, stub, advanced + stub, remaining, stub))
    tail = _advance_tail(base, terms, on, kept, remaining, deferred, len(head)) if remaining else ()
    if not tail and deferred:  # paid off: what a grace deferred is due now
        last = head[-1]
        head[-1] = last._replace(interest_satang=last.interest_satang + deferred,
                                 total_satang=last.total_satang + deferred)
    return Schedule(base.amount_satang, base.disbursed_on, (*head, *tail))


def _advance_tail(
    base: Schedule, terms: LoanTerms, on: date, kept: int, remaining: int, deferred: int, offset: int
) -> tuple[Instalment, ...]:
    """`remaining` principal scheduled from `on` over the due dates after the `kept` instalments
    of `base`, numbered after `offset`, carrying `deferred` interest in equal parts."""
    left, first_due = len(base.instalments) - kept, base.instalments[kept].due_on
    on_due_date = kept > 0 and base.instalments[kept - 1].due_on == on  # the first period is a regular one
    # the rest of the period the payment fell in is charged by its days over that period's days
    period_from = base.instalments[kept - 1].due_on if kept else base.disbursed_on

    def tail(count: int) -> tuple[Instalment, ...]:
        """Over `count` instalments, on the loan's own due dates (after a clamped month end the
        part's own dates may fall a day or two before them, as a tranche's may)."""
        part = schedule(remaining, _tranche_terms(terms, kept, count, first_due, regular=on_due_date), on,
                        period_from=period_from)
        shares = _spread(deferred, count, terms.instalment_multiple_satang)
        dates = [i.due_on for i in base.instalments[kept:]]
        return tuple(i._replace(number=offset + i.number, due_on=dates[k], interest_satang=i.interest_satang + share,
                                total_satang=i.total_satang + share)
                     for k, (i, share) in enumerate(zip(part.instalments, shares, strict=True)))  # fmt: skip

    if advance_mode(terms) is AdvancePayment.reduce_instalment:
        return tail(left)
    most = max(i.total_satang for i in base.instalments[kept:])
    return tail(_first(1, left, lambda count: max(i.total_satang for i in tail(count)) <= most))


# --- what is due, and where a payment goes -----------------------------------------------------


def dues(plan: Schedule, sums: Totals, on: date) -> dict[Component, int]:
    """Penalty, interest and principal due on `on`: scheduled by then and not yet paid."""
    due = [i for i in plan.instalments if i.due_on <= on]
    scheduled = sum(i.principal_satang for i in due)
    principal = min(sums.outstanding_satang, max(0, scheduled - sums.principal_repaid_satang))
    interest = max(0, sum(i.interest_satang for i in due) - sums.interest_paid_satang)
    penalty = max(0, sums.penalty_receivable_satang)
    return {Component.penalty: penalty, Component.interest: interest, Component.principal: principal}


def repayment(
    amount_satang: int, plan: Schedule, terms: LoanTerms, sums: Totals, on: date, *, base: Schedule | None = None
) -> tuple[Allocation, int]:
    """Allocate a repayment in the terms' order against what is due on `on`; what is left is an
    advance (`advance_payment`), and what is left after that an overpayment. Also returns how
    much of the interest paid settles accrued interest (the rest is income now). `base`: the
    schedule before any advance dated `on` (`plan`, the one in force, if None)."""
    allocation = allocate_payment(amount_satang, dues(plan, sums, on), terms.allocation_order)
    allocation = advance_payment(allocation, plan, base or plan, terms, sums, on)
    from_receivable = min(allocation.interest_satang, max(0, sums.interest_receivable_satang))
    return allocation, from_receivable


def is_settled(plan: Schedule, sums: Totals, *, amount_satang: int) -> bool:
    """The loan is fully repaid: all of its amount disbursed, every instalment paid, principal
    and interest, and no penalty owed. (A loan with an amount never disbursed stays active even
    when its schedule is paid: closing it would silently cancel the rest of the amount.)"""
    if sums.disbursed_satang < amount_satang:
        return False
    paid = sums.outstanding_satang == 0 and sums.interest_paid_satang >= plan.interest_satang
    return paid and sums.penalty_receivable_satang == 0


@dataclass(frozen=True)
class WriteOff:
    """What writing a loan off takes off the books: its outstanding principal, and the interest
    and penalties accrued but not received (their income reversed)."""

    principal_satang: int
    interest_satang: int
    penalty_satang: int

    @property
    def total_satang(self) -> int:
        return self.principal_satang + self.interest_satang + self.penalty_satang


def write_off(sums: Totals) -> WriteOff:
    """The write-off of a loan with these totals; refused if there is nothing to write off."""
    parts = WriteOff(sums.outstanding_satang, max(0, sums.interest_receivable_satang),
                     max(0, sums.penalty_receivable_satang))  # fmt: skip
    if parts.total_satang == 0:
        raise LedgerError(Rejection.nothing_to_write_off, "the loan owes no principal, interest or penalty")
    return parts


# --- accrual and close of business -------------------------------------------------------------


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def interest_earned_through(plan: Schedule, day: date) -> int:
    """The interest the schedule has earned by the end of `day`: each instalment's accrued
    interest spread evenly over the days of its period, rounded half-up."""
    earned, start = 0, plan.disbursed_on
    for instalment in plan.instalments:
        if day < start:
            break
        length = (instalment.due_on - start).days
        elapsed = min(length, (day - start).days + 1)
        if length:  # an advance on the day of disbursement makes an instalment of no days
            earned += _half_up(instalment.interest_accrued_satang * elapsed, length)
        start = instalment.due_on
    return earned


def penalty_earned_through(
    plan: Schedule, terms: LoanTerms, principal_payments: Sequence[tuple[date, int]], day: date,
    *, after: date | None = None,
) -> int:  # fmt: skip
    """The penalty interest the loan has earned by the end of `day`: for each stretch of days
    between repayments, each instalment's principal (or principal and interest, as
    `terms.penalty_on` says) still unpaid, repayments paying the oldest first, charged penalty
    interest from its due date, the pieces summed exactly and rounded once
    (`penalty_interest_total`). `principal_payments` are (date, satang) of what the repayments
    paid of those parts (`penalised_part`); one dated D pays from day D on. With `after`, only
    the days after it count."""
    if terms.penalty_rate_annual_percent == 0:
        return 0
    end, first = day + timedelta(days=1), plan.disbursed_on
    if after is not None:
        first = max(first, after + timedelta(days=1))
    rows = [i for i in plan.instalments if i.due_on < day]
    if not rows or first >= end:
        return 0
    parts = [penalised_part(terms.penalty_on, i.principal_satang, i.interest_satang) for i in rows]
    owed = list(accumulate(parts))
    cuts = sorted({first, end, *(d for d, _ in principal_payments if first < d < end)})
    pieces = []
    for start, stop in pairwise(cuts):
        paid = sum(satang for d, satang in principal_payments if d <= start)
        for k in range(bisect_right(owed, paid), len(rows)):
            if rows[k].due_on >= stop:
                break
            pieces.append((min(parts[k], owed[k] - paid), rows[k].due_on, start, stop))
    return penalty_interest_total(pieces, terms)


def penalised_part(penalty_on: PenaltyBase, principal_satang: int, interest_satang: int) -> int:
    """Of an instalment, or of a repayment, the part penalty interest is charged on."""
    if penalty_on is PenaltyBase.overdue_principal_and_interest:
        return principal_satang + interest_satang
    return principal_satang


def settled_merged(plan: Schedule, paid_satang: int, day: date) -> Schedule:
    """`plan` with the instalments due by `day` that `paid_satang` (what repayments paid of
    instalments, oldest first; nothing is merged if nothing was paid) covers wholly read as
    one: due on the last one's date, carrying their sums. Ageing and interest accrual on `day`
    decide the same on it as on `plan` (a whole period earns exactly its interest, and ageing
    looks only at cumulative dues before the oldest unpaid instalment); penalty interest does
    not, as it walks each overdue instalment's history. Close of business reads penalty-free
    loans' schedules so, merged by the database: a couple of rows a loan instead of every
    instalment it has paid."""
    settled, cumulative = 0, 0
    for instalment in plan.instalments if paid_satang > 0 else ():
        cumulative += instalment.total_satang
        if instalment.due_on > day or cumulative > paid_satang:
            break
        settled += 1
    if settled < 2:
        return plan
    paid_off, last = plan.instalments[:settled], plan.instalments[settled - 1]
    one = Instalment(
        last.number, last.due_on, sum(i.principal_satang for i in paid_off), sum(i.interest_satang for i in paid_off),
        sum(i.total_satang for i in paid_off), min(i.outstanding_after_satang for i in paid_off),
        sum(i.interest_accrued_satang for i in paid_off),
    )  # fmt: skip
    return replace(plan, instalments=(one, *plan.instalments[settled:]))


@dataclass(frozen=True)
class CloseOfDay:
    """What close of business on a day does to one active loan."""

    days_past_due: int
    loan_class: LoanClass
    accruing: bool
    accrual_satang: int  # interest to accrue now
    reversal_satang: int  # accrued interest to reverse now (the loan became non-performing)
    penalty_satang: int = 0  # penalty interest to charge now


@dataclass(frozen=True)
class Fold:
    """A reschedule that folded a loan's arrears into its schedule: its date, and the penalty
    interest charged for the days after it. The folded schedule keeps of the instalments before
    it only what was paid, so the penalty their overdue principal earned until then is no longer
    in the schedule: it stays charged, and the penalty earned after the fold is counted apart."""

    on: date
    penalty_charged_after_satang: int


def close_of_day(
    plan: Schedule, terms: LoanTerms, sums: Totals, paid_satang: int, day: date,
    principal_payments: Sequence[tuple[date, int]] = (), fold: Fold | None = None,
) -> CloseOfDay:  # fmt: skip
    """Age the loan at the end of `day` by what its repayments by then paid of instalments
    (`paid_satang`: interest and principal); accrue what it has earned and not yet recognised
    (`sums` of all its transactions) and charge the penalties it has earned and not been charged
    (since its latest `fold`, if its arrears were folded), or, if it is non-performing, reverse
    what it has accrued and not received (and charge no penalty)."""
    age = days_past_due_having_paid(plan, terms, paid_satang, day)
    if is_non_performing(age):
        return CloseOfDay(age, loan_class(age), False, 0, max(0, sums.interest_receivable_satang))
    accrual = max(0, interest_earned_through(plan, day) - sums.interest_recognised_satang)
    if fold is None:
        earned, charged = penalty_earned_through(plan, terms, principal_payments, day), sums.penalty_charged_satang
    else:
        earned = penalty_earned_through(plan, terms, principal_payments, day, after=fold.on)
        charged = fold.penalty_charged_after_satang
    return CloseOfDay(age, loan_class(age), True, accrual, 0, max(0, earned - charged))


# --- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """A loan as of a date."""

    as_of: date
    disbursed_satang: int
    principal_outstanding_satang: int
    principal_due_satang: int
    interest_due_satang: int
    penalty_due_satang: int
    interest_receivable_satang: int
    overpaid_satang: int  # the overpayment balance: overpaid less refunded
    days_past_due: int
    loan_class: LoanClass
    ageing_bucket: str
    next_due_on: date | None
    next_due_satang: int
    maturity_on: date | None
    principal_past_due_satang: int  # of the principal due, what fell due before `as_of` (not on it)
    interest_past_due_satang: int  # likewise of the interest due

    @property
    def due_satang(self) -> int:
        return self.principal_due_satang + self.interest_due_satang + self.penalty_due_satang

    @property
    def past_due_satang(self) -> int:
        """What is late: due before `as_of` and unpaid, with the penalty (only ever charged on that)."""
        return self.principal_past_due_satang + self.interest_past_due_satang + self.penalty_due_satang


def figures(plan: Schedule | None, terms: LoanTerms, txs: Sequence[LoanTx], as_of: date) -> Figures:
    """The loan's figures from the transactions dated up to `as_of`, under its schedule then."""
    sums = totals(txs, as_of)
    if plan is None:  # nothing disbursed yet
        held = sums.overpayment_balance_satang
        return Figures(as_of, 0, 0, 0, 0, 0, 0, held, 0, LoanClass.pass_, "current", None, 0, None, 0, 0)
    owed = dues(plan, sums, as_of)
    late = dues(plan, sums, as_of - timedelta(days=1))  # paid through `as_of`, against what fell due before it
    age = days_past_due(plan, terms, instalment_payments(t for t in txs if t.on <= as_of), as_of)
    # an instalment a moratorium emptied is not "next due"
    upcoming = next((i for i in plan.instalments if i.due_on > as_of and i.total_satang), None)
    return Figures(
        as_of, sums.disbursed_satang, sums.outstanding_satang, owed[Component.principal], owed[Component.interest],
        owed[Component.penalty], sums.interest_receivable_satang, sums.overpayment_balance_satang, age, loan_class(age),
        ageing_bucket(age), upcoming.due_on if upcoming else None, upcoming.total_satang if upcoming else 0,
        plan.maturity_on, late[Component.principal], late[Component.interest],
    )  # fmt: skip


@dataclass(frozen=True)
class InstalmentView:
    """A planned instalment with what has been paid of it (payments go to the oldest first)."""

    number: int
    due_on: date
    principal_satang: int
    interest_satang: int
    total_satang: int
    principal_paid_satang: int
    interest_paid_satang: int
    status: str  # paid, overdue, due (today), upcoming
    outstanding_after_satang: int  # principal outstanding once this and every earlier instalment is paid

    @property
    def unpaid_satang(self) -> int:
        return self.total_satang - self.principal_paid_satang - self.interest_paid_satang


def instalment_views(plan: Schedule, sums: Totals, on: date) -> list[InstalmentView]:
    """Each instalment with the principal and interest paid towards it, oldest first, and the
    principal the schedule leaves outstanding after it (counted here from the version's own
    instalments, so that a tranche or a reschedule's folded arrears are counted as they are)."""
    views = []
    principal_left, interest_left = sums.principal_repaid_satang, sums.interest_paid_satang
    scheduled = accumulate(i.principal_satang for i in plan.instalments)
    for i, scheduled_through in zip(plan.instalments, scheduled, strict=True):
        principal = min(principal_left, i.principal_satang)
        interest = min(interest_left, i.interest_satang)
        principal_left, interest_left = principal_left - principal, interest_left - interest
        unpaid = i.total_satang - principal - interest
        status = "paid" if unpaid == 0 else "overdue" if i.due_on < on else "due" if i.due_on == on else "upcoming"
        views.append(InstalmentView(i.number, i.due_on, i.principal_satang, i.interest_satang, i.total_satang,
                                    principal, interest, status, plan.amount_satang - scheduled_through))  # fmt: skip
    return views


@dataclass(frozen=True)
class StatementLine:
    tx: LoanTx
    outstanding_after_satang: int  # principal outstanding after this transaction


_PRINCIPAL_SIGN = {TxKind.disbursement: 1, TxKind.repayment: -1, TxKind.write_off: -1}


def statement_lines(txs: Sequence[LoanTx]) -> list[StatementLine]:
    """The transactions in the order given, each with the principal outstanding after it."""
    moves = [_PRINCIPAL_SIGN.get(t.kind, 0) * t.principal_satang for t in txs]
    return [StatementLine(t, after) for t, after in zip(txs, accumulate(moves), strict=True)]


def missing_savings_satang(savings_satang: int, amount_satang: int, min_percent: Decimal) -> int:
    """How far the group's savings fall short of `min_percent` of the amount (0 if they do not),
    the requirement rounded up to the satang."""
    required = -(-Fraction(amount_satang) * Fraction(min_percent) // 100)
    return max(0, int(required) - savings_satang)


# --- portfolio ---------------------------------------------------------------------------------


@dataclass
class _Line:
    count: int = 0
    outstanding_satang: int = 0


CHARGED_OFF_CLASS = "charged_off"  # the portfolio's class of charged-off loans, beside the Bank of Thailand's


@dataclass
class Portfolio:
    """Loans with principal outstanding as of a date, added one at a time (memory flat in the
    number of loans), grouped by class, days-past-due bucket and any other keys given. PAR30
    and PAR90 are the outstanding principal of loans more than 30 (90) days past due, or charged
    off, over the gross portfolio."""

    bounds: tuple[int, ...] = DEFAULT_AGEING_BOUNDS
    gross: _Line = field(default_factory=_Line)
    over_30_satang: int = 0
    over_90_satang: int = 0
    charged_off_satang: int = 0
    groups: dict[str, dict[str, _Line]] = field(default_factory=dict)

    def add(
        self, outstanding_satang: int, age: int, keys: Mapping[str, str], *, count: int = 1, charged_off: bool = False
    ) -> None:  # fmt: skip
        """Add a loan, or `count` loans of the same age whose outstanding principal sums to
        `outstanding_satang` (a store that sums loans by age hands them over so). A charged-off
        loan is off the performing book: class `charged_off`, and at risk whatever its age
        (`ledger.charge_off`)."""
        if outstanding_satang <= 0:
            return
        self.gross.count += count
        self.gross.outstanding_satang += outstanding_satang
        self.over_30_satang += outstanding_satang if age > 30 or charged_off else 0
        self.over_90_satang += outstanding_satang if age > 90 or charged_off else 0
        self.charged_off_satang += outstanding_satang if charged_off else 0
        grade = CHARGED_OFF_CLASS if charged_off else str(loan_class(age))
        named = {"class": grade, "bucket": ageing_bucket(age, self.bounds), **keys}
        for group, key in named.items():
            line = self.groups.setdefault(group, {}).setdefault(key, _Line())
            line.count += count
            line.outstanding_satang += outstanding_satang

    def par_percent(self, over_satang: int) -> Decimal:
        """A share of the gross portfolio in percent (`par_percent`)."""
        return par_percent(over_satang, self.gross.outstanding_satang)


def par_percent(over_satang: int, gross_satang: int) -> Decimal:
    """Portfolio at risk: a share of the gross portfolio in percent, two places, half-up (0 for
    no portfolio).

    >>> par_percent(1_000_00, 3_000_00), par_percent(0, 0)
    (Decimal('33.33'), Decimal('0.00'))
    """
    if gross_satang == 0:
        return Decimal("0.00")
    return Decimal(_half_up(over_satang * 100 * 100, gross_satang)).scaleb(-2)
