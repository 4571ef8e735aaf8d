"""A loan's operations through the staff's pages, on loans made with the API: the repayment's
previewed allocation is the one recorded (on time, partial, late with a penalty, overpaid), every
operation's effect equals the API's own on a twin loan, a form sent twice records once, refusals
are shown in Thai beside their field with what was typed kept (422), and each page is for the
roles the API allows."""

import html
import re

import pytest

from api.app import create_app
from api.problem_text import TITLES
from ledger.errors import Rejection
from store import audit_log
from tests.test_api_loans import approved_loan, disburse, lender, product_body, repay  # noqa: F401
from tests.test_web_sessions import Browser, csrf_of, person
from tests.web_helpers import key_of
from web.i18n import translations

THAI = translations("th")


@pytest.fixture
def app(db, clock):
    return create_app(db, clock)


@pytest.fixture
def officer(app, db) -> Browser:
    return signed_in(app, db, "officer-web", "officer")


@pytest.fixture
def approver(app, db) -> Browser:
    return signed_in(app, db, "approver-web", "approver")


@pytest.fixture
def penalised(api, lender) -> dict:  # noqa: F811
    """The lender with a product charging 24 % a year of penalty interest on overdue principal."""
    product = api.post("/v1/loan-products", product_body(lender, code="PENALTY-24", penalty_rate_annual_percent="24"))
    assert product.status_code == 201, product.text
    return {**lender, "product_id": product.json()["id"]}


def signed_in(app, db, name: str, role: str) -> Browser:
    person(db, name, role)
    browser = Browser(app)
    assert browser.sign_in(name).status_code == 303
    return browser


def active_loan(lender: dict) -> int:  # noqa: F811
    loan = approved_loan(lender)
    assert disburse(lender, loan["id"]).status_code == 201
    return loan["id"]


def previewed_of(page) -> str:
    return re.search(r'name="previewed" value="([^"]*)"', page.text).group(1)


def allocation_of(page) -> dict[str, str]:
    """The previewed allocation, as the API writes amounts."""
    parts = ("penalty", "interest", "principal", "overpayment")
    found = {p: re.search(rf'id="allocation-{p}"><span class="amount">([0-9,.]+)<', page.text) for p in parts}
    return {p: match.group(1).replace(",", "") for p, match in found.items()}


def recorded(api, loan_id: int) -> dict[str, str]:
    line = api.get(f"/v1/loans/{loan_id}/statement").json()["lines"][-1]
    assert line["kind"] == "repayment"
    return {p: line[p] for p in ("penalty", "interest", "principal", "overpayment")}


def error_beside(page, field: str) -> str:
    found = re.search(rf'<p class="error-message" id="{field}-error">(.*?)</p>', page.text, re.S)
    assert found, (field, re.findall(r"error-message.{0,300}", page.text, re.S))
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def thai_title(reason: Rejection) -> str:
    thai = THAI.gettext(TITLES[reason])
    assert thai != TITLES[reason]
    return thai


def record_repayment(browser: Browser, loan_id: int, day: str, amount: str) -> tuple[dict, dict]:
    """Type a repayment, preview it as htmx does and on the preview step, save it: the two previews."""
    path = f"/office/loans/{loan_id}/repayments"
    form = browser.get(f"{path}/new")
    assert form.status_code == 200
    typed = {"effective_date": day, "amount": amount}
    fragment = browser.get(f"{path}/preview", params=typed)
    fields = {**typed, "key": key_of(form), "step": "preview"}
    step = browser.post(f"{path}/new", fields, token=csrf_of(form))
    assert step.status_code == 200 and 'name="step" value="save"' in step.text
    saved = browser.post(f"{path}/new", {**fields, "step": "save", "previewed": previewed_of(step)},
                         token=csrf_of(form))  # fmt: skip
    assert (saved.status_code, saved.headers["location"]) == (303, f"/office/loans/{loan_id}"), saved.text
    return allocation_of(fragment), allocation_of(step)


# --- a repayment: the preview is what is recorded -----------------------------------------------


