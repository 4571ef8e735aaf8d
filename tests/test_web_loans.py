"""The fund officer's loan pages through the real app, on the demo: a product made with every
setting POST /v1/loan-products takes and its preview (ledger.loans.schedule itself), an
application refused beside its field with what was typed kept, the savings-first check before
sending, four eyes on the approvals queue, a loan paid out in two tranches, the card's figures
and schedule equal to the API's, and the printable schedule (PDF, Thai)."""

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from ledger.loans import Amortization, Component, DayCount, FrequencyUnit, InterestMethod, LoanTerms, schedule
from ledger.money import format_amount, people_amount
from store import audit_log, books, equity, loans, users
from tests.conftest import NOW, Api, make_user
from tests.test_web_sessions import csrf_of
from tests.web_helpers import ADMIN, APPROVER, OFFICER, key_of, signed_in
from web.office_loan_forms import PRODUCT_FIELDS, read_terms, typed_fields


@pytest.fixture
def officer(app):
    return signed_in(app, OFFICER)


@pytest.fixture
def approver(app):
    return signed_in(app, APPROVER)


def fund_book(db) -> dict:
    with db.read() as connection:
        found = books.list_books(connection, only_party=None, after=0, limit=10)
    return next(b for b in found if b["code"] == "CODI-FUND")


def party_named(db, name_en: str) -> dict:
    with db.read() as connection:
        return next(p for p in books.list_parties(connection, only_party=None, after=0, limit=50)
                    if p["name_en"] == name_en)  # fmt: skip


EVERY_SETTING = {
    "code": "HOUSING-2567", "name_th": "สินเชื่อที่อยู่อาศัยบ้านมั่นคง", "name_en": "Baan Mankong housing loan",
    "min_savings_percent": "12.5", "rate_annual_percent": "3.5", "term_instalments": "24", "repayment_every": "2",
    "repayment_unit": "weeks", "interest_method": "flat", "amortization": "equal_principal",
    "interest_basis": "daily", "day_count": "actual", "rounding": "half_even", "instalment_multiple": "1.00",
    "grace_principal_periods": "2", "grace_interest_periods": "1", "deferred_interest": "first_instalment",
    "interest_free_periods": "1", "arrears_tolerance": "50.00", "overdue_grace_days": "5",
    "penalty_rate_annual_percent": "2", "penalty_from_day": "3", "allocation-1": "interest",
    "allocation-2": "penalty", "allocation-3": "principal", "rate-change-1-on": "01/10/2567",
    "rate-change-1-rate": "3", "rate-change-2-on": "2025-10-01", "rate-change-2-rate": "2.75",
    "account-allowance": "1290", "account-cash": "1100", "preview_amount": "100,000", "preview_on": "14/06/2567",
    "advance_payment": "reduce_instalment",
}  # fmt: skip


def product_form(officer, db, **changes) -> tuple[object, dict]:
    page = officer.get("/office/loan-products/new")
    assert page.status_code == 200
    return page, {**EVERY_SETTING, "book_id": str(fund_book(db)["id"]), "key": key_of(page), **changes}


def all_loans(db) -> list[dict]:
    with db.read() as connection:
        return loans.list_loans(connection, filters={}, only_party=None, after=0, limit=100)


def test_the_officer_menu_and_each_loan_page_answer_in_thai(officer, db):
    expected = {
        "/": ("เงินกู้", "/office/loans", "/office/approvals", "/office/loan-products"),
        "/office/loans": ("วิสาหกิจชุมชนข้าวอินทรีย์เขาดิน", "ศูนย์บ่มเพาะเศรษฐกิจและทุนชุมชนอโรคยศาลา", "กำลังผ่อนชำระ"),
        "/office/loan-products": ("LIVELIHOOD", "สินเชื่อเพื่อการพัฒนาอาชีพ", "4 % ต่อปี"),
        "/office/loan-products/new": ("สร้างประเภทเงินกู้ใหม่", "ตารางผ่อนชำระของเงินกู้ตัวอย่าง", "ลดต้นลดดอก"),
        "/office/loans/new": ("กลุ่มผู้กู้", "เงินออม"),
        "/office/approvals": ("คำขอกู้ที่รออนุมัติ", "สหกรณ์เคหสถานบ้านมั่นคงเก้าเลี้ยว จำกัด"),  # the demo's application
        "/office/loans/1": ("เงินต้นคงค้าง", "ตารางผ่อนชำระ", "ชั้นหนี้", "110,182.01"),
    }
    for path, words in expected.items():
        page = officer.get(path)
        assert page.status_code == 200, path
        for word in words:
            assert word in page.text, (path, word)


