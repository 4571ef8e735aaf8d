"""CODI's look-through (issue 18, item 5): each organisation's member loans outstanding and in
arrears, member-level PAR30/PAR90, the collection rate by month, its margin and reserve, rolled
up by region, province, centre and programme; who may read it; and a member's own summary."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.look_through import (
    DIMENSIONS,
    Figures,
    MemberLoan,
    group_keys,
    organisation_figures,
    roll_up,
    share_percent,
)
from ledger.money import format_amount
from tests.conftest import make_user

AS_OF = "2024-06-14"


def created(api, path: str, body: dict) -> dict:
    response = api.post(path, body)
    assert response.status_code == 201, response.text
    return response.json()


def organisation(api, name: str, kind: str, **where) -> dict:
    party = created(api, "/v1/parties", {"kind": kind, "name_th": name, **where})
    book = created(api, "/v1/books", {"code": f"ORG-{party['id']}", "kind": "organisation", "name_th": name,
                                      "party_id": party["id"]})  # fmt: skip
    accounts = {a["code"]: a["id"] for a in api.get(f"/v1/books/{book['id']}/accounts").json()["data"]}
    product = created(api, "/v1/loan-products", {"book_id": book["id"], "code": f"M-{party['id']}",
                                                 "name_th": "เงินกู้สมาชิก", "rate_annual_percent": "6",
                                                 "term_instalments": 12})  # fmt: skip
    capital = api.entry(book["id"], [(accounts["1100"], "100000.00"), (accounts["3100"], "-100000.00")],
                        day="2024-01-02")  # fmt: skip
    assert capital.status_code == 201, capital.text
    return {"id": party["id"], "book_id": book["id"], "accounts": accounts, "product_id": product["id"]}


def member(api, org: dict, name: str) -> int:
    return created(api, "/v1/parties", {"kind": "member", "name_th": name, "member_of": org["id"]})["id"]


def member_loan(api, officer, org: dict, member_id: int, paid_instalments: int) -> dict:
    """A loan of 12,000.00 disbursed on 15 Jan 2024, its first `paid_instalments` paid when due."""
    loan = officer.post("/v1/loans", {"product_id": org["product_id"], "borrower_party_id": member_id,
                                      "amount": "12000.00", "savings": "1200.00"})  # fmt: skip
    assert loan.status_code == 201, loan.text
    loan_id = loan.json()["id"]
    assert api.post(f"/v1/loans/{loan_id}/approval", {}).status_code == 200
    paid = officer.post(f"/v1/loans/{loan_id}/disbursements", {"amount": "12000.00", "effective_date": "2024-01-15"})
    assert paid.status_code == 201, paid.text
    instalments = api.get(f"/v1/loans/{loan_id}/schedule").json()["instalments"]
    for instalment in instalments[:paid_instalments]:
        repaid = officer.post(f"/v1/loans/{loan_id}/repayments",
                              {"amount": instalment["total"], "effective_date": instalment["due_on"]})  # fmt: skip
        assert repaid.status_code == 201, repaid.text
    return {"id": loan_id, "instalments": instalments, "paid": paid_instalments}


@pytest.fixture
def tiers(api, db) -> dict:
    """Two organisations with books: A (in a centre and a programme) with members paying, 60 days
    late and 120 days late, and one without a loan; B in another province with one member paying."""
    officer = api.as_(make_user(db, "officer", "officer"))
    centre = created(api, "/v1/parties", {"kind": "incubation_centre", "name_th": "ศูนย์ภาคเหนือ"})
    a = organisation(api, "สหกรณ์บ้านมั่นคง ก", "cooperative", region="north", province="นครสวรรค์",
                     centre_id=centre["id"])  # fmt: skip
    b = organisation(api, "กลุ่มออมทรัพย์ ข", "savings_group", region="north", province="เชียงใหม่")
    assert api.post(f"/v1/parties/{a['id']}/programmes", {"programme": "บ้านมั่นคง"}).status_code == 201
    members = {name: member(api, org, name) for name, org in (("m1", a), ("m2", a), ("m3", a), ("m4", a), ("b1", b))}
    loans = {name: member_loan(api, officer, org, members[name], paid)
             for name, org, paid in (("m1", a, 4), ("m2", a, 0), ("m3", a, 2), ("b1", b, 4))}  # fmt: skip
    acc = a["accounts"]
    for lines in ([(acc["5100"], "50.00"), (acc["1100"], "-50.00")],
                  [(acc["1100"], "300.00"), (acc["3200"], "-300.00")]):
        assert api.entry(a["book_id"], lines, day="2024-05-31").status_code == 201
    savings = created(api, f"/v1/books/{a['book_id']}/accounts", {
        "code": f"2200-{members['m1']}", "name_th": "เงินฝากสัจจะ", "type": "liability", "parent_id": acc["2200"],
        "party_id": members["m1"]})  # fmt: skip
    deposit = api.entry(a["book_id"], [(acc["1100"], "500.00"), (savings["id"], "-500.00")], day="2024-03-01")
    assert deposit.status_code == 201, deposit.text
    return {"a": a, "b": b, "centre": centre, "members": members, "loans": loans, "officer": officer}


def satang(text: str) -> int:
    return round(Decimal(text) * 100)


def outstanding(loan: dict) -> int:
    return 12000_00 - sum(satang(i["principal"]) for i in loan["instalments"][: loan["paid"]])


def due_by(loan: dict, month: str) -> int:
    return sum(satang(i["total"]) for i in loan["instalments"] if i["due_on"][:7] == month and i["due_on"] <= AS_OF)


def paid_in(loan: dict, month: str) -> int:
    return sum(satang(i["total"]) for i in loan["instalments"][: loan["paid"]] if i["due_on"][:7] == month)


def test_an_organisations_line_is_its_member_loans(api, tiers):
    report = api.get("/v1/reports/look-through", as_of=AS_OF)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["fiscal_year"] == 2567
    line = next(o for o in body["organisations"] if o["organisation_id"] == tiers["a"]["id"])
    m1, m2, m3 = (tiers["loans"][n] for n in ("m1", "m2", "m3"))
    owed = outstanding(m1) + outstanding(m2) + outstanding(m3)
    late = outstanding(m2) + outstanding(m3)
    assert (line["members"], line["loans"]) == (4, 3)
    assert line["outstanding"] == format_amount(owed)
    assert line["arrears"] == line["over_30"] == format_amount(late)  # m3 is 60 days late, m2 120
    assert line["over_90"] == format_amount(outstanding(m2))
    assert line["par30_percent"] == str(share_percent(late, owed))
    assert line["par90_percent"] == str(share_percent(outstanding(m2), owed))
    months = {m["month"][:7]: m for m in line["months"]}
    assert list(months) == ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04", "2024-05",
                            "2024-06"]  # fmt: skip
    for month, figures in months.items():
        due = sum(due_by(loan, month) for loan in (m1, m2, m3))
        collected = sum(paid_in(loan, month) for loan in (m1, m2, m3))
        assert (figures["due"], figures["collected"]) == (format_amount(due), format_amount(collected)), month
        assert figures["collection_percent"] == (None if due == 0 else str(share_percent(collected, due)))
    interest = sum(satang(i["interest"]) for loan in (m1, m3) for i in loan["instalments"][: loan["paid"]])
    assert line["margin"] == format_amount(interest - 50_00)
    assert (line["reserve"], line["surplus"]) == ("300.00", "0.00")


def test_groups_are_the_exact_sums_of_their_organisations(api, tiers):
    body = api.get("/v1/reports/look-through", as_of=AS_OF).json()
    lines = {o["organisation_id"]: o for o in body["organisations"]}
    a, b = lines[tiers["a"]["id"]], lines[tiers["b"]["id"]]
    north = body["groups"]["region"]
    assert [(g["key"], g["name_th"], g["organisations"]) for g in north] == [("north", "ภาคเหนือ", 2)]
    assert north[0]["outstanding"] == body["total"]["outstanding"] == format_amount(
        satang(a["outstanding"]) + satang(b["outstanding"]))
    assert north[0]["par30_percent"] == str(share_percent(satang(a["over_30"]) + satang(b["over_30"]),
                                                          satang(a["outstanding"]) + satang(b["outstanding"])))
    centres = {g["key"]: g for g in body["groups"]["centre"]}
    assert centres[str(tiers["centre"]["id"])]["name_th"] == "ศูนย์ภาคเหนือ"
    assert centres[None]["outstanding"] == b["outstanding"]
    programme = {g["key"]: g for g in body["groups"]["programme"]}
    assert {k: v["organisations"] for k, v in programme.items()} == {"บ้านมั่นคง": 1, None: 1}
    figures = ("members", "loans", "outstanding", "arrears", "margin", "reserve", "par90_percent")
    assert {k: programme["บ้านมั่นคง"][k] for k in figures} == {k: a[k] for k in figures}
    assert {g["name_th"] for g in body["groups"]["province"]} == {"นครสวรรค์", "เชียงใหม่"}


def test_the_look_through_in_csv_in_thai(api, tiers):
    response = api.get("/v1/reports/look-through", as_of=AS_OF, format="csv", lang="th")
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8-sig")
    header, *rows, totals = text.splitlines()
    assert header.startswith("ระดับ,ชื่อ,จำนวนสมาชิก,จำนวนสัญญา,เงินต้นคงค้าง,ค้างชำระ,PAR30 (%)")
    assert rows[0].startswith("องค์กร,สหกรณ์บ้านมั่นคง ก,4,3,") and "ภาค,ภาคเหนือ,5,4," in text
    assert totals.startswith("รวม,,5,4,")
    assert api.get("/v1/reports/look-through", as_of=AS_OF, format="xlsx").status_code == 200


def test_who_reads_the_look_through(api, db, tiers):
    a, b, members = tiers["a"], tiers["b"], tiers["members"]
    for role in ("officer", "approver", "auditor"):
        reader = api.as_(make_user(db, f"r-{role}", role))
        assert len(reader.get("/v1/reports/look-through", as_of=AS_OF).json()["organisations"]) == 2
    own = api.as_(make_user(db, "coop-a", "enterprise", party_id=a["id"]))
    body = own.get("/v1/reports/look-through", as_of=AS_OF).json()
    assert [o["organisation_id"] for o in body["organisations"]] == [a["id"]] and body["groups"] == {}
    assert own.get("/v1/reports/look-through", organisation_id=a["id"]).status_code == 200
    theirs = own.get("/v1/reports/look-through", organisation_id=b["id"])
    unknown = own.get("/v1/reports/look-through", organisation_id=987654)
    assert (theirs.status_code, unknown.status_code) == (404, 404)
    assert theirs.json()["detail"].replace(str(b["id"]), "X") == unknown.json()["detail"].replace("987654", "X")
    assert own.get(f"/v1/books/{a['book_id']}/trial-balance").status_code == 200  # its own book, in full
    assert own.get(f"/v1/books/{b['book_id']}/trial-balance").status_code == 404
    mine = api.as_(make_user(db, "member-1", "enterprise", party_id=members["m1"]))
    assert mine.get("/v1/reports/look-through", as_of=AS_OF).json()["organisations"] == []
    assert mine.get("/v1/reports/look-through", organisation_id=a["id"]).status_code == 404
    assert api.get("/v1/reports/look-through", organisation_id=members["m1"]).status_code == 404


def test_a_member_reads_its_own_savings_and_loans_only(api, db, tiers):
    members, loans = tiers["members"], tiers["loans"]
    mine = api.as_(make_user(db, "member-1", "enterprise", party_id=members["m1"]))
    summary = mine.get(f"/v1/members/{members['m1']}/summary", as_of=AS_OF)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert (body["organisation_id"], body["savings"]) == (tiers["a"]["id"], "500.00")
    m1 = loans["m1"]
    [loan] = body["loans"]
    assert (loan["loan_id"], loan["outstanding"], loan["days_past_due"], loan["loan_class"]) == (
        m1["id"], format_amount(outstanding(m1)), 0, "pass")
    assert loan["due_to_date"] == loan["repaid_to_date"] == format_amount(
        sum(satang(i["total"]) for i in m1["instalments"][:4]))
    assert mine.get(f"/v1/members/{members['m1']}/summary", as_of="2024-02-01").json()["savings"] == "0.00"
    for other in (members["m2"], members["b1"], tiers["a"]["id"], 987654):
        refused = mine.get(f"/v1/members/{other}/summary")
        assert (refused.status_code, refused.json()["reason"]) == (404, "not_found")
        assert refused.json()["detail"] == f"member {other} does not exist or is not yours"
    m2 = api.as_(make_user(db, "member-2", "enterprise", party_id=members["m2"])).get(
        f"/v1/members/{members['m2']}/summary", as_of=AS_OF).json()
    assert m2["savings"] == "0.00" and m2["loans"][0]["days_past_due"] == 120
    assert mine.get(f"/v1/loans/{loans['m2']['id']}").status_code == 404
    assert mine.get(f"/v1/books/{tiers['a']['book_id']}/trial-balance").status_code == 404
    own = api.as_(make_user(db, "coop-a", "enterprise", party_id=tiers["a"]["id"]))
    assert own.get(f"/v1/members/{members['m2']}/summary").status_code == 200
    assert own.get(f"/v1/members/{members['b1']}/summary").status_code == 404
    auditor = api.as_(make_user(db, "auditor", "auditor"))
    assert auditor.get(f"/v1/members/{members['b1']}/summary").status_code == 200


def test_a_member_borrows_only_from_its_own_organisation(api, db, tiers, fund):
    officer, members = tiers["officer"], tiers["members"]
    application = {"amount": "1000.00", "savings": "100.00"}
    theirs = officer.post("/v1/loans", {**application, "product_id": tiers["b"]["product_id"],
                                        "borrower_party_id": members["m1"]})  # fmt: skip
    product = created(api, "/v1/loan-products", {"book_id": fund["book_id"], "code": "CODI-4", "name_th": "สินเชื่อ",
                                                 "rate_annual_percent": "4", "term_instalments": 12})  # fmt: skip
    codi = officer.post("/v1/loans", {**application, "product_id": product["id"], "borrower_party_id": members["m1"]})
    for refused in (theirs, codi):
        assert (refused.status_code, refused.json()["reason"]) == (422, "ineligible_borrower"), refused.text


# --- the roll-up, as a property -----------------------------------------------------------------

MONTHS = [date(2023, 10, 1), date(2023, 11, 1), date(2023, 12, 1)]
amounts = st.integers(min_value=0, max_value=10**9)
flows = st.lists(st.tuples(st.sampled_from(MONTHS), amounts), max_size=3)
loans_ = st.builds(MemberLoan, amounts, st.integers(min_value=0, max_value=400), flows, flows)
organisations_ = st.lists(
    st.fixed_dictionaries({
        "region": st.sampled_from(["north", "south", None]), "province": st.sampled_from(["a", "b", "c"]),
        "centre_id": st.sampled_from([1, 2, None]), "programmes": st.lists(st.sampled_from(["x", "y"]), unique=True),
        "members": st.integers(min_value=0, max_value=50), "loans": st.lists(loans_, max_size=4),
        "own": st.builds(Figures, margin_satang=amounts, surplus_satang=amounts, reserve_satang=amounts),
    }),
    max_size=5,
)  # fmt: skip


def _summed(figures: list[Figures]) -> tuple:
    """Every figure of `figures` summed field by field, the monthly ones month by month."""
    scalars = ("members", "loans", "outstanding_satang", "arrears_satang", "over_30_satang", "over_90_satang",
               "margin_satang", "surplus_satang", "reserve_satang")  # fmt: skip
    return (*(sum(getattr(f, name) for f in figures) for name in scalars),
            *(tuple(sum(getattr(f, name)[i] for f in figures) for i in range(len(MONTHS)))
              for name in ("due_satang", "collected_satang")))  # fmt: skip


def _of(f: Figures) -> tuple:
    return _summed([f])


@settings(max_examples=25, deadline=None)
@given(organisations_)
def test_member_figures_roll_up_exactly(orgs):
    lines = []
    for org in orgs:
        figures = organisation_figures(org["members"], org["loans"], MONTHS, org["own"])
        each = [loan.figures(MONTHS) for loan in org["loans"]]
        assert figures.outstanding_satang == sum(f.outstanding_satang for f in each)
        assert figures.arrears_satang == sum(f.arrears_satang for f in each)
        assert figures.over_30_satang == sum(f.outstanding_satang for f in each if f.over_30_satang)
        assert figures.due_satang == tuple(sum(f.due_satang[i] for f in each) for i in range(len(MONTHS)))
        assert figures.collected_satang == tuple(sum(f.collected_satang[i] for f in each) for i in range(len(MONTHS)))
        lines.append((org, figures))
    for dimension in DIMENSIONS:
        for key, group in roll_up(lines, group_keys(dimension)).items():
            members = [f for org, f in lines if key in group_keys(dimension)(org)]
            assert _of(group) == _summed(members)
            assert group.par30_percent == share_percent(sum(f.over_30_satang for f in members),
                                                        sum(f.outstanding_satang for f in members))
            assert group.collection_percent() == tuple(
                share_percent(sum(f.collected_satang[i] for f in members), sum(f.due_satang[i] for f in members))
                for i in range(len(MONTHS)))  # fmt: skip
