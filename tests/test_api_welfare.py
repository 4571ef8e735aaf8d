"""Welfare funds through the real app: every bad input is a problem+json with its reason and
changes nothing; enterprise and fund tokens record and see only their own; idempotency; the
database's own guards on the welfare tables; the tables match the migration."""

import hashlib
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from api.middleware import IMPORT_BODY_BYTES, MAX_BODY_BYTES
from store.welfare import MAX_IMPORT_LINES
from tests.conftest import NO_KEY, approved, make_user

WELFARE_TABLES = ("welfare_fund_setting", "contribution_rule", "welfare_sale", "welfare_sale_reversal",
                  "welfare_settlement", "welfare_allocation", "welfare_member_contribution", "welfare_matching",
                  "welfare_benefit", "welfare_admin_cost", "welfare_settlement_reversal", "welfare_advance_refund",
                  "welfare_codi_leg")  # fmt: skip


def created(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def wf(api, db) -> dict:
    """A welfare fund with 10,000.00 of capital, two enterprises with books and 5,000.00 of cash
    each (and a 5 % rule for all channels), an officer, an approver, and tokens bound to the
    first enterprise and to the fund."""
    fund = created(api.post("/v1/parties", {"kind": "welfare_fund", "name_th": "กองทุนสวัสดิการ"}))
    book = created(api.post("/v1/books", {"code": "WF", "kind": "welfare_fund", "name_th": "กองทุน",
                                          "party_id": fund["id"]}))  # fmt: skip
    codes = {a["code"]: a["id"] for a in api.get(f"/v1/books/{book['id']}/accounts").json()["data"]}
    created(api.entry(book["id"], [(codes["1100"], "10000.00"), (codes["3100"], "-10000.00")], day="2024-01-02"))
    ents = []
    for n in (1, 2):
        party = created(api.post("/v1/parties", {"kind": "community_enterprise", "name_th": f"วิสาหกิจ {n}",
                                                 "region": "north", "province": "Chiang Rai"}))  # fmt: skip
        ent_book = created(api.post("/v1/books", {"code": f"CE{n}", "kind": "enterprise", "name_th": f"วิสาหกิจ {n}",
                                                  "party_id": party["id"]}))  # fmt: skip
        ent_codes = {a["code"]: a["id"] for a in api.get(f"/v1/books/{ent_book['id']}/accounts").json()["data"]}
        created(api.entry(ent_book["id"], [(ent_codes["1100"], "5000.00"), (ent_codes["3100"], "-5000.00")],
                          day="2024-01-02"))  # fmt: skip
        created(api.post("/v1/contribution-rules", {"enterprise_party_id": party["id"], "fund_party_id": fund["id"],
                                                    "rate_percent": "5", "effective_from": "2024-01-01"}))  # fmt: skip
        ents.append({"party_id": party["id"], "book_id": ent_book["id"]})
    return {
        "fund": fund["id"], "book": book["id"], "codes": codes, "e1": ents[0], "e2": ents[1],
        "officer": api.as_(make_user(db, "officer", "officer")),
        "approver": api.as_(make_user(db, "approver", "approver")),
        "ent": api.as_(make_user(db, "ent-1", "enterprise", party_id=ents[0]["party_id"])),
        "fund_token": api.as_(make_user(db, "fund", "enterprise", party_id=fund["id"])),
    }  # fmt: skip


def sale(wf, who=None, key=None, enterprise="e1", **changes):
    body = {"enterprise_party_id": wf[enterprise]["party_id"], "effective_date": "2024-06-08", "channel": "market",
            "amount": "1000.00", **changes}  # fmt: skip
    return (who or wf["officer"]).post("/v1/sales", body, key or hashlib.sha256(repr(body).encode()).hexdigest())


def refused(response, status: int, reason: str) -> None:
    assert (response.status_code, response.json()["reason"]) == (status, reason), response.text
    assert response.headers["content-type"] == "application/problem+json"


def snapshot(api, wf) -> tuple:
    """Everything a refused write must leave as it was."""
    books = [wf["book"], wf["e1"]["book_id"], wf["e2"]["book_id"]]
    return (
        [api.get(f"/v1/books/{b}/trial-balance").json() for b in books],
        api.get("/v1/sales").json(), api.get("/v1/settlements").json(),
        api.get(f"/v1/welfare-funds/{wf['fund']}/benefits").json(),
        api.get(f"/v1/welfare-funds/{wf['fund']}/administration-costs").json(),
        api.get(f"/v1/welfare-funds/{wf['fund']}/matching-contributions").json(),
    )  # fmt: skip


def test_a_sale_posts_in_both_books_and_a_retry_replays_it(api, wf):
    first = sale(wf, key="s-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["contribution"], body["outstanding"], body["rate_percent"]) == ("50.00", "50.00", "5")
    enterprise_entry = api.get(f"/v1/entries/{body['enterprise_entry_id']}").json()
    fund_entry = api.get(f"/v1/entries/{body['fund_entry_id']}").json()
    assert sorted((p["account_code"], p["amount"]) for p in enterprise_entry["postings"]) == sorted([
        ("1100", "1000.00"), ("4100", "-1000.00"), ("5200", "50.00"), (f"2200-F{wf['fund']}", "-50.00")])  # fmt: skip
    assert sorted((p["account_code"], p["amount"]) for p in fund_entry["postings"]) == sorted([
        (f"1200-E{wf['e1']['party_id']}", "50.00"), ("4400", "-50.00")])  # fmt: skip
    again = sale(wf, key="s-1")
    assert again.json() == body and again.headers["idempotent-replayed"] == "true"
    refused(sale(wf, key="s-1", amount="999.00"), 409, "idempotency_key_reused")
    assert len(api.get("/v1/sales").json()["data"]) == 1


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        ({"amount": "-5.00"}, 422, "amount_must_be_positive"),
        ({"amount": "0.00"}, 422, "amount_must_be_positive"),
        ({"amount": "12.345"}, 422, "malformed_amount"),
        ({"amount": "1e3"}, 422, "malformed_amount"),
        ({"amount": 1000}, 422, "malformed_amount"),
        ({"amount": "NaN"}, 422, "malformed_amount"),
        ({"channel": "street"}, 422, "invalid_request"),
        ({"enterprise_party_id": 999}, 404, "not_found"),
        ({"effective_date": "2023-12-31"}, 422, "no_rule_in_force"),
        ({"effective_date": "2024-06-15"}, 422, "date_in_future"),
        ({"lines": [{"product": "สบู่", "amount": "999.00"}]}, 422, "invalid_request"),
        ({"lines": [{"product": "สบู่", "amount": "-1.00"}, {"product": "x", "amount": "1001.00"}]}, 422,
         "amount_must_be_positive"),
    ],
)  # fmt: skip
def test_a_bad_sale_is_refused_and_changes_nothing(api, wf, changes, status, reason):
    before = snapshot(api, wf)
    refused(sale(wf, **changes), status, reason)
    assert snapshot(api, wf) == before


