"""Close of business and the portfolio report: the two walks over every loan, streamed in batches
so that memory stays flat in the number of loans.

Close of business for a day D takes the active loans that no close of business has reached on
or after D, a batch at a time in id order, and for each one decides with
`ledger.loan_book.close_of_day`: its days past due and class, and either the interest to accrue
and the penalty interest to charge through D or, for a non-performing loan, the accrued interest
to reverse (a charged-off loan accrues nothing and is charged no penalty: `ledger.charge_off`).
Each batch posts one accrual entry (Dr interest receivable / Cr interest income), one
reversal entry (the opposite) and one penalty entry (Dr penalty receivable / Cr penalty income)
per book and pair of accounts, through `journal.record_entries`, and one loan transaction per
loan and kind pointing at it; then each loan remembers `cob_through = D`, and its month's row
of `loan_month` (its principal outstanding and days past due at the end of D) is replaced, so
that the portfolio by month (`store.dashboard`) reads a row a loan.

Locks: every writer takes loan rows before balance rows. Close of business holds the balance
rows of the accrual accounts from its first batch to its commit, so it locks all the loans it
will close first, in id order, in one statement (the rows are counted, not fetched), and only
then posts; a repayment that got its loan first simply finishes first.

Running it again for D changes nothing: the loans it reached are skipped (`cob_through`), what
is accrued is the schedule's earnings through D less what is recognised already (zero the second
time), and the database takes at most one accrual or reversal, and one penalty, per loan and day
(unique indexes).

Each day closed is kept (`close_of_business_day`, once, with when it was first closed), however
it was asked for (the API, the command line, the daily routine of `store.daily_cob`), so that the
last day closed is known even when no loan was active.
"""

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ledger.accounts import EntryDraft, Posting
from ledger.charge_off import charged_off_day
from ledger.errors import LedgerError, Rejection
from ledger.loan_book import CloseOfDay, Fold, Portfolio, Totals, TxKind, close_of_day
from ledger.loans import DEFAULT_AGEING_BOUNDS, ageing_bucket, days_past_due_having_paid
from store import books, journal, tier_mirror
from store.loan_charge_off import charged_off_loans
from store.loans import (
    folds_of,
    get_product,
    loan_t,
    loan_tx_t,
    plans_through_next_due,
    principal_payments_of,
    product_t,
    sums_of,
    terms_from_json,
    tx_values,
)
from store.rows import insert_rows, one_of
from store.tables import CloseOfBusinessDay, LoanMonth

BATCH = 500
loan_month_t = LoanMonth.__table__
Row = dict[str, Any]
closed_day_t = CloseOfBusinessDay.__table__


@dataclass
class CloseOfBusiness:
    """What a close of business did."""

    day: date
    loans_processed: int = 0  # loans whose day was closed now
    loans_accrued: int = 0
    accrued_satang: int = 0
    loans_reversed: int = 0
    reversed_satang: int = 0
    loans_penalised: int = 0
    penalty_satang: int = 0
    non_performing: int = 0
    loans_reclassified: int = 0  # loans whose Bank of Thailand class changed
    loans_open: int = 0  # active loans not yet closed through the day when the run began
    entry_ids: list[int] = field(default_factory=list)


def close_of_business(
    connection: Connection, day: date, *, today: date, user_id: int, now: datetime, batch_size: int = BATCH,
    reader: Callable[[], AbstractContextManager[Connection]] | None = None,
    progress: Callable[[CloseOfBusiness], None] | None = None,
) -> CloseOfBusiness:  # fmt: skip
    """Close `day` for every active loan. On PostgreSQL, with `reader` (a read-only transaction
    of its own: `Database.read`), each batch's loans are read there, a batch ahead, while this
    connection decides and writes the one before: the loans are locked here first, so what the
    reader sees of them is what this transaction would (so close of business must come first in
    its transaction, before anything else it writes). `progress` is called with the report so
    far after each batch (a page shows a long run's progress)."""
    if day > today:
        raise LedgerError(Rejection.date_in_future, f"{day} is after the business date {today}")
    _check_open(connection, day)
    report = CloseOfBusiness(day)
    locked = select(func.count()).select_from(_open_loans_query(day).with_for_update().subquery())
    report.loans_open = connection.execute(locked).scalar_one()
    ahead = reader is not None and connection.dialect.name == "postgresql"
    for batch in _read_ahead(reader, day, batch_size) if ahead else _batches(connection, day, batch_size, lock=True):
        _close_batch(connection, batch, day, user_id, now, report)
        if progress is not None:
            progress(report)
    _keep_closed_day(connection, day, now)
    return report


