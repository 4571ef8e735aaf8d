"""The fund officer's loans on a desktop (1280 x 900) in real Chromium: the officer makes a loan
product (its instalments appear as the fields change), applies for a loan for a savings group
(the savings-first check shows before sending), is told why they may not approve it; the
approver approves it; the officer pays it out and reads its card and printable schedule."""

import re

from playwright.sync_api import expect

from store.demo import DEMO_PEOPLE
from tests.browser.conftest import check_page
from tests.browser.test_journeys import sign_in

OFFICER = DEMO_PEOPLE[2][0], DEMO_PEOPLE[2][2]
APPROVER = DEMO_PEOPLE[3][0], DEMO_PEOPLE[3][2]


def sign_out(page) -> None:
    page.click("form[action='/signout'] button")


def test_an_officer_makes_a_product_and_a_loan_that_the_approver_approves(desktop):
    page = desktop
    sign_in(page, *OFFICER)
    page.click("main a[href='/office/loan-products']")
    check_page(page, "office-loan-products")
    page.click("main a[href='/office/loan-products/new']")
    page.fill("#code", "HOUSING-2567")
    page.fill("#name_th", "สินเชื่อที่อยู่อาศัยบ้านมั่นคง")
    page.fill("#term_instalments", "")
    page.type("#term_instalments", "6")
    expect(page.locator("#schedule-preview tbody tr")).to_have_count(6)
    page.fill("#rate_annual_percent", "3.5")
    expect(page.locator("#schedule-preview")).to_contain_text("291.67")
    check_page(page, "office-loan-product-new")
    page.click("button[value=save]")
    product_id = re.search(r"/office/loan-products/(\d+)", page.url).group(1)
    assert "บันทึกประเภทเงินกู้แล้ว" in page.inner_text("main")
    check_page(page, "office-loan-product")

    page.goto("/office/loans/new")
    page.select_option("#borrower_party_id", label="กลุ่มออมทรัพย์เพื่อการผลิตบ้านเขาดิน")
    page.select_option("#product_id", value=product_id)
    page.fill("#amount", "200,000")
    page.fill("#savings", "10,000")
    expect(page.locator("#savings-check")).to_contain_text("20,000.00")
    assert "ยังขาดอีก 10,000.00 บาท" in page.inner_text("#savings-check")
    page.fill("#savings", "20,000")
    expect(page.locator("#savings-check")).to_contain_text("✓")
    page.fill("#purpose", "ซ่อมแซมบ้าน 12 หลัง")
    check_page(page, "office-loan-application")
    page.click("button[value=record]")
    loan_id = re.search(r"/office/loans/(\d+)", page.url).group(1)
    assert "บันทึกคำขอกู้แล้ว" in page.inner_text("main")

    page.goto("/office/approvals")
    assert "คุณเป็นผู้บันทึกคำขอนี้" in page.inner_text(f"#refusal-{loan_id}")
    assert page.locator(f"form[action='/office/loans/{loan_id}/approval']").count() == 0
    check_page(page, "office-approvals-maker")
    sign_out(page)

    sign_in(page, *APPROVER)
    page.goto("/office/approvals")
    check_page(page, "office-approvals")
    page.click(f"form[action='/office/loans/{loan_id}/approval'] button")
    assert f"อนุมัติเงินกู้สัญญาที่ {loan_id} แล้ว" in page.inner_text("main")
    sign_out(page)

    sign_in(page, *OFFICER)
    page.goto(f"/office/loans/{loan_id}/disburse")
    page.fill("#amount", "120,000")
    check_page(page, "office-loan-disburse")
    page.click("form.office-form button[type=submit]")
    assert "จ่ายเงินกู้งวดนี้แล้ว" in page.inner_text("main")
    assert page.locator("table.schedule tbody tr").count() == 6
    check_page(page, "office-loan-card")

    page.goto("/office/loans/1")
    assert "กล่าวถึงเป็นพิเศษ" in page.inner_text("main")
    check_page(page, "office-loan", readme=True)
    with page.expect_download() as download:
        page.click("a[href='/office/loans/1/schedule.pdf']")
    assert download.value.suggested_filename.endswith(".pdf")
    page.goto("/office/loans")
    check_page(page, "office-loans")
