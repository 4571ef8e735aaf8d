"""Members' savings (สัจจะสะสมทรัพย์) in an organisation's book: its rule, deposits and withdrawals
(one by one, or a month's deposits at once), the year's interest, and the reads.

A member's savings are the sub-account `2200-<member id>` of the book's members' savings (2200),
carrying the member, opened on the member's first deposit (TIERS.md, convention 2). A deposit is
Dr cash 1100 / Cr the member's 2200 sub-account; a withdrawal the reverse; the year's interest is
Dr 5150 / Cr each member's sub-account. A balance here is what the member has saved, positive (the
ledger keeps a liability as a credit, negative).

Several movements recorded together are one operation: each member's balance rows are locked (in
the journal's order) before the rule is checked, and every entry is written, or none.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ledger.calendar import fiscal_year_bounds
from ledger.charts import BookKind
from ledger.errors import LedgerError, Rejection
from ledger.parties import PartyKind
from ledger.savings import SavingsRule, check_rule, check_withdrawal, interest_satang
from store import books, journal
from store.rows import one_of
from store.tables import Loan, SavingsInterest
from store.tables import SavingsRule as RuleRow
from store.tiers import organisation_book
from store.welfare import Accounts, _draft, _lock, _record_together

rule_t, interest_t, loan_t = RuleRow.__table__, SavingsInterest.__table__, Loan.__table__
account_t, balance_t, party_t = books.account_t, books.balance_t, books.party_t
Row = dict[str, Any]
SAVINGS, CASH, INTEREST_EXPENSE = "2200", "1100", "5150"
CREDITS_PER_ENTRY = 199  # an entry has at most 200 postings: one debit and the members' credits
SETTLED_STATUSES = ("closed", "written_off")


class BadLines(LedgerError):
    """An all-or-nothing list with refused lines: `errors` names each (line, reason, detail), in
    the order of the lines, from the (line number, refusal) pairs given."""

    def __init__(self, refused: list[tuple[int, LedgerError]]) -> None:
        in_order = sorted(refused, key=lambda pair: pair[0])
        self.errors = [{"line": n, "reason": str(e.reason), "detail": e.detail} for n, e in in_order]
        super().__init__(Rejection.bad_lines, f"{len(refused)} line(s) refused; nothing was recorded")


@dataclass(frozen=True)
class Movement:
    """A member's deposit (amount > 0) or withdrawal (amount < 0)."""

    member_id: int
    amount_satang: int
    on: date
    number: int = 0  # the line it came from, in a list (0: number them 1, 2, ... in order)


# --- the rule ----------------------------------------------------------------------------------


def rule_of(connection: Connection, organisation_id: int) -> SavingsRule:
    row = connection.execute(select(rule_t).where(rule_t.c.organisation_party_id == organisation_id)).mappings().first()
    if row is None:
        return SavingsRule()
    return SavingsRule(row["minimum_satang"], row["withdraw_in_arrears"], row["monthly_deposit_satang"],
                       Decimal(row["rate_percent"]))  # fmt: skip


def set_rule(connection: Connection, organisation_id: int, rule: SavingsRule, *, user_id: int, now: datetime) -> None:
    check_rule(rule)
    organisation_book(connection, organisation_id)
    _lock_party(connection, organisation_id)
    values = {"minimum_satang": rule.minimum_satang, "withdraw_in_arrears": rule.withdraw_in_arrears,
              "monthly_deposit_satang": rule.monthly_deposit_satang, "rate_percent": str(rule.rate_percent),
              "updated_at": now, "updated_by": user_id}  # fmt: skip
    where = rule_t.c.organisation_party_id == organisation_id
    if connection.execute(update(rule_t).where(where).values(**values)).rowcount == 0:
        connection.execute(insert(rule_t).values(organisation_party_id=organisation_id, **values))


def _lock_party(connection: Connection, party_id: int) -> None:
    """One writer of an organisation's rule and year's interest at a time (the party row is the lock)."""
    connection.execute(select(party_t.c.id).where(party_t.c.id == party_id).with_for_update())


# --- members and their balances ----------------------------------------------------------------


def members_of(connection: Connection, organisation_id: int, member_ids: Iterable[int]) -> dict[int, Row]:
    """The parties among `member_ids` that are members of the organisation."""
    query = select(party_t).where(
        one_of(connection, party_t.c.id, sorted(set(member_ids))), party_t.c.kind == PartyKind.member.value,
        party_t.c.member_of == organisation_id,
    )  # fmt: skip
    return {row["id"]: dict(row) for row in connection.execute(query).mappings()}


def member(connection: Connection, organisation_id: int, member_id: int) -> Row:
    found = members_of(connection, organisation_id, [member_id]).get(member_id)
    if found is None:
        raise LedgerError(Rejection.not_a_member, f"party {member_id} is not a member of this organisation")
    return found