def last_closed_day(connection: Connection) -> date | None:
    """The latest business day close of business has closed, or None if it never ran."""
    return connection.execute(select(func.max(closed_day_t.c.day))).scalar_one()


def _keep_closed_day(connection: Connection, day: date, now: datetime) -> None:
    """Remember that `day` is closed, unless it was closed before (the first time is kept)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(insert(closed_day_t).values(day=day, closed_at=now).on_conflict_do_nothing())


@dataclass
class _Batch:
    """What close of business reads of a batch of loans."""

    loans: list[Row]
    plans: dict[int, tuple]
    sums: dict[int, Totals]
    paid: dict[int, int]
    principal_paid: dict[int, list[tuple[date, int]]]  # or principal and interest: what stops each one's penalty
    folds: dict[int, Fold]
    sums_on_day: dict[int, Totals]  # of the transactions dated by the day: what `loan_month` keeps


def _batches(connection: Connection, day: date, batch_size: int, *, lock: bool) -> Iterator[_Batch]:
    after = 0
    while loans := _open_loans(connection, day, after, batch_size, lock=lock):
        ids, book_ids = [loan["id"] for loan in loans], _book_ids(loans)
        due = plans_through_next_due(connection, ids, day, book_ids=book_ids)
        terms_of = {i: terms_from_json(terms) for i, (_, terms) in due.plans.items()}
        penalised = {i: terms.penalty_on for i, terms in terms_of.items() if terms.penalty_rate_annual_percent > 0}
        paid_off = principal_payments_of(connection, list(penalised), day, book_ids=book_ids, penalty_on=penalised)
        yield _Batch(
            loans, due.plans, sums_of(connection, ids, book_ids=book_ids), due.paid,
            paid_off, folds_of(connection, list(penalised), day),
            sums_of(connection, ids, day, book_ids=book_ids),
        )  # fmt: skip
        after = loans[-1]["id"]


def _book_ids(loans: list[Row]) -> list[int]:
    """The books of `loans` (rows with a book_id), which the reads of their transactions name
    (`store.loans.of_loans`) so that they need not look them up."""
    return sorted({loan["book_id"] for loan in loans})


def _read_ahead(reader, day: date, batch_size: int) -> Iterator[_Batch]:
    """`_batches` read in a thread of its own, at most two batches ahead of the caller."""
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def read() -> None:
        try:
            with reader() as connection:
                for batch in _batches(connection, day, batch_size, lock=False):
                    if not _offer(ready, batch, stop):
                        return
            _offer(ready, None, stop)
        except BaseException as error:  # handed to the caller, which raises it
            _offer(ready, error, stop)

    thread = threading.Thread(target=read, name="close-of-business-reader", daemon=True)
    thread.start()
    try:
        while (batch := ready.get()) is not None:
            if isinstance(batch, BaseException):
                raise batch
            yield batch
    finally:
        stop.set()
        thread.join()


def _offer(ready: queue.Queue, item, stop: threading.Event) -> bool:
    """Put `item` for the caller unless it has stopped taking; whether it was put."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _check_open(connection: Connection, day: date) -> None:
    """Refuse a day in a closed period of a book with active loans, even if it would post nothing."""
    book_t = books.book_t
    has_loans = select(loan_t.c.id).where(loan_t.c.book_id == book_t.c.id, loan_t.c.status == "active").exists()
    closed = select(book_t.c.id, book_t.c.closed_through).where(book_t.c.closed_through >= day, has_loans)
    book = connection.execute(closed.limit(1)).first()
    if book is not None:
        raise LedgerError(Rejection.period_closed, f"book {book.id} is closed through {book.closed_through}")


def _open_loans_query(day: date):
    """Active loans not yet closed through `day`, in id order."""
    open_ = or_(loan_t.c.cob_through.is_(None), loan_t.c.cob_through < day)
    return (
        select(loan_t.c.id, loan_t.c.book_id, loan_t.c.product_id, loan_t.c.loan_class, loan_t.c.borrower_party_id,
               loan_t.c.charged_off_on, loan_t.c.receivable_account_id)
        .where(loan_t.c.status == "active", open_)
        .order_by(loan_t.c.id)
    )


