"""Loans in the database: products, a loan's life cycle (application, approval, rejection or
withdrawal, cancellation of what is not disbursed, disbursement, repayment, write-off and
recovery, refunds and rebates, rescheduling and moratoria, rate changes for loans meeting a
rule), and its figures, schedule and statement read back (docs/loans.md).

A loan is a `loan` row (its state in the life cycle), its schedule versions (`loan_schedule`
and `loan_instalment`) and its loan transactions (`loan_transaction`, with
`loan_repayment_reversal` linking a repayment re-allocated after a backdated one to its reversal
and re-posting); the last three are append-only. Every money movement is one journal entry,
recorded with `journal.record_entry` in the same transaction as the loan transaction that names
it, so what `ledger.loan_book` derives from a loan's live transactions is what the journal says:
the principal outstanding is the balance of the loan's own receivable sub-account (a child of
1200 carrying the borrower party).

    disbursement  Dr the loan's receivable sub-account       Cr cash at bank (1100)
    repayment     Dr cash at bank                            Cr penalty receivable (1220)
                                                             Cr interest receivable (1210), as far as
                                                                accrued; the rest interest income (4100)
                                                             Cr the loan's receivable sub-account
                                                             Cr overpayments from borrowers (2100)
    accrual       (close of business: store.loan_cob)        Dr 1210 / Cr 4100; a reversal the opposite
    penalty       (close of business)                        Dr 1220 / Cr penalty income (4200)
    write-off     Dr allowance (1290) as far as it holds,    Cr the loan's receivable sub-account
                  the rest loan loss expense (5200)
                  Dr 4100 / Cr 1210 and Dr 4200 / Cr 1220    what was accrued and not received
    recovery      Dr cash                                    Cr recovery income (4400)
    refund        Dr overpayments (2100)                     Cr cash
    rebate        Dr interest income (4100)                  Cr overpayments (2100), or cash

The accounts are the product's, chosen by code when it is made, by default the fund chart's
(penalties go to interest receivable in a chart without 1220). A write locks the loan's row
before the journal locks balance rows, as close of business does.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Connection, and_, case, cast, func, insert, not_, null, select, union_all, update
from sqlalchemy.exc import IntegrityError

from ledger.accounts import EntryDraft, Posting
from ledger.errors import LedgerError, Rejection
from ledger.loan_book import (
    SUMMED_PARTS,
    Figures,
    Fold,
    LoanTx,
    Totals,
    TxKind,
    WriteOff,
    advance_mode,
    advanced_schedule,
    figures,
    instalments_for,
    is_settled,
    missing_savings_satang,
    penalised_part,
    repayment,
    reschedule,
    suspended_periods,
    totals,
    with_tranche,
    write_off,
)
from ledger.loans import Allocation, LoanTerms, PenaltyBase, RateChange, Schedule
from ledger.money import format_amount
from store import books, journal
from store.rows import one_of
from store.tables import (
    Loan,
    LoanInstalment,
    LoanLitigationEvent,
    LoanProduct,
    LoanProductRate,
    LoanRepaymentReversal,
    LoanRepaymentUndo,
    LoanSchedule,
    LoanTransaction,
    LoanWriteOffUndo,
)

product_t = LoanProduct.__table__
rate_t = LoanProductRate.__table__
loan_t = Loan.__table__
schedule_t = LoanSchedule.__table__
instalment_t = LoanInstalment.__table__
loan_tx_t = LoanTransaction.__table__
link_t = LoanRepaymentReversal.__table__
undo_t = LoanRepaymentUndo.__table__
write_off_undo_t = LoanWriteOffUndo.__table__
litigation_t = LoanLitigationEvent.__table__
# A repayment re-allocated after a backdated one (reversed and re-posted) or taken back, or a
# write-off undone (`store.loan_charge_off`), no longer counts.
LIVE_TX = loan_tx_t.c.id.not_in(
    select(link_t.c.original_tx_id).union_all(select(undo_t.c.original_tx_id),
                                              select(write_off_undo_t.c.original_tx_id))
)  # fmt: skip
# A schedule version an advance payment made counts while its repayment does.
LIVE_VERSION = schedule_t.c.repayment_tx_id.is_(None) | schedule_t.c.repayment_tx_id.not_in(
    select(link_t.c.original_tx_id).union_all(select(undo_t.c.original_tx_id))
)

Row = dict[str, Any]

# The accounts a product posts to, by role, and their codes in the fund chart.
DEFAULT_ACCOUNT_CODES = {
    "cash": "1100",
    "receivable": "1200",  # the control account: each loan gets a sub-account under it
    "interest_receivable": "1210",
    "overpayments": "2100",
    "interest_income": "4100",
    "penalty_income": "4200",
}
# Roles a book's chart may lack (a product made before they existed lacks them too): each is
# looked up by its default code when the product is read; penalties fall back to interest
# receivable, the others are refused (404) only when an event needs them.
OPTIONAL_ACCOUNT_CODES = {
    "penalty_receivable": "1220",
    "allowance": "1290",  # allowance for loan losses: a write-off uses what it holds first
    "write_off_expense": "5200",  # the rest of a write-off is a loss
    "recovery_income": "4400",
}
FALLBACK_ROLES = {"penalty_receivable": "interest_receivable"}
# CODI lends to groups only, never to individuals or to other public bodies.
BORROWER_KINDS = frozenset({"savings_group", "cooperative", "network", "community_enterprise"})
# The loan transactions an officer dates: a new one may not be dated before any of them.
MONEY_KINDS = tuple(k.value for k in (TxKind.disbursement, TxKind.repayment, TxKind.write_off, TxKind.recovery,
                                      TxKind.refund, TxKind.rebate))  # fmt: skip
MAX_RATE_CHANGES = 100
# A loan ended before any of it was disbursed keeps its row: the status says how, `closed_on` the
# business date and `closure_reason` why (the audit log says who).
ENDED_UNDISBURSED = ("rejected", "withdrawn", "cancelled")
# The reasons of the schedule versions that record a restructure the loan's money depends on: a
# remainder cancelled (no tranche may follow) and arrears folded into a reschedule (no repayment
# may be dated before it, nor one it counted taken back).
REMAINDER_CANCELLED = "undisbursed remainder cancelled: "
ARREARS_FOLDED = "reschedule, arrears folded: "


# --- terms as canonical JSON -------------------------------------------------------------------


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, RateChange):
        return [value.effective_on.isoformat(), str(value.rate_annual_percent)]
    if isinstance(value, Decimal | str):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def terms_json(terms: LoanTerms) -> str:
    """Every field of the terms, as sorted compact JSON (Decimals and dates as strings)."""
    data = {f.name: _plain(getattr(terms, f.name)) for f in fields(LoanTerms)}
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=256)  # close of business meets the same few terms over and over
def terms_from_json(text: str) -> LoanTerms:
    data = json.loads(text)
    data["rate_annual_percent"] = Decimal(data["rate_annual_percent"])
    data["penalty_rate_annual_percent"] = Decimal(data["penalty_rate_annual_percent"])
    first = data["first_repayment_on"]
    data["first_repayment_on"] = date.fromisoformat(first) if first else None
    data["rate_changes"] = tuple(RateChange(date.fromisoformat(d), Decimal(r)) for d, r in data["rate_changes"])
    data["allocation_order"] = tuple(data["allocation_order"])
    return LoanTerms(**data)


# --- products ----------------------------------------------------------------------------------


def create_product(connection: Connection, fields_: Row, *, created_by: int, now: datetime) -> Row:
    """A product in a book. `fields_` holds book_id, code, names, `terms` (LoanTerms, its rate
    changes becoming rows of their own), min_savings_percent and account codes by role."""
    book = books.get_book(connection, fields_["book_id"])
    terms: LoanTerms = fields_["terms"]
    codes = fields_.get("account_codes", {})
    required = {role: codes.get(role, code) for role, code in DEFAULT_ACCOUNT_CODES.items()}
    accounts = _account_ids(connection, book["id"], required)
    optional = {role: codes[role] for role in OPTIONAL_ACCOUNT_CODES if role in codes}
    accounts |= _account_ids(connection, book["id"], optional)  # named: they must exist
    if len(terms.rate_changes) > MAX_RATE_CHANGES:
        raise LedgerError(Rejection.invalid_rate_schedule, f"a product has at most {MAX_RATE_CHANGES} rate changes")
    base = replace(terms, rate_changes=())
    values = {
        "book_id": book["id"], "code": fields_["code"], "name_th": fields_["name_th"],
        "name_en": fields_.get("name_en"), "terms": terms_json(base),
        "min_savings_percent": str(fields_["min_savings_percent"]),
        "accounts": json.dumps(accounts, sort_keys=True), "created_at": now, "created_by": created_by,
    }  # fmt: skip
    try:
        with connection.begin_nested():
            product_id = connection.execute(insert(product_t).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise LedgerError(Rejection.duplicate, f"a loan product with code {fields_['code']!r} exists") from None
    if terms.rate_changes:
        rates = [(c.effective_on, str(c.rate_annual_percent)) for c in terms.rate_changes]
        connection.execute(insert(rate_t), [
            {"product_id": product_id, "effective_on": day, "rate_annual_percent": rate} for day, rate in rates
        ])  # fmt: skip
    return get_product(connection, product_id)


def _account_ids(connection: Connection, book_id: int, codes: dict[str, str]) -> dict[str, int]:
    query = select(books.account_t.c.code, books.account_t.c.id).where(
        books.account_t.c.book_id == book_id, books.account_t.c.code.in_(set(codes.values()))
    )
    found = dict(connection.execute(query).all())
    for role, code in codes.items():
        if code not in found:
            raise books.not_found(f"account {code!r} (for {role}) in book", book_id)
    return {role: found[code] for role, code in codes.items()}


def get_product(connection: Connection, product_id: int) -> Row:
    row = connection.execute(select(product_t).where(product_t.c.id == product_id)).mappings().first()
    if row is None:
        raise books.not_found("loan product", product_id)
    return _product(connection, dict(row))


def _product(connection: Connection, row: Row) -> Row:
    rates = connection.execute(
        select(rate_t.c.effective_on, rate_t.c.rate_annual_percent)
        .where(rate_t.c.product_id == row["id"])
        .order_by(rate_t.c.effective_on)
    ).all()
    changes = tuple(RateChange(day, Decimal(rate)) for day, rate in rates)
    terms = replace(terms_from_json(row["terms"]), rate_changes=changes)
    accounts = _with_optional_roles(connection, row["book_id"], json.loads(row["accounts"]))
    return {**row, "terms": terms, "accounts": accounts,
            "min_savings_percent": Decimal(row["min_savings_percent"])}  # fmt: skip


def _with_optional_roles(connection: Connection, book_id: int, accounts: dict[str, int]) -> dict[str, int]:
    missing = {role: code for role, code in OPTIONAL_ACCOUNT_CODES.items() if role not in accounts}
    if not missing:
        return accounts
    query = select(books.account_t.c.code, books.account_t.c.id).where(
        books.account_t.c.book_id == book_id, books.account_t.c.code.in_(set(missing.values()))
    )
    found = dict(connection.execute(query).all())
    resolved = {role: found[code] for role, code in missing.items() if code in found}
    for role, fallback in FALLBACK_ROLES.items():
        if role not in accounts and role not in resolved:
            resolved[role] = accounts[fallback]
    return {**accounts, **resolved}


def account_for(product: Row, role: str) -> int:
    """The product's account for `role`, refused (404) if its book's chart has none."""
    if role not in product["accounts"]:
        code = OPTIONAL_ACCOUNT_CODES.get(role, role)
        raise books.not_found(f"account {code!r} (for {role}) in book", product["book_id"])
    return product["accounts"][role]


def list_products(connection: Connection, *, after: int, limit: int) -> list[Row]:
    query = select(product_t).where(product_t.c.id > after).order_by(product_t.c.id).limit(limit)
    return [_product(connection, dict(r)) for r in connection.execute(query).mappings()]


def loan_terms(product: Row, loan: Row) -> LoanTerms:
    """The product's terms with the loan's own term and first repayment date, and its own choice
    of what an advance payment does, if it made one."""
    own = {"advance_payment": loan["advance_payment"]} if loan.get("advance_payment") else {}
    return replace(product["terms"], term_instalments=loan["term_instalments"],
                   first_repayment_on=loan["first_repayment_on"], **own)  # fmt: skip


# --- application and approval ------------------------------------------------------------------


def apply(connection: Connection, fields_: Row, *, recorded_by: int, now: datetime) -> Row:
    """Record an application for a borrower group under a product: status `applied`."""
    product = get_product(connection, fields_["product_id"])
    borrower = books.get_party(connection, fields_["borrower_party_id"])
    _check_borrower(connection, product, borrower)
    _check_positive(fields_["amount_satang"], "the amount")
    term = fields_.get("term_instalments")
    term = product["terms"].term_instalments if term is None else term
    loan = {"term_instalments": term, "first_repayment_on": fields_.get("first_repayment_on"),
            "advance_payment": str(fields_["advance_payment"]) if fields_.get("advance_payment") else None}  # fmt: skip
    loan_terms(product, loan)  # refuses a bad term (or choice) before anything is written
    _check_savings(fields_, product["min_savings_percent"])
    values = {
        **loan, "book_id": product["book_id"], "product_id": product["id"],
        "borrower_party_id": borrower["id"], "amount_satang": fields_["amount_satang"], "status": "applied",
        "savings_satang": fields_["savings_satang"], "savings_override_reason": fields_.get("savings_override_reason"),
        "guarantors": json.dumps(fields_.get("guarantors", []), sort_keys=True, ensure_ascii=False),
        "purpose": fields_.get("purpose"), "recorded_by": recorded_by, "recorded_at": now,
        "days_past_due": 0, "loan_class": "pass", "accruing": True,
    }  # fmt: skip
    loan_id = connection.execute(insert(loan_t).values(**values)).inserted_primary_key[0]
    return get_loan(connection, loan_id)


def _check_borrower(connection: Connection, product: Row, borrower: Row) -> None:
    """CODI lends to groups; an organisation's book lends to its own members (a member loan)."""
    if borrower["kind"] == "member":
        book = books.get_book(connection, product["book_id"])
        if book["kind"] == "organisation" and borrower["member_of"] == book["party_id"]:
            return
        raise LedgerError(Rejection.ineligible_borrower, "a member borrows only from its own organisation's book")
    if borrower["kind"] not in BORROWER_KINDS:
        kinds = ", ".join(sorted(BORROWER_KINDS))
        raise LedgerError(Rejection.ineligible_borrower, f"CODI lends to groups ({kinds}), not to a {borrower['kind']}")