def test_the_previewed_allocation_is_the_recorded_one(api, penalised, officer):
    loan_id = active_loan(penalised)
    cases = [("29/02/2567", "3,400.22"), ("31/03/2567", "1000"), ("20/04/2567", "2000"), ("2024-05-01", "10000")]
    seen = []
    for number, (day, amount) in enumerate(cases):
        if number == 2:  # close of business charges the penalty on what is late
            assert api.post("/v1/close-of-business", {"date": "2024-04-20"}).status_code == 200
        fragment, step = record_repayment(officer, loan_id, day, amount)
        assert fragment == step == recorded(api, loan_id), (day, amount)
        seen.append(step)
    on_time, partial, late, overpaid = seen
    assert on_time == {"penalty": "0.00", "interest": "100.00", "principal": "3300.22", "overpayment": "0.00"}
    assert partial == {"penalty": "0.00", "interest": "67.00", "principal": "933.00", "overpayment": "0.00"}
    assert late["penalty"] != "0.00" and late["overpayment"] == "0.00"
    assert overpaid["overpayment"] != "0.00"


def test_a_backdated_repayment_says_it_reallocates_the_later_ones(api, lender, officer):  # noqa: F811
    loan_id = active_loan(lender)
    assert repay(lender, loan_id, "3400.22", "2024-03-31").status_code == 201
    fragment = officer.get(f"/office/loans/{loan_id}/repayments/preview",
                           params={"effective_date": "29/02/2567", "amount": "100"})  # fmt: skip
    assert allocation_of(fragment)["interest"] == "100.00" and "notice-warning" in fragment.text


def test_a_repayment_form_sent_twice_records_once(api, lender, officer, db):  # noqa: F811
    loan_id = active_loan(lender)
    path = f"/office/loans/{loan_id}/repayments/new"
    form = officer.get(path)
    fields = {"effective_date": "29/02/2567", "amount": "3400.22", "key": key_of(form), "step": "preview"}
    step = officer.post(path, fields, token=csrf_of(form))
    save = {**fields, "step": "save", "previewed": previewed_of(step)}
    assert [officer.post(path, save, token=csrf_of(form)).status_code for _ in range(2)] == [303, 303]
    lines = api.get(f"/v1/loans/{loan_id}/statement").json()["lines"]
    assert [line["kind"] for line in lines] == ["disbursement", "repayment"]
    with db.read() as connection:
        records = audit_log.list_records(connection, after=0, limit=100)
    assert [(r["action"], r["actor"], r["outcome"]) for r in records if r["action"] == "loan.repay"] == [
        ("loan.repay", "officer-web", "ok")
    ]
    reused = officer.post(path, {**save, "amount": "10.00", "previewed": "2024-02-29|1000"}, token=csrf_of(form))
    assert reused.status_code == 409
    assert thai_title(Rejection.idempotency_key_reused) in error_beside(reused, "amount")


def test_values_changed_after_the_preview_are_previewed_again_not_saved(api, lender, officer):  # noqa: F811
    loan_id = active_loan(lender)
    path = f"/office/loans/{loan_id}/repayments/new"
    form = officer.get(path)
    fields = {"effective_date": "29/02/2567", "amount": "3400.22", "key": key_of(form), "step": "preview"}
    step = officer.post(path, fields, token=csrf_of(form))
    changed = officer.post(path, {**fields, "amount": "50", "step": "save", "previewed": previewed_of(step)},
                           token=csrf_of(form))  # fmt: skip
    assert changed.status_code == 200 and allocation_of(changed)["interest"] == "50.00"
    assert [line["kind"] for line in api.get(f"/v1/loans/{loan_id}/statement").json()["lines"]] == ["disbursement"]


@pytest.mark.parametrize(
    ("typed", "field", "words"),
    [
        ({"effective_date": "15/06/2567", "amount": "100"}, "effective_date", thai_title(Rejection.date_in_future)),
        ({"effective_date": "30/01/2567", "amount": "100"}, "effective_date",
         thai_title(Rejection.date_before_last_transaction)),
        ({"effective_date": "29/02/2024", "amount": "100"}, "effective_date", "29/02/2567"),
        ({"effective_date": "29/02/2567", "amount": "12.345"}, "amount",
         THAI.gettext("Write the amount in baht, like 1,500.00 or 1500.")),
        ({"effective_date": "29/02/2567", "amount": "0"}, "amount", THAI.gettext("The amount must be more than zero.")),
    ],
)  # fmt: skip
def test_a_refused_repayment_says_why_and_keeps_what_was_typed(api, lender, officer, typed, field, words):  # noqa: F811
    loan_id = active_loan(lender)
    path = f"/office/loans/{loan_id}/repayments/new"
    form = officer.get(path)
    for step in ("preview", "save"):
        page = officer.post(path, {**typed, "key": key_of(form), "step": step}, token=csrf_of(form))
        assert page.status_code == 422
        assert words in error_beside(page, field)
        for name, value in typed.items():
            assert f'name="{name}" type="text" value="{value}"' in page.text
    assert [line["kind"] for line in api.get(f"/v1/loans/{loan_id}/statement").json()["lines"]] == ["disbursement"]


