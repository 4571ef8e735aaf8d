"""Welfare funds in the database: contribution rules, sales and their reversals, settlements,
the fund's member and matching contributions, benefits and administration costs, and the reads
(a fund's statement and receivables, an enterprise's summary, programme totals).

An enterprise is a party owning a book of kind `enterprise`; a welfare fund, a party owning a
book of kind `welfare_fund`. Each pair of them gets four sub-accounts on first use, each carrying
the other party (as loans get one per borrower):

    enterprise book   2200-F<fund>  contributions payable to the fund     (child of 2200)
                      1400-F<fund>  contributions paid to it in advance   (child of 1400)
    fund book         1200-E<ent>   contributions receivable from it      (child of 1200)
                      2100-E<ent>   contributions it paid in advance      (child of 2100)

so the enterprise's payable to a fund is the fund's receivable from it, account for account.
Every operation writes its entries (one per book) with `journal.record_entries` inside one
savepoint, with the rows that name them: all of them, or none. A write locks the balance rows
of every account it touches, in ascending order (the order the journal locks them in), before it
reads an advance or what is owed.
"""

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, Select, case, cast, func, insert, select, text, update

from ledger.accounts import EntryDraft, Posting
from ledger.calendar import fiscal_year_bounds, fiscal_year_of, parse_client_date
from ledger.charts import CHARTS, BookKind
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount, parse_amount
from ledger.text import check_storable
from ledger.welfare import (
    DEFAULT_ADMIN_CAP_PERCENT,
    MEMBER_DAILY_SATANG,
    AdminCap,
    Channel,
    ContributionRule,
    Frequency,
    FundStatement,
    MatchingKind,
    MatchingSource,
    Owed,
    Payment,
    admin_cap,
    age_bucket,
    age_buckets,
    allocate_settlement,
    benefit_type,
    check_admin_cost,
    check_advance_refund,
    check_codi_leg,
    check_product_lines,
    check_rule,
    compose_statement,
    contribution_satang,
    member_contribution_expected,
    plan_settlement_reversal,
    refuse_overlap,
    rule_in_force,
)
from store import audit_log, books, journal, users
from store.bulk import (
    MAX_LINE_BYTES,
    REASON_FIELD,
    ImportReport,
    batches,
    drop_known_keys,
    keep_recorded,
    without_reason,
)
from store.engine import Database
from store.equity import fund_book as codi_fund_book
from store.rows import insert_rows, one_of
from store.tables import ContributionRule as RuleRow
from store.tables import (
    WelfareAdminCost,
    WelfareAdvanceRefund,
    WelfareAllocation,
    WelfareBenefit,
    WelfareCodiLeg,
    WelfareFundSetting,
    WelfareMatching,
    WelfareMemberContribution,
    WelfareSale,
    WelfareSaleReversal,
    WelfareSettlement,
    WelfareSettlementReversal,
)

rule_t = RuleRow.__table__
sale_t = WelfareSale.__table__
reversal_t = WelfareSaleReversal.__table__
settlement_t = WelfareSettlement.__table__
allocation_t = WelfareAllocation.__table__
member_t = WelfareMemberContribution.__table__
matching_t = WelfareMatching.__table__
benefit_t = WelfareBenefit.__table__
admin_t = WelfareAdminCost.__table__
setting_t = WelfareFundSetting.__table__
settlement_reversal_t = WelfareSettlementReversal.__table__
refund_t = WelfareAdvanceRefund.__table__
codi_leg_t = WelfareCodiLeg.__table__
account_t, balance_t, book_t = books.account_t, books.balance_t, books.book_t

Row = dict[str, Any]


def _not_undone(table, reversals, key: str, as_of: date | None = None):
    """The condition that a row of `table` (sales, settlements) has no reversal in `reversals`
    (by `as_of`, if given: a reversal dated later did not stand yet)."""
    undone = reversals.c[key] == table.c.id
    if as_of is not None:
        undone &= reversals.c.effective_date <= as_of
    return ~select(reversals.c[key]).where(undone).exists()


LIVE_SALE = _not_undone(sale_t, reversal_t, "sale_id")
LIVE_SETTLEMENT = _not_undone(settlement_t, settlement_reversal_t, "settlement_id")
MATCHING_ACCOUNTS = {  # source -> its sub-account of 1300 (suffix, names), its income account
    MatchingSource.local_authority: ("LA", "local authority", "องค์กรปกครองส่วนท้องถิ่น", "4200"),
    MatchingSource.government: ("GOV", "government through CODI", "รัฐบาลผ่าน พอช.", "4300"),
    MatchingSource.donor: ("DONOR", "other donors", "ผู้บริจาคอื่น", "4500"),
}


# --- books and accounts ------------------------------------------------------------------------


def _books_of(connection: Connection, party_ids: Iterable[int], kind: BookKind) -> dict[int, Row]:
    """The book of `kind` each party owns (its first, if several)."""
    query = (
        select(book_t).where(one_of(connection, book_t.c.party_id, sorted(set(party_ids))), book_t.c.kind == kind.value)
        .order_by(book_t.c.id.desc())
    )  # fmt: skip
    return {r["party_id"]: dict(r) for r in connection.execute(query).mappings()}


def enterprise_book(connection: Connection, party_id: int) -> Row:
    book = _books_of(connection, [party_id], BookKind.enterprise).get(party_id)
    if book is None:
        raise books.not_found("enterprise (a party with an enterprise book)", party_id)
    return book


def fund_book(connection: Connection, party_id: int) -> Row:
    book = _books_of(connection, [party_id], BookKind.welfare_fund).get(party_id)
    if book is None:
        raise books.not_found("welfare fund (a party with a welfare fund book)", party_id)
    return book


class Accounts:
    """Account ids by (book, code), loaded for a set of books once, sub-accounts made on first use.
    With `codes`, only those codes are loaded (a batch of sales needs a few of each book's); any
    other is looked up when first asked for, so the list is a saving, never a condition."""

    def __init__(self, connection: Connection, book_ids: Iterable[int], now: datetime,
                 codes: Iterable[str] | None = None) -> None:  # fmt: skip
        self.connection, self.now, self.complete = connection, now, codes is None
        query = select(account_t.c.book_id, account_t.c.code, account_t.c.id).where(
            one_of(connection, account_t.c.book_id, sorted(set(book_ids)))
        )
        if codes is not None:
            query = query.where(one_of(connection, account_t.c.code, sorted(set(codes))))
        self.ids: dict[tuple[int, str], int] = {(b, c): i for b, c, i in connection.execute(query)}

    def _known(self, key: tuple[int, str]) -> bool:
        """Whether the account exists, looked up in the database if it was not loaded."""
        if key not in self.ids and not self.complete:
            book_id, code = key
            query = select(account_t.c.id).where(account_t.c.book_id == book_id, account_t.c.code == code)
            if (found := self.connection.execute(query).scalar()) is not None:
                self.ids[key] = found
        return key in self.ids

    def __call__(self, book: Row, code: str) -> int:
        """The account `code` of the book; a chart account the book was made without is added."""
        key = (book["id"], code)
        if not self._known(key):
            line = next(x for x in CHARTS[BookKind(book["kind"])] if x.code == code)
            self.ids[key] = self._create(book, code, line.name_en, line.name_th, line.type.value, line.rule.value)
        return self.ids[key]

    def sub(self, book: Row, control: str, suffix: str, *, name_en: str, name_th: str, party_id: int | None) -> int:
        """The sub-account `<control>-<suffix>` of the control account, named after its control."""
        code = f"{control}-{suffix}"
        key = (book["id"], code)
        if not self._known(key):
            parent = books.get_account(self.connection, self(book, control))
            self.ids[key] = self._create(book, code, f"{parent['name_en']}: {name_en}"[:200],
                                         f"{parent['name_th']}: {name_th}"[:200], parent["type"],
                                         parent["balance_rule"], parent["id"], party_id)  # fmt: skip
        return self.ids[key]

    def of_party(self, book: Row, control: str, party: Row, prefix: str) -> int:
        """The sub-account of `control` carrying `party` (code `<control>-<prefix><party id>`)."""
        return self.sub(book, control, f"{prefix}{party['id']}", name_en=party["name_en"] or party["name_th"],
                        name_th=party["name_th"], party_id=party["id"])  # fmt: skip

    def _create(self, book: Row, code: str, name_en: str, name_th: str, type_: str, rule: str,
                parent_id: int | None = None, party_id: int | None = None) -> int:  # fmt: skip
        fields_ = {"book_id": book["id"], "code": code, "name_en": name_en, "name_th": name_th, "type": type_,
                   "balance_rule": rule, "parent_id": parent_id, "party_id": party_id}  # fmt: skip
        return books.create_account(self.connection, fields_, now=self.now)["id"]


@dataclass(frozen=True)
class Pair:
    """The accounts one enterprise and one fund settle contributions through."""

    enterprise_book: Row
    fund_book: Row
    payable: int  # enterprise 2200-F<fund>
    prepaid: int  # enterprise 1400-F<fund>
    enterprise_cash: int
    receivable: int  # fund 1200-E<enterprise>
    advance: int  # fund 2100-E<enterprise>
    fund_cash: int

    @property
    def account_ids(self) -> set[int]:
        return {self.payable, self.prepaid, self.enterprise_cash, self.receivable, self.advance, self.fund_cash}


