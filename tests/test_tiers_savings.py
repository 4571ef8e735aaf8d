"""Members' savings in an organisation's book through the API (issue 18, item 2): the rule,
deposits and withdrawals refused with named reasons, a month's deposits at once (a list, a CSV),
the year's interest once a year, who may read what, and CODI's savings-first check reading the
organisation's book. A property: no sequence of deposits and withdrawals takes a member below the
minimum, the 2200 control is the sum of the members' accounts, and a refusal writes nothing."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.conftest import make_user

ORG = "/v1/organisations/{}/savings"


def created(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def org(api) -> dict:
    """A housing cooperative with its own book and three members."""
    party = created(api.post("/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์เคหสถานบ้านมั่นคงทดสอบ"}))
    book = created(api.post("/v1/books", {"code": "ORG-S", "kind": "organisation", "name_th": "สมุดสหกรณ์",
                                          "party_id": party["id"]}))  # fmt: skip
    members = [created(api.post("/v1/parties", {"kind": "member", "name_th": f"สมาชิก {n}", "member_of": party["id"]}))
               for n in range(3)]  # fmt: skip
    return {"id": party["id"], "book_id": book["id"], "members": [m["id"] for m in members],
            "path": ORG.format(party["id"])}  # fmt: skip


def move(api, org: dict, what: str, member: int, amount: str, day: str = "2024-06-01"):
    return api.post(f"{org['path']}/{what}", {"member_id": member, "amount": amount, "effective_date": day})


def counts(db) -> tuple[int, int, int]:
    with db.read() as connection:
        return tuple(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                     for t in ("entry", "account", "savings_interest"))  # fmt: skip


def saved(api, org: dict) -> dict:
    return created(api.get(org["path"]))


def test_the_rule_is_stored_and_audited(api, db, org):
    assert created(api.get(f"{org['path']}/rule")) == {
        "organisation_id": org["id"], "minimum": "0.00", "withdraw_in_arrears": False, "monthly_deposit": "0.00",
        "rate_percent": "0"}  # fmt: skip
    rule = {"minimum": "100.00", "withdraw_in_arrears": True, "monthly_deposit": "200.00", "rate_percent": "3.5"}
    assert created(api.client.put(f"{org['path']}/rule", json=rule, headers=api.headers("r1"))) == {
        "organisation_id": org["id"], **rule}
    assert created(api.get(f"{org['path']}/rule"))["rate_percent"] == "3.5"
    bad = api.client.put(f"{org['path']}/rule", json={**rule, "minimum": "-1.00"}, headers=api.headers("r2"))
    assert (bad.status_code, bad.json()["reason"]) == (422, "invalid_request")
    with db.read() as connection:
        actions = connection.execute(text("SELECT action, outcome FROM audit_record ORDER BY seq")).all()
        with pytest.raises(Exception):  # noqa: B017, PT011  (the database refuses it whatever the API does)
            with connection.begin_nested():
                connection.execute(text("UPDATE savings_rule SET minimum_satang = -1"))
    assert [tuple(x) for x in actions if x[0] == "savings.rule.set"] == [
        ("savings.rule.set", "ok"), ("savings.rule.set", "refused: invalid_request")]


def test_deposits_open_the_members_account_and_withdrawals_keep_the_rule(api, db, org):
    member = org["members"][0]
    api.client.put(f"{org['path']}/rule", json={"minimum": "100.00"}, headers=api.headers("rule"))
    first = created(move(api, org, "deposits", member, "500.00"))
    assert (first["amount"], first["balance"]) == ("500.00", "500.00")
    accounts = {a["code"]: a for a in api.get(f"/v1/books/{org['book_id']}/accounts").json()["data"]}
    mine = accounts[f"2200-{member}"]
    assert (mine["party_id"], mine["parent_id"], mine["balance"]) == (member, accounts["2200"]["id"], "-500.00")
    assert accounts["1100"]["balance"] == "500.00"
    before = counts(db)
    refused = move(api, org, "withdrawals", member, "400.01")
    assert (refused.status_code, refused.json()["reason"]) == (409, "savings_below_minimum")
    assert counts(db) == before
    assert created(move(api, org, "withdrawals", member, "400.00"))["balance"] == "100.00"
    stranger = created(api.post("/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มอื่น"}))
    other = move(api, org, "deposits", stranger["id"], "1.00")
    assert (other.status_code, other.json()["reason"]) == (422, "not_a_member")
    assert move(api, org, "deposits", member, "0.00").json()["reason"] == "amount_must_be_positive"
    assert move(api, org, "deposits", member, "1.00", "2024-06-15").json()["reason"] == "date_in_future"
    statement = created(api.get(f"{org['path']}/members/{member}/statement", **{"from": "2024-06-01"}))
    assert [(x["amount"], x["balance"]) for x in statement["lines"]] == [("500.00", "500.00"), ("-400.00", "100.00")]
    assert (statement["opening_balance"], statement["closing_balance"]) == ("0.00", "100.00")


def test_a_member_with_a_loan_in_arrears_may_not_withdraw(api, db, org):
    member = org["members"][1]
    created(move(api, org, "deposits", member, "1000.00"))
    product = created(api.post("/v1/loan-products", {"book_id": org["book_id"], "code": "MEMBER-6",
                                                     "name_th": "เงินกู้สมาชิก", "rate_annual_percent": "6",
                                                     "term_instalments": 12}))  # fmt: skip
    loan = created(api.post("/v1/loans", {"product_id": product["id"], "borrower_party_id": member,
                                          "amount": "5000.00", "savings": "1000.00"}))  # fmt: skip
    assert created(move(api, org, "withdrawals", member, "1.00"))["balance"] == "999.00"
    with db.write() as connection:  # what close of business writes of a loan past due
        connection.execute(text(f"UPDATE loan SET days_past_due = 5 WHERE id = {loan['id']}"))
    assert created(api.get(f"{org['path']}/members/{member}"))["in_arrears"] is True
    refused = move(api, org, "withdrawals", member, "1.00")
    assert (refused.status_code, refused.json()["reason"]) == (409, "savings_withdrawal_in_arrears")
    api.client.put(f"{org['path']}/rule", json={"withdraw_in_arrears": True}, headers=api.headers("lenient"))
    assert created(move(api, org, "withdrawals", member, "1.00"))["balance"] == "998.00"


def test_a_months_deposits_are_one_operation(api, db, org):
    a, b, c = org["members"]
    api.client.put(f"{org['path']}/rule", json={"monthly_deposit": "300.00"}, headers=api.headers("monthly"))
    body = {"effective_date": "2024-06-05", "deposits": [{"member_id": a}, {"member_id": b, "amount": "450.00"}]}
    answer = created(api.post(f"{org['path']}/deposits/bulk", body))
    assert (answer["recorded"], answer["total"]) == (2, "750.00")
    before = counts(db)
    bad = {"effective_date": "2024-06-05", "deposits": [{"member_id": c, "amount": "1.00"},
                                                         {"member_id": org["id"], "amount": "1.00"},
                                                         {"member_id": a, "amount": "-5.00"}]}  # fmt: skip
    refused = api.post(f"{org['path']}/deposits/bulk", bad)
    assert (refused.status_code, refused.json()["reason"]) == (422, "bad_lines")
    lines = [(x["line"], x["reason"]) for x in refused.json()["errors"]]
    assert lines == [(2, "not_a_member"), (3, "amount_must_be_positive")]
    assert counts(db) == before
    assert [m["balance"] for m in saved(api, org)["members"]] == ["300.00", "450.00"]


def post_csv(api, org: dict, body: str, key: str):
    headers = {**api.headers(key), "Content-Type": "text/csv"}
    return api.client.post(f"{org['path']}/deposits/import", content=body.encode(), headers=headers)


def test_a_csv_of_deposits_is_all_or_nothing(api, db, org):
    a, b, _ = org["members"]
    before = counts(db)
    bad = f"member_id,amount,effective_date\n{a},100.00,2024-06-03\n{b},abc,2024-06-03\nxyz,1.00,2024-06-03\n"
    refused = post_csv(api, org, bad, "bad")
    assert (refused.status_code, refused.json()["reason"]) == (422, "bad_lines")
    assert [(x["line"], x["reason"]) for x in refused.json()["errors"]] == [(3, "malformed_amount"),
                                                                             (4, "invalid_request")]  # fmt: skip
    assert counts(db) == before
    header = post_csv(api, org, "member,amount\n1,1.00\n", "header")
    assert (header.status_code, header.json()["reason"]) == (422, "invalid_request")
    good = f"member_id,amount,effective_date\n{a},100.00,2024-06-03\n{b},250.50,2024-06-04\n"
    assert created(post_csv(api, org, good, "good"))["total"] == "350.50"
    assert post_csv(api, org, good, "good").headers.get("Idempotent-Replayed") == "true"
    assert saved(api, org)["total"] == "350.50"


def test_the_years_interest_is_posted_once_on_the_closing_balance(api, db, org):
    a, b, _ = org["members"]
    api.client.put(f"{org['path']}/rule", json={"rate_percent": "3"}, headers=api.headers("rate"))
    created(move(api, org, "deposits", a, "1000.00", "2023-03-01"))
    created(move(api, org, "deposits", b, "333.33", "2023-09-30"))
    created(move(api, org, "deposits", b, "500.00", "2023-10-01"))  # after FY2566: not counted
    early = api.post(f"{org['path']}/interest", {"fiscal_year": 2567})
    assert (early.status_code, early.json()["reason"]) == (422, "date_in_future")
    posted = created(api.post(f"{org['path']}/interest", {"fiscal_year": 2566}))
    assert (posted["as_of"], posted["members"], posted["total"]) == ("2023-09-30", 2, "40.00")  # 30.00 + 10.00
    again = api.post(f"{org['path']}/interest", {"fiscal_year": 2566})
    assert (again.status_code, again.json()["reason"]) == (409, "savings_interest_already_posted")
    assert [m["balance"] for m in saved(api, org)["members"]] == ["1030.00", "843.33"]
    accounts = {a["code"]: a["balance"] for a in api.get(f"/v1/books/{org['book_id']}/accounts").json()["data"]}
    assert accounts["5150"] == "40.00"


def test_who_reads_and_who_writes(api, db, org):
    member = org["members"][0]
    created(move(api, org, "deposits", member, "10.00"))
    own = api.as_(make_user(db, "coop", "enterprise", party_id=org["id"]))
    assert created(own.get(org["path"]))["total"] == "10.00"
    assert created(api.as_(make_user(db, "auditor", "auditor")).get(f"{org['path']}/members/{member}"))
    self_ = api.as_(make_user(db, "self", "enterprise", party_id=member))
    assert created(self_.get(f"{org['path']}/members/{member}/statement"))["closing_balance"] == "10.00"
    assert self_.get(org["path"]).status_code == 404
    stranger = api.as_(make_user(db, "stranger", "enterprise", party_id=org["members"][1]))
    assert stranger.get(f"{org['path']}/members/{member}").status_code == 404
    for role in ("approver", "auditor", "enterprise"):
        refused = move(api.as_(make_user(db, f"w-{role}", role, party_id=org["id"] if role == "enterprise" else None)),
                       org, "deposits", member, "1.00")  # fmt: skip
        assert refused.status_code == 403, role
    assert created(move(api.as_(make_user(db, "officer", "officer")), org, "deposits", member, "1.00"))


def test_codis_savings_check_reads_the_organisations_book(api, db, org, fund):
    for member, amount in zip(org["members"], ("40000.00", "50000.00", "10000.00"), strict=True):
        created(move(api, org, "deposits", member, amount))
    product = created(api.post("/v1/loan-products", {"book_id": fund["book_id"], "code": "CODI-4", "name_th": "บ้านมั่นคง",
                                                     "rate_annual_percent": "4", "term_instalments": 12}))  # fmt: skip
    officer = api.as_(make_user(db, "officer", "officer"))
    application = {"product_id": product["id"], "borrower_party_id": org["id"], "amount": "1000000.00"}
    assert created(officer.post("/v1/loans", {**application, "savings": "100000.00"}))["savings"] == "100000.00"
    typed = officer.post("/v1/loans", {**application, "savings": "150000.00", "savings_override_reason": "ออมเพิ่ม"})
    assert (typed.status_code, typed.json()["reason"]) == (403, "forbidden")
    no_reason = api.post("/v1/loans", {**application, "savings": "150000.00"})
    assert (no_reason.status_code, no_reason.json()["reason"]) == (422, "reason_required")
    overridden = created(api.post("/v1/loans", {**application, "savings": "150000.00",
                                                "savings_override_reason": "เงินฝากธนาคารยังไม่ลงบัญชี"}))  # fmt: skip
    assert overridden["savings_override_reason"] == "เงินฝากธนาคารยังไม่ลงบัญชี"
    short = officer.post("/v1/loans", {**application, "amount": "1000000.02", "savings": "100000.00"})
    assert (short.status_code, short.json()["reason"]) == (422, "insufficient_savings")
    with db.read() as connection:
        actions = connection.execute(text("SELECT action, target FROM audit_record ORDER BY seq")).all()
    assert ("loan.apply.savings_override", f"loan:{overridden['id']}") in actions
    no_book = created(api.post("/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มไม่มีสมุด"}))
    typed_only = {**application, "borrower_party_id": no_book["id"], "savings": "100000.00"}
    assert created(officer.post("/v1/loans", typed_only))["savings"] == "100000.00"


@pytest.fixture
def ruled_org(api, org) -> dict:
    api.client.put(f"{org['path']}/rule", json={"minimum": "50.00"}, headers=api.headers("minimum"))
    return org


MINIMUM = 5000
MOVES = st.lists(st.tuples(st.sampled_from(["deposits", "withdrawals"]), st.integers(0, 2), st.integers(1, 30_000)),
                 min_size=1, max_size=8)  # fmt: skip


def satang(text_: str) -> int:
    return int(text_.replace(".", ""))


# The examples share one database (function-scoped fixtures): each starts where the last ended,
# which the invariants hold for as well.
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=MOVES)
def test_no_sequence_breaks_the_minimum_or_the_control(api, db, ruled_org, moves):
    org = ruled_org
    for what, index, amount in moves:
        before, counted = saved(api, org), counts(db)
        member = org["members"][index]
        answer = move(api, org, what, member, f"{amount // 100}.{amount % 100:02d}")
        after = saved(api, org)
        if answer.status_code != 201:
            assert (what, answer.json()["reason"]) == ("withdrawals", "savings_below_minimum"), answer.text
            assert (after, counts(db)) == (before, counted)
        balances = {m["member_id"]: satang(m["balance"]) for m in after["members"]}
        if what == "withdrawals" and answer.status_code == 201:
            assert balances[member] >= MINIMUM
        assert satang(after["total"]) == sum(balances.values())