def test_without_a_rule_a_sale_contributes_nothing_only_when_asked(api, wf):
    refused(sale(wf, effective_date="2023-12-31"), 422, "no_rule_in_force")
    zero = created(sale(wf, effective_date="2023-12-31", allow_zero_contribution=True))
    assert (zero["contribution"], zero["fund_party_id"], zero["fund_entry_id"]) == ("0.00", None, None)
    assert len(api.get(f"/v1/entries/{zero['enterprise_entry_id']}").json()["postings"]) == 2
    # a rule made afterwards does not reprice what was recorded: neither the sale without a rule,
    # nor a sale its channel's new rule would take from the general one
    late = {"enterprise_party_id": wf["e1"]["party_id"], "fund_party_id": wf["fund"], "rate_percent": "1",
            "effective_from": "2023-12-01", "effective_to": "2023-12-31"}  # fmt: skip
    refused(api.post("/v1/contribution-rules", late), 409, "rule_already_used")
    created(sale(wf))  # 8 June 2024, market, under the 5 % rule for all channels
    market = {**late, "channel": "market", "effective_from": "2024-06-01", "effective_to": None}
    refused(api.post("/v1/contribution-rules", market), 409, "rule_already_used")
    created(api.post("/v1/contribution-rules", {**market, "effective_from": "2024-06-09"}))


def test_rules_overlap_unknown_parties_and_ending_a_rule(api, wf):
    body = {"enterprise_party_id": wf["e1"]["party_id"], "fund_party_id": wf["fund"], "rate_percent": "4",
            "effective_from": "2024-06-01"}  # fmt: skip
    before = snapshot(api, wf)
    refused(api.post("/v1/contribution-rules", body), 409, "overlapping_rules")
    refused(api.post("/v1/contribution-rules", {**body, "fund_party_id": 999}), 404, "not_found")
    refused(api.post("/v1/contribution-rules", {**body, "enterprise_party_id": wf["fund"]}), 404, "not_found")
    refused(api.post("/v1/contribution-rules", {**body, "rate_percent": "abc"}), 422, "malformed_rate")
    refused(api.post("/v1/contribution-rules", {**body, "rate_percent": "101"}), 422, "rate_out_of_range")
    refused(api.post("/v1/contribution-rules", {**body, "effective_to": "2024-05-01"}), 422, "invalid_date_range")
    refused(wf["ent"].post("/v1/contribution-rules", body), 403, "forbidden")
    assert snapshot(api, wf) == before
    assert created(api.post("/v1/contribution-rules", {**body, "channel": "online_shop"}))["rate_percent"] == "4"
    [old] = [r for r in api.get("/v1/contribution-rules").json()["data"]
             if r["enterprise_party_id"] == wf["e1"]["party_id"] and r["channel"] is None]  # fmt: skip
    created(sale(wf))  # priced by the old rule on 8 June
    refused(api.post(f"/v1/contribution-rules/{old['id']}/end", {"effective_to": "2024-05-31"}), 409,
            "rule_already_used")  # fmt: skip
    created(api.post(f"/v1/contribution-rules/{old['id']}/end", {"effective_to": "2024-06-10"}))
    assert created(api.post("/v1/contribution-rules", {**body, "effective_from": "2024-06-11"}))["rate_percent"] == "4"


def test_settlements_partial_over_and_advance(api, wf):
    first = created(sale(wf, amount="1000.00"))  # 50.00
    second = created(sale(wf, amount="300.00", effective_date="2024-06-09"))  # 15.00
    pay = {"enterprise_party_id": wf["e1"]["party_id"], "fund_party_id": wf["fund"], "effective_date": "2024-06-10"}
    officer = wf["officer"]
    before = snapshot(api, wf)
    refused(officer.post("/v1/settlements", {**pay, "amount": "65.01"}, "p-over"), 409, "settlement_exceeds_owed")
    refused(officer.post("/v1/settlements", {**pay, "amount": "0.00"}, "p-zero"), 422, "amount_must_be_positive")
    refused(officer.post("/v1/settlements", {**pay, "amount": "1.00"}, NO_KEY), 422, "idempotency_key_required")
    refused(wf["ent"].post("/v1/settlements", {**pay, "amount": "1.00"}, "p-ent"), 403, "forbidden")
    refused(officer.post("/v1/settlements", {**pay, "amount": "1.00", "fund_party_id": 999}, "p-404"), 404,
            "not_found")  # fmt: skip
    assert snapshot(api, wf) == before
    part = created(officer.post("/v1/settlements", {**pay, "amount": "60.00"}, "p-1"))
    assert part["allocations"] == [{"sale_id": first["id"], "amount": "50.00"},
                                   {"sale_id": second["id"], "amount": "10.00"}]  # fmt: skip
    advance = created(officer.post("/v1/settlements", {**pay, "amount": "25.00", "advance": True}, "p-2"))
    assert (advance["advance"], advance["allocations"]) == ("20.00", [{"sale_id": second["id"], "amount": "5.00"}])
    third = created(sale(wf, amount="500.00", effective_date="2024-06-11"))  # 25.00: 20.00 from the advance
    assert (third["advance_applied"], third["outstanding"]) == ("20.00", "5.00")
    summary = wf["ent"].get(f"/v1/enterprises/{wf['e1']['party_id']}/sales-summary").json()["by_fund"]
    assert [(f["contributions"], f["settled"], f["outstanding"], f["paid"], f["advance_held"]) for f in summary] == [
        ("90.00", "85.00", "5.00", "85.00", "0.00")]  # fmt: skip