def _open_loans(connection: Connection, day: date, after: int, limit: int, *, lock: bool) -> list[Row]:
    query = _open_loans_query(day).where(loan_t.c.id > after).limit(limit)
    if lock:  # locked already, but for a loan disbursed (by another transaction) since the first lock
        query = query.with_for_update()
    return [dict(r) for r in connection.execute(query).mappings()]


def _close_batch(connection: Connection, batch: _Batch, day: date, user_id: int, now: datetime,
                 report: CloseOfBusiness) -> None:  # fmt: skip
    decided: list[tuple[Row, CloseOfDay]] = []
    for loan in batch.loans:
        loan_id = loan["id"]
        if loan_id in batch.plans:  # not yet disbursed on `day`: its close of business comes later
            plan, terms = batch.plans[loan_id]
            sums = batch.sums.get(loan_id, Totals())
            decision = close_of_day(plan, terms_from_json(terms), sums, batch.paid.get(loan_id, 0), day,
                                    batch.principal_paid.get(loan_id, []), batch.folds.get(loan_id))  # fmt: skip
            if _charged_off(loan, day):
                decision = charged_off_day(decision, sums)
            decided.append((loan, decision))
    accounts = _accounts(connection, {loan["product_id"] for loan, _ in decided})
    entry_of = _post_batch(connection, decided, accounts, day, user_id, now)
    txs = [
        tx_values(loan, kind, day, entry_of[(kind, loan["book_id"], *accounts[loan["product_id"]][kind])], user_id,
                  now, amount_satang=satang, **{_PART[kind]: satang})
        for loan, decision in decided for kind, satang in _moves(decision) if satang
    ]  # fmt: skip
    insert_rows(connection, loan_tx_t, txs)
    _mirror(connection, decided, day, user_id, now)
    _remember(connection, decided, day)
    _keep_month(connection, decided, batch.sums_on_day, day)
    _count(report, decided, entry_of.values())


def _mirror(connection: Connection, decided: list[tuple[Row, CloseOfDay]], day: date, user_id: int,
            now: datetime) -> None:  # fmt: skip
    """The organisation's side of the batch's accruals, reversals and penalties on CODI's loans to
    organisations that keep a book (`store.tier_mirror`): one entry per organisation book and kind."""
    targets = tier_mirror.mirror_targets(connection, [loan for loan, _ in decided])
    for kind, sign in _SIGN.items():
        by_book: dict[int, tuple[Row, list[tier_mirror.Move]]] = {}
        for loan, decision in decided:
            satang = dict(_moves(decision))[kind]
            if satang and loan["id"] in targets:
                target = targets[loan["id"]]
                by_book.setdefault(target["book_id"], (target, []))[1].append(
                    tier_mirror.Move(loan, interest_satang=sign * satang))
        for target, moves in by_book.values():
            tier_mirror.post_mirror(connection, target, moves, on=day, kind=f"loan.{kind.value}",
                                    description=f"CODI {_WHAT[kind]}: close of business {day}",
                                    dimensions={"close_of_business": day.isoformat()}, user_id=user_id, now=now)


def _charged_off(loan: Row, day: date) -> bool:
    """The loan was charged off by the end of `day`: it accrues nothing (`ledger.charge_off`)."""
    return loan["charged_off_on"] is not None and loan["charged_off_on"] <= day


def _remember(connection: Connection, decided: list[tuple[Row, CloseOfDay]], day: date) -> None:
    """Each loan's days past due, class and accruing, and that `day` is closed for it: one
    UPDATE for the loans that share those (most do: current, pass, accruing)."""
    alike: dict[tuple[int, str, bool], list[int]] = {}
    for loan, d in decided:
        alike.setdefault((d.days_past_due, d.loan_class.value, d.accruing), []).append(loan["id"])
    for (age, grade, accrues), ids in alike.items():
        values = {"days_past_due": age, "loan_class": grade, "accruing": accrues, "cob_through": day}
        connection.execute(update(loan_t).where(one_of(connection, loan_t.c.id, ids)).values(**values))