# --- taking a repayment back ---------------------------------------------------------------------


def test_a_repayment_is_taken_back_with_a_reason_once(api, lender, officer):  # noqa: F811
    loan_id = active_loan(lender)
    repayment = repay(lender, loan_id, "3400.22", "2024-02-29").json()["transaction"]["id"]
    path = f"/office/loans/{loan_id}/repayments/{repayment}/reversal"
    form = officer.get(path)
    assert form.status_code == 200 and "3,400.22" in form.text
    no_reason = officer.post(path, {"key": key_of(form), "reason": "  "}, token=csrf_of(form))
    assert no_reason.status_code == 422 and error_beside(no_reason, "reason")
    sent = {"key": key_of(form), "reason": "เช็คคืน"}
    assert [officer.post(path, sent, token=csrf_of(form)).status_code for _ in range(2)] == [303, 303]
    assert api.get(f"/v1/loans/{loan_id}").json()["figures"]["principal_outstanding"] == "10000.00"
    assert [line["kind"] for line in api.get(f"/v1/loans/{loan_id}/statement").json()["lines"]] == ["disbursement"]
    assert officer.get(path).status_code == 404  # no longer in force


# --- the other operations: the page's effect is the API's ------------------------------------------


def effect(api, loan_id: int) -> tuple:
    """What the API reads of a loan, without its ids and the times it was recorded."""
    loan = api.get(f"/v1/loans/{loan_id}").json()
    schedule = api.get(f"/v1/loans/{loan_id}/schedule").json()["instalments"]
    ids = ("transaction_id", "entry_id", "id", "loan_id", "recorded_at", "recorded_by")
    lines = [{k: v for k, v in line.items() if k not in ids} for line in
             api.get(f"/v1/loans/{loan_id}/statement").json()["lines"]]  # fmt: skip
    return loan["status"], loan["term_instalments"], loan["figures"], schedule, lines


# Each operation: who does it, what the API's loan needs first, the form's fields, the API's body.
OPERATIONS = {
    "reschedule": ("officer", [], {"effective_date": "15/03/2567", "extra_instalments": "2", "reason": "ภัยแล้ง"},
                   {"effective_date": "2024-03-15", "extra_instalments": 2, "reason": "ภัยแล้ง"}, "reschedules"),
    "moratorium": ("officer", [], {"first_day": "01/03/2567", "last_day": "31/03/2567", "reason": "น้ำท่วม"},
                   {"first_day": "2024-03-01", "last_day": "2024-03-31", "reason": "น้ำท่วม"}, "moratoria"),
    "write-off": ("approver", [], {"effective_date": "10/03/2567", "reason": "สหกรณ์เลิกกิจการ"},
                  {"effective_date": "2024-03-10", "reason": "สหกรณ์เลิกกิจการ"}, "write-off"),
    "recovery": ("officer", [("write-off", {"effective_date": "2024-03-10", "reason": "เลิกกิจการ"}, "approver")],
                 {"effective_date": "20/03/2567", "amount": "500"},
                 {"effective_date": "2024-03-20", "amount": "500.00"}, "recoveries"),
    "refund": ("officer", [("repayments", {"effective_date": "2024-02-29", "amount": "12000.00"}, "officer")],
               {"effective_date": "01/03/2567", "amount": "100"},
               {"effective_date": "2024-03-01", "amount": "100.00"}, "refunds"),
    "rebate": ("approver", [("repayments", {"effective_date": "2024-02-29", "amount": "3400.22"}, "officer")],
               {"effective_date": "01/03/2567", "amount": "50", "to": "cash", "reason": "ชำระดี"},
               {"effective_date": "2024-03-01", "amount": "50.00", "to": "cash", "reason": "ชำระดี"}, "rebates"),
}  # fmt: skip


