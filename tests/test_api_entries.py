"""The journal through the real app: posting, reading, reversing, and every way to get it wrong."""

import pytest

from api.context import BANGKOK
from tests.conftest import NO_KEY, NOW, make_user


def test_post_and_read_entry(api, fund):
    response = api.entry(
        fund["book_id"],
        [(fund["1100"], "1500.50"), (fund["3100"], "-1500.50")],
        dimensions={"province": "Nakhon Sawan"},
    )
    assert response.status_code == 201, response.text
    entry = response.json()
    assert [p["amount"] for p in entry["postings"]] == ["1500.50", "-1500.50"]
    assert entry["dimensions"] == {"province": "Nakhon Sawan"}
    assert api.get(f"/v1/entries/{entry['id']}").json() == entry
    assert api.get(f"/v1/accounts/{fund['1100']}").json()["balance"] == "1500.50"


def test_same_key_same_body_has_one_effect(api, fund):
    lines = [(fund["1100"], "100.00"), (fund["3100"], "-100.00")]
    first = api.entry(fund["book_id"], lines, key="k-1")
    again = api.entry(fund["book_id"], lines, key="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.get(f"/v1/accounts/{fund['1100']}").json()["balance"] == "100.00"


def test_same_key_other_body_is_a_conflict(api, fund):
    api.entry(fund["book_id"], [(fund["1100"], "100.00"), (fund["3100"], "-100.00")], key="k-2")
    other = api.entry(fund["book_id"], [(fund["1100"], "200.00"), (fund["3100"], "-200.00")], key="k-2")
    assert other.status_code == 409
    assert other.json()["reason"] == "idempotency_key_reused"
    assert other.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([("1100", "100.00"), ("3100", "-99.99")], "unbalanced_entry"),
        ([("1100", "100.00")], "too_few_postings"),
        ([("1100", "0.00"), ("3100", "0.00")], "amount_must_not_be_zero"),
        ([("1100", "1.005"), ("3100", "-1.005")], "malformed_amount"),
        ([("1100", "1e3"), ("3100", "-1e3")], "malformed_amount"),
        ([("1100", "NaN"), ("3100", "NaN")], "malformed_amount"),
        ([("1100", ""), ("3100", "")], "malformed_amount"),
        ([("1100", "1000000000000.00"), ("3100", "-1000000000000.00")], "amount_too_large"),
        ([("1100", 100.5), ("3100", -100.5)], "malformed_amount"),
    ],
)
def test_bad_entries_are_refused_and_change_nothing(api, fund, lines, reason):
    response = api.entry(fund["book_id"], [(fund[code], amount) for code, amount in lines])
    assert response.status_code == 422, response.text
    assert response.json()["reason"] == reason
    assert api.get(f"/v1/accounts/{fund['1100']}").json()["balance"] == "0.00"


def test_unknown_and_other_book_accounts(api, fund):
    other = api.post("/v1/books", {"code": "WF", "kind": "welfare_fund", "name_th": "กองทุนสวัสดิการ"}).json()
    other_cash = api.get(f"/v1/books/{other['id']}/accounts").json()["data"][0]["id"]
    response = api.entry(fund["book_id"], [(fund["1100"], "5.00"), (other_cash, "-5.00")])
    assert (response.status_code, response.json()["reason"]) == (409, "account_not_in_book")
    response = api.entry(fund["book_id"], [(fund["1100"], "5.00"), (999_999, "-5.00")])
    assert (response.status_code, response.json()["reason"]) == (404, "not_found")
    response = api.entry(999_999, [(fund["1100"], "5.00"), (fund["3100"], "-5.00")])
    assert (response.status_code, response.json()["reason"]) == (404, "not_found")


def test_balance_rule_refuses_overdraft(api, fund):
    response = api.entry(fund["book_id"], [(fund["5400"], "10.00"), (fund["1100"], "-10.00")])
    assert (response.status_code, response.json()["reason"]) == (409, "insufficient_balance")


