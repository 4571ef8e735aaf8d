"""The pure domain (`ledger/`): worked examples and hypothesis properties of money, accounts,
the fiscal calendar, the audit chain and reports, and the doctests of every ledger module."""

import doctest
import hashlib
import importlib
import json
import pkgutil
import re
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import ledger
from ledger.accounts import (
    JOURNAL_KINDS,
    MAX_POSTINGS_PER_ENTRY,
    AccountType,
    BalanceRule,
    Posting,
    check_balance_rules,
    check_postable_by_hand,
    check_reversible_by_hand,
    movements,
    owning_operation,
    reversal_of,
    validate_postings,
)
from ledger.audit import (
    GENESIS_HASH,
    Digest,
    StoredRecord,
    canonical,
    chain_hash,
    verify_chain,
)
from ledger.calendar import (
    THAI_MONTHS_SHORT,
    Period,
    be_year,
    fiscal_year_bounds,
    fiscal_year_of,
    format_thai_date,
    is_closed,
    month_end,
    period_of,
    periods_of_fiscal_year,
)
from ledger.charts import CHARTS
from ledger.errors import LedgerError, Rejection
from ledger.money import (
    MAX_AMOUNT_SATANG,
    allocate,
    format_amount,
    parse_amount,
    parse_rate,
    to_satang,
)
from ledger.reports import TrialBalance, rolled_up, statement, trial_balance

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

satang = st.integers(min_value=-MAX_AMOUNT_SATANG, max_value=MAX_AMOUNT_SATANG)
nonzero_amount = st.integers(min_value=-(10**12), max_value=10**12).filter(bool)
account_ids = st.integers(min_value=1, max_value=12)


def reason_of(call, *args) -> Rejection:
    with pytest.raises(LedgerError) as caught:
        call(*args)
    return caught.value.reason


# --- money: parsing and formatting -------------------------------------------------------------


@FAST
@given(satang)
@example(0)
@example(1)
@example(-1)
@example(99)
@example(-100)
@example(MAX_AMOUNT_SATANG)
@example(-MAX_AMOUNT_SATANG)
def test_format_then_parse_round_trips_every_satang(amount):
    text = format_amount(amount)
    assert re.fullmatch(r"-?(0|[1-9][0-9]*)\.[0-9]{2}", text), text
    assert Decimal(text) * 100 == amount
    assert parse_amount(text) == amount
    assert format_amount(parse_amount(text)) == text


@FAST
@given(
    negative=st.booleans(),
    baht=st.integers(min_value=0, max_value=MAX_AMOUNT_SATANG // 100),
    fraction=st.sampled_from(["", ".0", ".5", ".05", ".50", ".99", ".9", ".00", ".01"]),
)
def test_parse_is_exact_for_up_to_two_places(negative, baht, fraction):
    text = ("-" if negative else "") + str(baht) + fraction
    assert parse_amount(text) == int(Decimal(text) * 100)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("0.00", 0),
        ("-0.00", 0),
        ("1500", 150000),
        ("1500.5", 150050),
        ("1500.50", 150050),
        ("-0.07", -7),
        ("0.1", 10),
        ("999999999999.99", MAX_AMOUNT_SATANG),
        ("-999999999999.99", -MAX_AMOUNT_SATANG),
    ],
)
def test_parse_examples(text, expected):
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1.005", "1.000", "0.001", "-1.999",  # more than two places
        "1e3", "1E3", "1e-2", "1.5e2",  # exponents
        "NaN", "nan", "sNaN", "-NaN",  # not a number
        "inf", "Infinity", "-inf", "-Infinity",  # infinities
        "", "-", "+", "+1.00", "+0",  # empty, bare or explicit signs
        " 1.00", "1.00 ", "1 000.00", "1.00\n", "\t1", "- 1",  # spaces
        "1,000.00", "1_000", "1.", ".5", "--1", "0x10", "1/2", "١٢", "１",  # other junk
    ],
)  # fmt: skip
def test_parse_refuses_malformed_text(text):
    assert reason_of(parse_amount, text) == Rejection.malformed_amount


@pytest.mark.parametrize("value", [None, 100, 100.5, Decimal("1.00"), b"1.00", ["1.00"]])
def test_parse_refuses_what_is_not_a_string(value):
    assert reason_of(parse_amount, value) == Rejection.malformed_amount


@pytest.mark.parametrize(
    "text", ["1000000000000.00", "-1000000000000.00", "1000000000000", "999999999999999999999"]
)
def test_parse_refuses_amounts_beyond_the_maximum(text):
    assert reason_of(parse_amount, text) == Rejection.amount_too_large


