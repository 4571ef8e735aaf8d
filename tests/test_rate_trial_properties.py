"""A rate change with an end (`ledger.loan_book.reschedule(rate_ends_on=)`), as CODI's one-year
trial of 3.5 %: the instalments due by the change are kept, the principal still sums to the
amount, every instalment due by the end is the one the open-ended change gives (the level and
the trial rate), and from the end the rate in force before the change is back in the terms."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError, Rejection
from ledger.loan_book import reschedule
from ledger.loans import LoanTerms, RateChange, rate_on, schedule
from tests.test_loan_properties import FIRST_DAY, TERMS, TODAY

RATES = st.sampled_from([Decimal("3.5"), Decimal("0"), Decimal("6"), Decimal("12.25")])


@settings(max_examples=80, deadline=None)
@given(terms=TERMS, amount=st.integers(1_00, 10_000_000_00), start=st.dates(FIRST_DAY, TODAY),
       after=st.integers(0, 300), trial_days=st.integers(1, 400), rate=RATES)  # fmt: skip
def test_a_trial_rate_keeps_what_falls_due_in_the_trial_and_then_returns(terms, amount, start, after, trial_days, rate):
    plan = schedule(amount, terms, start)
    on, ends = start + timedelta(days=after), start + timedelta(days=after + trial_days)
    try:
        open_ended, _ = reschedule(plan, terms, on, rate_percent=rate)
    except LedgerError as error:
        assume(error.reason is not Rejection.nothing_to_reschedule)
        raise
    trial, trial_terms = reschedule(plan, terms, on, rate_percent=rate, rate_ends_on=ends)
    assert sum(i.principal_satang for i in trial.instalments) == amount
    assert len(trial.instalments) == len(open_ended.instalments)
    kept = [i for i in plan.instalments if i.due_on <= on]
    assert list(trial.instalments[: len(kept)]) == kept
    assert all(i.principal_satang >= 0 and i.interest_satang >= 0 for i in trial.instalments)
    for mine, theirs in zip(trial.instalments[:-1], open_ended.instalments[:-1], strict=True):
        if mine.due_on <= ends:
            assert mine == theirs
    assert trial_terms.rate_annual_percent == rate
    assert trial_terms.rate_changes == (RateChange(ends, rate_on(terms, on)),)
    assert rate_on(trial_terms, ends) == rate_on(terms, on) and rate_on(trial_terms, ends - timedelta(days=1)) == rate


def test_a_trial_ends_after_it_starts():
    terms = LoanTerms(rate_annual_percent=Decimal("4"), term_instalments=12)
    plan = schedule(1_000_000, terms, FIRST_DAY)
    with pytest.raises(LedgerError) as refused:
        reschedule(plan, terms, FIRST_DAY, rate_percent=Decimal("3.5"), rate_ends_on=FIRST_DAY)
    assert refused.value.reason is Rejection.invalid_date_range
