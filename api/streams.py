"""Long lists sent as they are read: an account's statement and the general ledger.

The lines come from a server-side cursor (`store.journal.statement_rows`, `store.reports.
ledger_rows`) in a read transaction of the answer's own, one consistent snapshot while it
streams, and leave as blocks of text: the server holds a batch of rows and a block, whatever the
length. JSON is written line by line with the text the whole-list answer has: the same keys and
values (closing balances after the lines, as they are known only then). A statement's JSON can
also be read in pages, `limit` lines after an opaque cursor (`after`); each page's running
balances carry on from the last page's, read from the monthly balances and one day's postings.
"""

import base64
import binascii
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice
from json import dumps
from json.encoder import encode_basestring
from typing import Any

from fastapi.responses import Response, StreamingResponse

from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount
from ledger.reports import ReportAccount, StatementLine
from store.exports import in_blocks
from store.journal import StatementPosition

DEFAULT_STATEMENT_PAGE = 1_000
MAX_STATEMENT_PAGE = 10_000
LINES_A_PIECE = 500
JSON_MEDIA_TYPE = "application/json"


def encode_position(position: StatementPosition) -> str:
    text = f"{position.effective_date.isoformat()}.{position.entry_id}.{position.posting_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_position(cursor: str, date_from: date, date_to: date) -> StatementPosition:
    """The position a cursor names, refused unless it is one we gave out for this period."""
    try:
        day, entry_id, posting_id = base64.urlsafe_b64decode(cursor.encode() + b"==").decode().split(".")
        position = StatementPosition(date.fromisoformat(day), int(entry_id), int(posting_id))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        position = None
    if position is None or not date_from <= position.effective_date <= date_to:
        raise LedgerError(Rejection.invalid_cursor, "the cursor is not one this server gave out for this period")
    return position


def line_json(line: StatementLine) -> str:
    """A statement line as the whole-list answer writes it (`JSONResponse`: no spaces, UTF-8)."""
    return (f'{{"entry_id":{line.entry_id},"effective_date":"{line.effective_date.isoformat()}",'
            f'"description":{encode_basestring(line.description)},"amount":"{format_amount(line.amount_satang)}",'
            f'"running_balance":"{format_amount(line.running_balance_satang)}"}}')  # fmt: skip


def head_json(fields: dict[str, Any]) -> str:
    """The fields before a list, as the opening of a JSON object: `{"a":1,...,`."""
    return dumps(fields, ensure_ascii=False, separators=(",", ":"), default=str)[:-1] + ","


def lines_json(lines: Iterable[StatementLine], last: list[StatementLine]) -> Iterator[str]:
    """`[line,line,...]` in pieces of LINES_A_PIECE lines, keeping the last line in `last` for
    the closing balance after it."""
    lines = iter(lines)
    separator = "["
    while piece := list(islice(lines, LINES_A_PIECE)):
        yield separator + ",".join(map(line_json, piece))
        separator, last[:] = ",", piece[-1:]
    yield "]" if separator == "," else "[]"


def statement_json(head: dict[str, Any], opening_satang: int, lines: Iterable[StatementLine]) -> Iterator[str]:
    """An account's whole statement as JSON text, a line at a time."""
    yield head_json({**head, "opening_balance": format_amount(opening_satang), "next_cursor": None}) + '"lines":'
    last: list[StatementLine] = []
    yield from lines_json(lines, last)
    closing = last[0].running_balance_satang if last else opening_satang
    yield f',"closing_balance":"{format_amount(closing)}"}}'


def statement_page_json(head: dict[str, Any], lines: Iterable[StatementLine]) -> str:
    """A page of a statement as JSON text: its fields, then its lines."""
    return head_json(head) + '"lines":' + "".join(lines_json(lines, [])) + "}"


class JSONText(Response):
    """JSON we wrote ourselves, sent as it is (no model to validate it against again)."""

    media_type = JSON_MEDIA_TYPE


def streamed_json(text: Iterator[str]) -> StreamingResponse:
    """JSON `text`, generated as it is sent, in blocks."""
    return StreamingResponse(_encoded(in_blocks(text)), media_type=JSON_MEDIA_TYPE)


def _encoded(blocks: Iterator[str]) -> Iterator[bytes]:
    for block in blocks:
        yield block.encode()


def general_ledger_json(head: dict[str, Any], ledger: Iterable[tuple[ReportAccount, int, Iterable[StatementLine]]]):
    """The general ledger as JSON text, an account and a line at a time, from (account, opening
    balance, lines)."""
    yield head_json(head) + '"accounts":['
    separator = ""
    for account, opening, lines in ledger:
        fields = {"account_id": account.id, "book_id": account.book_id, "code": account.code,
                  "name_th": account.name_th, "name_en": account.name_en, "opening_balance": format_amount(opening)}
        yield separator + "{" + head_json(fields)[1:] + '"lines":'
        last: list[StatementLine] = []
        yield from lines_json(lines, last)
        yield f',"closing_balance":"{format_amount(last[0].running_balance_satang if last else opening)}"}}'
        separator = ","
    yield "]}"