def test_money_moving_post_needs_a_key(api, fund):
    postings = [{"account_id": fund["1100"], "amount": "1.00"}, {"account_id": fund["3100"], "amount": "-1.00"}]
    body = {"book_id": fund["book_id"], "effective_date": "2024-06-01", "description": "x", "postings": postings}
    response = api.post("/v1/entries", body, key=NO_KEY)
    assert (response.status_code, response.json()["reason"]) == (422, "idempotency_key_required")


def test_reversal_restores_balances_and_happens_once(api, fund):
    entry = api.entry(fund["book_id"], [(fund["1100"], "700.00"), (fund["3100"], "-700.00")], day="2024-05-10").json()
    reversal = api.post(f"/v1/entries/{entry['id']}/reversal", {"date": "original"}, key="r-1")
    assert reversal.status_code == 201, reversal.text
    assert reversal.json()["effective_date"] == "2024-05-10"
    assert reversal.json()["reverses_entry_id"] == entry["id"]
    assert api.get(f"/v1/entries/{entry['id']}").json()["reversed_by_entry_id"] == reversal.json()["id"]
    assert api.get(f"/v1/accounts/{fund['1100']}").json()["balance"] == "0.00"
    twice = api.post(f"/v1/entries/{entry['id']}/reversal", {"date": "today"}, key="r-2")
    assert (twice.status_code, twice.json()["reason"]) == (409, "already_reversed")


def test_reversal_dated_today_uses_bangkok_date(api, fund):
    entry = api.entry(fund["book_id"], [(fund["1100"], "7.00"), (fund["3100"], "-7.00")], day="2024-05-10").json()
    reversal = api.post(f"/v1/entries/{entry['id']}/reversal", {}, key="r-3").json()
    assert reversal["effective_date"] == "2024-06-14"


def test_closed_period_refuses_entries(api, fund):
    closed = api.post(f"/v1/books/{fund['book_id']}/periods/close", {"period": "2024-05"})
    assert closed.status_code == 200, closed.text
    may = {p["period"]: p["closed"] for p in closed.json()}
    assert may["2024-05"] and may["2023-10"] and not may["2024-06"]
    response = api.entry(fund["book_id"], [(fund["1100"], "1.00"), (fund["3100"], "-1.00")], day="2024-05-31")
    assert (response.status_code, response.json()["reason"]) == (409, "period_closed")
    assert (
        api.entry(fund["book_id"], [(fund["1100"], "1.00"), (fund["3100"], "-1.00")], day="2024-06-01").status_code
        == 201
    )
    again = api.post(f"/v1/books/{fund['book_id']}/periods/close", {"period": "2024-04"})
    assert (again.status_code, again.json()["reason"]) == (409, "period_not_closable")


def test_list_entries_filters_and_pages(api, fund):
    for n in range(5):
        api.entry(
            fund["book_id"], [(fund["1100"], f"{n + 1}.00"), (fund["3100"], f"-{n + 1}.00")], day=f"2024-0{n + 1}-15"
        )
    api.entry(fund["book_id"], [(fund["loan"], "3.00"), (fund["1100"], "-3.00")], day="2024-06-02")
    page = api.get("/v1/entries", book_id=fund["book_id"], limit=4).json()
    assert len(page["data"]) == 4 and page["next_cursor"]
    rest = api.get("/v1/entries", book_id=fund["book_id"], limit=4, cursor=page["next_cursor"]).json()
    assert len(rest["data"]) == 2 and rest["next_cursor"] is None
    ranged = api.get("/v1/entries", **{"from": "2024-02-01", "to": "2024-03-31"}).json()["data"]
    assert [e["effective_date"] for e in ranged] == ["2024-02-15", "2024-03-15"]
    assert len(api.get("/v1/entries", party_id=fund["borrower_id"]).json()["data"]) == 1
    assert len(api.get("/v1/entries", account_id=fund["loan"]).json()["data"]) == 1
    assert api.get("/v1/entries", kind="reversal").json()["data"] == []
    bad = api.get("/v1/entries", **{"from": "2024-03-01", "to": "2024-02-01"})
    assert (bad.status_code, bad.json()["reason"]) == (422, "invalid_date_range")
    assert api.get("/v1/entries", cursor="!!").json()["reason"] == "invalid_cursor"