@FEW
@given(st.integers(min_value=MAX_AMOUNT_SATANG + 1, max_value=10**23), st.booleans())
def test_every_amount_beyond_the_maximum_is_refused(too_large, negative):
    text = format_amount(-too_large if negative else too_large)
    assert reason_of(parse_amount, text) in (Rejection.amount_too_large, Rejection.malformed_amount)


@FAST
@given(st.text(alphabet="0123456789.-+eE nNaIif,_", max_size=12))
def test_parse_either_answers_exactly_or_refuses_with_a_reason(text):
    try:
        amount = parse_amount(text)
    except LedgerError as error:
        assert error.reason in (Rejection.malformed_amount, Rejection.amount_too_large)
        return
    value = Decimal(text)
    assert value.is_finite() and -value.as_tuple().exponent <= 2
    assert amount == value * 100
    assert abs(amount) <= MAX_AMOUNT_SATANG


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0, "0.00"), (5, "0.05"), (-7, "-0.07"), (100, "1.00"), (150050, "1500.50"), (-100, "-1.00")],
)
def test_format_examples(amount, text):
    assert format_amount(amount) == text


# --- money: rates and rounding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "half_up", "half_even"),
    [
        ("0.5", 1, 0),
        ("1.5", 2, 2),
        ("2.5", 3, 2),
        ("3.5", 4, 4),
        ("-0.5", -1, 0),
        ("-2.5", -3, -2),
        ("2.4999999", 2, 2),
        ("2.5000001", 3, 3),
        ("-2.5000001", -3, -3),
        ("7", 7, 7),
        ("12345678901.5", 12345678902, 12345678902),
    ],
)
def test_to_satang_rounds_half_up_and_half_even(value, half_up, half_even):
    assert to_satang(Decimal(value)) == half_up
    assert to_satang(Decimal(value), "half_up") == half_up
    assert to_satang(Decimal(value), "half_even") == half_even
    assert type(to_satang(Decimal(value))) is int


@FAST
@given(st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False))
def test_to_satang_is_the_nearest_satang(value):
    for mode in ("half_up", "half_even"):
        rounded = to_satang(value, mode)
        assert abs(rounded - value) <= Decimal("0.5")
        if value == value.to_integral_value():
            assert rounded == value
    if abs(value - value.to_integral_value()) != Decimal("0.5"):
        assert to_satang(value, "half_up") == to_satang(value, "half_even")


def test_parse_rate():
    assert parse_rate("3.5") == Decimal("3.5")
    assert parse_rate("0") == 0
    assert parse_rate("1000") == 1000
    for text in ["1e2", "1E2", "NaN", "sNaN", "inf", "-1", "-0.01", "1000.01", "", "abc", "3,5"]:
        assert reason_of(parse_rate, text) == Rejection.malformed_rate, text
    for value in [None, 3.5, 3]:
        assert reason_of(parse_rate, value) == Rejection.malformed_rate


@pytest.mark.parametrize("text", ["3_5", "1_000", " 3.5", "3.5 ", "3.5\n", "٣", "３.５"])
def test_parse_rate_takes_only_plain_decimal_strings(text):
    """A rate is a plain decimal like '3.5'. Python's Decimal also reads '3_5' (35 %), spaces
    and non-ASCII digits; a rate typed wrongly must be refused, not read as another rate."""
    assert reason_of(parse_rate, text) == Rejection.malformed_rate


# --- money: allocation by largest remainder ----------------------------------------------------


def test_allocate_examples():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(1, [1, 1]) == [1, 0]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate(5, [1, 2]) == [2, 3]  # remainders 2/3 and 1/3: the first gets the satang
    assert allocate(10, [0, 1]) == [0, 10]
    assert allocate(0, [1, 2]) == [0, 0]
    assert allocate(7, [3, 3, 1]) == [3, 3, 1]
    assert allocate(10, [1, 3, 3, 3]) == [1, 3, 3, 3]
    assert allocate(11, [1, 3, 3, 3]) == [1, 4, 3, 3]  # remainders .1, .3, .3, .3: first of the tie
    assert allocate(12, [1, 3, 3, 3]) == [1, 4, 4, 3]  # remainders .2, .6, .6, .6
    assert allocate(100, [1, 1, 1, 97]) == [1, 1, 1, 97]


weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(any)


