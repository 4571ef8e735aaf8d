"""Co-investment: share registers, cap tables, the fund's positions, and profit distributions.

An enterprise issues shares of one or more classes (a par value, votes per share). Its register
is an append-only list of events, each dated and applied in order:

    issue         new shares to a holder, committed at a price (par unless said), part paid now
    payment       a holder pays towards what it committed (a call on its shares)
    transfer      shares pass from one holder to another
    buy_back      the enterprise buys a holder's shares back at a price, and they cease to exist
    cancellation  a holder's shares cease to exist without payment (forfeiture)

A holding is (shares, committed, paid) per holder and class. Shares that leave a holding take a
proportional part of its committed and paid capital with them (`portion`, half-up, the last
share taking all that is left), so the parts of a holding always add back up. Folding the events
up to a date gives the holdings then; the shares issued are the issues less buy-backs and
cancellations, which equal the sum of holdings at every date (invariant 9). A holder never goes
below zero shares, paid never exceeds committed, and a cap (a cooperative caps a member at one
fifth) may limit any holder's share of the nominal capital after the events that raise it.

The cap table gives each holder's shares and percentage of its class, and of the nominal capital
and the votes of all classes. Percentages are ten-thousandths of a percent split by the largest
remainder (`money.allocate`), so they sum to exactly 100 %.

The fund's position in an enterprise (`Position`) is carried at average cost: a purchase adds its
price to the cost; an exit of n of N shares takes n/N of the cost and of the impairment (half-up,
all of both with the last share), and the gain is the price less that carrying amount. Impairment
never exceeds the cost and a reversal never exceeds the impairment, so the carrying amount stays
between zero and the cost.

A distribution of a period's net profit follows the enterprise's policy: at least its reserve
share goes to the legal reserve; a dividend on paid-up capital, pro-rated by the days it was
held (capital counted at the end of each day), declared either at a yearly rate (at most the
policy's cap) or as an amount to share out (at most what the cap rate would give); and a
patronage refund split in proportion to each member's business.

Days count actual/actual from the period's first day: the period is cut into years counted from
that day (`period_years`), each of 365 days, or 366 when it holds a 29 February, and a day is
that part of its year. So a one-year period is exactly one year, leap or not: capital held all
through it earns exactly the yearly rate. Inside the code a day of a 365-day year weighs 366 and
one of a 366-day year 365 (`YEAR_UNITS` = 365 x 366 to a year), so the count stays in whole
numbers. The reserve and a dividend at a rate are each rounded half-up once; the dividend and the
refund are then split by the largest remainder over those year-weighted share-days (ties to the
lower (party, class)), so the parts sum exactly to what is declared and none is negative.
Together they may not exceed the net profit.

An exit may sell to several buyers at once (`disposals`): the shares sold together take their
cost and impairment as one disposal would, split among the buyers by their shares (largest
remainder), so each buyer's gain is its price less the carrying amount of its shares and the
parts add up to the single disposal exactly.

>>> classes = {1: ShareClass(1, par_value_satang=100_00, votes_per_share=1)}
>>> events = [RegisterEvent(EventKind.issue, date(2024, 1, 1), 1, 7, to_party=10, amount_satang=700_00),
...           RegisterEvent(EventKind.issue, date(2024, 1, 1), 1, 3, to_party=20, amount_satang=300_00)]
>>> table = cap_table(holdings_as_of(events, date(2024, 1, 1), classes), classes)
>>> [(line.party_id, line.shares, str(line.percent_of_class)) for line in table.lines]
[(10, 7, '70.0000'), (20, 3, '30.0000')]
>>> disposal(Position(shares=10, cost_satang=1_000_00), shares=4, proceeds_satang=500_00)
Disposal(cost_satang=40000, impairment_satang=0, gain_satang=10000)
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import groupby

from ledger.calendar import EARLIEST_DATE
from ledger.errors import LedgerError, Rejection
from ledger.money import MAX_AMOUNT_SATANG, allocate, format_amount, to_satang

__all__ = [
    "MAX_BUYERS", "MAX_PERCENT", "MAX_SHARES", "YEAR_UNITS", "CapTable", "CapTableLine", "Declaration", "Disposal",
    "Distribution", "EventKind", "HolderLine", "Holding", "Part", "PartKind", "Policy", "Position", "RegisterEvent",
    "Sale", "ShareClass", "after_disposal", "apply_event", "cap_table", "check_holder_cap", "disposal", "disposals",
    "distribute", "holdings_as_of", "impair", "paid_up_days", "par_plus_retained_earnings", "period_years", "portion",
    "position_from", "purchase", "reverse_impairment", "shares_issued", "validate_event",
]  # fmt: skip

MAX_SHARES = 10**12
MAX_PERCENT = Decimal(100)
YEAR_UNITS = 365 * 366  # a year in day-weights: a day of a 365-day year weighs 366, of a 366-day year 365
MAX_BUYERS = 100  # buyers of one exit
MAX_PERIOD_DAYS = 3660
MAX_WEIGHT = 2**62  # paid-up satang x days, stored as BIGINT
PERCENT_UNITS = 1_000_000  # a percentage is told in ten-thousandths of a percent: 100 % is a million
_PERCENT_PLACES = Decimal("0.0001")

Key = tuple[int, int]  # (party id, share class id)


class EventKind(StrEnum):
    issue = "issue"
    payment = "payment"
    transfer = "transfer"
    buy_back = "buy_back"
    cancellation = "cancellation"


@dataclass(frozen=True)
class ShareClass:
    id: int
    par_value_satang: int
    votes_per_share: int


@dataclass(frozen=True)
class RegisterEvent:
    """One event of a register. `from_party` gives shares up (transfer, buy-back, cancellation);
    `to_party` receives them (issue, transfer) or pays for them (payment). `amount_satang` is the
    price committed (issue), paid (payment) or paid by the enterprise (buy-back); `paid_satang` is
    what an issue is paid at once."""

    kind: EventKind
    on: date
    class_id: int
    shares: int
    to_party: int | None = None
    from_party: int | None = None
    amount_satang: int = 0
    paid_satang: int = 0


@dataclass(frozen=True)
class Holding:
    shares: int = 0
    committed_satang: int = 0
    paid_satang: int = 0

    def __add__(self, other: "Holding") -> "Holding":
        return Holding(self.shares + other.shares, self.committed_satang + other.committed_satang,
                       self.paid_satang + other.paid_satang)  # fmt: skip

    def __sub__(self, other: "Holding") -> "Holding":
        return Holding(self.shares - other.shares, self.committed_satang - other.committed_satang,
                       self.paid_satang - other.paid_satang)  # fmt: skip

    def leaving(self, shares: int) -> "Holding":
        """The part of this holding that `shares` of its shares take with them."""
        return Holding(shares, portion(self.committed_satang, shares, self.shares),
                       portion(self.paid_satang, shares, self.shares))  # fmt: skip


def portion(value: int, part: int, whole: int) -> int:
    """value x part / whole, rounded half-up; all of it when part is the whole.

    >>> portion(100, 1, 3), portion(100, 2, 3), portion(100, 3, 3)
    (33, 67, 100)
    """
    assert 0 <= part <= whole and whole > 0
    return value if part == whole else (2 * value * part + whole) // (2 * whole)


# --- the register ------------------------------------------------------------------------------


def _refuse(reason: Rejection, detail: str) -> None:
    raise LedgerError(reason, detail)


def validate_event(event: RegisterEvent, classes: Mapping[int, ShareClass]) -> None:
    """Refuse an event that is malformed whatever the holdings are."""
    if event.class_id not in classes:
        _refuse(Rejection.not_found, f"share class {event.class_id} does not exist in this enterprise")
    if event.kind is EventKind.payment:
        if event.shares != 0 or event.amount_satang <= 0:
            _refuse(Rejection.amount_must_be_positive, "a payment pays a positive amount and moves no shares")
    elif not 0 < event.shares <= MAX_SHARES:
        _refuse(Rejection.shares_must_be_positive, f"the number of shares must be from 1 to {MAX_SHARES}")
    if not (0 <= event.paid_satang <= MAX_AMOUNT_SATANG and 0 <= event.amount_satang <= MAX_AMOUNT_SATANG):
        _refuse(Rejection.amount_must_be_positive, "amounts are zero or more, within the maximum")
    if event.kind is EventKind.issue and event.paid_satang > event.amount_satang:
        _refuse(Rejection.paid_exceeds_committed, "an issue cannot be paid more than its price")
    needs = {
        EventKind.issue: (True, False), EventKind.payment: (True, False), EventKind.transfer: (True, True),
        EventKind.buy_back: (False, True), EventKind.cancellation: (False, True),
    }[event.kind]  # fmt: skip
    if (event.to_party is not None, event.from_party is not None) != needs:
        _refuse(Rejection.invalid_request, f"a {event.kind} names {_parties_needed(needs)}")
    if event.kind is EventKind.transfer and event.to_party == event.from_party:
        _refuse(Rejection.invalid_request, "a transfer goes to another holder")


def _parties_needed(needs: tuple[bool, bool]) -> str:
    return {(True, False): "to_party_id only", (True, True): "from_party_id and to_party_id",
            (False, True): "from_party_id only"}[needs]  # fmt: skip


def apply_event(holdings: Mapping[Key, Holding], event: RegisterEvent) -> dict[Key, Holding]:
    """The holdings after `event` (validated), refused if a holder would go below zero or pay
    more than it committed. The input is left as it was."""
    after = dict(holdings)
    if event.kind is EventKind.issue:
        key = (event.to_party, event.class_id)
        after[key] = after.get(key, Holding()) + Holding(event.shares, event.amount_satang, event.paid_satang)
        return after
    if event.kind is EventKind.payment:
        key = (event.to_party, event.class_id)
        held = after.get(key, Holding())
        if held.paid_satang + event.amount_satang > held.committed_satang:
            owed = held.committed_satang - held.paid_satang
            _refuse(Rejection.paid_exceeds_committed,
                    f"party {event.to_party} owes {format_amount(owed)} on class {event.class_id}")  # fmt: skip
        after[key] = held + Holding(0, 0, event.amount_satang)
        return after
    key = (event.from_party, event.class_id)
    held = after.get(key, Holding())
    if event.shares > held.shares:
        _refuse(Rejection.insufficient_shares,
                f"party {event.from_party} holds {held.shares} shares of class {event.class_id}, "
                f"not {event.shares}")  # fmt: skip
    leaving = held.leaving(event.shares)
    after[key] = held - leaving
    if event.kind is EventKind.transfer:
        target = (event.to_party, event.class_id)
        after[target] = after.get(target, Holding()) + leaving
    return after


def _ordered(events: Iterable[RegisterEvent]) -> list[RegisterEvent]:
    return sorted(events, key=lambda e: e.on)  # stable: events of a day keep the order recorded


def holdings_as_of(
    events: Iterable[RegisterEvent], as_of: date, classes: Mapping[int, ShareClass]
) -> dict[Key, Holding]:
    """The holdings at the end of `as_of`, without the empty ones."""
    holdings: dict[Key, Holding] = {}
    for event in _ordered(events):
        if event.on > as_of:
            break
        validate_event(event, classes)
        holdings = apply_event(holdings, event)
    return {key: held for key, held in holdings.items() if held != Holding()}


def shares_issued(events: Iterable[RegisterEvent], as_of: date) -> dict[int, int]:
    """Shares in issue per class at the end of `as_of`: issued less bought back and cancelled."""
    sign = {EventKind.issue: 1, EventKind.buy_back: -1, EventKind.cancellation: -1}
    issued: dict[int, int] = {}
    for event in events:
        if event.on <= as_of and event.kind in sign:
            issued[event.class_id] = issued.get(event.class_id, 0) + sign[event.kind] * event.shares
    return issued


def _nominal(holdings: Mapping[Key, Holding], classes: Mapping[int, ShareClass]) -> dict[int, int]:
    """Each holder's nominal capital: its shares at par, over all classes."""
    nominal: dict[int, int] = {}
    for (party, class_id), held in holdings.items():
        nominal[party] = nominal.get(party, 0) + held.shares * classes[class_id].par_value_satang
    return nominal


