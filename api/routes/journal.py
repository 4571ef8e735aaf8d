"""Entries, reversals, balances, statements, trial balances and periods."""

from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api import logs
from api.context import Admin, ClockDep, DbDep, JournalWriter, ReadDep, Reader
from api.formats import FORMATS_DOC, MEDIA_TYPES, FormatDep, LanguageDep, streamed_table_response, table_response
from api.pages import PageDep, next_cursor
from api.render import entry_body, statement_head, statement_rows, statement_table, trial_balance_table
from api.routes.registry import owned_book, visible_account, visible_book
from api.schemas import (
    Balance,
    ClientDate,
    EntryCreate,
    EntryIdPath,
    EntryPublic,
    IdPath,
    IdQuery,
    Page,
    PeriodClose,
    PeriodPublic,
    ReversalCreate,
    StatementPublic,
    TrialBalancePublic,
)  # fmt: skip
from api.streams import (
    DEFAULT_STATEMENT_PAGE,
    MAX_STATEMENT_PAGE,
    JSONText,
    decode_position,
    encode_position,
    statement_json,
    statement_page_json,
    streamed_json,
)  # fmt: skip
from api.writes import Outcome, Write, WriteRequest, perform, perform_batched
from ledger.accounts import EntryDraft, Posting
from ledger.calendar import Period, check_fiscal_year, fiscal_year_of, is_closed, periods_of_fiscal_year
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount, parse_amount
from ledger.reports import running_lines, trial_balance
from store import books, journal
from store.engine import Database
from store.users import Principal

router = APIRouter(prefix="/v1")
CSV = {"content": {media.split(";")[0]: {} for media in MEDIA_TYPES.values()}, "description": FORMATS_DOC}