def pair(accounts: Accounts, enterprise: Row, fund: Row) -> Pair:
    """`enterprise` and `fund` are their books, with their parties as `party`."""
    return Pair(
        enterprise, fund,
        payable=accounts.of_party(enterprise, "2200", fund["party"], "F"),
        prepaid=accounts.of_party(enterprise, "1400", fund["party"], "F"),
        enterprise_cash=accounts(enterprise, "1100"),
        receivable=accounts.of_party(fund, "1200", enterprise["party"], "E"),
        advance=accounts.of_party(fund, "2100", enterprise["party"], "E"),
        fund_cash=accounts(fund, "1100"),
    )  # fmt: skip


def _with_parties(connection: Connection, books_by_party: dict[int, Row]) -> dict[int, Row]:
    if books_by_party:
        parties = books.party_t
        query = select(parties).where(one_of(connection, parties.c.id, sorted(books_by_party)))
        for party in connection.execute(query).mappings():
            books_by_party[party["id"]]["party"] = dict(party)
    return books_by_party


def _lock(connection: Connection, account_ids: Iterable[int]) -> dict[int, int]:
    """Lock the balance rows in ascending account order (the journal's order); their balances."""
    query = (
        select(balance_t.c.account_id, balance_t.c.balance_satang)
        .where(one_of(connection, balance_t.c.account_id, sorted(set(account_ids))))
        .order_by(balance_t.c.account_id)
        .with_for_update()
    )
    return dict(connection.execute(query).all())


def _record_together(connection: Connection, drafts: Sequence[EntryDraft], user_id: int, now: datetime) -> list[int]:
    """Record the drafts, all or none: the first refusal is raised, having written nothing."""
    with connection.begin_nested() as savepoint:
        outcomes = journal.record_entries(connection, drafts, recorded_by=user_id, recorded_at=now)
        errors = [o for o in outcomes if isinstance(o, LedgerError)]
        if errors:
            savepoint.rollback()
            raise errors[0]
    return outcomes  # type: ignore[return-value]


def _draft(book: Row, on: date, kind: str, description: str, lines: Iterable[tuple[int, int]], **dims) -> EntryDraft:
    postings = tuple(Posting(account_id, amount) for account_id, amount in lines if amount)
    dimensions = {k: str(v)[:100] for k, v in dims.items() if v is not None}
    return EntryDraft(book["id"], on, kind, description[:500], postings, dimensions)


def _post_pair(connection: Connection, the_pair: Pair, on: date, kind: str, description: str, *,
               enterprise_lines: Iterable[tuple[int, int]], fund_lines: Iterable[tuple[int, int]], user_id: int,
               now: datetime) -> list[int]:  # fmt: skip
    """One entry in the enterprise's book and one in the fund's, both or neither; their ids."""
    return _record_together(connection, [
        _draft(the_pair.enterprise_book, on, kind, description, enterprise_lines, fund=the_pair.fund_book["party_id"]),
        _draft(the_pair.fund_book, on, kind, description, fund_lines, enterprise=the_pair.enterprise_book["party_id"]),
    ], user_id, now)  # fmt: skip


# --- contribution rules ------------------------------------------------------------------------


def _rule(row: Row) -> ContributionRule:
    return ContributionRule(row["enterprise_party_id"], row["fund_party_id"], Decimal(row["rate_percent"]),
                            Channel(row["channel"]) if row["channel"] else None, row["effective_from"],
                            row["effective_to"], row["id"])  # fmt: skip


def _rules_of(connection: Connection, enterprise_ids: Iterable[int]) -> dict[int, list[ContributionRule]]:
    query = select(rule_t).where(one_of(connection, rule_t.c.enterprise_party_id, sorted(set(enterprise_ids))))
    found: dict[int, list[ContributionRule]] = {}
    for row in connection.execute(query).mappings():
        found.setdefault(row["enterprise_party_id"], []).append(_rule(row))
    return found


def _lock_party(connection: Connection, party_id: int) -> None:
    """One writer of an enterprise's rules at a time (the party row is the lock)."""
    connection.execute(select(books.party_t.c.id).where(books.party_t.c.id == party_id).with_for_update())


def create_rule(connection: Connection, rule: ContributionRule, *, user_id: int, now: datetime) -> Row:
    check_rule(rule)
    enterprise_book(connection, rule.enterprise_party_id)
    fund_book(connection, rule.fund_party_id)
    _lock_party(connection, rule.enterprise_party_id)
    refuse_overlap(rule, _rules_of(connection, [rule.enterprise_party_id]).get(rule.enterprise_party_id, []))
    _refuse_repricing(connection, rule)
    values = {"enterprise_party_id": rule.enterprise_party_id, "fund_party_id": rule.fund_party_id,
              "rate_percent": str(rule.rate_percent), "channel": rule.channel and rule.channel.value,
              "effective_from": rule.effective_from, "effective_to": rule.effective_to,
              "created_at": now, "created_by": user_id}  # fmt: skip
    rule_id = connection.execute(insert(rule_t).values(**values)).inserted_primary_key[0]
    return get_rule(connection, rule_id)


def _refuse_repricing(connection: Connection, rule: ContributionRule) -> None:
    """A new rule may not become the rule in force for a sale already recorded: a rule for a
    channel would displace the rule a sale of that channel had; a rule for all channels would
    price a sale recorded without one."""
    query = select(sale_t.c.id, sale_t.c.effective_date).where(
        sale_t.c.enterprise_party_id == rule.enterprise_party_id, LIVE_SALE,
        sale_t.c.effective_date >= rule.effective_from, sale_t.c.effective_date <= (rule.effective_to or date.max),
        sale_t.c.channel == rule.channel.value if rule.channel else sale_t.c.rule_id.is_(None),
    )  # fmt: skip
    sale = connection.execute(query.limit(1)).first()
    if sale is not None:
        raise LedgerError(
            Rejection.rule_already_used,
            f"sale {sale.id} of {sale.effective_date} was priced without this rule; a rule does not reprice a sale",
        )


def end_rule(connection: Connection, rule_id: int, *, effective_to: date) -> Row:
    """Set the last day a rule applies; not before a live sale it already priced."""
    current = _rule(get_rule(connection, rule_id))
    _lock_party(connection, current.enterprise_party_id)
    ended = replace(current, effective_to=effective_to)
    check_rule(ended)
    refuse_overlap(ended, _rules_of(connection, [ended.enterprise_party_id])[ended.enterprise_party_id])
    last = select(func.max(sale_t.c.effective_date)).where(sale_t.c.rule_id == rule_id, LIVE_SALE)
    last_sale = connection.execute(last).scalar_one()
    if last_sale is not None and last_sale > effective_to:
        raise LedgerError(Rejection.rule_already_used, f"rule {rule_id} priced a sale on {last_sale}")
    connection.execute(update(rule_t).where(rule_t.c.id == rule_id).values(effective_to=effective_to))
    return get_rule(connection, rule_id)


def get_rule(connection: Connection, rule_id: int) -> Row:
    row = connection.execute(select(rule_t).where(rule_t.c.id == rule_id)).mappings().first()
    if row is None:
        raise books.not_found("contribution rule", rule_id)
    return dict(row)


def list_rules(connection: Connection, *, filters: Row, only_party: int | None, after: int, limit: int) -> list[Row]:
    query = select(rule_t).where(rule_t.c.id > after).order_by(rule_t.c.id).limit(limit)
    for name in ("enterprise_party_id", "fund_party_id"):
        if filters.get(name) is not None:
            query = query.where(rule_t.c[name] == filters[name])
    if only_party is not None:
        query = query.where((rule_t.c.enterprise_party_id == only_party) | (rule_t.c.fund_party_id == only_party))
    return [dict(r) for r in connection.execute(query).mappings()]


# --- sales -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaleRequest:
    enterprise_party_id: int
    effective_date: date
    channel: Channel
    amount_satang: int
    payment: Payment = Payment.cash
    description: str | None = None
    lines: tuple[Row, ...] = ()  # product lines, as given (amounts already checked to sum)
    allow_zero_contribution: bool = False  # record without a rule in force, contributing nothing


@dataclass
class _Planned:
    """A sale request with its books, rule and contribution, before its entries are drafted."""

    request: SaleRequest
    enterprise: Row
    rule: ContributionRule | None = None
    contribution_satang: int = 0
    accounts: Accounts | None = None
    pair: Pair | None = None
    advance_applied_satang: int = 0
    drafts: list[EntryDraft] = field(default_factory=list)