def check_holder_cap(
    holdings: Mapping[Key, Holding], classes: Mapping[int, ShareClass], cap_percent: Decimal | None,
    parties: Iterable[int],
) -> None:  # fmt: skip
    """Refuse if any of `parties` (those an operation gave shares to) holds more than
    `cap_percent` of the nominal capital. Others pushed over by someone else's exit are not."""
    if cap_percent is None:
        return
    nominal = _nominal(holdings, classes)
    total = sum(nominal.values())
    for party in sorted(set(parties)):
        if nominal.get(party, 0) * 100 > cap_percent * total:
            share = Decimal(nominal[party] * 100) / Decimal(total)
            _refuse(Rejection.holder_cap_exceeded,
                    f"party {party} would hold {share.quantize(_PERCENT_PLACES)} % of the capital; "
                    f"the enterprise caps a holder at {cap_percent} %")  # fmt: skip


@dataclass(frozen=True)
class CapTableLine:
    party_id: int
    class_id: int
    shares: int
    committed_satang: int
    paid_satang: int
    percent_of_class: Decimal


@dataclass(frozen=True)
class HolderLine:
    party_id: int
    nominal_satang: int
    votes: int
    paid_satang: int
    percent_of_capital: Decimal
    percent_of_votes: Decimal


@dataclass(frozen=True)
class CapTable:
    lines: tuple[CapTableLine, ...]
    holders: tuple[HolderLine, ...]
    shares_by_class: dict[int, int]


