"""The officer's parties through the real app, over the demo: registering and changing a party
from the pages (the API's audited write, once however often the form is sent), refusals in Thai
beside the field with what was typed kept, national IDs masked as the API masks them, the list's
filters, the party's page, who may see and write; and the API's change of a party
(PATCH /v1/parties/{id}) and the store function under it."""

import re

import pytest

from api.personal import valid_national_id
from ledger.errors import Rejection
from store import audit_log, books
from tests.conftest import NOW, Api, attempt, make_user
from tests.test_web_audit import shown_text
from tests.test_web_sessions import Browser, csrf_of
from tests.web_helpers import PEOPLE, signed_in

NATIONAL_ID = "1101700230708"
MASKED = "*********0708"


def national_id(first_twelve: str) -> str:
    """A valid Thai identification number from its first twelve digits."""
    return next(n for n in (first_twelve + str(d) for d in range(10)) if valid_national_id(n))


@pytest.fixture
def officer(app) -> Browser:
    return signed_in(app, PEOPLE["officer"])


@pytest.fixture
def api(app, db) -> Api:
    return Api(Browser(app).client, make_user(db, "api-officer", "officer"))


def party_form(**typed) -> dict:
    return {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์บ้านหนองโพ", "name_en": "", "region": "north",
            "province": "นครสวรรค์", "centre_id": "", "national_id": "", "contact": "", "key": "form-1",
            **typed}  # fmt: skip


def register(browser: Browser, **typed):
    return browser.post("/office/parties/new", party_form(**typed), form_page="/office/parties/new")


def audit_of(db, action: str) -> list[dict]:
    with db.read() as connection:
        return [r for r in audit_log.list_records(connection, after=0, limit=500) if r["action"] == action]


def test_an_officer_registers_a_savings_group_once_however_often_the_form_is_sent(officer, api, db, demo):
    centre = api.get("/v1/parties", kind="incubation_centre").json()["data"][0]["id"]
    saved = register(officer, centre_id=str(centre), contact="คุณสมศรี 081-234-5678")
    assert saved.status_code == 303
    party_id = int(re.fullmatch(r"/office/parties/(\d+)\?saved=1", saved.headers["location"]).group(1))
    again = register(officer, centre_id=str(centre), contact="คุณสมศรี 081-234-5678")
    assert again.headers["location"] == saved.headers["location"]
    party = api.get(f"/v1/parties/{party_id}").json()
    assert (party["kind"], party["name_th"], party["region"], party["province"], party["centre_id"]) == (
        "savings_group", "กลุ่มออมทรัพย์บ้านหนองโพ", "north", "นครสวรรค์", centre)
    assert len(api.get("/v1/parties", name="หนองโพ").json()["data"]) == 1
    created = audit_of(db, "party.create")
    assert [(r["actor"], r["target"]) for r in created if r["actor"] == "officer"] == [("officer", f"party:{party_id}")]
    page = officer.get(saved.headers["location"])
    assert page.status_code == 200 and "บันทึกข้อมูลภาคีแล้ว" in page.text and "กลุ่มออมทรัพย์" in page.text


def test_a_refused_party_says_why_in_thai_beside_the_field_and_keeps_what_was_typed(officer, api):
    before = len(api.get("/v1/parties", limit=500).json()["data"])
    refused = register(officer, name_th="  ", national_id="1234567890123", province="กำแพงเพชร", key="form-2")
    assert refused.status_code == 422
    text = shown_text(refused.text)
    assert "กรอกชื่อภาษาไทย" in text and "เลขประจำตัวประชาชนมี 13 หลัก" in text
    for field in ("name_th", "national_id"):
        assert f'id="{field}-error"' in refused.text
        assert re.search(rf'aria-describedby="[^"]*{field}-error" aria-invalid="true"', refused.text), field
    assert 'value="กำแพงเพชร"' in refused.text and 'value="1234567890123"' in refused.text
    assert 'value="savings_group" checked' in refused.text
    unknown_kind = register(officer, kind="bank", key="form-3")
    assert unknown_kind.status_code == 422 and "เลือกประเภทของภาคี" in shown_text(unknown_kind.text)
    assert len(api.get("/v1/parties", limit=500).json()["data"]) == before


def test_a_national_id_another_party_has_is_refused_beside_the_field(officer):
    assert register(officer, national_id=NATIONAL_ID, key="form-4").status_code == 303
    twin = register(officer, name_th="กลุ่มที่สอง", national_id="1-1017-00230-70-8", key="form-5")
    assert twin.status_code == 409 and "มีภาคีอื่นใช้เลขประจำตัวประชาชนนี้แล้ว" in shown_text(twin.text)
    assert 'value="1-1017-00230-70-8"' in twin.text


