"""The three tiers in real Chromium: an officer (desktop) records a month's deposits for a
cooperative's members from one form and its payment to CODI for May, and sees the month's
shortfall and the look-through; a member signs in on a 360 px phone and sees their own savings
and loan, late instalment marked. Every page visited is checked with axe-core and photographed."""

from api.app import create_app
from store.demo import DEMO_PEOPLE
from tests.browser.conftest import check_page
from tests.browser.test_journeys import sign_in
from tests.conftest import FixedClock
from tests.tiers_pages_fixtures import MEMBER_PASSWORD, cooperative

PEOPLE = {role: (name, password) for name, role, password in DEMO_PEOPLE}


def test_an_officer_records_a_month_and_a_member_reads_their_own(db, demo, desktop, phone):
    coop = cooperative(create_app(db, FixedClock()), db, demo)
    page = desktop
    sign_in(page, *PEOPLE["officer"])
    page.goto(f"/office/organisations/{coop.id}?month=2024-05")
    assert "ยอดขาด" in page.inner_text("main")
    check_page(page, "tiers-organisation")

    assert page.input_value(f"#amount-{coop.members[0]}") == "200.00"
    page.click("form[action$='/savings/month'] button[type=submit]")
    assert "บันทึกเงินฝากประจำเดือนแล้ว" in page.inner_text("main")
    assert "5,200.00" in page.inner_text("main")
    check_page(page, "tiers-deposits-recorded")

    page.goto(f"/office/organisations/{coop.id}?month=2024-05")
    shortfall = page.inner_text("dd.late >> nth=0")
    assert page.input_value("#paid_on") == "31/05/2567"
    page.fill("#remit_amount", shortfall.split()[1])
    page.click("form[action*='/remittances'] button[type=submit]")
    main = page.inner_text("main")
    assert "บันทึกการชำระเงินให้ พอช. แล้ว" in main and shortfall in main
    check_page(page, "tiers-remitted")

    page.click("main a[href='/office/look-through']")
    assert "สหกรณ์เคหสถานบ้านมั่นคงริมคลอง" in page.inner_text("main") and "ตรงกัน" in page.inner_text("main")
    check_page(page, "tiers-look-through")

    sign_in(phone, "member-1", MEMBER_PASSWORD)
    main = phone.inner_text("main")
    assert "เงินออมของฉัน" in main and "5,200.00" in main and "ค้างชำระ" in main
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    check_page(phone, "tiers-member")
