"""Exports of a whole book, streamed: a Beancount ledger or a CSV journal, one line per posting."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.context import DbDep, ReadDep, Reader
from api.formats import MEDIA_TYPES, attachment, csv_blocks
from api.routes.registry import owned_book
from api.schemas import IdPath
from ledger.errors import LedgerError, Rejection
from store.exports import JOURNAL_CSV_HEADER, beancount_export, journal_csv_rows

router = APIRouter(prefix="/v1")
EXPORT_FORMATS = ("beancount", "csv")
BEANCOUNT_MEDIA_TYPE = "text/plain; charset=utf-8"
EXPORT_RESPONSES = {
    200: {"content": {"text/plain": {}, "text/csv": {}}, "description": "The book, streamed as it is read"}
}


@router.get("/books/{book_id}/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES, tags=["books"])
def export_book(
    book_id: IdPath,
    connection: ReadDep,
    db: DbDep,
    principal: Reader,
    format: Annotated[str, Query(max_length=20, description="beancount or csv")] = "beancount",
) -> StreamingResponse:
    """Every entry of a book: as a Beancount ledger (open directives, transactions with their
    metadata, balance assertions at each month end) that `bean-check` accepts, or as a CSV
    journal with one line per posting. A party's token exports only its own books."""
    if format not in EXPORT_FORMATS:
        raise LedgerError(Rejection.unsupported_format, f"export format {format!r} is not one of beancount, csv")
    book = owned_book(connection, book_id, principal)
    if format == "csv":
        body, media_type = csv_blocks(JOURNAL_CSV_HEADER, journal_csv_rows(db, book_id)), MEDIA_TYPES["csv"]
    else:
        body, media_type = beancount_export(db, book_id), BEANCOUNT_MEDIA_TYPE
    filename = f"book-{book['code']}.{'csv' if format == 'csv' else 'beancount'}"
    return StreamingResponse(body, media_type=media_type, headers=attachment(filename))
