"""The periods page through the app: a book's months with their state, closing a month (an
admin: the API's audited write), the year-end close refused with what blocks it in words and a
link to put it right, then done, and reversed."""

import re
from datetime import UTC, datetime

import pytest

from api.app import create_app
from store import audit_log, books, year_end
from store.demo import FUND_BOOK
from tests.test_web_sessions import Browser, csrf_of

AFTER_FY2567 = datetime(2024, 10, 5, 3, 0, tzinfo=UTC)


@pytest.fixture
def app(db, clock):
    return create_app(db, clock)


def fund_book(db) -> dict:
    with db.read() as connection:
        return next(b for b in books.list_books(connection, only_party=None, after=0, limit=50)
                    if b["code"] == FUND_BOOK)  # fmt: skip


def signed_in(app, name: str, password: str) -> Browser:
    browser = Browser(app)
    assert browser.sign_in(name, password).status_code == 303
    return browser


def post_form(browser: Browser, page, action: str, **changes):
    """Post the form of `page` whose action is `action`, with its hidden fields and `changes`."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', page.text, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    return browser.post(action, {**fields, **changes}, token=csrf_of(page))


def test_an_admin_closes_a_month_and_the_months_before_it(app, db, demo):
    book = fund_book(db)
    manager = signed_in(app, "manager", "manager-demo")
    months = manager.get(f"/office/periods?book={book['id']}&year=2567")
    assert months.status_code == 200 and "/office/periods/close?book=" in months.text
    check = manager.get(f"/office/periods/close?book={book['id']}&period=2024-05")
    assert check.status_code == 200 and "ต.ค. 2566" in check.text and "พ.ค. 2567" in check.text
    done = post_form(manager, check, "/office/periods/close")
    assert done.status_code == 303 and "closed=2024-05" in done.headers["location"]
    with db.read() as connection:
        assert str(books.get_book(connection, book["id"])["closed_through"]) == "2024-05-31"
        records = audit_log.list_records(connection, after=0, limit=500)
    assert [(r["action"], r["actor"]) for r in records][-1] == ("period.close", "manager")
    again = post_form(manager, check, "/office/periods/close")  # the same form twice: one write
    assert again.status_code == 303
    shown = manager.get(done.headers["location"]).text
    assert shown.count(">ปิดแล้ว<") == 8 and shown.count(">เปิดอยู่<") == 4 and "ปิดแล้ว: พ.ค. 2567" in shown


def test_staff_who_are_not_admins_read_the_months_and_may_not_close(app, db, demo):
    book = fund_book(db)
    officer = signed_in(app, "officer", "officer-demo")
    months = officer.get(f"/office/periods?book={book['id']}&year=2567")
    assert months.status_code == 200 and "/office/periods/close?" not in months.text
    assert officer.get(f"/office/periods/close?book={book['id']}&period=2024-05").status_code == 403
    refused = officer.post("/office/periods/close", {"book": book["id"], "period": "2024-05", "key": "k"},
                           token=csrf_of(months))  # fmt: skip
    assert refused.status_code == 403


def test_a_year_close_refused_names_what_blocks_it_with_links_then_closes_and_reverses(app, db, demo, clock):
    book = fund_book(db)
    manager = signed_in(app, "manager", "manager-demo")
    early = manager.get(f"/office/periods/year-end?book={book['id']}&year=2567")
    assert "ยังไม่สิ้นปี" in early.text and 'action="/office/periods/year-end"' not in early.text
    refused = manager.post("/office/periods/year-end", {"book": book["id"], "year": 2567, "key": "early"},
                           token=csrf_of(early))  # fmt: skip
    assert refused.status_code == 422 and "ยังไม่สิ้นปี" in refused.text
    clock.moment = AFTER_FY2567
    manager = signed_in(app, "manager", "manager-demo")  # months later: a new session
    with db.read() as connection:
        blocking = year_end.blockers(connection, book_id=book["id"], fiscal_year=2568, today=clock.today())
    assert [(b.kind, b.fiscal_year) for b in blocking] == [("not_ended", None), ("earlier_year_open", 2567)]
    later = manager.get(f"/office/periods/year-end?book={book['id']}&year=2568")
    link = f'href="/office/periods/year-end?book={book["id"]}&amp;year=2567"'
    assert "ปีงบประมาณ 2567 ยังไม่ได้ปิด" in later.text and link in later.text
    ready = manager.get(f"/office/periods/year-end?book={book['id']}&year=2567")
    done = post_form(manager, ready, "/office/periods/year-end")
    assert done.status_code == 303
    with db.read() as connection:
        [close] = year_end.list_closes(connection, book["id"])
    assert close["fiscal_year"] == 2567 and close["entry_ids"]
    closed = manager.get(f"/office/periods/year-end?book={book['id']}&year=2567")
    no_reason = post_form(manager, closed, "/office/periods/year-end/reversal", reason="  ")
    assert no_reason.status_code == 422 and 'aria-invalid="true"' in no_reason.text
    reversed_ = post_form(manager, closed, "/office/periods/year-end/reversal", reason="ลืมบันทึกรายการ")
    assert reversed_.status_code == 303
    with db.read() as connection:
        assert year_end.list_closes(connection, book["id"])[0]["reversal"]["reason"] == "ลืมบันทึกรายการ"
