"""The fund officer's parties and the admin's pages in real Chromium, on a desktop (1280 x 900):
an officer registers a savings group (a refused form first), finds it in the list and changes
it; the manager (an admin) adds an officer and proposes an approver, sees the command wait for a
second admin, and filters the audit trail. The parties' list and form also at 360 px."""

import re

from store.demo import DEMO_PEOPLE
from tests.browser.conftest import check_page
from tests.browser.test_journeys import sign_in

ACCOUNTS = {role: (name, password) for name, role, password in DEMO_PEOPLE}


def test_an_officer_registers_a_savings_group_and_changes_it(desktop):
    page = desktop
    sign_in(page, *ACCOUNTS["officer"])
    page.click("main a[href='/office/parties']")
    assert "เครือข่ายองค์กรชุมชนภาคเหนือ" in page.inner_text("table.report")
    check_page(page, "office-parties")

    page.click("main a[href='/office/parties/new']")
    check_page(page, "office-party-new")
    page.fill("#national_id", "1234567890123")
    page.fill("#province", "นครสวรรค์")
    page.click("form[action='/office/parties/new'] button[type=submit]")
    assert "เลือกประเภทของภาคี" in page.inner_text(".error-summary")
    assert "กรอกชื่อภาษาไทย" in page.inner_text(".field-error:has(#name_th)")
    assert page.input_value("#province") == "นครสวรรค์"
    check_page(page, "office-party-refused")

    page.check("input[name=kind][value=savings_group]")
    page.fill("#name_th", "กลุ่มออมทรัพย์บ้านหนองโพ")
    page.fill("#national_id", "")
    page.select_option("#region", "north")
    page.select_option("#centre_id", label="ศูนย์บ่มเพาะเศรษฐกิจและทุนชุมชนอโรคยศาลา ตำบลเขาดิน")
    page.fill("#contact", "คุณสมศรี 081-234-5678")
    page.click("form[action='/office/parties/new'] button[type=submit]")
    assert re.search(r"/office/parties/\d+\?saved=1$", page.url)
    assert "บันทึกข้อมูลภาคีแล้ว" in page.inner_text("main") and "กลุ่มออมทรัพย์" in page.inner_text("hgroup")
    check_page(page, "office-party")

    page.click("main a[href$='/edit']")
    assert page.input_value("#name_th") == "กลุ่มออมทรัพย์บ้านหนองโพ"
    page.fill("#province", "อุทัยธานี")
    check_page(page, "office-party-edit")
    page.click("main form button[type=submit]")
    assert "อุทัยธานี" in page.inner_text("dl.party-facts")

    page.goto("/office/parties?kind=savings_group&name=หนองโพ")
    assert page.locator("table.report tbody tr").count() == 1


def test_the_parties_list_and_form_fit_a_phone(phone):
    sign_in(phone, *ACCOUNTS["officer"])
    for path, name in (("/office/parties", "office-parties-phone"), ("/office/parties/new", "office-party-new-phone")):
        phone.goto(path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, path
        check_page(phone, name)


def test_the_manager_adds_people_and_an_approver_waits_for_a_second_admin(desktop):
    page = desktop
    sign_in(page, *ACCOUNTS["admin"])
    page.click("main a[href='/admin/people']")
    assert "officer" in page.inner_text("table.report")
    check_page(page, "admin-people")

    page.click("main a[href='/admin/people/new']")
    check_page(page, "admin-person-new")
    page.fill("#name", "somsri.k")
    page.check("input[name=role][value=officer]")
    page.click("form[action='/admin/people/new'] button[type=submit]")
    assert "/setup?code=" in page.inner_text("code.setup-link")
    check_page(page, "admin-person-made")

    page.goto("/admin/people/new")
    page.fill("#name", "approver-2")
    page.check("input[name=role][value=approver]")
    page.click("form[action='/admin/people/new'] button[type=submit]")
    assert "รอผู้ดูแลระบบอีกคน" in page.inner_text("h1")
    check_page(page, "admin-proposed")

    page.goto("/admin/commands")
    command = page.locator("li.command").first
    assert "approver-2" in command.inner_text() and "คุณเป็นผู้เสนอ" in command.inner_text()
    assert command.locator("form[action$='/approval']").count() == 0
    check_page(page, "admin-commands")

    page.goto("/admin/people?name=somsri")
    page.click("table.report a")
    check_page(page, "admin-person")
    page.click("main form[action$='/revoke'] button")
    assert "ยกเลิกสิทธิ์แล้ว" in page.inner_text(".notice")

    page.goto("/audit/trail?actor=manager&action=user.revoke")
    rows = page.locator("section.records tbody tr")
    assert rows.count() == 1 and "user.revoke" in rows.first.inner_text()
    check_page(page, "audit-trail-filtered")