def operate(browser: Browser, loan_id: int, slug: str, typed: dict):
    """Fill the operation's form; through its check step if it has one; the answers of the save."""
    path = f"/office/loans/{loan_id}/{slug}"
    form = browser.get(path)
    assert form.status_code == 200, form.text
    fields = {**typed, "key": key_of(form)}
    step = browser.post(path, {**fields, "step": "check"}, token=csrf_of(form))
    if step.status_code == 200:  # a check step: nothing written yet, the same values carried on
        assert 'name="step" value="save"' in step.text
    return [browser.post(path, {**fields, "step": "save"}, token=csrf_of(form)) for _ in range(2)]


@pytest.mark.parametrize("slug", OPERATIONS)
def test_each_operation_through_its_page_has_the_api_effect_once(api, lender, app, db, slug):  # noqa: F811
    role, before, typed, body, route = OPERATIONS[slug]
    through_page, through_api = active_loan(lender), active_loan(lender)
    for loan_id in (through_page, through_api):
        for path, first, who in before:
            assert lender[who].post(f"/v1/loans/{loan_id}/{path}", first, f"{path}-{loan_id}").status_code == 201
    browser = signed_in(app, db, f"{role}-web", role)
    answers = operate(browser, through_page, slug, typed)
    assert [(a.status_code, a.headers["location"]) for a in answers] == [(303, f"/office/loans/{through_page}")] * 2
    made = lender[role].post(f"/v1/loans/{through_api}/{route}", body, f"{slug}-api")
    assert made.status_code == 201, made.text
    assert effect(api, through_page) == effect(api, through_api)


def test_the_checks_show_the_new_schedule_and_what_a_write_off_takes(api, lender, officer, approver):  # noqa: F811
    loan_id = active_loan(lender)
    form = officer.get(f"/office/loans/{loan_id}/reschedule")
    typed = {"effective_date": "15/03/2567", "extra_instalments": "2", "reason": "ภัยแล้ง", "key": key_of(form),
             "step": "check"}  # fmt: skip
    check = officer.post(f"/office/loans/{loan_id}/reschedule", typed, token=csrf_of(form))
    assert check.status_code == 200 and check.text.count("<tr><td>") == 4  # instalments 2..5
    assert api.get(f"/v1/loans/{loan_id}").json()["term_instalments"] == 3  # nothing written
    form = approver.get(f"/office/loans/{loan_id}/write-off")
    typed = {"effective_date": "10/03/2567", "reason": "เลิกกิจการ", "key": key_of(form), "step": "check"}
    check = approver.post(f"/office/loans/{loan_id}/write-off", typed, token=csrf_of(form))
    assert check.status_code == 200 and "10,000.00" in check.text
    assert thai_text("Only an approver can undo it, and only while nothing was recovered or refunded after it.") in (
        check.text)  # fmt: skip
    assert api.get(f"/v1/loans/{loan_id}").json()["status"] == "active"


def thai_text(message_id: str) -> str:
    return THAI.gettext(message_id)


@pytest.mark.parametrize(
    ("slug", "who", "typed", "field", "reason"),
    [
        ("refund", "officer", {"effective_date": "01/03/2567", "amount": "100"}, "amount",
         Rejection.refund_exceeds_overpayment),
        ("recovery", "officer", {"effective_date": "01/03/2567", "amount": "100"}, "amount",
         Rejection.loan_not_written_off),
        ("rebate", "approver", {"effective_date": "14/06/2567", "amount": "1", "to": "overpayments", "reason": "ดี"},
         "effective_date", Rejection.not_in_good_standing),
        ("reschedule", "officer", {"effective_date": "15/03/2567", "reason": "ไม่เปลี่ยนอะไร"}, "extra_instalments",
         Rejection.invalid_request),
        ("moratorium", "officer", {"first_day": "01/01/2567", "last_day": "31/01/2567", "reason": "ก่อนเบิก"},
         "first_day", Rejection.date_before_last_transaction),
    ],
)  # fmt: skip
def test_a_refused_operation_says_why_in_thai(api, lender, app, db, slug, who, typed, field, reason):  # noqa: F811
    loan_id = active_loan(lender)
    browser = signed_in(app, db, f"{who}-web", who)
    path = f"/office/loans/{loan_id}/{slug}"
    form = browser.get(path)
    for step in ("check", "save"):
        page = browser.post(path, {**typed, "key": key_of(form), "step": step}, token=csrf_of(form))
        assert page.status_code == 422, page.text
        assert thai_title(reason) in error_beside(page, field)
        for name, value in typed.items():
            if name != "to":
                assert f'value="{value}"' in page.text
    assert [line["kind"] for line in api.get(f"/v1/loans/{loan_id}/statement").json()["lines"]] == ["disbursement"]