@FAST
@given(st.integers(min_value=0, max_value=MAX_AMOUNT_SATANG), weights)
def test_allocate_conserves_and_is_fair(total, weights):
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    assert all(part >= 0 for part in parts)
    assert allocate(total, list(weights)) == parts  # deterministic
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total * weight, weight_sum)
        assert abs(part - exact) < 1  # within one satang of the exact share
        if weight == 0:
            assert part == 0
    for i, j in ((i, j) for i in range(len(weights)) for j in range(len(weights))):
        if weights[i] > weights[j]:
            assert parts[i] >= parts[j]


@FAST
@given(st.integers(min_value=0, max_value=10**9), weights)
@example(11, [1, 3, 3, 3])
@example(2, [5, 5, 5])
def test_allocate_gives_leftover_satang_by_largest_remainder_then_position(total, weights):
    parts = allocate(total, weights)
    weight_sum = sum(weights)
    floors = [total * w // weight_sum for w in weights]
    remainders = [Fraction(total * w, weight_sum) - f for w, f in zip(weights, floors, strict=True)]
    extra = [part - floor for part, floor in zip(parts, floors, strict=True)]
    assert set(extra) <= {0, 1}
    gained = [i for i, e in enumerate(extra) if e]
    missed = [i for i, e in enumerate(extra) if not e]
    for i in gained:
        for j in missed:
            assert remainders[i] > remainders[j] or (remainders[i] == remainders[j] and i < j)


# --- accounts: balanced entries, balance rules, reversal ---------------------------------------


@st.composite
def balanced_postings(draw, min_size=2, max_size=8):
    count = draw(st.integers(min_value=min_size, max_value=max_size))
    amounts = draw(st.lists(nonzero_amount, min_size=count - 1, max_size=count - 1))
    last = -sum(amounts)
    assume(last != 0 and abs(last) <= MAX_AMOUNT_SATANG)
    accounts = draw(st.lists(account_ids, min_size=count, max_size=count))
    return [Posting(a, x) for a, x in zip(accounts, [*amounts, last], strict=True)]


@FAST
@given(balanced_postings())
def test_balanced_postings_are_accepted(postings):
    validate_postings(postings)
    validate_postings(tuple(postings))


@FAST
@given(balanced_postings(), nonzero_amount, st.integers(min_value=0, max_value=7))
def test_unbalanced_postings_are_refused(postings, error, index):
    index %= len(postings)
    changed = postings[index].amount_satang + error
    assume(changed != 0 and abs(changed) <= MAX_AMOUNT_SATANG)
    postings[index] = Posting(postings[index].account_id, changed)
    assert reason_of(validate_postings, postings) == Rejection.unbalanced_entry


def test_validate_postings_reasons():
    assert reason_of(validate_postings, []) == Rejection.too_few_postings
    assert reason_of(validate_postings, [Posting(1, 0)]) == Rejection.too_few_postings
    assert reason_of(validate_postings, [Posting(1, 5)]) == Rejection.too_few_postings
    zero = [Posting(1, 5), Posting(2, 0), Posting(3, -5)]
    assert reason_of(validate_postings, zero) == Rejection.amount_must_not_be_zero
    both_zero = [Posting(1, 0), Posting(2, 0)]
    assert reason_of(validate_postings, both_zero) == Rejection.amount_must_not_be_zero
    short = [Posting(1, 100), Posting(2, -99)]
    assert reason_of(validate_postings, short) == Rejection.unbalanced_entry
    same_side = [Posting(1, 1), Posting(1, 1)]
    assert reason_of(validate_postings, same_side) == Rejection.unbalanced_entry
    big = MAX_AMOUNT_SATANG + 1
    too_large = [Posting(1, big), Posting(2, -big)]
    assert reason_of(validate_postings, too_large) == Rejection.amount_too_large
    validate_postings([Posting(1, MAX_AMOUNT_SATANG), Posting(2, -MAX_AMOUNT_SATANG)])


def test_postings_per_entry_are_limited():
    most = [Posting(i, 1 if i % 2 else -1) for i in range(MAX_POSTINGS_PER_ENTRY)]
    validate_postings(most)
    too_many = [*most, Posting(1, 1), Posting(2, -1)]
    assert len(too_many) == MAX_POSTINGS_PER_ENTRY + 2
    assert reason_of(validate_postings, too_many) == Rejection.too_many_postings
    one_over = [Posting(i, 2 if i == 0 else -1) for i in range(MAX_POSTINGS_PER_ENTRY + 1)]
    assert sum(p.amount_satang for p in one_over) == -(MAX_POSTINGS_PER_ENTRY - 2)
    assert reason_of(validate_postings, one_over) == Rejection.too_many_postings


@FAST
@given(balanced_postings())
def test_reversal_nets_every_account_to_zero(postings):
    reversal = reversal_of(postings)
    validate_postings(reversal)
    assert len(reversal) == len(postings)
    assert [p.account_id for p in reversal] == [p.account_id for p in postings]
    assert all(net == 0 for net in movements([*postings, *reversal]).values())
    assert set(movements([*postings, *reversal])) == {p.account_id for p in postings}
    assert reversal_of(reversal) == list(postings)


OPERATION_KINDS = ["welfare.sale", "welfare.settlement", "welfare.advance", "welfare.benefit", "loan.disbursement",
                   "loan.repayment", "loan.accrual", "loan.write_off", "investment.purchase", "investment.impairment",
                   "equity.issue", "distribution.declaration", "year_end.close", "reversal"]  # fmt: skip


@pytest.mark.parametrize("kind", OPERATION_KINDS)
def test_an_operations_entry_is_not_reversed_by_hand(kind):
    with pytest.raises(LedgerError) as refused:
        check_reversible_by_hand(entry_id=12, kind=kind)
    assert refused.value.reason == Rejection.entry_owned_by_operation
    assert "entry 12" in refused.value.detail and kind in refused.value.detail
    if kind.startswith(("welfare.sale", "loan.", "year_end.")):
        assert "POST /v1/" in refused.value.detail or "/v1/loans/{loan_id}" in refused.value.detail


def test_hand_made_entries_are_reversed_by_hand():
    for kind in JOURNAL_KINDS:
        check_reversible_by_hand(entry_id=1, kind=kind)


@FAST
@given(control=st.sampled_from(sorted({line.code for chart in CHARTS.values() for line in chart})),
       tag=st.sampled_from("EFWLP"), number=st.integers(1, 10**12))  # fmt: skip
def test_the_sub_accounts_operations_open_are_theirs_and_the_charts_are_not(control, tag, number):
    """Operations open `<control>-<tag><id>` (welfare pairs E and F, CODI's W, loans L, co-investment
    P) and `1300-<source>`; no account of a chart is an operation's, nor one coded otherwise."""
    assert owning_operation(f"{control}-{tag}{number}") is not None
    assert owning_operation(control) is None
    for by_hand in (f"{control}-{number:02d}", f"{control}-{tag}", f"{control}-{tag}{number}x", f"{control}-B{number}"):
        assert owning_operation(by_hand) is None
    with pytest.raises(LedgerError) as refused:
        check_postable_by_hand({1: control, 2: f"{control}-{tag}{number}"})
    assert refused.value.reason == Rejection.account_owned_by_operation
    assert f"account 2 ({control}-{tag}{number})" in refused.value.detail
    check_postable_by_hand({1: control, 2: f"{control}-{number:02d}"})


def test_matching_receivables_are_the_welfare_funds():
    assert all(owning_operation(f"1300-{source}") for source in ("LA", "GOV", "DONOR"))
    assert owning_operation("1300-GOV1") is None and owning_operation("1200-la") is None


@FAST
@given(st.lists(st.builds(Posting, account_ids, nonzero_amount), max_size=10))
def test_movements_net_per_account_in_ascending_order(postings):
    net = movements(postings)
    assert list(net) == sorted({p.account_id for p in postings})
    for account_id, amount in net.items():
        assert amount == sum(p.amount_satang for p in postings if p.account_id == account_id)


def test_balance_rules_examples():
    debit, credit, free = BalanceRule.debit_or_zero, BalanceRule.credit_or_zero, BalanceRule.none
    rules = {1: debit, 2: credit, 3: free}

    def check(balances, *postings):
        check_balance_rules(balances, rules, [Posting(a, x) for a, x in postings])

    check({1: 100, 3: 0}, (1, -100), (3, 100))  # cash down to exactly zero
    with pytest.raises(LedgerError) as caught:
        check({1: 100, 3: 0}, (1, -101), (3, 101))
    assert caught.value.reason == Rejection.insufficient_balance
    check({2: -50, 3: 0}, (2, 50), (3, -50))  # a credit account back to zero
    with pytest.raises(LedgerError):
        check({2: -50, 3: 0}, (2, 51), (3, -51))
    check({3: 0, 1: 0}, (3, -(10**12)), (1, 10**12))  # no rule: anything goes
    # An account already outside its rule may move back towards it, never further out.
    check({1: -10, 3: 0}, (1, 5), (3, -5))
    check({1: -10, 3: 0}, (1, 20), (3, -20))
    check({2: 10, 3: 0}, (2, -30), (3, 30))
    check({1: -10, 3: 0}, (1, 5), (1, -5), (3, 1), (3, -1))  # no net movement
    with pytest.raises(LedgerError):
        check({1: -10, 3: 0}, (1, -1), (3, 1))
    with pytest.raises(LedgerError):
        check({2: 10, 3: 0}, (2, 1), (3, -1))
    assert debit.allows(0) and credit.allows(0) and free.allows(-1) and free.allows(1)
    assert not debit.allows(-1) and not credit.allows(1)


@FAST
@given(
    st.lists(st.sampled_from(list(BalanceRule)), min_size=12, max_size=12),
    st.lists(st.integers(min_value=-(10**6), max_value=10**6), min_size=12, max_size=12),
    balanced_postings(),
)
def test_balance_rules_refuse_exactly_the_postings_that_break_them(rule_list, raw, postings):
    rules = {i: rule for i, rule in enumerate(rule_list, start=1)}
    balances = {}
    for account_id, amount in zip(sorted(rules), raw, strict=True):
        rule = rules[account_id]
        balances[account_id] = (
            abs(amount) if rule is BalanceRule.debit_or_zero
            else -abs(amount) if rule is BalanceRule.credit_or_zero
            else amount
        )  # fmt: skip
    after = dict(balances)
    for posting in postings:
        after[posting.account_id] += posting.amount_satang
    breaks = [a for a in after if not rules[a].allows(after[a])]
    if breaks:
        with pytest.raises(LedgerError) as caught:
            check_balance_rules(balances, rules, postings)
        assert caught.value.reason == Rejection.insufficient_balance
    else:
        check_balance_rules(balances, rules, postings)


def test_account_types_have_their_normal_side():
    debit_normal = {t for t in AccountType if t.normal_sign == 1}
    assert debit_normal == {AccountType.asset, AccountType.expense}
    assert {t.normal_sign for t in AccountType} == {1, -1}


# --- the fiscal calendar -----------------------------------------------------------------------

calendar_dates = st.dates(min_value=date(2, 1, 1), max_value=date(9998, 12, 31))
fiscal_years = st.integers(min_value=545, max_value=10542)


def test_fiscal_year_2567():
    assert fiscal_year_bounds(2567) == (date(2023, 10, 1), date(2024, 9, 30))
    assert fiscal_year_of(date(2023, 9, 30)) == 2566
    assert fiscal_year_of(date(2023, 10, 1)) == 2567
    assert fiscal_year_of(date(2024, 6, 14)) == 2567
    assert fiscal_year_of(date(2024, 9, 30)) == 2567
    assert fiscal_year_of(date(2024, 10, 1)) == 2568
    assert be_year(2024) == 2567
    names = [p.name for p in periods_of_fiscal_year(2567)]
    assert names == ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03",
                     "2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09"]  # fmt: skip