def test_reversing_a_paid_sale_returns_its_contribution_to_the_advance(api, wf):
    paid = created(sale(wf))
    created(wf["officer"].post("/v1/settlements", {"enterprise_party_id": wf["e1"]["party_id"],
                                                   "fund_party_id": wf["fund"], "amount": "50.00",
                                                   "effective_date": "2024-06-10"}, "pay"))  # fmt: skip
    undo = wf["officer"].post(f"/v1/sales/{paid['id']}/reversal", {"reason": "wrong amount"}, "undo")
    assert undo.status_code == 201, undo.text
    assert undo.json()["reversal"]["effective_date"] == "2024-06-14" and undo.json()["outstanding"] == "0.00"
    refused(wf["officer"].post(f"/v1/sales/{paid['id']}/reversal", {"reason": "again"}, "undo-2"), 409,
            "already_reversed")  # fmt: skip
    refused(wf["officer"].post(f"/v1/sales/{paid['id']}/reversal", {"reason": "x", "effective_date": "2024-06-01"},
                               "undo-3"), 409, "already_reversed")  # fmt: skip
    again = created(sale(wf, amount="600.00", effective_date="2024-06-12"))  # 30.00, all from the 50.00 returned
    assert (again["advance_applied"], again["outstanding"]) == ("30.00", "0.00")
    view = wf["ent"].get(f"/v1/enterprises/{wf['e1']['party_id']}/sales-summary").json()
    assert view["reversed_sales"] == 1 and view["by_fund"][0]["advance_held"] == "20.00"


def pay(wf, amount: str, key: str, who=None, **changes):
    body = {"enterprise_party_id": wf["e1"]["party_id"], "fund_party_id": wf["fund"], "amount": amount,
            "effective_date": "2024-06-10", **changes}  # fmt: skip
    return (who or wf["officer"]).post("/v1/settlements", body, key)


def balance(api, book_id: int, code: str) -> Decimal:
    """An account's balance from the book's trial balance: debit less credit, in baht."""
    lines = {line["code"]: line for line in api.get(f"/v1/books/{book_id}/trial-balance").json()["lines"]}
    line = lines.get(code, {"debit": "0", "credit": "0"})
    return Decimal(line["debit"]) - Decimal(line["credit"])


def test_a_settlement_recorded_in_error_is_reversed_once_and_its_sales_owe_again(api, wf):
    first = created(sale(wf))  # 50.00
    second = created(sale(wf, amount="300.00", effective_date="2024-06-09"))  # 15.00
    settled = created(pay(wf, "80.00", "p-1", advance=True))  # 50.00 + 15.00, and 15.00 held in advance
    assert settled["advance"] == "15.00" and settled["reversal"] is None
    path, officer, e1, fund = f"/v1/settlements/{settled['id']}/reversal", wf["officer"], wf["e1"], wf["fund"]
    before = snapshot(api, wf)
    refused(officer.post("/v1/settlements/999/reversal", {"reason": "x"}, "r-404"), 404, "not_found")
    refused(officer.post(path, {}, "r-no-reason"), 422, "invalid_request")
    refused(officer.post(path, {"reason": " "}, "r-blank"), 422, "reason_required")
    refused(officer.post(path, {"reason": "x", "effective_date": "2024-06-09"}, "r-early"), 422, "invalid_date_range")
    refused(officer.post(path, {"reason": "x", "effective_date": "2024-06-15"}, "r-late"), 422, "date_in_future")
    refused(officer.post(path, {"reason": "x"}, NO_KEY), 422, "idempotency_key_required")
    refused(wf["ent"].post(path, {"reason": "x"}, "r-ent"), 403, "forbidden")
    assert snapshot(api, wf) == before
    undone = officer.post(path, {"reason": "recorded against the wrong enterprise"}, "r-1")
    assert undone.status_code == 201, undone.text
    reversal = undone.json()["reversal"]
    assert (reversal["effective_date"], reversal["reopened"], reversal["advance_taken"]) == ("2024-06-14", "65.00",
                                                                                              "15.00")  # fmt: skip
    assert officer.post(path, {"reason": "recorded against the wrong enterprise"}, "r-1").json() == undone.json()
    refused(officer.post(path, {"reason": "again"}, "r-2"), 409, "already_reversed")
    # the books are back where they were before the payment, and the sales owe again
    assert [api.get(f"/v1/sales/{s['id']}").json()["outstanding"] for s in (first, second)] == ["50.00", "15.00"]
    assert balance(api, e1["book_id"], f"1400-F{fund}") == 0 == balance(api, wf["book"], f"2100-E{e1['party_id']}")
    assert balance(api, e1["book_id"], f"2200-F{fund}") == Decimal("-65.00")
    assert balance(api, wf["book"], f"1200-E{e1['party_id']}") == Decimal("65.00")
    assert balance(api, e1["book_id"], "1100") == Decimal("6300.00")  # 5,000.00 + 1,000.00 + 300.00 of sales
    assert balance(api, wf["book"], "1100") == Decimal("10000.00")
    for entry_id in reversal["entry_ids"]:
        assert api.get(f"/v1/entries/{entry_id}").json()["reverses_entry_id"] in (
            settled["enterprise_entry_id"], settled["fund_entry_id"])  # fmt: skip
    # the sales are settled oldest first again by the next payment
    again = created(pay(wf, "55.00", "p-2"))
    assert again["allocations"] == [{"sale_id": first["id"], "amount": "50.00"},
                                    {"sale_id": second["id"], "amount": "5.00"}]  # fmt: skip
    summary = wf["ent"].get(f"/v1/enterprises/{e1['party_id']}/sales-summary").json()["by_fund"]
    assert [(f["settled"], f["outstanding"], f["paid"], f["advance_held"]) for f in summary] == [
        ("55.00", "10.00", "55.00", "0.00")]  # fmt: skip
    trail = api.get("/v1/audit", limit=500).json()["data"]
    [record] = [r for r in trail if r["action"] == "settlement.reverse" and r["outcome"] == "ok"]
    assert record["target"] == f"settlement:{settled['id']}" and record["actor"] == "officer"
    assert sorted(record["entry_ids"]) == sorted(reversal["entry_ids"])