def test_balance_as_of_statement_and_trial_balance(api, fund):
    api.entry(fund["book_id"], [(fund["1100"], "1000.00"), (fund["3100"], "-1000.00")], day="2024-01-10")
    api.entry(fund["book_id"], [(fund["loan"], "400.00"), (fund["1100"], "-400.00")], day="2024-02-20")
    api.entry(
        fund["book_id"], [(fund["1100"], "50.25"), (fund["loan"], "-40.00"), (fund["4100"], "-10.25")], day="2024-03-05"
    )
    cash = fund["1100"]
    assert api.get(f"/v1/accounts/{cash}/balance", as_of="2024-02-19").json()["balance"] == "1000.00"
    assert api.get(f"/v1/accounts/{cash}/balance", as_of="2024-02-20").json()["balance"] == "600.00"
    assert api.get(f"/v1/accounts/{cash}/balance").json()["balance"] == "650.25"
    statement = api.get(f"/v1/accounts/{cash}/statement", **{"from": "2024-02-01", "to": "2024-03-31"}).json()
    assert statement["opening_balance"] == "1000.00"
    assert [line["running_balance"] for line in statement["lines"]] == ["600.00", "650.25"]
    assert statement["closing_balance"] == "650.25"
    csv_text = api.get(
        f"/v1/accounts/{cash}/statement", **{"from": "2024-02-01", "to": "2024-03-31", "format": "csv"}
    ).text
    assert csv_text.splitlines()[0] == "\ufeffentry_id,effective_date,description,amount,running_balance"
    assert csv_text.splitlines()[-1].endswith("Closing balance,,650.25")
    trial = api.get(f"/v1/books/{fund['book_id']}/trial-balance").json()
    assert trial["total_debit"] == trial["total_credit"] == "1010.25"
    control = next(line for line in trial["lines"] if line["code"] == "1200")
    assert control["rolled_up_balance"] == "360.00" and control["debit"] == "0.00"
    past = api.get(f"/v1/books/{fund['book_id']}/trial-balance", as_of="2024-01-31").json()
    assert past["total_debit"] == "1000.00"
    assert api.get(f"/v1/accounts/{fund['1200']}").json()["rolled_up_balance"] == "360.00"
    tb_csv = api.get(f"/v1/books/{fund['book_id']}/trial-balance", format="csv")
    assert tb_csv.headers["content-type"].startswith("text/csv")
    assert tb_csv.text.splitlines()[-1].startswith(",,Total,,,,1010.25,1010.25")


def test_periods_of_a_fiscal_year(api, fund):
    periods = api.get(f"/v1/books/{fund['book_id']}/periods", fiscal_year=2567).json()
    assert [p["period"] for p in periods][:2] == ["2023-10", "2023-11"] and periods[-1]["end"] == "2024-09-30"
    assert {p["fiscal_year"] for p in periods} == {2567}


def test_no_route_answers_500_for_junk(api, fund):
    for body in ({}, {"book_id": "x"}, {"postings": "no"}, [], {"book_id": 1, "postings": [{}] * 3}):
        response = api.post("/v1/entries", body, key="junk")
        assert response.status_code == 422, response.text
    assert api.client.post("/v1/entries", content=b"{not json", headers=api.headers("j2")).status_code == 422
    assert api.get("/v1/entries/not-a-number").status_code == 422
    assert api.get(f"/v1/entries/{2**70}").status_code == 422
    assert api.get("/v1/entries", book_id=2**70).status_code == 422
    nul = api.entry(fund["book_id"], [(fund["1100"], "1.00"), (fund["3100"], "-1.00")], description="a\x00b")
    assert nul.status_code == 422
    early = api.get(f"/v1/accounts/{fund['1100']}/statement", **{"from": "0001-01-01", "to": "2024-01-01"})
    assert early.status_code == 422 and early.json()["reason"] == "date_out_of_range"  # ledger.calendar's window
    earliest = api.get(f"/v1/accounts/{fund['1100']}/statement", **{"from": "1900-01-01", "to": "2024-01-01"})
    assert earliest.status_code == 200 and earliest.json()["opening_balance"] == "0.00"
    assert api.post(f"/v1/books/{fund['book_id']}/periods/close", {"period": "0000-01"}).status_code == 422
    assert api.get("/v1/nowhere").json()["reason"] == "not_found"


