"""Reconciliation across tiers (issue 18, item 6): for every organisation that keeps an
organisation book and owes CODI, CODI's receivable from it against the organisation's payable to
CODI, principal and interest apart.

CODI's side comes from its loans' live transactions (`store.loans.sums_of`, what its receivable
sub-accounts and interest receivable hold for each loan): the principal outstanding, and the
interest and penalty accrued and not received. What CODI wrote off is added back, because a
write-off does not release the debt and is not mirrored (`store.tier_mirror`): the organisation
still owes it. The organisation's side is its book's 2300 and 2310, control account and every
sub-account together, so an entry made by hand on either shows as a difference.
"""

from typing import Any

from sqlalchemy import Connection, func, or_, select

from ledger.loan_book import Totals
from store import books, loans
from store.tier_mirror import PAYABLES, organisation_books

Row = dict[str, Any]


def reconciliation(connection: Connection) -> list[Row]:
    """One line per organisation, by party id: CODI's receivable and interest receivable from it,
    its payables to CODI, the differences, and whether any differs (`differs`)."""
    by_party = _codi_loans_by_party(connection)
    owners = organisation_books(connection, set(by_party))
    sums = loans.sums_of(connection, [i for p in owners for i in by_party[p]])
    return [_line(connection, party, owners[party], [sums.get(i, Totals()) for i in by_party[party]])
            for party in sorted(owners)]  # fmt: skip


def _codi_loans_by_party(connection: Connection) -> dict[int, list[int]]:
    """The disbursed loans of fund books, by borrower."""
    loan, lender = loans.loan_t.c, books.book_t
    query = (select(loan.borrower_party_id, loan.id).join(lender, lender.c.id == loan.book_id)
             .where(lender.c.kind == "fund", loan.receivable_account_id.is_not(None)).order_by(loan.id))  # fmt: skip
    by_party: dict[int, list[int]] = {}
    for party, loan_id in connection.execute(query):
        by_party.setdefault(party, []).append(loan_id)
    return by_party


def _line(connection: Connection, party: int, book_id: int, sums: list[Totals]) -> Row:
    principal = sum(t.outstanding_satang + t.principal_written_off_satang for t in sums)
    interest = sum(t.interest_receivable_satang + t.penalty_receivable_satang + t.interest_written_off_satang
                   + t.penalty_written_off_satang for t in sums)  # fmt: skip
    payable, interest_payable = (_payable(connection, book_id, PAYABLES[part][0]) for part in ("principal", "interest"))
    line = {"organisation_id": party, "book_id": book_id, "codi_principal_satang": principal,
            "org_principal_satang": payable, "principal_difference_satang": principal - payable,
            "codi_interest_satang": interest, "org_interest_satang": interest_payable,
            "interest_difference_satang": interest - interest_payable,
            "written_off": any(t.principal_written_off_satang for t in sums)}  # fmt: skip
    return {**line, "differs": bool(line["principal_difference_satang"] or line["interest_difference_satang"])}


def _payable(connection: Connection, book_id: int, control: str) -> int:
    """The credit balance of the control account `control` and its sub-accounts in the book."""
    a, b = books.account_t.c, books.balance_t.c
    query = select(func.coalesce(func.sum(b.balance_satang), 0)).select_from(books.account_t.join(books.balance_t)) \
        .where(a.book_id == book_id, or_(a.code == control, a.code.startswith(f"{control}-", autoescape=True)))
    return -int(connection.execute(query).scalar_one())