def test_an_officer_changes_a_party_and_the_change_is_audited(officer, api, db):
    party_id = api.post("/v1/parties", {"kind": "network", "name_th": "เครือข่ายเดิม", "province": "ตาก"}).json()["id"]
    form = officer.get(f"/office/parties/{party_id}/edit")
    assert form.status_code == 200 and 'value="เครือข่ายเดิม"' in form.text and 'value="ตาก"' in form.text
    key = re.search(r'name="key" value="([0-9a-f]+)"', form.text).group(1)
    typed = party_form(kind="network", name_th="เครือข่ายใหม่", province="", region="west", key=key)
    changed = officer.post(f"/office/parties/{party_id}/edit", typed, token=csrf_of(form))
    assert (changed.status_code, changed.headers["location"]) == (303, f"/office/parties/{party_id}?saved=1")
    party = api.get(f"/v1/parties/{party_id}").json()
    assert (party["name_th"], party["province"], party["region"]) == ("เครือข่ายใหม่", None, "west")
    assert [r["target"] for r in audit_of(db, "party.update")] == [f"party:{party_id}"]
    refused = officer.post(f"/office/parties/{party_id}/edit", {**typed, "name_th": "", "key": "k2"},
                           token=csrf_of(form))  # fmt: skip
    assert refused.status_code == 422 and "กรอกชื่อภาษาไทย" in shown_text(refused.text)
    assert api.get(f"/v1/parties/{party_id}").json()["name_th"] == "เครือข่ายใหม่"


def test_a_party_is_not_its_own_centre(officer, api):
    centre = api.get("/v1/parties", kind="incubation_centre").json()["data"][0]["id"]
    form = officer.get(f"/office/parties/{centre}/edit")
    typed = party_form(kind="incubation_centre", centre_id=str(centre), key="own-centre")
    refused = officer.post(f"/office/parties/{centre}/edit", typed, token=csrf_of(form))
    assert refused.status_code == 422 and "ภาคีเป็นศูนย์ของตนเองไม่ได้" in shown_text(refused.text)


def test_national_ids_are_masked_on_the_pages_for_every_role_but_admin(app, officer):
    assert register(officer, national_id=NATIONAL_ID, contact="คุณมาลี", key="form-6").status_code == 303
    party_id = re.search(r'href="/office/parties/(\d+)"', officer.get("/office/parties?name=หนองโพ").text).group(1)
    for role, shown in (("officer", MASKED), ("approver", MASKED), ("admin", NATIONAL_ID)):
        browser = officer if role == "officer" else signed_in(app, PEOPLE[role])
        page = browser.get(f"/office/parties/{party_id}")
        assert page.status_code == 200
        assert shown in page.text and (role == "admin" or NATIONAL_ID not in page.text), role
        export = browser.get(f"/office/parties/{party_id}/export.json")
        assert export.json()["party"]["national_id"] == shown and (role == "admin" or NATIONAL_ID not in export.text)
    edit = officer.get(f"/office/parties/{party_id}/edit")
    assert MASKED in edit.text and NATIONAL_ID not in edit.text


def test_the_list_filters_by_kind_region_province_centre_and_name(officer, api):
    api.post("/v1/parties", {"kind": "welfare_fund", "name_th": "กองทุนสวัสดิการชุมชนตำบลท่าตะโก",
                             "region": "central", "province": "Nakhon Sawan"})  # fmt: skip
    everyone = officer.get("/office/parties")
    assert everyone.status_code == 200 and "เครือข่ายองค์กรชุมชนภาคเหนือ" in everyone.text
    for query, present, absent in [
        ("kind=savings_group", "กลุ่มออมทรัพย์เพื่อการผลิตบ้านเขาดิน", "เครือข่ายองค์กรชุมชนภาคเหนือ"),
        ("region=central", "ท่าตะโก", "เขาดิน"),
        ("province=Chiang+Mai", "เครือข่ายองค์กรชุมชนภาคเหนือ", "ท่าตะโก"),
        ("name=ท่าตะ", "ท่าตะโก", "เครือข่ายองค์กรชุมชนภาคเหนือ"),
        ("name=ORGANIC", "ข้าวอินทรีย์", "ท่าตะโก"),
        ("centre_id=1", "สหกรณ์เคหสถาน", "ท่าตะโก"),
    ]:  # fmt: skip
        page = officer.get(f"/office/parties?{query}")
        table = page.text.split("<tbody>")[1]
        assert page.status_code == 200 and present in table and absent not in table, query
    first = officer.get("/office/parties?limit=2")
    assert "cursor=" in first.text
    more = re.search(r'href="/office/parties\?([^"]+)"', first.text.split("</table>")[1]).group(1)
    assert "เครือข่ายองค์กรชุมชนภาคเหนือ" not in officer.get(f"/office/parties?{more.replace('&amp;', '&')}").text