def test_a_form_missing_what_it_needs_is_refused_before_the_operation(api, lender, approver):  # noqa: F811
    loan_id = active_loan(lender)
    path = f"/office/loans/{loan_id}/write-off"
    form = approver.get(path)
    page = approver.post(path, {"effective_date": "", "reason": "", "key": key_of(form), "step": "check"},
                         token=csrf_of(form))  # fmt: skip
    assert page.status_code == 422
    assert error_beside(page, "effective_date") and error_beside(page, "reason")
    assert api.get(f"/v1/loans/{loan_id}").json()["status"] == "active"


def test_a_charge_off_and_the_undos_through_the_pages(api, lender, approver):  # noqa: F811
    loan_id = active_loan(lender)
    card = approver.get(f"/office/loans/{loan_id}").text
    assert f'href="/office/loans/{loan_id}/charge-off"' in card and "charge-off-undo" not in card
    path = f"/office/loans/{loan_id}/charge-off"
    form = approver.get(path)
    for words in ("Long in arrears", "Disaster", "Pursued in court", "Why is the loan charged off?"):
        assert thai_text(words) in form.text, words
    typed = {"effective_date": "10/03/2567", "reason": "other", "note": "", "key": key_of(form)}
    page = approver.post(path, {**typed, "step": "save"}, token=csrf_of(form))
    assert page.status_code == 422 and thai_title(Rejection.reason_required) in error_beside(page, "note")
    assert 'value="10/03/2567"' in page.text
    typed["reason"] = "disaster"
    answers = [approver.post(path, {**typed, "step": "save"}, token=csrf_of(form)) for _ in range(2)]
    assert [a.status_code for a in answers] == [303, 303]  # sent twice, recorded once
    loan = api.get(f"/v1/loans/{loan_id}").json()
    assert (loan["charged_off_on"], loan["charge_off_reason"], loan["status"]) == ("2024-03-10", "disaster", "active")
    assert api.get(f"/v1/accounts/{lender['5200']}").json()["balance"] == "10000.00"
    card = approver.get(f"/office/loans/{loan_id}").text
    assert thai_text("Charged off") in card and thai_text("Disaster") in card
    assert f'href="/office/loans/{loan_id}/charge-off-undo"' in card and f'href="{path}"' not in card
    undo = approver.get(f"/office/loans/{loan_id}/charge-off-undo")
    done = approver.post(f"/office/loans/{loan_id}/charge-off-undo",
                         {"reason": "บันทึกผิดสัญญา", "key": key_of(undo), "step": "save"}, token=csrf_of(undo))
    assert done.status_code == 303
    assert api.get(f"/v1/loans/{loan_id}").json()["charged_off_on"] is None
    assert api.get(f"/v1/accounts/{lender['5200']}").json()["balance"] == "0.00"
    body = {"effective_date": "2024-03-10", "reason": "เลิกกิจการ"}
    assert lender["approver"].post(f"/v1/loans/{loan_id}/write-off", body, "w-page").status_code == 201
    assert f'href="/office/loans/{loan_id}/write-off-undo"' in approver.get(f"/office/loans/{loan_id}").text
    undo = approver.get(f"/office/loans/{loan_id}/write-off-undo")
    done = approver.post(f"/office/loans/{loan_id}/write-off-undo",
                         {"reason": "อนุมัติผิด", "key": key_of(undo), "step": "save"}, token=csrf_of(undo))
    assert done.status_code == 303
    assert api.get(f"/v1/loans/{loan_id}").json()["figures"]["principal_outstanding"] == "10000.00"
    again = approver.post(f"/office/loans/{loan_id}/write-off-undo",
                          {"reason": "อีกครั้ง", "key": key_of(approver.get(f"/office/loans/{loan_id}/write-off-undo")),
                           "step": "save"}, token=csrf_of(undo))  # fmt: skip
    assert again.status_code == 422 and thai_title(Rejection.loan_not_written_off) in error_beside(again, "reason")


