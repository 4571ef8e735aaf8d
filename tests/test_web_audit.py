"""The auditor's pages through the real app, over the demo: who may see them, that their figures are
the API's, that the downloads are the API's very bytes, the drill-down from a trial balance line
to the audit record behind it, and the check of a digest written down earlier."""

import re
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from store import audit_log
from store.demo import DEMO_PEOPLE
from tests.conftest import Api, make_user
from tests.test_web_sessions import Browser, person
from web.i18n import translations

AUDITOR = DEMO_PEOPLE[1][0], DEMO_PEOPLE[1][2]
ENTERPRISE = DEMO_PEOPLE[0][0], DEMO_PEOPLE[0][2]
YEAR = 2567
THAI = translations("th")


def shown_text(html: str) -> str:
    """The page's words as a reader sees them, without the elements around them."""
    return re.sub(r"<[^>]+>", "", html)


@pytest.fixture
def auditor(app) -> Browser:
    browser = Browser(app)
    assert browser.sign_in(*AUDITOR).status_code == 303
    return browser


@pytest.fixture
def api_as_auditor(app, db) -> Api:
    return Api(Browser(app).client, make_user(db, "api-auditor", "auditor"))


@pytest.fixture
def fund_book(api_as_auditor) -> int:
    books = api_as_auditor.get("/v1/books").json()["data"]
    return next(b["id"] for b in books if b["kind"] == "fund")


def test_every_page_of_the_auditor_opens_in_thai(auditor, fund_book):
    chosen = f"book_id={fund_book}&fiscal_year={YEAR}"
    for path, words in [
        ("/audit", ["รายได้และค่าใช้จ่ายรายเดือน", "<svg", "ต.ค. 2566"]),
        (f"/audit/trial-balance?{chosen}", ["งบทดลอง", "ณ 14 มิ.ย. 2567", "ณ 14 มิ.ย. 2566"]),
        (f"/audit/financial-position?{chosen}", ["งบแสดงฐานะการเงิน", "รวมสินทรัพย์"]),
        (f"/audit/income-statement?{chosen}", ["งบกำไรขาดทุน", "1 ต.ค. 2566 ถึง 30 ก.ย. 2567"]),
        ("/audit/trail", ["ร่องรอยการตรวจสอบ", "ค่าสรุปที่ควรจดเก็บไว้"]),
    ]:  # fmt: skip
        page = auditor.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        for word in words:
            assert word in page.text or word in shown_text(page.text), (path, word)
    assert "ปีงบประมาณ 2567" in auditor.get("/audit").text


def test_the_home_menu_of_an_auditor_leads_to_the_audit_pages(auditor):
    menu = auditor.get("/").text
    for path in ("/audit", "/audit/trial-balance", "/audit/financial-position", "/audit/income-statement",
                 "/audit/trail"):  # fmt: skip
        assert f'href="{path}"' in menu


@pytest.mark.parametrize(
    "path", ["/audit", "/audit/trial-balance", "/audit/trail", "/audit/entries/1", "/audit/records/1",
             "/audit/accounts/1", "/audit/downloads/trial-balance.csv", "/audit/books/1/export.beancount"],
)  # fmt: skip
def test_an_enterprise_session_is_refused_the_audit_pages(app, path):
    browser = Browser(app)
    browser.sign_in(*ENTERPRISE)
    page = browser.get(path)
    assert page.status_code == 403, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")


def test_without_a_session_the_audit_pages_ask_to_sign_in(app):
    assert Browser(app).get("/audit/trail").headers["location"] == "/signin?next=/audit/trail"


