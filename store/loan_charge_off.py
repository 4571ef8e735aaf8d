"""Charging a loan off and undoing it, and undoing a write-off (`ledger.charge_off`, docs/loans.md).

    charge-off          Dr loan loss expense (5200)   Cr allowance for loan losses (1290)
                        (the principal outstanding; the loan's receivable keeps its balance)
    charge-off undone   the charge-off's entry reversed, on its own date
    write-off undone    the write-off's entry reversed, on its own date

A charged-off loan stays `active`, flagged (`loan.charged_off_on`, `charge_off_reason`), and
`loan_charge_off` keeps each charge-off with its reason and entry. Repayments still collect;
close of business accrues nothing on it (`store.loan_cob`). An undo is a reversal entry and an
append-only row saying why (`loan_charge_off_undo`, `loan_write_off_undo`), never an edit of
what was recorded: an undone write-off drops out of the loan's figures (`store.loans.LIVE_TX`),
as an undone repayment does. Each is an approver's, as a write-off is.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ledger.accounts import Posting
from ledger.charge_off import ChargeOffReason, charge_off
from ledger.errors import LedgerError, Rejection
from ledger.loan_book import TxKind, totals
from ledger.loans import is_non_performing
from store import journal
from store.loans import (
    MONEY_KINDS,
    _check_date,
    _check_reason,
    _disbursed_loan,
    _post,
    account_for,
    get_loan,
    get_product,
    loan_t,
    state,
)
from store.tables import LoanChargeOff, LoanChargeOffUndo, LoanWriteOffUndo

charge_off_t = LoanChargeOff.__table__
charge_off_undo_t = LoanChargeOffUndo.__table__
write_off_undo_t = LoanWriteOffUndo.__table__
Row = dict[str, Any]
# A charge-off in force: not undone.
LIVE_CHARGE_OFF = charge_off_t.c.id.not_in(select(charge_off_undo_t.c.charge_off_id))


@dataclass(frozen=True)
class ChargedOff:
    """A charge-off just recorded, its entry, and the loan after it."""

    charge_off: Row
    entry_id: int
    loan: Row


def charge_off_loan(
    connection: Connection, loan_id: int, *, on: date, reason: str, note: str | None, today: date, user_id: int,
    now: datetime,
) -> ChargedOff:  # fmt: skip
    """Charge an active loan off on `on`, for one of `ChargeOffReason` (`other` needs a note):
    its principal outstanding is recognised as a loss into the allowance, the loan stops
    accruing and stays active, collectable."""
    why = ChargeOffReason(reason)
    note = note.strip() if note and note.strip() else None
    if why is ChargeOffReason.other and note is None:
        raise LedgerError(Rejection.reason_required, "a charge-off for another reason needs a note saying why")
    loan = _disbursed_loan(connection, loan_id, {})
    if loan["charged_off_on"] is not None:
        raise LedgerError(Rejection.loan_charged_off, f"loan {loan_id} was charged off on {loan['charged_off_on']}")
    current = state(connection, loan)
    _check_date(on, today, current.rows)
    principal = charge_off(totals(current.txs)).principal_satang
    product = get_product(connection, loan["product_id"])
    postings = (_posting(product, "write_off_expense", principal), _posting(product, "allowance", -principal))
    entry_id = _post(connection, loan, on, "loan.charge_off", f"Loan {loan_id}: charged off ({why.value})", postings,
                     user_id, now)  # fmt: skip
    values = {"book_id": loan["book_id"], "loan_id": loan_id, "effective_date": on, "reason": why.value,
              "note": note, "principal_satang": principal, "entry_id": entry_id, "recorded_at": now,
              "recorded_by": user_id}  # fmt: skip
    charge_off_id = connection.execute(insert(charge_off_t).values(**values)).inserted_primary_key[0]
    connection.execute(
        update(loan_t).where(loan_t.c.id == loan_id).values(charged_off_on=on, charge_off_reason=why.value,
                                                             accruing=False)
    )  # fmt: skip
    return ChargedOff({**values, "id": charge_off_id}, entry_id, get_loan(connection, loan_id))


def _posting(product: Row, role: str, satang: int) -> Posting:
    return Posting(account_for(product, role), satang)


def live_charge_off(connection: Connection, loan_id: int, as_of: date | None = None) -> Row | None:
    """The loan's charge-off in force (not undone; dated by `as_of`, if given), or None."""
    query = select(charge_off_t).where(charge_off_t.c.loan_id == loan_id, LIVE_CHARGE_OFF)
    if as_of is not None:
        query = query.where(charge_off_t.c.effective_date <= as_of)
    row = connection.execute(query.order_by(charge_off_t.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def charged_off_loans(connection: Connection, loan_ids: list[int], as_of: date) -> set[int]:
    """Of `loan_ids`, those charged off by the end of `as_of` by a charge-off in force."""
    if not loan_ids:
        return set()
    query = select(charge_off_t.c.loan_id).where(
        charge_off_t.c.loan_id.in_(loan_ids), charge_off_t.c.effective_date <= as_of, LIVE_CHARGE_OFF
    )
    return set(connection.execute(query).scalars())


@dataclass(frozen=True)
class Undone:
    """An undo just recorded: the entry that reversed what was undone, and the loan after it."""

    entry_id: int
    loan: Row


def undo_charge_off(connection: Connection, loan_id: int, *, reason: str | None, user_id: int,
                    now: datetime) -> Undone:  # fmt: skip
    """Take a loan's charge-off back, with a reason: its entry reversed on its own date, the flag
    cleared, accruing as its days past due say (close of business catches up what it did not
    accrue). A written-off loan's write-off is undone first."""
    why = _check_reason(reason, "undoing a charge-off")
    loan = _disbursed_loan(connection, loan_id, {"closed": None})
    target = live_charge_off(connection, loan_id)
    if target is None:
        raise LedgerError(Rejection.loan_not_charged_off, f"loan {loan_id} is not charged off")
    reversal = _reverse_event(connection, loan, "charge-off", target, why, user_id=user_id, now=now,
                              undo_table=charge_off_undo_t, undone={"charge_off_id": target["id"]})  # fmt: skip
    accruing = not is_non_performing(loan["days_past_due"])
    connection.execute(update(loan_t).where(loan_t.c.id == loan_id).values(charged_off_on=None,
                                                                           charge_off_reason=None, accruing=accruing))
    return Undone(reversal, get_loan(connection, loan_id))


def undo_write_off(connection: Connection, loan_id: int, *, reason: str | None, user_id: int,
                   now: datetime) -> Undone:  # fmt: skip
    """Take a write-off back, with a reason: its entry reversed on its own date (the principal back
    in the receivable, the allowance and the income it used restored), the write-off out of the
    loan's figures, the loan active again (charged off still, if it was). Refused while a
    recovery or a refund stands after it: undo those first."""
    why = _check_reason(reason, "undoing a write-off")
    loan = _disbursed_loan(connection, loan_id, {"written_off": None})
    if loan["status"] != "written_off":
        raise LedgerError(Rejection.loan_not_written_off, f"loan {loan_id} is {loan['status']}, not written off")
    rows = state(connection, loan).rows
    target = max((r for r in rows if r["kind"] == TxKind.write_off), key=rows.index)
    later = [r for r in rows[rows.index(target) + 1 :] if r["kind"] in MONEY_KINDS]
    if later:
        kinds = ", ".join(sorted({r["kind"] for r in later}))
        raise LedgerError(Rejection.later_transactions_exist, f"undo the {kinds} after the write-off first")
    reversal = _reverse_event(connection, loan, "write-off", target, why, user_id=user_id, now=now,
                              undo_table=write_off_undo_t, undone={"original_tx_id": target["id"]})  # fmt: skip
    accruing = loan["charged_off_on"] is None and not is_non_performing(loan["days_past_due"])
    connection.execute(update(loan_t).where(loan_t.c.id == loan_id).values(status="active", accruing=accruing))
    return Undone(reversal, get_loan(connection, loan_id))


def _reverse_event(connection: Connection, loan: Row, what: str, target: Row, why: str, *, user_id: int,
                   now: datetime, undo_table, undone: Row) -> int:  # fmt: skip
    """Reverse the entry of a loan event (`target`) on its own date and record why, append-only,
    in `undo_table` (`undone` names the event there): the reversal entry's id."""
    reversal = journal.reverse_entry(connection, entry_id=target["entry_id"], effective_date=None,
                                     description=f"Loan {loan['id']}: {what} {target['id']} undone",
                                     recorded_by=user_id, recorded_at=now)  # fmt: skip
    connection.execute(insert(undo_table).values(
        **undone, book_id=loan["book_id"], loan_id=loan["id"], reversal_entry_id=reversal, reason=why,
        recorded_at=now, recorded_by=user_id,
    ))  # fmt: skip
    return reversal