def _percents(weights: Sequence[int]) -> list[Decimal]:
    """Percentages of the weights that sum to exactly 100 (or all zero when the weights are)."""
    if not weights or sum(weights) == 0:
        return [Decimal(0).quantize(_PERCENT_PLACES)] * len(weights)
    return [(Decimal(units) / 10_000).quantize(_PERCENT_PLACES) for units in allocate(PERCENT_UNITS, weights)]


def cap_table(holdings: Mapping[Key, Holding], classes: Mapping[int, ShareClass]) -> CapTable:
    """Shares and percentages per holder and class, and per holder over all classes."""
    keys = sorted(k for k, held in holdings.items() if held.shares > 0)
    lines: list[CapTableLine] = []
    for class_id, in_class in groupby(sorted(keys, key=lambda k: (k[1], k[0])), key=lambda k: k[1]):
        members = list(in_class)
        percents = _percents([holdings[k].shares for k in members])
        lines += [CapTableLine(party, class_id, holdings[(party, class_id)].shares,
                               holdings[(party, class_id)].committed_satang, holdings[(party, class_id)].paid_satang,
                               percent) for (party, _), percent in zip(members, percents, strict=True)]  # fmt: skip
    nominal = _nominal({k: holdings[k] for k in keys}, classes)
    parties = sorted(nominal)
    votes = {p: sum(holdings[k].shares * classes[k[1]].votes_per_share for k in keys if k[0] == p) for p in parties}
    paid = {p: sum(holdings[k].paid_satang for k in keys if k[0] == p) for p in parties}
    by_capital, by_votes = _percents([nominal[p] for p in parties]), _percents([votes[p] for p in parties])
    holders = tuple(HolderLine(p, nominal[p], votes[p], paid[p], c, v)
                    for p, c, v in zip(parties, by_capital, by_votes, strict=True))  # fmt: skip
    shares = {}
    for line in lines:
        shares[line.class_id] = shares.get(line.class_id, 0) + line.shares
    return CapTable(tuple(lines), holders, shares)


