"""The pages' sign-in through the real app: setup codes, passwords, sessions and their ends, CSRF,
the throttle, the audit records, and the API's access rule on a page."""

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from api.settings import Settings
from store import audit_log, books, people, users
from tests.conftest import NOW
from web.site import PAGE_AREAS

PASSWORD = "a long enough password"


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text).group(1)


class Browser:
    """A TestClient with its own cookies, that posts forms as a browser does (with the token of
    the page it last read, unless told otherwise)."""

    def __init__(self, app) -> None:
        self.client = TestClient(app, raise_server_exceptions=True, follow_redirects=False)

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict, *, token: str | None = None, form_page: str = "/signin"):
        if token is None:
            token = csrf_of(self.client.get(form_page, follow_redirects=True))
        return self.client.post(path, data={**data, "csrf_token": token})

    def sign_in(self, name: str, password: str = PASSWORD):
        return self.post("/signin", {"name": name, "password": password})


@pytest.fixture
def app(db, clock):
    return create_app(db, clock)


def person(db, name: str, role: str = "auditor", party_id: int | None = None, password: str | None = PASSWORD) -> int:
    with db.write() as connection:
        user_id, _ = users.add_user(connection, name=name, role=role, party_id=party_id, now=NOW)
        if password:
            code = people.issue_setup_code(connection, user_id, now=NOW)
            people.use_setup_code(connection, code, password, now=NOW)
    return user_id


def setup_code(db, user_id: int, *, now=NOW) -> str:
    with db.write() as connection:
        return people.issue_setup_code(connection, user_id, now=now)


def audit_actions(db) -> list[tuple[str, str]]:
    with db.read() as connection:
        return [(r["action"], r["actor"]) for r in audit_log.list_records(connection, after=0, limit=100)]


def test_pages_need_a_session_and_say_so_with_a_redirect(app):
    browser = Browser(app)
    assert (browser.get("/").status_code, browser.get("/").headers["location"]) == (303, "/signin")
    assert browser.get("/password").headers["location"] == "/signin?next=/password"
    assert browser.get("/signin").status_code == 200


def test_a_setup_code_works_once_and_signs_the_person_in(app, db):
    user_id = person(db, "somsri", password=None)
    code = setup_code(db, user_id)
    browser = Browser(app)
    form = browser.get(f"/setup?code={code}")
    assert form.status_code == 200 and "somsri" in form.text
    answer = browser.post("/setup", {"code": code, "password": PASSWORD, "confirm": PASSWORD}, token=csrf_of(form))
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert browser.get("/").status_code == 200
    again = Browser(app)
    assert again.get(f"/setup?code={code}").status_code == 404
    other = "another long password"
    reused = again.post("/setup", {"code": code, "password": other, "confirm": other})
    assert reused.status_code == 404
    assert again.sign_in("somsri", other).status_code == 422
    assert again.sign_in("somsri").status_code == 303
    assert ("user.password-set", "somsri") in audit_actions(db) and ("session.sign-in", "somsri") in audit_actions(db)


def test_a_setup_code_expires_after_72_hours(app, db, clock):
    code = setup_code(db, person(db, "somsak", password=None))
    clock.moment = NOW + timedelta(hours=72)
    assert Browser(app).get(f"/setup?code={code}").status_code == 404
    clock.moment = NOW + timedelta(hours=71, minutes=59)
    assert Browser(app).get(f"/setup?code={code}").status_code == 200


def test_a_short_password_or_two_different_ones_are_refused_keeping_the_code(app, db):
    code = setup_code(db, person(db, "malee", password=None))
    browser = Browser(app)
    token = csrf_of(browser.get(f"/setup?code={code}"))
    short = browser.post("/setup", {"code": code, "password": "short", "confirm": "short"}, token=token)
    assert short.status_code == 422 and "อย่างน้อย 10 ตัวอักษร" in short.text
    differ = browser.post("/setup", {"code": code, "password": PASSWORD, "confirm": PASSWORD + "!"}, token=token)
    assert differ.status_code == 422 and "ไม่ตรงกัน" in differ.text
    chosen = browser.post("/setup", {"code": code, "password": PASSWORD, "confirm": PASSWORD}, token=token)
    assert chosen.status_code == 303


