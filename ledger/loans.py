"""Loans: loan terms, repayment schedules, allocation of payments, accrual and ageing.

A loan is an amount of satang disbursed on a date and repaid in `term_instalments` instalments,
one every `repayment_every` days, weeks, months or years. `LoanTerms` holds everything that
decides the schedule and the treatment of arrears; it refuses bad terms with a `LedgerError`.

Due dates. Instalment k falls on anchor + k x step, always counted from the anchor and never by
chaining one due date to the next, so a day lost at a short month comes back: a monthly loan
disbursed on 31 January is due on 29 February (2024), 31 March, 30 April. The anchor is the
disbursement date, or, when the terms name a first repayment date F, the dates are F + k x step.

Interest. Each period charges its opening balance (declining balance) or the amount disbursed
(flat) times the period's *factor*, the fraction of a year's rate that the period carries:

    per period  rate/100 x every / periods in a year (12 months, 52 weeks, 365, 364 or 360
                days, 1 year); a first period made irregular by a first repayment date is
                scaled by its days over the days of a regular first period
    daily       the sum over the period's days of rate in force/100 / days in that year
                (actual: 365 or 366; or 365, 364 or 360), so rate changes apply from their day;
                the days are the calendar's, or 30/360 ones (`DaysInMonth.days_30`)

The rate is yearly; a product quoting a rate a month (`RatePer.month`) keeps 12 times it, so a
monthly loan's periodic rate is the monthly rate. Flat interest is charged each period, or
(`FlatInterest.whole_loan`) worked out once as amount x the sum of the factors, rounded, and
paid in equal whole-satang parts, the last bearing instalment taking the rest.

The level instalment uses the nominal periodic rate in force at disbursement. Under daily
interest, or after a rate change, the instalments keep that level and the last one takes the
difference; re-levelling at a new rate is a restructure, a new schedule for the balance.

Rounding points: each amount is computed exactly and rounded once, to the satang, half-up
(or half-even when the terms say so):

    1. the level figure, once per schedule: the annuity instalment, A x r / (1 - (1 + r)^-m),
       computed in Decimal, or the equal principal part A / m; with `instalment_multiple_satang`
       it is then brought up to the multiple (the residue shortens the last instalment) or to
       the nearest one (`multiple_rounding`); an equal-principal instalment's total too, unless
       the multiple is the level instalment's only (`MultipleScope.level_instalment`). With
       `LastInstalment.near_level` the level is then moved by whole multiples while that brings
       the last instalment nearer to it (`_near_level`)
    2. each instalment's interest: balance x factor
    3. each share of deferred interest (largest remainder, in whole multiples)
    4. accrued interest and penalty interest over a range of days
The last instalment takes whatever principal is left, so the principal always sums exactly to
the amount (invariant 8). No part is ever negative; a part that would be is clamped to zero and
the residue moves to the last instalment.

Exact integers. The schedule is computed without Decimal inside the loop: each factor is a
fraction num/den of integers, so the interest is round(balance x num / den), done with divmod.
Per period that is the exact value of the Decimal definition `to_satang(Decimal(balance) * rate
* every / (100 * P))`, and the two round identically: rates have at most 6 decimal places, so
the product is exact in 28 digits and an exact tie is representable, and a value that is not a
tie lies at least 1/(2 x den) away from one, far more than the error of Decimal's one division.
Daily factors count rates in millionths of a percent over 100 x 10^6 x (365 x 366 for actual
day count), so parts over 365 and over 366 add up exactly before the one rounding. A test holds
the schedule to a straightforward Decimal and relativedelta reference. Monthly due dates, the
costly part, are slices of one list of dates per day of the month (`_month_ladder`), so a
portfolio disbursed over any number of years computes none of them twice.

Grace. `grace_principal_periods` first instalments repay no principal (interest only); the level
instalment then amortises over the rest. `grace_interest_periods` first instalments pay no
interest: it accrues (the instalment's `interest_accrued_satang`), is not itself charged
interest, and is paid later, either spread in equal parts over the remaining instalments
(`DeferredInterest.spread`, the default, so no instalment jumps) or all with the first
instalment after the grace (`first_instalment`). The principal schedule is the same as without
the grace. `interest_free_periods` first periods accrue no interest at all.

Payments. `allocate_payment` pays what is due in the terms' order (default penalty, interest,
principal); what is left is an overpayment. What a loan does with it is the terms'
`advance_payment` (`AdvancePayment`: reduce the term, reduce the instalment, or hold it as a
credit for the next instalments), applied by `ledger.loan_book.advance_payment` and
`advanced_schedule`. Flat interest is fixed at disbursement and an advance does not reduce it.

Ageing. A loan is past due from the day after an unpaid due date. Arrears of at most
`arrears_tolerance_satang` do not count, and a loan is not overdue until more than
`overdue_grace_days` days have passed; after that its days past due count from the due date.

>>> terms = LoanTerms(rate_annual_percent=Decimal("12"), term_instalments=3)
>>> for i in schedule(1_000_000, terms, date(2024, 1, 31)).instalments:
...     print(i.number, i.due_on, i.principal_satang, i.interest_satang, i.outstanding_after_satang)
1 2024-02-29 330022 10000 669978
2 2024-03-31 333322 6700 336656
3 2024-04-30 336656 3367 0
>>> allocate_payment(15_000, {Component.interest: 10_000, Component.principal: 4_000})
Allocation(penalty_satang=0, interest_satang=10000, principal_satang=4000, overpayment_satang=1000)
"""

import calendar
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Context, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from itertools import accumulate, pairwise, repeat
from math import lcm
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from ledger.calendar import EARLIEST_DATE, LATEST_DATE
from ledger.errors import LedgerError, Rejection
from ledger.money import MAX_AMOUNT_SATANG, format_amount, parse_rate, to_satang

__all__ = [
    "BOT_CLASSES", "DEFAULT_AGEING_BOUNDS", "DEFAULT_ALLOCATION_ORDER", "MAX_INSTALMENTS",
    "AdvancePayment", "Allocation", "Amortization", "Component", "DayCount", "DaysInMonth", "DeferredInterest",
    "FlatInterest", "FrequencyUnit", "Instalment", "Instalments", "InterestBasis", "InterestMethod", "LastInstalment",
    "LoanClass", "LoanTerms", "MultipleRounding", "MultipleScope", "PenaltyBase", "RateChange", "RatePer", "Rounding",
    "Schedule", "accrual_for_day", "accrued_interest", "ageing_bucket",
    "allocate_payment", "arrears_satang", "days_past_due", "days_past_due_having_paid",
    "due_dates", "is_non_performing", "level_instalment", "loan_class", "loan_rate", "overdue_principal",
    "penalty_interest", "periodic_rate", "rate_on", "schedule", "tfrs9_stage", "yearly_rate",
]  # fmt: skip