# --- the fund's position -----------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """The fund's stake in one class of one enterprise, carried at average cost."""

    shares: int = 0
    cost_satang: int = 0
    impairment_satang: int = 0
    realised_gain_satang: int = 0  # a loss is negative

    @property
    def carrying_satang(self) -> int:
        return self.cost_satang - self.impairment_satang


@dataclass(frozen=True)
class Disposal:
    cost_satang: int  # taken off the investment at average cost
    impairment_satang: int  # the impairment those shares carried, released
    gain_satang: int  # the price less the carrying amount; a loss is negative


def _check_positive(value: int, what: str, reason: Rejection = Rejection.amount_must_be_positive) -> None:
    if value <= 0:
        _refuse(reason, f"{what} must be more than zero")


def purchase(position: Position, *, shares: int, price_satang: int) -> Position:
    _check_positive(shares, "the number of shares", Rejection.shares_must_be_positive)
    _check_positive(price_satang, "the price")
    return replace(position, shares=position.shares + shares, cost_satang=position.cost_satang + price_satang)


def disposal(position: Position, *, shares: int, proceeds_satang: int) -> Disposal:
    """Selling `shares` at `proceeds_satang`: what leaves at average cost, and the gain."""
    _check_positive(shares, "the number of shares", Rejection.shares_must_be_positive)
    if proceeds_satang < 0:
        _refuse(Rejection.amount_must_be_positive, "the price cannot be negative")
    if shares > position.shares:
        _refuse(Rejection.insufficient_shares, f"the fund holds {position.shares} shares, not {shares}")
    cost = portion(position.cost_satang, shares, position.shares)
    impairment = portion(position.impairment_satang, shares, position.shares)
    return Disposal(cost, impairment, proceeds_satang - (cost - impairment))