def test_the_trial_balance_is_the_api_s_and_drills_down_to_the_audit_record(auditor, api_as_auditor, fund_book):
    api = api_as_auditor.get("/v1/reports/trial-balance", book_id=fund_book, as_of="2024-06-14").json()
    page = auditor.get(f"/audit/trial-balance?book_id={fund_book}&fiscal_year={YEAR}").text
    cash = next(line for line in api["lines"] if line["code"] == "1100")
    assert f"{float(cash['debit']):,.2f}" in page
    assert f"{float(api['total_debit']):,.2f}" in page
    ledger_path = f"/audit/accounts/{cash['account_id']}?fiscal_year={YEAR}"
    assert ledger_path in page
    ledger = auditor.get(ledger_path)
    assert ledger.status_code == 200 and "ยอดยกมา" in ledger.text
    entry_id = int(re.search(r'href="/audit/entries/(\d+)"', ledger.text).group(1))
    entry = auditor.get(f"/audit/entries/{entry_id}")
    assert entry.status_code == 200 and "ธุรกรรมที่บันทึก" in entry.text
    seq = int(re.search(r'href="/audit/records/(\d+)"', entry.text).group(1))
    record = auditor.get(f"/audit/records/{seq}")
    assert record.status_code == 200
    assert f'href="/audit/entries/{entry_id}"' in record.text  # the record names the entry it wrote
    for words in ("ค่าแฮชก่อนหน้า", "เวลา (กรุงเทพฯ)", "14 มิ.ย. 2567"):
        assert words in shown_text(record.text)
    with auditor.client.app.state.db.read() as connection:
        head = audit_log.digest(connection).seq
    assert f"บันทึกลำดับที่ {seq} จาก {head} ในห่วงโซ่แฮช" in record.text  # its place in the chain


def shown_amount(api_amount: str) -> str:
    """An API amount as the pages print it: grouped, a negative one in parentheses."""
    value = Decimal(api_amount)
    return f"({-value:,.2f})" if value < 0 else f"{value:,.2f}"


def total_row(page: str, label: str) -> tuple[str, str]:
    """The current and the prior figure of a statement's row of totals, as a reader sees them."""
    row = re.search(rf'<th scope="row" colspan="2">{re.escape(THAI.gettext(label))}</th>'
                    r'<td class="num">(.*?)</td><td class="num prior">(.*?)</td>', page)  # fmt: skip
    return tuple(shown_text(re.sub(r'<span class="visually-hidden">.*?</span>', "", cell)) for cell in row.groups())


def test_each_statement_shows_the_year_before_beside_this_one_as_the_api_does(auditor, api_as_auditor, fund_book):
    every_book = [b["id"] for b in api_as_auditor.get("/v1/books").json()["data"]]
    for ids in ([fund_book], every_book):
        consolidated = len(ids) > 1
        books = "&".join(f"book_id={i}" for i in ids)
        for report, dates, headings, totals in [
            ("financial-position", "as_of=2024-06-14", ("ณ 14 มิ.ย. 2567", "ณ 14 มิ.ย. 2566"),
             {"total_assets": "Total assets", "total_liabilities_and_equity": "Total liabilities and equity"}),
            ("income-statement", f"fiscal_year={YEAR}", ("1 ต.ค. 2566 ถึง 30 ก.ย. 2567", "1 ต.ค. 2565 ถึง 30 ก.ย. 2566"),
             {"total_income": "Total income", "total_expenses": "Total expenses", "surplus": "Surplus (deficit)"}),
        ]:  # fmt: skip
            answer = api_as_auditor.client.get(f"/v1/reports/{report}?{books}&{dates}",
                                               headers=api_as_auditor.headers())  # fmt: skip
            assert answer.status_code == 200 and answer.json()["consolidated"] is consolidated, answer.text
            page = auditor.get(f"/audit/{report}?{books}&fiscal_year={YEAR}").text
            columns = [shown_text(h) for h in re.findall(r'<th scope="col" class="num[^"]*">(.*?)</th>', page)]
            assert columns == list(headings)
            assert (THAI.gettext("consolidated, balances between the books eliminated") in page) is consolidated
            for key, label in totals.items():
                figures = answer.json()[key]
                assert total_row(page, label) == (shown_amount(figures["amount"]), shown_amount(figures["prior"]))