def test_a_settlement_whose_advance_is_spent_is_not_reversed(api, wf):
    settled = created(pay(wf, "30.00", "p-1", advance=True))  # nothing owed: all of it is an advance
    created(sale(wf))  # 50.00, of which 30.00 from the advance
    before = snapshot(api, wf)
    refused(wf["officer"].post(f"/v1/settlements/{settled['id']}/reversal", {"reason": "x"}, "r-1"), 409,
            "settlement_advance_used")  # fmt: skip
    assert snapshot(api, wf) == before


def test_reversing_the_settlement_of_a_sale_since_reversed_takes_its_money_off_the_advance(api, wf):
    paid_for = created(sale(wf))
    settled = created(pay(wf, "50.00", "p-1"))
    created(wf["officer"].post(f"/v1/sales/{paid_for['id']}/reversal", {"reason": "returned goods"}, "undo"))
    e1, fund = wf["e1"], wf["fund"]
    assert balance(api, e1["book_id"], f"1400-F{fund}") == Decimal("50.00")  # the sale's payment, now an advance
    undone = created(wf["officer"].post(f"/v1/settlements/{settled['id']}/reversal", {"reason": "bounced"}, "r-1"))
    assert (undone["reversal"]["reopened"], undone["reversal"]["advance_taken"]) == ("0.00", "50.00")
    assert len(undone["reversal"]["entry_ids"]) == 4  # two reversals, and a move off the advance in each book
    for book, codes in ((e1["book_id"], (f"1400-F{fund}", f"2200-F{fund}")),
                        (wf["book"], (f"2100-E{e1['party_id']}", f"1200-E{e1['party_id']}"))):  # fmt: skip
        assert [balance(api, book, code) for code in codes] == [0, 0]
    assert api.get(f"/v1/welfare-funds/{fund}/receivables").json()["total"] == "0.00"


def test_an_unused_advance_is_refunded_never_above_what_is_unused(api, wf):
    first = created(sale(wf))  # 50.00
    created(pay(wf, "50.00", "p-1"))
    created(sale(wf, amount="400.00", effective_date="2024-06-09"))  # 20.00, owed
    created(wf["officer"].post(f"/v1/sales/{first['id']}/reversal", {"reason": "returned"}, "undo"))
    created(pay(wf, "25.00", "p-2", advance=True))  # 20.00 for the sale owed, 5.00 more held
    # held: 50.00 returned by the reversal + 5.00; nothing owed
    refund = {"enterprise_party_id": wf["e1"]["party_id"], "fund_party_id": wf["fund"], "amount": "55.01",
              "effective_date": "2024-06-12", "reference": "transfer 0012"}  # fmt: skip
    before = snapshot(api, wf)
    officer = wf["officer"]
    refused(officer.post("/v1/advance-refunds", refund, "f-over"), 409, "refund_exceeds_advance")
    refused(officer.post("/v1/advance-refunds", {**refund, "amount": "0.00"}, "f-zero"), 422, "amount_must_be_positive")
    refused(officer.post("/v1/advance-refunds", {**refund, "amount": "1.005"}, "f-bad"), 422, "malformed_amount")
    refused(officer.post("/v1/advance-refunds", {**refund, "fund_party_id": 999}, "f-404"), 404, "not_found")
    refused(officer.post("/v1/advance-refunds", {**refund, "effective_date": "2024-06-15"}, "f-late"), 422,
            "date_in_future")  # fmt: skip
    refused(wf["ent"].post("/v1/advance-refunds", {**refund, "amount": "1.00"}, "f-ent"), 403, "forbidden")
    refused(officer.post("/v1/advance-refunds", {**refund, "amount": "1.00"}, NO_KEY), 422, "idempotency_key_required")
    assert snapshot(api, wf) == before
    done = created(officer.post("/v1/advance-refunds", {**refund, "amount": "40.00"}, "f-1"))
    assert (done["amount"], done["reference"]) == ("40.00", "transfer 0012")
    e1, fund = wf["e1"], wf["fund"]
    assert balance(api, e1["book_id"], f"1400-F{fund}") == Decimal("15.00")
    assert balance(api, wf["book"], f"2100-E{e1['party_id']}") == Decimal("-15.00")
    refused(officer.post("/v1/advance-refunds", {**refund, "amount": "15.01"}, "f-2"), 409, "refund_exceeds_advance")
    created(sale(wf, amount="200.00", effective_date="2024-06-13"))  # 10.00, from the advance: 5.00 left
    refused(officer.post("/v1/advance-refunds", {**refund, "amount": "5.01"}, "f-3"), 409, "refund_exceeds_advance")
    created(officer.post("/v1/advance-refunds", {**refund, "amount": "5.00"}, "f-4"))
    assert [r["amount"] for r in wf["ent"].get("/v1/advance-refunds").json()["data"]] == ["40.00", "5.00"]
    assert wf["ent"].get("/v1/advance-refunds", enterprise_party_id=wf["e2"]["party_id"]).json()["data"] == []
    summary = wf["ent"].get(f"/v1/enterprises/{e1['party_id']}/sales-summary").json()["by_fund"]
    assert [(f["refunded"], f["advance_held"]) for f in summary] == [("45.00", "0.00")]


def test_an_advance_is_not_refunded_while_the_enterprise_still_owes(api, wf):
    first = created(sale(wf))  # 50.00
    created(pay(wf, "50.00", "p-1"))
    created(sale(wf, amount="400.00", effective_date="2024-06-09"))  # 20.00, owed
    created(wf["officer"].post(f"/v1/sales/{first['id']}/reversal", {"reason": "returned"}, "undo"))
    refund = {"enterprise_party_id": wf["e1"]["party_id"], "fund_party_id": wf["fund"], "amount": "30.01",
              "effective_date": "2024-06-12"}  # fmt: skip
    refused(wf["officer"].post("/v1/advance-refunds", refund, "f-1"), 409, "refund_exceeds_advance")
    created(wf["officer"].post("/v1/advance-refunds", {**refund, "amount": "30.00"}, "f-2"))  # 50.00 held - 20.00


