"""The monthly remittance (issue 18, item 4): an organisation pays CODI its instalment in one
combined payment, one operation across two books.

CODI's side is a repayment of the organisation's loan through `store.loans.repay`, with CODI's
usual allocation; the organisation's side is that repayment's mirror (`store.tier_mirror`):
Dr 2300-<loan> (principal), Dr 2310-<loan> (the interest and penalty CODI had accrued),
Dr 5100 (interest it had not) / Cr 1100, derived from CODI's own postings, so both books agree to
the satang. Both are written in the caller's one transaction, or neither; the `remittance` row
links them (its id is the operation's, beside the one audit record naming both entries).

What of a payment came from the reserve (`from_reserve`) is released from it into the surplus
that bears the cost: Dr 3200 reserve / Cr 3300 accumulated surplus. The cash leaves 1100 as any
payment's does; the reserve is an appropriation of surplus, and using it hands it back.

A month's figures (`month_of`): CODI's instalments due in it, what members repaid the
organisation in it (its book's member loans), the shortfall, what was remitted and how much came
from the reserve and from the margin (the organisation's own surplus: paid beyond what members
paid and the reserve), and what is left in arrears with CODI at the month's end.
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ledger.accounts import EntryDraft, Posting
from ledger.errors import LedgerError, Rejection
from ledger.loan_book import TxKind
from store import books, entry_content, journal, loans, tier_mirror, tiers
from store.tables import Remittance

Row = dict[str, Any]
remittance_t = Remittance.__table__


@dataclass(frozen=True)
class RemittanceAsked:
    codi_loan_id: int
    month_start: date
    on: date
    amount_satang: int
    from_reserve_satang: int = 0


def remit(connection: Connection, organisation_id: int, asked: RemittanceAsked, *, today: date, user_id: int,
          now: datetime) -> Row:  # fmt: skip
    """Record the remittance: CODI's repayment, the organisation's side, the reserve released."""
    book = tiers.organisation_book(connection, organisation_id)
    loan = codi_loan(connection, organisation_id, asked.codi_loan_id)
    _check(asked)
    _check_mirrored(connection, loan)
    preview = loans.preview_repayment(connection, loan["id"], amount_satang=asked.amount_satang, on=asked.on,
                                      today=today)  # fmt: skip
    if preview.allocation.overpayment_satang:
        due = asked.amount_satang - preview.allocation.overpayment_satang
        raise LedgerError(Rejection.remittance_exceeds_due, f"CODI's loan {loan['id']} takes at most {due} satang")
    began = entry_content.mark(connection)
    recorded = loans.repay(connection, loan["id"], amount_satang=asked.amount_satang, on=asked.on, today=today,
                           user_id=user_id, now=now)  # fmt: skip
    org_entry_id = _mirror_of(connection, book["id"], recorded.entry_id, entry_content.written_since(connection, began,
                                                                                                       named=[]))
    reserve_entry_id = _release_reserve(connection, book["id"], asked, loan["id"], user_id, now)
    tx = recorded.transaction
    values = {
        "organisation_party_id": organisation_id, "book_id": book["id"], "codi_loan_id": loan["id"],
        "month_start": asked.month_start, "effective_date": asked.on, "amount_satang": asked.amount_satang,
        "principal_satang": tx["principal_satang"], "interest_satang": tx["interest_satang"],
        "penalty_satang": tx["penalty_satang"], "from_reserve_satang": asked.from_reserve_satang,
        "loan_tx_id": tx["id"], "codi_entry_id": recorded.entry_id, "org_entry_id": org_entry_id,
        "reserve_entry_id": reserve_entry_id, "recorded_at": now, "recorded_by": user_id,
    }  # fmt: skip
    remittance_id = connection.execute(insert(remittance_t).values(**values)).inserted_primary_key[0]
    return {**values, "id": remittance_id, "more_entry_ids": recorded.more_entry_ids}


def codi_loan(connection: Connection, organisation_id: int, loan_id: int) -> Row:
    """CODI's loan `loan_id` (404 if none), refused unless it is to this organisation from a fund book."""
    loan = loans.get_loan(connection, loan_id)
    if loan["borrower_party_id"] != organisation_id or books.get_book(connection, loan["book_id"])["kind"] != "fund":
        raise LedgerError(Rejection.loan_not_of_organisation,
                          f"loan {loan_id} is not CODI's loan to organisation {organisation_id}")  # fmt: skip
    return loan


def _check(asked: RemittanceAsked) -> None:
    if asked.amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a remittance must be more than zero")
    if asked.on.replace(day=1) != asked.month_start:
        raise LedgerError(Rejection.remittance_month_mismatch,
                          f"{asked.on} is not in {asked.month_start:%Y-%m}, the month the remittance is for")
    if not 0 <= asked.from_reserve_satang <= asked.amount_satang:
        raise LedgerError(Rejection.reserve_exceeds_remittance,
                          "what comes from the reserve is between zero and the amount paid")  # fmt: skip