@dataclass(frozen=True)
class Sale:
    """One buyer's part of an exit: its shares and what it pays for all of them."""

    shares: int
    proceeds_satang: int


def disposals(position: Position, sales: Sequence[Sale]) -> list[Disposal]:
    """Selling to several buyers at once: the shares sold together leave as one disposal of
    them all would take them (`disposal`); that cost and impairment are split among the buyers
    by their shares (largest remainder, ties to the earlier buyer), and each buyer's gain is its
    price less the carrying amount of its shares. The parts add up to the one disposal exactly.

    >>> [sold.gain_satang for sold in disposals(Position(shares=3, cost_satang=100), [Sale(1, 50), Sale(1, 20)])]
    [16, -13]
    """
    if not 0 < len(sales) <= MAX_BUYERS:
        _refuse(Rejection.invalid_request, f"an exit sells to 1 to {MAX_BUYERS} buyers")
    for sale in sales:
        _check_positive(sale.shares, "each buyer's number of shares", Rejection.shares_must_be_positive)
        _check_positive(sale.proceeds_satang, "each buyer's price")
    if sum(sale.proceeds_satang for sale in sales) > MAX_AMOUNT_SATANG:
        _refuse(Rejection.amount_too_large, f"the prices together exceed {format_amount(MAX_AMOUNT_SATANG)}")
    shares = [sale.shares for sale in sales]
    whole = disposal(position, shares=sum(shares), proceeds_satang=sum(sale.proceeds_satang for sale in sales))
    costs, impairments = allocate(whole.cost_satang, shares), allocate(whole.impairment_satang, shares)
    return [Disposal(cost, impairment, sale.proceeds_satang - (cost - impairment))
            for sale, cost, impairment in zip(sales, costs, impairments, strict=True)]  # fmt: skip


def par_plus_retained_earnings(
    *, shares: int, par_value_satang: int, retained_earnings_satang: int, shares_outstanding: int
) -> int:
    """The price of `shares` shares at par plus their part of the retained earnings: each of the
    shares outstanding (all classes) has an equal claim on them. Exact until one rounding, of
    the whole: shares x par + round_half_up(shares x retained / outstanding), half-up meaning
    towards the larger amount (also when the enterprise has accumulated losses); never below
    zero.

    >>> par_plus_retained_earnings(shares=1, par_value_satang=100_00, retained_earnings_satang=1_000_00,
    ...                            shares_outstanding=3)
    43333
    >>> par_plus_retained_earnings(shares=3, par_value_satang=100_00, retained_earnings_satang=1_000_00,
    ...                            shares_outstanding=3)
    130000
    """
    assert 0 <= shares <= shares_outstanding and shares_outstanding > 0 and par_value_satang > 0
    share_of_retained = (2 * shares * retained_earnings_satang + shares_outstanding) // (2 * shares_outstanding)
    return max(0, shares * par_value_satang + share_of_retained)


