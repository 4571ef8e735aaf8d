"""On-lending to members in the database (issue 18, item 3): an organisation lends to its members
in its own book with the same loan engine (`store.loans`), which asks this module what a member
loan's application must meet beyond a CODI loan's:

- the borrower is a member of the organisation that owns the book (TIERS.md convention 3);
- the loan is lent out of CODI's loan to that organisation (`funded_by_loan_id`: a loan in a
  fund book whose borrower is the organisation), or out of its own funds (none);
- the organisation's own lending rule (`organisation_lending_rule`, `ledger.onlend.LendingRule`):
  at most a multiple of the member's savings in the book (convention 2: the balance of the
  member's account `2200-<member id>`, none: 0), at most a maximum amount, and enough guarantors
  among its other members.

A member guarantor is kept with the loan's other guarantors, by party id and name.
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, insert, select, update

from ledger.charts import BookKind
from ledger.errors import LedgerError, Rejection
from ledger.onlend import LendingRule, MemberApplication, rule_refusal
from ledger.parties import PartyKind
from store import books
from store.books import Row
from store.tables import Loan, OrganisationLendingRule
from store.tiers import organisation_book

rule_t = OrganisationLendingRule.__table__
loan_t = Loan.__table__
SAVINGS_CONTROL_CODE = "2200"  # members' savings: a sub-account per member (TIERS.md convention 2)
MEMBER_FIELDS = ("funded_by_loan_id", "guarantor_member_ids")  # what only a member loan's application names


def is_organisation_book(book: Row) -> bool:
    return book["kind"] == BookKind.organisation


# --- applications ------------------------------------------------------------------------------


def member_application(connection: Connection, book: Row, borrower: Row, fields_: Row) -> Row:
    """Check a member loan's application in an organisation's `book`; what the loan row keeps of
    it beyond a CODI loan's: its funding loan and its guarantors, member guarantors among them."""
    organisation_id = book["party_id"]
    if borrower["kind"] != PartyKind.member or borrower["member_of"] != organisation_id:
        raise LedgerError(Rejection.ineligible_borrower,
                          f"an organisation's book lends to the organisation's own members, not to party "
                          f"{borrower['id']}")  # fmt: skip
    funding = fields_.get("funded_by_loan_id")
    if funding is not None:
        check_funding_loan(connection, funding, organisation_id)
    guarantors = member_guarantors(connection, fields_.get("guarantor_member_ids") or [], borrower)
    rule = lending_rule(connection, organisation_id)
    if rule is not None:
        savings = member_savings_satang(connection, book["id"], borrower["id"])
        refusal = rule_refusal(rule, MemberApplication(fields_["amount_satang"], savings, len(guarantors)))
        if refusal is not None:
            raise refusal
    return {"funded_by_loan_id": funding, "guarantors": [*fields_.get("guarantors", []), *guarantors]}


def refuse_member_fields(fields_: Row) -> None:
    """A CODI loan (not in an organisation's book) names no funding loan nor member guarantors."""
    named = [name for name in MEMBER_FIELDS if fields_.get(name)]
    if named:
        raise LedgerError(Rejection.invalid_request, f"{', '.join(named)}: only for a loan to a member")


def check_funding_loan(connection: Connection, loan_id: int, organisation_id: int) -> None:
    """`loan_id` is a loan CODI made to the organisation: in a fund book, the organisation its borrower."""
    query = select(loan_t.c.borrower_party_id, books.book_t.c.kind).join(
        books.book_t, books.book_t.c.id == loan_t.c.book_id
    ).where(loan_t.c.id == loan_id)
    row = connection.execute(query).first()
    if row is None or row.kind != BookKind.fund or row.borrower_party_id != organisation_id:
        raise LedgerError(Rejection.invalid_funding_loan,
                          f"loan {loan_id} is not a loan of CODI's fund to organisation {organisation_id}")  # fmt: skip


def member_guarantors(connection: Connection, member_ids: list[int], borrower: Row) -> list[Row]:
    """The guarantors named by party id: each once, each a member of the borrower's organisation
    other than the borrower; as guarantor entries (name, party id, relationship `member`)."""
    if len(set(member_ids)) != len(member_ids):
        raise LedgerError(Rejection.invalid_request, "a guarantor is named more than once")
    party = books.party_t.c
    query = select(party.id, party.name_th).where(party.id.in_(member_ids), party.member_of == borrower["member_of"],
                                                  party.id != borrower["id"])  # fmt: skip
    found = dict(connection.execute(query).all()) if member_ids else {}
    strangers = [str(i) for i in member_ids if i not in found]
    if strangers:
        raise LedgerError(Rejection.guarantor_not_member,
                          f"parties {', '.join(strangers)} are not other members of the borrower's organisation")
    return [{"name": found[i], "party_id": i, "relationship": "member"} for i in member_ids]


def member_savings_satang(connection: Connection, book_id: int, member_id: int) -> int:
    """The member's savings in the organisation's book: what its savings account owes the
    member (a liability: its balance, signed debit-positive, turned round); 0 without one."""
    a, balance = books.account_t.c, books.balance_t.c
    query = select(balance.balance_satang).join(books.account_t, a.id == balance.account_id).where(
        a.book_id == book_id, a.code == f"{SAVINGS_CONTROL_CODE}-{member_id}"
    )
    return -(connection.execute(query).scalar_one_or_none() or 0)


# --- the organisation's lending rule ----------------------------------------------------------


def _rule_row(connection: Connection, organisation_id: int) -> Row | None:
    row = connection.execute(select(rule_t).where(rule_t.c.organisation_id == organisation_id)).mappings().first()
    return None if row is None else dict(row)


def lending_rule(connection: Connection, organisation_id: int) -> LendingRule | None:
    """The organisation's rule, None if it set none."""
    row = _rule_row(connection, organisation_id)
    if row is None:
        return None
    multiple = None if row["savings_multiple"] is None else Decimal(row["savings_multiple"])
    return LendingRule(multiple, row["maximum_loan_satang"], row["guarantors_required"])


def get_rule_row(connection: Connection, organisation_id: int) -> Row:
    """The organisation's rule as stored (404 if none set)."""
    row = _rule_row(connection, organisation_id)
    if row is None:
        raise books.not_found("lending rule of organisation", organisation_id)
    return row


def set_rule(connection: Connection, organisation_id: int, rule: LendingRule, *, user_id: int, now: datetime) -> Row:
    """Set (or replace) the rule of an organisation that has its own book."""
    organisation_book(connection, organisation_id)
    values = {"savings_multiple": None if rule.savings_multiple is None else str(rule.savings_multiple),
              "maximum_loan_satang": rule.maximum_loan_satang, "guarantors_required": rule.guarantors_required,
              "updated_at": now, "updated_by": user_id}  # fmt: skip
    changed = connection.execute(update(rule_t).where(rule_t.c.organisation_id == organisation_id).values(**values))
    if changed.rowcount == 0:
        connection.execute(insert(rule_t).values(organisation_id=organisation_id, **values))
    return get_rule_row(connection, organisation_id)
