"""Community welfare funds (กองทุนสวัสดิการชุมชน): contributions from sales, settlements, the
fund's own money (members, matching, benefits, administration) and its statement.

A community enterprise that sells through a producer-to-consumer programme passes a share of each
sale to a welfare fund. A `ContributionRule` says how much: a rate (percent) for one enterprise and
fund, optionally for one sales channel, in force from one date to another. Two rules of the same
enterprise and channel may not overlap in time; a rule for one channel wins over the enterprise's
rule for all channels, so each sale has at most one rule in force.

The contribution of a sale is its rule's rate times the amount, rounded half-up to the satang once
(invariant 10):

>>> contribution_satang(123_45, Decimal("2.5"))  # 123.45 x 2.5 % = 3.08625 baht
309

A sale posts in two books, one entry each (an entry belongs to one book), in one transaction:

    enterprise  Dr cash or trade receivable / Cr sales;  Dr contribution expense / Cr payable to the fund
    fund        Dr receivable from the enterprise / Cr income from sales contributions

A settlement pays what an enterprise owes; `allocate_settlement` spreads it over the sales still
owed, oldest first. More than is owed is refused unless the payment is an advance: the excess is
then held (the enterprise's prepaid asset, the fund's liability) and settles later sales as they
are recorded. A settlement recorded in error is undone (`plan_settlement_reversal`): the sales it
paid are owed again and what it put in the advance leaves it, which is refused if the advance has
been used since. An advance not used may be refunded, up to what it exceeds the sales still owed
(`check_advance_refund`). So for every enterprise and fund, at every moment:

    contributions due (live sales) = received (allocated to them) + outstanding
    the enterprise's payable to the fund = the fund's receivable from the enterprise = outstanding

The government's matching money comes through CODI: when a fund receives it, CODI's own book
records the grant passed on in the same transaction (`check_codi_leg`).

Administration may take at most a cap (20 % by default) of the fund's inflows of the fiscal year;
beyond it only an approver's override lets a cost through. `compose_statement` builds a fund's
statement for a period so that opening + inflows - outflows + other changes = closing, exactly.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from ledger.calendar import fiscal_year_bounds, fiscal_year_of
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount, to_satang

DEFAULT_ADMIN_CAP_PERCENT = Decimal(20)
MEMBER_DAILY_SATANG = 100  # 1 baht a day
DAYS_A_MONTH, DAYS_A_YEAR = 30, 365  # what members pay for a month (30 baht) and a year (365)
AGEING_BOUNDS_DAYS = (30, 60, 90)  # receivables: 0-30, 31-60, 61-90, over 90 days since the sale
MAX_RATE_PERCENT = Decimal(100)


class Channel(StrEnum):
    market = "market"
    online_shop = "online_shop"
    retailer = "retailer"


class Payment(StrEnum):
    cash = "cash"  # Dr cash
    credit = "credit"  # Dr trade receivables: the buyer pays later


class BenefitType(StrEnum):
    birth = "birth"
    illness = "illness"
    death = "death"
    old_age = "old_age"
    disability = "disability"
    scholarship = "scholarship"
    disaster = "disaster"


class MatchingSource(StrEnum):
    local_authority = "local_authority"
    government = "government"  # through CODI
    donor = "donor"


class MatchingKind(StrEnum):
    due = "due"  # promised: Dr matching receivable / Cr the source's income
    received = "received"  # paid: Dr cash / Cr matching receivable


class Frequency(StrEnum):
    daily = "daily"
    monthly = "monthly"
    yearly = "yearly"


def benefit_type(text: str) -> BenefitType:
    """The benefit type named by `text`, refused with its own reason if there is none."""
    try:
        return BenefitType(text)
    except ValueError:
        names = ", ".join(t.value for t in BenefitType)
        raise LedgerError(Rejection.unknown_benefit_type, f"benefit type {text!r} is not one of {names}") from None


# --- contribution rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributionRule:
    enterprise_party_id: int
    fund_party_id: int
    rate_percent: Decimal
    channel: Channel | None  # None: every channel without a rule of its own
    effective_from: date
    effective_to: date | None = None  # the last day it applies; None: until further notice
    id: int = 0

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def check_rule(rule: ContributionRule) -> None:
    """Refuse a rate outside 0..100 % or a rule that ends before it starts."""
    if not Decimal(0) <= rule.rate_percent <= MAX_RATE_PERCENT:
        raise LedgerError(Rejection.rate_out_of_range, f"a contribution rate is 0 to 100 %, not {rule.rate_percent}")
    if rule.effective_to is not None and rule.effective_to < rule.effective_from:
        raise LedgerError(
            Rejection.invalid_date_range,
            f"the rule ends on {rule.effective_to}, before it starts on {rule.effective_from}",
        )


def overlaps(a: ContributionRule, b: ContributionRule) -> bool:
    """Whether two rules of the same enterprise and channel are in force on a common day."""
    if a.enterprise_party_id != b.enterprise_party_id or a.channel != b.channel:
        return False
    a_end, b_end = a.effective_to or date.max, b.effective_to or date.max
    return a.effective_from <= b_end and b.effective_from <= a_end


def refuse_overlap(rule: ContributionRule, existing: Iterable[ContributionRule]) -> None:
    for other in existing:
        if other.id != rule.id and overlaps(rule, other):
            until = other.effective_to or "further notice"
            raise LedgerError(
                Rejection.overlapping_rules,
                f"rule {other.id} of the enterprise for channel {other.channel or 'all'} is in force "
                f"from {other.effective_from} to {until}",
            )


def rule_in_force(rules: Iterable[ContributionRule], *, channel: Channel, on: date) -> ContributionRule | None:
    """The enterprise's rule for a sale on `on` through `channel`: its rule for the channel, else
    its rule for all channels, else None. `rules` are one enterprise's."""
    general = None
    for rule in rules:
        if rule.covers(on):
            if rule.channel == channel:
                return rule
            if rule.channel is None:
                general = rule
    return general


