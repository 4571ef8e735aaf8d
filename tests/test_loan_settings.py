"""Loan product settings that Fineract names and a product may choose (`ledger.loans.LoanTerms`):
a rate quoted a month, 30-day months, a 364-day year, rounding to the nearest multiple, a
multiple for the level instalment only, flat interest worked out once for the whole loan, and a
level instalment adjusted so the last one comes near it. Each is held to worked examples and to
a computation written here from its definition (numpy-financial for the annuity, plain Decimal
for the rest), and every schedule keeps invariant 8 under any mix of them."""

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import numpy_financial as npf
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError, Rejection
from ledger.loan_book import penalty_earned_through
from ledger.loans import (
    Amortization,
    DayCount,
    DaysInMonth,
    FlatInterest,
    FrequencyUnit,
    InterestBasis,
    InterestMethod,
    LastInstalment,
    LoanTerms,
    MultipleRounding,
    MultipleScope,
    PenaltyBase,
    RateChange,
    RatePer,
    Rounding,
    Schedule,
    accrual_for_day,
    accrued_interest,
    schedule,
    yearly_rate,
)
from ledger.money import MAX_AMOUNT_SATANG

SOME = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HALF = {Rounding.half_up: ROUND_HALF_UP, Rounding.half_even: ROUND_HALF_EVEN}


def terms_of(rate: str, n: int, **changes) -> LoanTerms:
    return LoanTerms(rate_annual_percent=Decimal(rate), term_instalments=n, **changes)


def reason_of(call, *args, **kwargs) -> Rejection:
    with pytest.raises(LedgerError) as caught:
        call(*args, **kwargs)
    return caught.value.reason


def totals(result: Schedule) -> list[int]:
    return [i.total_satang for i in result.instalments]


def unclamped(result: Schedule) -> list[int]:
    """The totals of the instalments before the last whose principal is the level's (a part the
    balance or zero clamped aside: a level above the balance, or below a period's interest)."""
    return [i.total_satang for i in result.instalments[:-1] if i.principal_satang > 0 and i.outstanding_after_satang]


def whole(value: Decimal, mode=ROUND_HALF_UP) -> int:
    return int(value.quantize(Decimal(1), rounding=mode))


def annuity(amount: int, periodic: Decimal, n: int) -> Decimal:
    """A x r / (1 - (1 + r)^-n), unrounded, in 60 digits (A / n at a zero rate)."""
    with localcontext(prec=60):
        return Decimal(amount) / n if periodic == 0 else Decimal(amount) * periodic / (1 - (1 + periodic) ** -n)


def days_30_360(start: date, end: date) -> int:
    """30/360 as the module documents it: days capped at 30, a month's last day the 30th."""

    def day_of(d: date) -> int:
        return 30 if (d + timedelta(days=1)).month != d.month else min(d.day, 30)

    return (end.year - start.year) * 360 + (end.month - start.month) * 30 + day_of(end) - day_of(start)


# --- a rate a month ----------------------------------------------------------------------------


def test_a_rate_of_one_percent_a_month_against_numpy_financial():
    """100,000 baht at 1 % a month over 12 months: numpy-financial's pmt(0.01, 12, -100000) is
    8,884.8789 baht, so 8,884.88 a month, the first month's interest 1,000.00."""
    terms = LoanTerms(rate_annual_percent=yearly_rate(Decimal(1), RatePer.month), rate_per=RatePer.month,
                      term_instalments=12)  # fmt: skip
    assert (terms.rate_annual_percent, terms.rate_quoted_percent) == (Decimal(12), Decimal(1))
    first = schedule(10_000_000, terms, date(2024, 1, 15)).instalments[0]
    assert first.total_satang == round(float(npf.pmt(0.01, 12, -100_000)) * 100) == 888_488
    assert first.interest_satang == 100_000