@pytest.fixture
def codi(api) -> dict:
    """CODI's fund book, with 1,000.00 of cash."""
    book = created(api.post("/v1/books", {"code": "CODI", "kind": "fund", "name_th": "กองทุน พอช."}))
    codes = {a["code"]: a["id"] for a in api.get(f"/v1/books/{book['id']}/accounts").json()["data"]}
    created(api.entry(book["id"], [(codes["1100"], "1000.00"), (codes["3100"], "-1000.00")], day="2024-01-02"))
    return {"book": book["id"], "codes": codes}


def test_the_government_s_money_through_codi_posts_in_codi_s_book_too(api, wf, codi):
    path = f"/v1/welfare-funds/{wf['fund']}/matching-contributions"
    base = {"source": "government", "kind": "received", "amount": "300.00", "effective_date": "2024-06-05",
            "through_codi": True}  # fmt: skip
    created(wf["officer"].post(path, {**base, "kind": "due", "through_codi": False, "amount": "5000.00"}, "m-due"))
    before = snapshot(api, wf), balance(api, codi["book"], "1100")
    refused(wf["officer"].post(path, {**base, "source": "donor"}, "m-1"), 422, "invalid_request")
    refused(wf["officer"].post(path, {**base, "kind": "due"}, "m-2"), 422, "invalid_request")
    refused(wf["officer"].post(path, {**base, "codi_book_id": wf["book"]}, "m-3"), 422, "invalid_request")
    refused(wf["officer"].post(path, {**base, "codi_book_id": 999}, "m-4"), 404, "not_found")
    refused(wf["fund_token"].post(path, base, "m-5"), 403, "forbidden")
    refused(wf["officer"].post(path, {**base, "amount": "1000.01"}, "m-6"), 409, "insufficient_balance")  # CODI's cash
    assert (snapshot(api, wf), balance(api, codi["book"], "1100")) == before  # neither book moved
    received = created(wf["officer"].post(path, base, "m-7"))
    assert received["codi_book_id"] == codi["book"] and received["codi_entry_id"] is not None
    codi_entry = api.get(f"/v1/entries/{received['codi_entry_id']}").json()
    assert sorted((p["account_code"], p["amount"]) for p in codi_entry["postings"]) == [
        ("1100", "-300.00"), (f"5400-W{wf['fund']}", "300.00")]  # fmt: skip
    fund_entry = api.get(f"/v1/entries/{received['entry_id']}").json()
    assert sorted((p["account_code"], p["amount"]) for p in fund_entry["postings"]) == [
        ("1100", "300.00"), ("1300-GOV", "-300.00")]  # fmt: skip
    created(wf["officer"].post(path, {**base, "through_codi": False, "amount": "100.00"}, "m-8"))  # paid directly
    listed = api.get(path).json()
    [government] = [s for s in listed["by_source"] if s["source"] == "government"]
    assert (government["received"], government["received_through_codi"], government["outstanding"]) == (
        "400.00", "300.00", "4600.00")  # fmt: skip
    assert [r["codi_entry_id"] is not None for r in listed["data"]] == [False, True, False]
    assert balance(api, codi["book"], f"5400-W{wf['fund']}") == Decimal("300.00")
    trail = api.get("/v1/audit", limit=500).json()["data"]
    [record] = [r for r in trail if r["action"] == "welfare.matching" and r["target"] == f"welfare.matching:"
                f"{received['id']}"]  # fmt: skip
    assert sorted(record["entry_ids"]) == sorted([received["entry_id"], received["codi_entry_id"]])


def test_receivables_as_of_a_past_day_leave_out_what_came_after_it(api, wf):
    march = created(sale(wf, effective_date="2024-03-01"))  # 50.00
    may = created(sale(wf, effective_date="2024-05-20"))  # 50.00
    created(pay(wf, "60.00", "p-1", effective_date="2024-06-01"))  # march 50.00, may 10.00
    june = created(sale(wf, effective_date="2024-06-10"))  # 50.00
    second = created(pay(wf, "10.00", "p-2", effective_date="2024-06-05"))  # may 10.00
    created(wf["officer"].post(f"/v1/sales/{june['id']}/reversal", {"reason": "x", "effective_date": "2024-06-12"},
                               "undo"))  # fmt: skip
    created(wf["officer"].post(f"/v1/settlements/{second['id']}/reversal",
                               {"reason": "bounced", "effective_date": "2024-06-13"}, "r-1"))  # fmt: skip
    path = f"/v1/welfare-funds/{wf['fund']}/receivables"

    def owed(as_of: str | None) -> tuple:
        body = api.get(path, **({"as_of": as_of} if as_of else {})).json()
        return body["total"], [(r["outstanding"], r["sales"], r["oldest_sale_on"], {k: v for k, v in r["by_age"].items()
                                                                                   if v != "0.00"})
                               for r in body["data"]]  # fmt: skip

    assert owed("2024-02-29") == ("0.00", [])
    assert owed("2024-05-31") == ("100.00", [("100.00", 2, march["effective_date"],
                                              {"over 90": "50.00", "0-30": "50.00"})])  # fmt: skip
    assert owed("2024-06-04") == ("40.00", [("40.00", 1, may["effective_date"], {"0-30": "40.00"})])
    assert owed("2024-06-11") == ("80.00", [("80.00", 2, may["effective_date"], {"0-30": "80.00"})])
    assert owed("2024-06-12") == ("30.00", [("30.00", 1, may["effective_date"], {"0-30": "30.00"})])
    assert owed("2024-06-13") == owed("2024-06-14") == owed(None) == ("40.00", [("40.00", 1, may["effective_date"],
                                                                                {"0-30": "40.00"})])  # fmt: skip
    refused(api.get(path, as_of="2024-13-01"), 422, "malformed_date")


