"""Journeys of a person on a phone (360 x 740) through the pages, in real Chromium."""

from pypdf import PdfReader
from sqlalchemy import select

from store.books import account_t
from tests.browser.conftest import check_page

ENTERPRISE = ("khaodin-rice", "enterprise-demo")  # store.demo.DEMO_PEOPLE


def sign_in(page, name: str, password: str) -> None:
    page.goto("/signin")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("form[action='/signin'] button[type=submit]")


def test_an_enterprise_person_signs_in_and_sees_its_figures_in_thai(phone):
    phone.goto("/")
    assert phone.url.endswith("/signin")
    check_page(phone, "signin", readme=True)
    sign_in(phone, *ENTERPRISE)
    assert phone.url == phone.base + "/"
    main = phone.inner_text("main")
    for words in ("วิสาหกิจชุมชนข้าวอินทรีย์เขาดิน", "ตัวเลข ณ วันที่ 14 มิ.ย. 2567", "ยอดขายปีงบประมาณ 2567", "41,300.00",
                  "เงินสมทบที่ยังค้างจ่ายกองทุนสวัสดิการ", "729.00", "จ่ายแล้วในปีงบประมาณนี้", "97.00", "เงินสด",
                  "ยอดเงินกู้คงค้าง", "110,182.01", "10,217.99 บาท วันที่ 6 ก.ค. 2567", "เลยกำหนด 39 วัน",
                  "200 หุ้น (40.00 % ของทุน)", "167.13"):  # fmt: skip
        assert words in main, words
    for target in ("/sales", "/statement", "/loan", "/shares"):
        assert phone.locator(f"main a[href='{target}']").count() >= 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    assert phone.evaluate("getComputedStyle(document.body).fontFamily").startswith("Sarabun")
    assert phone.evaluate("document.fonts.check('16px Sarabun', 'ก')")
    check_page(phone, "enterprise-home", readme=True)


def test_a_wrong_password_is_refused(phone):
    sign_in(phone, ENTERPRISE[0], "not the password")
    assert phone.url.endswith("/signin")
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in phone.inner_text(".error-summary")
    assert phone.input_value("#name") == ENTERPRISE[0]  # kept, as typed
    check_page(phone, "signin-refused")
    phone.goto("/")
    assert phone.url.endswith("/signin")


def test_a_form_sent_without_its_csrf_token_is_refused(phone):
    sign_in(phone, *ENTERPRISE)
    phone.evaluate("document.querySelector(\"form[action='/signout'] input[name=csrf_token]\").remove()")
    with phone.expect_navigation():
        phone.click("form[action='/signout'] button")
    assert "แบบฟอร์มนี้หมดอายุ" in phone.inner_text("main")
    check_page(phone, "csrf-refused")
    phone.goto("/")
    assert phone.url == phone.base + "/"  # the refused sign-out did nothing


def test_a_session_used_after_sign_out_is_refused(phone, chromium):
    sign_in(phone, *ENTERPRISE)
    cookies = phone.context.cookies()
    assert any(c["name"] == "codi_session" and c["httpOnly"] and c["sameSite"] == "Lax" for c in cookies)
    phone.click("form[action='/signout'] button")
    assert phone.url.endswith("/signin")
    replay = chromium.new_context(viewport={"width": 360, "height": 740}, base_url=phone.base)
    replay.add_cookies(cookies)
    page = replay.new_page()
    page.goto("/")
    assert page.url.endswith("/signin")
    replay.close()


def test_the_language_switches_to_english_and_back_and_is_remembered(phone, chromium):
    phone.goto("/signin")
    phone.click("button[name=language][value=en]")
    assert phone.inner_text("h1") == "Sign in"
    sign_in(phone, *ENTERPRISE)
    assert "Sales in fiscal year 2567" in phone.inner_text("main")
    assert "14 Jun 2024" in phone.inner_text("main")
    check_page(phone, "enterprise-home-english")
    elsewhere = chromium.new_context(viewport={"width": 360, "height": 740}, base_url=phone.base)
    other = elsewhere.new_page()
    sign_in(other, *ENTERPRISE)  # another browser: the person's own choice, kept on the user
    assert "Sales in fiscal year 2567" in other.inner_text("main")
    other.click("button[name=language][value=th]")
    assert "ยอดขายปีงบประมาณ 2567" in other.inner_text("main")
    other.reload()
    assert "ยอดขายปีงบประมาณ 2567" in other.inner_text("main")
    elsewhere.close()