def position_from(moves: Iterable[tuple[str, int, int, int, int]]) -> Position:
    """A position replayed from its recorded moves: (kind, shares, cost, impairment, gain), in
    the order they happened; dividends move none of these."""
    shares = cost = impairment = gain = 0
    for kind, moved_shares, moved_cost, moved_impairment, moved_gain in moves:
        if kind == "purchase":
            shares, cost = shares + moved_shares, cost + moved_cost
        elif kind == "impairment":
            impairment += moved_impairment
        elif kind == "impairment_reversal":
            impairment -= moved_impairment
        elif kind == "exit":
            shares, cost, impairment = shares - moved_shares, cost - moved_cost, impairment - moved_impairment
            gain += moved_gain
    return Position(shares, cost, impairment, gain)


def after_disposal(position: Position, shares: int, sold: Disposal) -> Position:
    return Position(position.shares - shares, position.cost_satang - sold.cost_satang,
                    position.impairment_satang - sold.impairment_satang,
                    position.realised_gain_satang + sold.gain_satang)  # fmt: skip


def impair(position: Position, amount_satang: int) -> Position:
    _check_positive(amount_satang, "an impairment")
    if amount_satang > position.carrying_satang:
        _refuse(Rejection.impairment_exceeds_carrying_amount,
                f"the carrying amount is {format_amount(position.carrying_satang)}")  # fmt: skip
    return replace(position, impairment_satang=position.impairment_satang + amount_satang)


def reverse_impairment(position: Position, amount_satang: int) -> Position:
    _check_positive(amount_satang, "a reversal")
    if amount_satang > position.impairment_satang:
        _refuse(Rejection.reversal_exceeds_impairment,
                f"the impairment is {format_amount(position.impairment_satang)}")  # fmt: skip
    return replace(position, impairment_satang=position.impairment_satang - amount_satang)


# --- profit distribution -----------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """An enterprise's own rules: the least share of net profit for the legal reserve, the
    highest yearly dividend rate on paid-up capital (None: no cap), and the highest share of the
    nominal capital any one holder may have (None: no cap), all in percent."""

    reserve_min_percent: Decimal = Decimal(10)
    dividend_cap_percent: Decimal | None = Decimal(10)
    holder_cap_percent: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("reserve_min_percent", "dividend_cap_percent", "holder_cap_percent"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_PERCENT:
                _refuse(Rejection.rate_out_of_range, f"{name} must be from 0 to 100")
        if self.holder_cap_percent == 0:
            _refuse(Rejection.rate_out_of_range, "a holder cap of 0 % would let nobody hold shares")


class PartKind(StrEnum):
    dividend = "dividend"
    patronage = "patronage"


@dataclass(frozen=True)
class Declaration:
    """What the enterprise declares for a period: its net profit, the share reserved, the dividend
    on paid-up capital as a yearly rate or as an amount to share out (one of the two), and a
    patronage refund split by each member's business."""

    period_start: date
    period_end: date
    net_profit_satang: int
    reserve_percent: Decimal
    dividend_rate_percent: Decimal | None
    patronage_satang: int = 0
    business: tuple[tuple[int, int], ...] = ()  # (party id, business done in the period, satang)
    dividend_satang: int | None = None  # an amount to share out, instead of a rate


@dataclass(frozen=True)
class Part:
    party_id: int
    class_id: int | None  # None for a patronage refund
    kind: PartKind
    weight: int  # paid-up satang-days, or business satang
    amount_satang: int


_RATE_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Distribution:
    reserve_satang: int
    dividend_satang: int
    patronage_satang: int
    parts: tuple[Part, ...]
    dividend_rate_percent: Decimal  # as declared, or what an amount comes to a year (six places, half-up)

    @property
    def appropriated_satang(self) -> int:
        return self.reserve_satang + self.dividend_satang + self.patronage_satang

    def by_party(self) -> dict[int, int]:
        """What each party receives, dividend and refund together."""
        totals: dict[int, int] = {}
        for part in self.parts:
            totals[part.party_id] = totals.get(part.party_id, 0) + part.amount_satang
        return totals