def test_enterprise_tokens_record_and_see_only_their_own_sales(api, wf):
    ent = wf["ent"]
    mine = created(sale(wf, who=ent))
    theirs = created(sale(wf, enterprise="e2"))
    refused(sale(wf, who=ent, enterprise="e2"), 404, "not_found")
    assert [s["id"] for s in ent.get("/v1/sales").json()["data"]] == [mine["id"]]
    refused(ent.get(f"/v1/sales/{theirs['id']}"), 404, "not_found")
    refused(ent.post(f"/v1/sales/{theirs['id']}/reversal", {"reason": "x"}, "r"), 404, "not_found")
    refused(ent.get(f"/v1/enterprises/{wf['e2']['party_id']}/sales-summary"), 404, "not_found")
    refused(ent.get(f"/v1/welfare-funds/{wf['fund']}/statement", **{"from": "2024-01-01", "to": "2024-06-30"}), 404,
            "not_found")  # fmt: skip
    refused(ent.get("/v1/programme-totals", **{"from": "2024-01-01", "to": "2024-06-30"}), 403, "forbidden")
    lines = "\n".join(
        f'{{"key": "k{n}", "enterprise_party_id": {wf[e]["party_id"]}, "effective_date": "2024-06-08", '
        f'"channel": "market", "amount": "100.00"}}'
        for n, e in ((1, "e1"), (2, "e2"))
    )
    report = ent.client.post("/v1/sales/import", content=lines.encode(), headers=ent.headers()).json()
    assert report["recorded"] == 1 and [(r["line"], r["reason"]) for r in report["rejected"]] == [(2, "not_found")]
    # the fund's token sees the sales that contribute to it, and its own fund's money
    fund = wf["fund_token"]
    assert len(fund.get("/v1/sales").json()["data"]) == 3
    assert fund.get(f"/v1/welfare-funds/{wf['fund']}/receivables").json()["total"] == "105.00"


def test_the_fund_s_own_money_and_its_bad_inputs(api, wf):
    fund_path = f"/v1/welfare-funds/{wf['fund']}"
    member = {"effective_date": "2024-06-05", "period_from": "2024-06-01", "period_to": "2024-06-30",
              "frequency": "daily", "member_count": 10, "amount": "280.00"}  # fmt: skip
    before = snapshot(api, wf)
    for body, status, reason in [
        ({**member, "period_to": "2024-05-31"}, 422, "invalid_period"),
        ({**member, "amount": "-1.00"}, 422, "amount_must_be_positive"),
        ({**member, "member_count": 0}, 422, "invalid_request"),
        ({**member, "frequency": "weekly"}, 422, "invalid_request"),
    ]:
        refused(wf["officer"].post(f"{fund_path}/member-contributions", body, reason), status, reason)
    refused(wf["officer"].post(f"{fund_path}/benefits", {"benefit_type": "wedding", "beneficiary_ref": "M-1",
                                                         "amount": "100.00", "effective_date": "2024-06-05"}, "b"),
            422, "unknown_benefit_type")  # fmt: skip
    refused(wf["officer"].post(f"{fund_path}/benefits", {"benefit_type": "death", "beneficiary_ref": "นาย ก",
                                                         "amount": "100.00", "effective_date": "2024-06-05"}, "b2"),
            422, "invalid_request")  # fmt: skip
    refused(wf["officer"].post(f"{fund_path}/benefits", {"benefit_type": "death", "beneficiary_ref": "M-1",
                                                         "amount": "10000.01", "effective_date": "2024-06-05"}, "b3"),
            409, "insufficient_balance")  # fmt: skip
    refused(wf["officer"].post(f"{fund_path}/matching-contributions", {"source": "government", "kind": "received",
                                                                       "amount": "1.00",
                                                                       "effective_date": "2024-06-05"}, "m"),
            409, "matching_exceeds_due")  # fmt: skip
    refused(wf["officer"].post("/v1/welfare-funds/999/benefits", {"benefit_type": "death", "beneficiary_ref": "M-1",
                                                                  "amount": "1.00", "effective_date": "2024-06-05"},
                               "b4"), 404, "not_found")  # fmt: skip
    refused(wf["ent"].post(f"{fund_path}/member-contributions", member, "m-ent"), 404, "not_found")
    assert snapshot(api, wf) == before
    recorded = created(wf["fund_token"].post(f"{fund_path}/member-contributions", member, "m-1"))
    assert recorded["expected"] == "300.00"  # 10 members x 30 days x 1.00; they paid 280.00


def test_administration_over_the_cap_needs_an_approver_and_shows_in_the_audit_trail(api, wf, checker):
    fund_path = f"/v1/welfare-funds/{wf['fund']}"
    created(wf["officer"].post(f"{fund_path}/member-contributions", {
        "effective_date": "2024-06-05", "period_from": "2024-06-01", "period_to": "2024-06-30",
        "frequency": "monthly", "member_count": 100, "amount": "3000.00"}, "members"))  # fmt: skip
    cap = api.get(f"{fund_path}/administration-costs").json()["cap"]
    assert (cap["fiscal_year"], cap["cap"], cap["room"]) == (2567, "600.00", "600.00")  # 20 % of 3,000.00
    cost = {"amount": "400.00", "effective_date": "2024-06-10", "description": "Rent of the office"}
    created(wf["officer"].post(f"{fund_path}/administration-costs", cost, "a-1"))
    before = snapshot(api, wf)
    refused(wf["officer"].post(f"{fund_path}/administration-costs", cost, "a-2"), 409, "administration_cap_exceeded")
    refused(wf["officer"].post(f"{fund_path}/administration-costs", {**cost, "override_reason": "flood repairs"},
                               "a-3"), 403, "forbidden")  # fmt: skip
    refused(wf["approver"].post(f"{fund_path}/administration-costs", cost, "a-4"), 409, "administration_cap_exceeded")
    assert snapshot(api, wf) == before
    approved(checker, api.post(f"{fund_path}/settings", {"admin_cap_percent": "30"}))
    within = created(wf["officer"].post(f"{fund_path}/administration-costs", {**cost, "amount": "500.00"}, "a-5"))
    assert (within["cap"], within["spent_before"], within["override_reason"]) == ("900.00", "400.00", None)
    over = created(wf["approver"].post(f"{fund_path}/administration-costs", {**cost, "override_reason": "flood"},
                                       "a-6"))  # fmt: skip
    assert over["override_reason"] == "flood" and over["overridden_by"] is not None
    trail = api.get("/v1/audit", limit=500).json()["data"]
    [record] = [r for r in trail if r["action"] == "welfare.administration.override"]
    assert record["outcome"] == "ok" and record["actor"] == "approver" and record["target"].endswith(str(over["id"]))
    assert any(r["outcome"] == "refused: administration_cap_exceeded" for r in trail)