def contribution_satang(amount_satang: int, rate_percent: Decimal) -> int:
    """rate x amount, rounded half-up to the satang: the one rounding point of a contribution."""
    return to_satang(Decimal(amount_satang) * rate_percent / 100)


def check_product_lines(amount_satang: int, line_amounts_satang: Sequence[int]) -> None:
    """A sale's product lines, when given, are each more than zero and sum to its amount."""
    if any(amount <= 0 for amount in line_amounts_satang):
        raise LedgerError(Rejection.amount_must_be_positive, "a product line's amount must be more than zero")
    if line_amounts_satang and sum(line_amounts_satang) != amount_satang:
        raise LedgerError(
            Rejection.invalid_request,
            f"the product lines sum to {format_amount(sum(line_amounts_satang))}, not the sale's "
            f"{format_amount(amount_satang)}",
        )


# --- settlements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    sale_id: int
    effective_date: date
    outstanding_satang: int


@dataclass(frozen=True)
class SettlementPlan:
    allocations: tuple[tuple[int, int], ...]  # (sale id, satang), oldest sale first
    advance_satang: int  # paid beyond what was owed, held against later sales

    @property
    def allocated_satang(self) -> int:
        return sum(amount for _, amount in self.allocations)


def allocate_settlement(amount_satang: int, owed: Sequence[Owed], *, advance: bool) -> SettlementPlan:
    """Spread a payment over the sales still owed, oldest first (by date, then sale id); the last
    one reached may be settled in part. A payment beyond what is owed is refused unless it is
    marked as an advance.

    >>> allocate_settlement(150, [Owed(2, date(2024, 6, 2), 100), Owed(1, date(2024, 6, 1), 80)], advance=False)
    SettlementPlan(allocations=((1, 80), (2, 70)), advance_satang=0)
    """
    if amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a settlement must be more than zero")
    left = amount_satang
    allocations = []
    for sale in sorted(owed, key=lambda o: (o.effective_date, o.sale_id)):
        if left == 0:
            break
        part = min(left, sale.outstanding_satang)
        if part > 0:
            allocations.append((sale.sale_id, part))
            left -= part
    if left and not advance:
        total = sum(o.outstanding_satang for o in owed)
        raise LedgerError(
            Rejection.settlement_exceeds_owed,
            f"the enterprise owes {format_amount(total)}; mark the payment as an advance to pay "
            f"{format_amount(left)} more",
        )
    plan = SettlementPlan(tuple(allocations), left)
    assert plan.allocated_satang + plan.advance_satang == amount_satang
    return plan


@dataclass(frozen=True)
class SettlementReversalPlan:
    """What undoing a settlement moves. `reopened_satang`: its allocations to sales still live,
    owed again (back on the payable and the receivable). `advance_taken_satang`: its advance part
    and its allocations to sales since reversed (which their reversal had returned to the
    advance), both taken back out of the advance held."""

    reopened_satang: int
    advance_taken_satang: int
    returned_satang: int  # of advance_taken_satang, what reversed sales had returned to the advance