def paid_up_days(
    events: Iterable[RegisterEvent], start: date, end: date, classes: Mapping[int, ShareClass]
) -> dict[Key, int]:
    """Paid-up capital x days held in [start, end], per holder and class: each day counts the
    capital held at its end, so a share paid for on day d counts from d and one sold on d does
    not count on d."""
    ordered = _ordered(events)
    holdings = holdings_as_of([e for e in ordered if e.on < start], start - timedelta(days=1), classes)
    weights: dict[Key, int] = {}

    def accrue(days: int) -> None:
        for key, held in holdings.items():
            if held.paid_satang and days:
                weights[key] = weights.get(key, 0) + held.paid_satang * days

    cursor = start
    for day, on_day in groupby((e for e in ordered if start <= e.on <= end), key=lambda e: e.on):
        accrue((day - cursor).days)
        for event in on_day:
            validate_event(event, classes)
            holdings = apply_event(holdings, event)
        cursor = day
    accrue((end - cursor).days + 1)
    return weights


def period_years(start: date, end: date) -> list[tuple[date, date, int]]:
    """[start, end] cut into years counted from `start`, each piece with the days of its year:
    366 when that year holds a 29 February, else 365 (a year from 29 February ends on the last
    day of the next February).

    >>> period_years(date(2023, 10, 1), date(2024, 3, 31))
    [(datetime.date(2023, 10, 1), datetime.date(2024, 3, 31), 366)]
    >>> [days for *_, days in period_years(date(2024, 1, 1), date(2025, 6, 30))]
    [366, 365]
    """
    pieces, first, years = [], start, 1
    while first <= end:
        following = _anniversary(start, years)
        pieces.append((first, min(end, following - timedelta(days=1)), (following - first).days))
        first, years = following, years + 1
    return pieces


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a common year: the year ends with February
        return date(start.year + years, 3, 1)