def test_a_product_is_made_with_every_setting_as_the_api_makes_it(officer, db):
    page, form = product_form(officer, db)
    made = officer.post("/office/loan-products/new", form, token=csrf_of(page))
    assert made.status_code == 303, made.text
    product_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    again = officer.post("/office/loan-products/new", form, token=csrf_of(page))
    assert again.headers["location"] == made.headers["location"]  # the form sent twice: one product
    with db.read() as connection:
        product = loans.get_product(connection, product_id)
        records = audit_log.list_records(connection, after=0, limit=500)
    terms: LoanTerms = product["terms"]
    assert (terms.rate_annual_percent, terms.term_instalments, terms.repayment_every) == (Decimal("3.5"), 24, 2)
    assert (terms.repayment_unit, terms.interest_method, terms.amortization) == (
        FrequencyUnit.weeks, InterestMethod.flat, Amortization.equal_principal)
    assert (terms.interest_basis, terms.day_count, str(terms.rounding)) == ("daily", DayCount.actual, "half_even")
    assert (terms.instalment_multiple_satang, terms.grace_principal_periods) == (100, 2)
    assert terms.grace_interest_periods == 1
    assert (str(terms.deferred_interest), terms.interest_free_periods, terms.arrears_tolerance_satang) == (
        "first_instalment", 1, 5000)
    assert (terms.overdue_grace_days, terms.penalty_rate_annual_percent, terms.penalty_from_day) == (5, Decimal(2), 3)
    assert terms.allocation_order == (Component.interest, Component.penalty, Component.principal)
    assert terms.advance_payment == "reduce_instalment"
    assert [(c.effective_on, c.rate_annual_percent) for c in terms.rate_changes] == [
        (date(2024, 10, 1), Decimal(3)), (date(2025, 10, 1), Decimal("2.75"))]
    assert (product["code"], product["name_en"], product["min_savings_percent"]) == (
        "HOUSING-2567", "Baan Mankong housing loan", Decimal("12.5"))
    created = [r for r in records if r["action"] == "loan-product.create"]
    assert [(r["actor"], r["outcome"]) for r in created] == [("officer", "ok")]
    shown = officer.get(f"/office/loan-products/{product_id}")
    assert "3.5 % ต่อปี" in shown.text and "2.75 % ต่อปี" in shown.text and "1290" in shown.text
    assert "ลดเงินต้น: ค่างวดลดลง จำนวนงวดเท่าเดิม" in shown.text  # what an advance payment does