def _control_id(connection: Connection, book_id: int) -> int:
    query = select(account_t.c.id).where(account_t.c.book_id == book_id, account_t.c.code == SAVINGS)
    return connection.execute(query).scalar_one()


def savings_accounts(connection: Connection, book_id: int) -> dict[int, int]:
    """Member id -> the member's savings account, for the members who have one."""
    control = _control_id(connection, book_id)
    query = select(account_t.c.party_id, account_t.c.id).where(account_t.c.parent_id == control)
    return dict(connection.execute(query).all())


def _balances(connection: Connection, book_id: int, account_ids: Sequence[int], as_of: date | None) -> dict[int, int]:
    """The accounts' balances (the ledger's sign), now or at the end of `as_of`."""
    if as_of is not None:
        return journal.balances_as_of(connection, book_id, as_of, account_ids)
    query = select(balance_t.c.account_id, balance_t.c.balance_satang).where(
        one_of(connection, balance_t.c.account_id, sorted(account_ids)))
    return dict(connection.execute(query).all())


def balances(connection: Connection, book_id: int, as_of: date | None = None) -> dict[int, int]:
    """Member id -> savings (satang, positive), now or at the end of `as_of`."""
    accounts = savings_accounts(connection, book_id)
    by_account = _balances(connection, book_id, list(accounts.values()), as_of) if accounts else {}
    return {member_id: -by_account.get(account_id, 0) for member_id, account_id in accounts.items()}


def organisation_savings(connection: Connection, organisation_id: int, as_of: date | None = None) -> int:
    """The organisation's members' savings (the 2200 control with its sub-accounts), now or at the
    end of `as_of`."""
    book_id = organisation_book(connection, organisation_id)["id"]
    ids = [_control_id(connection, book_id), *savings_accounts(connection, book_id).values()]
    return -sum(_balances(connection, book_id, ids, as_of).values())


def book_savings(connection: Connection, *, lender_book_id: int, borrower_id: int, on: date) -> int | None:
    """What a CODI loan's savings check reads: the borrowing organisation's members' savings in its
    own book at the end of `on`, for a loan from a fund book to an organisation that keeps one;
    None when the borrower keeps no book here (the typed figure stands)."""
    if books.get_book(connection, lender_book_id)["kind"] != BookKind.fund.value:
        return None
    try:
        return organisation_savings(connection, borrower_id, on)
    except LedgerError as error:
        if error.reason != Rejection.not_found:
            raise
        return None


def statement(connection: Connection, book_id: int, member_id: int, date_from: date, date_to: date) -> tuple[int, list]:
    """A member's savings from `date_from` to `date_to`: the opening balance and each line
    (`ledger.reports.StatementLine`), amounts and balances as the member's (a deposit positive);
    none for a member without a savings account."""
    account_id = savings_accounts(connection, book_id).get(member_id)
    if account_id is None:
        return 0, []
    result = journal.account_statement(connection, books.get_account(connection, account_id), date_from, date_to)
    lines = [line._replace(amount_satang=-line.amount_satang, running_balance_satang=-line.running_balance_satang)
             for line in result.lines]  # fmt: skip
    return -result.opening_balance_satang, lines


def in_arrears(connection: Connection, book_id: int, member_ids: Iterable[int]) -> set[int]:
    """The members with a loan in the book past due and neither closed nor written off."""
    query = select(loan_t.c.borrower_party_id).where(
        loan_t.c.book_id == book_id, one_of(connection, loan_t.c.borrower_party_id, sorted(set(member_ids))),
        loan_t.c.days_past_due > 0, loan_t.c.status.notin_(SETTLED_STATUSES),
    )  # fmt: skip
    return set(connection.execute(query).scalars())


# --- deposits and withdrawals ------------------------------------------------------------------


def record(connection: Connection, organisation_id: int, movements: Sequence[Movement], *, user_id: int,
           now: datetime, bulk: bool = False) -> list[int]:  # fmt: skip
    """Record the movements in order, all or none; the entries' ids. The first refusal is raised;
    in `bulk` (a month's deposits: each amount positive), `BadLines` names every refused line."""
    book = organisation_book(connection, organisation_id)
    members = members_of(connection, organisation_id, [m.member_id for m in movements])
    accounts = Accounts(connection, [book["id"]], now)
    errors: list[tuple[int, LedgerError]] = []
    drafts = []
    for number, movement in enumerate(movements, 1):
        try:
            if bulk and movement.amount_satang < 0:
                raise LedgerError(Rejection.amount_must_be_positive, "a deposit must be more than zero")
            drafts.append(_movement_draft(book, accounts, members.get(movement.member_id), movement))
        except LedgerError as error:
            errors.append((movement.number or number, error))
    _check_withdrawals(connection, book, accounts, members, movements, errors)
    _raise(errors, bulk)
    return _record_together(connection, drafts, user_id, now)


