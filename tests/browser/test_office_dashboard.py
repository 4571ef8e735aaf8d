"""The fund office's journey on a desktop (1280 x 900) in real Chromium: an officer signs in,
opens the dashboard from the menu (the portfolio by class and by days past due, PAR by month,
the loans in arrears), cuts it by region, and reads close of business, which only an admin
runs; then the admin runs it, watches it finish, and runs it again to be told nothing changed."""

from store.demo import DEMO_PEOPLE
from tests.browser.conftest import check_page
from tests.browser.test_journeys import sign_in

PEOPLE = {role: (name, password) for name, role, password in DEMO_PEOPLE}


def test_an_officer_reads_the_dashboard_and_an_admin_closes_the_day_twice(desktop):
    page = desktop
    sign_in(page, *PEOPLE["officer"])
    page.click("main a[href='/office']")
    main = page.inner_text("main")
    for words in ("งานกองทุน", "สินเชื่อคงค้าง", "ตามชั้นหนี้ของธนาคารแห่งประเทศไทย", "PAR30", "ปีงบประมาณ 2567",
                  "สัญญาที่ค้างชำระ", "กลุ่มออมทรัพย์บ้านโนนสะอาด", "สัญญาเงินกู้รออนุมัติ: 1",
                  "ปิดบัญชีสิ้นวันของวันนี้ยังไม่ได้ทำ"):  # fmt: skip
        assert words in main, words
    assert page.locator("svg[role=img]").count() == 3
    check_page(page, "office-dashboard", readme=True)

    page.select_option("#region", "northeast")
    page.click("form.office-filters button[type=submit]")
    assert "region=northeast" in page.url
    assert "วิสาหกิจชุมชนข้าวอินทรีย์เขาดิน" not in page.inner_text("main")
    check_page(page, "office-dashboard-northeast")

    page.click("main nav a[href='/office/close-of-business']")
    assert "ผู้ดูแลระบบเท่านั้น" in page.inner_text("main")
    check_page(page, "office-cob-officer")

    page.click("button:has-text('ออกจากระบบ')")
    sign_in(page, *PEOPLE["admin"])
    page.goto(page.base + "/office/close-of-business")
    assert page.input_value("#day") == "14/06/2567"
    check_page(page, "office-cob")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=เสร็จแล้ว: ปิดบัญชีสิ้นวัน 3 สัญญา")
    check_page(page, "office-cob-done")
    page.goto(page.base + "/office/close-of-business")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=ไม่มีอะไรเปลี่ยน")
    check_page(page, "office-cob-again")
    page.goto(page.base + "/office")
    assert "ปิดบัญชีสิ้นวันของวันนี้ทำแล้ว" in page.inner_text("main")
