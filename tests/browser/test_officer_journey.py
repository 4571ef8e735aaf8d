"""The fund office's day from end to end on a desktop, in real Chromium, each person in their own
browser: an officer registers a savings group, makes a loan product and applies for a loan for
that group under that product, and is refused approving it; an approver approves it; the officer
pays it out (back in February) and records the first instalment, allocated as previewed; the
admin runs close of business twice (the second changes nothing) and finds the loan on the
dashboard in arrears, of the class the ledger gives its days past due; the officer uploads a
sales file with two bad lines and gets exactly those two back; an approver approves an
investment purchase above the threshold. Every page visited passes `check_page`."""

import re
from pathlib import Path

from playwright.sync_api import expect

from ledger.money import format_amount
from store import loans
from store.demo import DEMO_PEOPLE
from tests.browser.conftest import DESKTOP, _browser_page, check_page
from tests.browser.test_journeys import sign_in
from tests.browser.test_office_imports import _enterprise
from tests.browser.test_office_loan_operations import allocation_on, last_repayment
from tests.conftest import FixedClock
from tests.test_web_imports import BAD, GOOD, sales_csv
from web.i18n import translations
from web.routes.office import CLASS_NAMES

PEOPLE = {role: (name, password) for name, role, password in DEMO_PEOPLE}
GROUP = "กลุ่มออมทรัพย์บ้านทุ่งทอง"
PRODUCT = "JOURNEY-2567"
TODAY = FixedClock().today()  # 14 June 2024
PAID_OUT_ON, FIRST_PAID_ON = "01/02/2567", "01/03/2567"  # four months and a half before


def signed_in(chromium, server: str, role: str):
    """A new desktop browser of its own, signed in as the demo's person of `role`."""
    page = next(_browser_page(chromium, server, DESKTOP))
    sign_in(page, *PEOPLE[role])
    check_page(page, f"journey-{role}-menu")
    return page


def test_an_officers_day_from_a_new_group_to_a_loan_in_arrears(chromium, server, db, tmp_path):
    officer = signed_in(chromium, server, "officer")
    register_the_group(officer)
    make_the_product(officer)
    loan_id = apply_for_the_loan(officer)
    is_refused_approving(officer, loan_id)

    approver = signed_in(chromium, server, "approver")
    approves_the_loan(approver, loan_id)

    pays_out_and_records_the_first_instalment(officer, loan_id, db)

    admin = signed_in(chromium, server, "admin")
    closes_the_day_twice(admin)
    finds_the_loan_in_arrears(admin, loan_id, db)

    uploads_sales_with_two_bad_lines(officer, db, tmp_path)
    buys_above_the_threshold(officer)
    approves_the_purchase(approver)
    for page in (officer, approver, admin):
        page.context.close()


def register_the_group(page) -> None:
    page.click("main a[href='/office/parties']")
    check_page(page, "journey-parties")
    page.click("main a[href='/office/parties/new']")
    page.check("input[name=kind][value=savings_group]")
    page.fill("#name_th", GROUP)
    page.select_option("#region", "northeast")
    page.fill("#province", "ขอนแก่น")
    check_page(page, "journey-party-new")
    page.click("form[action='/office/parties/new'] button[type=submit]")
    assert re.search(r"/office/parties/\d+\?saved=1$", page.url)
    assert GROUP in page.inner_text("hgroup")
    check_page(page, "journey-party")


def make_the_product(page) -> None:
    page.goto("/office/loan-products/new")
    page.fill("#code", PRODUCT)
    page.fill("#name_th", "สินเชื่อเพื่อการผลิต 6 งวด")
    page.fill("#term_instalments", "")
    page.type("#term_instalments", "6")
    expect(page.locator("#schedule-preview tbody tr")).to_have_count(6)
    check_page(page, "journey-product-new")
    page.click("button[value=save]")
    assert "บันทึกประเภทเงินกู้แล้ว" in page.inner_text("main")
    check_page(page, "journey-product")