MAX_INSTALMENTS = 1200
MAX_RATE_PERCENT = Decimal(100)
MAX_RATE_PLACES = 6
MAX_TERM_YEARS = 50  # term_instalments x repayment_every, in years
MAX_REPAYMENT_EVERY = 366
MAX_MULTIPLE_SATANG = 100_000  # instalments rounded to at most 1,000 baht
MAX_SETTING_DAYS = 3660  # grace days and the first penalty day: at most about ten years
LATEST_DISBURSEMENT = LATEST_DATE  # the window of client dates: a schedule may run past it
_DECIMAL = Context(prec=34)  # local to this module, whatever the caller's context says


class InterestMethod(StrEnum):
    declining_balance = "declining_balance"  # interest on the balance still owed
    flat = "flat"  # interest on the amount disbursed, every period


class Amortization(StrEnum):
    equal_instalments = "equal_instalments"  # annuity: the same total each time
    equal_principal = "equal_principal"  # the same principal each time, interest on top


class InterestBasis(StrEnum):
    per_period = "per_period"  # every period carries the same share of the yearly rate
    daily = "daily"  # interest on the actual days of each period


class FrequencyUnit(StrEnum):
    days = "days"
    weeks = "weeks"
    months = "months"
    years = "years"


class DayCount(StrEnum):
    """Days in a year, the denominator of daily interest (the numerator is always actual days)."""

    actual = "actual"  # 365, or 366 in a leap year
    days_365 = "365"  # actual/365, the Thai practice and the default
    days_360 = "360"
    days_364 = "364"  # 52 weeks


class DaysInMonth(StrEnum):
    """How the days of a stretch are counted under daily interest (Fineract's days in month)."""

    actual = "actual"  # the calendar's days
    days_30 = "30"  # 30/360: a day counts up to the 30th, a month's last day as the 30th: a month is 30


class RatePer(StrEnum):
    """The unit the product quotes its rate in; `rate_annual_percent` always holds the yearly rate."""

    year = "year"
    month = "month"  # the rate a month is rate_annual_percent / 12, as Fineract's per-month rate


class Rounding(StrEnum):
    half_up = "half_up"
    half_even = "half_even"


class MultipleRounding(StrEnum):
    """How an instalment is brought to a multiple of `instalment_multiple_satang`."""

    up = "up"  # the next multiple up: the last instalment is the smaller
    half_up = "half_up"  # the nearest multiple, a tie up
    half_even = "half_even"  # the nearest multiple, a tie to an even number of multiples


class MultipleScope(StrEnum):
    all_instalments = "all_instalments"  # every total in multiples (the last one aside)
    level_instalment = "level_instalment"  # the annuity only: other parts stay exact to the satang


class FlatInterest(StrEnum):
    per_period = "per_period"  # each period charges amount x its factor, rounded
    whole_loan = "whole_loan"  # amount x rate x term rounded once, in equal parts, the last the rest


class LastInstalment(StrEnum):
    takes_residue = "takes_residue"  # the level instalment as rounded; the last one takes the rest
    near_level = "near_level"  # the level adjusted so the last instalment comes near it


class DeferredInterest(StrEnum):
    spread = "spread"  # in equal parts over the instalments after the grace
    first_instalment = "first_instalment"  # all with the first instalment after the grace


class PenaltyBase(StrEnum):
    """What penalty interest is charged on, as Fineract's overdue charges name it."""

    overdue_principal = "overdue_principal"  # "% amount": the principal of instalments past due
    overdue_principal_and_interest = "overdue_principal_and_interest"  # "% amount + interest"


class AdvancePayment(StrEnum):
    """What a payment beyond what is due does (`ledger.loan_book.advance_payment`)."""

    reduce_term = "reduce_term"  # fewer instalments, none asking more than before
    reduce_instalment = "reduce_instalment"  # as many instalments, re-levelled lower
    hold_credit = "hold_credit"  # pays the next instalments ahead; the schedule stays


class Component(StrEnum):
    penalty = "penalty"
    interest = "interest"
    principal = "principal"


class LoanClass(StrEnum):
    """Bank of Thailand loan classes, by time overdue."""

    pass_ = "pass"
    special_mention = "special_mention"
    substandard = "substandard"
    doubtful = "doubtful"
    doubtful_of_loss = "doubtful_of_loss"


DEFAULT_ALLOCATION_ORDER = (Component.penalty, Component.interest, Component.principal)
# Lower bounds of the ageing buckets 1-30, 31-90, 91-180, 181-365 and over 365 days past due.
DEFAULT_AGEING_BOUNDS = (1, 31, 91, 181, 366)
# A class applies from its lower bound of days past due: pass up to 1 month, special mention 1-3,
# substandard 3-6, doubtful 6-12, doubtful of loss over 12 (months of 30 days, years of 365).
BOT_CLASSES = (
    (0, LoanClass.pass_),
    (31, LoanClass.special_mention),
    (91, LoanClass.substandard),
    (181, LoanClass.doubtful),
    (366, LoanClass.doubtful_of_loss),
)
_PERIODS_A_YEAR = {FrequencyUnit.weeks: 52, FrequencyUnit.months: 12, FrequencyUnit.years: 1}
_STEPS_IN_MAX_TERM = {
    FrequencyUnit.days: MAX_TERM_YEARS * 365,
    FrequencyUnit.weeks: MAX_TERM_YEARS * 52,
    FrequencyUnit.months: MAX_TERM_YEARS * 12,
    FrequencyUnit.years: MAX_TERM_YEARS,
}
_DAYS_A_YEAR = {DayCount.days_365: 365, DayCount.days_360: 360, DayCount.days_364: 364, DayCount.actual: 365}
_COMMON_YEAR = {DayCount.days_365: 365, DayCount.days_360: 360, DayCount.days_364: 364, DayCount.actual: 365 * 366}
_ENUM_FIELDS = {
    "interest_method": InterestMethod,
    "amortization": Amortization,
    "interest_basis": InterestBasis,
    "repayment_unit": FrequencyUnit,
    "day_count": DayCount,
    "rounding": Rounding,
    "deferred_interest": DeferredInterest,
    "rate_per": RatePer,
    "days_in_month": DaysInMonth,
    "multiple_rounding": MultipleRounding,
    "multiple_applies_to": MultipleScope,
    "flat_interest": FlatInterest,
    "last_instalment": LastInstalment,
    "penalty_on": PenaltyBase,
    "advance_payment": AdvancePayment,
}
MAX_LEVEL_ADJUSTMENTS = 8  # tries at bringing the last instalment near the level one