def record_sales(
    connection: Connection, requests: Sequence[SaleRequest], *, user_id: int, now: datetime
) -> list[Row | LedgerError]:
    """Record sales in order, each in both books or in neither; each answer is the sale's row
    (naming its entries) or the error that refused it. A sale whose entries the journal refuses is
    dropped and the rest drafted again, so no sale is ever half recorded."""
    answers: list[Row | LedgerError | None] = [None] * len(requests)
    planned = _plan_sales(connection, requests, answers, now)
    while True:
        pending = {i: p for i, p in planned.items() if answers[i] is None}
        balances = _lock(connection, {a for p in pending.values() if p.pair for a in p.pair.account_ids})
        for p in pending.values():
            _draft_sale(p, balances)
        drafts = [d for p in pending.values() for d in p.drafts]
        with connection.begin_nested() as savepoint:
            outcomes = iter(journal.record_entries(connection, drafts, recorded_by=user_id, recorded_at=now))
            entry_ids = {i: [next(outcomes) for _ in p.drafts] for i, p in pending.items()}
            refused = {i: next(e for e in ids if isinstance(e, LedgerError))
                       for i, ids in entry_ids.items() if any(isinstance(e, LedgerError) for e in ids)}  # fmt: skip
            if refused:
                savepoint.rollback()
                for index, error in refused.items():
                    answers[index] = error
                continue
        for i, row in _insert_sales(connection, pending, entry_ids, user_id, now).items():
            answers[i] = row
        return answers  # type: ignore[return-value]


def _plan_sales(
    connection: Connection, requests: Sequence[SaleRequest], answers: list, now: datetime
) -> dict[int, _Planned]:
    """Each request's books, rule and contribution; a request refused here gets its error."""
    enterprises = _with_parties(
        connection, _books_of(connection, (r.enterprise_party_id for r in requests), BookKind.enterprise)
    )
    rules = _rules_of(connection, enterprises)
    planned: dict[int, _Planned] = {}
    for index, request in enumerate(requests):
        try:
            planned[index] = _plan_sale(request, enterprises, rules)
        except LedgerError as error:
            answers[index] = error
    fund_ids = {p.rule.fund_party_id for p in planned.values() if p.contribution_satang}
    funds = _with_parties(connection, _books_of(connection, fund_ids, BookKind.welfare_fund))
    book_ids = [*(b["id"] for b in enterprises.values()), *(b["id"] for b in funds.values())]
    accounts = Accounts(connection, book_ids, now, codes=_sale_codes(planned.values()))
    for index, p in planned.items():
        if p.contribution_satang:
            if p.rule.fund_party_id not in funds:
                answers[index] = books.not_found("welfare fund", p.rule.fund_party_id)
                continue
            p.pair = pair(accounts, p.enterprise, funds[p.rule.fund_party_id])
        p.accounts = accounts
    return {i: p for i, p in planned.items() if answers[i] is None}


def contribution_preview(connection: Connection, request: SaleRequest) -> tuple[ContributionRule | None, int]:
    """The rule a sale would be priced by and the contribution it would take, found by the very
    step that records it (`_plan_sale`), writing nothing: a page's check-your-answers step."""
    enterprises = _books_of(connection, [request.enterprise_party_id], BookKind.enterprise)
    planned = _plan_sale(request, enterprises, _rules_of(connection, enterprises))
    return planned.rule, planned.contribution_satang


def _sale_codes(planned: Iterable[_Planned]) -> set[str]:
    """The codes of the accounts the sales' entries and their pairs (`pair`) may move."""
    codes = {"1100", "1200", "1400", "2100", "2200", "4100", "4400", "5200"}
    for p in planned:
        if p.rule:
            codes |= {f"2200-F{p.rule.fund_party_id}", f"1400-F{p.rule.fund_party_id}",
                      f"1200-E{p.request.enterprise_party_id}", f"2100-E{p.request.enterprise_party_id}"}  # fmt: skip
    return codes


def _plan_sale(request: SaleRequest, enterprises: dict[int, Row], rules: dict[int, list[ContributionRule]]) -> _Planned:
    if request.amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a sale's amount must be more than zero")
    enterprise = enterprises.get(request.enterprise_party_id)
    if enterprise is None:
        raise books.not_found("enterprise (a party with an enterprise book)", request.enterprise_party_id)
    rule = rule_in_force(rules.get(request.enterprise_party_id, ()), channel=request.channel,
                         on=request.effective_date)  # fmt: skip
    if rule is None and not request.allow_zero_contribution:
        raise LedgerError(
            Rejection.no_rule_in_force,
            f"enterprise {request.enterprise_party_id} has no contribution rule for {request.channel} on "
            f"{request.effective_date}; send allow_zero_contribution to record it contributing nothing",
        )
    contribution = contribution_satang(request.amount_satang, rule.rate_percent) if rule else 0
    return _Planned(request, enterprise, rule, contribution)


def _draft_sale(p: _Planned, balances: dict[int, int]) -> None:
    """The sale's entries; an advance the enterprise paid the fund settles its contribution first
    (`balances` holds the advance left, and loses what this sale uses)."""
    r, accounts, enterprise = p.request, p.accounts, p.enterprise
    debit = accounts(enterprise, "1100" if r.payment is Payment.cash else "1200")
    contribution = p.contribution_satang
    p.advance_applied_satang = min(contribution, balances.get(p.pair.prepaid, 0)) if p.pair else 0
    applied = p.advance_applied_satang
    if p.pair:
        balances[p.pair.prepaid] -= applied
    what = f"Sale through {r.channel}" + (f": {r.description}" if r.description else "")
    dims = {"channel": r.channel.value, "province": enterprise["party"]["province"]}
    lines = [(debit, r.amount_satang), (accounts(enterprise, "4100"), -r.amount_satang)]
    if contribution:
        lines += [(accounts(enterprise, "5200"), contribution), (p.pair.prepaid, -applied),
                  (p.pair.payable, applied - contribution)]  # fmt: skip
    p.drafts = [_draft(enterprise, r.effective_date, "welfare.sale", what, lines, **dims)]
    if contribution:
        fund_lines = [(p.pair.receivable, contribution - applied), (p.pair.advance, applied),
                      (accounts(p.pair.fund_book, "4400"), -contribution)]  # fmt: skip
        p.drafts.append(_draft(p.pair.fund_book, r.effective_date, "welfare.sale",
                               f"Contribution from a sale of {enterprise['party']['name_th']}", fund_lines,
                               enterprise=r.enterprise_party_id, **dims))  # fmt: skip


_LAST_SALE_ID = select(func.max(sale_t.c.id))
_NEXT_SALE_IDS = text("SELECT nextval('welfare_sale_id_seq') FROM generate_series(1, :n)")


def _next_sale_ids(connection: Connection, count: int) -> list[int]:
    """Ids for new sales, taken before they are inserted: a plain many-row insert then costs
    the driver far less than one returning its ids (a statement of thousands of parameters)."""
    if connection.dialect.name == "postgresql":
        return sorted(connection.execute(_NEXT_SALE_IDS, {"n": count}).scalars())
    first = (connection.execute(_LAST_SALE_ID).scalar_one() or 0) + 1  # SQLite: the one writer
    return list(range(first, first + count))


def _insert_sales(connection: Connection, pending: dict[int, _Planned], entry_ids: dict[int, list[int]],
                  user_id: int, now: datetime) -> dict[int, Row]:  # fmt: skip
    rows = {}
    for i, p in pending.items():
        r, ids = p.request, entry_ids[i]
        rows[i] = {
            "enterprise_party_id": r.enterprise_party_id, "enterprise_book_id": p.enterprise["id"],
            "fund_party_id": p.rule and p.rule.fund_party_id, "rule_id": p.rule and p.rule.id,
            "effective_date": r.effective_date, "channel": r.channel.value, "payment": r.payment.value,
            "amount_satang": r.amount_satang, "rate_percent": p.rule and str(p.rule.rate_percent),
            "contribution_satang": p.contribution_satang, "advance_applied_satang": p.advance_applied_satang,
            "description": r.description, "lines": json.dumps(list(r.lines), sort_keys=True, ensure_ascii=False),
            "enterprise_entry_id": ids[0], "fund_entry_id": ids[1] if len(ids) > 1 else None,
            "recorded_at": now, "recorded_by": user_id,
        }  # fmt: skip
    if not rows:
        return {}
    for row, sale_id in zip(rows.values(), _next_sale_ids(connection, len(rows)), strict=True):
        row["id"] = sale_id
    insert_rows(connection, sale_t, list(rows.values()))
    for row in rows.values():
        row.update(settled_satang=row["advance_applied_satang"], reversal=None)
    advances = [{"sale_id": row["id"], "settlement_id": None, "amount_satang": row["advance_applied_satang"]}
                for row in rows.values() if row["advance_applied_satang"]]  # fmt: skip
    if advances:
        connection.execute(insert(allocation_t), advances)
    return rows


def _settled(counted) -> Select:
    """What of each sale is paid, counting the allocations `counted` holds: in all, and by
    settlements (the rest came from an advance). Cast, because PostgreSQL sums BIGINTs as NUMERIC."""
    return (
        select(allocation_t.c.sale_id, cast(func.sum(allocation_t.c.amount_satang), BigInteger).label("settled"),
               cast(func.sum(case((allocation_t.c.settlement_id.is_not(None), allocation_t.c.amount_satang),
                                  else_=0)), BigInteger).label("by_settlement"))
        .where(counted)
        .group_by(allocation_t.c.sale_id)
    )  # fmt: skip


