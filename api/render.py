"""Turning store rows into response bodies: amounts as decimal strings; CSV, XLSX and PDF
through the one renderer of api/formats.py."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from fastapi.responses import Response

from api.formats import MEDIA_TYPES, attachment, book_names, csv_text
from ledger.money import format_amount
from ledger.reports import Statement, StatementLine, TrialBalance
from ledger.tabular import ACCOUNT_TYPE_LABELS, TOTAL, Column, Label, Table


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    return Response(csv_text(header, rows), media_type=MEDIA_TYPES["csv"], headers=attachment(filename))


def account_body(row: dict[str, Any]) -> dict[str, Any]:
    body = {**row, "balance": format_amount(row["balance_satang"])}
    if "rolled_up_balance_satang" in row:
        body["rolled_up_balance"] = format_amount(row["rolled_up_balance_satang"])
    return body


def entry_body(row: dict[str, Any]) -> dict[str, Any]:
    postings = [{**p, "amount": format_amount(p["amount_satang"])} for p in row["postings"]]
    return {**row, "postings": postings}


STATEMENT_COLUMNS = (
    Column("entry_id", "Entry", "เลขที่รายการ"),
    Column("effective_date", "Date", "วันที่", "date"),
    Column("description", "Description", "คำอธิบาย"),
    Column("amount", "Amount", "จำนวนเงิน", "money"),
    Column("running_balance", "Balance", "ยอดคงเหลือ", "money"),
)
TRIAL_BALANCE_COLUMNS = (
    Column("account_id", "Account id", "รหัสภายใน"),
    Column("code", "Code", "รหัสบัญชี"),
    Column("name_th", "Name (Thai)", "ชื่อบัญชี"),
    Column("name_en", "Name (English)", "ชื่อบัญชี (อังกฤษ)"),
    Column("type", "Type", "ประเภท"),
    Column("parent_id", "Control account id", "บัญชีคุม"),
    Column("debit", "Debit", "เดบิต", "money"),
    Column("credit", "Credit", "เครดิต", "money"),
    Column("rolled_up_balance", "Balance with sub-accounts", "ยอดรวมบัญชีย่อย", "money"),
)


def statement_head(book: dict, account: dict, period: tuple[date, date]) -> Table:
    """An account's statement without its rows: what `statement_rows` fills, or streams under."""
    name_en = account["name_en"] or account["name_th"]
    return Table(
        title_en=f"Statement of account {account['code']} {name_en}",
        title_th=f"รายการเคลื่อนไหวบัญชี {account['code']} {account['name_th']}",
        **book_names(book), name=f"statement-{account['code']}-{period[0]}-{period[1]}",
        columns=STATEMENT_COLUMNS, rows=(), period=period,
    )  # fmt: skip


def statement_rows(opening_satang: int, lines: Iterable[StatementLine], period: tuple[date, date]) -> Iterator[dict]:
    """The opening balance, every line, the closing balance, as a statement's table rows, one at a time."""
    yield {"effective_date": period[0], "description": Label("Opening balance", "ยอดยกมา"),
           "running_balance": opening_satang}  # fmt: skip
    closing = opening_satang
    for line in lines:
        yield {"entry_id": line.entry_id, "effective_date": line.effective_date, "description": line.description,
               "amount": line.amount_satang, "running_balance": line.running_balance_satang}  # fmt: skip
        closing = line.running_balance_satang
    yield {"effective_date": period[1], "description": Label("Closing balance", "ยอดยกไป"), "running_balance": closing}


def statement_table(book: dict, account: dict, result: Statement, period: tuple[date, date]) -> Table:
    """An account's statement: the opening balance, every line, the closing balance."""
    rows = tuple(statement_rows(result.opening_balance_satang, result.lines, period))
    return replace(statement_head(book, account, period), rows=rows)


def trial_balance_table(book: dict, as_of: date | None, accounts: list[dict], computed: TrialBalance) -> Table:
    """Every account in a debit or a credit column, with the two totals."""
    rows = tuple(
        {"account_id": a["id"], "code": a["code"], "name_th": a["name_th"], "name_en": a["name_en"],
         "type": ACCOUNT_TYPE_LABELS[a["type"]], "parent_id": a["parent_id"], "debit": line.debit_satang,
         "credit": line.credit_satang, "rolled_up_balance": a["rolled_up_balance_satang"]}
        for a, line in zip(accounts, computed.lines, strict=True)
    )  # fmt: skip
    totals = {"name_th": TOTAL, "debit": computed.total_debit_satang, "credit": computed.total_credit_satang}
    return Table(
        title_en="Trial balance", title_th="งบทดลอง", **book_names(book),
        name=f"trial-balance-{book['id']}-{as_of or 'current'}", columns=TRIAL_BALANCE_COLUMNS,
        rows=rows, totals=totals, as_of=as_of,
    )  # fmt: skip