def apply_for_the_loan(page) -> int:
    """For the group just registered, under the product just made: 60,000 baht, which asks the
    group to have saved 10 % of it."""
    page.goto("/office/loans/new")
    page.select_option("#borrower_party_id", label=GROUP)
    product = page.locator("#product_id option", has_text=PRODUCT).get_attribute("value")
    page.select_option("#product_id", product)
    page.fill("#amount", "60,000")
    page.fill("#savings", "5,000")
    expect(page.locator("#savings-check")).to_contain_text("ยังขาดอีก 1,000.00 บาท")
    page.fill("#savings", "6,000")
    expect(page.locator("#savings-check")).to_contain_text("✓")
    page.fill("#purpose", "ทุนหมุนเวียนปลูกผักปลอดสาร")
    check_page(page, "journey-application")
    page.click("button[value=record]")
    assert "บันทึกคำขอกู้แล้ว" in page.inner_text("main")
    assert GROUP in page.inner_text("main") and "สินเชื่อเพื่อการผลิต 6 งวด" in page.inner_text("main")
    check_page(page, "journey-application-recorded")
    return int(re.search(r"/office/loans/(\d+)", page.url).group(1))


def is_refused_approving(page, loan_id: int) -> None:
    """Told why beside the loan, offered no button, and refused by the server when the form is
    sent anyway."""
    page.goto("/office/approvals")
    assert "คุณเป็นผู้บันทึกคำขอนี้" in page.inner_text(f"#refusal-{loan_id}")
    assert page.locator(f"form[action='/office/loans/{loan_id}/approval']").count() == 0
    check_page(page, "journey-approvals-officer")
    with page.expect_navigation() as sent:
        page.evaluate("""loan => {
            const form = document.querySelector("form[action='/signout']").cloneNode(true);
            form.action = `/office/loans/${loan}/approval`;
            document.body.append(form);
            form.submit();
        }""", loan_id)  # fmt: skip
    assert sent.value.status == 403
    check_page(page, "journey-approval-forbidden")
    page.goto(f"/office/loans/{loan_id}")
    assert "รออนุมัติ" in page.inner_text("main")


def approves_the_loan(page, loan_id: int) -> None:
    page.goto("/office/approvals")
    check_page(page, "journey-approvals")
    page.click(f"form[action='/office/loans/{loan_id}/approval'] button")
    assert f"อนุมัติเงินกู้สัญญาที่ {loan_id} แล้ว" in page.inner_text("main")
    check_page(page, "journey-approved")


def pays_out_and_records_the_first_instalment(page, loan_id: int, db) -> None:
    page.goto(f"/office/loans/{loan_id}/disburse")
    assert page.input_value("#amount") == "60,000.00"
    page.fill("#effective_date", PAID_OUT_ON)
    check_page(page, "journey-disburse")
    page.click("form.office-form button[type=submit]")
    assert "จ่ายเงินกู้งวดนี้แล้ว" in page.inner_text("main")
    first = page.locator("table.schedule tbody tr").first.locator("td")
    assert page.locator("table.schedule tbody tr").count() == 6 and first.nth(1).inner_text() == "1 มี.ค. 2567"
    instalment = first.nth(4).inner_text()
    check_page(page, "journey-loan-paid-out")

    page.goto(f"/office/loans/{loan_id}/repayments/new")
    page.fill("#effective_date", FIRST_PAID_ON)
    page.fill("#amount", instalment)
    expect(page.locator("#allocation-total")).to_contain_text(instalment)
    typed_preview = allocation_on(page)
    assert typed_preview["overpayment"] == "0.00" and typed_preview["principal"] != "0.00"
    page.click("button[value=preview]")
    page.wait_for_selector("button[value=save]")
    assert allocation_on(page) == typed_preview
    check_page(page, "journey-repayment-preview")
    page.click("button[value=save]")
    page.wait_for_url(f"**/office/loans/{loan_id}")
    assert last_repayment(db, loan_id) == typed_preview
    check_page(page, "journey-loan-repaid")