def plan_settlement_reversal(
    allocations: Iterable[tuple[int, bool]], *, advance_satang: int, advance_held_satang: int
) -> SettlementReversalPlan:
    """Undo a settlement of `allocations` ((satang, is the sale still live)) and `advance_satang`
    held beyond them. What it takes from the advance must still be there: an advance already
    used by later sales or refunded cannot be taken back (`settlement_advance_used`).

    >>> plan_settlement_reversal([(80, True), (20, False)], advance_satang=50, advance_held_satang=70)
    SettlementReversalPlan(reopened_satang=80, advance_taken_satang=70, returned_satang=20)
    """
    reopened = sum(amount for amount, live in allocations if live)
    returned = sum(amount for amount, live in allocations if not live)
    taken = advance_satang + returned
    if taken > advance_held_satang:
        raise LedgerError(
            Rejection.settlement_advance_used,
            f"undoing it takes {format_amount(taken)} back from the advance, which holds "
            f"{format_amount(advance_held_satang)}: later sales or a refund used the rest",
        )
    return SettlementReversalPlan(reopened, taken, returned)


def check_advance_refund(amount_satang: int, *, advance_held_satang: int, owed_satang: int) -> None:
    """A refund of an advance pays back at most what the enterprise has paid beyond what it
    owes: its unused advance less its sales still owed (which the advance should settle first).

    >>> check_advance_refund(30, advance_held_satang=50, owed_satang=20)
    """
    if amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a refund must be more than zero")
    refundable = max(0, advance_held_satang - owed_satang)
    if amount_satang > refundable:
        raise LedgerError(
            Rejection.refund_exceeds_advance,
            f"the fund holds an unused advance of {format_amount(advance_held_satang)} and is owed "
            f"{format_amount(owed_satang)}: at most {format_amount(refundable)} can be refunded",
        )


# --- the fund's own money ----------------------------------------------------------------------


def member_contribution_expected(
    *, member_count: int, frequency: Frequency, period_from: date, period_to: date, daily_satang: int
) -> int:
    """What `member_count` members owe for a period at `daily_satang` a day: days for a daily
    payer; 30 days for each month started for a monthly payer; 365 days a year for a yearly one.

    >>> member_contribution_expected(member_count=120, frequency=Frequency.monthly, period_from=date(2024, 6, 1),
    ...                              period_to=date(2024, 6, 30), daily_satang=100)
    360000
    """
    if member_count <= 0:
        raise LedgerError(Rejection.invalid_request, "a member contribution needs at least one member")
    if period_to < period_from:
        raise LedgerError(Rejection.invalid_period, f"the period ends on {period_to}, before it starts {period_from}")
    if frequency is Frequency.daily:
        days = (period_to - period_from).days + 1
    elif frequency is Frequency.monthly:
        days = DAYS_A_MONTH * ((period_to.year - period_from.year) * 12 + period_to.month - period_from.month + 1)
    else:
        days = DAYS_A_YEAR * (period_to.year - period_from.year + 1)
    return member_count * daily_satang * days


def check_codi_leg(source: MatchingSource, kind: MatchingKind) -> None:
    """Only the government's matching money is paid through CODI, and only a payment moves cash
    in CODI's book (Dr programme expenses for the fund / Cr cash)."""
    if source is not MatchingSource.government or kind is not MatchingKind.received:
        raise LedgerError(Rejection.invalid_request,
                          "through_codi is for the government's matching contributions received only")  # fmt: skip


def fiscal_year_start(day: date) -> date:
    return fiscal_year_bounds(fiscal_year_of(day))[0]


@dataclass(frozen=True)
class AdminCap:
    cap_satang: int  # cap_percent of the inflows of the fiscal year so far
    spent_satang: int  # administration of the fiscal year before this cost

    def room_satang(self) -> int:
        return max(0, self.cap_satang - self.spent_satang)


def admin_cap(*, inflows_satang: int, spent_satang: int, cap_percent: Decimal) -> AdminCap:
    """The cap is rounded half-up once, like every Decimal that becomes money."""
    return AdminCap(to_satang(Decimal(max(0, inflows_satang)) * cap_percent / 100), spent_satang)


def check_admin_cost(amount_satang: int, cap: AdminCap, *, overridden: bool) -> None:
    """Refuse a cost that takes administration over the cap, unless an approver overrides it."""
    if amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "an administration cost must be more than zero")
    if amount_satang > cap.room_satang() and not overridden:
        raise LedgerError(
            Rejection.administration_cap_exceeded,
            f"administration this fiscal year would be {format_amount(cap.spent_satang + amount_satang)}, over "
            f"the cap of {format_amount(cap.cap_satang)}; an approver may override it with a reason",
        )


