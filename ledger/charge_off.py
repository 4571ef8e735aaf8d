"""Charge-off: a loan moved off the performing book, its debt still owed and collected.

Fineract keeps charge-off apart from write-off. A charge-off flags the loan (it stays active, its
balances unchanged), recognises the loss and stops income on it: repayments still collect, and
the loan can later be written off, or the charge-off undone. A write-off takes the debt off the
books; recoveries then come in as income.

Here a charge-off, dated D, with one of a fixed list of reasons (`ChargeOffReason`):

    Dr loan loss expense (5200)  Cr allowance for loan losses (1290)   the principal outstanding

The loan's own receivable keeps its balance: the principal outstanding is still what the
borrower owes and what repayments credit (invariant 8), and its carrying amount, receivable less
allowance, is nil, as in Fineract, which credits the receivable itself. A later write-off takes
the principal out of the allowance this charge-off filled (`store.loans.write_off_loan` uses
the allowance first), so the loss is not counted twice. From D on, close of business accrues no
interest and charges no penalty on the loan, and reverses what it had accrued and not received
(`charged_off_day`), as for a non-performing loan; interest it pays goes straight to income.

In the portfolio a charged-off loan is in the class `charged_off`, not a Bank of Thailand class
by its days past due, and counts at risk, in PAR30 and PAR90, whatever its days past due
(`ledger.loan_book.Portfolio`).

Undoing a charge-off reverses its entry (on its own date) and clears the flag: the figures are
those of a loan never charged off, and the next close of business accrues again what the
charge-off had stopped (accrual catches up to what the schedule has earned).

>>> charge_off(Totals(disbursed_satang=100_000, principal_repaid_satang=40_000))
ChargeOff(principal_satang=60000)
"""

from dataclasses import dataclass, replace
from enum import StrEnum

from ledger.errors import LedgerError, Rejection
from ledger.loan_book import CloseOfDay, Totals

__all__ = ["ChargeOff", "ChargeOffReason", "charge_off", "charged_off_day"]


class ChargeOffReason(StrEnum):
    """Why a loan was charged off: a closed list, as Fineract's charge-off reason codes."""

    prolonged_arrears = "prolonged_arrears"  # long past due, collection still pursued
    group_dissolved = "group_dissolved"  # the borrowing group broke up or stopped working
    disaster = "disaster"  # flood, fire, drought: the members cannot pay for now
    fraud = "fraud"  # the group's money was misused
    litigation = "litigation"  # the debt is pursued in court
    other = "other"  # the note says why


@dataclass(frozen=True)
class ChargeOff:
    """What charging a loan off recognises as a loss: its principal outstanding."""

    principal_satang: int


def charge_off(sums: Totals) -> ChargeOff:
    """The charge-off of a loan with these totals; refused if it owes no principal."""
    if sums.outstanding_satang <= 0:
        raise LedgerError(Rejection.nothing_to_charge_off, "the loan owes no principal")
    return ChargeOff(sums.outstanding_satang)


def charged_off_day(decision: CloseOfDay, sums: Totals) -> CloseOfDay:
    """Close of business on a charged-off loan: aged as `decision` says, but accruing nothing,
    charging no penalty, and reversing what it had accrued and not received."""
    return replace(decision, accruing=False, accrual_satang=0, penalty_satang=0,
                   reversal_satang=max(0, sums.interest_receivable_satang))  # fmt: skip