def test_a_wrong_name_and_a_wrong_password_get_the_same_answer(app, db):
    person(db, "prasert")
    wrong_password, wrong_name = Browser(app).sign_in("prasert", "not the password"), Browser(app).sign_in("nobody")
    assert wrong_password.status_code == wrong_name.status_code == 422
    message = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"
    assert message in wrong_password.text and message in wrong_name.text
    assert "session.sign-in" not in [action for action, _ in audit_actions(db)]


def test_sessions_end_when_idle_and_at_their_lifetime(app, db, clock):
    person(db, "wichai")
    browser = Browser(app)
    browser.sign_in("wichai")
    clock.moment = NOW + timedelta(minutes=29)
    assert browser.get("/").status_code == 200  # a request keeps the session alive
    clock.moment = NOW + timedelta(minutes=29 + 29)
    assert browser.get("/").status_code == 200
    clock.moment = NOW + timedelta(minutes=29 + 29 + 30)
    assert browser.get("/").status_code == 303  # idle for 30 minutes
    browser.sign_in("wichai")
    for minutes in range(20, 12 * 60, 20):  # busy all day: the lifetime ends it anyway
        clock.moment = NOW + timedelta(minutes=29 + 29 + 30 + minutes)
        assert browser.get("/").status_code == 200, minutes
    clock.moment = NOW + timedelta(minutes=29 + 29 + 30 + 12 * 60)
    assert browser.get("/").status_code == 303


def test_sign_out_ends_the_session_at_once_even_for_a_replayed_cookie(app, db):
    person(db, "kanya")
    browser = Browser(app)
    browser.sign_in("kanya")
    cookie = browser.client.cookies.get("codi_session")
    token = csrf_of(browser.get("/"))
    assert browser.post("/signout", {}, token=token).headers["location"] == "/signin"
    replay = TestClient(app, follow_redirects=False, cookies={"codi_session": cookie})
    assert replay.get("/").status_code == 303
    assert replay.post("/signout", data={"csrf_token": token}).status_code == 403  # its token died with it
    assert [a for a, _ in audit_actions(db)].count("session.sign-out") == 1


def test_changing_the_password_ends_the_other_sessions_only(app, db):
    person(db, "somchai")
    here, elsewhere = Browser(app), Browser(app)
    here.sign_in("somchai")
    elsewhere.sign_in("somchai")
    token = csrf_of(here.get("/password"))
    new = "a brand new password"
    answer = here.post("/password", {"current": PASSWORD, "password": new, "confirm": new}, token=token)
    assert answer.status_code == 200 and "เปลี่ยนรหัสผ่านแล้ว" in answer.text
    assert here.get("/").status_code == 200 and elsewhere.get("/").status_code == 303
    assert Browser(app).sign_in("somchai").status_code == 422
    assert Browser(app).sign_in("somchai", new).status_code == 303
    wrong = here.post("/password", {"current": "not it at all", "password": new, "confirm": new}, token=token)
    assert wrong.status_code == 422 and "รหัสผ่านปัจจุบันไม่ถูกต้อง" in wrong.text


@pytest.mark.parametrize("token", [None, "", "0" * 64])
def test_a_form_without_its_csrf_token_is_refused_with_a_thai_page(app, db, token):
    person(db, "anan")
    browser = Browser(app)
    browser.sign_in("anan")
    data = {} if token is None else {"csrf_token": token}
    refused = browser.client.post("/signout", data=data)
    assert refused.status_code == 403 and "แบบฟอร์มนี้หมดอายุ" in refused.text
    assert browser.get("/").status_code == 200  # still signed in
    stranger = Browser(app)
    assert stranger.client.post("/signin", data={"name": "anan", "password": PASSWORD, **data}).status_code == 403