def _check_positive(amount_satang: int, what: str) -> None:
    if amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, f"{what} must be more than zero")


def _check_savings(fields_: Row, min_percent: Decimal) -> None:
    """A group must have saved a share of what it borrows, unless an officer says why not."""
    if fields_["savings_satang"] < 0:
        raise LedgerError(Rejection.invalid_request, "savings cannot be negative")
    missing = missing_savings_satang(fields_["savings_satang"], fields_["amount_satang"], min_percent)
    if missing and not fields_.get("savings_override_reason"):
        raise LedgerError(
            Rejection.insufficient_savings,
            f"the group's savings are {format_amount(missing)} short of {min_percent} % of the amount; "
            "give a savings_override_reason to lend anyway",
        )


def approve(connection: Connection, loan_id: int, *, approved_by: int, now: datetime) -> Row:
    """Approve an application: by a user other than the one who recorded it (four eyes)."""
    loan = _lock_loan(connection, loan_id)
    if loan["status"] in ENDED_UNDISBURSED:
        _refuse_status(loan, {})
    refusal = approval_refusal(loan, approved_by)
    if refusal is not None:
        raise refusal
    connection.execute(
        update(loan_t).where(loan_t.c.id == loan_id).values(status="approved", approved_by=approved_by, approved_at=now)
    )
    return get_loan(connection, loan_id)


def approval_refusal(loan: Row, user_id: int) -> LedgerError | None:
    """Why the user may not approve the loan (not pending; or they recorded it: four eyes), or
    None: the rule `approve` keeps, and the pages ask before they offer the button."""
    if loan["status"] != "applied":
        return LedgerError(Rejection.loan_not_pending_approval, f"loan {loan['id']} is {loan['status']}, not applied")
    if loan["recorded_by"] == user_id:
        return LedgerError(Rejection.same_user_approval, "a loan is approved by someone other than who recorded it")
    return None


# --- reading loans -----------------------------------------------------------------------------


def get_loan(connection: Connection, loan_id: int, *, borrower: int | None = None) -> Row:
    """The loan; with `borrower`, only if that party borrowed it (else not found, as an unknown
    id is: one query either way, so neither answer takes longer)."""
    query = select(loan_t).where(loan_t.c.id == loan_id)
    if borrower is not None:
        query = query.where(loan_t.c.borrower_party_id == borrower)
    row = connection.execute(query).mappings().first()
    if row is None:
        raise books.not_found("loan", loan_id)
    return _with_cancelled(connection, [{**row, "guarantors": json.loads(row["guarantors"])}])[0]


def _with_cancelled(connection: Connection, rows: list[Row]) -> list[Row]:
    """Each loan with `cancelled_satang`: what of its amount was cancelled undisbursed (all of it
    for a cancelled loan; the remainder when the rest of a partly disbursed loan was cancelled)."""
    ids = [r["id"] for r in rows if r["status"] in ("active", "closed", "written_off")]
    query = select(schedule_t.c.loan_id, schedule_t.c.amount_satang).where(
        schedule_t.c.loan_id.in_(ids), schedule_t.c.reason.startswith(REMAINDER_CANCELLED, autoescape=True)
    )
    lent = dict(connection.execute(query).all()) if ids else {}  # what was disbursed when it was cancelled

    def cancelled(row: Row) -> int:
        if row["status"] == "cancelled":
            return row["amount_satang"]
        return row["amount_satang"] - lent[row["id"]] if row["id"] in lent else 0

    return [{**r, "cancelled_satang": cancelled(r)} for r in rows]


def _lock_loan(connection: Connection, loan_id: int) -> Row:
    """The loan's row, locked until the transaction ends: one write to a loan at a time."""
    row = connection.execute(select(loan_t).where(loan_t.c.id == loan_id).with_for_update()).mappings().first()
    if row is None:
        raise books.not_found("loan", loan_id)
    return dict(row)


def list_loans(connection: Connection, *, filters: Row, only_party: int | None, after: int, limit: int) -> list[Row]:
    query = select(loan_t).where(loan_t.c.id > after).order_by(loan_t.c.id).limit(limit)
    for name in ("book_id", "product_id", "borrower_party_id", "status"):
        if filters.get(name) is not None:
            query = query.where(loan_t.c[name] == filters[name])
    if filters.get("centre_id") is not None:  # the borrowers the incubation centre looks after
        party = books.party_t.c
        of_centre = select(party.id).where(party.centre_id == filters["centre_id"])
        query = query.where(loan_t.c.borrower_party_id.in_(of_centre))
    if only_party is not None:
        query = query.where(loan_t.c.borrower_party_id == only_party)
    rows = [{**r, "guarantors": json.loads(r["guarantors"])} for r in connection.execute(query).mappings()]
    return _with_cancelled(connection, rows)


def schedule_versions(connection: Connection, loan_id: int) -> list[Row]:
    """The versions of a loan's schedule, oldest first: from when each is in force, on what
    principal, and why it was made (a tranche, a reschedule, a moratorium, ...)."""
    columns = (schedule_t.c.version, schedule_t.c.effective_from, schedule_t.c.amount_satang, schedule_t.c.reason,
               schedule_t.c.created_at)  # fmt: skip
    query = select(*columns).where(schedule_t.c.loan_id == loan_id).order_by(schedule_t.c.version)
    return [dict(r) for r in connection.execute(query).mappings()]