@FAST
@given(calendar_dates)
@example(date(2023, 10, 1))
@example(date(2024, 9, 30))
@example(date(2024, 2, 29))
def test_every_date_lies_in_its_fiscal_year(day):
    year = fiscal_year_of(day)
    assert year == day.year + 543 + (1 if day.month >= 10 else 0)
    first, last = fiscal_year_bounds(year)
    assert first <= day <= last
    assert fiscal_year_of(first) == fiscal_year_of(last) == year
    assert fiscal_year_of(first - timedelta(days=1)) == year - 1
    assert fiscal_year_of(last + timedelta(days=1)) == year + 1
    period = period_of(day)
    assert period.start <= day <= period.end
    assert period.fiscal_year == year
    assert period in periods_of_fiscal_year(year)


@FAST
@given(fiscal_years)
@example(2567)
@example(2568)  # 2024-02 is a leap month
def test_periods_of_a_fiscal_year_are_twelve_contiguous_months(year):
    periods = periods_of_fiscal_year(year)
    first, last = fiscal_year_bounds(year)
    assert len(periods) == 12 and periods == sorted(periods)
    assert periods[0].start == first and periods[-1].end == last
    assert (periods[0].year, periods[0].month) == (year - 544, 10)
    for earlier, later in zip(periods, periods[1:], strict=False):
        assert later.start == earlier.end + timedelta(days=1)
    for period in periods:
        assert period.fiscal_year == year
        assert period.start.day == 1
        assert (period.end + timedelta(days=1)).day == 1
        assert period.name == f"{period.year:04d}-{period.month:02d}"
    assert sum((p.end - p.start).days + 1 for p in periods) == (last - first).days + 1


