"""The three tiers' pages through the real app, over the demo and a cooperative with its own book
(tests/tiers_pages_fixtures.py): the office's organisation page shows the API's figures (members'
savings and arrears, member loans, the rules, the month with CODI and its shortfall); its forms
(a remittance, a deposit or withdrawal, a month's deposits) are the API's writes, recorded once
however often sent, and a refusal shows its Thai reason beside the field with what was typed;
the look-through and the reconciliation, an organisation whose books differ marked; a member's
person sees their own savings and loans, and another member's page is 404."""

import pytest
from fastapi.testclient import TestClient

from tests.test_web_sessions import csrf_of
from tests.tiers_pages_fixtures import MEMBER_PASSWORD, cooperative
from tests.web_helpers import AUDITOR, OFFICER, api_get, key_of, signed_in


@pytest.fixture
def coop(app, db, demo):
    return cooperative(app, db, demo)


def test_the_organisation_page_shows_the_apis_figures(app, demo, coop):
    page = signed_in(app, AUDITOR).get(f"/office/organisations/{coop.id}?month=2024-05")
    assert page.status_code == 200
    month = api_get(app, demo, f"/v1/organisations/{coop.id}/remittances/2024-05")
    assert (month["shortfall"], month["collected"]) == (month["due"], "0.00") and month["due"] != "0.00"
    assert f"{float(month['shortfall']):,.2f}" in page.text and "ยอดขาด" in page.text
    saved = api_get(app, demo, f"/v1/organisations/{coop.id}/savings")
    assert f"{float(saved['total']):,.2f}" in page.text and "5,000.00" in page.text
    assert [m["in_arrears"] for m in saved["members"]] == [True, False] and "ค้างชำระ" in page.text
    assert f'href="/office/loans/{coop.member_loan}"' in page.text
    assert "200.00" in page.text  # the rule's monthly deposit
    assert "?month=2024-04" in page.text and "?month=2024-06" in page.text  # the months either side
    assert 'method="post" action="/office/organisations' not in page.text  # an auditor reads, and writes nothing
    officer = signed_in(app, OFFICER)
    assert officer.get("/office/organisations/999999").status_code == 404
    assert officer.get(f"/office/organisations/{demo.enterprise_party_id}").status_code == 404  # keeps no such book
    party = officer.get(f"/office/parties/{coop.id}")
    assert f'href="/office/organisations/{coop.id}"' in party.text


def test_a_remittance_is_recorded_once_and_a_bad_one_refused_in_thai(app, demo, coop):
    officer = signed_in(app, OFFICER)
    page = officer.get(f"/office/organisations/{coop.id}?month=2024-05")
    due = api_get(app, demo, f"/v1/organisations/{coop.id}/remittances/2024-05")["due"]
    typed = {"key": key_of(page), "codi_loan_id": str(coop.codi_loan), "paid_on": "31/05/2567",
             "remit_amount": due, "from_reserve": "1,000.00"}  # fmt: skip
    path = f"/office/organisations/{coop.id}/remittances?month=2024-05"
    wrong_month = officer.post(path, {**typed, "paid_on": "03/06/2567"}, token=csrf_of(page))
    assert wrong_month.status_code == 422 and 'value="03/06/2567"' in wrong_month.text
    assert 'id="paid_on-error"' in wrong_month.text and "วันที่ชำระไม่อยู่ในเดือนที่ระบุ" in wrong_month.text
    first = officer.post(path, typed, token=csrf_of(page))
    again = officer.post(path, typed, token=csrf_of(page))
    assert first.status_code == again.status_code == 303
    month = api_get(app, demo, f"/v1/organisations/{coop.id}/remittances/2024-05")
    assert (month["remitted"], month["from_reserve"]) == (due, "1000.00")  # once
    shown = officer.get(first.headers["location"])
    assert "บันทึกการชำระเงินให้ พอช. แล้ว" in shown.text