@SOME
@given(st.decimals(0, Decimal("8.33"), places=4), st.integers(1, 120), st.integers(10**4, 10**12))
def test_a_rate_a_month_gives_the_annuity_at_that_rate(monthly, n, amount):
    terms = LoanTerms(rate_annual_percent=yearly_rate(monthly, RatePer.month), rate_per=RatePer.month,
                      term_instalments=n)  # fmt: skip
    assert terms.rate_quoted_percent == monthly
    result = schedule(amount, terms, date(2024, 1, 15))
    assert result.instalments[0].total_satang == whole(annuity(amount, monthly / 100, n)) or n == 1
    assert result.instalments == schedule(amount, terms_of(str(monthly * 12), n), date(2024, 1, 15)).instalments


def test_a_rate_a_month_must_be_a_twelfth_with_six_places_at_most():
    assert reason_of(LoanTerms, rate_annual_percent=Decimal(1), rate_per=RatePer.month,
                     term_instalments=3) == Rejection.malformed_rate  # fmt: skip
    assert reason_of(LoanTerms, rate_annual_percent=Decimal(102), rate_per=RatePer.month,
                     term_instalments=3) == Rejection.rate_out_of_range  # fmt: skip


# --- 30-day months and the 364-day year --------------------------------------------------------


def test_thirty_day_months_from_a_month_end():
    """10,000.00 baht at 12 % on 30/360, equal principal from 31 January 2024: every month is 30
    days, so each month charges 1 % of its opening balance: 100.00, 66.67, 33.33."""
    terms = terms_of("12", 3, amortization=Amortization.equal_principal, interest_basis=InterestBasis.daily,
                     day_count=DayCount.days_360, days_in_month=DaysInMonth.days_30)  # fmt: skip
    result = schedule(1_000_000, terms, date(2024, 1, 31))
    assert [i.interest_satang for i in result.instalments] == [10_000, 6_667, 3_333]
    actual = schedule(1_000_000, terms_of("12", 3, amortization=Amortization.equal_principal,
                                          interest_basis=InterestBasis.daily, day_count=DayCount.days_360),
                      date(2024, 1, 31))  # fmt: skip
    assert [i.interest_satang for i in actual.instalments] == [9_667, 6_889, 3_333]  # 29, 31 and 30 days


@SOME
@given(
    st.integers(0, 10**12), st.dates(date(2000, 1, 1), date(2100, 1, 1)), st.integers(0, 800),
    st.decimals(0, 100, places=6), st.sampled_from([DayCount.days_360, DayCount.days_364, DayCount.days_365]),
)  # fmt: skip
def test_thirty_day_months_accrue_by_the_30_360_count(balance, start, days, rate, day_count):
    terms = terms_of(str(rate), 1, interest_basis=InterestBasis.daily, day_count=day_count,
                     days_in_month=DaysInMonth.days_30)  # fmt: skip
    end = start + timedelta(days=days)
    counted = days_30_360(start, end)
    with localcontext(prec=60):
        expected = whole(Decimal(balance) * rate * counted / (100 * int(day_count)))
    assert accrued_interest(balance, terms, start=start, end=end) == expected
    daily = [accrual_for_day(balance, terms, period_start=start, day=start + timedelta(days=d)) for d in range(days)]
    assert all(part >= 0 for part in daily) and sum(daily) == expected


def test_thirty_day_months_need_a_fixed_year():
    assert reason_of(terms_of, "12", 3, day_count=DayCount.actual,
                     days_in_month=DaysInMonth.days_30) == Rejection.incompatible_terms  # fmt: skip


@SOME
@given(st.integers(0, 10**12), st.dates(date(2000, 1, 1), date(2100, 1, 1)), st.integers(0, 800),
       st.decimals(0, 100, places=6))  # fmt: skip