def borrowers(connection: Connection, *, limit: int) -> list[Row]:
    """The parties CODI may lend to (groups of `BORROWER_KINDS`), by name."""
    party = books.party_t.c
    query = select(party.id, party.kind, party.name_th, party.name_en, party.centre_id).where(
        party.kind.in_(sorted(BORROWER_KINDS))
    )
    return [dict(r) for r in connection.execute(query.order_by(party.name_th, party.id).limit(limit)).mappings()]


_INSTALMENT_COLUMNS = ("loan_id", "number", "due_on", "principal_satang", "interest_satang",
                       "outstanding_after_satang", "interest_accrued_satang")  # fmt: skip


def plans_of(connection: Connection, loan_ids: Sequence[int], as_of: date | None) -> dict[int, tuple[Schedule, str]]:
    """Each loan's schedule in force on `as_of` (the newest version by then; the newest of all
    if None) and the terms it was made under, as JSON. Loans with no version then are absent."""
    if not loan_ids:
        return {}
    newest, versions = _newest_versions(connection, loan_ids, as_of)
    # a null for the value of the loan's that `_schedules` reads with each instalment: none wanted
    query = _instalments(connection, newest, loan_ids, null()).order_by(instalment_t.c.loan_id, instalment_t.c.number)
    return _schedules(versions, connection.execute(query).all())[0]


@dataclass(frozen=True)
class ThroughNextDue:
    """What close of business and the portfolio read of loans' schedules on a day
    (`plans_through_next_due`)."""

    plans: dict[int, tuple[Schedule, str]]  # as `plans_of`, cut after the next due date
    # What each loan's repayments by the day paid towards instalments in all (interest and
    # principal): what ages a loan (`ledger.loans.days_past_due_having_paid`). A loan whose
    # schedule has no instalment is absent: nothing is due, so what it paid does not matter.
    paid: dict[int, int]


def plans_through_next_due(
    connection: Connection, loan_ids: Sequence[int], as_of: date, *, merge_settled: bool = True,
    book_ids: Sequence[int] | None = None,
) -> ThroughNextDue:  # fmt: skip
    """`plans_of` on `as_of` with only the instalments due by then and the next one: all that
    ageing, accrual and penalties on that day read (a 15-year loan has 180 instalments, and
    close of business would otherwise fetch them all, every day), and what the loans paid of
    them, summed in the same reading. `merge_settled` also reads a penalty-free loan's
    instalments wholly paid by `as_of` as one (`ledger.loan_book.settled_merged`), merged by
    the database. `book_ids`: the loans' books, if the caller knows them (`of_loans`)."""
    if not loan_ids:
        return ThroughNextDue({}, {})
    newest, versions = _newest_versions(connection, loan_ids, as_of)
    penalty_free = [v["loan_id"] for v in versions if not terms_from_json(v["terms"]).penalty_rate_annual_percent]
    merged = penalty_free if merge_settled else []
    query = _through_next_due(connection, newest, loan_ids, as_of, merged_loan_ids=merged, book_ids=book_ids)
    return ThroughNextDue(*_schedules(versions, connection.execute(query).all()))


def _newest_versions(connection: Connection, loan_ids: Sequence[int], as_of: date | None):
    """A subquery of the loans' ids and their newest schedule versions by `as_of` (of all if
    None), and those versions' rows."""
    newest = select(schedule_t.c.loan_id, func.max(schedule_t.c.version).label("version")).where(
        one_of(connection, schedule_t.c.loan_id, loan_ids), LIVE_VERSION
    )
    if as_of is not None:
        newest = newest.where(schedule_t.c.effective_from <= as_of)
    newest = newest.group_by(schedule_t.c.loan_id).subquery()
    on_newest = and_(schedule_t.c.loan_id == newest.c.loan_id, schedule_t.c.version == newest.c.version)
    return newest, connection.execute(select(schedule_t).join(newest, on_newest)).mappings().all()


def _schedules(versions, rows) -> tuple[dict[int, tuple[Schedule, str]], dict[int, Any]]:
    """Each version's schedule, with its instalments in `rows` (in order: `_INSTALMENT_COLUMNS`
    and a value of the loan's, the same on each of its rows), and its terms as JSON; and that
    value by loan."""
    instalments: dict[int, list[tuple]] = {v["loan_id"]: [] for v in versions}
    of_loan: dict[int, Any] = {}
    # Built as plain tuples of an Instalment's fields (`ledger.loans.Instalments` keeps them so),
    # in one pass: close of business reads tens of thousands of instalments a batch, and a row at
    # a time through the usual paths costs more than the row.
    for loan_id, number, due_on, principal, interest, outstanding, accrued, value in rows:
        instalments[loan_id].append((number, due_on, principal, interest, principal + interest, outstanding, accrued))
        of_loan[loan_id] = value
    plans = {
        v["loan_id"]: (Schedule(v["amount_satang"], v["disbursed_on"], tuple(instalments[v["loan_id"]])), v["terms"])
        for v in versions
    }
    return plans, of_loan


def _instalments(connection: Connection, versions, loan_ids: Sequence[int], *extra):
    """The instalments of the schedule versions that `versions` (a subquery of loan ids and
    versions) names, with `extra` columns of either."""
    i = instalment_t.c
    # `loan_id IN` on the instalments too, so that the planner reads them by their key
    return (
        select(*(i[name] for name in _INSTALMENT_COLUMNS), *extra)
        .join(versions, and_(i.loan_id == versions.c.loan_id, i.version == versions.c.version))
        .where(one_of(connection, i.loan_id, loan_ids))
    )


def _through_next_due(
    connection: Connection, newest, loan_ids: Sequence[int], as_of: date, *, merged_loan_ids: Sequence[int],
    book_ids: Sequence[int] | None,
):  # fmt: skip
    """The query of the instalments of the `newest` versions of the loans, cut after each loan's
    first instalment due after `as_of`, in order, each with what its loan paid of instalments by
    `as_of`; with the loans of `merged_loan_ids` read as `ledger.loan_book.settled_merged` does:
    the instalments due by `as_of` and wholly paid by then as one row. Window sums over each
    loan's instalments in order find both, in one reading."""
    i, c = instalment_t.c, loan_tx_t.c
    paid = (
        select(c.loan_id, func.sum(c.interest_satang + c.principal_satang).label("paid"))
        .where(of_loans(connection, loan_ids, book_ids=book_ids), _repaid_by(as_of))
        .group_by(c.loan_id)
        .subquery()
    )
    # What each loan paid joins its version (a row a loan), not its instalments: materialized,
    # as PostgreSQL's planner would otherwise join it to each instalment.
    versions = (
        select(newest, cast(func.coalesce(paid.c.paid, 0), BigInteger).label("paid"),
               one_of(connection, newest.c.loan_id, merged_loan_ids).label("merging"))
        .select_from(newest.outerjoin(paid, paid.c.loan_id == newest.c.loan_id))
        .cte("versions")
    )  # fmt: skip
    if connection.dialect.name == "postgresql":
        versions = versions.prefix_with("MATERIALIZED")
    in_order = {"partition_by": i.loan_id, "order_by": i.number}
    later = func.sum(case((i.due_on > as_of, 1), else_=0)).over(**in_order)
    cumulative = func.sum(i.principal_satang + i.interest_satang).over(**in_order)
    extra = (later.label("later"), cumulative.label("cumulative"), versions.c.paid, versions.c.merging)
    rows = _instalments(connection, versions, loan_ids, *extra).subquery()
    settled = and_(rows.c.merging, rows.c.paid > 0, rows.c.due_on <= as_of, rows.c.cumulative <= rows.c.paid)
    # a CTE, so that the database reads the instalments once for both halves of the union
    r = select(rows, settled.label("settled")).where(rows.c.later <= 1).cte("marked").c

    def total(name: str):
        return cast(func.sum(r[name]), BigInteger).label(name)

    merged = (
        select(r.loan_id, func.max(r.number).label("number"), func.max(r.due_on).label("due_on"),
               total("principal_satang"), total("interest_satang"),
               func.min(r.outstanding_after_satang).label("outstanding_after_satang"), total("interest_accrued_satang"),
               func.max(r.paid).label("paid"))
        .where(r.settled).group_by(r.loan_id)
    )  # fmt: skip
    rest = select(*(r[name] for name in _INSTALMENT_COLUMNS), r.paid).where(not_(r.settled))
    both = union_all(merged, rest).subquery()
    return select(both).order_by(both.c.loan_id, both.c.number)


def transactions(connection: Connection, loan: Row) -> list[Row]:
    """The loan's transactions in date order (and in the order recorded within a day)."""
    query = (
        select(loan_tx_t)
        .where(loan_tx_t.c.book_id == loan["book_id"], loan_tx_t.c.loan_id == loan["id"], LIVE_TX)
        .order_by(loan_tx_t.c.effective_date, loan_tx_t.c.id)
    )
    return [dict(r) for r in connection.execute(query).mappings()]


def as_tx(row: Row) -> LoanTx:
    return LoanTx(TxKind(row["kind"]), row["effective_date"], row["amount_satang"], row["principal_satang"],
                  row["interest_satang"], row["penalty_satang"], row["overpayment_satang"],
                  row["interest_from_receivable_satang"])  # fmt: skip


def of_loans(connection: Connection, loan_ids: Sequence[int], *, book_ids: Sequence[int] | None = None):
    """The condition on loan transactions for `loan_ids`, naming their books too: the table's
    indexes lead with book_id, and without it a batch of loans reads the whole table. The books
    are looked up unless the caller names them (`book_ids`: theirs, or more)."""
    if book_ids is None:
        books_ = select(loan_t.c.book_id).where(one_of(connection, loan_t.c.id, loan_ids)).distinct()
        book_ids = connection.execute(books_).scalars().all()
    return and_(one_of(connection, loan_tx_t.c.book_id, book_ids), one_of(connection, loan_tx_t.c.loan_id, loan_ids))