def _refuse(reason: Rejection, detail: str) -> LedgerError:
    return LedgerError(reason, detail)


# --- terms -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateChange:
    """From `effective_on` on, the loan's yearly rate is `rate_annual_percent`."""

    effective_on: date
    rate_annual_percent: Decimal


@dataclass(frozen=True)
class LoanTerms:
    """How a loan is repaid and how its arrears are treated. Rates are yearly percentages."""

    rate_annual_percent: Decimal
    term_instalments: int
    interest_method: InterestMethod = InterestMethod.declining_balance
    amortization: Amortization = Amortization.equal_instalments
    interest_basis: InterestBasis = InterestBasis.per_period
    repayment_every: int = 1
    repayment_unit: FrequencyUnit = FrequencyUnit.months
    first_repayment_on: date | None = None  # else one step after disbursement
    day_count: DayCount = DayCount.days_365
    rounding: Rounding = Rounding.half_up
    instalment_multiple_satang: int = 1  # 100: instalments in whole baht, the last one aside
    grace_principal_periods: int = 0
    grace_interest_periods: int = 0
    deferred_interest: DeferredInterest = DeferredInterest.spread
    interest_free_periods: int = 0
    rate_changes: tuple[RateChange, ...] = ()
    arrears_tolerance_satang: int = 0  # arrears up to this much do not make a loan overdue
    overdue_grace_days: int = 0  # days after a due date before a loan counts as overdue
    penalty_rate_annual_percent: Decimal = Decimal(0)
    penalty_from_day: int = 1  # the first day past due (1 = the day after the due date) charged
    allocation_order: tuple[Component, ...] = DEFAULT_ALLOCATION_ORDER
    rate_per: RatePer = RatePer.year
    days_in_month: DaysInMonth = DaysInMonth.actual
    multiple_rounding: MultipleRounding = MultipleRounding.up
    multiple_applies_to: MultipleScope = MultipleScope.all_instalments
    flat_interest: FlatInterest = FlatInterest.per_period
    last_instalment: LastInstalment = LastInstalment.takes_residue
    penalty_on: PenaltyBase = PenaltyBase.overdue_principal
    advance_payment: AdvancePayment = AdvancePayment.reduce_term  # what a payment beyond what is due does

    def __post_init__(self) -> None:
        for name, kind in _ENUM_FIELDS.items():
            object.__setattr__(self, name, _member(kind, getattr(self, name), name))
        object.__setattr__(self, "rate_changes", _checked_changes(self.rate_changes))
        object.__setattr__(self, "allocation_order", _checked_order(self.allocation_order))
        _check_rate(self.rate_annual_percent, "rate_annual_percent", Rejection.rate_out_of_range)
        _check_rate(self.penalty_rate_annual_percent, "penalty_rate_annual_percent", Rejection.rate_out_of_range)
        _check_term(self)
        _check_grace(self)
        _check_rounding(self)
        _check_arrears_settings(self)
        _check_monthly_rate(self)
        _check_combinations(self)

    @property
    def step(self) -> relativedelta:
        return _step(self.repayment_unit, self.repayment_every)

    @property
    def rate_quoted_percent(self) -> Decimal:
        """The rate as the product quotes it: a year's, or a month's (the yearly one / 12)."""
        return _quoted(self.rate_annual_percent, self.rate_per)


def _quoted(rate_annual_percent: Decimal, per: RatePer) -> Decimal:
    return rate_annual_percent / 12 if per is RatePer.month else rate_annual_percent


def yearly_rate(rate_percent: Decimal, per: RatePer) -> Decimal:
    """The yearly rate of a rate quoted per `per`: a month's rate times 12 (exact)."""
    return rate_percent * 12 if per is RatePer.month else rate_percent


def loan_rate(text: str) -> Decimal:
    """Parse a yearly percentage for a loan: a `parse_rate` string within 0-100, 6 places at most."""
    rate = parse_rate(text)
    _check_rate(rate, "rate", Rejection.rate_out_of_range)
    return rate


def _member(kind: type[StrEnum], value: object, name: str) -> StrEnum:
    try:
        return kind(value)
    except (TypeError, ValueError):
        allowed = ", ".join(kind)
        raise _refuse(Rejection.invalid_request, f"{name} {value!r} must be one of {allowed}") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)  # a datetime compares with no date


def _check_rate(rate: object, name: str, reason: Rejection) -> None:
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise _refuse(Rejection.malformed_rate, f"{name} must be a Decimal percentage like Decimal('3.5')")
    if not 0 <= rate <= MAX_RATE_PERCENT:
        raise _refuse(reason, f"{name} {rate} must be between 0 and {MAX_RATE_PERCENT} %")
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_RATE_PLACES:
        raise _refuse(Rejection.malformed_rate, f"{name} {rate} has more than {MAX_RATE_PLACES} decimal places")


def _check_term(terms: LoanTerms) -> None:
    n, every = terms.term_instalments, terms.repayment_every
    if not _is_int(n) or not 1 <= n <= MAX_INSTALMENTS:
        raise _refuse(Rejection.invalid_term, f"term_instalments must be between 1 and {MAX_INSTALMENTS}")
    if not _is_int(every) or not 1 <= every <= MAX_REPAYMENT_EVERY:
        raise _refuse(Rejection.invalid_frequency, f"repayment_every must be between 1 and {MAX_REPAYMENT_EVERY}")
    if n * every > _STEPS_IN_MAX_TERM[terms.repayment_unit]:
        raise _refuse(Rejection.invalid_term, f"the loan would run for more than {MAX_TERM_YEARS} years")
    if terms.first_repayment_on is not None and not _is_date(terms.first_repayment_on):
        raise _refuse(Rejection.invalid_first_repayment_date, "first_repayment_on must be a date")


def _check_grace(terms: LoanTerms) -> None:
    n = terms.term_instalments
    counts = {
        "grace_principal_periods": (terms.grace_principal_periods, n - 1),
        "grace_interest_periods": (terms.grace_interest_periods, n - 1),
        "interest_free_periods": (terms.interest_free_periods, n),
    }
    for name, (count, most) in counts.items():
        if not _is_int(count) or not 0 <= count <= most:
            raise _refuse(Rejection.invalid_grace_periods, f"{name} must be between 0 and {most} for {n} instalments")


def _check_rounding(terms: LoanTerms) -> None:
    multiple = terms.instalment_multiple_satang
    if not _is_int(multiple) or not 1 <= multiple <= MAX_MULTIPLE_SATANG:
        detail = f"instalment_multiple_satang must be between 1 and {MAX_MULTIPLE_SATANG}"
        raise _refuse(Rejection.invalid_rounding, detail)