def test_month_ends_and_closing():
    assert month_end(date(2024, 2, 10)) == date(2024, 2, 29)
    assert month_end(date(2023, 2, 10)) == date(2023, 2, 28)
    assert month_end(date(2024, 12, 31)) == date(2024, 12, 31)
    assert Period(2024, 4).end == date(2024, 4, 30)
    assert not is_closed(date(2024, 5, 1), None)
    assert is_closed(date(2024, 5, 31), date(2024, 5, 31))
    assert is_closed(date(2020, 1, 1), date(2024, 5, 31))
    assert not is_closed(date(2024, 6, 1), date(2024, 5, 31))


def test_thai_dates():
    assert format_thai_date(date(2024, 9, 30)) == "30 ก.ย. 2567"
    assert format_thai_date(date(2024, 1, 1)) == "1 ม.ค. 2567"
    assert format_thai_date(date(2023, 12, 5)) == "5 ธ.ค. 2566"
    assert len(set(THAI_MONTHS_SHORT)) == 12


@FAST
@given(calendar_dates)
def test_thai_date_names_day_month_and_buddhist_era_year(day):
    day_text, month_text, year_text = format_thai_date(day).split(" ")
    assert (int(day_text), int(year_text)) == (day.day, day.year + 543)
    assert THAI_MONTHS_SHORT.index(month_text) == day.month - 1