def sums_of(
    connection: Connection, loan_ids: Sequence[int], as_of: date | None = None, *, book_ids: Sequence[int] | None = None
) -> dict[int, Totals]:
    """`ledger.loan_book.totals` of many loans at once, summed by the database (`book_ids`: as
    `of_loans` takes them)."""
    c = loan_tx_t.c

    def total(column, kinds: tuple[str, ...]):
        return func.coalesce(func.sum(case((c.kind.in_(kinds), column), else_=0)), 0)

    # `ledger.loan_book.SUMMED_PARTS`, as SQL: each Totals field is the sum of one part of some kinds
    columns = {
        name: total(c[part], (kind.value,)) for kind, pairs in SUMMED_PARTS.items() for name, part in pairs
    }
    query = select(c.loan_id, *[column.label(name) for name, column in columns.items()]).where(
        of_loans(connection, loan_ids, book_ids=book_ids), LIVE_TX
    )
    if as_of is not None:
        query = query.where(c.effective_date <= as_of)
    rows = connection.execute(query.group_by(c.loan_id)).mappings()
    return {r["loan_id"]: Totals(**{name: int(r[name]) for name in columns}) for r in rows}


def payments_of(connection: Connection, loan_ids: Sequence[int], as_of: date) -> dict[int, list[tuple[date, int]]]:
    """What each loan's repayments up to `as_of` paid towards instalments (interest and principal)."""
    c = loan_tx_t.c
    query = (
        select(c.loan_id, c.effective_date, c.interest_satang + c.principal_satang)
        .where(of_loans(connection, loan_ids), c.kind == TxKind.repayment.value, c.effective_date <= as_of, LIVE_TX)
        .order_by(c.loan_id, c.effective_date, c.id)
    )
    paid: dict[int, list[tuple[date, int]]] = {}
    for loan_id, day, satang in connection.execute(query):
        paid.setdefault(loan_id, []).append((day, int(satang)))
    return paid


def _repaid_by(as_of: date):
    """The condition on loan transactions of the repayments standing on `as_of`."""
    c = loan_tx_t.c
    return and_(c.kind == TxKind.repayment.value, c.effective_date <= as_of, LIVE_TX)


def principal_payments_of(
    connection: Connection, loan_ids: Sequence[int], as_of: date, *, book_ids: Sequence[int] | None = None,
    penalty_on: Mapping[int, PenaltyBase] | None = None,
) -> dict[int, list[tuple[date, int]]]:  # fmt: skip
    """The principal each loan's repayments up to `as_of` paid, by date: what stops penalties.
    For a loan that `penalty_on` says is penalised on principal and interest, what they paid of
    both (`ledger.loan_book.penalised_part`). `book_ids`: as `of_loans` takes them."""
    if not loan_ids:
        return {}
    bases = penalty_on or {}
    c = loan_tx_t.c
    query = (
        select(c.loan_id, c.effective_date, c.principal_satang, c.interest_satang)
        .where(of_loans(connection, loan_ids, book_ids=book_ids), c.kind == TxKind.repayment.value,
               c.effective_date <= as_of, LIVE_TX)
        .order_by(c.loan_id, c.effective_date, c.id)
    )  # fmt: skip
    paid: dict[int, list[tuple[date, int]]] = {}
    for loan_id, day, principal, interest in connection.execute(query):
        base = bases.get(loan_id, PenaltyBase.overdue_principal)
        if (part := penalised_part(base, int(principal), int(interest))) > 0:
            paid.setdefault(loan_id, []).append((day, part))
    return paid


def folds_of(connection: Connection, loan_ids: Sequence[int], as_of: date) -> dict[int, Fold]:
    """Each loan's latest reschedule by `as_of` that folded its arrears, with the penalty
    interest charged for the days after it (`ledger.loan_book.Fold`); loans with none are absent."""
    if not loan_ids:
        return {}
    folded = (
        select(schedule_t.c.loan_id, func.max(schedule_t.c.effective_from).label("on"))
        .where(one_of(connection, schedule_t.c.loan_id, loan_ids), schedule_t.c.effective_from <= as_of,
               schedule_t.c.reason.startswith(ARREARS_FOLDED, autoescape=True))
        .group_by(schedule_t.c.loan_id)
        .subquery()
    )  # fmt: skip
    c = loan_tx_t.c
    after = and_(c.loan_id == folded.c.loan_id, c.kind == TxKind.penalty.value, c.effective_date > folded.c.on,
                 c.effective_date <= as_of, LIVE_TX)  # fmt: skip
    query = (
        select(folded.c.loan_id, folded.c.on, func.coalesce(func.sum(c.penalty_satang), 0))
        .select_from(folded.outerjoin(loan_tx_t, after))
        .group_by(folded.c.loan_id, folded.c.on)
    )
    return {loan_id: Fold(on, int(charged)) for loan_id, on, charged in connection.execute(query)}


@dataclass(frozen=True)
class LoanState:
    """A loan as recorded: its schedule in force (None before disbursement), terms and transactions."""

    loan: Row
    plan: Schedule | None
    terms: LoanTerms
    rows: list[Row]  # loan transactions in date order

    @property
    def txs(self) -> list[LoanTx]:
        return [as_tx(r) for r in self.rows]

    def figures(self, as_of: date) -> Figures:
        return figures(self.plan, self.terms, self.txs, as_of)


def state(connection: Connection, loan: Row, as_of: date | None = None) -> LoanState:
    planned = plans_of(connection, [loan["id"]], as_of).get(loan["id"])
    if planned is None:
        terms = loan_terms(get_product(connection, loan["product_id"]), loan)
        return LoanState(loan, None, terms, transactions(connection, loan))
    return LoanState(loan, planned[0], terms_from_json(planned[1]), transactions(connection, loan))


# --- ending a loan before it is (fully) disbursed ----------------------------------------------


def reject(connection: Connection, loan_id: int, *, reason: str | None, today: date) -> Row:
    """An approver turns an application down, with a reason: status `rejected`, for good."""
    why = _check_reason(reason, "a rejection")
    return _end_undisbursed(connection, _lock_loan(connection, loan_id), "rejected", why, today)


def withdraw(connection: Connection, loan_id: int, *, reason: str | None, today: date) -> Row:
    """The borrower withdraws its application (an officer records it), with a reason: status
    `withdrawn`, for good."""
    why = _check_reason(reason, "a withdrawal")
    return _end_undisbursed(connection, _lock_loan(connection, loan_id), "withdrawn", why, today)


def _end_undisbursed(connection: Connection, loan: Row, status: str, why: str, today: date) -> Row:
    wanted = "approved" if status == "cancelled" else "applied"
    if loan["status"] != wanted:
        _refuse_status(loan, {})
        refusal = Rejection.loan_not_pending_approval if wanted == "applied" else Rejection.loan_not_approved
        raise LedgerError(refusal, f"loan {loan['id']} is {loan['status']}, not {wanted}")
    connection.execute(
        update(loan_t).where(loan_t.c.id == loan["id"]).values(status=status, closed_on=today, closure_reason=why)
    )
    return get_loan(connection, loan["id"])


def cancel(connection: Connection, loan_id: int, *, reason: str | None, today: date, user_id: int,
           now: datetime) -> Row:  # fmt: skip
    """Cancel what of an approved loan is not disbursed, with a reason (an approver). With no
    tranche paid out the loan is `cancelled`, for good. A partly disbursed loan stays active
    with no further tranche allowed: a schedule version from the business date records it (the
    schedule already covers exactly what was disbursed: each tranche adds its own instalments,
    `ledger.loan_book.with_tranche`), and the loan closes once what was disbursed is repaid
    (at once, if it already is). An application is rejected or withdrawn instead."""
    why = _check_reason(reason, "a cancellation")
    loan = _lock_loan(connection, loan_id)
    if loan["status"] == "applied":
        raise LedgerError(Rejection.loan_not_approved, f"loan {loan_id} is not approved: reject or withdraw it")
    if loan["status"] != "active":
        return _end_undisbursed(connection, loan, "cancelled", why, today)
    current = state(connection, loan)
    disbursed = totals(current.txs).disbursed_satang
    if disbursed == loan["amount_satang"] or _with_cancelled(connection, [loan])[0]["cancelled_satang"]:
        raise LedgerError(Rejection.nothing_to_cancel, f"loan {loan_id} has no undisbursed amount left to cancel")
    latest = select(func.max(schedule_t.c.effective_from)).where(schedule_t.c.loan_id == loan_id)
    on = max(today, connection.execute(latest).scalar_one())
    cancelled = format_amount(loan["amount_satang"] - disbursed)
    _save_plan(connection, loan, current.plan, current.terms, on,
               f"{REMAINDER_CANCELLED}{cancelled}: {why}"[:200], user_id, now)  # fmt: skip
    if current.rows:
        _settle_status(connection, current)
    return get_loan(connection, loan_id)


# --- disbursement and repayment ----------------------------------------------------------------


def _check_date(on: date, today: date, rows: list[Row]) -> None:
    if on > today:
        raise LedgerError(Rejection.date_in_future, f"{on} is after the business date {today}")
    money = [r["effective_date"] for r in rows if r["kind"] in MONEY_KINDS]
    if money and on < max(money):
        # Only a repayment may be backdated (`repay` re-allocates the later ones); other money
        # movements after it would have to be undone too.
        raise LedgerError(Rejection.date_before_last_transaction, f"the loan's money last moved on {max(money)}")


_STATUS_REFUSALS = {
    "closed": (Rejection.loan_closed, "is closed"),
    "written_off": (Rejection.loan_written_off, "is written off"),
    "rejected": (Rejection.loan_rejected, "was rejected"),
    "withdrawn": (Rejection.loan_withdrawn, "was withdrawn"),
    "cancelled": (Rejection.loan_cancelled, "was cancelled"),
}


