"""Loans in the database: products, a loan's life cycle (application, approval, disbursement,
repayment), and its figures, schedule and statement read back.

A loan is a `loan` row (its state in the life cycle), its schedule versions (`loan_schedule`
and `loan_instalment`) and its loan transactions (`loan_transaction`); the last two are
append-only. Every money movement is one journal entry, recorded with `journal.record_entry` in
the same transaction as the loan transaction that names it, so what `ledger.loan_book` derives
from a loan's transactions is what the journal says: the principal outstanding is the balance of
the loan's own receivable sub-account (a child of 1200 carrying the borrower party).

    disbursement  Dr the loan's receivable sub-account       Cr cash at bank (1100)
    repayment     Dr cash at bank                            Cr penalty income (4200)
                                                             Cr interest receivable (1210), as far as
                                                                accrued; the rest interest income (4100)
                                                             Cr the loan's receivable sub-account
                                                             Cr overpayments from borrowers (2100)
    accrual       (close of business: store.loan_cob)        Dr 1210 / Cr 4100; a reversal the opposite

The accounts are the product's, chosen by code when it is made, by default the fund chart's.
A write locks the loan's row before the journal locks balance rows, as close of business does.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.accounts import EntryDraft, Posting
from ledger.errors import LedgerError, Rejection
from ledger.loan_book import (
    Figures,
    LoanTx,
    Totals,
    TxKind,
    figures,
    is_settled,
    missing_savings_satang,
    repayment,
    totals,
    with_tranche,
)
from ledger.loans import Instalment, LoanTerms, RateChange, Schedule
from ledger.money import format_amount
from store import books, journal
from store.tables import Loan, LoanInstalment, LoanProduct, LoanProductRate, LoanSchedule, LoanTransaction

product_t = LoanProduct.__table__
rate_t = LoanProductRate.__table__
loan_t = Loan.__table__
schedule_t = LoanSchedule.__table__
instalment_t = LoanInstalment.__table__
loan_tx_t = LoanTransaction.__table__

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
# CODI lends to groups only, never to individuals or to other public bodies.
BORROWER_KINDS = frozenset({"savings_group", "cooperative", "network", "community_enterprise"})
MONEY_KINDS = (TxKind.disbursement.value, TxKind.repayment.value)
MAX_RATE_CHANGES = 100


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
    accounts = _account_ids(connection, book["id"], {**DEFAULT_ACCOUNT_CODES, **fields_.get("account_codes", {})})
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
    return {**row, "terms": terms, "accounts": json.loads(row["accounts"]),
            "min_savings_percent": Decimal(row["min_savings_percent"])}  # fmt: skip


def list_products(connection: Connection, *, after: int, limit: int) -> list[Row]:
    query = select(product_t).where(product_t.c.id > after).order_by(product_t.c.id).limit(limit)
    return [_product(connection, dict(r)) for r in connection.execute(query).mappings()]


def loan_terms(product: Row, loan: Row) -> LoanTerms:
    """The product's terms with the loan's own term and first repayment date."""
    return replace(product["terms"], term_instalments=loan["term_instalments"],
                   first_repayment_on=loan["first_repayment_on"])  # fmt: skip


# --- application and approval ------------------------------------------------------------------


def apply(connection: Connection, fields_: Row, *, recorded_by: int, now: datetime) -> Row:
    """Record an application for a borrower group under a product: status `applied`."""
    product = get_product(connection, fields_["product_id"])
    borrower = books.get_party(connection, fields_["borrower_party_id"])
    if borrower["kind"] not in BORROWER_KINDS:
        kinds = ", ".join(sorted(BORROWER_KINDS))
        raise LedgerError(Rejection.ineligible_borrower, f"CODI lends to groups ({kinds}), not to a {borrower['kind']}")
    _check_positive(fields_["amount_satang"], "the amount")
    term = fields_.get("term_instalments")
    term = product["terms"].term_instalments if term is None else term
    loan = {"term_instalments": term, "first_repayment_on": fields_.get("first_repayment_on")}
    loan_terms(product, loan)  # refuses a bad term before anything is written
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
    if loan["status"] != "applied":
        raise LedgerError(Rejection.loan_not_pending_approval, f"loan {loan_id} is {loan['status']}, not applied")
    if loan["recorded_by"] == approved_by:
        raise LedgerError(Rejection.same_user_approval, "a loan is approved by someone other than who recorded it")
    connection.execute(
        update(loan_t).where(loan_t.c.id == loan_id).values(status="approved", approved_by=approved_by, approved_at=now)
    )
    return get_loan(connection, loan_id)


# --- reading loans -----------------------------------------------------------------------------


def get_loan(connection: Connection, loan_id: int) -> Row:
    row = connection.execute(select(loan_t).where(loan_t.c.id == loan_id)).mappings().first()
    if row is None:
        raise books.not_found("loan", loan_id)
    return {**row, "guarantors": json.loads(row["guarantors"])}


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
    if only_party is not None:
        query = query.where(loan_t.c.borrower_party_id == only_party)
    return [{**r, "guarantors": json.loads(r["guarantors"])} for r in connection.execute(query).mappings()]


def plans_of(connection: Connection, loan_ids: Sequence[int], as_of: date | None) -> dict[int, tuple[Schedule, str]]:
    """Each loan's schedule in force on `as_of` (the newest version by then; the newest of all
    if None) and the terms it was made under, as JSON. Loans with no version then are absent."""
    if not loan_ids:
        return {}
    newest = select(schedule_t.c.loan_id, func.max(schedule_t.c.version).label("version")).where(
        schedule_t.c.loan_id.in_(loan_ids)
    )
    if as_of is not None:
        newest = newest.where(schedule_t.c.effective_from <= as_of)
    newest = newest.group_by(schedule_t.c.loan_id).subquery()
    on_newest = and_(schedule_t.c.loan_id == newest.c.loan_id, schedule_t.c.version == newest.c.version)
    versions = connection.execute(select(schedule_t).join(newest, on_newest)).mappings().all()
    rows: dict[int, list[Instalment]] = {v["loan_id"]: [] for v in versions}
    query = (
        select(instalment_t)
        .join(newest, and_(instalment_t.c.loan_id == newest.c.loan_id, instalment_t.c.version == newest.c.version))
        .order_by(instalment_t.c.loan_id, instalment_t.c.number)
    )
    for i in connection.execute(query):
        rows[i.loan_id].append(Instalment(i.number, i.due_on, i.principal_satang, i.interest_satang,
                                          i.principal_satang + i.interest_satang, i.outstanding_after_satang,
                                          i.interest_accrued_satang))  # fmt: skip
    return {
        v["loan_id"]: (Schedule(v["amount_satang"], v["disbursed_on"], tuple(rows[v["loan_id"]])), v["terms"])
        for v in versions
    }


def transactions(connection: Connection, loan: Row) -> list[Row]:
    """The loan's transactions in date order (and in the order recorded within a day)."""
    query = (
        select(loan_tx_t)
        .where(loan_tx_t.c.book_id == loan["book_id"], loan_tx_t.c.loan_id == loan["id"])
        .order_by(loan_tx_t.c.effective_date, loan_tx_t.c.id)
    )
    return [dict(r) for r in connection.execute(query).mappings()]


