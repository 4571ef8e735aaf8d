"""The loan product settings of `tests/test_loan_settings.py` through the real app: the API takes
a rate a month and each setting, keeps them in the product's terms and shows them back; a clash
of settings is a 422 with its reason; the office form saves them and previews their schedule."""

import re
from datetime import date
from decimal import Decimal

import pytest

from ledger.loans import DaysInMonth, FlatInterest, LastInstalment, MultipleRounding, MultipleScope, RatePer, schedule
from store import loans
from tests.test_api_loans import product_body, refused
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
