"""The fund officer's bulk work and the admin's period close on a desktop in real Chromium: a
sales CSV with two bad lines uploaded, exactly those two given back with their reasons; the
periods page, and a month closed."""

from pathlib import Path

from store import books
from tests.browser.conftest import check_page
from tests.browser.test_journeys import sign_in
from tests.test_web_imports import BAD, GOOD, sales_csv


def test_an_officer_imports_sales_and_an_admin_closes_a_month(desktop, tmp_path, db):
    page = desktop
    sign_in(page, "officer", "officer-demo")
    page.goto("/")
    check_page(page, "office_menu")
    page.click("a[href='/office/imports']")
    check_page(page, "office_imports")
    enterprise = _enterprise(db)
    market = tmp_path / "market.csv"
    market.write_text(sales_csv(enterprise, [*GOOD[:2], BAD[0], GOOD[2], BAD[1]]))
    page.set_input_files("#file", str(market))
    page.click("form[action='/office/imports'] button[type=submit]")
    page.wait_for_selector("text=นำเข้าเสร็จแล้ว", timeout=20_000)
    page.reload()
    assert page.locator("table.report tbody th[scope=row]").all_inner_texts() == ["4", "6"]
    check_page(page, "office_import_job")
    with page.expect_download() as download:
        page.click("a[href$='/rejected']")
    saved = Path(download.value.path()).read_bytes()
    assert saved.startswith("\ufeff".encode())  # a spreadsheet reads the Thai reasons as UTF-8
    lines = saved.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines] == ["key", BAD[0][0], BAD[1][0]]
    page.click("form[action='/signout'] button[type=submit]")

    sign_in(page, "manager", "manager-demo")
    page.goto("/office/periods")
    check_page(page, "office_periods_choose")
    page.select_option("#book", label="CODI-FUND · กองทุน พอช.")
    page.click("form.choice button[type=submit]")
    page.click("text=ปิดงวด พ.ค. 2567")
    check_page(page, "office_period_close")
    page.click("form[action='/office/periods/close'] button[type=submit]")
    assert "closed=2024-05" in page.url
    check_page(page, "office_periods")
    page.click("a[href*='/office/periods/year-end']")
    check_page(page, "office_year_close")


def _enterprise(db) -> int:
    """The demo's enterprise (store.demo), whose welfare rule takes its market sales."""
    with db.read() as connection:
        parties = books.list_parties(connection, only_party=None, after=0, limit=50)
    return next(p["id"] for p in parties if p["kind"] == "community_enterprise")
