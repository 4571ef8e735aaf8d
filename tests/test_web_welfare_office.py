"""The fund officer's welfare-fund pages through the real app, on the demo: the receivables and
their ageing, the money by source, the benefits and the administration cap are the API's
figures; a rule is made and ended, a settlement recorded and reversed with its reason, each the
API's audited write (a form sent twice is one write), a refused form keeps what was typed with
the API's reason beside the field; the cap changes only through the admin command."""

from tests.test_web_sessions import csrf_of
from tests.web_helpers import ADMIN, AUDITOR, OFFICER, api_get, key_of, signed_in


def fund_id(app, demo) -> int:
    rules = api_get(app, demo, f"/v1/contribution-rules?enterprise_party_id={demo.enterprise_party_id}")
    return rules["data"][0]["fund_party_id"]


def test_the_funds_figures_are_the_apis(app, demo):
    fund = fund_id(app, demo)
    for person in (OFFICER, AUDITOR):
        page = signed_in(app, person).get(f"/office/welfare/funds/{fund}?as_of=14/06/2567")
        assert page.status_code == 200
        receivables = api_get(app, demo, f"/v1/welfare-funds/{fund}/receivables?as_of=2024-06-14")
        assert f"{float(receivables['total']):,.2f}" in page.text
        for age, amount in receivables["data"][0]["by_age"].items():
            assert f"{float(amount):,.2f}" in page.text, age
        statement = api_get(app, demo, f"/v1/welfare-funds/{fund}/statement?from=2023-10-01&to=2024-06-14")
        assert f"{float(statement['total_inflows']):,.2f}" in page.text
        costs = api_get(app, demo, f"/v1/welfare-funds/{fund}/administration-costs")
        assert f"{float(costs['cap']['cap']):,.2f}" in page.text
        assert "<svg" in page.text and "สมาชิก" in page.text
    assert signed_in(app, OFFICER).get("/office/welfare").status_code == 200


def test_a_rule_is_made_and_ended_and_an_overlapping_one_is_refused_beside_its_date(app, demo):
    officer = signed_in(app, OFFICER)
    fund, enterprise = fund_id(app, demo), demo.enterprise_party_id
    page = officer.get("/office/welfare/rules")
    typed = {"key": key_of(page), "enterprise_party_id": str(enterprise), "fund_party_id": str(fund),
             "rate_percent": "3", "channel": "online_shop", "effective_from": "01/06/2567", "effective_to": ""}
    made = officer.post("/office/welfare/rules", typed, token=csrf_of(page))
    again = officer.post("/office/welfare/rules", typed, token=csrf_of(page))
    assert made.status_code == again.status_code == 303
    rules = api_get(app, demo, f"/v1/contribution-rules?enterprise_party_id={enterprise}")["data"]
    assert [r["channel"] for r in rules].count("online_shop") == 1
    overlapping = officer.post("/office/welfare/rules", {**typed, "key": "another"}, token=csrf_of(page))
    assert overlapping.status_code == 409 or overlapping.status_code == 422
    assert 'value="01/06/2567"' in overlapping.text and 'id="effective_from-error"' in overlapping.text
    rule = next(r for r in rules if r["channel"] == "online_shop")
    form = officer.get(f"/office/welfare/rules/{rule['id']}/end")
    ended = officer.post(f"/office/welfare/rules/{rule['id']}/end", {"key": key_of(form), "effective_to": "30/06/2567"},
                         token=csrf_of(form))  # fmt: skip
    assert ended.status_code == 303
    assert api_get(app, demo, f"/v1/contribution-rules/{rule['id']}")["effective_to"] == "2024-06-30"


def test_a_settlement_is_recorded_and_reversed_with_its_reason(app, demo):
    officer = signed_in(app, OFFICER)
    fund, enterprise = fund_id(app, demo), demo.enterprise_party_id
    page = officer.get("/office/welfare/settlements")
    typed = {"key": key_of(page), "enterprise_party_id": str(enterprise), "fund_party_id": str(fund),
             "amount": "100.00", "effective_date": "14/06/2567", "advance": "no", "reference": "ใบเสร็จ 002"}
    too_much = officer.post("/office/welfare/settlements", {**typed, "amount": "99,999.00"}, token=csrf_of(page))
    assert too_much.status_code in (409, 422) and 'value="99,999.00"' in too_much.text
    recorded = officer.post("/office/welfare/settlements", typed, token=csrf_of(page))
    assert recorded.status_code == 303
    settlements = api_get(app, demo, f"/v1/settlements?fund_party_id={fund}")["data"]
    mine = next(s for s in settlements if s["reference"] == "ใบเสร็จ 002")
    listed = officer.get(f"/office/welfare/settlements?fund={fund}")
    assert "ใบเสร็จ 002" in listed.text
    form = officer.get(f"/office/welfare/settlements/{mine['id']}/reversal")
    blank = officer.post(f"/office/welfare/settlements/{mine['id']}/reversal", {"key": key_of(form), "reason": ""},
                         token=csrf_of(form))  # fmt: skip
    assert blank.status_code == 422
    reversed_ = officer.post(f"/office/welfare/settlements/{mine['id']}/reversal",
                             {"key": key_of(form), "reason": "ผิดจำนวน"}, token=csrf_of(form))  # fmt: skip
    assert reversed_.status_code == 303
    assert api_get(app, demo, f"/v1/settlements?fund_party_id={fund}")["data"][-1]["reversal"]["reason"] == "ผิดจำนวน"


def test_the_cap_changes_only_through_the_admin_command(app, demo):
    fund = fund_id(app, demo)
    assert signed_in(app, OFFICER).post(f"/office/welfare/funds/{fund}/settings", {"key": "k"}).status_code == 403
    admin = signed_in(app, ADMIN)
    page = admin.get(f"/office/welfare/funds/{fund}")
    proposed = admin.post(f"/office/welfare/funds/{fund}/settings", {"key": key_of(page), "admin_cap_percent": "15",
                          "member_daily": "1.00"}, token=csrf_of(page))  # fmt: skip
    assert proposed.status_code == 303
    assert api_get(app, demo, f"/v1/welfare-funds/{fund}/settings")["admin_cap_percent"] == "20"
    commands = api_get(app, demo, "/v1/admin-commands")
    assert any(c["kind"] == "welfare.settings" for c in commands["data"])