def _settlement_counts(as_of: date | None):
    """An allocation counts if it came from the advance when its sale was recorded, or from a
    settlement not undone (as of `as_of`: dated by then and not undone by then)."""
    live = _not_undone(settlement_t, settlement_reversal_t, "settlement_id", as_of)
    settlement = select(settlement_t.c.id).where(settlement_t.c.id == allocation_t.c.settlement_id, live)
    if as_of is not None:
        settlement = settlement.where(settlement_t.c.effective_date <= as_of)
    return allocation_t.c.settlement_id.is_(None) | settlement.exists()


SETTLED = _settled(_settlement_counts(None))


def _sales_query():
    settled = SETTLED.subquery()
    return (
        select(sale_t, func.coalesce(settled.c.settled, 0).label("settled_satang"),
               func.coalesce(settled.c.by_settlement, 0).label("settled_by_payment_satang"),
               reversal_t.c.effective_date.label("reversed_on"), reversal_t.c.entry_ids.label("reversal_entry_ids"))
        .outerjoin(settled, settled.c.sale_id == sale_t.c.id)
        .outerjoin(reversal_t, reversal_t.c.sale_id == sale_t.c.id)
    )  # fmt: skip


def _sale(row) -> Row:
    sale = dict(row)
    sale["lines"] = json.loads(sale["lines"])
    reversal_ids = sale.pop("reversal_entry_ids")
    sale["reversal"] = (None if reversal_ids is None else
                        {"effective_date": sale["reversed_on"], "entry_ids": json.loads(reversal_ids)})  # fmt: skip
    return sale


def get_sale(connection: Connection, sale_id: int) -> Row:
    row = connection.execute(_sales_query().where(sale_t.c.id == sale_id)).mappings().first()
    if row is None:
        raise books.not_found("sale", sale_id)
    return _sale(row)


def list_sales(connection: Connection, *, filters: Row, only_party: int | None, after: int, limit: int) -> list[Row]:
    query = _sales_query().where(sale_t.c.id > after).order_by(sale_t.c.id).limit(limit)
    for name in ("enterprise_party_id", "fund_party_id", "channel"):
        if filters.get(name) is not None:
            query = query.where(sale_t.c[name] == filters[name])
    if filters.get("date_from"):
        query = query.where(sale_t.c.effective_date >= filters["date_from"])
    if filters.get("date_to"):
        query = query.where(sale_t.c.effective_date <= filters["date_to"])
    if only_party is not None:
        query = query.where((sale_t.c.enterprise_party_id == only_party) | (sale_t.c.fund_party_id == only_party))
    return [_sale(r) for r in connection.execute(query).mappings()]


def reverse_sale(connection: Connection, sale_id: int, *, on: date, reason: str, user_id: int, now: datetime) -> Row:
    """Undo a sale: both its entries reversed (dated `on`). What had been paid for it becomes an
    advance for later sales: first, in each book, an entry moves the part settled by payments
    from the advance back onto the payable and receivable the reversals then clear; the part
    settled from the advance goes back to it with the reversal itself.

    The sale's row is locked (one reversal at a time), and the pair's balance rows before what
    is paid of it is read (a settlement locks them before it allocates)."""
    if connection.execute(select(sale_t.c.id).where(sale_t.c.id == sale_id).with_for_update()).first() is None:
        raise books.not_found("sale", sale_id)
    sale = get_sale(connection, sale_id)
    if sale["fund_party_id"] is not None:
        the_pair = _pair_of(connection, sale["enterprise_party_id"], sale["fund_party_id"], now)
        _lock(connection, the_pair.account_ids)
        sale = get_sale(connection, sale_id)  # what is paid of it, read under the pair's locks
    if sale["reversal"] is not None:
        raise LedgerError(Rejection.already_reversed, f"sale {sale_id} is already reversed")
    if on < sale["effective_date"]:
        raise LedgerError(Rejection.invalid_date_range, f"a sale of {sale['effective_date']} is not reversed on {on}")
    entry_ids = []
    paid = sale["settled_by_payment_satang"]
    if paid:
        moved = f"Sale {sale_id} reversed: its paid contribution becomes an advance"
        entry_ids += _post_pair(connection, the_pair, on, "welfare.advance", moved,
                                enterprise_lines=[(the_pair.prepaid, paid), (the_pair.payable, -paid)],
                                fund_lines=[(the_pair.receivable, paid), (the_pair.advance, -paid)],
                                user_id=user_id, now=now)  # fmt: skip
    for original in (sale["enterprise_entry_id"], sale["fund_entry_id"]):
        if original is not None:
            entry_ids.append(journal.reverse_entry(
                connection, entry_id=original, effective_date=on, description=f"Sale {sale_id} reversed: {reason}",
                recorded_by=user_id, recorded_at=now,
            ))  # fmt: skip
    connection.execute(insert(reversal_t).values(
        sale_id=sale_id, effective_date=on, reason=reason, returned_to_advance_satang=sale["settled_satang"],
        entry_ids=json.dumps(entry_ids), recorded_at=now, recorded_by=user_id,
    ))  # fmt: skip
    return get_sale(connection, sale_id)


def _pair_of(connection: Connection, enterprise_party_id: int, fund_party_id: int, now: datetime) -> Pair:
    enterprise = _with_parties(connection, {enterprise_party_id: enterprise_book(connection, enterprise_party_id)})
    fund = _with_parties(connection, {fund_party_id: fund_book(connection, fund_party_id)})
    accounts = Accounts(connection, [enterprise[enterprise_party_id]["id"], fund[fund_party_id]["id"]], now)
    return pair(accounts, enterprise[enterprise_party_id], fund[fund_party_id])


# --- settlements -------------------------------------------------------------------------------


def owed_sales(
    connection: Connection, *, fund_party_id: int, enterprise_party_id: int | None = None, as_of: date | None = None
) -> list[Row]:
    """The fund's live sales with a contribution not yet paid in full, oldest first; as of a
    past day `as_of`, as they were then: sales, settlements and reversals dated after it left out."""
    settled = (SETTLED if as_of is None else _settled(_settlement_counts(as_of))).subquery()
    live = _not_undone(sale_t, reversal_t, "sale_id", as_of)
    if as_of is not None:
        live &= sale_t.c.effective_date <= as_of
    outstanding = (sale_t.c.contribution_satang - func.coalesce(settled.c.settled, 0)).label("outstanding_satang")
    query = (
        select(sale_t.c.id, sale_t.c.enterprise_party_id, sale_t.c.effective_date, outstanding)
        .outerjoin(settled, settled.c.sale_id == sale_t.c.id)
        .where(sale_t.c.fund_party_id == fund_party_id, sale_t.c.contribution_satang > 0, live,
               sale_t.c.contribution_satang > func.coalesce(settled.c.settled, 0))
        .order_by(sale_t.c.effective_date, sale_t.c.id)
    )  # fmt: skip
    if enterprise_party_id is not None:
        query = query.where(sale_t.c.enterprise_party_id == enterprise_party_id)
    return [dict(r) for r in connection.execute(query).mappings()]


def settle(
    connection: Connection, *, enterprise_party_id: int, fund_party_id: int, amount_satang: int, on: date,
    advance: bool, reference: str | None, user_id: int, now: datetime,
) -> Row:  # fmt: skip
    """The enterprise pays the fund: the payment settles its owed sales oldest first; the rest,
    if marked as an advance, is held against later sales (refused otherwise)."""
    the_pair = _pair_of(connection, enterprise_party_id, fund_party_id, now)
    _lock(connection, the_pair.account_ids)
    owed = owed_sales(connection, fund_party_id=fund_party_id, enterprise_party_id=enterprise_party_id)
    plan = allocate_settlement(
        amount_satang, [Owed(r["id"], r["effective_date"], r["outstanding_satang"]) for r in owed], advance=advance
    )
    what = f"Welfare contributions paid to the fund{f': {reference}' if reference else ''}"
    enterprise_id, fund_id = _post_pair(connection, the_pair, on, "welfare.settlement", what, enterprise_lines=[
        (the_pair.payable, plan.allocated_satang), (the_pair.prepaid, plan.advance_satang),
        (the_pair.enterprise_cash, -amount_satang)], fund_lines=[
        (the_pair.fund_cash, amount_satang), (the_pair.receivable, -plan.allocated_satang),
        (the_pair.advance, -plan.advance_satang)], user_id=user_id, now=now)  # fmt: skip
    values = {"enterprise_party_id": enterprise_party_id, "fund_party_id": fund_party_id, "effective_date": on,
              "amount_satang": amount_satang, "advance_satang": plan.advance_satang, "reference": reference,
              "enterprise_entry_id": enterprise_id, "fund_entry_id": fund_id, "recorded_at": now,
              "recorded_by": user_id}  # fmt: skip
    settlement_id = connection.execute(insert(settlement_t).values(**values)).inserted_primary_key[0]
    if plan.allocations:
        connection.execute(insert(allocation_t), [
            {"sale_id": sale_id, "settlement_id": settlement_id, "amount_satang": part}
            for sale_id, part in plan.allocations
        ])  # fmt: skip
    return get_settlement(connection, settlement_id)