def test_an_admin_alone_cannot_raise_the_administration_cap(api, wf, checker):
    """Raising a fund's cap is an admin command: pending (the cap in force unchanged, a cost over
    it still refused) until a second admin approves it; rejected, it never applies."""
    fund_path = f"/v1/welfare-funds/{wf['fund']}"
    created(wf["officer"].post(f"{fund_path}/member-contributions", {
        "effective_date": "2024-06-05", "period_from": "2024-06-01", "period_to": "2024-06-30",
        "frequency": "monthly", "member_count": 100, "amount": "3000.00"}, "members"))  # fmt: skip
    raise_ = api.post(f"{fund_path}/settings", {"admin_cap_percent": "90"})
    assert raise_.status_code == 202 and raise_.json()["status"] == "pending", raise_.text
    assert raise_.json()["payload"] == {"party_id": wf["fund"], "admin_cap_percent": "90", "member_daily_satang": 100}
    assert api.get(f"{fund_path}/settings").json()["admin_cap_percent"] == "20"
    refused(api.post(f"{raise_.json()['href']}/approval", {}), 403, "same_user_approval")
    cost = {"amount": "700.00", "effective_date": "2024-06-10", "description": "Rent of the office"}
    refused(api.post(f"{fund_path}/administration-costs", cost, "c-1"), 409, "administration_cap_exceeded")
    assert checker.post(f"{raise_.json()['href']}/rejection", {}).json()["status"] == "rejected"
    assert api.get(f"{fund_path}/settings").json()["admin_cap_percent"] == "20"
    decided = approved(checker, api.post(f"{fund_path}/settings", {"admin_cap_percent": "30"}))
    assert decided["target"] == f"welfare-fund:{wf['fund']}:settings"
    assert api.get(f"{fund_path}/settings").json()["admin_cap_percent"] == "30"


def test_bulk_import_from_csv_reports_each_rejected_line(api, wf):
    e1 = wf["e1"]["party_id"]
    csv_text = "\n".join([
        "key,enterprise_party_id,effective_date,channel,amount,payment",
        f"c-1,{e1},2024-06-08,market,100.00,cash",
        f"c-2,{e1},2024-06-08,market,12.345,cash",
        "c-3,999,2024-06-08,market,100.00,cash",
        f"c-4,{e1},2024-06-08,market,200.00,credit",
        f"c-5,{e1},2099-06-08,market,200.00,cash",
        "",
    ])  # fmt: skip
    headers = {**api.headers(), "Content-Type": "text/csv"}
    report = api.client.post("/v1/sales/import", content=csv_text.encode(), headers=headers).json()
    assert report["recorded"] == 2
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (3, "malformed_amount"), (4, "not_found"), (6, "date_in_future")]  # fmt: skip
    again = api.client.post("/v1/sales/import", content=csv_text.encode(), headers=headers).json()
    assert (again["recorded"], again["replayed"]) == (0, 2)
    saved_by_a_spreadsheet = api.client.post("/v1/sales/import", content="\ufeff".encode() + csv_text.encode(),
                                             headers=headers).json()  # fmt: skip
    assert (saved_by_a_spreadsheet["recorded"], saved_by_a_spreadsheet["replayed"]) == (0, 2)  # the same lines
    bad_header = api.client.post("/v1/sales/import", content=b"who,what\n1,2\n", headers=headers)
    refused(bad_header, 422, "invalid_request")
    garbage = api.client.post("/v1/sales/import", content=b"[1]\n{\n", headers=api.headers()).json()
    assert [r["reason"] for r in garbage["rejected"]] == ["invalid_request", "invalid_request"]


def test_an_import_at_the_documented_limits(api, wf):
    """docs/welfare.md promises 10,000 lines and 8 MiB: a file that size is taken whole (it was
    refused with 413 at 256 KiB, the bound of every other route); one line or one byte more is not."""
    csv_headers = {**api.headers(), "Content-Type": "text/csv"}
    head = "key,enterprise_party_id,effective_date,channel,amount,payment,description"
    description = "ผ้าทอมือลายดอกแก้ว " * 13  # 13 x 19 characters, most of them Thai: 750 bytes a line in all

    def file(lines: int) -> bytes:
        rows = (f"m-{n},{wf['e1']['party_id']},2024-06-08,market,1.00,cash,{description}" for n in range(lines))
        return "\n".join([head, *rows]).encode()

    full = file(MAX_IMPORT_LINES)
    assert MAX_BODY_BYTES < len(full) <= IMPORT_BODY_BYTES
    report = api.client.post("/v1/sales/import", content=full, headers=csv_headers)
    assert report.status_code == 200, report.text
    assert (report.json()["recorded"], report.json()["rejected"]) == (MAX_IMPORT_LINES, [])
    one_line_more = api.client.post("/v1/sales/import", content=full + b"\nm-x,1,2024-06-08,market,1.00,cash",
                                    headers=csv_headers)  # fmt: skip
    refused(one_line_more, 413, "request_too_large")
    assert "10000 lines" in one_line_more.json()["detail"]
    one_byte_more = api.client.post("/v1/sales/import", content=b" " * (IMPORT_BODY_BYTES + 1), headers=csv_headers)
    refused(one_byte_more, 413, "request_too_large")
    # Every other route keeps its bound.
    refused(api.client.post("/v1/parties", content=full, headers=api.headers()), 413, "request_too_large")