def test_enterprise_sees_only_its_own(api, db, fund):
    token = make_user(db, "coop", "enterprise", party_id=fund["borrower_id"])
    mine = api.entry(fund["book_id"], [(fund["loan"], "10.00"), (fund["1100"], "-10.00")])
    assert mine.status_code == 409  # no cash yet: the fund's cash may not go into credit
    api.entry(fund["book_id"], [(fund["1100"], "20.00"), (fund["3100"], "-20.00")])
    mine = api.entry(fund["book_id"], [(fund["loan"], "10.00"), (fund["1100"], "-10.00")]).json()
    theirs = api.entry(fund["book_id"], [(fund["5400"], "1.00"), (fund["1100"], "-1.00")]).json()
    coop = api.as_(token)
    assert coop.get(f"/v1/entries/{mine['id']}").status_code == 200
    assert coop.get(f"/v1/entries/{theirs['id']}").status_code == 404
    assert [e["id"] for e in coop.get("/v1/entries").json()["data"]] == [mine["id"]]
    assert coop.get(f"/v1/accounts/{fund['loan']}").status_code == 200
    assert coop.get(f"/v1/accounts/{fund['1100']}").status_code == 404
    assert [a["id"] for a in coop.get(f"/v1/books/{fund['book_id']}/accounts").json()["data"]] == [fund["loan"]]
    assert coop.get(f"/v1/books/{fund['book_id']}/trial-balance").status_code == 404
    assert [p["id"] for p in coop.get("/v1/parties").json()["data"]] == [fund["borrower_id"]]
    refused = coop.entry(fund["book_id"], [(fund["loan"], "1.00"), (fund["1100"], "-1.00")])
    assert refused.status_code == 404


def test_roles(api, db, fund):
    auditor = api.as_(make_user(db, "aud", "auditor"))
    officer = api.as_(make_user(db, "off", "officer"))
    assert auditor.get(f"/v1/books/{fund['book_id']}/trial-balance").status_code == 200
    assert auditor.entry(fund["book_id"], [(fund["1100"], "1.00"), (fund["3100"], "-1.00")]).status_code == 403
    assert auditor.post("/v1/parties", {"kind": "network", "name_th": "x"}).json()["reason"] == "forbidden"
    assert officer.entry(fund["book_id"], [(fund["1100"], "1.00"), (fund["3100"], "-1.00")]).status_code == 201
    assert officer.post(f"/v1/books/{fund['book_id']}/periods/close", {"period": "2024-01"}).status_code == 403
    assert officer.get("/v1/audit").status_code == 403
    assert auditor.get("/v1/audit").status_code == 200
    assert api.as_(None).get("/v1/books").status_code == 401
    assert api.as_("codi_wrong").get("/v1/books").json()["reason"] == "unauthenticated"


def test_an_account_twice_in_one_entry_is_judged_by_its_net_movement(api, fund):
    response = api.entry(
        fund["book_id"], [(fund["1100"], "-100.00"), (fund["1100"], "150.00"), (fund["3100"], "-50.00")]
    )
    assert response.status_code == 201, response.text
    assert api.get(f"/v1/accounts/{fund['1100']}").json()["balance"] == "50.00"
    refused = api.entry(fund["book_id"], [(fund["1100"], "-100.00"), (fund["1100"], "40.00"), (fund["3100"], "60.00")])
    assert (refused.status_code, refused.json()["reason"]) == (409, "insufficient_balance")



