"""The enterprise's pages through the real app, on the demo: recording a sale (the check step's
contribution is the one recorded, a form sent twice is one sale), the sales by month and their
reversal, the statement and its downloads (the API's own files), the loan and the shares; and
the API's access rule on every page (another enterprise's is 404, a role reads what it may)."""

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from store import audit_log, books, loans, welfare
from tests.conftest import NOW
from tests.test_web_sessions import Browser, csrf_of, person
from tests.web_helpers import key_of

ENTERPRISE = ("khaodin-rice", "enterprise-demo")


@pytest.fixture
def rice(app):
    """The demo enterprise's person, signed in."""
    browser = Browser(app)
    assert browser.sign_in(*ENTERPRISE).status_code == 303
    return browser


def signed_in(app, db, name: str, role: str, party_id: int | None = None) -> Browser:
    person(db, name, role, party_id)
    browser = Browser(app)
    assert browser.sign_in(name).status_code == 303
    return browser


def cash_account(db, party_id: int) -> dict:
    with db.read() as connection:
        book = welfare.enterprise_book(connection, party_id)
        return next(a for a in books.book_accounts(connection, book["id"]) if a["code"] == "1100")


def sales_of(db, party_id: int) -> list[dict]:
    with db.read() as connection:
        filters = {"enterprise_party_id": party_id}
        return welfare.list_sales(connection, filters=filters, only_party=None, after=0, limit=100)


def sale_form(page, **fields) -> dict:
    return {"key": key_of(page), "amount": "1,500.00", "channel": "market", "sold_on": "13/06/2567", **fields}


def test_each_page_of_the_enterprise_answers_in_thai(rice, demo, db):
    expected = {
        "/sales": ("รายการขาย", "ข้าวหอมมะลิอินทรีย์", "เงินสมทบ <span class=\"amount\">248.00</span> บาท", "บันทึกการขาย"),
        "/sales/new": ("ยอดขาย (บาท)", "ขายที่ตลาดหรืองานออกร้าน", "14/06/2567"),
        "/statement": ("1100", "ยอดยกมา", "ยอดยกไป", "ปีงบประมาณ 2567", "ไฟล์ PDF"),
        "/loan": ("ยอดเงินกู้คงค้าง", "110,182.01", "เลยกำหนด 39 วัน", "จ่ายแล้ว", "ยังไม่ถึงกำหนด"),
        "/shares": ("200 หุ้น (40.00 % ของทุน)", "167.13", "เงินปันผลที่ประกาศจ่าย"),
    }
    for path, words in expected.items():
        page = rice.get(path)
        assert page.status_code == 200, path
        for word in words:
            assert word in page.text, (path, word)


def test_the_loan_schedule_marks_each_instalment_paid_due_or_late_as_the_api_s_schedule_says(rice, demo, db, app):
    with db.read() as connection:
        [loan] = loans.list_loans(connection, filters={}, only_party=demo.enterprise_party_id, after=0, limit=1)
    schedule = TestClient(app).get(f"/v1/loans/{loan['id']}/schedule",
                                   headers={"Authorization": f"Bearer {demo.admin_token}"}).json()  # fmt: skip
    statuses = [i["status"] for i in schedule["instalments"]]
    assert {"paid", "overdue", "upcoming"} <= set(statuses)  # the demo's loan is 39 days late
    marked = re.findall(r'<li class="row status-(\w+)">.*?<span class="status"><span[^>]*>[^<]*</span> ([^<]+)</span>',
                        rice.get("/loan").text, re.S)  # fmt: skip
    assert [status for status, _ in marked] == statuses
    words = {"paid": "จ่ายแล้ว", "overdue": "ค้างชำระ", "due": "ครบกำหนดวันนี้", "upcoming": "ยังไม่ถึงกำหนด"}
    assert [words[status] for status, _ in marked] == [shown.strip() for _, shown in marked]