def _keep_month(connection: Connection, decided: list[tuple[Row, CloseOfDay]], sums: dict[int, Totals],
                day: date) -> None:  # fmt: skip
    """Each loan's row of `loan_month` for `day`'s month, replaced by what `day` left it."""
    month_start, ids = day.replace(day=1), [loan["id"] for loan, _ in decided]
    if not ids:
        return
    month = loan_month_t.c
    replaced = and_(month.month_start == month_start, one_of(connection, month.loan_id, ids))
    connection.execute(delete(loan_month_t).where(replaced))
    rows = [
        {"loan_id": loan["id"], "month_start": month_start, "closed_on": day, "book_id": loan["book_id"],
         "borrower_party_id": loan["borrower_party_id"],
         "outstanding_satang": sums.get(loan["id"], Totals()).outstanding_satang, "days_past_due": d.days_past_due,
         "charged_off": _charged_off(loan, day)}
        for loan, d in decided
    ]  # fmt: skip
    insert_rows(connection, loan_month_t, rows)


def _moves(decision: CloseOfDay) -> tuple[tuple[TxKind, int], ...]:
    return ((TxKind.accrual, decision.accrual_satang), (TxKind.accrual_reversal, decision.reversal_satang),
            (TxKind.penalty, decision.penalty_satang))  # fmt: skip


_PART = {TxKind.accrual: "interest_satang", TxKind.accrual_reversal: "interest_satang",
         TxKind.penalty: "penalty_satang"}  # fmt: skip
_SIGN = {TxKind.accrual: 1, TxKind.accrual_reversal: -1, TxKind.penalty: 1}
_WHAT = {
    TxKind.accrual: "Interest accrued",
    TxKind.accrual_reversal: "Accrued interest reversed (non-performing loans)",
    TxKind.penalty: "Penalty interest charged on overdue principal",
}


def _accounts(connection: Connection, product_ids: set[int]) -> dict[int, dict[TxKind, tuple[int, int]]]:
    """Each product's (receivable, income) pair for each kind, as `store.loans` resolves its
    accounts (penalties go to interest receivable when the chart has no penalty receivable)."""
    pairs = {}
    for product_id in sorted(product_ids):
        roles = get_product(connection, product_id)["accounts"]
        interest = (roles["interest_receivable"], roles["interest_income"])
        penalty = (roles["penalty_receivable"], roles["penalty_income"])
        pairs[product_id] = {TxKind.accrual: interest, TxKind.accrual_reversal: interest, TxKind.penalty: penalty}
    return pairs


def _post_batch(
    connection: Connection, decided: list[tuple[Row, CloseOfDay]], accounts: dict[int, tuple[int, int]], day: date,
    user_id: int, now: datetime,
) -> dict[tuple, int]:  # fmt: skip
    """One entry per kind, book and pair of accounts for the whole batch; their ids by that key."""
    amounts: dict[tuple, int] = {}
    for loan, decision in decided:
        pairs = accounts[loan["product_id"]]
        for kind, satang in _moves(decision):
            if satang:
                key = (kind, loan["book_id"], *pairs[kind])
                amounts[key] = amounts.get(key, 0) + satang
    keys = sorted(amounts)
    drafts = [_draft(key, amounts[key], day) for key in keys]
    outcomes = journal.record_entries(connection, drafts, recorded_by=user_id, recorded_at=now)
    for outcome in outcomes:
        if isinstance(outcome, LedgerError):
            raise outcome  # a closed period: the whole close of business is refused
    return dict(zip(keys, outcomes, strict=True))


def _draft(key: tuple, satang: int, day: date) -> EntryDraft:
    kind, book_id, receivable, income = key
    sign = _SIGN[kind]
    return EntryDraft(
        book_id=book_id, effective_date=day, kind=f"loan.{kind.value}",
        description=f"{_WHAT[kind]}: close of business {day}",
        postings=(Posting(receivable, sign * satang), Posting(income, -sign * satang)),
        dimensions={"close_of_business": day.isoformat()},
    )  # fmt: skip


def _count(report: CloseOfBusiness, decided: list[tuple[Row, CloseOfDay]], entry_ids) -> None:
    report.loans_processed += len(decided)
    for loan, d in decided:
        report.loans_accrued += d.accrual_satang > 0
        report.accrued_satang += d.accrual_satang
        report.loans_reversed += d.reversal_satang > 0
        report.reversed_satang += d.reversal_satang
        report.loans_penalised += d.penalty_satang > 0
        report.penalty_satang += d.penalty_satang
        report.non_performing += not d.accruing
        report.loans_reclassified += loan["loan_class"] != d.loan_class.value
    report.entry_ids.extend(entry_ids)