def test_the_answer_to_a_post_is_the_entry_as_read_back(api, fund, clock):
    """The answer is built from what was written, not read again: it must be what a read gives,
    for postings written in another order than sent, dimensions given out of order, and a clock
    that is not on UTC (the moment is answered in UTC)."""
    clock.moment = NOW.astimezone(BANGKOK)
    lines = [(fund["1100"], "-100.00"), (fund["3100"], "-50.00"), (fund["1100"], "150.00")]
    answer = api.entry(fund["book_id"], lines, dimensions={"programme": "housing", "centre": "Khao Din"})
    assert answer.status_code == 201, answer.text
    entry = answer.json()
    assert api.get(f"/v1/entries/{entry['id']}").json() == entry
    assert [p["amount"] for p in entry["postings"]] != [amount for _, amount in lines]  # written in a safe order
    assert list(entry["dimensions"]) == ["centre", "programme"]
    assert entry["recorded_at"] == NOW.isoformat().replace("+00:00", "Z")

# --- what an operation wrote or keeps is not for the journal's own routes -----------------------


def ok(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def codes_of(api, book_id: int) -> dict[str, int]:
    return {a["code"]: a["id"] for a in api.get(f"/v1/books/{book_id}/accounts", limit=100).json()["data"]}


@pytest.fixture
def operations(api, db, fund) -> dict:
    """A sale of 1,000.00 by an enterprise (its own token) that owes 5 % of it to a welfare fund,
    and a loan of 10,000.00 disbursed by the fund: the entries they wrote and the sub-accounts
    they opened (the pair's `2200-F<fund>` and `1200-E<enterprise>`, the loan's `1200-L<loan>`)."""
    enterprise = ok(api.post("/v1/parties", {"kind": "community_enterprise", "name_th": "วิสาหกิจ"}))["id"]
    welfare = ok(api.post("/v1/parties", {"kind": "welfare_fund", "name_th": "กองทุนสวัสดิการ"}))["id"]
    shop = ok(api.post("/v1/books", {"code": "SHOP", "kind": "enterprise", "name_th": "ร้าน", "party_id": enterprise}))
    wf = ok(api.post("/v1/books", {"code": "WF", "kind": "welfare_fund", "name_th": "กองทุน", "party_id": welfare}))
    ok(api.post("/v1/contribution-rules", {"enterprise_party_id": enterprise, "fund_party_id": welfare,
                                           "rate_percent": "5", "effective_from": "2024-01-01"}))  # fmt: skip
    own = api.as_(make_user(db, "shop", "enterprise", party_id=enterprise))
    sale = ok(own.post("/v1/sales", {"enterprise_party_id": enterprise, "effective_date": "2024-06-08",
                                     "channel": "market", "amount": "1000.00"}, "sale-1"))  # fmt: skip
    ok(api.entry(fund["book_id"], [(fund["1100"], "50000.00"), (fund["3100"], "-50000.00")], day="2024-01-02"))
    product = ok(api.post("/v1/loan-products", {"book_id": fund["book_id"], "code": "P-12", "name_th": "สินเชื่อ",
                                                "rate_annual_percent": "12", "term_instalments": 3}))  # fmt: skip
    loan = ok(api.post("/v1/loans", {"product_id": product["id"], "borrower_party_id": fund["borrower_id"],
                                     "amount": "10000.00", "savings": "1000.00"}))  # fmt: skip
    ok(api.as_(make_user(db, "approver", "approver")).post(f"/v1/loans/{loan['id']}/approval", {}))
    paid = ok(api.post(f"/v1/loans/{loan['id']}/disbursements", {"amount": "10000.00", "effective_date": "2024-01-31"},
                       "disburse"))  # fmt: skip
    shop_codes, wf_codes = codes_of(api, shop["id"]), codes_of(api, wf["id"])
    fund_codes = codes_of(api, fund["book_id"])
    return {
        "own": own, "sale": sale, "loan_id": loan["id"], "disbursement_entry_id": paid["transaction"]["entry_id"],
        "shop": shop["id"], "shop_cash": shop_codes["1100"], "payable": shop_codes[f"2200-F{welfare}"],
        "wf": wf["id"], "wf_income": wf_codes["4400"], "receivable": wf_codes[f"1200-E{enterprise}"],
        "advance": wf_codes[f"2100-E{enterprise}"], "loan_account": fund_codes[f"1200-L{loan['id']}"],
    }  # fmt: skip


def trial_balances(api, *book_ids: int) -> list[dict]:
    return [api.get(f"/v1/books/{book_id}/trial-balance").json() for book_id in book_ids]


def test_an_entry_an_operation_wrote_is_undone_only_through_the_operation(api, fund, operations):
    """Reversing a sale's entry by itself would leave the sale live and its contribution owed:
    the generic reversal refuses it (an admin or the enterprise's own token alike) and names the
    sale's own reversal, which still undoes both of the sale's entries."""
    sale, own = operations["sale"], operations["own"]
    books = (operations["shop"], operations["wf"], fund["book_id"])
    before = trial_balances(api, *books)
    attempts = [(api, sale["enterprise_entry_id"], "/v1/sales/{sale_id}/reversal"),
                (own, sale["enterprise_entry_id"], "/v1/sales/{sale_id}/reversal"),
                (api, sale["fund_entry_id"], "/v1/sales/{sale_id}/reversal"),
                (api, operations["disbursement_entry_id"], "/v1/loans/{loan_id}")]  # fmt: skip
    for n, (who, entry_id, route) in enumerate(attempts):
        refused = who.post(f"/v1/entries/{entry_id}/reversal", {"date": "original"}, f"undo-{n}")
        assert (refused.status_code, refused.json()["reason"]) == (409, "entry_owned_by_operation"), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert route in refused.json()["detail"]
        assert api.get(f"/v1/entries/{entry_id}").json()["reversed_by_entry_id"] is None
    assert trial_balances(api, *books) == before
    assert api.get(f"/v1/sales/{sale['id']}").json()["outstanding"] == "50.00"
    undone = ok(own.post(f"/v1/sales/{sale['id']}/reversal", {"reason": "returned goods"}, "sale-undo"))
    assert undone["outstanding"] == "0.00"
    for entry_id in (sale["enterprise_entry_id"], sale["fund_entry_id"]):
        assert api.get(f"/v1/entries/{entry_id}").json()["reversed_by_entry_id"] is not None


def test_a_hand_made_entry_may_not_move_an_account_an_operation_keeps(api, fund, operations):
    """The pair's payable and receivable mirror each other and the sale, a loan's sub-account its
    outstanding: no entry made by hand moves them, whoever posts it; the books' other accounts
    take entries as before."""
    own, books = operations["own"], (operations["shop"], operations["wf"], fund["book_id"])
    before = trial_balances(api, *books)
    attempts = [
        (own, operations["shop"], [(operations["payable"], "50.00"), (operations["shop_cash"], "-50.00")]),
        (api, operations["shop"], [(operations["payable"], "50.00"), (operations["shop_cash"], "-50.00")]),
        (api, operations["wf"], [(operations["wf_income"], "50.00"), (operations["receivable"], "-50.00")]),
        (api, operations["wf"], [(operations["receivable"], "10.00"), (operations["advance"], "-10.00")]),
        (api, fund["book_id"], [(fund["1100"], "10000.00"), (operations["loan_account"], "-10000.00")]),
    ]
    for who, book_id, lines in attempts:
        refused = who.entry(book_id, lines)
        assert (refused.status_code, refused.json()["reason"]) == (409, "account_owned_by_operation"), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "may not post to it" in refused.json()["detail"]
    assert trial_balances(api, *books) == before
    assert api.get(f"/v1/accounts/{operations['payable']}").json()["balance"] == "-50.00"
    assert api.get(f"/v1/accounts/{operations['receivable']}").json()["balance"] == "50.00"
    assert api.get(f"/v1/accounts/{operations['loan_account']}").json()["balance"] == "10000.00"
    capital = codes_of(api, operations["shop"])["3100"]
    assert own.entry(operations["shop"], [(operations["shop_cash"], "5.00"), (capital, "-5.00")]).status_code == 201
