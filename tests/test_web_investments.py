"""The fund officer's co-investment pages through the real app, on the demo: the list's figures
and totals are the API's; a purchase above the approval threshold waits, its maker cannot
approve it (the reason shown), an approver does; a form sent twice is one write and a refused
one keeps what was typed; the enterprise's cap table and a distribution whose preview is the
parts then declared."""

import re

from store import audit_log
from tests.test_web_sessions import csrf_of
from tests.web_helpers import ADMIN, APPROVER, OFFICER, api_get, key_of, signed_in


def investment_id(app, demo) -> int:
    return api_get(app, demo, "/v1/investments")["data"][0]["id"]


def test_the_list_shows_the_apis_figures_and_totals(app, demo):
    officer = signed_in(app, OFFICER)
    page = officer.get("/office/investments?group_by=province")
    assert page.status_code == 200
    answer = api_get(app, demo, "/v1/investments?group_by=province")
    position = answer["data"][0]
    assert "วิสาหกิจชุมชนข้าวอินทรีย์เขาดิน" in page.text
    for figure in (position["figures"]["cost"], answer["totals"]["carrying_amount"],
                   answer["groups"][0]["dividends_declared"]):  # fmt: skip
        assert f"{float(figure):,.2f}" in page.text
    assert "Nakhon Sawan" in page.text
    filtered = officer.get("/office/investments?region=south")
    assert "ไม่มีเงินลงทุนที่จะแสดง" in filtered.text


def purchase(browser, number: int, **fields):
    form = browser.get(f"/office/investments/{number}/purchase")
    data = {"key": key_of(form), "shares": "50", "price": "5,000.00", "effective_date": "14/06/2567", **fields}
    return browser.post(f"/office/investments/{number}/purchase", data, token=csrf_of(form)), data, csrf_of(form)


def test_a_purchase_above_the_threshold_waits_and_an_approver_other_than_its_maker_approves_it(app, demo, db):
    number = investment_id(app, demo)
    admin = signed_in(app, ADMIN)
    saved, _, _ = purchase(admin, number)
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=pending")
    waiting = api_get(app, demo, f"/v1/investments/{number}")
    assert waiting["pending_purchase"]["shares"] == 50 and waiting["figures"]["shares"] == 200
    page = admin.get(f"/office/investments/{number}")
    refused = admin.post(f"/office/investments/{number}/approval", {"key": key_of(page)}, token=csrf_of(page))
    assert refused.status_code == 403
    assert "ผู้บันทึกอนุมัติเองไม่ได้" in refused.text
    assert api_get(app, demo, f"/v1/investments/{number}")["pending_purchase"] is not None
    officer = signed_in(app, OFFICER)
    assert officer.post(f"/office/investments/{number}/approval", {"key": "x"}).status_code == 403
    approver = signed_in(app, APPROVER)
    listed = approver.get("/office/investments/approvals")
    assert f"/office/investments/{number}/approval" in listed.text
    key = re.search(r'name="key" value="([^"]+)"', listed.text).group(1)
    approved = approver.post(f"/office/investments/{number}/approval", {"key": key, "back": "approvals"},
                             token=csrf_of(listed))  # fmt: skip
    assert approved.status_code == 303
    after = api_get(app, demo, f"/v1/investments/{number}")
    assert after["pending_purchase"] is None and after["figures"]["shares"] == 250
    with db.read() as connection:
        actions = [(r["action"], r["actor"], r["outcome"])
                   for r in audit_log.list_records(connection, after=0, limit=500)]  # fmt: skip
    assert ("investment.purchase", "manager", "ok") in actions
    assert ("investment.approve", "manager", "refused: same_user_approval") in actions
    assert ("investment.approve", "approver", "ok") in actions


def test_a_form_sent_twice_is_one_purchase_and_a_refused_one_keeps_what_was_typed(app, demo):
    number = investment_id(app, demo)
    officer = signed_in(app, OFFICER)
    saved, data, token = purchase(officer, number)
    again = officer.post(f"/office/investments/{number}/purchase", data, token=token)
    assert saved.status_code == again.status_code == 303
    assert api_get(app, demo, f"/v1/investments/{number}")["pending_purchase"]["shares"] == 50
    refused, _, _ = purchase(officer, number, shares="สิบ", price="12.345", effective_date="2567-06-14")
    assert refused.status_code == 422
    assert 'value="สิบ"' in refused.text and 'value="12.345"' in refused.text
    assert "เขียนเป็นจำนวนเต็มที่มากกว่าศูนย์" in refused.text
    waiting, _, _ = purchase(officer, number)
    assert waiting.status_code == 409 or waiting.status_code == 422
    assert "รอการอนุมัติ" in waiting.text