# --- portfolio ---------------------------------------------------------------------------------


def portfolio(
    connection: Connection, as_of: date, *, book_id: int | None = None, bounds: tuple[int, ...] = DEFAULT_AGEING_BOUNDS,
    batch_size: int = BATCH,
) -> Portfolio:  # fmt: skip
    """The loans with principal outstanding at the end of `as_of`, re-derived from their
    transactions and schedules then, by class, days-past-due bucket (lower bounds `bounds`),
    region, province, incubation centre and product."""
    ageing_bucket(0, bounds)  # refuses bad bounds before any work
    result = Portfolio(bounds)
    for batch in _disbursed_loans(connection, book_id, batch_size):
        ids, book_ids = [loan["id"] for loan in batch], _book_ids(batch)
        due = plans_through_next_due(connection, ids, as_of, book_ids=book_ids)
        sums = sums_of(connection, ids, as_of, book_ids=book_ids)
        charged_off = charged_off_loans(connection, ids, as_of)
        for loan in batch:
            if loan["id"] not in due.plans:
                continue
            plan, terms = due.plans[loan["id"]]
            age = days_past_due_having_paid(plan, terms_from_json(terms), due.paid.get(loan["id"], 0), as_of)
            keys = {"region": loan["region"] or "unknown", "province": loan["province"] or "unknown",
                    "centre": str(loan["centre_id"] or "none"), "product": loan["product_code"]}  # fmt: skip
            result.add(sums.get(loan["id"], Totals()).outstanding_satang, age, keys,
                       charged_off=loan["id"] in charged_off)  # fmt: skip
    return result


def group_names(connection: Connection, groups: dict[str, dict[str, Any]], book_id: int | None) -> dict[str, dict]:
    """The names (Thai, English) of a portfolio's centres (keyed by the centre's party id) and
    products (keyed by code): `{"centre": {"7": ("ศูนย์...", "Centre ...")}, "product": {...}}`.
    Products of several books may share a code: their names are then all given, "A / B"."""
    party_t = books.party_t
    centres = [int(key) for key in groups.get("centre", {}) if key.isdigit()]
    rows = connection.execute(select(party_t.c.id, party_t.c.name_th, party_t.c.name_en)
                              .where(party_t.c.id.in_(centres))) if centres else []  # fmt: skip
    names: dict[str, dict] = {"centre": {str(r.id): (r.name_th, r.name_en) for r in rows}, "product": {}}
    codes = list(groups.get("product", {}))
    query = select(product_t.c.code, product_t.c.name_th, product_t.c.name_en).where(product_t.c.code.in_(codes))
    query = query.where(books.in_book_or_codis(product_t.c.book_id, book_id))
    found: dict[str, list[tuple[str, str | None]]] = {}
    for row in connection.execute(query.order_by(product_t.c.id)) if codes else []:
        found.setdefault(row.code, []).append((row.name_th, row.name_en))
    for code, pairs in found.items():
        distinct = list(dict.fromkeys(pairs))
        name_en = " / ".join(en for _, en in distinct if en) or None
        names["product"][code] = (" / ".join(th for th, _ in distinct), name_en)
    return names


def _disbursed_loans(connection: Connection, book_id: int | None, batch_size: int) -> Iterator[list[Row]]:
    party_t = books.party_t
    query = (
        select(loan_t.c.id, loan_t.c.book_id, party_t.c.region, party_t.c.province, party_t.c.centre_id,
               product_t.c.code.label("product_code"))
        .join(party_t, party_t.c.id == loan_t.c.borrower_party_id)
        .join(product_t, product_t.c.id == loan_t.c.product_id)
        .where(loan_t.c.status.in_(("active", "closed", "written_off")))
        .order_by(loan_t.c.id).limit(batch_size)
    )  # fmt: skip
    query = query.where(books.in_book_or_codis(loan_t.c.book_id, book_id))
    after = 0
    while batch := [dict(r) for r in connection.execute(query.where(loan_t.c.id > after)).mappings()]:
        yield batch
        after = batch[-1]["id"]