# --- the audit chain ---------------------------------------------------------------------------

field_values = st.text(alphabet="abcxyzกขค0123456789 :-{}\"\\", max_size=12)
record_fields = st.fixed_dictionaries(
    {"actor": field_values, "action": field_values, "outcome": field_values,
     "idempotency_key": st.none() | field_values, "entry_ids": st.lists(st.integers(1, 99))}
)  # fmt: skip


def build_chain(all_fields: list[dict]) -> list[StoredRecord]:
    records, previous = [], GENESIS_HASH
    for seq, fields in enumerate(all_fields, start=1):
        hashed = {**fields, "seq": seq}
        record_hash = chain_hash(previous, hashed)
        records.append(StoredRecord(seq, hashed, previous, record_hash))
        previous = record_hash
    return records


def rehash_from(records: list[StoredRecord], index: int) -> list[StoredRecord]:
    """What a forger who knows the algorithm does: recompute every hash from `index` on."""
    records = list(records)
    previous = records[index - 1].hash if index else GENESIS_HASH
    for i in range(index, len(records)):
        record_hash = chain_hash(previous, records[i].fields)
        records[i] = StoredRecord(records[i].seq, records[i].fields, previous, record_hash)
        previous = record_hash
    return records


def test_canonical_record_and_hash():
    fields = {"b": 1, "a": "ไทย", "c": None, "d": [1, 2]}
    assert canonical(fields) == '{"a":"ไทย","b":1,"c":null,"d":[1,2]}'.encode()
    expected = hashlib.sha256(GENESIS_HASH.encode() + canonical(fields)).hexdigest()
    assert chain_hash(GENESIS_HASH, fields) == expected
    assert chain_hash(GENESIS_HASH, dict(reversed(list(fields.items())))) == expected
    assert chain_hash("1" * 64, fields) != expected
    assert json.loads(canonical(fields)) == fields


def test_empty_chain():
    assert verify_chain([]) == verify_chain([], None)
    result = verify_chain([])
    assert result.ok and result.records_checked == 0 and result.head == Digest(0, GENESIS_HASH)
    beyond = verify_chain([], Digest(1, "a" * 64))
    assert not beyond.ok and beyond.first_bad_seq == 1


@FEW
@given(st.lists(record_fields, min_size=1, max_size=8), st.data())
def test_an_intact_chain_verifies_against_any_of_its_digests(all_fields, data):
    records = build_chain(all_fields)
    result = verify_chain(records)
    assert result.ok and result.first_bad_seq is None and result.problem is None
    assert result.records_checked == len(records)
    assert result.head == Digest(len(records), records[-1].hash)
    kept = data.draw(st.sampled_from(records))
    assert verify_chain(records, Digest(kept.seq, kept.hash)).ok
    assert verify_chain(iter(records), Digest(kept.seq, kept.hash)).ok


