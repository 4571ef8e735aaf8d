"""The organisation's side of CODI's loans to it (issue 18, TIERS.md convention 4).

When an entry of a CODI loan (a loan in a fund book) to an organisation that keeps an organisation
book moves CODI's receivable, the same transaction records the matching payable in that book.
The organisation's entry is derived from CODI's postings, account by account, signs turned round:

    CODI's account                                  the organisation's account
    the loan's receivable sub-account (principal)   2300-<loan id>  loan payable to CODI
    interest receivable, penalty receivable         2310-<loan id>  interest payable to CODI
    cash                                            1100 cash
    any other (interest and penalty income,         5100 interest expense to CODI, which balances
      overpayments)                                      the entry

so a disbursement is Dr 1100 / Cr 2300-L; an accrual or a penalty (close of business) Dr 5100 /
Cr 2310-L, an accrual reversal the opposite; a repayment Dr 2300-L (principal), Dr 2310-L (the
interest and penalty CODI had accrued), Dr 5100 (interest CODI had not accrued) / Cr 1100; the
reversal of a repayment (re-allocated after a backdated one, or taken back) the mirror of the
reversing entry: the opposite of the repayment's. An overpayment to CODI lands in 5100 and its
refund leaves it again (the organisation chart has no account for money CODI holds for it).

Not mirrored: a write-off, its undo and a recovery. Writing a loan off is CODI's estimate of what
it will collect, not a release of the debt: the organisation still owes it in law (CODI recovers
it). A charge-off moves no receivable. The reconciliation (`store.tier_reconciliation`) lists a
loan with a write-off apart.

A loan is mirrored when the organisation's book holds its payable sub-account, which its first
disbursement opens: a loan disbursed before the organisation's book existed is not mirrored until
someone opens `2300-<loan id>` with its opening balance by hand (the reconciliation shows it).

The organisation's entry names CODI's entry (dimension `codi_entry_id`) and loan (`codi_loan_id`),
and is written by the same request: one audit record names both entries (the operation).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from ledger.accounts import EntryDraft, Posting
from store import books, journal
from store.books import account_t, book_t
from store.rows import one_of

Row = dict[str, Any]

# CODI's entries that leave the organisation's payable as it is (see the module's docstring).
UNMIRRORED_KINDS = frozenset({"loan.write_off", "loan.recovery", "loan.charge_off"})
INTEREST_ROLES = ("interest_receivable", "penalty_receivable")
# The loan engine's roles that are not the loan's own receivable sub-account.
ROLE_NAMES = ("cash", "receivable", "interest_receivable", "penalty_receivable", "interest_income", "penalty_income",
              "overpayments", "allowance", "write_off_expense", "recovery_income")  # fmt: skip
PAYABLES = {"principal": ("2300", "เงินกู้ยืมจาก พอช. สัญญาที่", "Loan payable to CODI, loan"),
            "interest": ("2310", "ดอกเบี้ยค้างจ่าย พอช. สัญญาที่", "Interest payable to CODI, loan")}  # fmt: skip


@dataclass(frozen=True)
class Move:
    """What CODI's entry did to one loan, in CODI's signs (a debit positive)."""

    loan: Row
    principal_satang: int = 0  # the loan's receivable sub-account
    interest_satang: int = 0  # interest and penalty receivable
    cash_satang: int = 0


def payable_code(part: str, loan_id: int) -> str:
    return f"{PAYABLES[part][0]}-{loan_id}"


def mirror_targets(connection: Connection, loans: Sequence[Row]) -> dict[int, Row]:
    """The organisation book each mirrored loan's side goes to, by loan id: CODI's loans (in a
    fund book) whose borrower keeps an organisation book holding the loan's payable sub-account,
    or that were never disbursed (their first disbursement opens it)."""
    lenders = _fund_books(connection, {loan["book_id"] for loan in loans})
    owners = organisation_books(connection, {loan["borrower_party_id"] for loan in loans if loan["book_id"] in lenders})
    candidates = [loan for loan in loans if loan["book_id"] in lenders and loan["borrower_party_id"] in owners]
    opened = _opened_payables(connection, candidates, owners)
    return {
        loan["id"]: {"book_id": owners[loan["borrower_party_id"]], "lender_party_id": lenders[loan["book_id"]]}
        for loan in candidates if loan["receivable_account_id"] is None or loan["id"] in opened
    }  # fmt: skip


def _fund_books(connection: Connection, book_ids: set[int]) -> dict[int, int | None]:
    funds = and_(book_t.c.kind == "fund", one_of(connection, book_t.c.id, sorted(book_ids)))
    query = select(book_t.c.id, book_t.c.party_id).where(funds)
    return dict(connection.execute(query).all()) if book_ids else {}


def organisation_books(connection: Connection, party_ids: set[int]) -> dict[int, int]:
    """Each party's organisation book (the lowest id: `store.tiers.organisation_book`)."""
    query = (select(book_t.c.party_id, func.min(book_t.c.id))
             .where(book_t.c.kind == "organisation", one_of(connection, book_t.c.party_id, sorted(party_ids)))
             .group_by(book_t.c.party_id))  # fmt: skip
    return dict(connection.execute(query).all()) if party_ids else {}


