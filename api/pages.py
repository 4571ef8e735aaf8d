"""Cursor pagination: a page of at most `limit` items after an opaque cursor."""

import base64
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel

from ledger.errors import LedgerError, Rejection

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class PageRequest(BaseModel):
    after: int
    limit: int


def _decode(cursor: str) -> int:
    try:
        after = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
    except (ValueError, UnicodeDecodeError):
        after = -1
    if after < 0:
        raise LedgerError(Rejection.invalid_cursor, "the cursor is not one this server gave out")
    return after


def encode_cursor(after: int) -> str:
    return base64.urlsafe_b64encode(str(after).encode()).decode().rstrip("=")


def page_request(
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> PageRequest:
    return PageRequest(after=_decode(cursor) if cursor else 0, limit=limit)


PageDep = Annotated[PageRequest, Depends(page_request)]


def next_cursor(items: list[dict[str, Any]], page: PageRequest, key: str = "id") -> str | None:
    return encode_cursor(items[-1][key]) if len(items) == page.limit else None