def test_the_check_step_shows_what_was_understood_and_the_contribution_that_is_then_recorded(rice, demo, db):
    form = rice.get("/sales/new")
    check = rice.post("/sales/new", sale_form(form), token=csrf_of(form))
    assert check.status_code == 200
    assert "13 มิ.ย. 2567</time> = 2024-06-13" in check.text and "1,500.00" in check.text
    preview = re.search(r'id="contribution"><span class="amount">([0-9,.]+)</span>', check.text).group(1)
    assert preview == "30.00" and len(sales_of(db, demo.enterprise_party_id)) == 4  # nothing written yet
    saved = rice.post("/sales/save", sale_form(form), token=csrf_of(form))
    assert saved.status_code == 303
    recorded = sales_of(db, demo.enterprise_party_id)[-1]
    assert (recorded["amount_satang"], recorded["contribution_satang"]) == (1_500_00, 30_00)
    assert saved.headers["location"] == f"/sales/{recorded['id']}?saved=1"
    shown = rice.get(saved.headers["location"])
    assert "บันทึกการขายแล้ว" in shown.text and f'id="contribution"><span class="amount">{preview}' in shown.text


def test_a_form_sent_twice_records_one_sale_and_its_key_cannot_record_another(rice, demo, db):
    form = rice.get("/sales/new")
    first = rice.post("/sales/save", sale_form(form), token=csrf_of(form))
    again = rice.post("/sales/save", sale_form(form), token=csrf_of(form))
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(sales_of(db, demo.enterprise_party_id)) == 5
    changed = rice.post("/sales/save", sale_form(form, amount="1600"), token=csrf_of(form))
    assert changed.status_code == 409 and "แบบฟอร์มนี้บันทึกไปแล้ว" in changed.text
    assert len(sales_of(db, demo.enterprise_party_id)) == 5
    with db.read() as connection:
        records = audit_log.list_records(connection, after=0, limit=500)
    assert [(r["actor"], r["outcome"]) for r in records if r["action"] == "sale.record"] == [
        ("khaodin-rice", "ok"), ("khaodin-rice", "refused: idempotency_key_reused")]  # under the person who signed in


def test_product_lines_are_recorded_with_the_sale_and_must_add_up(rice, demo, db):
    form = rice.get("/sales/new")
    lines = {"line-1-product": "ข้าวกล้อง", "line-1-quantity": "10", "line-1-amount": "1000",
             "line-2-product": "ข้าวหอมมะลิ", "line-2-quantity": "5", "line-2-amount": "500"}  # fmt: skip
    wrong = rice.post("/sales/new", sale_form(form, **{**lines, "line-2-amount": "400"}), token=csrf_of(form))
    assert wrong.status_code == 422 and "สินค้ารวมกันได้ 1,400.00 บาท" in wrong.text
    assert rice.post("/sales/save", sale_form(form, **lines), token=csrf_of(form)).status_code == 303
    recorded = sales_of(db, demo.enterprise_party_id)[-1]
    assert recorded["lines"] == [{"product": "ข้าวกล้อง", "quantity": 10, "amount_satang": 1_000_00},
                                 {"product": "ข้าวหอมมะลิ", "quantity": 5, "amount_satang": 500_00}]  # fmt: skip


def test_what_could_not_be_read_is_said_at_the_top_and_beside_the_field_keeping_what_was_typed(rice, demo, db):
    form = rice.get("/sales/new")
    refused = rice.post("/sales/new", sale_form(form, amount="15OO", sold_on="30/06/2024"), token=csrf_of(form))
    assert refused.status_code == 422
    assert 'class="error-summary"' in refused.text and 'href="#amount"' in refused.text
    assert 'id="amount-error"' in refused.text and 'value="15OO"' in refused.text
    assert "30/06/2567" in refused.text  # the Buddhist Era date it probably meant
    online = rice.post("/sales/new", sale_form(form, channel="online_shop"), token=csrf_of(form))
    assert online.status_code == 422 and "ยังไม่มีข้อตกลงเงินสมทบ" in online.text  # no rule for that channel
    ahead = rice.post("/sales/new", sale_form(form, sold_on="2024-06-15"), token=csrf_of(form))
    assert ahead.status_code == 422 and "วันที่ขายต้องไม่เลยวันนี้" in ahead.text
    assert len(sales_of(db, demo.enterprise_party_id)) == 4


def test_the_sales_are_listed_by_month_a_page_at_a_time(rice, demo, db):
    june = rice.get("/sales?month=2024-06")
    assert "มิ.ย. 2567" in june.text and "15,300.00" in june.text and "12,400.00" not in june.text
    first = rice.get("/sales?limit=2")
    assert first.text.count('class="row"') == 2
    more = re.search(r'href="(/sales\?[^"]*cursor=[^"]+)"', first.text).group(1).replace("&amp;", "&")
    rest = rice.get(more + "&limit=2")
    assert rest.status_code == 200 and rest.text.count('class="row"') == 2