def test_a_deposit_and_a_refused_withdrawal(app, demo, coop):
    officer = signed_in(app, OFFICER)
    page = officer.get(f"/office/organisations/{coop.id}")
    path = f"/office/organisations/{coop.id}/savings"
    typed = {"key": key_of(page), "member_id": str(coop.members[1]), "direction": "deposit", "amount": "250.00",
             "effective_date": "14/06/2567"}  # fmt: skip
    assert officer.post(path, typed, token=csrf_of(page)).status_code == 303
    assert officer.post(path, typed, token=csrf_of(page)).status_code == 303
    assert api_get(app, demo, f"/v1/organisations/{coop.id}/savings/members/{coop.members[1]}")["balance"] == "1250.00"
    in_arrears = {**typed, "key": "withdraw-1", "member_id": str(coop.members[0]), "direction": "withdrawal"}
    refused = officer.post(path, in_arrears, token=csrf_of(page))
    assert refused.status_code == 409 or refused.status_code == 422
    assert 'id="direction-error"' in refused.text and "ถอนเงินออมไม่ได้ระหว่างค้างชำระเงินกู้" in refused.text
    below = officer.post(path, {**in_arrears, "key": "withdraw-2", "member_id": str(coop.members[1]),
                                "amount": "1,200.00"}, token=csrf_of(page))  # fmt: skip
    assert 'id="amount-error"' in below.text and "เงินออมจะต่ำกว่ายอดขั้นต่ำ" in below.text
    assert 'value="1,200.00"' in below.text
    stranger = officer.post(path, {**typed, "key": "stranger", "member_id": str(coop.other_member)},
                            token=csrf_of(page))  # fmt: skip
    assert stranger.status_code == 422 and "ไม่ใช่สมาชิกขององค์กร" in stranger.text
    assert api_get(app, demo, f"/v1/organisations/{coop.id}/savings/members/{coop.members[1]}")["balance"] == "1250.00"


def test_a_months_deposits_from_one_form_all_or_nothing(app, demo, coop):
    officer = signed_in(app, OFFICER)
    page = officer.get(f"/office/organisations/{coop.id}")
    first, second = coop.members
    assert page.text.count('value="200.00"') == 2  # each member's field: the rule's monthly deposit
    path = f"/office/organisations/{coop.id}/savings/month"
    typed = {"key": key_of(page), "bulk_date": "14/06/2567", f"amount-{first}": "200.00", f"amount-{second}": "abc"}
    unreadable = officer.post(path, typed, token=csrf_of(page))
    assert unreadable.status_code == 422 and f'id="amount-{second}-error"' in unreadable.text
    typed[f"amount-{second}"] = "300.00"
    assert officer.post(path, typed, token=csrf_of(page)).status_code == 303
    assert officer.post(path, typed, token=csrf_of(page)).status_code == 303
    saved = api_get(app, demo, f"/v1/organisations/{coop.id}/savings")["members"]
    members = {m["member_id"]: m["balance"] for m in saved}
    assert members == {first: "5200.00", second: "1300.00"}
    future = officer.post(path, {**typed, "key": "later", "bulk_date": "15/06/2567"}, token=csrf_of(page))
    assert future.status_code == 422 and 'id="bulk_date-error"' in future.text


def test_the_look_through_and_the_reconciliation(app, demo, coop):
    page = signed_in(app, AUDITOR).get("/office/look-through")
    assert page.status_code == 200
    report = api_get(app, demo, f"/v1/reports/look-through?organisation_id={coop.id}")["organisations"][0]
    assert f'href="/office/organisations/{coop.id}"' in page.text
    assert f"{float(report['outstanding']):,.2f}" in page.text and "ตามภาค" in page.text
    [line] = api_get(app, demo, "/v1/reports/tier-reconciliation")["organisations"]
    assert not line["differs"] and "ตรงกัน" in page.text and 'class="differs"' not in page.text
    assert "/office/look-through" in signed_in(app, OFFICER).get("/").text
    codes = {a["code"]: a["id"] for a in api_get(app, demo, f"/v1/books/{coop.book_id}/accounts?limit=200")["data"]}
    by_hand = {"book_id": coop.book_id, "effective_date": "2024-06-14", "description": "ลงบัญชีผิด",
               "postings": [{"account_id": codes["1100"], "amount": "100.00"},
                            {"account_id": codes["2300"], "amount": "-100.00"}]}  # fmt: skip
    admin = TestClient(app).post("/v1/entries", json=by_hand, headers={"Authorization": f"Bearer {demo.admin_token}",
                                                                      "Idempotency-Key": "by-hand"})  # fmt: skip
    assert admin.status_code == 201, admin.text
    differs = signed_in(app, AUDITOR).get("/office/look-through")
    assert 'class="differs"' in differs.text and "ไม่ตรงกัน" in differs.text


def test_a_member_sees_their_own_savings_and_loans_and_nobody_elses(app, coop):
    member = signed_in(app, ("member-1", MEMBER_PASSWORD))
    home = member.get("/")
    assert home.status_code == 200 and "เงินออมของฉัน" in home.text and "5,000.00" in home.text
    assert "5 ม.ค. 2567" in home.text  # the deposit's day, Buddhist Era
    assert "ค้างชำระ" in home.text and "1,010.02" in home.text  # the loan's late instalment
    assert member.get(f"/members/{coop.members[0]}").status_code == 200
    for other in (coop.members[1], coop.other_member, 999999):
        assert member.get(f"/members/{other}").status_code == 404
    assert member.get(f"/office/organisations/{coop.id}").status_code == 403
    staff = signed_in(app, OFFICER).get(f"/members/{coop.members[1]}")
    assert staff.status_code == 200 and "1,000.00" in staff.text
