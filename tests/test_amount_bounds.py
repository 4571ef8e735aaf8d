"""Amounts stay inside their bounds (ledger.money): a posting, an entry's debits, an account's
balance and its movement in a month. The attack: many entries of the largest postings into one
account, until its stored balance left BIGINT (on SQLite it became a REAL, 9.24999999999991e+18,
and every read of it answered 500). Now the domain refuses the entry that would carry a balance
or a month past the bound (`balance_out_of_range`, 422), through the API and the bulk import, and
the database refuses such a row by itself (migration 0014)."""

import importlib
import json

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import Date

from ledger.accounts import Posting, check_balance_bounds, validate_postings
from ledger.errors import LedgerError, Rejection
from ledger.money import MAX_AMOUNT_SATANG, MAX_BALANCE_SATANG, format_amount
from store.bulk import import_file
from tests.conftest import NOW, ON_POSTGRES

LARGEST = format_amount(MAX_AMOUNT_SATANG)  # 999999999999.99
MIGRATION = importlib.import_module("migrations.versions.0014_amount_bounds")


def five_largest(api, fund, *, debit: str, credit: str, day: str = "2024-06-01"):
    """An entry of five of the largest debits to `debit`, credited to `credit` in one posting each."""
    lines = [(fund[debit], LARGEST)] * 5 + [(fund[credit], f"-{LARGEST}")] * 5
    return api.entry(fund["book_id"], lines, day=day)


def test_the_bounds_of_the_migration_are_those_of_the_domain():
    assert (MIGRATION.MAX_AMOUNT_SATANG, MIGRATION.MAX_BALANCE_SATANG) == (MAX_AMOUNT_SATANG, MAX_BALANCE_SATANG)
    assert MAX_AMOUNT_SATANG < MAX_BALANCE_SATANG and 3600 * MAX_BALANCE_SATANG < 2**63 - 1


def test_the_domain_refuses_a_balance_or_a_month_past_the_bound():
    postings = [Posting(1, MAX_AMOUNT_SATANG), Posting(2, -MAX_AMOUNT_SATANG)]
    check_balance_bounds({1: MAX_BALANCE_SATANG - MAX_AMOUNT_SATANG, 2: 0}, {}, postings)
    for balances, months in [({1: MAX_BALANCE_SATANG, 2: 0}, {}), ({1: 0, 2: 0}, {2: -MAX_BALANCE_SATANG})]:
        with pytest.raises(LedgerError) as refused:
            check_balance_bounds(balances, months, postings)
        assert refused.value.reason == Rejection.balance_out_of_range


def test_an_entry_of_a_hundred_largest_postings_is_refused(api, fund):
    """The attack's own entries: 100 postings of 999,999,999,999.99, their debits beyond the bound."""
    lines = [(fund["1100"], LARGEST)] * 50 + [(fund["3100"], f"-{LARGEST}")] * 50
    refused = api.entry(fund["book_id"], lines)
    assert refused.status_code == 422 and refused.json()["reason"] == "amount_too_large", refused.text
    with pytest.raises(LedgerError) as error:
        validate_postings([Posting(1, MAX_AMOUNT_SATANG)] * 11 + [Posting(2, -MAX_AMOUNT_SATANG)] * 11)
    assert error.value.reason == Rejection.amount_too_large


def test_entries_that_would_carry_a_balance_past_the_bound_are_refused(api, fund):
    assert five_largest(api, fund, debit="1100", credit="3100").status_code == 201
    assert five_largest(api, fund, debit="1100", credit="3100").status_code == 201  # 9,999,999,999,999.90
    refused = five_largest(api, fund, debit="1100", credit="3100")
    assert refused.status_code == 422, refused.text
    assert refused.json()["reason"] == "balance_out_of_range" and "account" in refused.json()["detail"]
    cash = api.get(f"/v1/accounts/{fund['1100']}/balance")
    assert cash.status_code == 200 and cash.json()["balance"] == "9999999999999.90"
    as_of = api.get(f"/v1/accounts/{fund['1100']}/balance", as_of="2024-06-30")
    assert as_of.status_code == 200 and as_of.json()["balance"] == "9999999999999.90"
    trial = api.get(f"/v1/books/{fund['book_id']}/trial-balance")
    assert trial.status_code == 200 and trial.json()["total_debit"] == "9999999999999.90"
    report = api.get("/v1/reports/trial-balance", book_id=fund["book_id"], as_of="2024-06-30")
    assert report.status_code == 200, report.text


