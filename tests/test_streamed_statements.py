"""Statements and the general ledger streamed, and a statement read in pages, equal the same
read whole (`journal.account_statement`, `general_ledger_of`), running balances included, on
both databases: the pages of any sizes join into the whole statement."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.formats import table_csv
from api.render import statement_table
from api.report_tables import general_ledger as general_ledger_table
from api.routes.reports import Scope, general_ledger_of
from ledger.money import format_amount
from store import books, journal, reports
from tests.test_api_loans import refused

PERIOD = ("2023-10-01", "2024-09-30")
BOUNDS = (date(2023, 10, 1), date(2024, 9, 30))
DAYS = ("2023-09-15", "2023-10-01", "2023-10-01", "2023-10-31", "2023-11-01", "2024-02-29", "2024-02-29",
        "2024-02-29", "2024-06-30", "2024-09-30", "2024-09-30", "2024-10-01")  # fmt: skip


@pytest.fixture
def history(api, fund) -> dict:
    """Cash moved on days with several entries, at month ends and beyond the period on both
    sides, once twice in one entry (two postings of an account in one entry)."""
    cash, capital, expense = fund["1100"], fund["3100"], fund["5400"]
    for number, day in enumerate(DAYS):
        amount = f"{1000 + number * 37}.{number:02d}"
        response = api.entry(fund["book_id"], [(cash, amount), (capital, f"-{amount}")], day=day,
                             description=f"capital {number}")  # fmt: skip
        assert response.status_code == 201, response.text
        if number % 3 == 1:
            twice = [(expense, "30.00"), (cash, "-10.00"), (cash, "-20.00")]
            assert api.entry(fund["book_id"], twice, day=day, description="ค่าใช้จ่าย \"twice\"").status_code == 201
    return fund


def whole_statement(db, account_id: int) -> dict:
    with db.read() as connection:
        account = books.get_account(connection, account_id)
        result = journal.account_statement(connection, account, *BOUNDS)
    return {
        "opening_balance": format_amount(result.opening_balance_satang),
        "closing_balance": format_amount(result.closing_balance_satang),
        "lines": [{"entry_id": line.entry_id, "effective_date": line.effective_date.isoformat(),
                   "description": line.description, "amount": format_amount(line.amount_satang),
                   "running_balance": format_amount(line.running_balance_satang)} for line in result.lines],
    }  # fmt: skip


def statement_path(account_id: int) -> str:
    return f"/v1/accounts/{account_id}/statement"


def test_the_streamed_statement_is_the_whole_one(api, db, history):
    cash = history["1100"]
    streamed = api.get(statement_path(cash), **{"from": PERIOD[0], "to": PERIOD[1]})
    assert streamed.status_code == 200 and streamed.headers["content-type"] == "application/json"
    body = streamed.json()
    expected = whole_statement(db, cash)
    assert {key: body[key] for key in expected} == expected
    assert (body["account_id"], body["date_from"], body["date_to"], body["next_cursor"]) == (cash, *PERIOD, None)
    assert len(body["lines"]) == 18 and body["opening_balance"] == "1000.00"


@pytest.mark.parametrize("lang", ["en", "th"])
def test_the_streamed_csv_is_the_whole_table(api, db, history, lang):
    cash = history["1100"]
    streamed = api.get(statement_path(cash), **{"from": PERIOD[0], "to": PERIOD[1], "format": "csv", "lang": lang})
    assert streamed.status_code == 200, streamed.text
    with db.read() as connection:
        account = books.get_account(connection, cash)
        result = journal.account_statement(connection, account, *BOUNDS)
        table = statement_table(books.get_book(connection, account["book_id"]), account, result,
                                BOUNDS)  # fmt: skip
    assert streamed.content == table_csv(table, lang)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 6), min_size=1, max_size=20))
def test_pages_of_any_sizes_join_into_the_whole_statement(api, db, history, sizes):
    cash = history["1100"]
    expected = whole_statement(db, cash)
    lines, cursor, pages = [], None, 0
    while True:
        limit = sizes[pages % len(sizes)]
        params = {"from": PERIOD[0], "to": PERIOD[1], "limit": limit, **({"after": cursor} if cursor else {})}
        page = api.get(statement_path(cash), **params).json()
        assert len(page["lines"]) <= limit
        assert (page["opening_balance"], page["closing_balance"]) == (expected["opening_balance"],
                                                                       expected["closing_balance"])  # fmt: skip
        lines += page["lines"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["lines"]) == limit
    assert lines == expected["lines"]


def test_a_cursor_not_ours_or_of_another_period_is_refused(api, history):
    cash, period = history["1100"], {"from": PERIOD[0], "to": PERIOD[1]}
    first = api.get(statement_path(cash), **period, limit=2).json()
    for cursor in ("junk", "MjAyNC0wMS0wMQ", "MjAyNC0wMS0wMS4x", "MjAyNC0wMi0zMC4xLjE"):  # 2024-01-01, -01.1, 02-30.1.1
        refused(api.get(statement_path(cash), **period, after=cursor), 422, "invalid_cursor")
    later = {"from": "2024-03-01", "to": PERIOD[1]}  # the cursor's line is before this period
    refused(api.get(statement_path(cash), **later, after=first["next_cursor"]), 422, "invalid_cursor")
    refused(api.get(statement_path(cash), **period, limit=10_001), 422, "invalid_request")


def whole_ledger(db, book_id: int, account_id: int | None = None):
    with db.read() as connection:
        book = books.get_book(connection, book_id)
        scope = Scope([book], reports.report_accounts(connection, [book_id]), None, {book_id: book["party_id"]})
        return scope, general_ledger_of(connection, scope, BOUNDS, account_id)


@pytest.mark.parametrize("one_account", [False, True])
def test_the_streamed_general_ledger_is_the_whole_one(api, db, history, one_account):
    account_id = history["1100"] if one_account else None
    params = {"book_id": history["book_id"], "from": PERIOD[0], "to": PERIOD[1],
              **({"account_id": account_id} if one_account else {})}  # fmt: skip
    body = api.get("/v1/reports/general-ledger", **params).json()
    _, ledger = whole_ledger(db, history["book_id"], account_id)
    assert [(a["account_id"], a["opening_balance"], a["closing_balance"], a["lines"]) for a in body["accounts"]] == [
        (account.id, format_amount(s.opening_balance_satang), format_amount(s.closing_balance_satang),
         [{"entry_id": line.entry_id, "effective_date": line.effective_date.isoformat(),
           "description": line.description, "amount": format_amount(line.amount_satang),
           "running_balance": format_amount(line.running_balance_satang)} for line in s.lines])
        for account, s in ledger
    ]  # fmt: skip
    assert body["books"][0]["id"] == history["book_id"] and body["cut"] is None and not body["consolidated"]
    assert len(body["accounts"]) == (1 if one_account else 3)


def test_the_streamed_general_ledger_csv_is_the_whole_table(api, db, history):
    params = {"book_id": history["book_id"], "from": PERIOD[0], "to": PERIOD[1], "format": "csv", "lang": "th"}
    streamed = api.get("/v1/reports/general-ledger", **params)
    scope, ledger = whole_ledger(db, history["book_id"])
    assert streamed.content == table_csv(general_ledger_table(scope.books, BOUNDS, ledger), "th")


def test_only_the_drawn_general_ledger_is_bounded(api, history, monkeypatch):
    """JSON and CSV stream however long the ledger; PDF and XLSX are drawn whole, and refused
    past MAX_LEDGER_LINES."""
    monkeypatch.setattr(reports, "MAX_LEDGER_LINES", 5)
    params = {"book_id": history["book_id"], "from": PERIOD[0], "to": PERIOD[1]}
    cash = next(a for a in api.get("/v1/reports/general-ledger", **params).json()["accounts"] if a["code"] == "1100")
    assert len(cash["lines"]) == 18
    assert api.get("/v1/reports/general-ledger", **params, format="csv").status_code == 200
    for format in ("pdf", "xlsx"):
        refused(api.get("/v1/reports/general-ledger", **params, format=format), 422, "report_too_large")