def closes_the_day_twice(page) -> None:
    """The admin's close of business for today, run twice: the dashboard's loans in arrears
    the same after each (the second run changed nothing)."""
    page.goto("/office/close-of-business")
    check_page(page, "journey-cob")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=เสร็จแล้ว")
    check_page(page, "journey-cob-done")
    page.goto("/office")
    arrears = page.inner_text("section[aria-labelledby=arrears-heading]")
    page.goto("/office/close-of-business")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=ไม่มีอะไรเปลี่ยน")
    check_page(page, "journey-cob-again")
    page.goto("/office")
    assert page.inner_text("section[aria-labelledby=arrears-heading]") == arrears
    assert "ปิดบัญชีสิ้นวันของวันนี้ทำแล้ว" in page.inner_text("main")
    check_page(page, "journey-dashboard")


def finds_the_loan_in_arrears(page, loan_id: int, db) -> None:
    """The loan's row among the loans in arrears: its days past due and class the ledger's."""
    with db.read() as connection:
        figures = loans.state(connection, loans.get_loan(connection, loan_id)).figures(TODAY)
    assert figures.days_past_due > 30  # the second instalment, of 1 April, unpaid
    row = page.locator("section[aria-labelledby=arrears-heading] tbody tr", has=page.locator(
        f"a[href='/office/loans/{loan_id}']"))  # fmt: skip
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == GROUP
    assert cells[2] == str(figures.days_past_due)
    assert cells[3] == translations("th").gettext(CLASS_NAMES[figures.loan_class])
    assert cells[4] == format_amount(figures.principal_outstanding_satang, grouped=True)


def uploads_sales_with_two_bad_lines(page, db, tmp_path: Path) -> None:
    page.goto("/office/imports")
    check_page(page, "journey-imports")
    market = tmp_path / "market.csv"
    market.write_text(sales_csv(_enterprise(db), [*GOOD[:2], BAD[0], GOOD[2], BAD[1]]))
    page.set_input_files("#file", str(market))
    page.click("form[action='/office/imports'] button[type=submit]")
    page.wait_for_selector("text=นำเข้าเสร็จแล้ว", timeout=20_000)
    page.reload()
    assert page.locator("table.report tbody th[scope=row]").all_inner_texts() == ["4", "6"]
    check_page(page, "journey-import-job")
    with page.expect_download() as download:
        page.click("a[href$='/rejected']")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("\ufeff")  # as every CSV we give out: a spreadsheet reads the Thai reasons
    assert [line.split(",")[0] for line in text[1:].splitlines()] == ["key", BAD[0][0], BAD[1][0]]


def buys_above_the_threshold(page) -> None:
    page.goto("/office/investments")
    check_page(page, "journey-investments")
    page.click("main table a[href^='/office/investments/']")
    check_page(page, "journey-investment")
    page.click("main a[href$='/purchase']")
    page.fill("#shares", "50")
    page.fill("#price", "5,000.00")
    page.fill("#effective_date", "14/06/2567")
    check_page(page, "journey-purchase")
    page.click("main form button[type=submit]")
    assert "รอผู้อนุมัติที่ไม่ใช่คุณ" in page.inner_text("main")
    check_page(page, "journey-purchase-waiting")


def approves_the_purchase(page) -> None:
    page.goto("/office/investments/approvals")
    check_page(page, "journey-purchase-approvals")
    page.click("main form button[type=submit]")
    assert "อนุมัติและลงบัญชีการซื้อหุ้นแล้ว" in page.inner_text("main")
    assert "ไม่มีการซื้อหุ้นที่รออนุมัติ" in page.inner_text("main")
    check_page(page, "journey-purchase-approved")