def _check_monthly_rate(terms: LoanTerms) -> None:
    """A rate quoted a month is kept as its yearly rate, which must be 12 times a month's rate of
    at most 6 places, so that the month's rate shown is the one typed. (Rate changes are yearly.)"""
    rate = terms.rate_annual_percent
    if terms.rate_per is RatePer.month and (rate * 10**MAX_RATE_PLACES) % 12:
        detail = f"the yearly rate {rate} is not 12 times a monthly rate of at most {MAX_RATE_PLACES} places"
        raise _refuse(Rejection.malformed_rate, detail)


def _check_combinations(terms: LoanTerms) -> None:
    """Settings that only make sense together: each refusal names the two that clash."""
    declining_annuity = (terms.interest_method is InterestMethod.declining_balance
                         and terms.amortization is Amortization.equal_instalments)  # fmt: skip
    if terms.days_in_month is DaysInMonth.days_30 and terms.day_count is DayCount.actual:
        detail = "days_in_month 30 needs a year of 360, 364 or 365 days, not day_count actual"
        raise _refuse(Rejection.incompatible_terms, detail)
    if terms.flat_interest is FlatInterest.whole_loan and terms.interest_method is not InterestMethod.flat:
        detail = "flat_interest whole_loan needs interest_method flat"
        raise _refuse(Rejection.incompatible_terms, detail)
    if terms.last_instalment is LastInstalment.near_level and not declining_annuity:
        detail = "last_instalment near_level needs a level instalment: declining_balance with equal_instalments"
        raise _refuse(Rejection.incompatible_terms, detail)


def _checked_changes(value: object) -> tuple[RateChange, ...]:
    changes = tuple(value) if isinstance(value, (tuple, list)) else None
    if changes is None or not all(isinstance(c, RateChange) and _is_date(c.effective_on) for c in changes):
        raise _refuse(Rejection.invalid_rate_schedule, "rate_changes must be RateChange(effective_on, rate) values")
    days = [c.effective_on for c in changes]
    if any(a >= b for a, b in pairwise(days)) or len(changes) > MAX_INSTALMENTS:
        raise _refuse(Rejection.invalid_rate_schedule, "rate changes must have strictly increasing dates")
    for change in changes:
        _check_rate(change.rate_annual_percent, f"rate from {change.effective_on}", Rejection.invalid_rate_schedule)
    return changes


def _check_arrears_settings(terms: LoanTerms) -> None:
    limits = {
        "arrears_tolerance_satang": (terms.arrears_tolerance_satang, 0, MAX_AMOUNT_SATANG),
        "overdue_grace_days": (terms.overdue_grace_days, 0, MAX_SETTING_DAYS),
        "penalty_from_day": (terms.penalty_from_day, 1, MAX_SETTING_DAYS),
    }
    for name, (value, least, most) in limits.items():
        if not _is_int(value) or not least <= value <= most:
            raise _refuse(Rejection.invalid_arrears_settings, f"{name} must be between {least} and {most}")


def _checked_order(order: Iterable[object]) -> tuple[Component, ...]:
    try:
        parts = tuple(Component(c) for c in order)
    except (TypeError, ValueError):
        parts = ()
    if sorted(parts) != sorted(Component):
        detail = "allocation_order must name penalty, interest and principal once each"
        raise _refuse(Rejection.invalid_allocation_order, detail)
    return parts


# --- due dates and rates -----------------------------------------------------------------------


def _step(unit: FrequencyUnit, count: int) -> relativedelta:
    return relativedelta(**{str(unit): count})


# Monthly due dates come from a ladder per day of the month: the date of that day (or the month's
# last day, if shorter) in every month of the window in which a schedule may fall due, so that an
# anchor's dates are one slice of it, shared by every anchor on that day, however many. Dates are
# kept from the first month of EARLIEST_DATE's year to the end of the last year a loan disbursed by
# LATEST_DISBURSEMENT may reach: its first repayment within a step (a term's length at most) and a
# year, its last one a term later.
_LADDER_FIRST_YEAR = EARLIEST_DATE.year
_LADDER_YEARS = LATEST_DISBURSEMENT.year + 2 * MAX_TERM_YEARS + 2 - _LADDER_FIRST_YEAR


@lru_cache(maxsize=31)  # ~190 KB each: 4,812 months
def _month_ladder(day: int) -> tuple[date, ...]:
    return tuple(
        date(year, month, min(day, calendar.monthrange(year, month)[1]))
        for year in range(_LADDER_FIRST_YEAR, _LADDER_FIRST_YEAR + _LADDER_YEARS)
        for month in range(1, 13)
    )


def _dates(anchor: date, unit: FrequencyUnit, every: int, count: int, first_is_anchor: bool) -> tuple[date, ...]:
    """anchor + k x step for k = 1..count (or 0..count-1), each from the anchor: no day is lost."""
    first = 0 if first_is_anchor else 1
    if unit in (FrequencyUnit.days, FrequencyUnit.weeks):
        days = every * (7 if unit is FrequencyUnit.weeks else 1)
        start = anchor.toordinal() + first * days
        return tuple(map(date.fromordinal, range(start, start + count * days, days)))
    months = every * (12 if unit is FrequencyUnit.years else 1)
    start = (anchor.year - _LADDER_FIRST_YEAR) * 12 + anchor.month - 1 + first * months
    stop = start + count * months
    if 0 <= start and stop <= _LADDER_YEARS * 12:
        return _month_ladder(anchor.day)[start:stop:months]
    return tuple(anchor + relativedelta(months=months * k) for k in range(first, first + count))


def due_dates(terms: LoanTerms, disbursed_on: date) -> tuple[date, ...]:
    """The due dates of every instalment, strictly increasing."""
    first = terms.first_repayment_on
    anchor = disbursed_on if first is None else first
    unit, every, n = terms.repayment_unit, terms.repayment_every, terms.term_instalments
    return _dates(anchor, unit, every, n, first is not None)


def _check_dates(terms: LoanTerms, disbursed_on: date) -> None:
    if not _is_date(disbursed_on) or not EARLIEST_DATE <= disbursed_on <= LATEST_DISBURSEMENT:
        detail = f"the disbursement date must lie between {EARLIEST_DATE} and {LATEST_DISBURSEMENT}"
        raise _refuse(Rejection.invalid_date_range, detail)
    first = terms.first_repayment_on
    if first is not None and not disbursed_on < first <= disbursed_on + terms.step + relativedelta(years=1):
        detail = "the first repayment must fall after disbursement and within a year of the regular first date"
        raise _refuse(Rejection.invalid_first_repayment_date, detail)