def test_the_chart_and_its_table_show_the_sales_summary_by_month(rice, demo, db):
    page = rice.get("/sales")
    assert page.text.count('<svg viewBox="0 0 360 200" role="img"') == 2  # sales, contributions: each its scale
    assert "<title id=\"chart-sales-title\">ยอดขายรายเดือน ปีงบประมาณ 2567" in page.text
    assert '<title id="chart-contributions-title">เงินสมทบกองทุนสวัสดิการรายเดือน ปีงบประมาณ 2567' in page.text
    assert page.text.count('class="bar-sales"') == page.text.count('class="bar-contributions"') == 9  # Oct-Jun
    assert page.text.count('class="grid"') == 12  # 0 to 25,000 by 5,000 (21,150 in May); 0 to 500 by 100
    assert ">25,000</text>" in page.text and ">500</text>" in page.text
    with db.read() as connection:
        june = welfare.enterprise_summary(connection, demo.enterprise_party_id, NOW.date().replace(day=1), NOW.date())
    sales, contributions = june["by_fund"][0]["sales_satang"], june["by_fund"][0]["contributions_satang"]
    assert (sales, contributions) == (15_300_00, 306_00)
    assert re.search(r'มิ.ย. 2567</th><td class="number"><span class="amount">15,300.00</span></td>'
                     r'<td class="number"><span class="amount">306.00</span>', page.text)  # fmt: skip


def test_a_mistaken_sale_is_reversed_after_a_confirmation_with_a_reason_once_and_audited(rice, demo, db):
    sale = sales_of(db, demo.enterprise_party_id)[-1]
    assert f'href="/sales/{sale["id"]}/reversal"' in rice.get(f"/sales/{sale['id']}").text
    confirm = rice.get(f"/sales/{sale['id']}/reversal")
    assert "ยกเลิกแล้วเอากลับคืนไม่ได้" in confirm.text
    path, key = f"/sales/{sale['id']}/reversal", key_of(confirm)
    no_reason = rice.post(path, {"key": key, "reason": " "}, token=csrf_of(confirm))
    assert no_reason.status_code == 422 and "กรอกเหตุผลที่ยกเลิก" in no_reason.text
    for _ in range(2):
        done = rice.post(path, {"key": key, "reason": "บันทึกซ้ำ"}, token=csrf_of(confirm))
        assert (done.status_code, done.headers["location"]) == (303, f"/sales/{sale['id']}?reversed=1")
    assert sales_of(db, demo.enterprise_party_id)[-1]["reversal"]["effective_date"] == NOW.date()
    with db.read() as connection:
        records = audit_log.list_records(connection, after=0, limit=500)
    assert [(r["actor"], r["outcome"]) for r in records if r["action"] == "sale.reverse"] == [("khaodin-rice", "ok")]
    shown = rice.get(f"/sales/{sale['id']}?reversed=1")
    assert "ยกเลิกรายการขายแล้ว" in shown.text and "/reversal" not in shown.text


def test_the_downloads_are_the_apis_own_statement(rice, demo, db, app):
    cash = cash_account(db, demo.enterprise_party_id)
    query = f"account={cash['id']}&year=2567"
    page = rice.get(f"/statement?{query}")
    assert page.status_code == 200 and "15,300.00" in page.text
    api = TestClient(app)
    headers = {"Authorization": f"Bearer {demo.admin_token}"}
    for format in ("pdf", "xlsx"):
        mine = rice.get(f"/statement/download?{query}&format={format}")
        theirs = api.get(f"/v1/accounts/{cash['id']}/statement?from=2023-10-01&to=2024-09-30&format={format}&lang=th",
                         headers=headers)  # fmt: skip
        assert mine.status_code == theirs.status_code == 200
        assert mine.headers["content-type"] == theirs.headers["content-type"]
        assert mine.headers["content-disposition"] == theirs.headers["content-disposition"] == (
            f'attachment; filename="statement-1100-2023-10-01-2024-09-30.{format}"')
        assert content(format, mine.content) == content(format, theirs.content)
    assert "15,300.00" in content("pdf", rice.get(f"/statement/download?{query}&format=pdf").content)