def test_an_impairment_is_for_approvers_and_its_refusal_is_the_apis_reason(app, demo):
    number = investment_id(app, demo)
    assert signed_in(app, OFFICER).get(f"/office/investments/{number}/impairment").status_code == 403
    approver = signed_in(app, APPROVER)
    form = approver.get(f"/office/investments/{number}/impairment")
    data = {"key": key_of(form), "amount": "999,999.00", "effective_date": "14/06/2567", "reason": "น้ำท่วมโรงสี"}
    refused = approver.post(f"/office/investments/{number}/impairment", data, token=csrf_of(form))
    assert refused.status_code == 422 and "การด้อยค่าเกินมูลค่าตามบัญชี" in refused.text
    done = approver.post(f"/office/investments/{number}/impairment", {**data, "amount": "1,000"}, token=csrf_of(form))
    assert done.status_code == 303
    assert api_get(app, demo, f"/v1/investments/{number}")["figures"]["impairment"] == "1000.00"
    page = approver.get(f"/office/investments/{number}")
    assert "น้ำท่วมโรงสี" in page.text


def test_the_cap_table_as_of_a_buddhist_era_date_is_the_apis(app, demo):
    officer = signed_in(app, OFFICER)
    party = demo.enterprise_party_id
    page = officer.get(f"/office/enterprises/{party}/shares?as_of=01/06/2567")
    assert page.status_code == 200
    table = api_get(app, demo, f"/v1/enterprises/{party}/cap-table?as_of=2024-06-01")
    for holder in table["holders"]:
        assert holder["name_th"] in page.text
        assert f"{float(holder['percent_of_capital']):.2f}" in page.text
    assert "<svg" in page.text and "สมาชิกผู้ก่อตั้ง ก" in page.text
    before = officer.get(f"/office/enterprises/{party}/shares?as_of=01/01/2567")
    assert "ยังไม่มีการออกหุ้น" in before.text
    unreadable = officer.get(f"/office/enterprises/{party}/shares?as_of=2024-13-45")
    assert unreadable.status_code == 422 and 'value="2024-13-45"' in unreadable.text


DECLARATION = {"period_start": "07/05/2567", "period_end": "13/06/2567", "declared_on": "14/06/2567",
               "net_profit": "12,000.00", "reserve_percent": "10", "dividend_rate_percent": "6"}  # fmt: skip


def test_a_distributions_preview_is_the_parts_then_declared(app, demo):
    officer = signed_in(app, OFFICER)
    party = demo.enterprise_party_id
    form = officer.get(f"/office/enterprises/{party}/distributions/new")
    typed = {"key": key_of(form), **DECLARATION}
    check = officer.post(f"/office/enterprises/{party}/distributions/new", typed, token=csrf_of(form))
    assert check.status_code == 200
    shown = re.findall(r'<tr class="distribution-part"><th scope="row">([^<]+)</th>.*?'
                       r'<span class="amount">([0-9,.]+)</span></td></tr>', check.text)  # fmt: skip
    assert len(shown) == 3
    before = len(api_get(app, demo, f"/v1/enterprises/{party}/distributions"))
    saved = officer.post(f"/office/enterprises/{party}/distributions/save", typed, token=csrf_of(check))
    again = officer.post(f"/office/enterprises/{party}/distributions/save", typed, token=csrf_of(check))
    assert saved.status_code == again.status_code == 303
    declared = api_get(app, demo, f"/v1/enterprises/{party}/distributions")
    assert len(declared) == before + 1
    table = api_get(app, demo, f"/v1/enterprises/{party}/cap-table")
    names = {h["party_id"]: h["name_th"] for h in table["holders"]}
    parts = sorted((names[p["holder_party_id"]], f"{float(p['amount']):,.2f}") for p in declared[-1]["parts"])
    assert sorted(shown) == parts
    taken = officer.post(f"/office/enterprises/{party}/distributions/new", {**typed, "key": "other"},
                         token=csrf_of(check))  # fmt: skip
    assert taken.status_code == 409 or taken.status_code == 422
    assert 'value="07/05/2567"' in taken.text


def test_a_distribution_is_paid_from_the_enterprises_page(app, demo):
    officer = signed_in(app, OFFICER)
    party = demo.enterprise_party_id
    page = officer.get(f"/office/enterprises/{party}/shares")
    unpaid = api_get(app, demo, f"/v1/enterprises/{party}/distributions")[0]
    assert not unpaid["payments"]
    key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
    paid = officer.post(f"/office/enterprises/{party}/distributions/{unpaid['id']}/payments",
                        {"key": key, "paid_on": "14/06/2567"}, token=csrf_of(page))  # fmt: skip
    assert paid.status_code == 303
    assert len(api_get(app, demo, f"/v1/enterprises/{party}/distributions")[0]["payments"]) == 3