def _year_weighted(
    events: Sequence[RegisterEvent], start: date, end: date, classes: Mapping[int, ShareClass]
) -> tuple[dict[Key, int], dict[Key, int]]:
    """Paid-up satang-days per holder and class over [start, end], and the same with each day
    weighed as its part of its year, in YEAR_UNITS to a year."""
    days: dict[Key, int] = {}
    weighted: dict[Key, int] = {}
    for first, last, year_days in period_years(start, end):
        for key, weight in paid_up_days(events, first, last, classes).items():
            days[key] = days.get(key, 0) + weight
            weighted[key] = weighted.get(key, 0) + weight * (YEAR_UNITS // year_days)
    return days, weighted


def _half_up(value: Fraction) -> int:
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def _dividend_at(rate_percent: Decimal, weighted_total: int) -> int:
    """The dividend at a yearly rate on year-weighted paid-up capital, rounded half-up once."""
    return _half_up(Fraction(weighted_total) * Fraction(rate_percent) / (100 * YEAR_UNITS))


def _check_declaration(policy: Policy, declaration: Declaration) -> None:
    d = declaration
    if not EARLIEST_DATE <= d.period_start <= d.period_end or (d.period_end - d.period_start).days >= MAX_PERIOD_DAYS:
        _refuse(
            Rejection.invalid_date_range, f"a period runs forward from {EARLIEST_DATE}, at most {MAX_PERIOD_DAYS} days"
        )
    _check_positive(d.net_profit_satang, "the net profit")
    if not policy.reserve_min_percent <= d.reserve_percent <= MAX_PERCENT:
        _refuse(Rejection.reserve_below_minimum,
                f"the reserve is from {policy.reserve_min_percent} % to 100 % of net profit")  # fmt: skip
    if (d.dividend_rate_percent is None) == (d.dividend_satang is None):
        _refuse(Rejection.invalid_request, "a dividend is declared as a yearly rate or as an amount: one of the two")
    if d.dividend_satang is not None and not 0 <= d.dividend_satang <= MAX_AMOUNT_SATANG:
        _refuse(Rejection.amount_must_be_positive, "a dividend amount is zero or more, within the maximum")
    if d.dividend_rate_percent is not None and not 0 <= d.dividend_rate_percent <= MAX_PERCENT:
        _refuse(Rejection.rate_out_of_range, "a dividend rate is from 0 to 100 % a year")
    if (policy.dividend_cap_percent is not None and d.dividend_rate_percent is not None
            and d.dividend_rate_percent > policy.dividend_cap_percent):  # fmt: skip
        _refuse(Rejection.dividend_rate_above_cap,
                f"the policy caps dividends at {policy.dividend_cap_percent} % a year")  # fmt: skip
    if d.patronage_satang < 0 or any(satang < 0 for _, satang in d.business):
        _refuse(Rejection.amount_must_be_positive, "a patronage refund and business done cannot be negative")
    if len({party for party, _ in d.business}) != len(d.business):
        _refuse(Rejection.invalid_request, "each member's business is given once")
    if d.patronage_satang and not sum(satang for _, satang in d.business):
        _refuse(Rejection.invalid_request, "a patronage refund needs the members' business to split it by")


def distribute(
    policy: Policy, declaration: Declaration, events: Iterable[RegisterEvent], classes: Mapping[int, ShareClass]
) -> Distribution:
    """Each holder's dividend and each member's refund for the period, and the reserve."""
    _check_declaration(policy, declaration)
    d = declaration
    reserve = to_satang(Decimal(d.net_profit_satang) * d.reserve_percent / 100)
    days, weighted = _year_weighted(list(events), d.period_start, d.period_end, classes)
    if sum(days.values()) > MAX_WEIGHT:
        _refuse(Rejection.amount_too_large, "the paid-up capital held over the period is beyond what is kept")
    keys = sorted(k for k, w in weighted.items() if w > 0)
    dividend, rate = _dividend_of(policy, d, sum(weighted.values()))
    parts = _split(dividend, [(party, class_id, PartKind.dividend, days[(party, class_id)])
                              for party, class_id in keys], [weighted[k] for k in keys])  # fmt: skip
    business = sorted((party, satang) for party, satang in d.business if satang > 0)
    parts += _split(d.patronage_satang, [(party, None, PartKind.patronage, satang) for party, satang in business])
    result = Distribution(reserve, dividend, d.patronage_satang, tuple(parts), rate)
    if result.appropriated_satang > d.net_profit_satang:
        _refuse(
            Rejection.distribution_exceeds_profit,
            f"reserve {format_amount(reserve)}, dividends {format_amount(dividend)} and refunds "
            f"{format_amount(d.patronage_satang)} exceed the net profit {format_amount(d.net_profit_satang)}",
        )
    assert sum(p.amount_satang for p in parts) == dividend + d.patronage_satang
    return result


def _dividend_of(policy: Policy, declaration: Declaration, weighted_total: int) -> tuple[int, Decimal]:
    """The dividend in satang and the yearly rate it is (declared, or what an amount comes to),
    an amount refused beyond what the policy's cap rate would give or with no paid-up capital
    to share it by."""
    if declaration.dividend_rate_percent is not None:
        return _dividend_at(declaration.dividend_rate_percent, weighted_total), declaration.dividend_rate_percent
    amount = declaration.dividend_satang
    assert amount is not None
    if amount == 0:
        return 0, Decimal(0).quantize(_RATE_PLACES)
    if weighted_total == 0:
        _refuse(Rejection.invalid_request, "no paid-up capital was held in the period to share a dividend by")
    cap = policy.dividend_cap_percent
    if cap is not None and amount > (most := _dividend_at(cap, weighted_total)):
        _refuse(Rejection.dividend_rate_above_cap,
                f"the policy caps dividends at {cap} % a year: at most {format_amount(most)} here")  # fmt: skip
    rate = Decimal(amount * 100 * YEAR_UNITS) / Decimal(weighted_total)
    return amount, rate.quantize(_RATE_PLACES, rounding=ROUND_HALF_UP)


def _split(
    total: int, shares: list[tuple[int, int | None, PartKind, int]], split_by: list[int] | None = None
) -> list[Part]:
    """Parts of `total` by largest remainder over `split_by` (default: each share's own weight)."""
    if not shares:
        return []
    amounts = allocate(total, split_by or [weight for *_, weight in shares])
    return [Part(party, class_id, kind, weight, amount)
            for (party, class_id, kind, weight), amount in zip(shares, amounts, strict=True)]  # fmt: skip