def content(format: str, body: bytes):
    """What a file says, without the moment it was made."""
    if format == "pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    return [[cell.value for cell in row] for row in load_workbook(io.BytesIO(body)).active.iter_rows()]


def test_a_statement_for_dates_typed_either_way(rice, demo, db):
    cash = cash_account(db, demo.enterprise_party_id)
    page = rice.get(f"/statement?account={cash['id']}&date_from=01/06/2567&date_to=2024-06-14")
    assert page.status_code == 200 and "ตั้งแต่ <time" in page.text and "15,300.00" in page.text
    assert "12,400.00" not in page.text  # sold in May
    backwards = rice.get(f"/statement?account={cash['id']}&date_from=14/06/2567&date_to=01/06/2567")
    assert backwards.status_code == 422 and "วันสุดท้ายต้องไม่อยู่ก่อนวันแรก" in backwards.text


def test_another_enterprises_pages_are_not_found_by_editing_the_url(app, db, demo):
    with db.write() as connection:
        other = books.create_party(connection, {"kind": "community_enterprise", "name_th": "วิสาหกิจอื่น"}, now=NOW)
        [loan] = loans.list_loans(connection, filters={}, only_party=demo.enterprise_party_id, after=0, limit=1)
    stranger = signed_in(app, db, "other-enterprise", "enterprise", other["id"])
    theirs = demo.enterprise_party_id
    sale = sales_of(db, theirs)[-1]
    cash = cash_account(db, theirs)
    for path in (f"/statement?account={cash['id']}", f"/statement/download?account={cash['id']}&format=pdf",
                 f"/loans/{loan['id']}", f"/sales/{sale['id']}", f"/sales/{sale['id']}/reversal",
                 f"/sales?enterprise={theirs}", f"/loan?enterprise={theirs}", f"/shares?enterprise={theirs}",
                 f"/statement?enterprise={theirs}", f"/sales/new?enterprise={theirs}"):  # fmt: skip
        page = stranger.get(path)
        assert page.status_code == 404 and "ไม่พบหน้านี้" in page.text, path
    form = stranger.get("/password")
    reversal = stranger.post(f"/sales/{sale['id']}/reversal", {"key": "k" * 32, "reason": "x"}, token=csrf_of(form))
    assert reversal.status_code == 404 and sales_of(db, theirs)[-1]["reversal"] is None
    sale_fields = {"key": "k" * 32, "amount": "1", "channel": "market", "sold_on": "2024-06-01"}
    save = stranger.post(f"/sales/save?enterprise={theirs}", sale_fields, token=csrf_of(form))
    assert save.status_code == 404 and len(sales_of(db, theirs)) == 4


def test_an_auditor_reads_the_enterprises_pages_and_records_nothing(app, db, demo):
    auditor = signed_in(app, db, "somchai", "auditor")
    theirs = demo.enterprise_party_id
    for path in (f"/sales?enterprise={theirs}", f"/statement?enterprise={theirs}", f"/loan?enterprise={theirs}",
                 f"/shares?enterprise={theirs}", f"/enterprises/{theirs}", f"/sales/{sales_of(db, theirs)[0]['id']}"):
        page = auditor.get(path)
        assert page.status_code == 200, path
        assert "/sales/new" not in page.text and "/reversal" not in page.text, path
    assert f'href="/sales?enterprise={theirs}"' in auditor.get(f"/enterprises/{theirs}").text
    assert auditor.get(f"/sales/new?enterprise={theirs}").status_code == 403
    assert auditor.get("/sales").status_code == 404  # which enterprise?


def test_an_officer_records_a_sale_for_an_enterprise(app, db, demo):
    officer = signed_in(app, db, "malee", "officer")
    theirs = demo.enterprise_party_id
    form = officer.get(f"/sales/new?enterprise={theirs}")
    assert f'action="/sales/new?enterprise={theirs}"' in form.text
    check = officer.post(f"/sales/new?enterprise={theirs}", sale_form(form), token=csrf_of(form))
    assert f'action="/sales/save?enterprise={theirs}"' in check.text
    assert officer.post(f"/sales/save?enterprise={theirs}", sale_form(form), token=csrf_of(form)).status_code == 303
    assert sales_of(db, theirs)[-1]["recorded_by"] != sales_of(db, theirs)[0]["recorded_by"]