def as_tx(row: Row) -> LoanTx:
    return LoanTx(TxKind(row["kind"]), row["effective_date"], row["amount_satang"], row["principal_satang"],
                  row["interest_satang"], row["penalty_satang"], row["overpayment_satang"],
                  row["interest_from_receivable_satang"])  # fmt: skip


def sums_of(connection: Connection, loan_ids: Sequence[int], as_of: date | None = None) -> dict[int, Totals]:
    """`ledger.loan_book.totals` of many loans at once, summed by the database."""
    c = loan_tx_t.c

    def total(column, kinds: tuple[str, ...]):
        return func.coalesce(func.sum(case((c.kind.in_(kinds), column), else_=0)), 0)

    repaid = (TxKind.repayment.value,)
    columns = {
        "disbursed_satang": total(c.principal_satang, (TxKind.disbursement.value,)),
        "principal_repaid_satang": total(c.principal_satang, repaid),
        "interest_paid_satang": total(c.interest_satang, repaid),
        "penalty_paid_satang": total(c.penalty_satang, repaid),
        "overpaid_satang": total(c.overpayment_satang, repaid),
        "accrued_satang": total(c.interest_satang, (TxKind.accrual.value,)),
        "reversed_satang": total(c.interest_satang, (TxKind.accrual_reversal.value,)),
        "interest_paid_from_receivable_satang": total(c.interest_from_receivable_satang, repaid),
    }
    query = select(c.loan_id, *[column.label(name) for name, column in columns.items()]).where(c.loan_id.in_(loan_ids))
    if as_of is not None:
        query = query.where(c.effective_date <= as_of)
    rows = connection.execute(query.group_by(c.loan_id)).mappings()
    return {r["loan_id"]: Totals(**{name: int(r[name]) for name in columns}) for r in rows}


def payments_of(connection: Connection, loan_ids: Sequence[int], as_of: date) -> dict[int, list[tuple[date, int]]]:
    """What each loan's repayments up to `as_of` paid towards instalments (interest and principal)."""
    c = loan_tx_t.c
    query = (
        select(c.loan_id, c.effective_date, c.interest_satang + c.principal_satang)
        .where(c.loan_id.in_(loan_ids), c.kind == TxKind.repayment.value, c.effective_date <= as_of)
        .order_by(c.loan_id, c.effective_date, c.id)
    )
    paid: dict[int, list[tuple[date, int]]] = {}
    for loan_id, day, satang in connection.execute(query):
        paid.setdefault(loan_id, []).append((day, int(satang)))
    return paid


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