def _refuse_status(loan: Row, refusals: dict[str, tuple[Rejection, str] | None]) -> None:
    """Refuse a loan whose status is named, for its reason (None: not refused after all)."""
    refusal = {**_STATUS_REFUSALS, **refusals}.get(loan["status"])
    if refusal is not None:
        raise LedgerError(refusal[0], f"loan {loan['id']} {refusal[1]}")


@dataclass(frozen=True)
class Recorded:
    """A loan transaction just recorded, its entry, and the loan after it (and the entries a
    backdated repayment also made: reversals and re-postings of later repayments)."""

    transaction: Row
    entry_id: int
    loan: Row
    more_entry_ids: tuple[int, ...] = ()


def disburse(
    connection: Connection, loan_id: int, *, amount_satang: int, on: date, today: date, user_id: int, now: datetime
) -> Recorded:
    """Pay out a tranche: Dr the loan's receivable sub-account / Cr cash. The loan's schedule
    gets a new version (the first disbursement fixes the first)."""
    _check_positive(amount_satang, "a disbursement")
    loan = _lock_loan(connection, loan_id)
    _refuse_status(loan, {"applied": (Rejection.loan_not_approved, "is not approved yet")})
    if _with_cancelled(connection, [loan])[0]["cancelled_satang"]:
        detail = f"the undisbursed remainder of loan {loan_id} was cancelled: no tranche may follow"
        raise LedgerError(Rejection.loan_remainder_cancelled, detail)
    current = state(connection, loan)
    _check_date(on, today, current.rows)
    left = loan["amount_satang"] - totals(current.txs).disbursed_satang
    if left == 0:
        raise LedgerError(Rejection.loan_fully_disbursed, f"loan {loan_id} is fully disbursed")
    if amount_satang > left:
        raise LedgerError(Rejection.disbursement_exceeds_amount, f"only {format_amount(left)} is left to disburse")
    plan = with_tranche(current.plan, current.terms, amount_satang, on)
    product = get_product(connection, loan["product_id"])
    account_id = loan["receivable_account_id"] or _open_receivable(connection, loan, product, now)
    postings = (Posting(account_id, amount_satang), Posting(product["accounts"]["cash"], -amount_satang))
    tranche = sum(1 for r in current.rows if r["kind"] == TxKind.disbursement) + 1
    entry_id = _post(connection, loan, on, "loan.disbursement", f"Loan {loan_id}: tranche {tranche}", postings,
                     user_id, now)  # fmt: skip
    _save_plan(connection, loan, plan, current.terms, on, f"disbursement of tranche {tranche}", user_id, now)
    tx = _record_tx(connection, loan, TxKind.disbursement, on, entry_id, user_id, now,
                    amount_satang=amount_satang, principal_satang=amount_satang)  # fmt: skip
    connection.execute(
        update(loan_t).where(loan_t.c.id == loan_id).values(status="active", receivable_account_id=account_id)
    )
    return Recorded(tx, entry_id, get_loan(connection, loan_id))


def _open_receivable(connection: Connection, loan: Row, product: Row, now: datetime) -> int:
    """The loan's own sub-account of the receivable control account, carrying the borrower."""
    control = books.get_account(connection, product["accounts"]["receivable"])
    account = books.create_account(connection, {
        "book_id": loan["book_id"], "code": f"{control['code']}-L{loan['id']}",
        "name_th": f"ลูกหนี้เงินกู้ สัญญาที่ {loan['id']}", "name_en": f"Loan {loan['id']} receivable",
        "type": "asset", "balance_rule": "debit_or_zero", "parent_id": control["id"],
        "party_id": loan["borrower_party_id"],
    }, now=now)  # fmt: skip
    return account["id"]


def _post(
    connection: Connection, loan: Row, on: date, kind: str, description: str, postings: tuple[Posting, ...],
    user_id: int, now: datetime,
) -> int:  # fmt: skip
    draft = EntryDraft(book_id=loan["book_id"], effective_date=on, kind=kind, description=description,
                       postings=postings, dimensions={"loan_id": str(loan["id"])})  # fmt: skip
    return journal.record_entry(connection, draft, recorded_by=user_id, recorded_at=now)


def _save_plan(
    connection: Connection, loan: Row, plan: Schedule, terms: LoanTerms, on: date, reason: str, user_id: int,
    now: datetime, *, repayment_tx_id: int | None = None,
) -> None:  # fmt: skip
    latest = select(func.max(schedule_t.c.version)).where(schedule_t.c.loan_id == loan["id"])
    version = (connection.execute(latest).scalar_one() or 0) + 1
    connection.execute(insert(schedule_t).values(
        loan_id=loan["id"], version=version, book_id=loan["book_id"], effective_from=on,
        disbursed_on=plan.disbursed_on, amount_satang=plan.amount_satang, terms=terms_json(terms),
        reason=reason, created_at=now, created_by=user_id, repayment_tx_id=repayment_tx_id,
    ))  # fmt: skip
    connection.execute(insert(instalment_t), [
        {"loan_id": loan["id"], "version": version, "number": i.number, "due_on": i.due_on,
         "principal_satang": i.principal_satang, "interest_satang": i.interest_satang,
         "interest_accrued_satang": i.interest_accrued_satang, "outstanding_after_satang": i.outstanding_after_satang}
        for i in plan.instalments
    ])  # fmt: skip


def tx_values(loan: Row, kind: TxKind, on: date, entry_id: int, user_id: int, now: datetime, **parts: int) -> Row:
    amounts = dict.fromkeys(("principal_satang", "interest_satang", "penalty_satang", "overpayment_satang",
                             "interest_from_receivable_satang"), 0)  # fmt: skip
    return {"loan_id": loan["id"], "book_id": loan["book_id"], "kind": kind.value, "effective_date": on,
            **amounts, **parts, "entry_id": entry_id, "recorded_at": now, "recorded_by": user_id}  # fmt: skip


def _record_tx(
    connection: Connection, loan: Row, kind: TxKind, on: date, entry_id: int, user_id: int, now: datetime,
    reason: str | None = None, **parts: int,
) -> Row:  # fmt: skip
    values = {**tx_values(loan, kind, on, entry_id, user_id, now, **parts), "reason": reason}
    tx_id = connection.execute(insert(loan_tx_t).values(**values)).inserted_primary_key[0]
    return {**values, "id": tx_id}


def repay(
    connection: Connection, loan_id: int, *, amount_satang: int, on: date, today: date, user_id: int, now: datetime
) -> Recorded:
    """Take a repayment: allocated in the product's order against what is due on its date; the
    excess is an overpayment (a liability). A loan fully repaid is closed.

    A backdated repayment (dated before later repayments, in open periods) re-allocates them:
    each later repayment's entry is reversed (`journal.reverse_entry`, dated as it was) and its
    amount posted again on its date after the new one, in date order; `loan_repayment_reversal`
    links each original to its reversal and its re-posting, and the reversed repayments drop
    out of the loan's figures. Other kinds of money movement after the date are refused."""
    _check_positive(amount_satang, "a repayment")
    before, later = _before_repayment(connection, _lock_loan(connection, loan_id), on, today)
    reversals = _reverse_repayments(connection, later, f"re-allocated after one dated {on}", user_id, now)
    first = _post_repayment(connection, before, amount_satang, on, user_id, now)
    rows = [*before.rows, first.transaction]
    entry_ids = _repost(connection, replace(before, rows=rows), later, reversals, user_id, now)
    return Recorded(first.transaction, first.entry_id, get_loan(connection, loan_id), tuple(entry_ids))


@dataclass(frozen=True)
class RepaymentPreview:
    """Where a repayment would go, nothing written (`preview_repayment`): its allocation, and how
    many later repayments it would re-allocate (dated before them)."""

    allocation: Allocation
    reallocated: int


def preview_repayment(
    connection: Connection, loan_id: int, *, amount_satang: int, on: date, today: date, borrower: int | None = None
) -> RepaymentPreview:
    """What `repay` would allocate, read only: the same checks and the same allocation
    (`_allocation`) against the same transactions, so a page can show it before the save."""
    _check_positive(amount_satang, "a repayment")
    before, later = _before_repayment(connection, get_loan(connection, loan_id, borrower=borrower), on, today)
    return RepaymentPreview(_allocation(connection, before, amount_satang, on).allocation, len(later))


def _before_repayment(connection: Connection, loan: Row, on: date, today: date) -> tuple[LoanState, list[Row]]:
    """A repayment on `on` refused, or what it is allocated against: the loan's live transactions
    but the later repayments it re-allocates; and those."""
    _refuse_status(loan, dict.fromkeys(("applied", "approved"), (Rejection.loan_not_disbursed, "is not disbursed")))
    current = state(connection, loan)
    later = _later_repayments(current.rows, on, today)
    _check_after_fold(connection, loan["id"], on, counted=False)
    _check_no_restructure_after_advance(connection, loan["id"], later)
    moved = {r["id"] for r in later}
    return replace(current, rows=[r for r in current.rows if r["id"] not in moved]), later


@dataclass(frozen=True)
class Allocated:
    """Where a repayment goes (`_allocation`), and the schedule version its advance makes."""

    allocation: Allocation
    from_receivable_satang: int  # of the interest paid, what settles accrued interest
    advanced: Schedule | None  # the schedule from the repayment's date on (None: it stays)
    terms: LoanTerms


def _allocation(connection: Connection, current: LoanState, amount_satang: int, on: date) -> Allocated:
    """`ledger.loan_book.repayment` of a payment on `on` against the loan's live transactions
    `current.rows` and the schedule they leave in force, and the schedule its advance makes
    (`ledger.loan_book.advanced_schedule`)."""
    plan, base, terms = _plans_for(connection, current, on)
    sums = totals(current.txs)
    allocation, from_receivable = repayment(amount_satang, plan, terms, sums, on, base=base)
    advanced = advanced_schedule(base, terms, on, sums.principal_repaid_satang + allocation.principal_satang)
    return Allocated(allocation, from_receivable, None if advanced == plan else advanced, terms)