def test_the_party_page_shows_its_books_loans_shares_and_welfare_contributions(officer, demo):
    page = officer.get(f"/office/parties/{demo.enterprise_party_id}")
    assert page.status_code == 200
    assert re.search(r'href="/office/loans/\d+"', page.text)
    assert f'href="/office/enterprises/{demo.enterprise_party_id}/shares"' in page.text
    welfare = page.text.split('id="welfare-heading"')[1].split("</section>")[0]
    assert "<td class=\"num\">" in welfare and "กองทุนสวัสดิการ" in welfare
    assert "CE-KHAODIN-RICE" in page.text.split('id="books-heading"')[1].split("</section>")[0]
    assert "ดาวน์โหลดข้อมูล (JSON)" in page.text


@pytest.mark.parametrize("role", ["auditor", "enterprise"])
def test_those_who_do_not_deal_with_parties_are_refused(app, role):
    browser = signed_in(app, PEOPLE[role])
    for path in ("/office/parties", "/office/parties/1", "/office/parties/new", "/office/parties/1/edit",
                 "/office/parties/1/export.json"):  # fmt: skip
        assert browser.get(path).status_code == 403, path


def test_an_approver_sees_the_parties_but_may_not_register_or_change_one(app, api):
    approver = signed_in(app, PEOPLE["approver"])
    assert approver.get("/office/parties").status_code == 200
    assert "/office/parties/new" not in approver.get("/office/parties").text
    assert approver.get("/office/parties/1").status_code == 200
    assert approver.get("/office/parties/new").status_code == 403
    assert approver.get("/office/parties/1/edit").status_code == 403
    refused = approver.post("/office/parties/new", party_form(), form_page="/office/parties")
    assert refused.status_code == 403 and "หนองโพ" not in str(api.get("/v1/parties", limit=500).json())


# --- the API's change of a party, and the store's -----------------------------------------------


def patch(api: Api, party_id: int, body: dict, key: str | None = None):
    return api.client.patch(f"/v1/parties/{party_id}", json=body, headers=api.headers(key))


def test_the_api_changes_only_the_fields_sent_once_per_key(api, db):
    party_id = api.post("/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์เดิม", "name_en": "Old",
                                        "province": "ลำปาง", "contact": "คุณเก่ง"}).json()["id"]  # fmt: skip
    changed = patch(api, party_id, {"name_th": "สหกรณ์ใหม่", "name_en": None}, key="change-1")
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("name_th", "name_en", "province", "contact")} == {
        "name_th": "สหกรณ์ใหม่", "name_en": None, "province": "ลำปาง", "contact": "คุณเก่ง"}
    replayed = patch(api, party_id, {"name_th": "สหกรณ์ใหม่", "name_en": None}, key="change-1")
    assert replayed.headers.get("Idempotent-Replayed") == "true" and replayed.json() == changed.json()
    assert patch(api, party_id, {"name_th": "อื่น"}, key="change-1").status_code == 409
    assert [r["outcome"] for r in audit_of(db, "party.update")] == ["ok", "refused: idempotency_key_reused"]


def test_the_api_refuses_an_emptied_name_an_unknown_field_and_a_taken_national_id(api):
    first = api.post("/v1/parties", {"kind": "network", "name_th": "หนึ่ง", "national_id": NATIONAL_ID}).json()
    second = api.post("/v1/parties", {"kind": "network", "name_th": "สอง"}).json()
    assert patch(api, second["id"], {"name_th": None}).status_code == 422
    assert patch(api, second["id"], {"kind": None}).status_code == 422
    assert patch(api, second["id"], {"known_duplicate": True}).status_code == 422
    assert patch(api, second["id"], {"national_id": "1234567890123"}).status_code == 422
    taken = patch(api, second["id"], {"national_id": NATIONAL_ID})
    assert (taken.status_code, taken.json()["reason"]) == (409, "duplicate_national_id")
    assert patch(api, first["id"], {"national_id": NATIONAL_ID}).status_code == 200  # its own number again
    other = national_id("310170023070")
    assert patch(api, second["id"], {"national_id": other}).json()["national_id"] == "*********" + other[-4:]
    assert patch(api, 999_999, {"name_th": "ไม่มี"}).status_code == 404


