"""The fund's staff on a desktop (1280 x 900) in real Chromium: an officer buys more shares for
the fund above the approval threshold (so the purchase waits), an approver approves it from the
list of purchases waiting, and the enterprise's cap table and the welfare fund's pages are read;
an officer sells the fund's shares to two buyers at once."""

from datetime import date

from store import equity
from store.demo import DEMO_PEOPLE
from tests.browser.conftest import DESKTOP, _browser_page, check_page
from tests.browser.test_journeys import sign_in

OFFICER = DEMO_PEOPLE[2][0], DEMO_PEOPLE[2][2]
APPROVER = DEMO_PEOPLE[3][0], DEMO_PEOPLE[3][2]


def test_an_officer_buys_above_the_threshold_and_an_approver_approves(desktop, chromium, server):
    page = desktop
    sign_in(page, *OFFICER)
    page.click("main a[href='/office/investments']")
    assert "วิสาหกิจชุมชนข้าวอินทรีย์เขาดิน" in page.inner_text("main table")
    check_page(page, "office-investments")
    page.click("main table a[href^='/office/investments/']")
    check_page(page, "office-investment")
    page.click("main a[href$='/purchase']")
    page.fill("#shares", "50")
    page.fill("#price", "5,000.00")
    page.fill("#effective_date", "ห้าสิบ")
    page.click("main form button[type=submit]")
    assert "วันที่" in page.inner_text(".error-summary")
    assert page.input_value("#price") == "5,000.00"
    check_page(page, "office-purchase-refused")
    page.fill("#effective_date", "14/06/2567")
    page.click("main form button[type=submit]")
    assert "รอผู้อนุมัติที่ไม่ใช่คุณ" in page.inner_text("main")
    check_page(page, "office-purchase-waiting")
    page.click("main a[href^='/office/enterprises/']")
    assert "<svg" in page.content()
    check_page(page, "office-enterprise-shares")

    approver = next(_browser_page(chromium, server, DESKTOP))
    sign_in(approver, *APPROVER)
    approver.click("main a[href='/office/investments/approvals']")
    check_page(approver, "office-approvals")
    approver.click("main form button[type=submit]")
    assert "อนุมัติและลงบัญชีการซื้อหุ้นแล้ว" in approver.inner_text("main")
    assert "ไม่มีการซื้อหุ้นที่รออนุมัติ" in approver.inner_text("main")

    page.click("a[href='/']")
    page.click("main a[href='/office/welfare']")
    check_page(page, "office-welfare")
    page.click("main a[href^='/office/welfare/funds/']")
    assert "สมาชิก" in page.inner_text("main figure")
    check_page(page, "office-welfare-fund")
    page.click("main a[href^='/office/welfare/rules']")
    check_page(page, "office-welfare-rules")
    page.goto("/office/welfare/settlements")
    check_page(page, "office-welfare-settlements")


def test_an_officer_sells_to_two_buyers_at_once(desktop, server, db):
    """A member of the demo's enterprise and the enterprise itself buy at once: a row with shares
    and no price is named in the summary, the rest kept; then the sale is saved."""
    with db.read() as connection:
        investment = equity.list_investments(connection, filters={}, only_party=None)[0]
        fund = set(equity.fund_parties(connection))
        table = equity.cap_table_as_of(connection, investment["enterprise_party_id"], date(2024, 6, 14))["table"]
    member = next(h.party_id for h in table.holders if h.party_id not in fund)
    page = desktop
    sign_in(page, *OFFICER)
    page.goto(f"/office/investments/{investment['id']}")
    page.click("main a[href$='/exit-buyers']")
    page.fill("#effective_date", "14/06/2567")
    page.fill("#buyer_1_party_id", str(member))
    page.fill("#buyer_1_shares", "10")
    page.fill("#buyer_1_price", "1,200.00")
    page.fill("#buyer_2_shares", "5")
    page.click("main form button[type=submit]")
    assert "ใส่ทั้งจำนวนหุ้นและราคาของผู้ซื้อแต่ละราย" in page.inner_text(".error-summary")
    assert page.input_value("#buyer_1_price") == "1,200.00"
    check_page(page, "office-exit-buyers-refused")
    page.fill("#buyer_2_price", "600")
    page.click("main form button[type=submit]")
    assert "บันทึกแล้ว" in page.inner_text("main [role=status]")
    check_page(page, "office-exit-buyers-done")
