"""The loan product settings of `tests/test_loan_settings.py` through the real app: the API takes
a rate a month and each setting, keeps them in the product's terms and shows them back; a clash
of settings is a 422 with its reason; the office form saves them and previews their schedule."""

import re
from datetime import date
from decimal import Decimal

import pytest

from ledger.loans import DaysInMonth, FlatInterest, LastInstalment, MultipleRounding, MultipleScope, RatePer, schedule
from store import loans
from tests.test_api_loan_events import cob
from tests.test_api_loans import (  # noqa: F401  (lender is a fixture)
    approved_loan,
    balance,
    disburse,
    lender,
    product_body,
    refused,
    repay,
)
from tests.test_web_loans import fund_book, preview_figures, product_form
from tests.test_web_sessions import csrf_of
from tests.web_helpers import OFFICER, signed_in
from web.office_loan_forms import PRODUCT_FIELDS, read_terms, typed_fields

SETTINGS = {"multiple_rounding": "half_even", "multiple_applies_to": "level_instalment", "days_in_month": "30",
            "flat_interest": "whole_loan", "last_instalment": "takes_residue"}  # fmt: skip


def test_a_product_with_a_rate_a_month_and_every_new_setting(api, fund):
    body = product_body(fund, rate_annual_percent=None, rate_monthly_percent="1.25", interest_method="flat",
                        day_count="360", instalment_multiple="1.00", **SETTINGS)  # fmt: skip
    made = api.post("/v1/loan-products", body)
    assert made.status_code == 201, made.text
    terms = api.get(f"/v1/loan-products/{made.json()['id']}").json()["terms"]
    rate = (terms["rate_annual_percent"], terms["rate_per"], terms["rate_monthly_percent"])
    assert rate == ("15.00", "month", "1.25")
    assert {name: terms[name] for name in SETTINGS} == SETTINGS
    plain = api.post("/v1/loan-products", product_body(fund, code="PLAIN"))
    shown = api.get(f"/v1/loan-products/{plain.json()['id']}").json()["terms"]
    assert (shown["rate_per"], shown["rate_monthly_percent"], shown["multiple_rounding"]) == ("year", None, "up")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"rate_monthly_percent": "1"}, "malformed_rate"),  # and a rate a year: one of the two
        ({"rate_annual_percent": None}, "malformed_rate"),  # neither
        ({"rate_annual_percent": None, "rate_monthly_percent": "8.5"}, "rate_out_of_range"),  # 102 % a year
        ({"days_in_month": "30", "day_count": "actual"}, "incompatible_terms"),
        ({"flat_interest": "whole_loan"}, "incompatible_terms"),
        ({"last_instalment": "near_level", "amortization": "equal_principal"}, "incompatible_terms"),
        ({"multiple_rounding": "down"}, "invalid_request"),
        ({"day_count": "364.5"}, "invalid_request"),
    ],
)
def test_settings_that_clash_are_refused_with_a_reason(api, fund, changes, reason):
    refused(api.post("/v1/loan-products", product_body(fund, **changes)), 422, reason)


@pytest.fixture
def officer(app):
    return signed_in(app, OFFICER)


def test_the_office_form_saves_the_settings_and_previews_them(officer, db):
    typed = {"rate_per": "month", "rate_annual_percent": "0.5", "interest_method": "declining_balance",
             "amortization": "equal_instalments", "day_count": "364", "days_in_month": "30",
             "multiple_rounding": "half_up", "multiple_applies_to": "all_instalments", "flat_interest": "per_period",
             "last_instalment": "near_level", "grace_principal_periods": "0", "grace_interest_periods": "0",
             "interest_free_periods": "0"}  # fmt: skip
    page, form = product_form(officer, db, **typed)
    fragment = officer.post("/office/loan-products/preview", form, token=csrf_of(page))
    _body, terms, errors = read_terms(typed_fields(form, PRODUCT_FIELDS))
    assert errors == [] and fragment.status_code == 200
    expected = schedule(100_000_00, terms, date(2024, 6, 14))
    assert [row[0] for row in preview_figures(fragment.text)] == [str(i.number) for i in expected.instalments]
    made = officer.post("/office/loan-products/new", form, token=csrf_of(page))
    assert made.status_code == 303, made.text
    product_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    with db.read() as connection:
        saved = loans.get_product(connection, product_id)["terms"]
    assert (saved.rate_per, saved.rate_quoted_percent, saved.rate_annual_percent) == (RatePer.month, Decimal("0.5"),
                                                                                      Decimal(6))  # fmt: skip
    assert (saved.days_in_month, saved.multiple_rounding, saved.multiple_applies_to) == (
        DaysInMonth.days_30, MultipleRounding.half_up, MultipleScope.all_instalments)
    assert (saved.flat_interest, saved.last_instalment) == (FlatInterest.per_period, LastInstalment.near_level)
    shown = officer.get(f"/office/loan-products/{product_id}").text
    assert "0.5 % ต่อเดือน" in shown and "ปรับยอดผ่อนให้งวดสุดท้ายใกล้เคียงงวดอื่น" in shown


def test_a_clash_of_settings_is_put_beside_the_field(officer, db):
    page, form = product_form(officer, db, day_count="actual", days_in_month="30")
    refused_page = officer.post("/office/loan-products/new", form, token=csrf_of(page))
    assert refused_page.status_code == 422
    assert re.search(r'id="days_in_month-error">.*ใช้ร่วมกันไม่ได้', refused_page.text)
    assert fund_book(db)["code"] == "CODI-FUND"


def test_close_of_business_charges_penalty_on_principal_and_interest(api, lender):  # noqa: F811
    """The doctest loan with 24 % of penalty on overdue principal and interest: its first
    instalment, 3,400.22, unpaid from 1 to 10 March earns 340,022 x 0.24 x 10/365 = 2,235.76
    satang, 22.36 (on principal alone 21.70). Paying the penalty and the interest on 11 March
    leaves 3,300.22 overdue from that day: 10 more days through 20 March earn 21.70."""
    body = product_body(lender, code="PENALTY-PI", penalty_rate_annual_percent="24",
                        penalty_on="overdue_principal_and_interest")  # fmt: skip
    product = api.post("/v1/loan-products", body)
    assert product.json()["terms"]["penalty_on"] == "overdue_principal_and_interest"
    loan = approved_loan(lender, product_id=product.json()["id"])
    disburse(lender, loan["id"])
    assert cob(api, "2024-03-10")["penalty_interest"] == "22.36"
    assert balance(api, lender["1220"]) == "22.36"
    paid = repay(lender, loan["id"], "122.36", "2024-03-11").json()["transaction"]
    assert (paid["penalty"], paid["interest"], paid["principal"]) == ("22.36", "100.00", "0.00")
    assert cob(api, "2024-03-20")["penalty_interest"] == "21.70"