def test_the_auditor_gets_a_menu(phone):
    sign_in(phone, "auditor", "auditor-demo")
    assert "สำหรับผู้ตรวจสอบบัญชี" in phone.inner_text("main")
    assert phone.locator("a[href='/audit/trial-balance']").count() == 1
    check_page(phone, "auditor-menu")


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, page.url


def test_an_enterprise_person_records_a_sale_and_finds_it_on_the_home_page_and_in_the_statement(phone, db):
    sign_in(phone, *ENTERPRISE)
    phone.click("main a[href='/sales/new']")
    check_page(phone, "sale-form")
    phone.fill("#amount", "1,250.50")
    phone.check("input[name=channel][value=market]")
    phone.fill("#sold_on", "13/06/2567")
    phone.wait_for_selector("#sold_on-preview time")  # htmx shows what the date was understood as
    assert phone.inner_text("#sold_on-preview") == "13 มิ.ย. 2567 = 2024-06-13"
    phone.fill("#description", "ข้าวกล้องงอก 25 ถุง")
    fits_the_phone(phone)
    phone.click("main form button[type=submit]")
    assert phone.inner_text("h1") == "ตรวจรายการขายก่อนบันทึก"
    preview = phone.inner_text("#contribution")
    assert preview == "25.01 บาท"  # 2 % of 1,250.50, rounded half up
    fits_the_phone(phone)
    check_page(phone, "sale-check")
    phone.click("main form button:not(.secondary)")
    assert "บันทึกการขายแล้ว" in phone.inner_text("main")
    assert phone.inner_text("#contribution") == preview
    check_page(phone, "sale-saved")
    phone.goto("/")
    assert "42,550.50" in phone.inner_text("main")  # 41,300.00 + 1,250.50 this fiscal year
    phone.goto("/sales")
    assert "ข้าวกล้องงอก 25 ถุง" in phone.inner_text("main")
    fits_the_phone(phone)
    phone.click("summary")  # the chart's figures as a table
    check_page(phone, "sales")
    phone.goto("/statement")
    statement = phone.inner_text("main")
    assert "ข้าวกล้องงอก 25 ถุง" in statement and "1,250.50" in statement
    fits_the_phone(phone)
    check_page(phone, "statement")
    with phone.expect_download() as download:
        phone.click("a[href*='format=pdf']")
    assert download.value.suggested_filename == "statement-1100-2023-10-01-2024-09-30.pdf"
    pdf = PdfReader(download.value.path())
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "1,250.50" in text and "Sale through market" in text
    other = savings_group_account(db)
    edited = phone.goto(f"/statement?account={other}")
    assert edited.status == 404 and "ไม่พบหน้านี้" in phone.inner_text("main")
    check_page(phone, "statement-not-found")


def test_an_enterprise_person_sees_the_loan_the_shares_and_reverses_a_sale(phone):
    sign_in(phone, *ENTERPRISE)
    phone.goto("/loan")
    loan = phone.inner_text("main")
    assert "เลยกำหนด 39 วัน" in loan and "จ่ายแล้ว" in loan and "เลยกำหนด" in loan
    fits_the_phone(phone)
    check_page(phone, "loan")
    phone.goto("/shares")
    assert "200 หุ้น (40.00 % ของทุน)" in phone.inner_text("main")
    fits_the_phone(phone)
    check_page(phone, "shares")
    phone.goto("/sales")
    phone.click("main ul.rows li a >> nth=-1")
    phone.click("main a[href$='/reversal']")
    check_page(phone, "sale-reversal")
    phone.click("main form button[type=submit]")
    assert "กรอกเหตุผลที่ยกเลิก" in phone.inner_text(".error-summary")
    check_page(phone, "sale-reversal-refused")
    phone.fill("#reason", "บันทึกซ้ำ")
    phone.click("main form button[type=submit]")
    assert "ยกเลิกรายการขายแล้ว" in phone.inner_text("main")
    check_page(phone, "sale-reversed")


def savings_group_account(db) -> int:
    """An account of another party's (the savings group's loan in the fund's book)."""
    with db.read() as connection:
        return connection.execute(select(account_t.c.id).where(account_t.c.code == "1200-01")).scalar_one()