@pytest.mark.parametrize("role", ["approver", "auditor"])
def test_only_officers_and_admins_change_a_party_through_the_api(api, db, role):
    party_id = api.post("/v1/parties", {"kind": "network", "name_th": "เครือข่าย"}).json()["id"]
    assert patch(api.as_(make_user(db, f"api-{role}", role)), party_id, {"name_th": "x"}).status_code == 403


def test_an_enterprise_token_cannot_change_even_its_own_party(api, db, demo):
    token = make_user(db, "api-rice", "enterprise", demo.enterprise_party_id)
    assert patch(api.as_(token), demo.enterprise_party_id, {"name_th": "x"}).status_code == 403


def test_the_store_changes_a_party_and_refuses_what_it_must(db):
    with db.write() as connection:
        centre = books.create_party(connection, {"kind": "incubation_centre", "name_th": "ศูนย์"}, now=NOW)
        party = books.create_party(connection, {"kind": "network", "name_th": "ก", "national_id": NATIONAL_ID},
                                   now=NOW)  # fmt: skip
        other = books.create_party(connection, {"kind": "network", "name_th": "ข"}, now=NOW)
        changed = books.update_party(connection, party["id"], {"centre_id": centre["id"], "province": "ตาก"})
    assert (changed["centre_id"], changed["province"], changed["name_th"]) == (centre["id"], "ตาก", "ก")
    attempt(db, lambda c: books.update_party(c, other["id"], {"national_id": NATIONAL_ID}),
            Rejection.duplicate_national_id)  # fmt: skip
    attempt(db, lambda c: books.update_party(c, party["id"], {"centre_id": party["id"]}), Rejection.invalid_request)
    attempt(db, lambda c: books.update_party(c, party["id"], {"centre_id": 999_999}), Rejection.not_found)
    attempt(db, lambda c: books.update_party(c, 999_999, {"name_th": "x"}), Rejection.not_found)
    with db.read() as connection:
        assert books.get_party(connection, other["id"])["national_id"] is None


def test_an_officer_registers_a_member_of_a_group_in_a_district_and_the_page_says_it_in_thai(officer, api):
    group = api.post("/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์บ้านดอน"}).json()
    refused = register(officer, kind="member", name_th="นายแดง ใจดี", key="member-0")
    assert refused.status_code == 422 and "กรอกเลขที่ขององค์กรนั้น" in shown_text(refused.text)
    assert 'value="นายแดง ใจดี"' in refused.text
    saved = register(officer, kind="member", name_th="นายแดง ใจดี", district="ตาคลี", member_of=str(group["id"]),
                     key="member-1")  # fmt: skip
    assert saved.status_code == 303, saved.text
    member = api.get("/v1/parties", member_of=group["id"]).json()["data"]
    assert [(p["name_th"], p["district"]) for p in member] == [("นายแดง ใจดี", "ตาคลี")]
    page = officer.get(saved.headers["location"]).text
    assert "สมาชิก" in page and "อำเภอ" in page and "ตาคลี" in page and "เป็นสมาชิกของ" in page
    assert f'href="/office/parties/{group["id"]}"' in page and "member" not in shown_text(page).split()
    group_page = officer.get(f"/office/parties/{group['id']}").text
    assert f'href="/office/parties?member_of={group["id"]}"' in group_page and "กลุ่มออมทรัพย์" in group_page
    members = officer.get(f"/office/parties?member_of={group['id']}").text.split("<tbody>")[1]
    assert "นายแดง ใจดี" in members and "บ้านดอน" not in members
    in_district = officer.get("/office/parties?district=ตาคลี").text.split("<tbody>")[1]
    assert "นายแดง ใจดี" in in_district and "ตาคลี" in in_district
    officer.post("/language", {"language": "en", "next": "/office/parties"}, form_page="/office/parties")
    english = officer.get(saved.headers["location"]).text
    assert "Member of" in english and "District" in english and "<p>Member</p>" in english
    assert "Savings group" in officer.get("/office/parties").text


def test_the_export_says_the_kind_region_and_fields_in_thai_and_english(officer, api):
    party = api.post("/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์เคหสถานบ้านมั่นคง", "region": "south"})
    export = api.get(f"/v1/parties/{party.json()['id']}/export").json()
    assert export["words"]["kind"] == {"en": "Housing cooperative", "th": "สหกรณ์เคหสถาน"}
    assert export["words"]["region"] == {"en": "South", "th": "ภาคใต้"}
    assert set(export["party"]) <= set(export["words"]["fields"])
    assert export["words"]["fields"]["district"]["th"] == "อำเภอ"
