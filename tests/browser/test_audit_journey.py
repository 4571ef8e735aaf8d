"""The auditor's journey on a desktop (1280 x 900) in real Chromium: sign in, the trial balance of
fiscal year 2567, drill down from a line to the account's ledger, an entry and the audit record
that wrote it, download the XLSX and read a figure back, and check the digest of the trail."""

from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook

from store.demo import DEMO_PEOPLE
from tests.browser.conftest import check_page
from tests.browser.test_journeys import sign_in

AUDITOR = DEMO_PEOPLE[1][0], DEMO_PEOPLE[1][2]


def test_an_auditor_drills_from_the_trial_balance_to_the_audit_record_and_checks_the_digest(desktop):
    page = desktop
    sign_in(page, *AUDITOR)
    page.click("main a[href='/audit/trial-balance']")
    page.select_option("#fiscal_year", "2567")
    page.click("form.picker button[type=submit]")
    assert "ปีงบประมาณ 2567" in page.inner_text("main hgroup")
    assert "ณ 14 มิ.ย. 2567" in page.inner_text("table.report thead")
    cash_debit = page.inner_text("tr:has(td:text-is('1100')) td:nth-child(3)")
    assert cash_debit.strip()
    assert page.evaluate("getComputedStyle(document.querySelector('td.num')).textAlign") == "right"
    check_page(page, "audit-trial-balance", readme=True)

    page.click("tr:has(td:text-is('1100')) td.account a")
    assert "/audit/accounts/" in page.url and "บัญชีแยกประเภททั่วไป" in page.inner_text("h1")
    check_page(page, "audit-ledger")

    page.click("table.report tbody a[href^='/audit/entries/']")
    assert "/audit/entries/" in page.url and "ธุรกรรมที่บันทึก" in page.inner_text("main")
    check_page(page, "audit-entry")

    page.click("a[href^='/audit/records/']")
    assert "/audit/records/" in page.url
    facts = page.inner_text("dl.facts")
    assert "ค่าแฮชก่อนหน้า" in facts and "2567" in facts
    check_page(page, "audit-record")

    page.go_back()
    page.go_back()
    page.go_back()
    with page.expect_download() as download:
        page.click(".downloads a[href*='trial-balance.xlsx']")
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(BytesIO(Path(download.value.path()).read_bytes())).active
    cash = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "1100")
    assert f"{cash[2]:,.2f}" == cash_debit.strip()

    page.click(".audit-nav a[href='/audit/trail']")
    seq = page.inner_text(".digest-seq").strip()
    written_down = page.inner_text(".digest-hash").strip()
    assert len(written_down.split()) == 8
    check_page(page, "audit-trail")
    page.fill("#seq", seq)
    page.fill("#hash", written_down)
    page.click("form[action='/audit/trail'] button[type=submit]")
    assert "ห่วงโซ่ยังสมบูรณ์" in page.inner_text(".verdict") and "✓" in page.inner_text(".verdict")
    check_page(page, "audit-trail-holds")
    page.fill("#hash", written_down.replace(written_down[-1], "0" if written_down[-1] != "0" else "1"))
    page.click("form[action='/audit/trail'] button[type=submit]")
    assert "ห่วงโซ่ไม่สมบูรณ์" in page.inner_text(".verdict")
    check_page(page, "audit-trail-does-not-hold")

    page.click(".audit-nav a[href='/audit']")
    assert page.locator("figure.chart svg rect").count() == 24
    check_page(page, "audit-overview")