def test_an_entry_shows_all_its_postings_its_dimensions_and_the_operation_that_wrote_it(auditor, api_as_auditor,
                                                                                         db):  # fmt: skip
    sales = api_as_auditor.get("/v1/entries", limit=200).json()["data"]
    entry = next(e for e in sales if e["kind"] == "welfare.sale" and len(e["dimensions"]) > 1)
    page = auditor.get(f"/audit/entries/{entry['id']}").text
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>.*?<td class=\"num\">(.*?)</td>\s*<td class=\"num\">(.*?)</td>",
                      re.search(r"<tbody>.*?</tbody>", page, re.S).group(0), re.S)  # fmt: skip
    shown = [(code, shown_text(debit).strip(), shown_text(credit).strip()) for code, debit, credit in rows]
    expected = [(p["account_code"], shown_amount(p["amount"]) if Decimal(p["amount"]) > 0 else "",
                 shown_amount(str(-Decimal(p["amount"]))) if Decimal(p["amount"]) < 0 else "")
                for p in entry["postings"]]  # fmt: skip
    assert shown == expected
    facts = shown_text(re.search(r'<dl class="facts">.*?</dl>', page, re.S).group(0))
    assert entry["kind"] in facts and entry["description"] in facts
    for name, value in entry["dimensions"].items():
        assert f"{name}: {value}" in facts
    with db.read() as connection:
        records = audit_log.records_writing(connection, entry["id"])
    assert records and all(f'href="/audit/records/{r["seq"]}"' in page for r in records)


def test_an_entry_finds_only_the_records_that_name_it(db, demo):
    with db.read() as connection:
        records = audit_log.list_records(connection, after=0, limit=1000)
        for entry_id in {e for r in records for e in r["entry_ids"]}:
            found = audit_log.records_writing(connection, entry_id)
            assert found and all(entry_id in r["entry_ids"] for r in found)
        assert audit_log.records_writing(connection, 10**9) == []


@pytest.mark.parametrize("report", ["trial-balance", "financial-position", "income-statement"])
@pytest.mark.parametrize("format", ["pdf", "xlsx", "csv"])
def test_a_download_is_the_api_s_answer(auditor, api_as_auditor, fund_book, report, format):
    dates = {"as_of": "2024-06-14"} if report != "income-statement" else {"fiscal_year": YEAR}
    api = api_as_auditor.get(f"/v1/reports/{report}", book_id=fund_book, format=format, lang="th", **dates)
    page = auditor.get(f"/audit/downloads/{report}.{format}?book_id={fund_book}&fiscal_year={YEAR}")
    assert api.status_code == page.status_code == 200
    if format == "pdf":  # fpdf stamps the second it made the file, and its ID is a hash of that
        assert _without_dates(page.content) == _without_dates(api.content)
    elif format == "xlsx":  # openpyxl stamps the second it saved the file, in its properties and zip
        assert _cells(page.content) == _cells(api.content)
    else:
        assert page.content == api.content
    assert page.headers["content-type"] == api.headers["content-type"]
    assert page.headers["content-disposition"] == api.headers["content-disposition"]


def _cells(xlsx: bytes) -> list:
    """Every sheet's name and every cell's value, type and number format."""
    book = load_workbook(BytesIO(xlsx))
    return [(sheet.title, [[(c.value, c.data_type, c.number_format) for c in row] for row in sheet.iter_rows()])
            for sheet in book.worksheets]  # fmt: skip