def check_range(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise LedgerError(Rejection.invalid_date_range, f"from {date_from} is after to {date_to}")


@router.post("/entries", status_code=201, response_model=EntryPublic, tags=["entries"])
async def post_entry(body: EntryCreate, request: Request, write: Write, principal: JournalWriter) -> Response:
    """Record an entry. Needs an Idempotency-Key: a retry with the same key and body answers
    the same and records nothing new. An account that an operation keeps (a welfare pair's
    `2200-F<fund>`, a loan's `1200-L<loan>`, ...) is refused (409 `account_owned_by_operation`)."""
    draft = EntryDraft(
        book_id=body.book_id,
        effective_date=body.effective_date,
        kind=body.kind,
        description=body.description,
        postings=tuple(Posting(p.account_id, parse_amount(p.amount)) for p in body.postings),
        dimensions=body.dimensions,
    )
    return await perform_batched(request, write, principal, "entry.post", (principal, draft), record_drafts)


def record_drafts(connection, now, items: list[tuple[Principal, EntryDraft]]) -> list[Outcome | LedgerError]:
    """The entries of a batch of requests: checked in the order they came, each against the
    balances the ones before it leave, recorded together; each request's answer or refusal."""
    answers: dict[int, Any] = {i: e for i, (p, d) in enumerate(items) if (e := _beyond_own_books(connection, p, d))}
    allowed = [i for i in range(len(items)) if i not in answers]
    drafts, users = [items[i][1] for i in allowed], [items[i][0].user_id for i in allowed]
    entries = journal.recorded_entries(connection, drafts, recorded_by=users, recorded_at=now)
    for index, entry in zip(allowed, entries, strict=True):
        if isinstance(entry, LedgerError):
            answers[index] = entry
        else:
            body = EntryPublic.model_validate(entry_body(entry))
            answers[index] = Outcome(body, f"entry:{entry['id']}", 201, [entry["id"]])
    return [answers[i] for i in range(len(items))]


def _beyond_own_books(connection, principal: Principal, draft: EntryDraft) -> LedgerError | None:
    """A party's token may write only in its own books, to their accounts: another book, or an
    account of another book, is answered as not found, as an id nobody has (any other writer
    meets a missing book or account in record_entries, and 409 `account_not_in_book` for an
    account of another book: staff see every book)."""
    if principal.party_id is None:
        return None
    try:
        owned_book(connection, draft.book_id, principal)
        books.check_accounts_of_book(connection, draft.book_id, (p.account_id for p in draft.postings))
    except LedgerError as error:
        return error
    return None


def visible_entry(connection, entry_id: int, principal: Principal) -> dict:
    """An entry the principal may see, looked up together with that right (before its postings)."""
    return journal.get_entry(connection, entry_id, visible_to=principal.party_id)


@router.get("/entries/{entry_id}", response_model=EntryPublic, tags=["entries"])
def get_entry(entry_id: EntryIdPath, connection: ReadDep, principal: Reader) -> dict:
    return entry_body(visible_entry(connection, entry_id, principal))


@router.get("/entries", response_model=Page[EntryPublic], tags=["entries"])
def list_entries(
    connection: ReadDep,
    principal: Reader,
    page: PageDep,
    book_id: IdQuery = None,
    account_id: IdQuery = None,
    party_id: IdQuery = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    date_from: Annotated[ClientDate | None, Query(alias="from")] = None,
    date_to: Annotated[ClientDate | None, Query(alias="to")] = None,
) -> dict:
    check_range(date_from, date_to)
    filters = {"book_id": book_id, "account_id": account_id, "party_id": party_id, "kind": kind,
               "date_from": date_from, "date_to": date_to}  # fmt: skip
    rows = journal.list_entries(
        connection, filters=filters, visible_to_party=principal.party_id, after=page.after, limit=page.limit
    )
    return {"data": [entry_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


@router.post("/entries/{entry_id}/reversal", status_code=201, response_model=EntryPublic, tags=["entries"])
def reverse_entry(
    entry_id: EntryIdPath,
    body: ReversalCreate,
    request: Request,
    write: Write,
    principal: JournalWriter,
    clock: ClockDep,
) -> Response:
    """Reverse an entry made by hand, dated today (Bangkok) or on the original's date. At most once.
    An entry that an operation wrote (a sale's, a loan's, ...) is refused (409
    `entry_owned_by_operation`): it is undone through that operation's own route."""

    def work(connection, now):
        original = visible_entry(connection, entry_id, principal)
        owned_book(connection, original["book_id"], principal)
        reversal_id = journal.reverse_entry(
            connection, entry_id=entry_id, effective_date=clock.today() if body.date == "today" else None,
            description=body.description, recorded_by=principal.user_id, recorded_at=now, by_hand=True,
        )  # fmt: skip
        reversal = journal.get_entry(connection, reversal_id)
        return Outcome(EntryPublic.model_validate(entry_body(reversal)), f"entry:{entry_id}", 201, [reversal_id])

    return perform(request, write, principal, "entry.reverse", work, needs_key=True)


@router.get("/accounts/{account_id}/balance", response_model=Balance, tags=["accounts"])
def account_balance(
    account_id: IdPath, connection: ReadDep, principal: Reader, as_of: ClientDate | None = None
) -> dict:
    account = visible_account(connection, account_id, principal)
    balance = account["balance_satang"]
    if as_of is not None:
        balance = journal.balances_as_of(connection, account["book_id"], as_of, [account_id]).get(account_id, 0)
    return {"account_id": account_id, "as_of": as_of, "balance": format_amount(balance)}


def statement_file(connection, account: dict, result, period: tuple[date, date], format: str, lang: str) -> Response:
    """An account's statement as a download (CSV, XLSX or PDF): the pages' link."""
    book = books.get_book(connection, account["book_id"])
    return table_response(statement_table(book, account, result, period), format, lang)


def streamed_statement_lines(db: Database, account: dict, period: tuple[date, date], body: Callable) -> Iterator:
    """`body(opening balance, lines)` over the statement's lines read from a server-side cursor,
    in a read transaction of its own that lasts while the answer streams."""
    with db.read() as connection:
        rows = journal.statement_rows(connection, account["id"], *period)
        opening = journal.balance_before(connection, account, period[0])
        yield from body(opening, running_lines(opening, rows))


@router.get("/accounts/{account_id}/statement", response_model=StatementPublic, responses={200: CSV}, tags=["accounts"])
def account_statement(
    account_id: IdPath,
    connection: ReadDep,
    db: DbDep,
    principal: Reader,
    date_from: Annotated[ClientDate, Query(alias="from")],
    date_to: Annotated[ClientDate, Query(alias="to")],
    format: FormatDep,
    lang: LanguageDep,
    after: Annotated[str | None, Query(max_length=80, description="the next_cursor of the page before")] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_STATEMENT_PAGE, description="lines a page (JSON)")] = None,
):
    """Opening balance, each posting with the running balance after it, closing balance; streamed
    as it is read. JSON is paged when `limit` or `after` is given (`next_cursor` names the next
    page, null on the last), the running balances carried on from page to page."""
    check_range(date_from, date_to)
    account = visible_account(connection, account_id, principal)
    period = (date_from, date_to)
    if format != "json":
        table = statement_head(books.get_book(connection, account["book_id"]), account, period)
        rows = streamed_statement_lines(db, account, period, partial(statement_rows, period=period))
        return streamed_table_response(table, rows, format, lang)
    head = {"account_id": account_id, "date_from": date_from, "date_to": date_to}
    if after is None and limit is None:
        return streamed_json(streamed_statement_lines(db, account, period, partial(statement_json, head)))
    return statement_page(connection, account, period, after, limit or DEFAULT_STATEMENT_PAGE)


def statement_page(connection, account: dict, period: tuple[date, date], after: str | None, limit: int) -> Response:
    """At most `limit` lines after the cursor `after`, their running balances carried on from the
    lines before them, with the whole statement's opening and closing balances."""
    position = decode_position(after, *period) if after else None
    opening = journal.balance_before(connection, account, period[0])
    start = journal.balance_after(connection, account, position) if position else opening
    rows = journal.statement_page_rows(connection, account["id"], *period, position, limit + 1)
    last = rows[limit - 1] if len(rows) > limit else None
    closing = journal.balances_as_of(connection, account["book_id"], period[1], [account["id"]]).get(account["id"], 0)
    head = {
        "account_id": account["id"], "date_from": period[0], "date_to": period[1],
        "opening_balance": format_amount(opening), "closing_balance": format_amount(closing),
        "next_cursor": last and encode_position(journal.StatementPosition(last[1], last[0], last[4])),
    }  # fmt: skip
    return JSONText(statement_page_json(head, running_lines(start, (row[:4] for row in rows[:limit]))))


@router.get("/books/{book_id}/trial-balance", response_model=TrialBalancePublic, responses={200: CSV}, tags=["books"])
def book_trial_balance(
    book_id: IdPath, connection: ReadDep, principal: Reader, format: FormatDep, lang: LanguageDep,
    as_of: ClientDate | None = None,
):  # fmt: skip
    """Every account's balance in a debit or credit column, current or at the end of `as_of`."""
    book = owned_book(connection, book_id, principal)
    accounts = journal.trial_balance_rows(connection, book_id, as_of)
    computed = trial_balance({a["id"]: a["balance_satang"] for a in accounts})
    lines = [
        {"account_id": a["id"], "code": a["code"], "name_th": a["name_th"], "name_en": a["name_en"],
         "type": a["type"], "parent_id": a["parent_id"], "debit": format_amount(line.debit_satang),
         "credit": format_amount(line.credit_satang), "rolled_up_balance": format_amount(a["rolled_up_balance_satang"])}
        for a, line in zip(accounts, computed.lines, strict=True)
    ]  # fmt: skip
    totals = format_amount(computed.total_debit_satang), format_amount(computed.total_credit_satang)
    if format != "json":
        return table_response(trial_balance_table(book, as_of, accounts, computed), format, lang)
    return {"book_id": book_id, "as_of": as_of, "lines": lines, "total_debit": totals[0], "total_credit": totals[1]}


def periods_body(fiscal_year: int, closed_through: date | None) -> list[dict]:
    return [
        {"period": p.name, "start": p.start, "end": p.end, "fiscal_year": p.fiscal_year,
         "closed": is_closed(p.end, closed_through)}
        for p in periods_of_fiscal_year(fiscal_year)
    ]  # fmt: skip


@router.get("/books/{book_id}/periods", response_model=list[PeriodPublic], tags=["periods"])
def list_periods(
    book_id: IdPath,
    connection: ReadDep,
    principal: Reader,
    clock: ClockDep,
    fiscal_year: int | None = None,
) -> list[dict]:
    """The twelve monthly periods of a Thai fiscal year (BE), by default the current one."""
    if fiscal_year is not None:
        check_fiscal_year(fiscal_year)
    book = visible_book(connection, book_id, principal)
    year = fiscal_year or fiscal_year_of(clock.today())
    return periods_body(year, book["closed_through"])


@router.post("/books/{book_id}/periods/close", response_model=list[PeriodPublic], tags=["periods"])
def close_period(book_id: IdPath, body: PeriodClose, request: Request, write: Write, principal: Admin) -> Response:
    """Close a month and every month before it: no entry may be dated in them afterwards."""
    year, month = map(int, body.period.split("-"))
    return run_period_close(request, write, principal, book_id, Period(year, month))


def run_period_close(request: Request, write: WriteRequest, principal: Principal, book_id: int,
                     period: Period) -> Response:  # fmt: skip
    """The close of `period` and the months before it, audited under `write` (the API's and the
    periods page's)."""

    def work(connection, now):
        book = journal.close_period(
            connection, book_id=book_id, through=period.end, closed_by=principal.user_id, now=now
        )
        periods = periods_body(period.fiscal_year, book["closed_through"])
        return Outcome(periods, f"book:{book_id}:period:{period.name}")

    answer = perform(request, write, principal, "period.close", work)
    if "Idempotent-Replayed" not in answer.headers:
        logs.event("period.close", book_id=book_id, through=period.name, user_id=principal.user_id)
    return answer