def get_settlement(connection: Connection, settlement_id: int) -> Row:
    row = connection.execute(select(settlement_t).where(settlement_t.c.id == settlement_id)).mappings().first()
    if row is None:
        raise books.not_found("settlement", settlement_id)
    return _with_allocations(connection, [dict(row)])[0]


def _with_allocations(connection: Connection, settlements: list[Row]) -> list[Row]:
    """The settlements with the sales they paid and, if undone, their reversal."""
    by_id: dict[int, list[Row]] = {s["id"]: [] for s in settlements}
    query = (
        select(allocation_t.c.settlement_id, allocation_t.c.sale_id, allocation_t.c.amount_satang)
        .where(allocation_t.c.settlement_id.in_(list(by_id)))
        .order_by(allocation_t.c.id)
    )
    for row in connection.execute(query):
        by_id[row.settlement_id].append({"sale_id": row.sale_id, "amount_satang": row.amount_satang})
    undone = select(settlement_reversal_t).where(settlement_reversal_t.c.settlement_id.in_(list(by_id)))
    reversals = {r["settlement_id"]: {**r, "entry_ids": json.loads(r["entry_ids"])}
                 for r in connection.execute(undone).mappings()}  # fmt: skip
    return [{**s, "allocations": by_id[s["id"]], "reversal": reversals.get(s["id"])} for s in settlements]


def _list_of_pairs(table, *, filters: Row, only_party: int | None, after: int, limit: int) -> Select:
    """Rows of a table of an enterprise and a fund (settlements, refunds), filtered by either;
    a party's token sees the rows of its own party only."""
    query = select(table).where(table.c.id > after).order_by(table.c.id).limit(limit)
    for name in ("enterprise_party_id", "fund_party_id"):
        if filters.get(name) is not None:
            query = query.where(table.c[name] == filters[name])
    if only_party is not None:
        query = query.where((table.c.enterprise_party_id == only_party) | (table.c.fund_party_id == only_party))
    return query


def list_settlements(
    connection: Connection, *, filters: Row, only_party: int | None, after: int, limit: int
) -> list[Row]:
    query = _list_of_pairs(settlement_t, filters=filters, only_party=only_party, after=after, limit=limit)
    return _with_allocations(connection, [dict(r) for r in connection.execute(query).mappings()])


def reverse_settlement(
    connection: Connection, settlement_id: int, *, on: date, reason: str, user_id: int, now: datetime
) -> Row:
    """Undo a settlement recorded in error, at most once: both its entries are reversed (dated
    `on`), so the sales it paid are owed again and settled oldest first by later payments; its
    advance leaves the advance accounts. What it paid for sales since reversed had gone to the
    advance with their reversal: an entry in each book moves it back onto the payable and the
    receivable the reversal then clears. Refused if the advance no longer holds what this takes
    back (`settlement_advance_used`).

    The settlement's row is locked (one reversal at a time), then the pair's balance rows
    before the advance held and what is paid is read (as a settlement does)."""
    reason = reason.strip()
    if not reason:
        raise LedgerError(Rejection.reason_required, "say why the settlement is reversed")
    locked = select(settlement_t.c.id).where(settlement_t.c.id == settlement_id).with_for_update()
    if connection.execute(locked).first() is None:
        raise books.not_found("settlement", settlement_id)
    settlement = get_settlement(connection, settlement_id)
    the_pair = _pair_of(connection, settlement["enterprise_party_id"], settlement["fund_party_id"], now)
    held = _lock(connection, the_pair.account_ids).get(the_pair.prepaid, 0)
    settlement = get_settlement(connection, settlement_id)  # read under the pair's locks
    if settlement["reversal"] is not None:
        raise LedgerError(Rejection.already_reversed, f"settlement {settlement_id} is already reversed")
    if on < settlement["effective_date"]:
        raise LedgerError(Rejection.invalid_date_range,
                          f"a settlement of {settlement['effective_date']} is not reversed on {on}")  # fmt: skip
    paid = settlement["allocations"]
    gone = select(reversal_t.c.sale_id).where(reversal_t.c.sale_id.in_([a["sale_id"] for a in paid]))
    reversed_sales = set(connection.execute(gone).scalars())
    plan = plan_settlement_reversal([(a["amount_satang"], a["sale_id"] not in reversed_sales) for a in paid],
                                    advance_satang=settlement["advance_satang"], advance_held_satang=held)  # fmt: skip
    what = f"Settlement {settlement_id} reversed: {reason}"
    with connection.begin_nested():
        entry_ids = [journal.reverse_entry(connection, entry_id=original, effective_date=on, description=what,
                                           recorded_by=user_id, recorded_at=now)
                     for original in (settlement["enterprise_entry_id"], settlement["fund_entry_id"])]  # fmt: skip
        if plan.returned_satang:
            back = plan.returned_satang
            entry_ids += _post_pair(connection, the_pair, on, "welfare.advance", f"{what} (paid for sales since "
                                    "reversed: off the advance)",
                                    enterprise_lines=[(the_pair.payable, back), (the_pair.prepaid, -back)],
                                    fund_lines=[(the_pair.advance, back), (the_pair.receivable, -back)],
                                    user_id=user_id, now=now)  # fmt: skip
    connection.execute(insert(settlement_reversal_t).values(
        settlement_id=settlement_id, effective_date=on, reason=reason, reopened_satang=plan.reopened_satang,
        advance_taken_satang=plan.advance_taken_satang, entry_ids=json.dumps(entry_ids), recorded_at=now,
        recorded_by=user_id,
    ))  # fmt: skip
    return get_settlement(connection, settlement_id)


# --- refunds of an unused advance --------------------------------------------------------------


def refund_advance(
    connection: Connection, *, enterprise_party_id: int, fund_party_id: int, amount_satang: int, on: date,
    reference: str | None, user_id: int, now: datetime,
) -> Row:  # fmt: skip
    """The fund pays back advance the enterprise has not used: enterprise Dr cash / Cr
    `1400-F<fund>`; fund Dr `2100-E<enterprise>` / Cr cash. Never more than the advance held
    less what the enterprise still owes (`refund_exceeds_advance`)."""
    the_pair = _pair_of(connection, enterprise_party_id, fund_party_id, now)
    held = _lock(connection, the_pair.account_ids).get(the_pair.prepaid, 0)
    owed = owed_sales(connection, fund_party_id=fund_party_id, enterprise_party_id=enterprise_party_id)
    owed_satang = sum(r["outstanding_satang"] for r in owed)
    check_advance_refund(amount_satang, advance_held_satang=held, owed_satang=owed_satang)
    what = f"Unused advance of welfare contributions refunded{f': {reference}' if reference else ''}"
    enterprise_id, fund_id = _post_pair(
        connection, the_pair, on, "welfare.refund", what,
        enterprise_lines=[(the_pair.enterprise_cash, amount_satang), (the_pair.prepaid, -amount_satang)],
        fund_lines=[(the_pair.advance, amount_satang), (the_pair.fund_cash, -amount_satang)],
        user_id=user_id, now=now,
    )  # fmt: skip
    values = {"enterprise_party_id": enterprise_party_id, "fund_party_id": fund_party_id, "effective_date": on,
              "amount_satang": amount_satang, "reference": reference, "enterprise_entry_id": enterprise_id,
              "fund_entry_id": fund_id, "recorded_at": now, "recorded_by": user_id}  # fmt: skip
    refund_id = connection.execute(insert(refund_t).values(**values)).inserted_primary_key[0]
    return {**values, "id": refund_id}


def list_refunds(connection: Connection, *, filters: Row, only_party: int | None, after: int, limit: int) -> list[Row]:
    query = _list_of_pairs(refund_t, filters=filters, only_party=only_party, after=after, limit=limit)
    return [dict(r) for r in connection.execute(query).mappings()]


# --- the fund's own money ----------------------------------------------------------------------


def fund_settings(connection: Connection, fund_party_id: int) -> Row:
    row = connection.execute(select(setting_t).where(setting_t.c.party_id == fund_party_id)).mappings().first()
    if row is None:
        return {"party_id": fund_party_id, "admin_cap_percent": DEFAULT_ADMIN_CAP_PERCENT,
                "member_daily_satang": MEMBER_DAILY_SATANG}  # fmt: skip
    return {**row, "admin_cap_percent": Decimal(row["admin_cap_percent"])}


def set_fund_settings(
    connection: Connection, fund_party_id: int, *, admin_cap_percent: Decimal, member_daily_satang: int,
    user_id: int, now: datetime,
) -> Row:  # fmt: skip
    fund_book(connection, fund_party_id)
    if not Decimal(0) <= admin_cap_percent <= 100:
        raise LedgerError(Rejection.rate_out_of_range, f"the administration cap is 0 to 100 %, not {admin_cap_percent}")
    if member_daily_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "members pay more than zero a day")
    values = {"admin_cap_percent": str(admin_cap_percent), "member_daily_satang": member_daily_satang,
              "updated_at": now, "updated_by": user_id}  # fmt: skip
    found = update(setting_t).where(setting_t.c.party_id == fund_party_id).values(**values)
    if connection.execute(found).rowcount == 0:
        connection.execute(insert(setting_t).values(party_id=fund_party_id, **values))
    return fund_settings(connection, fund_party_id)