def test_a_364_day_year_charges_the_rate_over_52_weeks(balance, start, days, rate):
    terms = terms_of(str(rate), 1, interest_basis=InterestBasis.daily, day_count=DayCount.days_364)
    with localcontext(prec=60):
        expected = whole(Decimal(balance) * rate * days / (100 * 364))
    assert accrued_interest(balance, terms, start=start, end=start + timedelta(days=days)) == expected
    year = accrued_interest(balance, terms, start=start, end=start + timedelta(days=364))
    assert year == whole(Decimal(balance) * rate / 100)


def test_seven_days_on_a_364_day_year_is_a_week():
    """A loan repaid every 7 days charges each period 7/364 of the yearly rate: 1/52, a week's."""
    by_days = terms_of("6", 26, repayment_unit=FrequencyUnit.days, repayment_every=7, day_count=DayCount.days_364)
    by_weeks = terms_of("6", 26, repayment_unit=FrequencyUnit.weeks)
    on = date(2024, 3, 1)
    assert schedule(5_000_000, by_days, on).instalments == schedule(5_000_000, by_weeks, on).instalments


# --- instalments in multiples ------------------------------------------------------------------


def test_a_multiple_rounded_to_the_nearest():
    """10,000.00 baht at 12 % over 12 months: the annuity is 888.49 baht. In multiples of 20 baht
    it is 900.00 rounded up, the last instalment 753.99; to the nearest it is 880.00, the last
    987.64."""
    up = schedule(1_000_000, terms_of("12", 12, instalment_multiple_satang=2_000), date(2024, 1, 15))
    nearest = schedule(1_000_000, terms_of("12", 12, instalment_multiple_satang=2_000,
                                           multiple_rounding=MultipleRounding.half_up), date(2024, 1, 15))  # fmt: skip
    assert totals(up) == [90_000] * 11 + [75_399]
    assert totals(nearest) == [88_000] * 11 + [98_764]


def test_a_tie_between_two_multiples():
    """A level of exactly 150 satang between multiples of 100: half up takes 200, half even 200
    (two multiples, even), and 250 satang half even takes 200 where half up takes 300."""
    for level, half_up, half_even in ((150, 200, 200), (250, 300, 200)):
        terms = terms_of("0", 2, instalment_multiple_satang=100)
        for mode, expected in ((MultipleRounding.half_up, half_up), (MultipleRounding.half_even, half_even)):
            result = schedule(2 * level, LoanTerms(**{**terms.__dict__, "multiple_rounding": mode}), date(2024, 1, 15))
            assert totals(result) == [expected, 2 * level - expected]


@SOME
@given(st.integers(1, 120), st.integers(10**5, 10**11), st.decimals(0, 30, places=3),
       st.sampled_from([100, 500, 1_000, 10_000]), st.sampled_from(MultipleRounding),
       st.sampled_from(Rounding))  # fmt: skip
