"""The admin's pages through the real app, over the demo: adding people and machines (the API's
POST /v1/users, with the one-time setup link for a person), the maker-checker of an approving
role (one admin proposes, the same admin cannot approve, a second admin approves and takes the
sign-in link), revocation ending the person's sessions and token, the lists and their filters,
who may see them; and the audit trail filtered by person, action and day."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from store import audit_log, people, users
from store.demo import DEMO_PEOPLE
from store.tables import WebSession
from tests.conftest import NOW, Api, make_user
from tests.test_web_audit import shown_text
from tests.test_web_sessions import PASSWORD, Browser, csrf_of, person

ACCOUNTS = {role: (name, password) for name, role, password in DEMO_PEOPLE}


def signed_in(app, name: str, password: str) -> Browser:
    browser = Browser(app)
    assert browser.sign_in(name, password).status_code == 303
    return browser


@pytest.fixture
def manager(app) -> Browser:
    return signed_in(app, *ACCOUNTS["admin"])


@pytest.fixture
def second_admin(app, db) -> Browser:
    person(db, "second-admin", "admin")
    return signed_in(app, "second-admin", PASSWORD)


def add(browser: Browser, **typed):
    form = {"name": "somsri.k", "role": "officer", "party_id": "", "use": "person", "key": "add-1", **typed}
    return browser.post("/admin/people/new", form, form_page="/admin/people/new")


def setup_link(page) -> str:
    return re.search(r'<code class="secret setup-link">https?://[^/]+(/setup\?code=[^<]+)</code>', page.text).group(1)


def token_of(page) -> str:
    return re.search(r'<code class="secret api-token">([^<]+)</code>', page.text).group(1)


def test_an_admin_adds_an_officer_who_sets_a_password_with_the_link_shown_once(app, manager, db):
    made = add(manager)
    assert made.status_code == 201 and "เพิ่ม somsri.k แล้ว" in made.text and "แสดงเพียงครั้งนี้ครั้งเดียว" in made.text
    link, token = setup_link(made), token_of(made)
    assert Api(manager.client, token).get("/v1/books").status_code == 200
    newcomer = Browser(app)
    form = newcomer.get(link)
    assert form.status_code == 200 and "somsri.k" in form.text
    code = link.split("code=")[1]
    chosen = newcomer.post("/setup", {"code": code, "password": PASSWORD, "confirm": PASSWORD}, token=csrf_of(form))
    assert chosen.status_code == 303 and newcomer.get("/").status_code == 200
    with db.read() as connection:
        assert [r["actor"] for r in audit_log.list_records(connection, after=0, limit=500)
                if r["action"] == "user.create"][-1] == "manager"  # fmt: skip
    listed = manager.get("/admin/people?name=somsri").text
    assert "somsri.k" in listed and "รหัสผ่าน (บุคคล)" in listed


def test_a_person_may_have_a_thai_user_name(manager):
    made = add(manager, name="สมศรี.ใจดี", key="add-thai")
    assert made.status_code == 201, made.text
    assert "สมศรี.ใจดี" in manager.get("/admin/people").text


def test_a_machine_gets_a_token_and_no_sign_in_link(manager):
    made = add(manager, name="bank-feed", role="auditor", use="machine", key="add-machine")
    assert made.status_code == 201 and "setup-link" not in made.text and token_of(made).startswith("codi_")
    assert Api(manager.client, token_of(made)).get("/v1/audit/digest").status_code == 200
    assert "โทเคนเท่านั้น" in manager.get("/admin/people?name=bank-feed").text


def test_an_enterprise_person_is_bound_to_its_party(manager, demo):
    refused = add(manager, name="rice-2", role="enterprise", key="add-2")
    assert refused.status_code == 422 and "เลือกภาคีที่ผู้ใช้นี้เป็นตัวแทน" in shown_text(refused.text)
    made = add(manager, name="rice-2", role="enterprise", party_id=str(demo.enterprise_party_id), key="add-3")
    assert made.status_code == 201
    assert Api(manager.client, token_of(made)).get("/v1/parties").json()["data"][0]["id"] == demo.enterprise_party_id


def test_a_refused_person_says_why_in_thai_and_keeps_what_was_typed(manager):
    thai_name = add(manager, name="สมศรี ใจดี", key="add-4")
    assert thai_name.status_code == 422 and "ไม่มีช่องว่าง" in shown_text(thai_name.text)  # Thai, but a space
    assert 'value="สมศรี ใจดี"' in thai_name.text and 'value="officer" checked' in thai_name.text
    no_role = add(manager, role="", key="add-5")
    assert no_role.status_code == 422 and "เลือกบทบาท" in shown_text(no_role.text)
    taken = add(manager, name="officer", key="add-6")
    assert taken.status_code == 409 and "มีผู้ใช้ชื่อนี้แล้ว" in shown_text(taken.text)


def test_an_approver_needs_a_second_admin_and_the_maker_cannot_approve(app, manager, second_admin, db):
    proposed = add(manager, name="approver-2", role="approver", key="add-7")
    assert proposed.status_code == 202 and "รอผู้ดูแลระบบอีกคน" in proposed.text
    assert "approver-2" not in manager.get("/admin/people").text
    waiting = manager.get("/admin/commands")
    command_id = re.search(r'action="/admin/commands/(\d+)/withdrawal"', waiting.text).group(1)
    assert f"/admin/commands/{command_id}/approval" not in waiting.text and "คุณเป็นผู้เสนอ" in waiting.text
    own = manager.post(f"/admin/commands/{command_id}/approval", {"key": "own"}, form_page="/admin/commands")
    assert own.status_code == 403 and "ผู้ดูแลระบบอีกคนต้องเป็นผู้อนุมัติ" in shown_text(own.text)
    assert "approver-2" not in manager.get("/admin/people").text
    approved = second_admin.post(f"/admin/commands/{command_id}/approval", {"key": "ok"}, form_page="/admin/commands")
    assert (approved.status_code, approved.headers["location"]) == (303, "/admin/commands?status=approved")
    assert "approver-2" in manager.get("/admin/people").text
    maker_takes = manager.post(f"/admin/commands/{command_id}/token", {"key": "t1"}, form_page="/admin/commands")
    assert maker_takes.status_code == 403
    taken = second_admin.post(f"/admin/commands/{command_id}/token", {"key": "t2"}, form_page="/admin/commands")
    assert taken.status_code == 201 and Api(manager.client, token_of(taken)).get("/v1/books").status_code == 200
    link = setup_link(taken)
    assert Browser(app).get(link).status_code == 200
    again = second_admin.post(f"/admin/commands/{command_id}/token", {"key": "t3"}, form_page="/admin/commands")
    assert again.status_code == 409 and "รับลิงก์เข้าสู่ระบบและโทเคนไปแล้ว" in shown_text(again.text)


def test_the_demo_admin_approves_through_the_api_what_the_manager_proposed_on_a_page(manager, demo):
    assert add(manager, name="admin-2", role="admin", key="add-8").status_code == 202
    command_id = re.search(r'/admin/commands/(\d+)/withdrawal', manager.get("/admin/commands").text).group(1)
    api = Api(manager.client, demo.admin_token)
    assert api.post(f"/v1/admin-commands/{command_id}/approval", {}).status_code == 200
    made = api.post(f"/v1/admin-commands/{command_id}/token", {})
    assert made.status_code == 201 and made.json()["setup_code"] and made.json()["role"] == "admin"
    assert "อนุมัติแล้ว" in manager.get("/admin/commands?status=approved").text


def test_the_maker_withdraws_a_pending_command_and_another_admin_cannot(manager, second_admin):
    assert add(manager, name="approver-3", role="approver", key="add-9").status_code == 202
    command_id = re.search(r'/admin/commands/(\d+)/withdrawal', manager.get("/admin/commands").text).group(1)
    other = second_admin.post(f"/admin/commands/{command_id}/withdrawal", {"key": "w1"}, form_page="/admin/commands")
    assert other.status_code == 403 and "ผู้เสนอเท่านั้นที่ถอนคำสั่งได้" in shown_text(other.text)
    mine = manager.post(f"/admin/commands/{command_id}/withdrawal", {"key": "w2"}, form_page="/admin/commands")
    assert mine.status_code == 303
    assert f"/admin/commands/{command_id}/" not in manager.get("/admin/commands").text
    late = second_admin.post(f"/admin/commands/{command_id}/approval", {"key": "w3"}, form_page="/admin/commands")
    assert late.status_code == 409 and "คำสั่งนี้ได้รับการตัดสินแล้ว" in shown_text(late.text)


def test_revoking_a_person_ends_their_sessions_and_their_token(app, manager, db):
    user_id = person(db, "malee", "officer")
    malee = signed_in(app, "malee", PASSWORD)
    elsewhere = signed_in(app, "malee", PASSWORD)
    token = make_user(db, "malee-machine", "officer")
    page = manager.get(f"/admin/people/{user_id}")
    assert "ยกเลิกสิทธิ์ของ malee" in page.text
    key = re.search(r'name="key" value="([0-9a-f]+)"', page.text).group(1)
    revoked = manager.post(f"/admin/people/{user_id}/revoke", {"key": key}, token=csrf_of(page))
    assert (revoked.status_code, revoked.headers["location"]) == (303, f"/admin/people/{user_id}?revoked=1")
    assert "ทุกการเข้าสู่ระบบสิ้นสุดแล้ว" in manager.get(revoked.headers["location"]).text
    for browser in (malee, elsewhere):
        assert browser.get("/office/parties").headers["location"] == "/signin?next=/office/parties"
    assert malee.sign_in("malee").status_code == 422
    with db.read() as connection:
        ended = connection.execute(select(WebSession.__table__.c.ended_at).where(
            WebSession.__table__.c.user_id == user_id)).scalars().all()  # fmt: skip
    assert len(ended) == 2 and all(ended)
    machine_id = next(p["id"] for p in _people(db) if p["name"] == "malee-machine")
    api = Api(manager.client, token)
    assert api.get("/v1/books").status_code == 200
    page = manager.get(f"/admin/people/{machine_id}")
    manager.post(f"/admin/people/{machine_id}/revoke", {"key": "machine"}, token=csrf_of(page))
    assert api.get("/v1/books").status_code == 401
    revoked_list = manager.get("/admin/people?status=revoked").text.split("<tbody>")[1]
    assert "malee" in revoked_list and "malee-machine" in revoked_list


def _people(db) -> list[dict]:
    with db.read() as connection:
        return people.list_people(connection, filters={}, after=0, limit=500)


def test_the_people_list_filters_by_role_name_and_status(manager, db):
    person(db, "gone", "auditor")
    with db.write() as connection:
        users.revoke_user(connection, next(p["id"] for p in _people(db) if p["name"] == "gone"), now=NOW)
    table = manager.get("/admin/people?role=auditor").text.split("<tbody>")[1]
    assert "auditor" in table and "gone" in table and ">officer<" not in table
    revoked = manager.get("/admin/people?status=revoked").text.split("<tbody>")[1]
    assert "gone" in revoked and ">auditor<" not in revoked
    active = manager.get("/admin/people?status=active&name=GON").text.split("<tbody>")[1]
    assert "ไม่พบผู้ใช้ที่ตรงกัน" in active
    first = manager.get("/admin/people?limit=2")
    assert "cursor=" in first.text


@pytest.mark.parametrize("role", ["officer", "approver", "auditor", "enterprise"])
def test_only_admins_see_the_administration(app, role):
    browser = signed_in(app, *ACCOUNTS[role])
    for path in ("/admin/people", "/admin/people/new", "/admin/people/1", "/admin/commands"):
        assert browser.get(path).status_code == 403, path
    refused = browser.post("/admin/people/new", {"name": "x", "role": "admin", "use": "person", "key": "k"},
                           form_page="/")  # fmt: skip
    assert refused.status_code == 403
    assert "/admin/people" not in browser.get("/").text


def test_the_menu_leads_an_admin_to_the_administration_and_the_parties(manager):
    menu = manager.get("/").text
    for path in ("/admin/people", "/admin/commands", "/office/parties", "/office/parties/new", "/audit/trail"):
        assert f'href="{path}"' in menu, path


# --- the audit trail, filtered ----------------------------------------------------------------------


def test_the_audit_trail_filters_by_person_action_and_day(app, manager, clock):
    add(manager, name="pranee", key="trail-1")
    auditor = signed_in(app, *ACCOUNTS["auditor"])
    by_manager = shown_text(auditor.get("/audit/trail?actor=manager").text.split("<tbody>")[1])
    assert "user.create" in by_manager and "session.sign-in" in by_manager and "officer" not in by_manager
    creations = auditor.get("/audit/trail?action=user.create").text.split("<tbody>")[1]
    assert "user.create" in creations and "session.sign-in" not in creations
    today = auditor.get("/audit/trail?action=user.create&date_from=14/6/2567&date_to=14/6/2567")
    assert "user.create" in today.text.split("<tbody>")[1]
    tomorrow = auditor.get("/audit/trail?action=user.create&date_from=15/6/2567")
    assert "ไม่พบบันทึกการตรวจสอบที่ตรงกัน" in tomorrow.text
    yesterday = auditor.get("/audit/trail?action=user.create&date_to=13/6/2567")
    assert "ไม่พบบันทึกการตรวจสอบที่ตรงกัน" in yesterday.text
    wrong = auditor.get("/audit/trail?actor=manager&date_from=14/6/2024")
    assert wrong.status_code == 422 and "2567" in shown_text(wrong.text) and 'value="14/6/2024"' in wrong.text
    assert manager.get("/audit/trail?actor=manager").status_code == 200


def test_older_records_keep_the_filter(app, manager, db):
    for n in range(26):
        assert add(manager, name=f"q{n}", key=f"many-{n}").status_code == 201
    page = manager.get("/audit/trail?action=user.create")
    older = re.search(r'href="/audit/trail\?([^"]+)"', page.text.split('id="records-heading"')[1]).group(1)
    assert "action=user.create" in older and "before=" in older
    rest = manager.get("/audit/trail?" + older.replace("&amp;", "&")).text.split("<tbody>")[1]
    assert "user.create" in rest and "session.sign-in" not in rest


def test_the_store_filters_the_trail_by_actor_action_and_moments(db):
    written = [("somsri", "party.create", NOW), ("malee", "party.create", NOW + timedelta(hours=1)),
               ("somsri", "user.revoke", NOW + timedelta(days=1))]  # fmt: skip
    with db.write() as connection:
        for actor, action, moment in written:
            audit_log.append_system(connection, actor=actor, action=action, target="t", request=b"r", entry_ids=[],
                                    now=moment)  # fmt: skip

    def found(**filters) -> list[tuple[str, str]]:
        with db.read() as connection:
            rows = audit_log.recent_records(connection, before=None, limit=100, filters=filters)
        return [(r["actor"], r["action"]) for r in rows]

    assert found(actor="somsri") == [("somsri", "user.revoke"), ("somsri", "party.create")]
    assert found(action="party.create") == [("malee", "party.create"), ("somsri", "party.create")]
    assert found(actor="somsri", action="party.create") == [("somsri", "party.create")]
    assert found(since=NOW + timedelta(hours=1)) == [("somsri", "user.revoke"), ("malee", "party.create")]
    assert found(until=NOW + timedelta(hours=1)) == [("somsri", "party.create")]
    assert found(since=NOW + timedelta(seconds=1), until=NOW + timedelta(days=1)) == [("malee", "party.create")]
    assert found(actor="nobody") == []


def test_the_api_gives_a_person_a_setup_code_and_a_machine_none(app, demo):
    api = Api(Browser(app).client, demo.admin_token)
    person_made = api.post("/v1/users", {"name": "kanya", "role": "officer"})
    machine_made = api.post("/v1/users", {"name": "feed", "role": "officer", "pages": False})
    assert person_made.status_code == machine_made.status_code == 201
    assert person_made.json()["setup_code"] and machine_made.json()["setup_code"] is None
    assert Browser(app).get(f"/setup?code={person_made.json()['setup_code']}").status_code == 200


def test_revoking_through_the_api_ends_the_sessions_too(app, db, demo):
    user_id = person(db, "somchai", "officer")
    somchai = signed_in(app, "somchai", PASSWORD)
    api = Api(Browser(app).client, demo.admin_token)
    assert api.post(f"/v1/users/{user_id}/revoke", {}).status_code == 204
    assert somchai.get("/").status_code == 303
    with db.read() as connection:
        sessions = connection.execute(select(WebSession.__table__.c.ended_at).where(
            WebSession.__table__.c.user_id == user_id)).scalars().all()  # fmt: skip
    assert sessions and all(sessions)


def test_a_threshold_proposed_through_the_api_is_approved_on_the_page(app, manager, demo):
    api = Api(Browser(app).client, demo.admin_token)
    fund = next(b for b in api.get("/v1/books").json()["data"] if b["kind"] == "fund")
    proposed = api.post("/v1/investment-settings", {"book_id": fund["id"], "approval_threshold": "50000.00"})
    assert proposed.status_code == 202
    waiting = manager.get("/admin/commands")
    assert "กำหนดวงเงินลงทุนที่ต้องอนุมัติเป็น 50,000.00 บาท" in shown_text(waiting.text)
    command_id = proposed.json()["id"]
    assert manager.post(f"/admin/commands/{command_id}/approval", {"key": "th"}, form_page="/admin/commands"
                        ).status_code == 303  # fmt: skip
    assert api.get(f"/v1/admin-commands/{command_id}").json()["status"] == "approved"


def test_a_second_admin_turns_a_proposal_down_and_nothing_is_made(manager, second_admin):
    assert add(manager, name="approver-4", role="approver", key="add-10").status_code == 202
    command_id = re.search(r'/admin/commands/(\d+)/withdrawal', manager.get("/admin/commands").text).group(1)
    down = second_admin.post(f"/admin/commands/{command_id}/rejection", {"key": "r1"}, form_page="/admin/commands")
    assert (down.status_code, down.headers["location"]) == (303, "/admin/commands")
    assert "approver-4" in manager.get("/admin/commands?status=rejected").text
    assert "approver-4" not in manager.get("/admin/people").text