def rate_on(terms: LoanTerms, day: date) -> Decimal:
    """The yearly rate in force on `day`: the latest change effective on or before it."""
    changes = terms.rate_changes
    index = bisect_right([c.effective_on for c in changes], day) - 1 if changes else -1
    return changes[index].rate_annual_percent if index >= 0 else terms.rate_annual_percent


def periodic_rate(terms: LoanTerms, rate_percent: Decimal | None = None) -> Decimal:
    """The nominal rate of one regular period as a Decimal fraction (0.04/12 for 4 % monthly)."""
    rate = terms.rate_annual_percent if rate_percent is None else rate_percent
    with localcontext(_DECIMAL):
        return rate * terms.repayment_every / (100 * _periods_a_year(terms))


def _periods_a_year(terms: LoanTerms) -> int:
    if terms.repayment_unit is FrequencyUnit.days:
        return _DAYS_A_YEAR[terms.day_count]
    return _PERIODS_A_YEAR[terms.repayment_unit]


def _days_in_year(day_count: DayCount, year: int) -> int:
    if day_count is DayCount.actual:
        return 366 if calendar.isleap(year) else 365
    return _DAYS_A_YEAR[day_count]


def _segments(
    terms: LoanTerms, start: date, end: date, fixed_rate: Decimal | None = None
) -> Iterator[tuple[int, Decimal, int]]:
    """(days, yearly rate, days in that year) for each stretch of [start, end) with one rate and
    one year length: cut at rate changes and, for actual day count, at each 1 January."""
    cuts = {start, end}
    if fixed_rate is None:
        cuts |= {c.effective_on for c in terms.rate_changes if start < c.effective_on < end}
    if terms.day_count is DayCount.actual:
        cuts |= {date(year, 1, 1) for year in range(start.year + 1, end.year + 1)}
    for a, b in pairwise(sorted(cuts)):
        rate = rate_on(terms, a) if fixed_rate is None else fixed_rate
        yield _days_between(terms.days_in_month, a, b), rate, _days_in_year(terms.day_count, a.year)


def _days_between(days_in_month: DaysInMonth, start: date, end: date) -> int:
    """The days of [start, end): actual, or 30/360 (a date's day capped at 30, a month's last day
    counting as the 30th, so a month from a day up to the 28th or from a month end is 30 days).
    Both are differences of one non-decreasing count, so stretches add up exactly."""
    if days_in_month is DaysInMonth.actual:
        return (end - start).days
    return _day_number_30(end) - _day_number_30(start)


def _day_number_30(day: date) -> int:
    month_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return 360 * day.year + 30 * day.month + (30 if month_end else min(day.day, 30))


# --- period factors: the exact fraction of a balance that each period charges ------------------


@lru_cache(maxsize=256)
def _period_fraction(rate: Decimal, every: int, periods_a_year: int) -> Fraction:
    return Fraction(rate) * every / (100 * periods_a_year)