def test_a_dividend_declared_as_an_amount_from_the_page(app, demo):
    """Without a rate, the amount typed is shared out: the check shows parts that sum to it and
    the rate it comes to; declared, it is the API's distribution. A rate and an amount together
    are refused beside the rate, what was typed kept."""
    officer = signed_in(app, OFFICER)
    party = demo.enterprise_party_id
    form = officer.get(f"/office/enterprises/{party}/distributions/new")
    assert "หรือ: เงินปันผลเป็นจำนวนเงินที่จะแบ่ง (บาท)" in form.text
    typed = {"key": key_of(form), **DECLARATION, "dividend_rate_percent": "", "dividend_amount": "500.00"}
    both = officer.post(f"/office/enterprises/{party}/distributions/new", {**typed, "dividend_rate_percent": "6"},
                        token=csrf_of(form))  # fmt: skip
    assert both.status_code == 422 and 'value="500.00"' in both.text
    check = officer.post(f"/office/enterprises/{party}/distributions/new", typed, token=csrf_of(form))
    assert check.status_code == 200 and "คิดเป็นอัตราร้อยละต่อปี" in check.text
    shown = re.findall(r'<tr class="distribution-part">.*?<span class="amount">([0-9,.]+)</span></td></tr>', check.text)
    assert sum(round(float(amount.replace(",", "")) * 100) for amount in shown) == 500_00
    saved = officer.post(f"/office/enterprises/{party}/distributions/save", typed, token=csrf_of(check))
    assert saved.status_code == 303
    declared = api_get(app, demo, f"/v1/enterprises/{party}/distributions")[-1]
    assert (declared["declared_dividend"], declared["dividends"]) == ("500.00", "500.00")
    assert sorted(p["amount"] for p in declared["parts"]) == sorted(a.replace(",", "") for a in shown)


def test_an_exit_to_several_buyers_from_the_page(app, demo):
    """A member and the enterprise itself buy at once: one write, one entry, each buyer's line on
    the statement; a row with shares and no price is named, what was typed kept."""
    number = investment_id(app, demo)
    before = api_get(app, demo, f"/v1/investments/{number}")
    fund_party = api_get(app, demo, f"/v1/books/{before['book_id']}")["party_id"]
    table = api_get(app, demo, f"/v1/enterprises/{before['enterprise_party_id']}/cap-table")
    member = next(h["party_id"] for h in table["holders"] if h["party_id"] != fund_party)
    officer = signed_in(app, OFFICER)
    page = officer.get(f"/office/investments/{number}")
    assert f"/office/investments/{number}/exit-buyers" in page.text and "ขายหุ้นให้ผู้ซื้อหลายรายพร้อมกัน" in page.text
    form = officer.get(f"/office/investments/{number}/exit-buyers")
    data = {"key": key_of(form), "effective_date": "14/06/2567", "buyer_1_party_id": str(member),
            "buyer_1_shares": "10", "buyer_1_price": "1,200.00", "buyer_2_party_id": "", "buyer_2_shares": "5",
            "buyer_2_price": "", "buyer_3_party_id": "", "buyer_3_shares": "", "buyer_3_price": ""}  # fmt: skip
    half = officer.post(f"/office/investments/{number}/exit-buyers", data, token=csrf_of(form))
    assert half.status_code == 422 and "ใส่ทั้งจำนวนหุ้นและราคาของผู้ซื้อแต่ละราย" in half.text
    assert 'value="1,200.00"' in half.text
    done = officer.post(f"/office/investments/{number}/exit-buyers", {**data, "buyer_2_price": "600"},
                        token=csrf_of(form))  # fmt: skip
    assert done.status_code == 303
    after = api_get(app, demo, f"/v1/investments/{number}")
    assert after["figures"]["shares"] == before["figures"]["shares"] - 15
    exits = [line for line in api_get(app, demo, f"/v1/investments/{number}/statement")["lines"]
             if line["kind"] == "exit"]  # fmt: skip
    assert [(line["shares"], line["amount"]) for line in exits] == [(10, "1200.00"), (5, "600.00")]
    assert len({line["entry_id"] for line in exits}) == 1


def test_an_exit_plan_at_par_plus_retained_earnings_is_shown_in_thai_with_its_price(app, demo):
    number = investment_id(app, demo)
    officer = signed_in(app, OFFICER)
    form = officer.get(f"/office/investments/{number}/exit-plan")
    assert "มูลค่าที่ตราไว้บวกกำไรสะสมของวิสาหกิจต่อหุ้น" in form.text
    data = {"key": key_of(form), "target_date": "30/09/2570", "price_rule": "par_plus_retained"}
    assert officer.post(f"/office/investments/{number}/exit-plan", data, token=csrf_of(form)).status_code == 303
    price = api_get(app, demo, f"/v1/investments/{number}")["exit_plan"]["indicative_price"]
    page = officer.get(f"/office/investments/{number}")
    assert "ราคาตามหลักเกณฑ์ของแผน ณ วันนี้" in page.text and f"{float(price):,.2f}" in page.text
