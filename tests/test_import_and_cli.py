"""Bulk import of JSON lines and the command line."""

import json

import pytest

from api.cli import main
from ledger.accounts import JOURNAL_KINDS
from store import books
from store.bulk import IMPORT_KINDS, import_file
from tests.conftest import NOW


def line(key, postings, *, book="FUND", day="2024-03-01", **extra) -> str:
    body = {"key": key, "book": book, "effective_date": day, "description": f"import {key}",
            "postings": [{"account": code, "amount": amount} for code, amount in postings], **extra}  # fmt: skip
    return json.dumps(body, ensure_ascii=False)


@pytest.fixture
def lines_file(tmp_path):
    rows = [
        line("k1", [("1100", "1000.00"), ("3100", "-1000.00")]),
        line("k2", [("1100", "10.00"), ("3100", "-9.00")]),  # unbalanced
        "{not json",
        line("k3", [("1200-01", "400.00"), ("1100", "-400.00")], dimensions={"province": "Nakhon Sawan"}),
        line("k4", [("5400", "700.00"), ("1100", "-700.00")]),  # cash would go to -100.00
        line("k5", [("1100", "1.00"), ("9999", "-1.00")]),  # unknown account
        "",
        line("k6", [("1100", "5.00"), ("4100", "-5.00")], book="NOPE"),
        line("k7", [("1100", "5.00"), ("4100", "-5.00")]),
    ]
    path = tmp_path / "entries.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_import_records_good_lines_and_reports_bad_ones(db, fund, lines_file):
    report = import_file(db, str(lines_file), batch_size=3, progress=False, now=lambda: NOW)
    assert report.recorded == 3
    assert [(number, reason) for number, reason, _ in report.rejected] == [
        (2, "unbalanced_entry"),
        (3, "invalid_request"),
        (5, "insufficient_balance"),
        (6, "not_found"),
        (8, "not_found"),
    ]
    again = import_file(db, str(lines_file), batch_size=100, progress=False, now=lambda: NOW)
    assert (again.recorded, again.replayed) == (0, 3)
    with db.read() as connection:
        from store.books import get_account

        assert get_account(connection, fund["1100"])["balance_satang"] == 1000_00 - 400_00 + 5_00


def test_import_refuses_a_reused_key_with_other_content(db, fund, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(line("same", [("1100", "1.00"), ("3100", "-1.00")]) + "\n")
    assert import_file(db, str(path), batch_size=10, progress=False, now=lambda: NOW).recorded == 1
    path.write_text(line("same", [("1100", "2.00"), ("3100", "-2.00")]) + "\n")
    report = import_file(db, str(path), batch_size=10, progress=False, now=lambda: NOW)
    assert [reason for _, reason, _ in report.rejected] == ["idempotency_key_reused"]


def test_cli_import_user_and_audit_verify(db, fund, lines_file, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert main(["migrate"]) == 0
    assert main(["import", str(lines_file), "--quiet"]) == 1  # some lines were rejected
    assert "3 recorded" in capsys.readouterr().out
    assert main(["user", "add", "auditor-1", "--role", "auditor"]) == 0
    token, code_line, link_line = capsys.readouterr().out.strip().splitlines()
    assert token.startswith("codi_") and len(token) > 40
    code = code_line.rsplit(" ", 1)[1]
    assert "works once" in code_line and link_line.endswith(f"/setup?code={code}")
    assert main(["user", "add", "auditor-1", "--role", "auditor"]) == 2
    assert "duplicate" in capsys.readouterr().err
    assert main(["audit", "verify"]) == 0
    assert "audit chain verified" in capsys.readouterr().out


def test_import_refuses_lines_that_move_an_account_an_operation_keeps(db, fund, tmp_path):
    """A loan's own sub-account (`1200-L<loan>`, opened by its disbursement) and a welfare fund's
    receivable from an enterprise (`1200-E<party>`) mirror an operation's records: an imported
    line may not post to them, and costs the other lines of its batch nothing."""
    with db.write() as connection:
        for code in ("1200-L7", "1200-E3"):
            books.create_account(connection, {
                "book_id": fund["book_id"], "code": code, "name_th": code, "type": "asset",
                "balance_rule": "debit_or_zero", "parent_id": fund["1200"], "party_id": fund["borrower_id"],
            }, now=NOW)  # fmt: skip
    path = tmp_path / "owned.jsonl"
    path.write_text("\n".join([
        line("cash", [("1100", "100.00"), ("3100", "-100.00")]),
        line("loan", [("1200-L7", "40.00"), ("1100", "-40.00")]),
        line("contribution", [("1200-E3", "5.00"), ("4100", "-5.00")]),
        line("ours", [("1200-01", "40.00"), ("1100", "-40.00")]),  # a sub-account opened by hand
    ]) + "\n")  # fmt: skip
    report = import_file(db, str(path), batch_size=10, progress=False, now=lambda: NOW)
    assert report.recorded == 2
    assert [(number, reason) for number, reason, _ in report.rejected] == [
        (2, "account_owned_by_operation"), (3, "account_owned_by_operation")]  # fmt: skip
    with db.read() as connection:
        assert books.get_account(connection, fund["1100"])["balance_satang"] == 100_00 - 40_00


def test_imported_entries_are_of_the_kinds_reversed_by_hand():
    assert set(IMPORT_KINDS) == JOURNAL_KINDS
