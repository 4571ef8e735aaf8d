"""A fund officer's loan operations on a desktop, in real Chromium, on the demo's loan to the rice
enterprise (an instalment late): the allocation appears as the officer types and is the one
recorded; every operation's page (and its check step) passes axe-core, once at 360 px too."""

from playwright.sync_api import expect

from ledger.money import format_amount
from store import books, loans
from tests.browser.conftest import PHONE, check_page
from tests.browser.test_journeys import sign_in

OFFICER = ("officer", "officer-demo")  # store.demo.DEMO_PEOPLE
APPROVER = ("approver", "approver-demo")
PARTS = ("penalty", "interest", "principal", "overpayment")


def demo_loan(db) -> int:
    """The demo's loan to the rice enterprise (its other loans are to the housing groups)."""
    with db.read() as connection:
        active = loans.list_loans(connection, filters={"status": "active"}, only_party=None, after=0, limit=10)
        [loan] = [loan for loan in active
                  if books.get_party(connection, loan["borrower_party_id"])["kind"] == "community_enterprise"]
    return loan["id"]


def allocation_on(page) -> dict[str, str]:
    return {part: page.inner_text(f"#allocation-{part}") for part in PARTS}


def last_repayment(db, loan_id: int) -> dict[str, str]:
    with db.read() as connection:
        row = loans.state(connection, loans.get_loan(connection, loan_id)).rows[-1]
    assert row["kind"] == "repayment"
    return {part: format_amount(row[f"{part}_satang"], grouped=True) for part in PARTS}


def test_an_officer_records_a_repayment_as_previewed(desktop, db):
    loan_id = demo_loan(db)
    sign_in(desktop, *OFFICER)
    desktop.goto(f"/office/loans/{loan_id}/repayments/new")
    assert "เลยกำหนด 39 วัน" in desktop.inner_text(".loan-summary")
    check_page(desktop, "office-repayment-new")
    desktop.fill("#amount", "12,000")
    desktop.wait_for_selector("#allocation-principal")  # as typed, before any button
    typed_preview = allocation_on(desktop)
    assert typed_preview["overpayment"] == "0.00" and typed_preview["interest"] != "0.00"
    within_dues = typed_preview
    desktop.fill("#amount", "25,000")
    expect(desktop.locator("#allocation-total")).to_contain_text("25,000.00")
    typed_preview = allocation_on(desktop)
    # beyond what is due: an advance of principal (the product reduces the term), not an overpayment
    assert typed_preview["overpayment"] == "0.00" and typed_preview["principal"] != within_dues["principal"]
    desktop.click("button[value=preview]")
    desktop.wait_for_selector("button[value=save]")
    assert allocation_on(desktop) == typed_preview
    check_page(desktop, "office-repayment-preview")
    desktop.set_viewport_size(PHONE)
    assert desktop.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    check_page(desktop, "office-repayment-preview-phone")
    desktop.set_viewport_size({"width": 1280, "height": 900})
    desktop.click("button[value=save]")
    desktop.wait_for_url(f"**/office/loans/{loan_id}")
    assert last_repayment(db, loan_id) == typed_preview


def test_each_operation_page_passes_its_checks(desktop, db):
    loan_id = demo_loan(db)
    with db.read() as connection:
        rows = loans.state(connection, loans.get_loan(connection, loan_id)).rows
        repayment = [row for row in rows if row["kind"] == "repayment"][-1]["id"]
    sign_in(desktop, *OFFICER)
    desktop.goto(f"/office/loans/{loan_id}/repayments/{repayment}/reversal")
    check_page(desktop, "office-repayment-reversal")
    desktop.click("form[action$=reversal] button[type=submit]")  # no reason: refused beside the field
    assert desktop.locator("#reason-error").count() == 1
    check_page(desktop, "office-repayment-reversal-refused")
    for slug in ("recovery", "refund"):
        desktop.goto(f"/office/loans/{loan_id}/{slug}")
        check_page(desktop, f"office-{slug}")
    desktop.goto(f"/office/loans/{loan_id}/reschedule")
    check_page(desktop, "office-reschedule")
    desktop.fill("#extra_instalments", "6")
    desktop.fill("#reason", "ภัยแล้ง ผลผลิตเสียหาย")
    desktop.click("button[value=check]")
    desktop.wait_for_selector("#new-schedule")
    check_page(desktop, "office-reschedule-check")
    desktop.goto(f"/office/loans/{loan_id}/moratorium")
    desktop.fill("#first_day", "01/07/2567")
    desktop.fill("#last_day", "30/09/2567")
    desktop.fill("#reason", "น้ำท่วม")
    desktop.click("button[value=check]")
    desktop.wait_for_selector("#new-schedule")
    check_page(desktop, "office-moratorium-check")
    desktop.click("form[action$=signout] button")
    sign_in(desktop, *APPROVER)
    desktop.goto(f"/office/loans/{loan_id}/rebate")
    check_page(desktop, "office-rebate")
    desktop.goto(f"/office/loans/{loan_id}/write-off")
    check_page(desktop, "office-write-off")
    desktop.fill("#reason", "วิสาหกิจเลิกกิจการ")
    desktop.click("button[value=check]")
    desktop.wait_for_selector("#write-off")
    assert "110,182.01" in desktop.inner_text("#write-off")
    check_page(desktop, "office-write-off-check")