def _opened_payables(connection: Connection, loans: list[Row], owners: dict[int, int]) -> set[int]:
    if not loans:
        return set()
    codes = {payable_code("principal", loan["id"]): loan["id"] for loan in loans}
    query = select(account_t.c.code).where(one_of(connection, account_t.c.book_id, sorted(set(owners.values()))),
                                           one_of(connection, account_t.c.code, sorted(codes)))  # fmt: skip
    return {codes[code] for code in connection.execute(query).scalars()}


def mirror_entry(connection: Connection, target: Row, loan: Row, entry_id: int, roles: Mapping[str, int], *,
                 user_id: int, now: datetime) -> None:  # fmt: skip
    """Record in `target` (`mirror_targets`) the organisation's side of CODI's entry `entry_id` of
    `loan`, whose product posts to the accounts `roles`."""
    [entry] = journal.get_entries(connection, [entry_id])
    if entry["kind"] in UNMIRRORED_KINDS:
        return
    move = _move_of(loan, entry["postings"], roles)
    dimensions = {"codi_loan_id": str(loan["id"]), "codi_entry_id": str(entry_id)}
    post_mirror(connection, target, [move], on=entry["effective_date"], kind=entry["kind"],
                description=f"CODI {entry['description']}", dimensions=dimensions, user_id=user_id, now=now)


def _move_of(loan: Row, postings: list[Row], roles: Mapping[str, int]) -> Move:
    interest = {roles[r] for r in INTEREST_ROLES if r in roles}
    others = {roles[r] for r in ROLE_NAMES if r in roles}

    def total(accounts) -> int:
        return sum(p["amount_satang"] for p in postings if p["account_id"] in accounts)

    own = {p["account_id"] for p in postings} - others  # the loan's receivable sub-account
    return Move(loan, total(own), total(interest), total({roles["cash"]}))


def post_mirror(connection: Connection, target: Row, moves: Sequence[Move], *, on: date, kind: str, description: str,
                dimensions: dict[str, str], user_id: int, now: datetime) -> int | None:  # fmt: skip
    """One entry in the organisation's book for CODI's `moves` (see the module's docstring); its id,
    or None when they move nothing there."""
    chart = _chart(connection, target["book_id"])
    amounts: dict[int, int] = {}
    for move in moves:
        for account_id, satang in _postings(connection, target, chart, move, now):
            amounts[account_id] = amounts.get(account_id, 0) + satang
    postings = tuple(Posting(a, x) for a, x in sorted(amounts.items()) if x)
    if not postings:
        return None
    draft = EntryDraft(book_id=target["book_id"], effective_date=on, kind=f"codi.{kind}"[:40],
                       description=description[:500], postings=postings, dimensions=dimensions)  # fmt: skip
    return journal.record_entry(connection, draft, recorded_by=user_id, recorded_at=now)


def _postings(connection: Connection, target: Row, chart: dict[str, int], move: Move, now: datetime):
    parts = {"principal": move.principal_satang, "interest": move.interest_satang}
    for part, satang in parts.items():
        if satang:
            yield _payable(connection, target, chart, part, move.loan["id"], now), -satang
    yield chart["1100"], -move.cash_satang
    yield chart["5100"], move.principal_satang + move.interest_satang + move.cash_satang


def _chart(connection: Connection, book_id: int) -> dict[str, int]:
    query = select(account_t.c.code, account_t.c.id).where(account_t.c.book_id == book_id,
                                                           account_t.c.code.in_(("1100", "2300", "2310", "5100")))
    return dict(connection.execute(query).all())


def _payable(connection: Connection, target: Row, chart: dict[str, int], part: str, loan_id: int,
             now: datetime) -> int:  # fmt: skip
    """The loan's payable sub-account of `part` in the organisation's book, opened on first use."""
    code = payable_code(part, loan_id)
    query = select(account_t.c.id).where(account_t.c.book_id == target["book_id"], account_t.c.code == code)
    found = connection.execute(query).scalar()
    if found is not None:
        return found
    control, name_th, name_en = PAYABLES[part]
    return books.create_account(connection, {
        "book_id": target["book_id"], "code": code, "name_th": f"{name_th} {loan_id}",
        "name_en": f"{name_en} {loan_id}", "type": "liability", "balance_rule": "credit_or_zero",
        "parent_id": chart[control], "party_id": target["lender_party_id"],
    }, now=now)["id"]  # fmt: skip
