"""The year-end close through the real app, on the worked example of FY2567 (tests/test_reports.py):
the closing entry, the lock, the balances carried forward, its reversal by an admin, each refusal,
and the database's own guards on the year-end tables."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import make_user
from tests.test_api_loans import refused
from tests.test_reports import AFTER_FY2567, _lines, worked_example

AFTER_FY2568 = datetime(2025, 10, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def fy2567(api, db, fund, clock) -> dict:
    return worked_example(api, db, fund, clock)


def close(api, book_id: int, fiscal_year: int):
    return api.post(f"/v1/books/{book_id}/year-end-closes", {"fiscal_year": fiscal_year})


def reverse(api, book_id: int, fiscal_year: int, reason: str = "auditor's adjustment to the impairment"):
    return api.post(f"/v1/books/{book_id}/year-end-closes/{fiscal_year}/reversal", {"reason": reason})


def balances(api, book_id: int, as_of: str) -> dict[int, str]:
    report = api.get("/v1/reports/trial-balance", book_id=book_id, as_of=as_of).json()
    return {line["account_id"]: line["rolled_up_balance"] for line in report["lines"] if line["parent_id"] is None}


def test_closing_fy2567_moves_the_deficit_into_accumulated_surplus_and_locks_the_year(api, fy2567):
    book = fy2567["book_id"]
    closed = close(api, book, 2567)
    assert closed.status_code == 201, closed.text
    body = closed.json()
    assert (body["fiscal_year"], body["closed_through"], body["surplus"]) == (2567, "2024-09-30", "-3099.33")
    [entry] = [api.get(f"/v1/entries/{e}").json() for e in body["entry_ids"]]
    moved = {p["account_code"]: p["amount"] for p in entry["postings"]}
    # Income and expenses brought to zero; the net deficit 700.67 - 3,800.00 = -3,099.33 is a debit to 3200.
    assert moved == {"4100": "200.67", "4300": "500.00", "5300": "-2000.00", "5400": "-1500.00",
                     "5500": "-300.00", "3200": "3099.33"}  # fmt: skip
    assert (entry["kind"], entry["effective_date"]) == ("year_end.close", "2024-09-30")
    assert api.get(f"/v1/books/{book}").json()["closed_through"] == "2024-09-30"
    late = api.entry(book, [(fy2567["5500"], "1.00"), (fy2567["1100"], "-1.00")], day="2024-09-15")
    refused(late, 409, "period_closed")

    sofp = api.get("/v1/reports/financial-position", book_id=book, as_of="2024-09-30").json()
    assert sofp["unclosed_surplus"]["amount"] == "0.00"
    assert _lines(sofp["equity"]) == {"3100": "1000000.00", "3200": "-3099.33"}
    assert sofp["total_assets"] == sofp["total_liabilities_and_equity"]
    income = api.get("/v1/reports/income-statement", book_id=book, fiscal_year=2567).json()
    assert income["surplus"]["amount"] == "-3099.33"  # the closing entry is not an expense
    # FY2568 opens with the balances carried forward: those at the end of FY2567, after the close.
    opening = api.get("/v1/reports/trial-balance/movements", book_id=book, fiscal_year=2568).json()
    carried = {c["account_id"]: c["balance"] for c in body["carried_forward"]}
    assert {line["account_id"]: line["opening"] for line in opening["lines"] if line["opening"] != "0.00"} == carried
    assert api.get(f"/v1/books/{book}/year-end-closes").json() == [body]


def test_a_close_is_refused_out_of_order_too_early_twice_or_for_a_non_admin(api, db, fy2567, clock):
    book = fy2567["book_id"]
    refused(close(api, book, 2568), 409, "period_not_closable")  # FY2568 has not ended on 15 Oct 2024
    refused(close(api, book, 2801), 422, "fiscal_year_out_of_range")
    refused(reverse(api, book, 10**30), 422, "fiscal_year_out_of_range")
    officer = api.as_(make_user(db, "officer", "officer"))
    refused(close(officer, book, 2567), 403, "forbidden")
    clock.moment = AFTER_FY2568
    refused(close(api, book, 2568), 409, "period_not_closable")  # FY2567 first
    assert close(api, book, 2567).status_code == 201
    refused(close(api, book, 2567), 409, "period_not_closable")
    assert close(api, book, 2568).json()["surplus"] == "0.00"
    refused(reverse(api, book, 2567), 409, "period_closed")  # FY2568 is closed: FY2567's close stays


def test_a_book_that_opens_on_the_last_day_of_a_year_closes_its_first_full_year_first(api, fund, clock):
    """A book whose history starts with its opening entry dated 30 Sep 2023 (the last day of
    FY2566) closes FY2567 without closing FY2566, which holds no income or expense; a book with
    an expense in FY2566 must close FY2566 first."""
    clock.moment = AFTER_FY2567
    book = fund["book_id"]
    opening = api.entry(book, [(fund["1100"], "500000.00"), (fund["3100"], "-500000.00")], day="2023-09-30",
                        kind="opening")  # fmt: skip
    assert opening.status_code == 201, opening.text
    assert api.entry(book, [(fund["5500"], "300.00"), (fund["1100"], "-300.00")], day="2024-03-01").status_code == 201
    closed = close(api, book, 2567)
    assert closed.status_code == 201, closed.text
    assert closed.json()["surplus"] == "-300.00"
    assert api.get(f"/v1/books/{book}").json()["closed_through"] == "2024-09-30"
    other = api.post("/v1/books", {"code": "OTHER", "kind": "fund", "name_th": "กองทุนอื่น"}).json()
    accounts = {a["code"]: a["id"] for a in api.get(f"/v1/books/{other['id']}/accounts", limit=500).json()["data"]}
    assert api.entry(other["id"], [(accounts["1100"], "1000.00"), (accounts["3100"], "-1000.00")],
                     day="2023-09-01").status_code == 201  # fmt: skip
    assert api.entry(other["id"], [(accounts["5500"], "10.00"), (accounts["1100"], "-10.00")],
                     day="2023-09-30").status_code == 201  # fmt: skip
    refused(close(api, other["id"], 2567), 409, "period_not_closable")
    assert f"FY2566 of book {other['id']} is open" in close(api, other["id"], 2567).json()["detail"]
    assert close(api, other["id"], 2566).status_code == 201 and close(api, other["id"], 2567).status_code == 201


def test_an_admin_reverses_a_close_with_a_reason_and_closes_again(api, db, fy2567):
    book = fy2567["book_id"]
    before = balances(api, book, "2024-09-30")
    closed = close(api, book, 2567).json()
    officer = api.as_(make_user(db, "officer", "officer"))
    refused(reverse(officer, book, 2567), 403, "forbidden")
    refused(reverse(api, book, 2567, reason="   "), 422, "reason_required")
    undone = reverse(api, book, 2567)
    assert undone.status_code == 200, undone.text
    assert undone.json()["reversal"]["reason"] == "auditor's adjustment to the impairment"
    assert balances(api, book, "2024-09-30") == before
    assert api.get(f"/v1/books/{book}").json()["closed_through"] is None  # the year is open again
    refused(reverse(api, book, 2567), 404, "not_found")  # no close in force
    adjust = api.entry(book, [(fy2567["5300"], "500.00"), (fy2567["impaired"], "-500.00")], day="2024-09-30")
    assert adjust.status_code == 201
    again = close(api, book, 2567).json()
    assert again["surplus"] == "-3599.33" and again["id"] != closed["id"]
    income = api.get("/v1/reports/income-statement", book_id=book, fiscal_year=2567).json()
    assert income["surplus"]["amount"] == "-3599.33"  # neither the first close nor its reversal counts


def test_a_year_whose_months_were_closed_already_can_be_closed_and_reversed(api, fy2567):
    book = fy2567["book_id"]
    assert api.post(f"/v1/books/{book}/periods/close", {"period": "2024-10"}).status_code == 200
    closed = close(api, book, 2567)
    assert closed.status_code == 201, closed.text
    assert closed.json()["previous_closed_through"] == "2024-10-31"
    assert api.get(f"/v1/books/{book}").json()["closed_through"] == "2024-10-31"
    assert reverse(api, book, 2567).status_code == 200
    assert api.get(f"/v1/books/{book}").json()["closed_through"] == "2024-10-31"  # later months stay closed


def test_the_database_refuses_a_second_close_in_force_and_changes(api, db, fy2567):
    book = fy2567["book_id"]
    close_id = close(api, book, 2567).json()["id"]
    copy = (
        "INSERT INTO year_end_close (book_id, fiscal_year, closed_through, surplus_satang, closed_at, closed_by) "
        "SELECT book_id, fiscal_year, closed_through, surplus_satang, closed_at, closed_by FROM year_end_close"
    )
    for statement in (copy, "UPDATE year_end_close SET surplus_satang = 0", "DELETE FROM year_end_balance",
                      f"INSERT INTO year_end_reversal (close_id, book_id, reason, reversed_at, reversed_by) "
                      f"VALUES ({close_id}, {book}, '  ', '2024-10-15', 1)"):  # fmt: skip
        with pytest.raises(DBAPIError), db.write() as connection:
            connection.execute(text(statement))
