"""Exports an auditor can re-check: Beancount's own checker accepts our ledger and computes our
balances; the CSV journal sums to the same balances."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core import realization
from hypothesis import given
from hypothesis import strategies as st

from api.cli import main
from ledger.beancount import ExportAccount, account_names
from ledger.errors import LedgerError
from ledger.money import format_amount
from store import books, journal
from store.exports import beancount_export
from tests.conftest import NOW, make_user
from tests.test_journal_properties import (
    FEWER,
    Model,
    balanced_lines,
    days,
    draft,
    expect,
    fresh_fund,
    open_fund,
    opening,
    record_one,
)


def beancount_balances(text: str) -> tuple[dict[str, Decimal], list, list]:
    """Each account's own balance (without sub-accounts) as Beancount computes it, its errors,
    and its directives."""
    entries, errors, _ = loader.load_string(text)
    root = realization.realize(entries)
    balances = {
        real.account: real.balance.get_currency_units("THB").number
        for real in realization.iter_children(root)
        if real.account
    }
    return balances, errors, entries


def our_balances(db, book_id: int, as_of: date | None = None) -> dict[str, Decimal]:
    """Our balances, under the names the export gives the accounts."""
    with db.read() as connection:
        rows = journal.trial_balance_rows(connection, book_id, as_of)
    accounts = [ExportAccount(r["id"], r["code"], r["name_th"], r["name_en"], r["type"], r["parent_id"], None, None)
                for r in rows]  # fmt: skip
    names = account_names(accounts)
    return {names[r["id"]]: Decimal(format_amount(r["balance_satang"])) for r in rows}


@pytest.fixture
def fund_year(api, fund):
    """Capital in, a loan out, repayments with interest over three months, one reversed entry."""
    book = fund["book_id"]
    api.entry(book, [(fund["1100"], "100000.00"), (fund["3100"], "-100000.00")], day="2023-10-02")
    api.entry(book, [(fund["loan"], "40000.00"), (fund["1100"], "-40000.00")], day="2023-10-15",
              dimensions={"province": "Nakhon Sawan", "programme": "บ้านมั่นคง"})  # fmt: skip
    wrong = api.entry(book, [(fund["1100"], "999.00"), (fund["4100"], "-999.00")], day="2023-11-30").json()
    api.post(f"/v1/entries/{wrong['id']}/reversal", {"description": 'typo "999"', "date": "original"}, key="rev-1")
    repay = [(fund["1100"], "2150.75"), (fund["loan"], "-2000.00"), (fund["4100"], "-150.75")]
    api.entry(book, repay, day="2023-12-01")
    return {**fund, "reversed": wrong["id"]}


def test_beancount_export_passes_bean_check_with_our_balances(api, db, fund_year, tmp_path):
    response = api.get(f"/v1/books/{fund_year['book_id']}/export", format="beancount")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert 'filename="book-FUND.beancount"' in response.headers["content-disposition"]
    ledger = tmp_path / "fund.beancount"
    ledger.write_text(response.text, encoding="utf-8")
    entries, errors, _ = loader.load_file(str(ledger))  # what bean-check runs
    assert errors == []
    balances, _, _ = beancount_balances(response.text)
    ours = our_balances(db, fund_year["book_id"])
    assert {name: balances.get(name, Decimal(0)) for name in ours} == ours
    # cash 100,000 - 40,000 + 999 - 999 + 2,150.75 = 62,150.75; the loan 40,000 - 2,000 = 38,000
    assert ours["Assets:1100"] == Decimal("62150.75") and ours["Assets:1200:1200-01"] == Decimal("38000.00")
    # Assertions after each month with entries (Oct, Nov, Dec 2023), dated the next day.
    asserted = sorted({e.date for e in entries if type(e).__name__ == "Balance"})
    assert asserted == [date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1)]


def test_beancount_export_carries_the_metadata(api, fund_year):
    text = api.get(f"/v1/books/{fund_year['book_id']}/export").text
    _, _, entries = beancount_balances(text)
    transactions = [e for e in entries if type(e).__name__ == "Transaction"]
    loan = next(t for t in transactions if t.meta.get("province"))
    assert (loan.meta["kind"], loan.meta["programme"]) == ("manual", "บ้านมั่นคง")
    assert loan.meta["parties"] == str(fund_year["borrower_id"])
    original = next(t for t in transactions if t.meta["entry_id"] == fund_year["reversed"])
    reversal = next(t for t in transactions if t.meta.get("reverses") == fund_year["reversed"])
    assert original.meta["reversed_by"] == reversal.meta["entry_id"]
    assert original.links == reversal.links == frozenset({f"entry-{fund_year['reversed']}"})
    assert reversal.narration == 'typo "999"'
    opens = {e.account: e for e in entries if type(e).__name__ == "Open"}
    assert opens["Assets:1200:1200-01"].meta["party"] == "สหกรณ์ทดสอบ"
    assert all(e.date == date(2023, 10, 2) for e in opens.values())  # the book's first entry


def test_a_wrong_balance_fails_bean_check(api, fund_year):
    """The assertions are real checks: change one figure and Beancount refuses the ledger."""
    text = api.get(f"/v1/books/{fund_year['book_id']}/export").text
    assertion = "2024-01-01 balance Assets:1100  62150.75 ~ 0.00 THB"
    tampered = text.replace(assertion, assertion.replace("62150.75", "62150.76"))  # one satang off
    assert tampered != text
    _, errors, _ = beancount_balances(tampered)
    assert len(errors) == 1 and "Balance failed" in errors[0].message


def test_csv_journal_reconciles(api, db, fund_year):
    response = api.get(f"/v1/books/{fund_year['book_id']}/export", format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sum(Decimal(r["amount"]) for r in rows) == 0
    debits, credits = (sum(Decimal(r[c] or 0) for r in rows) for c in ("debit", "credit"))
    # 100,000 + 40,000 + 999 + 999 + 2,150.75 = 144,148.75 on each side
    assert debits == credits == Decimal("144148.75")
    by_code: dict[str, Decimal] = {}
    for r in rows:
        by_code[r["account_code"]] = by_code.get(r["account_code"], Decimal(0)) + Decimal(r["amount"])
    assert by_code["1100"] == Decimal("62150.75") and by_code["1200-01"] == Decimal("38000.00")
    reversal = next(r for r in rows if r["reverses_entry_id"])
    assert int(reversal["reverses_entry_id"]) == fund_year["reversed"]
    assert [r["effective_date"] for r in rows] == sorted(r["effective_date"] for r in rows)


def test_export_refusals(api, db, fund_year):
    bad = api.get(f"/v1/books/{fund_year['book_id']}/export", format="ledger")
    assert (bad.status_code, bad.json()["reason"]) == (422, "unsupported_format")
    assert api.get("/v1/books/999999/export").json()["reason"] == "not_found"
    with db.write() as connection:
        other = books.create_party(connection, {"kind": "cooperative", "name_th": "อื่น"}, now=NOW)
    stranger = api.as_(make_user(db, "stranger", "enterprise", other["id"]))
    refused = stranger.get(f"/v1/books/{fund_year['book_id']}/export")
    assert (refused.status_code, refused.json()["reason"]) == (404, "not_found")


def test_cli_export(db, fund_year, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    out = tmp_path / "fund.beancount"
    assert main(["export", "--format", "beancount", "FUND", "--output", str(out)]) == 0
    _, errors, _ = loader.load_file(str(out))
    assert errors == []
    assert main(["export", "--format", "csv", str(fund_year["book_id"])]) == 0
    assert capsys.readouterr().out.startswith("\ufeffentry_id,effective_date,kind,description,")
    assert main(["export", "NOPE"]) == 2
    assert "not_found" in capsys.readouterr().err


def test_empty_book_exports_a_valid_ledger(db, fund):
    text = "".join(beancount_export(db, fund["book_id"]))
    balances, errors, _ = beancount_balances(text)
    assert errors == [] and all(b is None or b == 0 for b in balances.values())


@FEWER
@given(
    opening=opening,
    entries=st.lists(st.tuples(days, balanced_lines()), min_size=1, max_size=8),
    reversals=st.lists(st.integers(0, 8), max_size=3),
)
def test_any_journal_exports_to_a_ledger_beancount_accepts_with_equal_balances(databases, opening, entries, reversals):
    """Random entries (some refused by balance rules, some reversed), across months: the export
    passes bean-check, including its month-end assertions, and Beancount's balances are ours."""
    with fresh_fund(databases) as fund:
        model = Model(fund.rules)
        open_fund(fund, model, *opening)
        for entry in (draft(fund, day, lines) for day, lines in entries):
            expect(model, entry, record_one(fund, entry))
        accepted = sorted(model.entries)
        for index in sorted(set(reversals)):
            if index < len(accepted):
                with fund.db.write() as c:
                    try:
                        journal.reverse_entry(c, entry_id=accepted[index], effective_date=None, description="undo",
                                              recorded_by=fund.user_id, recorded_at=NOW)  # fmt: skip
                    except LedgerError:
                        pass  # a reversal that would break a balance rule is refused; nothing to export
        text = "".join(beancount_export(fund.db, fund.book_id))
        balances, errors, _ = beancount_balances(text)
        assert errors == []
        ours = our_balances(fund.db, fund.book_id)
        assert {name: balances.get(name) or Decimal(0) for name in ours} == ours
        assert sum(ours.values()) == 0