def _without_dates(pdf: bytes) -> bytes:
    return re.sub(rb"/CreationDate \(D:[^)]*\)|/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"", pdf)


def test_a_consolidated_download_and_the_general_ledger_of_an_account_are_the_api_s(auditor, api_as_auditor):
    ids = [b["id"] for b in api_as_auditor.get("/v1/books").json()["data"]]
    query = "&".join(f"book_id={i}" for i in ids)
    api = api_as_auditor.client.get(f"/v1/reports/trial-balance?{query}&as_of=2024-06-14&format=csv&lang=th",
                                    headers=api_as_auditor.headers())  # fmt: skip
    page = auditor.get(f"/audit/downloads/trial-balance.csv?{query}&fiscal_year={YEAR}")
    assert page.content == api.content and len(ids) > 1
    consolidated = auditor.get(f"/audit/trial-balance?{query}&fiscal_year={YEAR}").text
    assert "งบรวม" in consolidated
    gl_api = api_as_auditor.get("/v1/reports/general-ledger", book_id=ids[0], account_id=2, fiscal_year=YEAR,
                                format="xlsx", lang="th")  # fmt: skip
    gl_page = auditor.get(f"/audit/downloads/general-ledger.xlsx?book_id={ids[0]}&account_id=2&fiscal_year={YEAR}")
    assert _cells(gl_page.content) == _cells(gl_api.content)  # openpyxl stamps the second it saved
    assert gl_page.headers["content-disposition"] == gl_api.headers["content-disposition"]


def test_the_xlsx_download_holds_the_trial_balance_figures(auditor, api_as_auditor, fund_book):
    api = api_as_auditor.get("/v1/reports/trial-balance", book_id=fund_book, as_of="2024-06-14").json()
    book = load_workbook(BytesIO(auditor.get(f"/audit/downloads/trial-balance.xlsx?book_id={fund_book}").content))
    rows = list(book.active.iter_rows(values_only=True))
    cash = next(row for row in rows if row[0] == "1100")
    assert f"{cash[2]:.2f}" == next(line["debit"] for line in api["lines"] if line["code"] == "1100")


def test_the_book_s_beancount_is_the_api_s_export(auditor, api_as_auditor, fund_book):
    api = api_as_auditor.get(f"/v1/books/{fund_book}/export", format="beancount")
    page = auditor.get(f"/audit/books/{fund_book}/export.beancount")
    assert page.status_code == 200 and page.content == api.content and b"open" in page.content


def test_the_income_statement_and_the_chart_show_the_same_year(auditor, api_as_auditor, fund_book):
    api = api_as_auditor.get("/v1/reports/income-statement", book_id=fund_book, fiscal_year=YEAR).json()
    page = auditor.get(f"/audit/income-statement?book_id={fund_book}&fiscal_year={YEAR}").text
    overview = auditor.get(f"/audit?book_id={fund_book}&fiscal_year={YEAR}").text
    for total in (api["total_income"]["amount"], api["total_expenses"]["amount"]):
        assert f"{float(total):,.2f}" in page
        assert f"{float(total):,.2f}" in overview  # the chart's table adds up to the statement
    assert overview.count("<rect ") == 24  # twelve months, income and expenses
    assert overview.count('<rect class="bar-income"') == overview.count('<rect class="bar-expenses"') == 12


def test_the_digest_check_says_whether_the_chain_holds(auditor):
    page = auditor.get("/audit/trail").text
    seq = int(re.search(r'class="digest-seq">(\d+)<', page).group(1))
    groups = re.search(r'class="digest-hash"><code class="hash">(.*?)</code>', page).group(1)
    written_down = " ".join(re.findall(r"<span>([0-9a-f]{8})</span>", groups))
    assert len(written_down) == 64 + 7
    holds = auditor.get("/audit/trail", params={"seq": seq, "hash": written_down.upper()})
    assert holds.status_code == 200 and "ห่วงโซ่ยังสมบูรณ์" in holds.text and "✓" in holds.text
    tampered = written_down[:-1] + ("0" if written_down[-1] != "0" else "1")
    refused = auditor.get("/audit/trail", params={"seq": seq, "hash": tampered})
    assert "ห่วงโซ่ไม่สมบูรณ์" in refused.text and "✗" in refused.text


def test_a_digest_typed_wrong_is_answered_beside_its_fields(auditor):
    page = auditor.get("/audit/trail", params={"seq": "twelve", "hash": "abc"})
    assert page.status_code == 422
    assert "กรอกลำดับที่เป็นจำนวนเต็ม" in page.text and "กรอกตัวอักษรและตัวเลข 64 ตัว" in page.text
    assert 'value="twelve"' in page.text  # what was typed is kept


def test_the_recent_records_are_paged(auditor, db):
    with db.read() as connection:
        head = audit_log.digest(connection).seq
    first = auditor.get("/audit/trail").text
    assert f'href="/audit/records/{head}"' in first
    older = re.search(r'href="/audit/trail\?before=(\d+)"', first)
    if head > 25:
        second = auditor.get(f"/audit/trail?before={older.group(1)}").text
        assert f'href="/audit/records/{int(older.group(1)) - 1}"' in second
    else:
        assert older is None


def test_an_admin_may_open_the_audit_pages_too_and_english_is_one_click_away(app, db):
    person(db, "second-admin", role="admin")
    browser = Browser(app)
    browser.sign_in("second-admin")
    assert browser.get("/audit/trail").status_code == 200
    browser.post("/language", {"language": "en", "next": "/audit"}, form_page="/audit")
    overview = browser.get("/audit").text
    assert "Income and expenses by month" in overview and "Oct 2023" in overview