def test_a_rate_change_by_rule_lists_the_loans_left_out_in_thai(api, lender, approver, officer):  # noqa: F811
    good, in_court = active_loan(lender), active_loan(lender)
    body = {"in_litigation": True, "reason": "คดีที่ 123/2567", "effective_date": "2024-02-15"}
    assert lender["officer"].post(f"/v1/loans/{in_court}/litigation", body).status_code == 200
    product = f"/office/loan-products/{lender['product_id']}"
    assert f'href="{product}/rate-change"' in approver.get(product).text
    assert f'href="{product}/rate-change"' not in officer.get(product).text
    assert officer.get(f"{product}/rate-change").status_code == 403
    form = approver.get(f"{product}/rate-change")
    typed = {"effective_on": "01/03/2567", "rate_annual_percent": "3.5", "ends_on": "01/03/2567",
             "max_days_past_due": "90", "reason": "มติคณะกรรมการ", "key": key_of(form)}  # fmt: skip
    page = approver.post(f"{product}/rate-change", typed, token=csrf_of(form))
    assert page.status_code == 422 and thai_title(Rejection.invalid_date_range) in error_beside(page, "ends_on")
    done = approver.post(f"{product}/rate-change", {**typed, "ends_on": "01/03/2568"}, token=csrf_of(form))
    assert done.status_code == 200, done.text
    left_out = re.search(r'<table class="figures" id="left-out".*?</table>', done.text, re.S).group(0)
    assert f'href="/office/loans/{in_court}"' in left_out and thai_text("In litigation on the first day") in left_out
    assert f'href="/office/loans/{good}"' not in left_out and f'href="/office/loans/{good}"' in done.text
    again = approver.post(f"{product}/rate-change", {**typed, "ends_on": "01/03/2568"}, token=csrf_of(form))
    assert again.text == done.text  # sent twice: one change, the same answer
    assert len(api.get(f"/v1/loans/{good}/schedule").json()["instalments"]) == 3


# --- who may -----------------------------------------------------------------------------------------


def test_each_page_is_for_the_roles_the_api_allows(api, lender, app, db):  # noqa: F811
    loan_id = active_loan(lender)
    repayment = repay(lender, loan_id, "3400.22", "2024-02-29").json()["transaction"]["id"]
    pages = {"repayments/new": "officer", f"repayments/{repayment}/reversal": "officer", "reschedule": "officer",
             "moratorium": "officer", "recovery": "officer", "refund": "officer", "write-off": "approver",
             "rebate": "approver", "repayments/preview": "officer", "charge-off": "approver",
             "charge-off-undo": "approver", "write-off-undo": "approver"}  # fmt: skip
    browsers = {role: signed_in(app, db, f"{role}-who", role) for role in ("officer", "approver", "admin", "auditor")}
    for page, role in pages.items():
        path = f"/office/loans/{loan_id}/{page}"
        assert browsers[role].get(path).status_code == 200, path
        assert browsers["admin"].get(path).status_code == 200, path
        assert browsers["auditor"].get(path).status_code == 403, path
        other = "approver" if role == "officer" else "officer"
        assert browsers[other].get(path).status_code == 403, path
    assert browsers["officer"].get("/office/loans/999/repayments/new").status_code == 404
    assert Browser(app).get(f"/office/loans/{loan_id}/refund").headers["location"].startswith("/signin")
    form = browsers["officer"].get(f"/office/loans/{loan_id}/refund")
    refused = browsers["auditor"].post(f"/office/loans/{loan_id}/refund",
                                       {"effective_date": "01/03/2567", "amount": "1", "key": key_of(form),
                                        "step": "save"}, form_page="/")  # fmt: skip
    assert refused.status_code == 403


def test_each_page_answers_in_thai_with_the_loan_summary(api, lender, officer, approver):  # noqa: F811
    loan_id = active_loan(lender)
    for page, browser in (("repayments/new", officer), ("reschedule", officer), ("write-off", approver)):
        text = browser.get(f"/office/loans/{loan_id}/{page}").text
        for words in ("สหกรณ์ทดสอบ", "10,000.00", f'href="/office/loans/{loan_id}"', thai_text("Principal outstanding")):
            assert words in text, (page, words)