def test_every_page_that_takes_a_post_refuses_one_without_its_csrf_token(app, db):
    """The check is the pages' router's (web.routes.page_router), so every form of every page
    has it: signed in as an admin, who may post the most, each is refused before it runs."""
    person(db, "somjai", role="admin")
    browser = Browser(app)
    browser.sign_in("somjai")
    posted = sorted({re.sub(r"\{[^}]+\}", "1", route.path) for area in PAGE_AREAS for route in area.router.routes
                     if "POST" in route.methods})  # fmt: skip
    assert len(posted) > 20 and "/sales/save" in posted and "/signout" in posted
    for path in posted:
        refused = browser.client.post(path, data={"key": "k" * 32})
        assert (refused.status_code, "แบบฟอร์มนี้หมดอายุ" in refused.text) == (403, True), path
    assert browser.get("/").status_code == 200  # still signed in: the refused sign-out did nothing


def test_another_sessions_token_does_not_pass(app, db):
    person(db, "one")
    person(db, "two")
    first, second = Browser(app), Browser(app)
    first.sign_in("one")
    second.sign_in("two")
    assert first.client.post("/signout", data={"csrf_token": csrf_of(second.get("/"))}).status_code == 403


def test_failed_sign_ins_are_throttled_per_user_name_and_per_address(app, db):
    person(db, "target")
    browser = Browser(app)
    for _ in range(5):
        assert browser.sign_in("target", "guess guess guess").status_code == 422
    assert browser.sign_in("target").status_code == 429  # the right password waits too
    assert Browser(app).sign_in("target").status_code == 429  # from anywhere: it is the name
    person(db, "bystander")
    for n in range(15):  # 5 + 15 = 20 failures from this address, on other names
        assert browser.sign_in(f"someone-{n}", "guess guess guess").status_code == 422
    assert browser.sign_in("bystander").status_code == 429


def test_forwarded_for_is_not_believed(app, db):
    person(db, "dara")
    browser = Browser(app)
    for n in range(20):
        browser.client.headers["X-Forwarded-For"] = f"10.0.0.{n}"
        browser.sign_in(f"name-{n}", "guess guess guess")
    assert browser.sign_in("dara").status_code == 429


def test_an_enterprise_person_sees_its_own_enterprise_only(app, db):
    with db.write() as connection:
        ours, theirs = (books.create_party(connection, {"kind": "community_enterprise", "name_th": name}, now=NOW)["id"]
                        for name in ("วิสาหกิจของเรา", "วิสาหกิจอื่น"))  # fmt: skip
    person(db, "ours", "enterprise", ours)
    browser = Browser(app)
    browser.sign_in("ours")
    assert "วิสาหกิจของเรา" in browser.get("/").text
    assert browser.get(f"/enterprises/{ours}").status_code == 200
    for path in (f"/enterprises/{theirs}", "/enterprises/999999"):
        page = browser.get(path)
        assert page.status_code == 404 and "ไม่พบหน้านี้" in page.text and "วิสาหกิจอื่น" not in page.text
    auditor = Browser(app)
    person(db, "auditor")
    auditor.sign_in("auditor")
    assert "วิสาหกิจอื่น" in auditor.get(f"/enterprises/{theirs}").text
    assert "/audit/trial-balance" in auditor.get("/").text


def test_the_language_is_kept_in_a_cookie_then_on_the_person(app, db):
    person(db, "lek")
    browser = Browser(app)
    assert browser.post("/language", {"language": "en", "next": "/signin"}).headers["location"] == "/signin"
    assert "Sign in" in browser.get("/signin").text
    browser.sign_in("lek")
    assert "What you can do here" in browser.get("/").text
    elsewhere = Browser(app)  # a new browser, no cookie: the person's own choice
    elsewhere.sign_in("lek")
    assert "What you can do here" in elsewhere.get("/").text
    elsewhere.post("/language", {"language": "th", "next": "/"}, token=csrf_of(elsewhere.get("/")))
    assert "เมนูของคุณ" in elsewhere.get("/").text
    third = Browser(app)
    third.sign_in("lek")
    assert "เมนูของคุณ" in third.get("/").text
    assert browser.post("/language", {"language": "xx", "next": "https://evil.example/"}).headers["location"] == "/"