def _plans_for(connection: Connection, current: LoanState, on: date) -> tuple[Schedule, Schedule, LoanTerms]:
    """The schedule a repayment on `on` is allocated against: the newest version that no advance
    made, or one of the repayments `current.rows` made; the newest made before any advance dated
    `on` (what an advance that day is derived from, so that several that day make what one
    would); and the terms it runs under."""
    c = schedule_t.c
    query = select(c.version, c.repayment_tx_id).where(c.loan_id == current.loan["id"]).order_by(c.version)
    dated = {r["id"]: r["effective_date"] for r in current.rows}
    versions = connection.execute(query).all()
    counted = [v for v, tx in versions if tx is None or tx in dated]
    before = [v for v, tx in versions if tx is None or tx in dated and dated[tx] < on]
    (plan, terms), (base, _) = _version(connection, current.loan["id"], counted[-1]), _version(
        connection, current.loan["id"], before[-1])  # fmt: skip
    return plan, base, terms_from_json(terms)


def _version(connection: Connection, loan_id: int, version: int) -> tuple[Schedule, str]:
    """One schedule version of a loan and its terms, as JSON."""
    row = connection.execute(
        select(schedule_t).where(schedule_t.c.loan_id == loan_id, schedule_t.c.version == version)
    ).mappings().one()  # fmt: skip
    i = instalment_t.c
    query = (select(*(i[name] for name in _INSTALMENT_COLUMNS), null())
             .where(i.loan_id == loan_id, i.version == version).order_by(i.number))  # fmt: skip
    return _schedules([row], connection.execute(query).all())[0][loan_id]


def _check_no_restructure_after_advance(connection: Connection, loan_id: int, moved: list[Row]) -> None:
    """Refuse to re-allocate (or take back) repayments one of which made an advance's schedule
    version when a later version (a reschedule, a moratorium, a tranche) was made from it: that
    one would have to be made again too."""
    c = schedule_t.c
    ids = [r["id"] for r in moved]
    first = select(func.min(c.version)).where(c.loan_id == loan_id, c.repayment_tx_id.in_(ids)).scalar_subquery()
    query = select(func.max(c.effective_from)).where(c.loan_id == loan_id, c.repayment_tx_id.is_(None),
                                                     c.version > first)  # fmt: skip
    restructured = connection.execute(query).scalar_one() if ids else None
    if restructured is not None:
        detail = f"the loan's schedule was changed on {restructured} after an advance payment it would re-derive"
        raise LedgerError(Rejection.date_before_last_transaction, detail)


def undo_repayment(
    connection: Connection, loan_id: int, transaction_id: int, *, reason: str | None, user_id: int, now: datetime
) -> Recorded:
    """Take a repayment back (it bounced, or was recorded in error), with a reason: its entry is
    reversed on its own date and `loan_repayment_undo` keeps why; the repayments after it are
    re-allocated as after a backdated one (reversed and posted again in date order), and a loan
    the repayment had closed opens again. Other kinds of money movement after it are refused."""
    why = _check_reason(reason, "undoing a repayment")
    loan = _lock_loan(connection, loan_id)
    _refuse_status(loan, {"closed": None})
    current = state(connection, loan)
    target = next((r for r in current.rows if r["id"] == transaction_id and r["kind"] == TxKind.repayment), None)
    if target is None:
        raise LedgerError(Rejection.not_found, f"loan {loan_id} has no repayment {transaction_id} in force")
    _check_after_fold(connection, loan_id, target["effective_date"], counted=True)
    following = current.rows[current.rows.index(target) + 1 :]
    later = _only_repayments(following)
    _check_no_restructure_after_advance(connection, loan_id, [target, *later])
    [undone, *reversals] = _reverse_repayments(connection, [target, *later], "taken back", user_id, now)
    connection.execute(insert(undo_t).values(
        original_tx_id=target["id"], book_id=loan["book_id"], loan_id=loan_id, reversal_entry_id=undone,
        reason=why, recorded_at=now, recorded_by=user_id,
    ))  # fmt: skip
    moved = {r["id"] for r in (target, *later)}
    rows = [r for r in current.rows if r["id"] not in moved]
    entry_ids = _repost(connection, replace(current, rows=rows), later, reversals, user_id, now)
    return Recorded(target, undone, get_loan(connection, loan_id), tuple(entry_ids))


def _reverse_repayments(connection: Connection, rows: list[Row], why: str, user_id: int, now: datetime) -> list[int]:
    """Reverse each repayment's entry on its own date; the reversing entries' ids."""
    return [journal.reverse_entry(connection, entry_id=r["entry_id"], effective_date=None,
                                  description=f"Loan {r['loan_id']}: repayment {r['id']} {why}",
                                  recorded_by=user_id, recorded_at=now) for r in rows]  # fmt: skip


def _repost(connection: Connection, current: LoanState, later: list[Row], reversals: list[int], user_id: int,
            now: datetime) -> list[int]:  # fmt: skip
    """Post each reversed later repayment again on its date, in date order, after the loan's live
    transactions `current.rows`; link each original to its reversal and re-posting; then settle
    the loan's status. The entry ids: a reversal and a re-posting for each."""
    rows, entry_ids = list(current.rows), []
    for original, reversal in zip(later, reversals, strict=True):
        again = _post_repayment(connection, replace(current, rows=rows), original["amount_satang"],
                                original["effective_date"], user_id, now)  # fmt: skip
        rows.append(again.transaction)
        entry_ids += [reversal, again.entry_id]
        connection.execute(insert(link_t).values(
            original_tx_id=original["id"], book_id=current.loan["book_id"], loan_id=current.loan["id"],
            reversal_entry_id=reversal, reposted_tx_id=again.transaction["id"], recorded_at=now, recorded_by=user_id,
        ))  # fmt: skip
    _settle_status(connection, state(connection, current.loan))  # under the schedule the repayments left
    return entry_ids


def _check_after_fold(connection: Connection, loan_id: int, on: date, *, counted: bool) -> None:
    """Refuse a repayment dated before the loan's latest reschedule that folded arrears, or
    taking back one it counted (dated on or before it): the folded schedule was cut to what had
    been paid then, and would no longer say what is due."""
    query = select(func.max(schedule_t.c.effective_from)).where(
        schedule_t.c.loan_id == loan_id, schedule_t.c.reason.startswith(ARREARS_FOLDED, autoescape=True)
    )
    folded_on = connection.execute(query).scalar_one()
    if folded_on is not None and (on <= folded_on if counted else on < folded_on):
        detail = f"the loan's arrears were folded into a new schedule on {folded_on}, by what had been paid then"
        raise LedgerError(Rejection.date_before_last_transaction, detail)


def _later_repayments(rows: list[Row], on: date, today: date) -> list[Row]:
    """The repayments dated after `on`, to re-allocate; refused if any other money moved then."""
    if on > today:
        raise LedgerError(Rejection.date_in_future, f"{on} is after the business date {today}")
    first = min(r["effective_date"] for r in rows if r["kind"] == TxKind.disbursement.value)
    if on < first:
        raise LedgerError(Rejection.date_before_last_transaction, f"the loan was first disbursed on {first}")
    return _only_repayments([r for r in rows if r["effective_date"] > on])


def _only_repayments(later: list[Row]) -> list[Row]:
    """The money movements `later` (loan transactions after a date), refused unless all are
    repayments: other kinds would have to be undone too."""
    moved = [r for r in later if r["kind"] in MONEY_KINDS]
    others = [r["effective_date"] for r in moved if r["kind"] != TxKind.repayment.value]
    if others:
        detail = f"only later repayments are re-allocated; other money moved on {max(others)}"
        raise LedgerError(Rejection.date_before_last_transaction, detail)
    return moved


def _post_repayment(connection: Connection, current: LoanState, amount_satang: int, on: date, user_id: int,
                    now: datetime) -> Recorded:  # fmt: skip
    """Allocate and post one repayment against the loan's live transactions `current.rows`."""
    loan = current.loan
    allocated = _allocation(connection, current, amount_satang, on)
    allocation, from_receivable = allocated.allocation, allocated.from_receivable_satang
    accounts = get_product(connection, loan["product_id"])["accounts"]
    credits = [
        (accounts["penalty_receivable"], allocation.penalty_satang),  # charged to income by close of business
        (accounts["interest_receivable"], from_receivable),
        (accounts["interest_income"], allocation.interest_satang - from_receivable),
        (loan["receivable_account_id"], allocation.principal_satang),
        (accounts["overpayments"], allocation.overpayment_satang),
    ]
    postings = (Posting(accounts["cash"], amount_satang), *[Posting(a, -x) for a, x in credits if x])
    entry_id = _post(connection, loan, on, "loan.repayment", f"Loan {loan['id']}: repayment", postings, user_id, now)
    tx = _record_tx(connection, loan, TxKind.repayment, on, entry_id, user_id, now, amount_satang=amount_satang,
                    principal_satang=allocation.principal_satang, interest_satang=allocation.interest_satang,
                    penalty_satang=allocation.penalty_satang, overpayment_satang=allocation.overpayment_satang,
                    interest_from_receivable_satang=from_receivable)  # fmt: skip
    if allocated.advanced is not None:
        why = f"advance payment: {advance_mode(allocated.terms)}"
        _save_plan(connection, loan, allocated.advanced, allocated.terms, on, why, user_id, now,
                   repayment_tx_id=tx["id"])  # fmt: skip
    return Recorded(tx, entry_id, loan)


def _settle_status(connection: Connection, current: LoanState) -> None:
    """Close a loan its live transactions settle (on the last one's date); open again a closed
    loan they no longer settle (a repayment taken back)."""
    lent = current.loan["amount_satang"] - _with_cancelled(connection, [current.loan])[0]["cancelled_satang"]
    settled = is_settled(current.plan, totals(current.txs), amount_satang=lent)
    if settled and current.loan["status"] != "closed":
        values = {"status": "closed", "closed_on": current.rows[-1]["effective_date"]}
    elif not settled and current.loan["status"] == "closed":
        values = {"status": "active", "closed_on": None}
    else:
        return
    connection.execute(update(loan_t).where(loan_t.c.id == current.loan["id"]).values(**values))