# --- reads -------------------------------------------------------------------------------------


def age_bucket(sale_date: date, as_of: date, bounds: Sequence[int] = AGEING_BOUNDS_DAYS) -> str:
    """'0-30', '31-60', '61-90' or 'over 90': days from the sale to `as_of`."""
    days = (as_of - sale_date).days
    low = 0
    for bound in bounds:
        if days <= bound:
            return f"{low}-{bound}"
        low = bound + 1
    return f"over {bounds[-1]}"


def age_buckets(bounds: Sequence[int] = AGEING_BOUNDS_DAYS) -> list[str]:
    """Every bucket name, youngest first."""
    names, low = [], 0
    for bound in bounds:
        names.append(f"{low}-{bound}")
        low = bound + 1
    return [*names, f"over {bounds[-1]}"]


# Income and expense accounts of the welfare fund chart, as lines of the statement.
INFLOW_CODES = {"4100": "members", "4200": "local_authority", "4300": "government", "4400": "sales_contributions",
                "4500": "donations"}  # fmt: skip
OUTFLOW_CODES = {"5100": "benefits", "5200": "administration"}


@dataclass(frozen=True)
class FundStatement:
    """A welfare fund's statement of a period; amounts in satang, inflows and outflows positive."""

    opening_satang: int  # the fund's net assets (assets less liabilities) the day before
    inflows: tuple[tuple[str, int], ...]  # by source, `INFLOW_CODES` then other income
    sales_by_enterprise: tuple[tuple[int, int], ...]  # (enterprise party id, satang); unattributed under 0
    outflows: tuple[tuple[str, int], ...]  # benefits, administration, other expenses
    benefits_by_type: tuple[tuple[str, int], ...]  # unattributed under "other"
    other_changes_satang: int  # what moved the net assets outside income and expense (capital)
    closing_satang: int

    @property
    def total_inflows_satang(self) -> int:
        return sum(x for _, x in self.inflows)

    @property
    def total_outflows_satang(self) -> int:
        return sum(x for _, x in self.outflows)


def _breakdown(parts: Mapping, total: int, rest_key) -> tuple[tuple, ...]:
    """`parts` sorted by key, and whatever of `total` they leave unexplained under `rest_key`."""
    rows = [(key, amount) for key, amount in sorted(parts.items()) if amount]
    rest = total - sum(amount for _, amount in rows)
    return tuple(rows + ([(rest_key, rest)] if rest else []))


def compose_statement(
    *,
    opening_satang: int,
    closing_satang: int,
    movements_by_code: Mapping[str, tuple[str, int]],
    sales_by_enterprise: Mapping[int, int],
    benefits_by_type: Mapping[str, int],
) -> FundStatement:
    """A statement from the period's movement of each account (code -> (type, signed satang)),
    the net assets before and after it, and the breakdowns kept by the welfare tables. Income and
    expense movements become inflows and outflows; whatever else changed the net assets (capital
    put in, closing entries) is `other_changes`, so the statement always adds up."""
    inflows: dict[str, int] = dict.fromkeys(INFLOW_CODES.values(), 0) | {"other_income": 0}
    outflows: dict[str, int] = dict.fromkeys(OUTFLOW_CODES.values(), 0) | {"other_expenses": 0}
    for code, (type_, movement) in movements_by_code.items():
        root = code.split("-", 1)[0]
        if type_ == "income":
            inflows[INFLOW_CODES.get(root, "other_income")] -= movement
        elif type_ == "expense":
            outflows[OUTFLOW_CODES.get(root, "other_expenses")] += movement
    net = sum(inflows.values()) - sum(outflows.values())
    statement = FundStatement(
        opening_satang=opening_satang,
        inflows=tuple(inflows.items()),
        sales_by_enterprise=_breakdown(sales_by_enterprise, inflows["sales_contributions"], 0),
        outflows=tuple(outflows.items()),
        benefits_by_type=_breakdown(benefits_by_type, outflows["benefits"], "other"),
        other_changes_satang=closing_satang - opening_satang - net,
        closing_satang=closing_satang,
    )
    total = statement.total_inflows_satang - statement.total_outflows_satang + statement.other_changes_satang
    assert statement.opening_satang + total == statement.closing_satang
    return statement