def test_the_api_answers_json_and_its_paths_stay_out_of_the_pages(app, db):
    client = TestClient(app)
    assert client.get("/v1/nope").headers["content-type"] == "application/problem+json"
    assert client.get("/nope").headers["content-type"].startswith("text/html")
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/v1", "/health", "/ready"))]


def test_cookies_are_httponly_lax_and_secure_when_asked(app, db, clock):
    person(db, "noi")
    browser = Browser(app)
    cookie = browser.sign_in("noi").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    secure = create_app(db, clock, Settings.from_environ({"CODI_COOKIE_SECURE": "1"}))
    assert "Secure" in Browser(secure).sign_in("noi").headers["set-cookie"]


def test_the_database_refuses_sessions_and_codes_that_make_no_sense(db):
    user_id = person(db, "guard", password=None)
    good = {"u": user_id, "h": "a" * 64, "c": NOW, "e": NOW + timedelta(hours=1)}
    bad_rows = [
        ("INSERT INTO web_session (user_id, id_hash, created_at, last_seen_at, expires_at) VALUES (:u, :h, :c, :c, :c)",
         good),  # expires as it begins
        ("INSERT INTO web_session (user_id, id_hash, created_at, last_seen_at, expires_at) VALUES (:u, :h, :c, :c, :e)",
         {**good, "h": "short"}),
        ("INSERT INTO setup_code (user_id, code_hash, created_at, expires_at) VALUES (:u, :h, :e, :c)", good),
        ("INSERT INTO user_password (user_id, password_hash, set_at) VALUES (:u, 'plain text', :c)", good),
        ("UPDATE app_user SET language = 'fr' WHERE id = :u", good),
    ]  # fmt: skip
    for statement, values in bad_rows:
        with pytest.raises(DBAPIError), db.write() as connection:
            connection.execute(text(statement), values)


def test_the_date_preview_says_what_it_understood(app):
    client = TestClient(app)
    assert client.get("/date-preview?sold_on=30/06/2567").text.strip() == (
        '<time datetime="2024-06-30">30 มิ.ย. 2567</time> = 2024-06-30')
    assert "30/06/2567" in client.get("/date-preview?sold_on=30/06/2024").text
    assert "วัน/เดือน/ปี พ.ศ." in client.get("/date-preview?sold_on=soon").text
    client.cookies.set("codi_lang", "en")
    assert "30 Jun 2024</time> = 2024-06-30" in client.get("/date-preview?d=2024-06-30").text


def test_a_sign_in_keeps_a_client_request_id_only_if_short_and_plain(app, db):
    """The pages' audited events take the request id by the API's rule (docs/reliability.md)."""
    person(db, "somsri")
    browser = Browser(app)
    for given, kept in (("page-7.sign_in", True), ("id <script>", False), ("a" * 65, False)):
        browser.client.headers["X-Request-Id"] = given
        assert browser.sign_in("somsri").status_code == 303
        with db.read() as connection:
            [*_, record] = audit_log.list_records(connection, after=0, limit=100)
        assert record["action"] == "session.sign-in"
        assert record["request_id"] == given if kept else re.fullmatch("[0-9a-f]{32}", record["request_id"])


def test_a_page_answers_a_malformed_query_and_our_own_failure_with_a_thai_page(app, db, monkeypatch):
    """Not problem+json: a person on a page reads a page, whatever went wrong."""
    person(db, "somsri")
    browser = Browser(app)
    assert browser.sign_in("somsri").status_code == 303
    unreadable = browser.get("/audit/trial-balance?fiscal_year=abc")
    assert unreadable.status_code == 422 and unreadable.headers["content-type"].startswith("text/html")
    assert "เกิดข้อผิดพลาด" in unreadable.text

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr("web.routes.audit.choice_of", broken)
    failing = TestClient(app, raise_server_exceptions=False, cookies=browser.client.cookies)
    failed = failing.get("/audit/trial-balance")
    assert failed.status_code == 500 and failed.headers["content-type"].startswith("text/html")
    assert "ระบบขัดข้อง" in failed.text and "a bug of ours" not in failed.text
    assert failing.get("/v1/books", headers={"Authorization": "Bearer x"}).headers["content-type"] == (
        "application/problem+json"
    )