def preview_figures(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr><td>(\d+)</td><td><time[^>]*>[^<]*</time></td>(.*?)</tr>", html)
    return [[n, *re.findall(r'<span class="amount">([^<]*)</span>', cells)] for n, cells in rows]


def test_the_preview_is_the_ledgers_schedule_of_the_typed_terms(officer, db):
    page, form = product_form(officer, db)
    fragment = officer.post("/office/loan-products/preview", form, token=csrf_of(page))
    assert fragment.status_code == 200 and "<html" not in fragment.text
    _body, terms, errors = read_terms(typed_fields(form, PRODUCT_FIELDS))
    assert errors == []
    expected = schedule(100_000_00, terms, date(2024, 6, 14))
    assert preview_figures(fragment.text) == [
        [str(i.number), *(format_amount(x, grouped=True) for x in (i.principal_satang, i.interest_satang,
                                                                   i.total_satang, i.outstanding_after_satang))]
        for i in expected.instalments
    ]  # fmt: skip
    assert len(expected.instalments) == 24
    no_js = officer.post("/office/loan-products/new", {**form, "action": "preview"}, token=csrf_of(page))
    assert no_js.status_code == 200 and preview_figures(no_js.text) == preview_figures(fragment.text)


def test_a_refused_product_says_why_beside_the_field_and_keeps_what_was_typed(officer, db):
    page, form = product_form(officer, db, term_instalments="0", grace_principal_periods="2")
    refused = officer.post("/office/loan-products/new", form, token=csrf_of(page))
    assert refused.status_code == 422
    assert re.search(r'id="term_instalments-error">.*ตั้งแต่ 1 ถึง 1,200 งวด', refused.text)
    assert 'value="HOUSING-2567"' in refused.text and 'value="สินเชื่อที่อยู่อาศัยบ้านมั่นคง"' in refused.text
    page, form = product_form(officer, db, code="LIVELIHOOD")
    taken = officer.post("/office/loan-products/new", form, token=csrf_of(page))
    assert taken.status_code == 422 and re.search(r'id="code-error">.*มีประเภทเงินกู้ที่ใช้รหัสนี้แล้ว', taken.text)


def application(officer, db, **changes) -> tuple[object, dict]:
    page = officer.get("/office/loans/new")
    group = party_named(db, "Khao Din Savings Group")
    return page, {"key": key_of(page), "product_id": "1", "borrower_party_id": str(group["id"]),
                  "amount": "150,000", "savings": "5,000", "purpose": "ซ่อมบ้าน", **changes}  # fmt: skip


def test_an_application_short_of_savings_is_refused_beside_the_field_keeping_what_was_typed(officer, db):
    page, form = application(officer, db)
    before = all_loans(db)
    refused = officer.post("/office/loans/new", form, token=csrf_of(page))
    assert refused.status_code == 422
    assert re.search(r'id="savings-error">.*เงินออมของกลุ่มน้อยกว่าสัดส่วน', refused.text)
    assert 'value="150,000"' in refused.text and 'value="5,000"' in refused.text and 'value="ซ่อมบ้าน"' in refused.text
    assert all_loans(db) == before


def test_an_application_may_choose_what_an_advance_payment_does(officer, db):
    page = officer.get("/office/loans/new")
    assert "ตามผลิตภัณฑ์สินเชื่อ" in page.text and "ชำระงวดถัดไปล่วงหน้า ตารางผ่อนชำระคงเดิม" in page.text
    loan_id = record_application(officer, db, advance_payment="hold_credit")
    with db.read() as connection:
        assert loans.get_loan(connection, loan_id)["advance_payment"] == "hold_credit"
    assert loans_of_product_choice(officer, db) is None
    page, form = application(officer, db, savings="15,000", advance_payment="sometimes")
    refused = officer.post("/office/loans/new", form, token=csrf_of(page))
    assert refused.status_code == 422 and 'id="advance_payment-error"' in refused.text


def loans_of_product_choice(officer, db):
    """A loan recorded without a choice of its own: the product's choice applies (None)."""
    loan_id = record_application(officer, db)
    with db.read() as connection:
        return loans.get_loan(connection, loan_id)["advance_payment"]


def test_the_savings_first_check_shows_before_sending(officer, db):
    page, form = application(officer, db)
    short = officer.post("/office/loans/preview", form, token=csrf_of(page))
    assert short.status_code == 200
    assert "15,000.00" in short.text and "10,000.00" in short.text  # 10 % of 150,000 asked, 10,000 short
    enough = officer.post("/office/loans/preview", {**form, "savings": "15,000"}, token=csrf_of(page))
    assert "✓" in enough.text and "15,000.00" in enough.text
    no_js = officer.post("/office/loans/new", {**form, "action": "check"}, token=csrf_of(page))
    assert no_js.status_code == 200 and "10,000.00" in no_js.text


def record_application(browser, db, **changes) -> int:
    page, form = application(browser, db, savings="15,000", **changes)
    recorded = browser.post("/office/loans/new", form, token=csrf_of(page))
    assert recorded.status_code == 303, recorded.text
    return int(recorded.headers["location"].split("/")[-1].split("?")[0])


def test_the_maker_cannot_approve_and_is_told_why_another_approver_approves(app, db):
    admin = signed_in(app, ADMIN)
    loan_id = record_application(admin, db)
    queue = admin.get("/office/approvals")
    assert "คุณเป็นผู้บันทึกคำขอนี้" in queue.text
    assert f'action="/office/loans/{loan_id}/approval"' not in queue.text
    refused = admin.post(f"/office/loans/{loan_id}/approval", {"key": "a" * 32}, token=csrf_of(queue))
    assert refused.status_code == 422 and "คุณเป็นผู้บันทึกคำขอนี้" in refused.text
    approver = signed_in(app, APPROVER)
    queue = approver.get("/office/approvals")
    assert f'action="/office/loans/{loan_id}/approval"' in queue.text
    approved = approver.post(f"/office/loans/{loan_id}/approval", {"key": "b" * 32}, token=csrf_of(queue))
    assert approved.status_code == 303
    with db.read() as connection:
        loan = loans.get_loan(connection, loan_id)
    assert loan["status"] == "approved" and loan["approved_by"] != loan["recorded_by"]


def test_an_officer_sees_why_not_and_a_rejection_needs_a_reason(officer, approver, db):
    loan_id = record_application(officer, db)
    assert "คุณเป็นผู้บันทึกคำขอนี้" in officer.get("/office/approvals").text
    form = approver.get(f"/office/loans/{loan_id}/decision")
    blank = approver.post(f"/office/loans/{loan_id}/rejection", {"reason": " ", "key": key_of(form)},
                          token=csrf_of(form))  # fmt: skip
    assert blank.status_code == 422 and "เขียนเหตุผล" in blank.text
    rejected = approver.post(f"/office/loans/{loan_id}/rejection", {"reason": "เอกสารไม่ครบ", "key": key_of(form)},
                             token=csrf_of(form))  # fmt: skip
    assert rejected.status_code == 303
    with db.read() as connection:
        assert loans.get_loan(connection, loan_id)["status"] == "rejected"


def test_a_loan_is_paid_out_in_two_tranches(officer, approver, db):
    loan_id = record_application(officer, db)
    queue = approver.get("/office/approvals")
    assert approver.post(f"/office/loans/{loan_id}/approval", {}, token=csrf_of(queue)).status_code == 303
    form = officer.get(f"/office/loans/{loan_id}/disburse")
    assert 'value="150,000.00"' in form.text  # what is left to pay out
    too_much = officer.post(f"/office/loans/{loan_id}/disburse", {"amount": "150,000.01",
                            "effective_date": "01/06/2567", "key": key_of(form)}, token=csrf_of(form))  # fmt: skip
    assert too_much.status_code == 422 and 'value="150,000.01"' in too_much.text
    first = officer.post(f"/office/loans/{loan_id}/disburse", {"amount": "100,000", "effective_date": "01/06/2567",
                         "key": key_of(form)}, token=csrf_of(form))  # fmt: skip
    assert first.status_code == 303
    form = officer.get(f"/office/loans/{loan_id}/disburse")
    second = officer.post(f"/office/loans/{loan_id}/disburse", {"amount": "50,000", "effective_date": "14/06/2567",
                          "key": key_of(form)}, token=csrf_of(form))  # fmt: skip
    assert second.status_code == 303
    with db.read() as connection:
        loan = loans.get_loan(connection, loan_id)
        tranches = [r["amount_satang"] for r in loans.transactions(connection, loan)]
        versions = loans.schedule_versions(connection, loan_id)
    assert tranches == [100_000_00, 50_000_00] and len(versions) == 2
    card = officer.get(f"/office/loans/{loan_id}")
    assert "150,000.00" in card.text and f"/office/loans/{loan_id}/disburse" not in card.text


def test_the_card_shows_the_apis_figures_and_schedule(app, officer, db):
    reader = Api(TestClient(app), make_user(db, "reader", "auditor"))
    loan = reader.get("/v1/loans/1").json()
    schedule_ = reader.get("/v1/loans/1/schedule").json()
    card = officer.get("/office/loans/1").text
    figures = loan["figures"]
    for name in ("principal_outstanding", "total_due", "principal_due", "interest_due", "next_due_amount",
                 "total_past_due", "principal_past_due"):
        assert people_amount(int(Decimal(figures[name]) * 100)) in card, name
    assert "ค้างชำระเกินกำหนด (ไม่นับวันนี้)" in card and "ถึงกำหนดชำระ (รวมงวดของวันนี้)" in card
    assert f">{figures['days_past_due']}<" in card and "กล่าวถึงเป็นพิเศษ" in card  # 39 days: special mention
    totals_shown = re.findall(r'<tr class="status-\w+"><td>\d+</td><td><time[^>]*>[^<]*</time></td>(.*?)</tr>', card)
    assert len(totals_shown) == len(schedule_["instalments"])
    for row, instalment in zip(totals_shown, schedule_["instalments"], strict=True):
        amounts = re.findall(r'<span class="amount">([^<]*)</span>', row)
        assert amounts == [people_amount(int(Decimal(instalment[k]) * 100))
                           for k in ("principal", "interest", "total", "unpaid", "outstanding_after")]  # fmt: skip
    statement = reader.get("/v1/loans/1/statement").json()
    assert people_amount(int(Decimal(statement["principal_outstanding"]) * 100)) in card
    repayment = next(line for line in statement["lines"] if line["kind"] == "repayment")
    assert f"/office/loans/1/repayments/{repayment['transaction_id']}/reversal" in card


def test_the_printable_schedule_is_a_thai_pdf_with_the_instalments(officer, db):
    answer = officer.get("/office/loans/1/schedule.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "ตารางผ่อนชำระเงินกู้ สัญญาที่ 1" in text and "ผู้กู้: วิสาหกิจชุมชนข้าวอินทรีย์เขาดิน" in text
    assert "2567" in text  # Buddhist Era dates
    with db.read() as connection:
        plan = loans.state(connection, loans.get_loan(connection, 1)).plan
    for instalment in plan.instalments:
        assert people_amount(instalment.total_satang) in text
        assert people_amount(instalment.outstanding_after_satang) in text


def test_roles_the_api_refuses_are_refused_on_the_pages(app, db):
    enterprise = signed_in(app, ("khaodin-rice", "enterprise-demo"))
    assert enterprise.get("/office/loans").status_code == 403
    approver = signed_in(app, APPROVER)
    assert approver.get("/office/loans/new").status_code == 403
    assert approver.get("/office/loan-products/new").status_code == 403
    officer = signed_in(app, OFFICER)
    page = officer.get("/office/approvals")
    assert officer.post("/office/loans/1/approval", {}, token=csrf_of(page)).status_code == 403


def test_the_list_filters_by_status_borrower_product_and_centre(officer, db):
    centre = party_named(db, "Arokhaya Sala Community Economy Incubation Centre, Khao Din")
    rice = party_named(db, "Khao Din Organic Rice Community Enterprise")
    network = party_named(db, "Northern Community Organisations Network")
    shown = {f"centre={centre['id']}": True, f"centre={network['id']}": False, "status=active": True,
             "status=applied": False, f"borrower={rice['id']}": True, f"borrower={network['id']}": False,
             "product=1": True, "product=1&status=closed": False}  # fmt: skip
    for query, found in shown.items():
        page = officer.get(f"/office/loans?{query}")
        assert page.status_code == 200 and ('href="/office/loans/1"' in page.text) is found, query
    assert officer.get("/office/loans?status=lost").status_code == 422


def test_the_api_lists_loans_by_incubation_centre_as_the_page_does(app, db):
    reader = Api(TestClient(app), make_user(db, "reader", "auditor"))
    centre = party_named(db, "Arokhaya Sala Community Economy Incubation Centre, Khao Din")
    network = party_named(db, "Northern Community Organisations Network")
    with db.read() as connection:
        of_centre = [loan["id"] for loan in all_loans(db)
                     if books.get_party(connection, loan["borrower_party_id"])["centre_id"] == centre["id"]]
    assert of_centre and len(of_centre) < len(all_loans(db))  # the demo has a loan at another centre
    assert [loan["id"] for loan in reader.get("/v1/loans", centre_id=centre["id"]).json()["data"]] == of_centre
    assert reader.get("/v1/loans", centre_id=network["id"]).json()["data"] == []


def test_share_purchases_waiting_for_approval_are_listed_with_the_loans(approver, db, demo):
    with db.write() as connection:
        officer_id = next(u["id"] for u in users.list_users(connection) if u["name"] == "officer")
        share = equity.create_share_class(connection, demo.enterprise_party_id, {
            "code": "PREF", "name_th": "หุ้นบุริมสิทธิ", "par_value_satang": 100_00, "votes_per_share": 1},
            user_id=officer_id, now=NOW)  # fmt: skip
        order = equity.PurchaseOrder(shares=10, price_satang=1_000_00, on=date(2024, 6, 1))
        investment = equity.record_investment(connection, book_id=fund_book(db)["id"],
                                              enterprise_party_id=demo.enterprise_party_id,
                                              share_class_id=share["id"], order=order, today=date(2024, 6, 14),
                                              user_id=officer_id, now=NOW)  # fmt: skip
    queue = approver.get("/office/approvals")
    assert "การซื้อหุ้นที่รออนุมัติ" in queue.text and f'href="/office/investments/{investment["id"]}"' in queue.text


def test_the_schedule_day_asked_for_is_read_as_every_client_date_is(officer):
    """`?schedule_on=` took any ISO date: 0001-01-01 showed a schedule "in force" in the year 1
    and 2567-06-01 (a Buddhist Era year) today's, silently (200 both). Now the one parser of
    client dates refuses them, as it refuses a Unix time, with the page of a request not read."""
    for typed in ("0001-01-01", "2567-06-01", "1717200000"):
        page = officer.get(f"/office/loans/1?schedule_on={typed}")
        assert (page.status_code, "อ่านคำขอไม่ได้" in page.text) == (422, True), typed
    assert officer.get("/office/loans/1?schedule_on=2024-06-01").status_code == 200