@FEW
@given(st.lists(record_fields, min_size=1, max_size=8), st.data())
def test_a_changed_record_is_named(all_fields, data):
    records = build_chain(all_fields)
    index = data.draw(st.integers(0, len(records) - 1))
    record = records[index]
    how = data.draw(st.sampled_from(["field", "hash", "previous_hash", "seq_field"]))
    if how == "field":
        name = data.draw(st.sampled_from(sorted(all_fields[0])))
        changed = {**record.fields, name: f"{record.fields[name]}!"}
        forged = StoredRecord(record.seq, changed, record.previous_hash, record.hash)
    elif how == "hash":
        forged = StoredRecord(record.seq, record.fields, record.previous_hash, "f" * 64)
    elif how == "previous_hash":
        forged = StoredRecord(record.seq, record.fields, "e" * 64, record.hash)
    else:
        changed = {**record.fields, "seq": record.seq + 1}
        forged = StoredRecord(record.seq, changed, record.previous_hash, record.hash)
    assume(forged != record)
    records[index] = forged
    result = verify_chain(records)
    assert not result.ok and result.first_bad_seq == record.seq and result.problem
    assert result.records_checked == index
    expected_head = Digest(index, records[index - 1].hash) if index else Digest(0, GENESIS_HASH)
    assert result.head == expected_head


@FEW
@given(st.lists(record_fields, min_size=2, max_size=8), st.data())
def test_a_removed_record_is_found(all_fields, data):
    records = build_chain(all_fields)
    index = data.draw(st.integers(0, len(records) - 2))
    tampered = records[:index] + records[index + 1 :]
    result = verify_chain(tampered)
    assert not result.ok and result.first_bad_seq == records[index + 1].seq
    # Removing the newest records is seen against a digest kept earlier.
    keep = data.draw(st.integers(0, len(records) - 1))
    head = Digest(len(records), records[-1].hash)
    assert verify_chain(records[:keep]).ok
    cut = verify_chain(records[:keep], head)
    assert not cut.ok and cut.first_bad_seq == keep + 1
    # ... and against the head the database keeps, without any digest.
    cut_from_head = verify_chain(records[:keep], head=head)
    assert not cut_from_head.ok and cut_from_head.first_bad_seq == keep + 1
    assert verify_chain(records, head=head).ok


@FEW
@given(st.lists(record_fields, min_size=1, max_size=8), st.data())
def test_a_chain_that_disagrees_with_the_kept_head_is_named(all_fields, data):
    records = build_chain(all_fields)
    head_seq = data.draw(st.integers(0, len(records) - 1))
    behind = verify_chain(records, head=Digest(head_seq, records[head_seq - 1].hash if head_seq else GENESIS_HASH))
    assert not behind.ok and behind.first_bad_seq == head_seq + 1 and "added after" in behind.problem
    other = verify_chain(records, head=Digest(len(records), "0" * 63 + "1"))
    assert not other.ok and other.first_bad_seq == len(records) and "differs" in other.problem


@FEW
@given(st.lists(record_fields, min_size=1, max_size=8), record_fields, st.data())
def test_an_inserted_record_is_found(all_fields, extra, data):
    records = build_chain(all_fields)
    index = data.draw(st.integers(0, len(records) - 1))
    previous = records[index - 1].hash if index else GENESIS_HASH
    well_forged = data.draw(st.booleans())
    hashed = {**extra, "seq": index + 1}
    forged_hash = chain_hash(previous, hashed) if well_forged else records[index].hash
    forged = StoredRecord(index + 1, hashed, previous, forged_hash)
    assume(forged != records[index])
    result = verify_chain(records[:index] + [forged] + records[index:])
    assert not result.ok
    # A forgery made with the algorithm passes itself; the record after it is then out of place.
    assert result.first_bad_seq == index + 1
    assert result.records_checked == index + (1 if well_forged else 0)


@FEW
@given(st.lists(record_fields, min_size=2, max_size=8), st.data())
def test_reordered_records_are_found(all_fields, data):
    records = build_chain(all_fields)
    i = data.draw(st.integers(0, len(records) - 2))
    j = data.draw(st.integers(i + 1, len(records) - 1))
    records[i], records[j] = records[j], records[i]
    result = verify_chain(records)
    assert not result.ok and result.first_bad_seq == records[i].seq == j + 1