def _movement_draft(book: Row, accounts: Accounts, member_row: Row | None, movement: Movement):
    if member_row is None:
        raise LedgerError(Rejection.not_a_member, f"party {movement.member_id} is not a member of this organisation")
    if movement.amount_satang == 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a deposit or withdrawal must be more than zero")
    savings = accounts.of_party(book, SAVINGS, member_row, "")
    kind, what = ("savings.deposit", "Deposit") if movement.amount_satang > 0 else ("savings.withdrawal", "Withdrawal")
    lines = [(accounts(book, CASH), movement.amount_satang), (savings, -movement.amount_satang)]
    return _draft(book, movement.on, kind, f"{what}: {member_row['name_th']}", lines, member=member_row["id"])


def _check_withdrawals(connection: Connection, book: Row, accounts: Accounts, members: dict[int, Row],
                       movements: Sequence[Movement], errors: list[tuple[int, LedgerError]]) -> None:  # fmt: skip
    """Check each withdrawal against the rule, on the balance the movements before it leave."""
    takers = {m.member_id for m in movements if m.amount_satang < 0 and m.member_id in members}
    if not takers:
        return
    account_of = {m: accounts.of_party(book, SAVINGS, members[m], "") for m in takers}
    locked = _lock(connection, account_of.values())
    running = {m: -locked.get(account_of[m], 0) for m in takers}
    rule, arrears = rule_of(connection, book["party_id"]), in_arrears(connection, book["id"], takers)
    for number, movement in enumerate(movements, 1):
        member_id, amount = movement.member_id, movement.amount_satang
        if member_id not in takers:
            continue
        try:
            if amount < 0:
                check_withdrawal(rule, balance_satang=running[member_id], amount_satang=-amount,
                                 in_arrears=member_id in arrears)  # fmt: skip
            running[member_id] += amount
        except LedgerError as error:
            errors.append((movement.number or number, error))


def _raise(errors: list[tuple[int, LedgerError]], bulk: bool) -> None:
    if errors and not bulk:
        raise errors[0][1]
    if errors:
        raise BadLines(errors)


# --- the year's interest -----------------------------------------------------------------------


def post_interest(connection: Connection, organisation_id: int, fiscal_year: int, *, today: date, user_id: int,
                  now: datetime) -> tuple[Row, list[int]]:  # fmt: skip
    """Credit each member the rule's rate on their savings at the end of the fiscal year (closing
    balance), dated that day: once a fiscal year. The year's row and the entries' ids."""
    start, end = fiscal_year_bounds(fiscal_year)
    if end > today:
        raise LedgerError(Rejection.date_in_future, f"fiscal year {fiscal_year} ends on {end}, after {today}")
    book = organisation_book(connection, organisation_id)
    _lock_party(connection, organisation_id)
    if get_interest(connection, organisation_id, fiscal_year) is not None:
        raise LedgerError(Rejection.savings_interest_already_posted,
                          f"the savings interest of fiscal year {fiscal_year} was posted already")  # fmt: skip
    rule = rule_of(connection, organisation_id)
    credits = {m: interest_satang(rule, saved) for m, saved in sorted(balances(connection, book["id"], end).items())}
    credits = {m: amount for m, amount in credits.items() if amount}
    row = {"organisation_party_id": organisation_id, "fiscal_year": fiscal_year, "as_of": end,
           "rate_percent": str(rule.rate_percent), "members": len(credits), "total_satang": sum(credits.values()),
           "recorded_at": now, "recorded_by": user_id}  # fmt: skip
    row["id"] = connection.execute(insert(interest_t).values(**row)).inserted_primary_key[0]
    return row, _record_together(connection, _interest_drafts(connection, book, credits, row, now), user_id, now)


def _interest_drafts(connection: Connection, book: Row, credits: dict[int, int], row: Row, now: datetime) -> list:
    accounts, account_of = Accounts(connection, [book["id"]], now), savings_accounts(connection, book["id"])
    members = sorted(credits)
    drafts = []
    for start in range(0, len(members), CREDITS_PER_ENTRY):
        part = members[start : start + CREDITS_PER_ENTRY]
        lines = [(accounts(book, INTEREST_EXPENSE), sum(credits[m] for m in part))]
        lines += [(account_of[m], -credits[m]) for m in part]
        drafts.append(_draft(book, row["as_of"], "savings.interest", f"Interest on savings, FY{row['fiscal_year']}",
                             lines, savings_interest=row["id"]))  # fmt: skip
    return drafts


def get_interest(connection: Connection, organisation_id: int, fiscal_year: int) -> Row | None:
    query = select(interest_t).where(interest_t.c.organisation_party_id == organisation_id,
                                     interest_t.c.fiscal_year == fiscal_year)  # fmt: skip
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None