def test_a_csv_header_that_names_a_column_twice_is_refused(api, wf):
    """Not "the last column wins": the amount read could be either of the two."""
    e1 = wf["e1"]["party_id"]
    twice = f"key,enterprise_party_id,effective_date,channel,amount,amount\nd-1,{e1},2024-06-08,market,1.00,900.00\n"
    response = api.client.post("/v1/sales/import", content=twice.encode(),
                               headers={**api.headers(), "Content-Type": "text/csv"})  # fmt: skip
    refused(response, 422, "duplicate_column")
    assert "amount" in response.json()["detail"]
    assert api.get("/v1/sales").json()["data"] == []


def test_the_openapi_document_describes_the_welfare_routes(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/contribution-rules", "/v1/sales", "/v1/sales/import", "/v1/sales/{sale_id}/reversal",
                 "/v1/settlements", "/v1/welfare-funds/{party_id}/member-contributions",
                 "/v1/welfare-funds/{party_id}/matching-contributions", "/v1/welfare-funds/{party_id}/benefits",
                 "/v1/welfare-funds/{party_id}/administration-costs", "/v1/welfare-funds/{party_id}/statement",
                 "/v1/welfare-funds/{party_id}/receivables", "/v1/enterprises/{party_id}/sales-summary",
                 "/v1/programme-totals"):  # fmt: skip
        assert path in paths
    assert "text/csv" in paths["/v1/sales/import"]["post"]["requestBody"]["content"]


# --- the database's own guards -----------------------------------------------------------------


def test_the_tables_match_the_migration(db):
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert [d for d in differences if any(table in repr(d) for table in WELFARE_TABLES)] == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE welfare_sale SET contribution_satang = contribution_satang + 1",
        "DELETE FROM welfare_sale",
        "DELETE FROM welfare_allocation",
        "UPDATE welfare_settlement SET advance_satang = 0",
        "DELETE FROM welfare_benefit",
        "DELETE FROM welfare_settlement",
        "UPDATE contribution_rule SET rate_percent = '50'",  # a rule's terms never change
        "INSERT INTO contribution_rule (enterprise_party_id, fund_party_id, rate_percent, channel, effective_from, "
        "created_at, created_by) SELECT enterprise_party_id, fund_party_id, '1', NULL, '2030-01-01', created_at, "
        "created_by FROM contribution_rule",  # overlaps the open-ended rules
        "UPDATE contribution_rule SET effective_to = '2023-01-01'",  # ends before it starts
        "INSERT INTO welfare_sale (enterprise_party_id, enterprise_book_id, fund_party_id, rule_id, effective_date, "
        "channel, payment, amount_satang, contribution_satang, advance_applied_satang, lines, enterprise_entry_id, "
        "fund_entry_id, recorded_at, recorded_by) SELECT enterprise_party_id, enterprise_book_id, fund_party_id, "
        "rule_id, effective_date, channel, payment, amount_satang, contribution_satang, 0, '[]', enterprise_entry_id, "
        "NULL, recorded_at, recorded_by FROM welfare_sale",  # a contribution that never reached the fund
        "INSERT INTO welfare_admin_cost (fund_party_id, effective_date, amount_satang, description, cap_satang, "
        "spent_before_satang, entry_id, recorded_at, recorded_by) SELECT fund_party_id, effective_date, 100, 'x', "
        "50, 0, entry_id, recorded_at, recorded_by FROM welfare_benefit",  # over the cap, no override
        "INSERT INTO welfare_benefit (fund_party_id, benefit_type, beneficiary_ref, effective_date, amount_satang, "
        "entry_id, recorded_at, recorded_by) SELECT fund_party_id, 'wedding', beneficiary_ref, effective_date, "
        "amount_satang, entry_id, recorded_at, recorded_by FROM welfare_benefit",
    ],
)
def test_the_database_refuses_bad_welfare_rows(api, db, wf, statement):
    created(sale(wf))
    created(wf["officer"].post("/v1/settlements", {"enterprise_party_id": wf["e1"]["party_id"],
                                                   "fund_party_id": wf["fund"], "amount": "60.00", "advance": True,
                                                   "effective_date": "2024-06-10"}, "pay"))  # fmt: skip
    created(
        wf["officer"].post(
            f"/v1/welfare-funds/{wf['fund']}/benefits",
            {"benefit_type": "death", "beneficiary_ref": "M-1", "amount": "10.00", "effective_date": "2024-06-05"},
            "b",
        )
    )
    engine = create_engine(db.url, poolclass=NullPool)
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE welfare_settlement_reversal SET advance_taken_satang = 0",
        "DELETE FROM welfare_settlement_reversal",
        "UPDATE welfare_advance_refund SET amount_satang = amount_satang + 1",
        "DELETE FROM welfare_advance_refund",
        "UPDATE welfare_codi_leg SET codi_book_id = codi_book_id",
        "DELETE FROM welfare_codi_leg",
        "INSERT INTO welfare_advance_refund (enterprise_party_id, fund_party_id, effective_date, amount_satang, "
        "enterprise_entry_id, fund_entry_id, recorded_at, recorded_by) SELECT enterprise_party_id, fund_party_id, "
        "effective_date, 0, enterprise_entry_id, fund_entry_id, recorded_at, recorded_by FROM welfare_advance_refund",
    ],
)
def test_the_database_refuses_changes_to_welfare_corrections(api, db, wf, codi, statement):
    created(sale(wf))
    created(pay(wf, "100.00", "p-1", advance=True))  # 50.00 for the sale, 50.00 held
    settled = created(pay(wf, "20.00", "p-2", advance=True))
    created(wf["officer"].post("/v1/advance-refunds", {"enterprise_party_id": wf["e1"]["party_id"],
                                                       "fund_party_id": wf["fund"], "amount": "10.00",
                                                       "effective_date": "2024-06-11"}, "f-1"))  # fmt: skip
    created(wf["officer"].post(f"/v1/settlements/{settled['id']}/reversal", {"reason": "error"}, "r-1"))
    path = f"/v1/welfare-funds/{wf['fund']}/matching-contributions"
    matching = {"source": "government", "amount": "10.00", "effective_date": "2024-06-05"}
    created(wf["officer"].post(path, {**matching, "kind": "due"}, "m-1"))
    created(wf["officer"].post(path, {**matching, "kind": "received", "through_codi": True}, "m-2"))
    engine = create_engine(db.url, poolclass=NullPool)
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()