def test_entries_that_would_carry_a_month_past_the_bound_are_refused(api, fund):
    """Each entry moves the balance back, but June's movement (what a balance as of a date is
    summed from) grows with each June entry, dated after May's that undo them."""
    for _ in range(2):
        assert five_largest(api, fund, debit="1100", credit="3100", day="2024-06-20").status_code == 201
        assert five_largest(api, fund, debit="3100", credit="1100", day="2024-05-20").status_code == 201
    refused = five_largest(api, fund, debit="1100", credit="3100", day="2024-06-20")
    assert refused.status_code == 422 and refused.json()["reason"] == "balance_out_of_range", refused.text
    assert "month" in refused.json()["detail"]
    june = api.get(f"/v1/accounts/{fund['1100']}/statement", **{"from": "2024-06-01", "to": "2024-06-30"})
    assert june.status_code == 200 and june.json()["closing_balance"] == "0.00"


def test_the_bulk_import_refuses_the_line_that_would_leave_the_bound(db, fund, tmp_path):
    postings = [{"account": "1100", "amount": LARGEST}] * 5 + [{"account": "3100", "amount": f"-{LARGEST}"}] * 5
    line = {"book": "FUND", "effective_date": "2024-06-01", "description": "large", "postings": postings}
    path = tmp_path / "entries.jsonl"
    path.write_text("".join(json.dumps({**line, "key": f"big-{n}"}) + "\n" for n in range(3)))
    report = import_file(db, str(path), batch_size=10, progress=False, now=lambda: NOW)
    assert report.recorded == 2
    assert [(number, reason) for number, reason, _ in report.rejected] == [(3, Rejection.balance_out_of_range)]


POSTING_SQL = text(
    "INSERT INTO posting (entry_id, book_id, account_id, effective_date, amount_satang) "
    "VALUES (999, :book_id, :account_id, :day, :amount)"
).bindparams(bindparam("day", type_=Date()))
BALANCE_SQL = text("UPDATE account_balance SET balance_satang = :v WHERE account_id = :a")
MONTH_SQL = text(
    "INSERT INTO account_month (account_id, month_start, book_id, movement_satang) VALUES (:a, :m, :b, :v)"
).bindparams(bindparam("m", type_=Date()))
OUT_OF_RANGE = [MAX_BALANCE_SATANG + 1, -MAX_BALANCE_SATANG - 1, 2**62]
# SQLite keeps a REAL in a BIGINT column when it is not a whole number or is too large for one
REALS = [] if ON_POSTGRES else [9.24999999999991e18, 1.5]


@pytest.mark.parametrize("value", OUT_OF_RANGE + REALS)
def test_the_database_refuses_a_balance_out_of_range(db, fund, value):
    with pytest.raises(IntegrityError, match="ck_balance_in_range"), db.write() as connection:
        connection.execute(BALANCE_SQL, {"v": value, "a": fund["3200"]})


@pytest.mark.parametrize("value", OUT_OF_RANGE + REALS)
def test_the_database_refuses_a_month_out_of_range(db, fund, value):
    with pytest.raises(IntegrityError, match="ck_month_in_range"), db.write() as connection:
        connection.execute(
            MONTH_SQL, {"a": fund["3200"], "m": NOW.date().replace(day=1), "b": fund["book_id"], "v": value}
        )


@pytest.mark.parametrize("value", [MAX_AMOUNT_SATANG + 1, -MAX_AMOUNT_SATANG - 1, *REALS])
def test_the_database_refuses_a_posting_out_of_range(db, fund, value):
    with pytest.raises(IntegrityError, match="ck_posting_amount_in_range"), db.write() as connection:
        connection.execute(
            POSTING_SQL, {"book_id": fund["book_id"], "account_id": fund["3200"], "day": NOW.date(), "amount": value}
        )


def test_the_database_refuses_a_balance_that_postings_carry_past_the_bound(db, fund):
    """Postings written past the domain, each in range, whose sum is not: the balance row refuses."""
    with db.write() as connection:
        connection.execute(BALANCE_SQL, {"v": MAX_BALANCE_SATANG, "a": fund["3200"]})
    with pytest.raises(IntegrityError, match="ck_balance_in_range"), db.write() as connection:
        connection.execute(
            POSTING_SQL, {"book_id": fund["book_id"], "account_id": fund["3200"], "day": NOW.date(), "amount": 1}
        )