@dataclass(frozen=True)
class FundWrite:
    """What every write to a fund's own money needs: its book, its accounts, who and when."""

    connection: Connection
    book: Row
    accounts: Accounts
    user_id: int
    now: datetime

    @classmethod
    def open(cls, connection: Connection, fund_party_id: int, *, user_id: int, now: datetime) -> "FundWrite":
        book = fund_book(connection, fund_party_id)
        return cls(connection, book, Accounts(connection, [book["id"]], now), user_id, now)

    def draft(self, on: date, kind: str, description: str, lines: list[tuple[str | int, int]], **dims) -> EntryDraft:
        """An entry of the fund's book; accounts by chart code or by id."""
        ids = [(a if isinstance(a, int) else self.accounts(self.book, a), amount) for a, amount in lines]
        return _draft(self.book, on, kind, description, ids, **dims)

    def post(self, on: date, kind: str, description: str, lines: list[tuple[str | int, int]], **dimensions) -> int:
        """Record one entry in the fund's book."""
        [entry_id] = _record_together(self.connection, [self.draft(on, kind, description, lines, **dimensions)],
                                      self.user_id, self.now)  # fmt: skip
        return entry_id

    def insert(self, table, **values) -> Row:
        row = {"fund_party_id": self.book["party_id"], **values, "recorded_at": self.now, "recorded_by": self.user_id}
        row_id = self.connection.execute(insert(table).values(**row)).inserted_primary_key[0]
        return {**row, "id": row_id}


def record_member_contributions(
    fund: FundWrite, *, on: date, period_from: date, period_to: date, frequency: Frequency, member_count: int,
    amount_satang: int,
) -> Row:  # fmt: skip
    """Members' contributions for a period, in one sum with the member count: Dr cash / Cr 4100.
    What the count should have paid at the fund's daily rate is kept beside it."""
    daily = fund_settings(fund.connection, fund.book["party_id"])["member_daily_satang"]
    expected = member_contribution_expected(member_count=member_count, frequency=frequency, period_from=period_from,
                                            period_to=period_to, daily_satang=daily)  # fmt: skip
    if amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a member contribution must be more than zero")
    entry_id = fund.post(on, "welfare.members", f"Member contributions {period_from}..{period_to}, {member_count} "
                         f"members ({frequency})", [("1100", amount_satang), ("4100", -amount_satang)])  # fmt: skip
    return fund.insert(member_t, effective_date=on, period_from=period_from, period_to=period_to,
                       frequency=frequency.value, member_count=member_count, amount_satang=amount_satang,
                       expected_satang=expected, entry_id=entry_id)  # fmt: skip


def record_matching(
    fund: FundWrite, *, source: MatchingSource, kind: MatchingKind, amount_satang: int, on: date,
    source_party_id: int | None, reference: str | None, through_codi: bool = False, codi_book_id: int | None = None,
) -> Row:  # fmt: skip
    """A matching contribution promised (due: Dr the source's receivable / Cr its income) or paid
    (received: Dr cash / Cr the receivable, never more than is due). The government's, paid
    `through_codi`, posts CODI's own entry too, in the same transaction (`codi_leg`): in the CODI
    fund book named (or the only one), Dr programme expenses `5400-W<fund>` / Cr cash."""
    if amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a matching contribution must be more than zero")
    if source_party_id is not None:
        books.get_party(fund.connection, source_party_id)
    codi = None
    if through_codi:
        check_codi_leg(source, kind)
        codi = codi_fund_book(fund.connection, codi_book_id)
    suffix, name_en, name_th, income = MATCHING_ACCOUNTS[source]
    receivable = fund.accounts.sub(fund.book, "1300", suffix, name_en=name_en, name_th=name_th, party_id=None)
    if kind is MatchingKind.due:
        lines = [(receivable, amount_satang), (income, -amount_satang)]
    else:
        cash = fund.accounts(fund.book, "1100")
        due = _lock(fund.connection, [receivable, cash])[receivable]
        if amount_satang > due:
            raise LedgerError(Rejection.matching_exceeds_due,
                              f"{source} has {format_amount(due)} due; record what it promised first")  # fmt: skip
        lines = [(cash, amount_satang), (receivable, -amount_satang)]
    what = f"Matching contribution {kind}: {source}" + (f" ({reference})" if reference else "")
    drafts = [fund.draft(on, f"welfare.matching_{kind}", what, lines, source=source.value)]
    if codi is not None:
        drafts.append(codi_leg(fund, codi, on, amount_satang, what))
    entry_ids = _record_together(fund.connection, drafts, fund.user_id, fund.now)
    row = fund.insert(matching_t, source=source.value, source_party_id=source_party_id, kind=kind.value,
                      effective_date=on, amount_satang=amount_satang, reference=reference,
                      entry_id=entry_ids[0])  # fmt: skip
    leg = {"codi_book_id": codi and codi["id"], "codi_entry_id": entry_ids[1] if codi else None}
    if codi is not None:
        fund.connection.execute(insert(codi_leg_t).values(matching_id=row["id"], codi_book_id=codi["id"],
                                                          entry_id=entry_ids[1]))  # fmt: skip
    return {**row, **leg}


def codi_leg(fund: FundWrite, codi: Row, on: date, amount_satang: int, description: str) -> EntryDraft:
    """CODI's own entry of government matching money it pays a welfare fund: a grant passed on,
    so Dr programme expenses (5400, a sub-account per welfare fund carrying it) / Cr cash."""
    accounts = Accounts(fund.connection, [codi["id"]], fund.now)
    expense = accounts.of_party(codi, "5400", books.get_party(fund.connection, fund.book["party_id"]), "W")
    return _draft(codi, on, "welfare.matching_codi", f"{description}, paid to a welfare fund",
                  [(expense, amount_satang), (accounts(codi, "1100"), -amount_satang)],
                  fund=fund.book["party_id"], source=MatchingSource.government.value)  # fmt: skip


def list_matching(connection: Connection, fund_party_id: int, *, after: int, limit: int) -> list[Row]:
    """A fund's matching contributions, each with CODI's leg (book and entry) if it has one."""
    query = (
        select(matching_t, codi_leg_t.c.codi_book_id, codi_leg_t.c.entry_id.label("codi_entry_id"))
        .outerjoin(codi_leg_t, codi_leg_t.c.matching_id == matching_t.c.id)
        .where(matching_t.c.fund_party_id == fund_party_id, matching_t.c.id > after)
        .order_by(matching_t.c.id).limit(limit)
    )  # fmt: skip
    return [dict(r) for r in connection.execute(query).mappings()]


def matching_by_source(connection: Connection, fund_party_id: int) -> list[Row]:
    """Each source's promises and payments, reconciled: due, received, outstanding; and of what
    was received, what came through CODI (equal to CODI's `5400-W<fund>`)."""
    c = matching_t.c
    query = (
        select(c.source, func.sum(case((c.kind == "due", c.amount_satang), else_=0)).label("due"),
               func.sum(case((c.kind == "received", c.amount_satang), else_=0)).label("received"),
               func.sum(case((codi_leg_t.c.matching_id.is_not(None), c.amount_satang), else_=0)).label("codi"))
        .outerjoin(codi_leg_t, codi_leg_t.c.matching_id == c.id)
        .where(c.fund_party_id == fund_party_id).group_by(c.source)
    )  # fmt: skip
    sums = {r.source: (int(r.due), int(r.received), int(r.codi)) for r in connection.execute(query)}
    return [
        {"source": source.value, "due_satang": due, "received_satang": received, "outstanding_satang": due - received,
         "received_through_codi_satang": codi}
        for source in MatchingSource
        for due, received, codi in [sums.get(source.value, (0, 0, 0))]
    ]  # fmt: skip


def pay_benefit(fund: FundWrite, *, benefit: str, beneficiary_ref: str, amount_satang: int, on: date) -> Row:
    """A benefit paid: Dr benefits (5100) / Cr cash. The beneficiary is a reference only."""
    kind = benefit_type(benefit)
    if amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a benefit must be more than zero")
    entry_id = fund.post(on, "welfare.benefit", f"Benefit ({kind}) to {beneficiary_ref}",
                         [("5100", amount_satang), ("1100", -amount_satang)], benefit=kind.value)  # fmt: skip
    return fund.insert(benefit_t, benefit_type=kind.value, beneficiary_ref=beneficiary_ref, effective_date=on,
                       amount_satang=amount_satang, entry_id=entry_id)  # fmt: skip


def admin_cap_on(connection: Connection, book: Row, on: date) -> AdminCap:
    """The cap of the fiscal year holding `on`: a share of the fund's income recorded for that
    year (its months' movements), against the administration costs recorded for it."""
    first, last = fiscal_year_bounds(fiscal_year_of(on))
    month_t = journal.month_t
    income = (
        select(func.coalesce(func.sum(month_t.c.movement_satang), 0))
        .join(account_t, account_t.c.id == month_t.c.account_id)
        .where(month_t.c.book_id == book["id"], account_t.c.type == "income",
               month_t.c.month_start >= first, month_t.c.month_start <= last)
    )  # fmt: skip
    spent = select(func.coalesce(func.sum(admin_t.c.amount_satang), 0)).where(
        admin_t.c.fund_party_id == book["party_id"], admin_t.c.effective_date.between(first, last)
    )
    cap_percent = fund_settings(connection, book["party_id"])["admin_cap_percent"]
    return admin_cap(inflows_satang=-int(connection.execute(income).scalar_one()),
                     spent_satang=int(connection.execute(spent).scalar_one()), cap_percent=cap_percent)  # fmt: skip