# --- write-off, recovery, refund ----------------------------------------------------------------


def _check_reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise LedgerError(Rejection.reason_required, f"{what} needs a reason")
    return reason.strip()


def _disbursed_loan(
    connection: Connection, loan_id: int, refusals: dict[str, tuple[Rejection, str] | None], *, lock: bool = True
) -> Row:
    loan = _lock_loan(connection, loan_id) if lock else get_loan(connection, loan_id)
    not_disbursed = (Rejection.loan_not_disbursed, "is not disbursed")
    _refuse_status(loan, {"applied": not_disbursed, "approved": not_disbursed, **refusals})
    return loan


def write_off_loan(
    connection: Connection, loan_id: int, *, on: date, reason: str | None, today: date, user_id: int, now: datetime
) -> Recorded:
    """Write an active loan off: its outstanding principal leaves the loan's receivable, paid for
    by the allowance for loan losses as far as it holds, the rest a loss; the interest and the
    penalties accrued and not received are reversed out of income. Status `written_off`."""
    why = _check_reason(reason, "a write-off")
    loan, parts = _write_off_parts(connection, loan_id, on, today, lock=True)
    product = get_product(connection, loan["product_id"])
    postings = (*_principal_write_off(connection, product, loan, parts.principal_satang),
                *_reversal(product, "interest_income", "interest_receivable", parts.interest_satang),
                *_reversal(product, "penalty_income", "penalty_receivable", parts.penalty_satang))  # fmt: skip
    entry_id = _post(connection, loan, on, "loan.write_off", f"Loan {loan_id}: written off: {why}"[:500], postings,
                     user_id, now)  # fmt: skip
    tx = _record_tx(connection, loan, TxKind.write_off, on, entry_id, user_id, now, reason=why,
                    amount_satang=parts.total_satang, principal_satang=parts.principal_satang,
                    interest_satang=parts.interest_satang, penalty_satang=parts.penalty_satang)  # fmt: skip
    connection.execute(update(loan_t).where(loan_t.c.id == loan_id).values(status="written_off", accruing=False))
    return Recorded(tx, entry_id, get_loan(connection, loan_id))


def preview_write_off(connection: Connection, loan_id: int, *, on: date, today: date) -> WriteOff:
    """What `write_off_loan` would take off the books, read only (the same checks but the reason's)."""
    return _write_off_parts(connection, loan_id, on, today, lock=False)[1]


def _write_off_parts(
    connection: Connection, loan_id: int, on: date, today: date, *, lock: bool
) -> tuple[Row, WriteOff]:
    loan = _disbursed_loan(connection, loan_id, {}, lock=lock)
    current = state(connection, loan)
    _check_date(on, today, current.rows)
    return loan, write_off(totals(current.txs))


def _principal_write_off(connection: Connection, product: Row, loan: Row, principal: int) -> list[Posting]:
    """Cr the loan's receivable; Dr the allowance as far as its credit balance goes, the rest loss."""
    if principal == 0:
        return []
    allowance = product["accounts"].get("allowance")
    held = -books.get_account(connection, allowance)["balance_satang"] if allowance else 0
    used = max(0, min(principal, held))
    debits = [(allowance, used)] if used else []
    if principal > used:
        debits.append((account_for(product, "write_off_expense"), principal - used))
    return [*(Posting(a, x) for a, x in debits), Posting(loan["receivable_account_id"], -principal)]


def _reversal(product: Row, income: str, receivable: str, satang: int) -> list[Posting]:
    if satang == 0:
        return []
    return [Posting(product["accounts"][income], satang), Posting(product["accounts"][receivable], -satang)]


def recover(
    connection: Connection, loan_id: int, *, amount_satang: int, on: date, today: date, user_id: int, now: datetime
) -> Recorded:
    """Cash received on a written-off loan: Dr cash / Cr recovery income. The loan stays written
    off; what is recovered never exceeds what was written off."""
    _check_positive(amount_satang, "a recovery")
    loan = _lock_loan(connection, loan_id)
    if loan["status"] != "written_off":
        raise LedgerError(Rejection.loan_not_written_off, f"loan {loan_id} is {loan['status']}, not written off")
    current = state(connection, loan)
    _check_date(on, today, current.rows)
    sums = totals(current.txs)
    left = sums.written_off_satang - sums.recovered_satang
    if amount_satang > left:
        raise LedgerError(Rejection.recovery_exceeds_written_off, f"only {format_amount(left)} is left to recover")
    product = get_product(connection, loan["product_id"])
    postings = (Posting(product["accounts"]["cash"], amount_satang),
                Posting(account_for(product, "recovery_income"), -amount_satang))  # fmt: skip
    entry_id = _post(connection, loan, on, "loan.recovery", f"Loan {loan_id}: recovery after write-off", postings,
                     user_id, now)  # fmt: skip
    tx = _record_tx(connection, loan, TxKind.recovery, on, entry_id, user_id, now, amount_satang=amount_satang,
                    principal_satang=amount_satang)  # fmt: skip
    return Recorded(tx, entry_id, get_loan(connection, loan_id))


def refund(
    connection: Connection, loan_id: int, *, amount_satang: int, on: date, today: date, user_id: int, now: datetime
) -> Recorded:
    """Pay an overpayment back to the borrower: Dr overpayments / Cr cash, at most the balance."""
    _check_positive(amount_satang, "a refund")
    no_refusal = {"closed": None, "written_off": None}  # an overpayment outlives the loan
    loan = _disbursed_loan(connection, loan_id, no_refusal)
    current = state(connection, loan)
    _check_date(on, today, current.rows)
    held = totals(current.txs).overpayment_balance_satang
    if amount_satang > held:
        raise LedgerError(Rejection.refund_exceeds_overpayment, f"the overpayment balance is {format_amount(held)}")
    accounts = get_product(connection, loan["product_id"])["accounts"]
    postings = (Posting(accounts["overpayments"], amount_satang), Posting(accounts["cash"], -amount_satang))
    entry_id = _post(connection, loan, on, "loan.refund", f"Loan {loan_id}: overpayment refunded", postings,
                     user_id, now)  # fmt: skip
    tx = _record_tx(connection, loan, TxKind.refund, on, entry_id, user_id, now, amount_satang=amount_satang,
                    overpayment_satang=amount_satang)  # fmt: skip
    return Recorded(tx, entry_id, get_loan(connection, loan_id))


# --- rescheduling and moratorium ---------------------------------------------------------------


def _restructurable(connection: Connection, loan_id: int, on: date, *, lock: bool = True) -> tuple[Row, LoanState]:
    """An active loan, locked (unless only read for a preview), and its state, for a new
    schedule version from `on`: not before its last money movement nor before the version in
    force from the latest date."""
    loan = _disbursed_loan(connection, loan_id, {}, lock=lock)
    current = state(connection, loan)
    money = [r["effective_date"] for r in current.rows if r["kind"] in MONEY_KINDS]
    latest = select(func.max(schedule_t.c.effective_from)).where(schedule_t.c.loan_id == loan_id)
    last = max([*money, connection.execute(latest).scalar_one()])
    if on < last:
        raise LedgerError(Rejection.date_before_last_transaction, f"the loan's schedule or money last moved on {last}")
    return loan, current


def reschedule_loan(
    connection: Connection, loan_id: int, *, on: date, reason: str | None, rate_percent: Decimal | None,
    extra_instalments: int, today: date, user_id: int, now: datetime, instalment_satang: int | None = None,
    fold_arrears: bool = True, rate_ends_on: date | None = None,
) -> Row:  # fmt: skip
    """A new schedule version from `on` (`ledger.loan_book.reschedule`), with a reason: a new
    rate, and extra instalments or a new instalment (the term then follows: the fewest
    instalments none of which asks more, `ledger.loan_book.instalments_for`) for the principal
    scheduled after it. The old version is kept.

    Arrears are folded in (`ledger.loan_book.fold_arrears`): the unpaid principal of what fell
    due by `on` is scheduled again with the rest, its unpaid interest spread over the new
    instalments, so the loan is no longer past due for them. Such a version's reason starts
    with `ARREARS_FOLDED`, and no repayment may then be dated before it. A rate change for loans
    meeting a rule passes `fold_arrears=False`: it changes the rate, not what is due, and with
    `rate_ends_on` the rate in force before returns on that day (`ledger.loan_book.reschedule`)."""
    why = _check_reason(reason, "a reschedule")
    change = Reschedule(on, rate_percent, extra_instalments, instalment_satang, fold_arrears, rate_ends_on)
    loan, current, plan, terms = _rescheduled(connection, loan_id, change, today=today, lock=True)
    kept = sum(1 for i in current.plan.instalments if i.due_on <= on)
    folded = plan.instalments[:kept] != current.plan.instalments[:kept]
    _save_plan(connection, loan, plan, terms, on, f"{ARREARS_FOLDED if folded else 'reschedule: '}{why}"[:200],
               user_id, now)  # fmt: skip
    connection.execute(update(loan_t).where(loan_t.c.id == loan_id).values(term_instalments=len(plan.instalments)))
    return get_loan(connection, loan_id)


@dataclass(frozen=True)
class Reschedule:
    """What a reschedule changes from `on` (`reschedule_loan`)."""

    on: date
    rate_percent: Decimal | None
    extra_instalments: int
    instalment_satang: int | None = None
    fold_arrears: bool = True
    rate_ends_on: date | None = None  # a new rate's last day + 1: the rate before returns then


def preview_reschedule(connection: Connection, loan_id: int, change: Reschedule, *, today: date) -> Schedule:
    """The schedule `reschedule_loan` would make, read only (the same checks but the reason's)."""
    return _rescheduled(connection, loan_id, change, today=today, lock=False)[2]