@FEW
@given(st.lists(record_fields, min_size=1, max_size=8), st.data())
def test_a_rewritten_chain_is_caught_by_the_digest(all_fields, data):
    records = build_chain(all_fields)
    head = Digest(len(records), records[-1].hash)
    index = data.draw(st.integers(0, len(records) - 1))
    record = records[index]
    records[index] = StoredRecord(record.seq, {**record.fields, "outcome": "rewritten"},
                                  record.previous_hash, record.hash)  # fmt: skip
    assume(records[index].fields != record.fields)
    rewritten = rehash_from(records, index)
    assert verify_chain(rewritten).ok  # only a digest kept elsewhere can tell
    result = verify_chain(rewritten, head)
    assert not result.ok and result.first_bad_seq == head.seq
    assert result.problem == "differs from the digest"
    wrong = verify_chain(build_chain(all_fields), Digest(head.seq, "0" * 63 + "1"))
    assert not wrong.ok and wrong.first_bad_seq == head.seq


# --- reports -----------------------------------------------------------------------------------


@FAST
@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=15))
def test_trial_balance_columns_are_equal(amounts):
    balances = {i + 1: amount for i, amount in enumerate([*amounts, -sum(amounts)])}
    result = trial_balance(balances)
    assert [line.account_id for line in result.lines] == list(balances)
    for line in result.lines:
        assert line.debit_satang - line.credit_satang == line.balance_satang
        assert min(line.debit_satang, line.credit_satang) == 0
    assert result.total_debit_satang == result.total_credit_satang
    assert result.total_debit_satang == sum(a for a in balances.values() if a > 0)


def test_trial_balance_of_books_that_do_not_balance_is_our_bug():
    with pytest.raises(AssertionError):
        trial_balance({1: 100, 2: -99})
    assert TrialBalance(()).total_debit_satang == 0


@st.composite
def account_forests(draw):
    size = draw(st.integers(min_value=1, max_value=15))
    parents = {1: None}
    for account_id in range(2, size + 1):
        parents[account_id] = draw(st.none() | st.integers(min_value=1, max_value=account_id - 1))
    order = draw(st.permutations(list(parents)))
    balances = {a: draw(st.integers(-(10**9), 10**9)) for a in order if draw(st.booleans())}
    return {a: parents[a] for a in order}, balances


@FAST
@given(account_forests())
def test_rolled_up_balances_sum_their_subtrees(forest):
    parents, balances = forest
    totals = rolled_up(balances, parents)
    assert set(totals) == set(parents)
    children = {a: [c for c, p in parents.items() if p == a] for a in parents}
    for account_id in parents:
        expected = balances.get(account_id, 0) + sum(totals[c] for c in children[account_id])
        assert totals[account_id] == expected
    roots = [a for a, p in parents.items() if p is None]
    assert sum(totals[r] for r in roots) == sum(balances.values())


def test_rolled_up_example():
    parents = {1200: None, 1201: 1200, 1202: 1200, 1203: 1202, 1100: None}
    totals = rolled_up({1200: 5, 1201: 10, 1203: 7, 1100: -22}, parents)
    assert totals == {1200: 22, 1201: 10, 1202: 7, 1203: 7, 1100: -22}


@FAST
@given(st.integers(-(10**9), 10**9), st.lists(st.integers(-(10**9), 10**9), max_size=10))
def test_statement_carries_a_running_balance(opening, amounts):
    first = date(2024, 1, 1)
    rows = [(i + 1, first + timedelta(days=i), f"line {i}", a) for i, a in enumerate(amounts)]
    result = statement(opening, rows)
    assert result.opening_balance_satang == opening
    assert result.closing_balance_satang == opening + sum(amounts)
    for n, line in enumerate(result.lines):
        assert line.running_balance_satang == opening + sum(amounts[: n + 1])
        assert (line.entry_id, line.effective_date, line.description, line.amount_satang) == rows[n]


# --- doctests of every ledger module -----------------------------------------------------------

LEDGER_MODULES = sorted(
    f"ledger.{info.name}" for info in pkgutil.iter_modules(ledger.__path__) if not info.ispkg
)


def test_the_ledger_package_is_all_found():
    assert {"ledger.money", "ledger.accounts", "ledger.calendar", "ledger.audit",
            "ledger.reports"} <= set(LEDGER_MODULES)  # fmt: skip


@pytest.mark.parametrize("name", ["ledger", *LEDGER_MODULES])
def test_doctests_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, verbose=False, report=False)
    assert result.failed == 0, f"{result.failed} doctest(s) of {name} failed"
    with open(module.__file__, encoding="utf-8") as source:
        has_examples = ">>>" in source.read()
    if has_examples:
        assert result.attempted > 0, f"{name} shows examples that doctest did not run"
    if name in ("ledger.money", "ledger.calendar"):
        assert result.attempted >= 2