def record_admin_cost(
    fund: FundWrite, *, amount_satang: int, on: date, description: str, override_reason: str | None,
) -> Row:  # fmt: skip
    """An administration cost: Dr 5200 / Cr cash, within the cap unless an override is given (the
    route lets only an approver give one); the cap it met is kept with it."""
    expense, cash = fund.accounts(fund.book, "5200"), fund.accounts(fund.book, "1100")
    _lock(fund.connection, [expense, cash])  # one cost of a fund at a time: the cap is checked alone
    cap = admin_cap_on(fund.connection, fund.book, on)
    check_admin_cost(amount_satang, cap, overridden=override_reason is not None)
    needed = amount_satang > cap.room_satang()
    entry_id = fund.post(on, "welfare.administration", description + (" (cap overridden)" if needed else ""),
                         [(expense, amount_satang), (cash, -amount_satang)])  # fmt: skip
    return fund.insert(admin_t, effective_date=on, amount_satang=amount_satang, description=description,
                       cap_satang=cap.cap_satang, spent_before_satang=cap.spent_satang,
                       override_reason=override_reason if needed else None,
                       overridden_by=fund.user_id if needed else None, entry_id=entry_id)  # fmt: skip


def list_fund_rows(connection: Connection, table, fund_party_id: int, *, after: int, limit: int) -> list[Row]:
    """A fund's member contributions, matching contributions, benefits or administration costs."""
    query = (
        select(table).where(table.c.fund_party_id == fund_party_id, table.c.id > after)
        .order_by(table.c.id).limit(limit)
    )  # fmt: skip
    return [dict(r) for r in connection.execute(query).mappings()]


# --- reads -------------------------------------------------------------------------------------


def fund_statement(connection: Connection, fund_party_id: int, date_from: date, date_to: date) -> FundStatement:
    """The fund's statement of [date_from, date_to] from its book and the welfare tables."""
    book = fund_book(connection, fund_party_id)
    accounts = books.book_accounts(connection, book["id"])
    before = journal.balances_as_of(connection, book["id"], date_from - timedelta(days=1))
    after = journal.balances_as_of(connection, book["id"], date_to)

    def net_assets(balances: dict[int, int]) -> int:
        return sum(balances.get(a["id"], 0) for a in accounts if a["type"] in ("asset", "liability"))

    movements = {a["code"]: (a["type"], after.get(a["id"], 0) - before.get(a["id"], 0)) for a in accounts}
    in_period = sale_t.c.effective_date.between(date_from, date_to)
    sold = _sum_by(connection, sale_t.c.enterprise_party_id, sale_t.c.contribution_satang,
                   sale_t.c.fund_party_id == fund_party_id, in_period)  # fmt: skip
    undone = _sum_by(connection, sale_t.c.enterprise_party_id, sale_t.c.contribution_satang,
                     sale_t.c.fund_party_id == fund_party_id, reversal_t.c.effective_date.between(date_from, date_to),
                     join=(reversal_t, reversal_t.c.sale_id == sale_t.c.id))  # fmt: skip
    benefits = _sum_by(connection, benefit_t.c.benefit_type, benefit_t.c.amount_satang,
                       benefit_t.c.fund_party_id == fund_party_id,
                       benefit_t.c.effective_date.between(date_from, date_to))  # fmt: skip
    return compose_statement(
        opening_satang=net_assets(before), closing_satang=net_assets(after), movements_by_code=movements,
        sales_by_enterprise={e: sold.get(e, 0) - undone.get(e, 0) for e in sold.keys() | undone.keys()},
        benefits_by_type=benefits,
    )  # fmt: skip


def _sum_by(connection: Connection, key, amount, *conditions, join=None) -> dict:
    query = select(key, func.sum(amount)).where(*conditions).group_by(key)
    if join is not None:
        query = query.join(*join)
    return {k: int(total) for k, total in connection.execute(query)}


def receivables(connection: Connection, fund_party_id: int, as_of: date) -> list[Row]:
    """What each enterprise owed the fund at the end of `as_of`, by the age its sales had then."""
    fund_book(connection, fund_party_id)
    by_enterprise: dict[int, Row] = {}
    for sale in owed_sales(connection, fund_party_id=fund_party_id, as_of=as_of):
        row = by_enterprise.setdefault(sale["enterprise_party_id"], {
            "enterprise_party_id": sale["enterprise_party_id"], "outstanding_satang": 0, "sales": 0,
            "oldest_sale_on": sale["effective_date"], "buckets": dict.fromkeys(age_buckets(), 0),
        })  # fmt: skip
        row["outstanding_satang"] += sale["outstanding_satang"]
        row["sales"] += 1
        row["buckets"][age_bucket(sale["effective_date"], as_of)] += sale["outstanding_satang"]
    return sorted(by_enterprise.values(), key=lambda r: r["enterprise_party_id"])


def enterprise_summary(connection: Connection, enterprise_party_id: int, date_from: date, date_to: date) -> Row:
    """An enterprise's sales of the period by fund: amounts, contributions, what of them is paid
    and owed; the payments it made in the period, and the advance each fund holds now."""
    enterprise = enterprise_book(connection, enterprise_party_id)
    settled = SETTLED.subquery()
    query = (
        select(sale_t.c.fund_party_id, func.count().label("sales_count"),
               func.sum(sale_t.c.amount_satang).label("sales_satang"),
               func.sum(sale_t.c.contribution_satang).label("contributions_satang"),
               func.sum(func.coalesce(settled.c.settled, 0)).label("settled_satang"))
        .outerjoin(settled, settled.c.sale_id == sale_t.c.id)
        .where(sale_t.c.enterprise_book_id == enterprise["id"], sale_t.c.enterprise_party_id == enterprise_party_id,
               sale_t.c.effective_date.between(date_from, date_to), LIVE_SALE)
        .group_by(sale_t.c.fund_party_id)
    )  # fmt: skip
    funds = {r.fund_party_id: {**r._mapping} for r in connection.execute(query)}
    paid = _sum_by(connection, settlement_t.c.fund_party_id, settlement_t.c.amount_satang,
                   settlement_t.c.enterprise_party_id == enterprise_party_id, LIVE_SETTLEMENT,
                   settlement_t.c.effective_date.between(date_from, date_to))  # fmt: skip
    refunded = _sum_by(connection, refund_t.c.fund_party_id, refund_t.c.amount_satang,
                       refund_t.c.enterprise_party_id == enterprise_party_id,
                       refund_t.c.effective_date.between(date_from, date_to))  # fmt: skip
    prepaid = _prepaid_by_fund(connection, enterprise)
    rows = []
    for fund_id in sorted(funds.keys() | paid.keys() | refunded.keys() | prepaid.keys(), key=lambda f: (f is None, f)):
        row = funds.get(fund_id) or {"fund_party_id": fund_id, "sales_count": 0, "sales_satang": 0,
                                     "contributions_satang": 0, "settled_satang": 0}  # fmt: skip
        row = {k: int(v) if k != "fund_party_id" else v for k, v in row.items()}
        row["outstanding_satang"] = row["contributions_satang"] - row["settled_satang"]
        rows.append({**row, "paid_satang": paid.get(fund_id, 0), "refunded_satang": refunded.get(fund_id, 0),
                     "advance_held_satang": prepaid.get(fund_id, 0)})
    reversed_count = (
        select(func.count())
        .select_from(sale_t.join(reversal_t))
        .where(sale_t.c.enterprise_party_id == enterprise_party_id, sale_t.c.effective_date.between(date_from, date_to))
    )
    return {"enterprise_party_id": enterprise_party_id, "date_from": date_from, "date_to": date_to,
            "by_fund": rows, "reversed_sales": connection.execute(reversed_count).scalar_one()}  # fmt: skip


def _prepaid_by_fund(connection: Connection, enterprise: Row) -> dict[int, int]:
    """The advance the enterprise has paid each fund and not yet used (its 1400-F<fund> balances)."""
    query = (
        select(account_t.c.party_id, balance_t.c.balance_satang).join(balance_t)
        .where(account_t.c.book_id == enterprise["id"], account_t.c.code.like("1400-F%"),
               balance_t.c.balance_satang != 0)
    )  # fmt: skip
    return {party_id: int(balance) for party_id, balance in connection.execute(query)}