# --- disbursement and repayment ----------------------------------------------------------------


def _check_date(on: date, today: date, rows: list[Row]) -> None:
    if on > today:
        raise LedgerError(Rejection.date_in_future, f"{on} is after the business date {today}")
    money = [r["effective_date"] for r in rows if r["kind"] in MONEY_KINDS]
    if money and on < max(money):
        # A backdated repayment would re-allocate the later ones: not supported yet.
        raise LedgerError(
            Rejection.date_before_last_transaction, f"the loan's last disbursement or repayment is dated {max(money)}"
        )


_STATUS_REFUSALS = {
    "closed": (Rejection.loan_closed, "is closed"),
    "written_off": (Rejection.loan_written_off, "is written off"),
}


def _refuse_status(loan: Row, refusals: dict[str, tuple[Rejection, str]]) -> None:
    refusal = {**_STATUS_REFUSALS, **refusals}.get(loan["status"])
    if refusal is not None:
        raise LedgerError(refusal[0], f"loan {loan['id']} {refusal[1]}")


@dataclass(frozen=True)
class Recorded:
    """A loan transaction just recorded, its entry, and the loan after it."""

    transaction: Row
    entry_id: int
    loan: Row


def disburse(
    connection: Connection, loan_id: int, *, amount_satang: int, on: date, today: date, user_id: int, now: datetime
) -> Recorded:
    """Pay out a tranche: Dr the loan's receivable sub-account / Cr cash. The loan's schedule
    gets a new version (the first disbursement fixes the first)."""
    _check_positive(amount_satang, "a disbursement")
    loan = _lock_loan(connection, loan_id)
    _refuse_status(loan, {"applied": (Rejection.loan_not_approved, "is not approved yet")})
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
    now: datetime,
) -> None:  # fmt: skip
    latest = select(func.max(schedule_t.c.version)).where(schedule_t.c.loan_id == loan["id"])
    version = (connection.execute(latest).scalar_one() or 0) + 1
    connection.execute(insert(schedule_t).values(
        loan_id=loan["id"], version=version, book_id=loan["book_id"], effective_from=on,
        disbursed_on=plan.disbursed_on, amount_satang=plan.amount_satang, terms=terms_json(terms),
        reason=reason, created_at=now, created_by=user_id,
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
    connection: Connection, loan: Row, kind: TxKind, on: date, entry_id: int, user_id: int, now: datetime, **parts: int
) -> Row:
    values = tx_values(loan, kind, on, entry_id, user_id, now, **parts)
    tx_id = connection.execute(insert(loan_tx_t).values(**values)).inserted_primary_key[0]
    return {**values, "id": tx_id}


def repay(
    connection: Connection, loan_id: int, *, amount_satang: int, on: date, today: date, user_id: int, now: datetime
) -> Recorded:
    """Take a repayment: allocated in the product's order against what is due on its date; the
    excess is an overpayment (a liability). A loan whose schedule is all paid is closed."""
    _check_positive(amount_satang, "a repayment")
    loan = _lock_loan(connection, loan_id)
    _refuse_status(loan, dict.fromkeys(("applied", "approved"), (Rejection.loan_not_disbursed, "is not disbursed")))
    current = state(connection, loan)
    _check_date(on, today, current.rows)  # so also on or after the disbursements
    sums = totals(current.txs)
    allocation, from_receivable = repayment(amount_satang, current.plan, current.terms, sums, on)
    accounts = get_product(connection, loan["product_id"])["accounts"]
    credits = [
        (accounts["penalty_income"], allocation.penalty_satang),
        (accounts["interest_receivable"], from_receivable),
        (accounts["interest_income"], allocation.interest_satang - from_receivable),
        (loan["receivable_account_id"], allocation.principal_satang),
        (accounts["overpayments"], allocation.overpayment_satang),
    ]
    postings = (Posting(accounts["cash"], amount_satang), *[Posting(a, -x) for a, x in credits if x])
    entry_id = _post(connection, loan, on, "loan.repayment", f"Loan {loan_id}: repayment", postings, user_id, now)
    tx = _record_tx(connection, loan, TxKind.repayment, on, entry_id, user_id, now, amount_satang=amount_satang,
                    principal_satang=allocation.principal_satang, interest_satang=allocation.interest_satang,
                    penalty_satang=allocation.penalty_satang, overpayment_satang=allocation.overpayment_satang,
                    interest_from_receivable_satang=from_receivable)  # fmt: skip
    if is_settled(current.plan, totals([*current.txs, as_tx(tx)])):
        connection.execute(update(loan_t).where(loan_t.c.id == loan_id).values(status="closed", closed_on=on))
    return Recorded(tx, entry_id, get_loan(connection, loan_id))
