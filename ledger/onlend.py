"""On-lending to members (the second tier, issue 18): how a member loan's interest splits between
CODI and the organisation, and the organisation's own lending rule.

The split. A member loan product states the members' rate (its rate, say 6 %) and may record the
part of it owed to CODI (say 4 %); the rest (2 %) is the organisation's margin. Of any interest
I, CODI's share is I × codi_rate / rate, computed exactly (in fractions) and rounded half up to
the satang (half away from zero for a negative I, as `ledger.money.to_satang` rounds); the margin
is the rest, I − share. So the two always add up to I exactly, and each is at most half a satang
from its exact proportion.

>>> split_interest(10_001, Decimal("4"), Decimal("6"))
InterestSplit(owed_to_codi_satang=6667, margin_satang=3334)

The rule. An organisation may lend a member at most a multiple of the member's savings, at most
a maximum amount, and only with a number of guarantors among its other members; each part is
optional (none: not limited).

>>> rule = LendingRule(savings_multiple=Decimal("3"), maximum_loan_satang=None, guarantors_required=1)
>>> rule_refusal(rule, MemberApplication(30_000_00, 10_000_00, 1)) is None
True
>>> rule_refusal(rule, MemberApplication(30_000_01, 10_000_00, 1)).reason
<Rejection.exceeds_savings_multiple: 'exceeds_savings_multiple'>
"""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ledger.errors import LedgerError, Rejection
from ledger.loan_book import Totals
from ledger.money import format_amount

MAX_GUARANTORS = 10  # as many as an application may name


@dataclass(frozen=True)
class InterestSplit:
    owed_to_codi_satang: int
    margin_satang: int


def split_interest(interest_satang: int, codi_rate: Decimal, rate: Decimal) -> InterestSplit:
    """`interest_satang` split into CODI's share (half up) and the organisation's margin (the rest)."""
    assert Decimal(0) <= codi_rate <= rate, (codi_rate, rate)
    if codi_rate == rate:  # and so a rate of 0: all of it is CODI's (nothing to divide by)
        return InterestSplit(interest_satang, 0)
    exact = Fraction(interest_satang) * Fraction(codi_rate) / Fraction(rate)
    share = _half_up(exact)
    return InterestSplit(share, interest_satang - share)


def _half_up(value: Fraction) -> int:
    """`value` to the nearest integer, halves away from zero."""
    magnitude = int(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def check_codi_rate(codi_rate: Decimal, rates: list[Decimal]) -> None:
    """CODI's part of a member product's rate: not negative, and at most each rate the product has."""
    if codi_rate < 0 or codi_rate > min(rates):
        raise LedgerError(Rejection.invalid_codi_rate,
                          f"CODI's part of the rate ({codi_rate} %) must be between 0 and the product's rate "
                          f"({min(rates)} %)")  # fmt: skip


@dataclass(frozen=True)
class LendingRule:
    """An organisation's own rule for lending to its members (None: not limited)."""

    savings_multiple: Decimal | None
    maximum_loan_satang: int | None
    guarantors_required: int = 0

    def __post_init__(self) -> None:
        if self.savings_multiple is not None and self.savings_multiple <= 0:
            raise LedgerError(Rejection.invalid_lending_rule, "the savings multiple must be more than zero")
        if self.maximum_loan_satang is not None and self.maximum_loan_satang <= 0:
            raise LedgerError(Rejection.invalid_lending_rule, "the maximum loan must be more than zero")
        if not 0 <= self.guarantors_required <= MAX_GUARANTORS:
            raise LedgerError(Rejection.invalid_lending_rule,
                              f"the guarantors required are between 0 and {MAX_GUARANTORS}")  # fmt: skip


@dataclass(frozen=True)
class MemberApplication:
    """What the rule judges of a member's application."""

    amount_satang: int
    savings_satang: int  # the member's savings in the organisation's book on the day
    guarantors: int  # distinct members of the organisation, the borrower not among them


def rule_refusal(rule: LendingRule, application: MemberApplication) -> LedgerError | None:
    """Why the rule refuses the application (the first part it breaks), or None."""
    amount = application.amount_satang
    if rule.savings_multiple is not None and amount > Fraction(application.savings_satang) * Fraction(
        rule.savings_multiple
    ):
        return LedgerError(Rejection.exceeds_savings_multiple,
                           f"{format_amount(amount)} is more than {rule.savings_multiple} times the member's "
                           f"savings of {format_amount(application.savings_satang)}")  # fmt: skip
    if rule.maximum_loan_satang is not None and amount > rule.maximum_loan_satang:
        return LedgerError(Rejection.exceeds_maximum_loan,
                           f"the organisation lends at most {format_amount(rule.maximum_loan_satang)}")  # fmt: skip
    if application.guarantors < rule.guarantors_required:
        return LedgerError(Rejection.guarantors_required,
                           f"the organisation asks for {rule.guarantors_required} guarantors among its members, "
                           f"{application.guarantors} given")  # fmt: skip
    return None


@dataclass(frozen=True)
class LoanInterest:
    """A member loan's interest so far, each split (`split_interest`): charged (what it has
    earned: collected, and accrued not yet received) and collected (paid, less rebates)."""

    charged_satang: int
    collected_satang: int
    charged: InterestSplit
    collected: InterestSplit


def loan_interest(sums: Totals, codi_rate: Decimal, rate: Decimal) -> LoanInterest:
    """The split of a member loan's interest, from its transactions' `sums`, at the product's
    rates (the members' `rate`, of which `codi_rate` is owed to CODI)."""
    collected = sums.interest_paid_satang - sums.rebated_satang
    charged = collected + sums.interest_receivable_satang
    return LoanInterest(charged, collected, split_interest(charged, codi_rate, rate),
                        split_interest(collected, codi_rate, rate))  # fmt: skip