def programme_totals(connection: Connection, *, date_from: date, date_to: date, channel: Channel | None) -> Row:
    """Live sales and the contributions they generated, in all and by the enterprise's region,
    province and incubation centre."""
    party_t = books.party_t
    conditions = [sale_t.c.effective_date.between(date_from, date_to), LIVE_SALE]
    if channel is not None:
        conditions.append(sale_t.c.channel == channel.value)
    sums = (func.count().label("sales_count"), func.coalesce(func.sum(sale_t.c.amount_satang), 0).label("sales"),
            func.coalesce(func.sum(sale_t.c.contribution_satang), 0).label("contributions"))  # fmt: skip
    joined = sale_t.join(party_t, party_t.c.id == sale_t.c.enterprise_party_id)

    def grouped(key) -> list[Row]:
        query = select(key.label("key"), *sums).select_from(joined).where(*conditions).group_by(key)
        # sorted here: the two databases put NULL (no region, province or centre) at opposite ends
        rows = sorted(connection.execute(query).mappings(), key=lambda r: (r["key"] is None, r["key"]))
        return [{"key": r["key"], "sales_count": r["sales_count"], "sales_satang": int(r["sales"]),
                 "contributions_satang": int(r["contributions"])} for r in rows]  # fmt: skip

    total = connection.execute(select(*sums).select_from(joined).where(*conditions)).mappings().one()
    return {"date_from": date_from, "date_to": date_to, "channel": channel,
            "total": {"key": None, "sales_count": total["sales_count"], "sales_satang": int(total["sales"]),
                      "contributions_satang": int(total["contributions"])},
            "by_region": grouped(party_t.c.region), "by_province": grouped(party_t.c.province),
            "by_centre": grouped(party_t.c.centre_id)}  # fmt: skip


# --- bulk import ------------------------------------------------------------------------------
# A market day's sales from CSV or JSON lines, one sale a line with a key of its own: the
# journal's bulk import machinery (store.bulk) judges each key, so a line recorded before is
# replayed, not recorded again, and a line refused is reported and costs the others nothing.

MAX_IMPORT_LINES = 10_000
CSV_COLUMNS = ("key", "enterprise_party_id", "effective_date", "channel", "amount", "payment", "description",
               "allow_zero_contribution")  # fmt: skip


@dataclass(frozen=True)
class SaleLine:
    number: int
    key: str
    request_hash: str
    request: SaleRequest


def _flag(value: object) -> bool:
    if value in (None, "", False, "false", "0"):
        return False
    if value in (True, "true", "1"):
        return True
    raise ValueError(f"allow_zero_contribution must be true or false, not {value!r}")


def _text(value: object, limit: int) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > limit or any(ord(c) < 32 for c in value):
        raise ValueError(f"a text of at most {limit} printable characters, not {value!r}")
    return value


def _party_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not 0 < int(value) < 2**62:
        raise ValueError(f"enterprise_party_id must be a positive whole number, not {value!r}")
    return int(value)


def sale_line(number: int, raw: bytes, fields: Row) -> SaleLine:
    """One import line's sale, refused with a reason if it is not one."""
    try:
        product_lines = tuple(
            {"product": _text(line["product"], 200), "quantity": int(line.get("quantity", 1)),
             "amount_satang": parse_amount(line["amount"])}
            for line in fields.get("lines") or ()
        )  # fmt: skip
        request = SaleRequest(
            enterprise_party_id=_party_id(fields["enterprise_party_id"]),
            effective_date=parse_client_date(fields["effective_date"]), channel=Channel(fields["channel"]),
            amount_satang=parse_amount(fields["amount"]), payment=Payment(fields.get("payment") or "cash"),
            description=_text(fields.get("description"), 500), lines=product_lines,
            allow_zero_contribution=_flag(fields.get("allow_zero_contribution")),
        )  # fmt: skip
        key = fields["key"]
    except LedgerError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise LedgerError(Rejection.invalid_request, f"not a valid sale line: {error!r}"[:500]) from None
    if not isinstance(key, str) or not 0 < len(key) <= 200:
        raise LedgerError(Rejection.idempotency_key_required, "each line needs a key of 1 to 200 characters")
    check_product_lines(request.amount_satang, [line["amount_satang"] for line in product_lines])
    return SaleLine(number, key, hashlib.sha256(raw.strip()).hexdigest(), request)


def json_line(number: int, raw: bytes) -> SaleLine:
    if len(raw) > MAX_LINE_BYTES:
        raise LedgerError(Rejection.request_too_large, f"a line has at most {MAX_LINE_BYTES} bytes")
    check_storable(raw)
    try:
        fields = json.loads(raw)
    except ValueError as error:
        raise LedgerError(Rejection.invalid_request, f"not a JSON object: {error}") from None
    raw = without_reason(raw, fields)
    if not isinstance(fields, dict):
        raise LedgerError(Rejection.invalid_request, "each line is a JSON object")
    return sale_line(number, raw, fields)


def csv_lines(text: str) -> Iterable[tuple[int, bytes, Row]]:
    """The numbered rows of a CSV text under its header line (columns: `CSV_COLUMNS`, the first
    five required, and a `reason` that is ignored), with each row's own text, which its key is
    judged by (without its reason: the row written again from its other values)."""
    rows = text.splitlines()
    header = next(csv.reader(rows[:1]), [])
    columns = [name for name in header if name != REASON_FIELD]
    if not set(CSV_COLUMNS[:5]) <= set(columns) or not set(columns) <= set(CSV_COLUMNS):
        raise LedgerError(Rejection.invalid_request, f"the CSV header names the columns {', '.join(CSV_COLUMNS)}")
    if twice := sorted({name for name in header if header.count(name) > 1}):
        raise LedgerError(Rejection.duplicate_column, f"the CSV header names {', '.join(twice)} more than once")
    reason_at = header.index(REASON_FIELD) if REASON_FIELD in header else None
    for number, row in enumerate(rows[1:], start=2):
        if row.strip():
            values = next(csv.reader([row]))
            if reason_at is not None:
                values = values[:reason_at] + values[reason_at + 1 :]
                row = csv_row(values)
            yield number, row.encode(), dict(zip(columns, values, strict=False))


def csv_row(values: Sequence[str]) -> str:
    """One CSV row's text (no line ending)."""
    written = io.StringIO()
    csv.writer(written, lineterminator="").writerow(values)
    return written.getvalue()


def parse_import(body: bytes, *, is_csv: bool, report: ImportReport) -> list[SaleLine]:
    """The lines of an import request; a line that is not a sale goes to the report."""
    try:
        text = body.decode("utf-8-sig")  # a file saved by a spreadsheet as UTF-8 CSV starts with a byte-order mark
    except UnicodeDecodeError:
        raise LedgerError(Rejection.invalid_request, "the body is not UTF-8 text") from None
    jsonl = ((n, line.encode(), None) for n, line in enumerate(text.splitlines(), start=1) if line.strip())
    numbered = csv_lines(text) if is_csv else jsonl
    lines = []
    for count, (number, raw, fields) in enumerate(numbered, start=1):
        if count > MAX_IMPORT_LINES:
            raise LedgerError(Rejection.request_too_large, f"an import has at most {MAX_IMPORT_LINES} lines")
        try:
            lines.append(json_line(number, raw) if fields is None else sale_line(number, raw, fields))
        except LedgerError as error:
            report.rejected.append((number, error.reason, error.detail))
    return lines


def import_sales(
    connection: Connection, lines: Sequence[SaleLine], *, user_id: int, only_enterprise: int | None,
    report: ImportReport, now: datetime,
) -> list[tuple[SaleLine, Row]]:  # fmt: skip
    """Record the lines' sales whose keys are new (for a party's token, its own sales only); each
    recorded line's answer is kept under its key. Returns the lines recorded with their sales."""
    fresh = drop_known_keys(connection, list(lines), user_id, report)
    mine = []
    for line in fresh:
        if only_enterprise not in (None, line.request.enterprise_party_id):
            error = books.not_found("enterprise", line.request.enterprise_party_id)
            report.rejected.append((line.number, error.reason, error.detail))
        else:
            mine.append(line)
    answers = record_sales(connection, [x.request for x in mine], user_id=user_id, now=now)
    return keep_recorded(connection, mine, answers, user_id, report, lambda sale: {"sale_id": sale["id"]}, now)


def sale_entry_ids(sales: Iterable[Row]) -> list[int]:
    return [i for sale in sales for i in (sale["enterprise_entry_id"], sale["fund_entry_id"]) if i]


def import_sales_file(db: Database, path: str, *, batch_size: int, now: Callable[[], datetime]) -> ImportReport:
    """Import a JSON-lines file of sales in batches, one transaction and one audit record each."""
    report = ImportReport()
    with db.write() as connection:
        principal = users.system_principal(connection, now=now())
    with open(path, "rb") as source:
        for batch in batches(source, batch_size):
            with db.write() as connection:
                lines = []
                for number, raw in batch:
                    try:
                        lines.append(json_line(number, raw))
                    except LedgerError as error:
                        report.rejected.append((number, error.reason, error.detail))
                recorded = import_sales(connection, lines, user_id=principal.user_id, only_enterprise=None,
                                        report=report, now=now())  # fmt: skip
                if recorded:
                    audit_log.append_system(
                        connection, actor=principal.name, action="sale.import",
                        target=f"import:{os.path.basename(path)}:{batch[0][0]}-{batch[-1][0]}"[:200],
                        request=b"".join(line.request_hash.encode() for line, _ in recorded),
                        entry_ids=sale_entry_ids(sale for _, sale in recorded), now=now(),
                    )  # fmt: skip
    report.rejected.sort()
    return report
