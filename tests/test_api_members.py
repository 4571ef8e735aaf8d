"""Parties as they are: a member belongs to an organisation (`member_of`), a party has a district,
and the database itself refuses a member without its organisation, a `member_of` on another kind,
an organisation that people cannot belong to, and a kind it does not know."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.parties import KIND_LABELS, MEMBER_ORGANISATION_KINDS, PartyKind, may_have_members
from tests.conftest import make_user


def made(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def refused(response, status: int, reason: str) -> None:
    assert (response.status_code, response.json()["reason"]) == (status, reason), response.text


@pytest.fixture
def group(api) -> dict:
    return made(api.post("/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์บ้านดง", "region": "north",
                                         "province": "เชียงราย", "district": "แม่สาย"}))  # fmt: skip


def test_a_member_of_a_savings_group_in_a_district(api, group):
    assert group["district"] == "แม่สาย" and group["member_of"] is None
    member = made(api.post("/v1/parties", {"kind": "member", "name_th": "นางสมศรี ดีใจ", "member_of": group["id"],
                                           "district": "แม่สาย"}))  # fmt: skip
    assert (member["kind"], member["member_of"]) == ("member", group["id"])
    assert api.get(f"/v1/parties/{member['id']}").json() == member
    members = api.get("/v1/parties", member_of=group["id"]).json()["data"]
    assert [p["id"] for p in members] == [member["id"]]
    in_district = api.get("/v1/parties", district="แม่สาย").json()["data"]
    assert {p["id"] for p in in_district} == {group["id"], member["id"]}
    assert api.get("/v1/parties", district="เมือง").json()["data"] == []


def test_a_member_needs_an_organisation_that_has_members(api, group):
    centre = made(api.post("/v1/parties", {"kind": "incubation_centre", "name_th": "ศูนย์"}))
    refused(api.post("/v1/parties", {"kind": "member", "name_th": "ก"}), 422, "invalid_member_of")
    refused(api.post("/v1/parties", {"kind": "member", "name_th": "ก", "member_of": centre["id"]}), 422,
            "invalid_member_of")  # fmt: skip
    refused(api.post("/v1/parties", {"kind": "network", "name_th": "ก", "member_of": group["id"]}), 422,
            "invalid_member_of")  # fmt: skip
    refused(api.post("/v1/parties", {"kind": "member", "name_th": "ก", "member_of": 987654}), 404, "not_found")
    member = made(api.post("/v1/parties", {"kind": "member", "name_th": "ข", "member_of": group["id"]}))
    refused(api.post("/v1/parties", {"kind": "member", "name_th": "ค", "member_of": member["id"]}), 422,
            "invalid_member_of")  # fmt: skip


def patch(api, party_id: int, body: dict):
    return api.client.patch(f"/v1/parties/{party_id}", json=body, headers=api.headers())


def test_a_change_keeps_members_with_their_organisation(api, group):
    cooperative = made(api.post("/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์เคหสถานบ้านมั่นคง"}))
    member = made(api.post("/v1/parties", {"kind": "member", "name_th": "ข", "member_of": group["id"]}))
    moved = patch(api, member["id"], {"member_of": cooperative["id"], "district": "เมือง"})
    assert (moved.status_code, moved.json()["member_of"], moved.json()["district"]) == (200, cooperative["id"], "เมือง")
    refused(patch(api, member["id"], {"member_of": None}), 422, "invalid_member_of")
    refused(patch(api, member["id"], {"kind": "other"}), 422, "invalid_member_of")
    left = patch(api, member["id"], {"kind": "other", "member_of": None})
    assert (left.status_code, left.json()["member_of"]) == (200, None)
    back = patch(api, member["id"], {"kind": "member", "member_of": group["id"]})
    assert back.status_code == 200, back.text
    refused(patch(api, group["id"], {"kind": "government"}), 409, "organisation_has_members")
    assert patch(api, group["id"], {"kind": "network"}).status_code == 200  # a kind that has members
    refused(patch(api, member["id"], {"member_of": member["id"]}), 422, "invalid_member_of")


def test_only_staff_register_members_and_an_enterprise_sees_only_itself(api, db, group):
    member = made(api.post("/v1/parties", {"kind": "member", "name_th": "ข", "member_of": group["id"]}))
    enterprise = api.as_(make_user(db, "group-token", "enterprise", party_id=group["id"]))
    assert [p["id"] for p in enterprise.get("/v1/parties", member_of=group["id"]).json()["data"]] == []
    assert enterprise.get(f"/v1/parties/{member['id']}").status_code == 404


def raw(db, statement: str, **values) -> None:
    with db.write() as connection:
        connection.execute(text(statement), values)


@pytest.mark.parametrize("statement", [
    "INSERT INTO party (kind, name_th, created_at) VALUES ('member', 'x', '2024-06-01')",
    "INSERT INTO party (kind, name_th, created_at) VALUES ('person', 'x', '2024-06-01')",
    "INSERT INTO party (kind, name_th, member_of, created_at) VALUES ('network', 'x', :group, '2024-06-01')",
    "INSERT INTO party (kind, name_th, member_of, created_at) VALUES ('member', 'x', :centre, '2024-06-01')",
    "UPDATE party SET member_of = :centre WHERE id = :member",
    "UPDATE party SET kind = 'government' WHERE id = :group",
])  # fmt: skip
def test_the_database_refuses_what_the_store_refuses(api, db, group, statement):
    centre = made(api.post("/v1/parties", {"kind": "incubation_centre", "name_th": "ศูนย์"}))
    member = made(api.post("/v1/parties", {"kind": "member", "name_th": "ข", "member_of": group["id"]}))
    with pytest.raises(DBAPIError):
        raw(db, statement, group=group["id"], centre=centre["id"], member=member["id"])


def test_every_kind_has_english_and_thai_words_and_the_organisations_are_groups():
    assert set(KIND_LABELS) == set(PartyKind)
    assert all(label.en and label.th and label.th != label.en for label in KIND_LABELS.values())
    assert MEMBER_ORGANISATION_KINDS == {PartyKind.savings_group, PartyKind.cooperative, PartyKind.network,
                                        PartyKind.community_enterprise, PartyKind.welfare_fund}  # fmt: skip
    assert not may_have_members(PartyKind.member) and not may_have_members(PartyKind.local_authority)