def _check_mirrored(connection: Connection, loan: Row) -> None:
    if loan["id"] not in tier_mirror.mirror_targets(connection, [loan]):
        raise LedgerError(Rejection.loan_not_mirrored,
                          f"the organisation's book holds no {tier_mirror.payable_code('principal', loan['id'])}: "
                          "the loan was disbursed before the book was opened")  # fmt: skip


def _mirror_of(connection: Connection, book_id: int, codi_entry_id: int, written: list[int]) -> int:
    """The organisation's side of CODI's entry, among the entries the transaction `written`."""
    return next(e["id"] for e in journal.get_entries(connection, written)
                if e["book_id"] == book_id and e["dimensions"].get("codi_entry_id") == str(codi_entry_id))  # fmt: skip


def _release_reserve(connection: Connection, book_id: int, asked: RemittanceAsked, loan_id: int, user_id: int,
                     now: datetime) -> int | None:  # fmt: skip
    if not asked.from_reserve_satang:
        return None
    chart = dict(connection.execute(select(books.account_t.c.code, books.account_t.c.id).where(
        books.account_t.c.book_id == book_id, books.account_t.c.code.in_(("3200", "3300")))).all())  # fmt: skip
    satang = asked.from_reserve_satang
    draft = EntryDraft(book_id=book_id, effective_date=asked.on, kind="codi.remittance.reserve",
                       description=f"Reserve released to cover the remittance on CODI's loan {loan_id}",
                       postings=(Posting(chart["3200"], satang), Posting(chart["3300"], -satang)),
                       dimensions={"codi_loan_id": str(loan_id)})  # fmt: skip
    return journal.record_entry(connection, draft, recorded_by=user_id, recorded_at=now)


# --- a month's figures ---------------------------------------------------------------------------


def month_of(connection: Connection, organisation_id: int, month_start: date) -> Row:
    """The organisation's month with CODI: per CODI loan and in total (see the module's docstring)."""
    book = tiers.organisation_book(connection, organisation_id)
    last = month_start.replace(day=monthrange(month_start.year, month_start.month)[1])
    lines = [_loan_month(connection, loan, month_start, last) for loan in _codi_loans(connection, organisation_id)]
    due = sum(line["due_satang"] for line in lines)
    collected = _collected(connection, book["id"], month_start, last)
    remitted = sum(line["remitted_satang"] for line in lines)
    reserve = sum(line["from_reserve_satang"] for line in lines)
    return {"organisation_id": organisation_id, "month_start": month_start, "due_satang": due,
            "collected_satang": collected, "shortfall_satang": max(0, due - collected), "remitted_satang": remitted,
            "from_reserve_satang": reserve, "from_margin_satang": max(0, remitted - collected - reserve),
            "arrears_satang": sum(line["arrears_satang"] for line in lines), "loans": lines}  # fmt: skip


def _codi_loans(connection: Connection, organisation_id: int) -> list[Row]:
    lender = books.book_t
    query = (select(loans.loan_t).join(lender, lender.c.id == loans.loan_t.c.book_id)
             .where(loans.loan_t.c.borrower_party_id == organisation_id, lender.c.kind == "fund",
                    loans.loan_t.c.receivable_account_id.is_not(None)).order_by(loans.loan_t.c.id))  # fmt: skip
    return [dict(r) for r in connection.execute(query).mappings()]


def _loan_month(connection: Connection, loan: Row, first: date, last: date) -> Row:
    current = loans.state(connection, loan, last)
    due = sum(i.principal_satang + i.interest_satang for i in current.plan.instalments if first <= i.due_on <= last)
    r = remittance_t.c
    counted = r.loan_tx_id.not_in(select(loans.undo_t.c.original_tx_id))  # a remittance taken back no longer counts
    query = select(func.coalesce(func.sum(r.amount_satang), 0), func.coalesce(func.sum(r.from_reserve_satang), 0)) \
        .where(r.codi_loan_id == loan["id"], r.month_start == first, counted)  # fmt: skip
    remitted, reserve = connection.execute(query).one()
    return {"codi_loan_id": loan["id"], "due_satang": due, "remitted_satang": int(remitted),
            "from_reserve_satang": int(reserve), "arrears_satang": current.figures(last).due_satang}  # fmt: skip


def _collected(connection: Connection, book_id: int, first: date, last: date) -> int:
    """What members repaid the organisation in the month: its book's live member loan repayments."""
    c = loans.loan_tx_t.c
    query = select(func.coalesce(func.sum(c.amount_satang), 0)).where(
        c.book_id == book_id, c.kind == TxKind.repayment.value, c.effective_date.between(first, last), loans.LIVE_TX
    )
    return int(connection.execute(query).scalar_one())
