"""Turning store rows into response bodies: amounts as decimal strings, CSV on request."""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ledger.money import format_amount


def wants_csv(request: Request) -> bool:
    return request.query_params.get("format") == "csv" or "text/csv" in request.headers.get("accept", "")


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def account_body(row: dict[str, Any]) -> dict[str, Any]:
    body = {**row, "balance": format_amount(row["balance_satang"])}
    if "rolled_up_balance_satang" in row:
        body["rolled_up_balance"] = format_amount(row["rolled_up_balance_satang"])
    return body


def entry_body(row: dict[str, Any]) -> dict[str, Any]:
    postings = [{**p, "amount": format_amount(p["amount_satang"])} for p in row["postings"]]
    return {**row, "postings": postings}