def _rescheduled(
    connection: Connection, loan_id: int, change: Reschedule, *, today: date, lock: bool
) -> tuple[Row, LoanState, Schedule, LoanTerms]:
    """The loan (locked if `lock`), its state, and its schedule and terms after `change`."""
    on, rate_percent, instalment_satang = change.on, change.rate_percent, change.instalment_satang
    extra_instalments = change.extra_instalments
    if rate_percent is None and extra_instalments == 0 and instalment_satang is None:
        raise LedgerError(Rejection.invalid_request, "a reschedule changes the rate, the term or the instalment")
    if extra_instalments < 0:
        raise LedgerError(Rejection.invalid_term, "extra_instalments cannot be negative")
    if instalment_satang is not None and extra_instalments:
        raise LedgerError(Rejection.invalid_request, "give extra instalments or a new instalment, not both")
    if instalment_satang is not None:
        _check_positive(instalment_satang, "an instalment")
    if on > today:
        raise LedgerError(Rejection.date_in_future, f"{on} is after the business date {today}")
    loan, current = _restructurable(connection, loan_id, on, lock=lock)
    folding = totals(current.txs) if change.fold_arrears else None
    if instalment_satang is not None:
        left = sum(1 for i in current.plan.instalments if i.due_on > on)
        count = instalments_for(current.plan, current.terms, on, instalment_satang, rate_percent=rate_percent,
                                folding=folding, accruing=loan["accruing"])  # fmt: skip
        extra_instalments = count - left
    plan, terms = reschedule(current.plan, current.terms, on, rate_percent=rate_percent,
                             extra_instalments=extra_instalments, folding=folding, accruing=loan["accruing"],
                             rate_ends_on=change.rate_ends_on)  # fmt: skip
    return loan, current, plan, terms


def grant_moratorium(
    connection: Connection, loan_id: int, *, first_day: date, last_day: date, reason: str | None, user_id: int,
    now: datetime,
) -> Row:  # fmt: skip
    """Suspend principal and interest over [first_day, last_day], with a reason: the instalments
    due in the span owe nothing and accrue nothing, and every later one moves that many periods
    later (`ledger.loan_book.suspended_periods`). A moratorium may be granted ahead of time."""
    why = _check_reason(reason, "a moratorium")
    loan, plan, terms = _suspended(connection, loan_id, first_day, last_day, lock=True)
    _save_plan(connection, loan, plan, terms, first_day, f"moratorium {first_day}..{last_day}: {why}"[:200],
               user_id, now)  # fmt: skip
    connection.execute(update(loan_t).where(loan_t.c.id == loan_id).values(term_instalments=len(plan.instalments)))
    return get_loan(connection, loan_id)


def preview_moratorium(connection: Connection, loan_id: int, *, first_day: date, last_day: date) -> Schedule:
    """The schedule `grant_moratorium` would make, read only (the same checks but the reason's)."""
    return _suspended(connection, loan_id, first_day, last_day, lock=False)[1]


def _suspended(
    connection: Connection, loan_id: int, first_day: date, last_day: date, *, lock: bool
) -> tuple[Row, Schedule, LoanTerms]:
    loan, current = _restructurable(connection, loan_id, first_day, lock=lock)
    periods = suspended_periods(current.plan, first_day, last_day)
    plan, terms = reschedule(current.plan, current.terms, first_day - timedelta(days=1), suspended_periods=periods)
    return loan, plan, terms


# --- interest rebates, litigation, rate changes for loans meeting a rule -----------------------


def rebate(
    connection: Connection, loan_id: int, *, amount_satang: int, on: date, reason: str | None, to_cash: bool,
    today: date, user_id: int, now: datetime,
) -> Recorded:  # fmt: skip
    """Give interest back to a borrower that repaid well (no days past due on `on`), with a
    reason: Dr interest income / Cr overpayments (refundable, or kept against later dues) or
    cash; at most the interest it has paid and not had back."""
    why = _check_reason(reason, "an interest rebate")
    _check_positive(amount_satang, "a rebate")
    loan = _disbursed_loan(connection, loan_id, {"closed": None})
    current = state(connection, loan)
    _check_date(on, today, current.rows)
    if current.figures(on).days_past_due > 0:
        raise LedgerError(Rejection.not_in_good_standing, f"loan {loan_id} is past due on {on}")
    sums = totals(current.txs)
    left = sums.interest_paid_satang - sums.rebated_satang
    if amount_satang > left:
        raise LedgerError(Rejection.rebate_exceeds_interest_paid, f"only {format_amount(left)} of interest was paid")
    accounts = get_product(connection, loan["product_id"])["accounts"]
    target = accounts["cash"] if to_cash else accounts["overpayments"]
    postings = (Posting(accounts["interest_income"], amount_satang), Posting(target, -amount_satang))
    entry_id = _post(connection, loan, on, "loan.rebate", f"Loan {loan_id}: interest rebate: {why}"[:500], postings,
                     user_id, now)  # fmt: skip
    part = "interest_satang" if to_cash else "overpayment_satang"
    tx = _record_tx(connection, loan, TxKind.rebate, on, entry_id, user_id, now, reason=why,
                    amount_satang=amount_satang, **{part: amount_satang})  # fmt: skip
    return Recorded(tx, entry_id, get_loan(connection, loan_id))


def set_litigation(
    connection: Connection, loan_id: int, *, in_litigation: bool, reason: str | None, on: date, today: date,
    user_id: int, now: datetime,
) -> Row:  # fmt: skip
    """Mark a loan as in litigation (or no longer) from `on`, with a reason: an event of
    `loan_litigation_event` (append-only), so that a rate change's rule reads the loan as it was
    on its own day (`in_litigation_on`); the loan's flag says how it stands on `today`."""
    why = _check_reason(reason, "a change of litigation status")
    if on > today:
        raise LedgerError(Rejection.date_in_future, f"{on} is after the business date {today}")
    loan = _lock_loan(connection, loan_id)
    connection.execute(insert(litigation_t).values(
        book_id=loan["book_id"], loan_id=loan_id, effective_on=on, in_litigation=in_litigation, reason=why,
        recorded_at=now, recorded_by=user_id,
    ))  # fmt: skip
    latest = _latest_litigation(connection, loan_id, today)
    connection.execute(update(loan_t).where(loan_t.c.id == loan_id).values(
        in_litigation=latest["in_litigation"], litigation_reason=latest["reason"]
    ))  # fmt: skip
    return get_loan(connection, loan_id)


def _latest_litigation(connection: Connection, loan_id: int, day: date) -> Row | None:
    """The loan's latest litigation event by `day` (by date, then as recorded), or None."""
    e = litigation_t.c
    query = (select(e.in_litigation, e.reason).where(e.loan_id == loan_id, e.effective_on <= day)
             .order_by(e.effective_on.desc(), e.id.desc()).limit(1))  # fmt: skip
    row = connection.execute(query).mappings().first()
    return dict(row) if row else {"in_litigation": False, "reason": None}


def in_litigation_on(connection: Connection, loan: Row, day: date) -> bool:
    """Whether the loan was in litigation on `day`, by its litigation events; a loan marked before
    events were kept (migration chargeoff) has none, and its flag is read instead."""
    has_events = select(litigation_t.c.id).where(litigation_t.c.loan_id == loan["id"]).limit(1)
    if connection.execute(has_events).first() is None:
        return bool(loan["in_litigation"])
    return _latest_litigation(connection, loan["id"], day)["in_litigation"]


@dataclass(frozen=True)
class RateChangeRule:
    """A rate change for the active loans of a product that meet a rule on `effective_on`: at
    most `max_days_past_due` days past due and not in litigation, both on that day (CODI, 1 June
    2024: 4 % to 3.5 % for loans not more than 3 months in arrears and not in litigation, as a
    one-year trial: with `ends_on`, the rate before returns on that day)."""

    product_id: int
    effective_on: date
    rate_percent: Decimal
    max_days_past_due: int
    reason: str | None
    ends_on: date | None = None


def change_rate_by_rule(
    connection: Connection, rule: RateChangeRule, *, today: date, user_id: int, now: datetime, batch_size: int = 500
) -> dict[str, Any]:
    """Reschedule each eligible loan at the new rate from `effective_on` (a new schedule
    version each); the others are listed with why they were left out."""
    why = _check_reason(rule.reason, "a rate change")
    get_product(connection, rule.product_id)
    if rule.max_days_past_due < 0:
        raise LedgerError(Rejection.invalid_request, "max_days_past_due cannot be negative")
    if rule.ends_on is not None and rule.ends_on <= rule.effective_on:
        raise LedgerError(Rejection.invalid_date_range, f"a rate change from {rule.effective_on} ends after it")
    changed, skipped, after = [], {}, 0
    query = select(loan_t.c.id).where(loan_t.c.product_id == rule.product_id, loan_t.c.status == "active")
    while ids := list(connection.execute(query.where(loan_t.c.id > after).order_by(loan_t.c.id).limit(batch_size))
                      .scalars()):  # fmt: skip
        for loan_id in ids:
            left_out = _ineligible(connection, loan_id, rule)
            if left_out is None:
                try:
                    with connection.begin_nested():
                        reschedule_loan(connection, loan_id, on=rule.effective_on, reason=f"rate change: {why}",
                                        rate_percent=rule.rate_percent, extra_instalments=0, today=today,
                                        user_id=user_id, now=now, fold_arrears=False,
                                        rate_ends_on=rule.ends_on)  # fmt: skip
                except LedgerError as error:
                    left_out = str(error.reason)
            if left_out is None:
                changed.append(loan_id)
            else:
                skipped[loan_id] = left_out
        after = ids[-1]
    return {"changed": changed, "skipped": skipped}


def _ineligible(connection: Connection, loan_id: int, rule: RateChangeRule) -> str | None:
    loan = _lock_loan(connection, loan_id)
    if in_litigation_on(connection, loan, rule.effective_on):
        return "in_litigation"
    if state(connection, loan).figures(rule.effective_on).days_past_due > rule.max_days_past_due:
        return "in_arrears"
    return None