def _common_denominator(fractions: Sequence[Fraction]) -> tuple[tuple[int, ...], int]:
    den = lcm(*{f.denominator for f in fractions})
    return tuple(f.numerator * (den // f.denominator) for f in fractions), den


def _first_period_share(terms: LoanTerms, disbursed_on: date, first_due: date, period_from: date | None) -> Fraction:
    """A per-period first period made irregular by a first repayment date charges in proportion
    to its days over those of a regular first period: the one from disbursement, or, for money
    that starts inside a period of the loan (`period_from`, the period's first day), that period."""
    if terms.first_repayment_on is None:
        return Fraction(1)
    start = period_from or disbursed_on
    return Fraction((first_due - disbursed_on).days, (start + terms.step - start).days)


def _per_period_factors(
    terms: LoanTerms, disbursed_on: date, dates: tuple[date, ...], period_from: date | None
) -> tuple[tuple[int, ...], int]:
    every, per_year = terms.repayment_every, _periods_a_year(terms)
    first_share = _first_period_share(terms, disbursed_on, dates[0], period_from)
    if not terms.rate_changes:  # the common case, kept cheap: one fraction repeated
        regular = _period_fraction(terms.rate_annual_percent, every, per_year)
        first = regular * first_share
        den = lcm(regular.denominator, first.denominator)
        rest = (regular.numerator * (den // regular.denominator),) * (len(dates) - 1)
        return (first.numerator * (den // first.denominator), *rest), den
    starts = (disbursed_on, *dates[:-1])
    fractions = [_period_fraction(rate_on(terms, s), every, per_year) for s in starts]
    fractions[0] *= first_share
    return _common_denominator(fractions)


def _millionths(rate: Decimal) -> int:
    """A rate in millionths of a percent, exactly: rates have at most 6 decimal places."""
    return int(rate.scaleb(MAX_RATE_PLACES))


def _daily_denominator(day_count: DayCount) -> int:
    """100 (percent) x 10^6 (millionths) x a common multiple of the year lengths met."""
    return 100 * 10**MAX_RATE_PLACES * _COMMON_YEAR[day_count]


def _daily_numerator(terms: LoanTerms, start: date, end: date, fixed_rate: Decimal | None = None) -> int:
    """Over `_daily_denominator`, the exact fraction of a balance that the days [start, end)
    charge: the sum of rate x days / days in the year over the stretches of `_segments`."""
    common = _COMMON_YEAR[terms.day_count]
    stretches = _segments(terms, start, end, fixed_rate)
    return sum(_millionths(rate) * days * (common // year) for days, rate, year in stretches)


def _daily_factors(terms: LoanTerms, disbursed_on: date, dates: tuple[date, ...]) -> tuple[tuple[int, ...], int]:
    starts = (disbursed_on, *dates[:-1])
    den = _daily_denominator(terms.day_count)
    if terms.rate_changes or terms.day_count is DayCount.actual or terms.days_in_month is DaysInMonth.days_30:
        return tuple(_daily_numerator(terms, s, e) for s, e in zip(starts, dates, strict=True)), den
    rate = _millionths(terms.rate_annual_percent)  # one rate, one year length: just count days
    return tuple(rate * (e - s).days for s, e in zip(starts, dates, strict=True)), den


def _factors(
    terms: LoanTerms, disbursed_on: date, dates: tuple[date, ...], period_from: date | None = None
) -> tuple[tuple[int, ...], int]:
    if terms.interest_basis is InterestBasis.daily:
        nums, den = _daily_factors(terms, disbursed_on, dates)
    else:
        nums, den = _per_period_factors(terms, disbursed_on, dates, period_from)
    free = terms.interest_free_periods
    return ((0,) * free + nums[free:] if free else nums), den


# --- exact integer rounding --------------------------------------------------------------------


def _round_div(numerator: int, denominator: int, half_even: bool) -> int:
    """numerator / denominator (> 0) rounded to an integer as `money.to_satang` rounds: half-up
    (away from zero) or half-even."""
    if numerator < 0:
        return -_round_div(-numerator, denominator, half_even)
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and (not half_even or quotient & 1)):
        quotient += 1
    return quotient


def _round_to(value: int, multiple: int, mode: MultipleRounding) -> int:
    """`value` (>= 0) as a multiple of `multiple`: the next one up, or the nearest."""
    if mode is MultipleRounding.up:
        return -(-value // multiple) * multiple
    return _round_div(value, multiple, mode is MultipleRounding.half_even) * multiple


def level_instalment(
    amount_satang: int, terms: LoanTerms, *, periods: int, free_periods: int = 0, rate_percent: Decimal | None = None
) -> int:
    """The annuity instalment that repays `amount_satang` over `periods` regular periods, the
    first `free_periods` of them interest-free: A / (z + (1 - (1 + r)^-(m - z)) / r), in Decimal,
    rounded once, r the periodic rate of `rate_percent` (the terms' rate unless given). With a
    zero rate (or all periods free) it is A / m."""
    r, bearing = periodic_rate(terms, rate_percent), periods - free_periods
    if r == 0 or bearing <= 0:
        return _round_div(amount_satang, periods, terms.rounding is Rounding.half_even)
    with localcontext(_DECIMAL):
        factor = free_periods + (1 - (1 + r) ** -bearing) / r
        return to_satang(Decimal(amount_satang) / factor, terms.rounding)


# --- schedules ---------------------------------------------------------------------------------


class Instalment(NamedTuple):
    """One instalment, all figures in satang. `interest_satang` is the interest due with it;
    `interest_accrued_satang` is what its period accrued (they differ only under interest grace)."""

    number: int
    due_on: date
    principal_satang: int
    interest_satang: int
    total_satang: int
    outstanding_after_satang: int
    interest_accrued_satang: int


_new_tuple = tuple.__new__


class Instalments(Sequence[Instalment]):
    """A schedule's instalments: an immutable sequence, sliced, compared and hashed as a tuple of
    them is. Each is kept as a plain tuple of its ints and date, which the garbage collector stops
    tracking the first time it sees it, and read as an `Instalment`, made when asked for. (The
    collector never stops tracking a tuple subclass: a portfolio's schedules, kept as Instalments,
    were walked by every full collection, and building them ran at half the speed.)"""

    __slots__ = ("_rows",)

    def __init__(self, rows: Iterable[Sequence[int | date]] = ()) -> None:
        self._rows = tuple(map(tuple, rows))

    @classmethod
    def _of_plain(cls, rows: tuple[tuple[int | date, ...], ...]) -> "Instalments":
        made = object.__new__(cls)
        made._rows = rows
        return made

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Instalment]:
        return map(_new_tuple, repeat(Instalment), self._rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Instalments._of_plain(self._rows[index])
        return _new_tuple(Instalment, self._rows[index])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Instalments):
            return self._rows == other._rows
        return self._rows == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._rows)

    def __repr__(self) -> str:
        return f"Instalments({list(self)!r})"


@dataclass(frozen=True)
class Schedule:
    """The instalments of a loan. Their principal sums exactly to the amount (invariant 8).
    `instalments` may be given as any sequence of Instalment (or of their fields, in order)."""

    amount_satang: int
    disbursed_on: date
    instalments: Instalments

    def __post_init__(self) -> None:
        if not isinstance(self.instalments, Instalments):
            object.__setattr__(self, "instalments", Instalments(self.instalments))

    @property
    def interest_satang(self) -> int:
        return sum(i.interest_satang for i in self.instalments)

    @property
    def total_satang(self) -> int:
        return sum(i.total_satang for i in self.instalments)

    @property
    def maturity_on(self) -> date:
        return self.instalments[-1].due_on


class _Plan(NamedTuple):
    """What a schedule's loop needs, computed once per schedule."""

    dates: tuple[date, ...]
    nums: tuple[int, ...]
    den: int
    half_even: bool
    flat: bool
    level_total: int | None  # the annuity instalment (declining balance, equal instalments)
    level_principal: int  # the equal principal part (equal principal, or any flat loan)
    multiple: int  # of the totals other than the level one (1 when the multiple is the level's only)
    offset: int  # (total + offset) // multiple x multiple: multiple - 1 rounds up, multiple // 2 to the nearest
    even_ties: bool  # to the nearest multiple, a tie to even (`_round_to`, not the offset)
    grace_principal: int
    grace_interest: int
    spread: bool


def _check_amount(amount_satang: object) -> None:
    if not isinstance(amount_satang, int) or isinstance(amount_satang, bool) or amount_satang <= 0:
        raise _refuse(Rejection.amount_must_be_positive, "the amount must be a positive number of satang")
    if amount_satang > MAX_AMOUNT_SATANG:
        detail = f"the amount exceeds the maximum of {format_amount(MAX_AMOUNT_SATANG)}"
        raise _refuse(Rejection.amount_too_large, detail)


def _plan(amount_satang: int, terms: LoanTerms, disbursed_on: date, period_from: date | None = None) -> _Plan:
    _check_dates(terms, disbursed_on)
    dates = due_dates(terms, disbursed_on)
    nums, den = _factors(terms, disbursed_on, dates, period_from)
    half_even, multiple = terms.rounding is Rounding.half_even, terms.instalment_multiple_satang
    flat = terms.interest_method is InterestMethod.flat
    if flat and terms.flat_interest is FlatInterest.whole_loan:
        nums, den = _whole_loan_factors(amount_satang, nums, den, half_even)
    grace = terms.grace_principal_periods
    repaying = terms.term_instalments - grace
    level_total, level_principal = None, 0
    if not flat and terms.amortization is Amortization.equal_instalments:
        free = max(0, terms.interest_free_periods - grace)  # free periods among the repaying ones
        rate = rate_on(terms, disbursed_on)
        level = level_instalment(amount_satang, terms, periods=repaying, free_periods=free, rate_percent=rate)
        level_total = _round_to(level, multiple, terms.multiple_rounding)
    else:  # under flat interest both amortizations coincide: equal principal, equal interest
        level_principal = _round_div(amount_satang, repaying, half_even)
    if terms.multiple_applies_to is MultipleScope.level_instalment:
        multiple = 1
    mode = terms.multiple_rounding
    offset = multiple - 1 if mode is MultipleRounding.up else multiple // 2
    spread = terms.deferred_interest is DeferredInterest.spread
    plan = _Plan(dates, nums, den, half_even, flat, level_total, level_principal, multiple, offset,
                 mode is MultipleRounding.half_even, grace, terms.grace_interest_periods, spread)  # fmt: skip
    if terms.last_instalment is LastInstalment.near_level:
        return _near_level(plan, amount_satang, terms)
    return plan


def _whole_loan_factors(amount: int, nums: tuple[int, ...], den: int, half_even: bool) -> tuple[tuple[int, ...], int]:
    """Flat interest for the whole loan: amount x the sum of the factors (rate x term) rounded
    once, in equal whole-satang parts over the periods that bear interest, the last of them
    taking the rest. As factors over `amount`, so the loop charges exactly these parts."""
    total = _round_div(amount * sum(nums), den, half_even)
    bearing = [k for k, num in enumerate(nums) if num]
    parts = [0] * len(nums)
    for k in bearing:
        parts[k] = total // len(bearing)
    if bearing:
        parts[bearing[-1]] += total - total // len(bearing) * len(bearing)
    return tuple(parts), amount


def _level_gap(plan: _Plan, amount: int) -> int:
    """How far the last instalment (its principal and accrued interest) is from the level one."""
    last = Instalment._make(_run(plan, amount, 0, amount, 0)[-1])
    assert plan.level_total is not None
    return last.principal_satang + last.interest_accrued_satang - plan.level_total


def _near_level(plan: _Plan, amount: int, terms: LoanTerms) -> _Plan:
    """The plan whose level instalment, a multiple, brings the last instalment nearest to it, as
    Fineract's progressive schedule adjusts its EMI: move the level by the gap spread over the
    repaying instalments, to the nearest multiple, while that brings the last one nearer. Never
    farther than the level as rounded; within one multiple when a multiple allows it."""
    assert plan.level_total is not None
    step_multiple = terms.instalment_multiple_satang
    repaying = len(plan.dates) - plan.grace_principal
    best, best_gap = plan, _level_gap(plan, amount)
    for _ in range(MAX_LEVEL_ADJUSTMENTS):
        if abs(best_gap) <= step_multiple:
            break
        multiples = _round_div(best_gap, (repaying + 1) * step_multiple, False) or (1 if best_gap > 0 else -1)
        level = best.level_total + multiples * step_multiple
        if level <= 0:
            break
        tried = best._replace(level_total=level)
        gap = _level_gap(tried, amount)
        if abs(gap) >= abs(best_gap):
            break
        best, best_gap = tried, gap
    return best


def _deferred_shares(plan: _Plan, deferred: int) -> list[int]:
    """Deferred interest for each instalment after the interest grace: equal parts in whole
    multiples (earlier instalments take the extra multiple, as `money.allocate` would), the
    remainder below one multiple with the last; or all of it with the first."""
    count = len(plan.dates) - plan.grace_interest
    if not plan.spread:
        return [deferred] + [0] * (count - 1)
    units, below = divmod(deferred, plan.multiple)
    each, extra = divmod(units, count)
    shares = [(each + 1) * plan.multiple] * extra + [each * plan.multiple] * (count - extra)
    shares[-1] += below
    return shares


def _run(plan: _Plan, amount: int, start: int, balance: int, deferred: int) -> list[tuple[int | date, ...]]:
    """The instalments from index `start` on, given the balance and deferred interest then."""
    dates, nums, den, half_even, flat = plan.dates, plan.nums, plan.den, plan.half_even, plan.flat
    level_total, level_principal, multiple = plan.level_total, plan.level_principal, plan.multiple
    offset, even_ties = plan.offset, plan.even_ties
    grace_p, grace_i, last = plan.grace_principal, plan.grace_interest, len(dates) - 1
    shares = _deferred_shares(plan, deferred) if deferred and start > grace_i else None
    rows: list[tuple[int | date, ...]] = []  # an Instalment's fields: see `Instalments`
    append = rows.append
    for k in range(start, last + 1):
        # _round_div(base x num, den), inlined: this loop is where schedules spend their time
        quotient, remainder = divmod((amount if flat else balance) * nums[k], den)
        twice = 2 * remainder
        tie = twice == den and (not half_even or quotient & 1)
        accrued = quotient + 1 if twice > den or tie else quotient
        if k < grace_i:
            deferred, due = deferred + accrued, 0
        else:
            if k == grace_i and deferred:
                shares = _deferred_shares(plan, deferred)
            due = accrued + shares[k - grace_i] if shares else accrued
        if k < grace_p:
            principal = 0
        elif k == last:
            principal = balance
        elif level_total is not None:
            principal = level_total - accrued
        elif even_ties:
            principal = _round_to(level_principal + due, multiple, MultipleRounding.half_even) - due
        else:
            principal = (level_principal + due + offset) // multiple * multiple - due  # _round_to, inlined
        principal = 0 if principal < 0 else balance if principal > balance else principal
        balance -= principal
        append((k + 1, dates[k], principal, due, principal + due, balance, accrued))
    return rows


def schedule(amount_satang: int, terms: LoanTerms, disbursed_on: date, *, period_from: date | None = None) -> Schedule:
    """The repayment schedule of `amount_satang` disbursed on `disbursed_on` under `terms`;
    `period_from`: the first day of the period of a loan that money paid inside it (an advance
    payment's rest of the period) completes, whose days scale an irregular first period."""
    _check_amount(amount_satang)
    plan = _plan(amount_satang, terms, disbursed_on, period_from)
    rows = Instalments._of_plain(tuple(_run(plan, amount_satang, 0, amount_satang, 0)))
    assert rows[-1].outstanding_after_satang == 0  # so the principal sums to the amount
    return Schedule(amount_satang, disbursed_on, rows)


# --- payments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """Where each satang of a payment went: every satang exactly once."""

    penalty_satang: int = 0
    interest_satang: int = 0
    principal_satang: int = 0
    overpayment_satang: int = 0  # beyond everything due: an advance payment of principal

    def of(self, component: Component) -> int:
        return getattr(self, f"{component}_satang")

    @property
    def total_satang(self) -> int:
        return self.penalty_satang + self.interest_satang + self.principal_satang + self.overpayment_satang


def allocate_payment(
    amount_satang: int, dues: Mapping[Component, int], order: Sequence[Component] = DEFAULT_ALLOCATION_ORDER
) -> Allocation:
    """Pay the components due in `order`, each in full before the next; the rest is overpaid."""
    _check_amount(amount_satang)
    order, due = _checked_order(order), _checked_dues(dues)
    left, paid = amount_satang, {}
    for component in order:
        paid[f"{component}_satang"] = taken = min(left, due.get(component, 0))
        left -= taken
    return Allocation(**paid, overpayment_satang=left)


def _checked_dues(dues: Mapping[Component, int]) -> dict[Component, int]:
    components = set(Component)
    if not all(c in components and _is_int(d) and 0 <= d <= MAX_AMOUNT_SATANG for c, d in dues.items()):
        detail = "amounts due must be non-negative satang of penalty, interest or principal"
        raise _refuse(Rejection.invalid_request, detail)
    return {Component(c): d for c, d in dues.items()}


# --- interest over days: accrual and penalties -------------------------------------------------


def _check_range(start: date, end: date) -> None:
    if not (_is_date(start) and _is_date(end)) or start > end:
        raise _refuse(Rejection.invalid_date_range, f"the range {start}..{end} must not end before it starts")


def _interest_over(balance_satang: int, terms: LoanTerms, start: date, end: date, rate: Decimal | None) -> int:
    numerator = balance_satang * _daily_numerator(terms, start, end, rate)
    return _round_div(numerator, _daily_denominator(terms.day_count), terms.rounding is Rounding.half_even)


def accrued_interest(balance_satang: int, terms: LoanTerms, *, start: date, end: date) -> int:
    """Interest on a balance for the days [start, end), at the rates in force each day, on the
    terms' day count: the sum of balance x rate/100 x days / days in the year over the stretches
    of one rate and one year length, taken exactly and rounded once. (Summed as Decimal, parts
    such as x/365 + y/366 would each be cut at 28 digits, and a sum that is exactly half a satang
    could round the wrong way.) A daily-basis schedule charges each period exactly this."""
    _check_range(start, end)
    return _interest_over(balance_satang, terms, start, end, None)


def accrual_for_day(balance_satang: int, terms: LoanTerms, *, period_start: date, day: date) -> int:
    """The interest to accrue at close of business on `day`: accrued(period_start, day + 1) -
    accrued(period_start, day), so that a period's daily accruals sum to its interest exactly."""
    _check_range(period_start, day)
    after = accrued_interest(balance_satang, terms, start=period_start, end=day + timedelta(days=1))
    return after - accrued_interest(balance_satang, terms, start=period_start, end=day)


def penalty_interest(overdue_principal_satang: int, terms: LoanTerms, *, due_on: date, start: date, end: date) -> int:
    """Penalty interest on principal (or what `terms.penalty_on` names) overdue since `due_on`,
    for the days [start, end) that are at least `penalty_from_day` days past due, at the penalty
    rate: exact, rounded once."""
    return penalty_interest_total([(overdue_principal_satang, due_on, start, end)], terms)


def penalty_interest_total(pieces: Iterable[tuple[int, date, date, date]], terms: LoanTerms) -> int:
    """The penalty on several pieces (overdue principal, due date, start, end) summed exactly and
    rounded once: rounded piece by piece, paying some principal (more, shorter pieces) could
    round to a satang more than paying nothing."""
    numerator = 0
    for overdue_satang, due_on, start, end in pieces:
        _check_range(due_on, due_on)
        _check_range(start, end)
        first_day = max(start, due_on + timedelta(days=terms.penalty_from_day))
        if first_day < end and overdue_satang > 0:
            numerator += overdue_satang * _daily_numerator(terms, first_day, end, terms.penalty_rate_annual_percent)
    return _round_div(numerator, _daily_denominator(terms.day_count), terms.rounding is Rounding.half_even)


# --- arrears and ageing ------------------------------------------------------------------------


def _paid_by(payments: Iterable[tuple[date, int]], on: date) -> int:
    return sum(satang for day, satang in payments if day <= on)


def overdue_principal(current: Schedule, principal_paid_satang: int, on: date) -> int:
    """Principal of instalments due before `on` that is not yet paid."""
    due = sum(i.principal_satang for i in current.instalments if i.due_on < on)
    return max(0, due - principal_paid_satang)


def arrears_satang(current: Schedule, payments: Iterable[tuple[date, int]], on: date) -> int:
    """What was due before `on` (principal and interest of the schedule) and is not yet paid.
    `payments` are (date, satang) applied to scheduled instalments: no penalties, no advances."""
    due = sum(i.total_satang for i in current.instalments if i.due_on < on)
    return max(0, due - _paid_by(payments, on))


def days_past_due(current: Schedule, terms: LoanTerms, payments: Iterable[tuple[date, int]], on: date) -> int:
    """Days since the due date of the oldest instalment not covered by the payments made by
    `on`, paying instalments oldest first. Arrears within the tolerance count as paid; a loan
    within `overdue_grace_days` of that due date is not yet overdue (0)."""
    return days_past_due_having_paid(current, terms, _paid_by(payments, on), on)


def days_past_due_having_paid(current: Schedule, terms: LoanTerms, paid: int, on: date) -> int:
    """`days_past_due` of a loan whose repayments by `on` paid `paid` satang of instalments."""
    cumulative = list(accumulate(i.total_satang for i in current.instalments))
    oldest = bisect_right(cumulative, paid + terms.arrears_tolerance_satang)
    if oldest == len(cumulative) or current.instalments[oldest].due_on >= on:
        return 0
    days = (on - current.instalments[oldest].due_on).days
    return days if days > terms.overdue_grace_days else 0


def _check_bounds(bounds: Sequence[int], least: int) -> None:
    if not bounds or bounds[0] < least or any(a >= b for a, b in pairwise(bounds)):
        raise _refuse(Rejection.invalid_ageing_buckets, f"bucket bounds must increase strictly from at least {least}")


def ageing_bucket(days_past_due: int, bounds: Sequence[int] = DEFAULT_AGEING_BOUNDS) -> str:
    """The ageing bucket of a loan: 'current', then '1-30', '31-90', ... and 'over 365' with
    the default lower bounds."""
    _check_bounds(bounds, 1)
    index = bisect_right(bounds, days_past_due) - 1
    if index < 0:
        return "current"
    if index == len(bounds) - 1:
        return f"over {bounds[-1] - 1}"
    return f"{bounds[index]}-{bounds[index + 1] - 1}"


def loan_class(days_past_due: int, classes: Sequence[tuple[int, LoanClass]] = BOT_CLASSES) -> LoanClass:
    """The class of a loan by days past due; each class applies from its lower bound."""
    _check_bounds([lower for lower, _ in classes], 0)
    if classes[0][0] != 0:
        raise _refuse(Rejection.invalid_ageing_buckets, "the first class must start at 0 days")
    return classes[bisect_right([lower for lower, _ in classes], days_past_due) - 1][1]


def is_non_performing(days_past_due: int) -> bool:
    """More than 90 days (3 months) overdue: interest is no longer recognised as income."""
    return days_past_due > 90


def tfrs9_stage(days_past_due: int) -> int:
    """TFRS 9 stage by the days-past-due presumptions: more than 30 days stage 2, more than 90
    stage 3 (credit-impaired), else stage 1."""
    return 3 if days_past_due > 90 else 2 if days_past_due > 30 else 1