def test_the_level_instalment_is_the_annuity_brought_to_a_multiple(n, amount, rate, multiple, mode, rounding):
    terms = terms_of(str(rate), n, instalment_multiple_satang=multiple, multiple_rounding=mode, rounding=rounding)
    result = schedule(amount, terms, date(2024, 1, 15))
    satang = whole(annuity(amount, rate / 1200, n), HALF[rounding])
    units = Decimal(satang) / multiple
    if mode is MultipleRounding.up:
        level = -(-satang // multiple) * multiple
    else:
        level = whole(units, ROUND_HALF_UP if mode is MultipleRounding.half_up else ROUND_HALF_EVEN) * multiple
    assert all(total == level for total in unclamped(result))
    first = result.instalments[0]
    assert first.total_satang == level or n == 1 or not 0 < level - first.interest_satang < amount
    assert sum(i.principal_satang for i in result.instalments) == amount


@SOME
@given(st.integers(2, 60), st.integers(10**5, 10**11), st.decimals(0, 30, places=3),
       st.sampled_from([100, 1_000, 10_000]), st.sampled_from(InterestMethod))  # fmt: skip
def test_a_multiple_for_the_level_instalment_only_leaves_principal_parts_exact(n, amount, rate, multiple, method):
    level_only = MultipleScope.level_instalment
    terms = terms_of(str(rate), n, amortization=Amortization.equal_principal, interest_method=method,
                     instalment_multiple_satang=multiple, multiple_applies_to=level_only)  # fmt: skip
    result = schedule(amount, terms, date(2024, 1, 15))
    part = whole(Decimal(amount) / n)
    principal = [i.principal_satang for i in result.instalments]
    assert principal[:-1] == [part] * (n - 1) and principal[-1] == amount - part * (n - 1)
    annuity_terms = terms_of(str(rate), n, instalment_multiple_satang=multiple,
                             multiple_applies_to=level_only)  # fmt: skip
    assert all(total % multiple == 0 for total in unclamped(schedule(amount, annuity_terms, date(2024, 1, 15))))


# --- flat interest for the whole loan ----------------------------------------------------------


def test_flat_interest_worked_out_once_for_the_whole_loan():
    """10,000.01 baht at 10 % flat over 3 months: 10,000.01 x 10 % x 3/12 = 250.00025, so 250.00
    of interest, 83.33 twice and 83.34 last; period by period it is 83.33 three times, 249.99."""
    whole_loan = terms_of("10", 3, interest_method=InterestMethod.flat, flat_interest=FlatInterest.whole_loan)
    per_period = terms_of("10", 3, interest_method=InterestMethod.flat)
    assert [i.interest_satang for i in schedule(1_000_001, whole_loan, date(2024, 1, 15)).instalments] == [
        8_333, 8_333, 8_334]
    assert schedule(1_000_001, per_period, date(2024, 1, 15)).interest_satang == 24_999


@SOME
@given(st.integers(1, 120), st.integers(1, 4), st.integers(1, MAX_AMOUNT_SATANG), st.decimals(0, 100, places=6),
       st.sampled_from(Amortization))  # fmt: skip
def test_flat_interest_for_the_whole_loan_is_principal_rate_and_term(n, every, amount, rate, amortization):
    terms = terms_of(str(rate), n, repayment_every=every, interest_method=InterestMethod.flat,
                     flat_interest=FlatInterest.whole_loan, amortization=amortization)  # fmt: skip
    result = schedule(amount, terms, date(2024, 1, 15))
    with localcontext(prec=60):
        total = whole(Decimal(amount) * rate / 100 * n * every / 12)
    interest = [i.interest_satang for i in result.instalments]
    assert interest[:-1] == [total // n] * (n - 1) and interest[-1] == total - total // n * (n - 1)


def test_flat_interest_for_the_whole_loan_needs_flat_interest():
    assert reason_of(terms_of, "10", 3, flat_interest=FlatInterest.whole_loan) == Rejection.incompatible_terms


# --- the last instalment near the others -------------------------------------------------------


def test_the_last_instalment_is_brought_near_the_level():
    """100,000.00 baht at 6 % over 12 months from 31 January 2024, in whole baht, the rate rising to
    9 % on 1 June: the level of 8,607.00 leaves a last instalment of 9,214.11; adjusted, the level
    is 8,656.00 and the last 8,651.54."""
    terms = terms_of("6", 12, instalment_multiple_satang=100, rate_changes=(RateChange(date(2024, 6, 1), Decimal(9)),))
    near = LoanTerms(**{**terms.__dict__, "last_instalment": LastInstalment.near_level})
    assert (totals(schedule(10_000_000, terms, date(2024, 1, 31)))[0], totals(schedule(
        10_000_000, terms, date(2024, 1, 31)))[-1]) == (860_700, 921_411)  # fmt: skip
    adjusted = totals(schedule(10_000_000, near, date(2024, 1, 31)))
    assert adjusted[:-1] == [865_600] * 11 and adjusted[-1] == 865_154


def test_the_last_instalment_near_the_level_needs_a_level_instalment():
    for changes in ({"amortization": Amortization.equal_principal}, {"interest_method": InterestMethod.flat}):
        assert reason_of(terms_of, "6", 12, last_instalment=LastInstalment.near_level,
                         **changes) == Rejection.incompatible_terms  # fmt: skip


def last_gap(result: Schedule) -> int:
    first, last = result.instalments[0], result.instalments[-1]
    return abs(last.principal_satang + last.interest_accrued_satang - first.total_satang)


@SOME
@given(st.integers(2, 60), st.integers(10**6, 10**11), st.decimals(0, 30, places=2), st.sampled_from([1, 100, 1_000]),
       st.sampled_from(InterestBasis), st.sampled_from(MultipleRounding),
       st.lists(st.tuples(st.integers(1, 1_500), st.decimals(0, 30, places=2)), max_size=2,
                unique_by=lambda c: c[0]))  # fmt: skip
def test_the_adjusted_level_is_never_farther_from_the_last(n, amount, rate, multiple, basis, mode, raw_changes):
    on = date(2024, 1, 31)
    changes = tuple(RateChange(on + timedelta(days=d), r) for d, r in sorted(raw_changes))
    terms = terms_of(str(rate), n, instalment_multiple_satang=multiple, interest_basis=basis,
                     multiple_rounding=mode, rate_changes=changes)  # fmt: skip
    near = LoanTerms(**{**terms.__dict__, "last_instalment": LastInstalment.near_level})
    plain, adjusted = schedule(amount, terms, on), schedule(amount, near, on)
    assert last_gap(adjusted) <= last_gap(plain)
    assert all(total % multiple == 0 for total in unclamped(adjusted))
    assert sum(i.principal_satang for i in adjusted.instalments) == amount


# --- every setting at once: invariant 8 --------------------------------------------------------


@st.composite
def set_loans(draw):
    """(amount, terms, disbursed_on) with the settings of this file mixed with the others."""
    n = draw(st.integers(1, 36))
    method, amortization = draw(st.sampled_from(InterestMethod)), draw(st.sampled_from(Amortization))
    level = method is InterestMethod.declining_balance and amortization is Amortization.equal_instalments
    day_count = draw(st.sampled_from(DayCount))
    per = draw(st.sampled_from(RatePer))
    rate = draw(st.decimals(0, Decimal("8.33") if per is RatePer.month else 100, places=4))
    terms = LoanTerms(
        rate_annual_percent=yearly_rate(rate, per), rate_per=per, term_instalments=n,
        interest_method=method, amortization=amortization, interest_basis=draw(st.sampled_from(InterestBasis)),
        repayment_unit=draw(st.sampled_from(FrequencyUnit)), day_count=day_count,
        days_in_month=DaysInMonth.actual if day_count is DayCount.actual else draw(st.sampled_from(DaysInMonth)),
        rounding=draw(st.sampled_from(Rounding)), instalment_multiple_satang=draw(st.sampled_from([1, 100, 10_000])),
        multiple_rounding=draw(st.sampled_from(MultipleRounding)),
        multiple_applies_to=draw(st.sampled_from(MultipleScope)),
        flat_interest=draw(st.sampled_from(FlatInterest)) if method is InterestMethod.flat else FlatInterest.per_period,
        last_instalment=draw(st.sampled_from(LastInstalment)) if level else LastInstalment.takes_residue,
        grace_principal_periods=draw(st.integers(0, n - 1)), grace_interest_periods=draw(st.integers(0, n - 1)),
        interest_free_periods=draw(st.integers(0, n)),
    )  # fmt: skip
    on = draw(st.dates(date(2000, 1, 1), date(2100, 1, 1)))
    return draw(st.integers(1, MAX_AMOUNT_SATANG)), terms, on


@SOME
@given(set_loans())
def test_every_mix_of_settings_keeps_the_invariants(loan):
    amount, terms, on = loan
    result = schedule(amount, terms, on)
    rows = result.instalments
    assert sum(i.principal_satang for i in rows) == amount
    assert all(i.principal_satang >= 0 and i.interest_satang >= 0 for i in rows)
    assert all(i.total_satang == i.principal_satang + i.interest_satang for i in rows)
    assert all(a.due_on < b.due_on for a, b in zip(rows, rows[1:], strict=False))
    assert rows[-1].outstanding_after_satang == 0 and len(rows) == terms.term_instalments
    assert rows[0].due_on == on + relativedelta(**{str(terms.repayment_unit): terms.repayment_every})


def test_the_defaults_are_the_settings_before_them():
    terms = terms_of("4", 12)
    assert (terms.rate_per, terms.days_in_month, terms.multiple_rounding, terms.multiple_applies_to,
            terms.flat_interest, terms.last_instalment) == (
        RatePer.year, DaysInMonth.actual, MultipleRounding.up, MultipleScope.all_instalments,
        FlatInterest.per_period, LastInstalment.takes_residue)  # fmt: skip


# --- penalty on overdue principal and interest -------------------------------------------------


def reference_penalty(plan: Schedule, terms: LoanTerms, payments: list[tuple[date, int]], day: date) -> int:
    """Day by day through `day`: each instalment's part (principal, or principal and interest)
    not yet paid by that day's payments, oldest first, charged rate / 365 from its first
    penalty day; the exact sum rounded once."""
    with_interest = terms.penalty_on is PenaltyBase.overdue_principal_and_interest
    parts = [i.total_satang if with_interest else i.principal_satang for i in plan.instalments]
    total = Fraction(0)
    d = plan.disbursed_on
    while d <= day:
        paid = sum(satang for on, satang in payments if on <= d)
        for instalment, part in zip(plan.instalments, parts, strict=True):
            unpaid, paid = max(0, part - paid), max(0, paid - part)
            if instalment.due_on < day and d >= instalment.due_on + timedelta(days=terms.penalty_from_day):
                total += Fraction(unpaid) * Fraction(terms.penalty_rate_annual_percent) / (100 * 365)
        d += timedelta(days=1)
    return whole(Decimal(total.numerator) / Decimal(total.denominator)) if total else 0


@FEW
@given(st.integers(1, 6), st.integers(10**4, 10**9), st.sampled_from(PenaltyBase), st.integers(1, 10),
       st.lists(st.tuples(st.integers(0, 200), st.integers(1, 10**8)), max_size=3), st.integers(0, 200))  # fmt: skip
def test_penalty_is_charged_on_the_part_the_product_names(n, amount, base, from_day, raw_payments, days):
    terms = terms_of("12", n, penalty_rate_annual_percent=Decimal(24), penalty_on=base, penalty_from_day=from_day)
    on = date(2024, 1, 31)
    plan = schedule(amount, terms, on)
    payments = sorted((on + timedelta(days=d), satang) for d, satang in raw_payments)
    day = plan.maturity_on + timedelta(days=days)
    with localcontext(prec=60):
        assert penalty_earned_through(plan, terms, payments, day) == reference_penalty(plan, terms, payments, day)


def test_penalty_on_principal_and_interest_charges_the_whole_instalment():
    """10,000.00 at 12 % over 3 months, 24 % penalty: the first instalment (3,400.22: 3,300.22 of
    principal, 100.00 of interest) unpaid from 1 to 10 March: 340,022 x 0.24 x 10/365 = 2,235.76
    satang, 22.36 on principal and interest, where principal alone earns 21.70."""
    for base, penalty in ((PenaltyBase.overdue_principal, 2_170), (PenaltyBase.overdue_principal_and_interest, 2_236)):
        terms = terms_of("12", 3, penalty_rate_annual_percent=Decimal(24), penalty_on=base)
        plan = schedule(1_000_000, terms, date(2024, 1, 31))
        assert penalty_earned_through(plan, terms, [], date(2024, 3, 10)) == penalty
