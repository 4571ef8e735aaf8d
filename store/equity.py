"""Co-investment in the database: share classes and registers, distribution policies and
distributions, and the fund's investments, each posted through the journal in the same
transaction as the rows that record it.

The register is the issuer's view and the investment the investor's; they agree by construction,
because the fund's shares enter and leave a register only through its investments (a register
event that names the fund's party directly is refused). The fund is a holder by the party of its
book (of kind `fund`); a fund book without one gets a party of its own at its first investment.

    register (enterprise's book, when it keeps one here: the book of kind `enterprise` it owns)
      issue, payment      Dr cash (1100)                          Cr share capital (3100), the paid part
      buy-back            Dr share capital, the paid-up part       Cr cash, the price
                          Dr (Cr) retained earnings (3300), the difference
      cancellation        Dr share capital, the paid-up part       Cr retained earnings (forfeited)
    investment (the fund's book; sub-accounts per enterprise, opened on first use)
      purchase            Dr investments (1300-P<enterprise>)      Cr cash at bank (1100)
      impairment          Dr impairment losses (5300)              Cr allowance (1390-P<enterprise>)
      reversal            the opposite
      exit                Dr cash, the price; Dr allowance, the impairment the shares carried
                          Cr investments, their average cost; Cr gain (4500) or Dr loss (5100)
    distribution
      enterprise's book   Dr retained earnings                     Cr legal reserve (3200)
                                                                   Cr dividends payable (2300-P<holder>)
      fund's book         Dr dividends receivable (1310-P<ent.>)   Cr dividend income (4300)
      payment             Dr dividends payable / Cr cash (enterprise); Dr cash / Cr receivable (fund)

A write locks the enterprise's party row (a register, a distribution) or the investment's row
before the journal locks balance rows. Register events are dated in order: none before the
enterprise's latest event, none inside a period already distributed, none after the business
date; an investment's events likewise.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ledger.accounts import EntryDraft, Posting
from ledger.equity import (
    Declaration,
    EventKind,
    Holding,
    Part,
    PartKind,
    Policy,
    Position,
    RegisterEvent,
    Sale,
    ShareClass,
    apply_event,
    cap_table,
    check_holder_cap,
    disposals,
    distribute,
    holdings_as_of,
    impair,
    par_plus_retained_earnings,
    position_from,
    purchase,
    reverse_impairment,
    shares_issued,
    validate_event,
)
from ledger.equity import Distribution as Split
from ledger.errors import LedgerError, Rejection
from store import books, journal
from store.tables import (
    Distribution,
    DistributionPart,
    DistributionPayment,
    DistributionPolicy,
    Investment,
    InvestmentEvent,
    InvestmentPurchase,
    InvestmentSetting,
)
from store.tables import RegisterEvent as RegisterEventRow
from store.tables import ShareClass as ShareClassRow

class_t = ShareClassRow.__table__
event_t = RegisterEventRow.__table__
policy_t = DistributionPolicy.__table__
distribution_t = Distribution.__table__
part_t = DistributionPart.__table__
payment_t = DistributionPayment.__table__
setting_t = InvestmentSetting.__table__
investment_t = Investment.__table__
purchase_t = InvestmentPurchase.__table__
ievent_t = InvestmentEvent.__table__

Row = dict[str, Any]

ENTERPRISE_KINDS = frozenset({"community_enterprise", "cooperative"})
FUND = {"cash": "1100", "investments": "1300", "dividends_receivable": "1310", "allowance": "1390",
        "dividend_income": "4300", "gain": "4500", "loss": "5100", "impairment_loss": "5300"}  # fmt: skip
ENTERPRISE = {"cash": "1100", "dividends_payable": "2300", "share_capital": "3100", "reserve": "3200",
              "retained_earnings": "3300"}  # fmt: skip
MAX_EVENTS_PER_WRITE = 500
HOLDERS_PER_ENTRY = 150  # an entry has at most 200 postings
DEFAULT_POLICY = Policy()  # the cooperative model: 10 % to reserve, dividends capped at 10 % a year


# --- enterprises and share classes --------------------------------------------------------------


def get_enterprise(connection: Connection, party_id: int, *, lock: bool = False) -> Row:
    """A community enterprise or cooperative; locked for the transaction when it is written to."""
    query = select(books.party_t).where(books.party_t.c.id == party_id)
    row = connection.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise books.not_found("enterprise", party_id)
    if row["kind"] not in ENTERPRISE_KINDS:
        raise LedgerError(Rejection.not_an_enterprise, f"party {party_id} is a {row['kind']}, not an enterprise")
    return dict(row)


def create_share_class(connection: Connection, party_id: int, fields: Row, *, user_id: int, now: datetime) -> Row:
    get_enterprise(connection, party_id, lock=True)
    if fields["par_value_satang"] <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a par value must be more than zero")
    taken = select(class_t.c.id).where(class_t.c.enterprise_party_id == party_id, class_t.c.code == fields["code"])
    if connection.execute(taken).first():
        raise LedgerError(Rejection.duplicate, f"share class {fields['code']!r} exists in this enterprise")
    values = {**fields, "enterprise_party_id": party_id, "created_at": now, "created_by": user_id}
    class_id = connection.execute(insert(class_t).values(**values)).inserted_primary_key[0]
    return get_share_class(connection, party_id, class_id)


def get_share_class(connection: Connection, party_id: int, class_id: int) -> Row:
    query = select(class_t).where(class_t.c.id == class_id, class_t.c.enterprise_party_id == party_id)
    row = connection.execute(query).mappings().first()
    if row is None:
        raise books.not_found(f"share class in enterprise {party_id}", class_id)
    return dict(row)


def list_share_classes(connection: Connection, party_id: int) -> list[Row]:
    query = select(class_t).where(class_t.c.enterprise_party_id == party_id).order_by(class_t.c.id)
    return [dict(r) for r in connection.execute(query).mappings()]


def classes_of(connection: Connection, party_id: int) -> dict[int, ShareClass]:
    return {r["id"]: ShareClass(r["id"], r["par_value_satang"], r["votes_per_share"])
            for r in list_share_classes(connection, party_id)}  # fmt: skip


# --- accounts -----------------------------------------------------------------------------------


def _codes(connection: Connection, book_id: int, codes: dict[str, str]) -> dict[str, int]:
    query = select(books.account_t.c.code, books.account_t.c.id).where(
        books.account_t.c.book_id == book_id, books.account_t.c.code.in_(set(codes.values()))
    )
    found = dict(connection.execute(query).all())
    missing = sorted(code for code in codes.values() if code not in found)
    if missing:
        raise books.not_found(f"account {missing[0]!r} in book", book_id)
    return {role: found[code] for role, code in codes.items()}


def sub_account(connection: Connection, book_id: int, parent_code: str, party_id: int, now: datetime) -> int:
    """The party's own sub-account of a control account, opened on first use (like a loan's)."""
    parent = books.get_account(connection, _codes(connection, book_id, {"parent": parent_code})["parent"])
    query = select(books.account_t.c.id).where(
        books.account_t.c.book_id == book_id, books.account_t.c.parent_id == parent["id"],
        books.account_t.c.party_id == party_id,
    )  # fmt: skip
    found = connection.execute(query).scalar()
    if found is not None:
        return found
    party = books.get_party(connection, party_id)
    account = books.create_account(connection, {
        "book_id": book_id, "code": f"{parent_code}-P{party_id}",
        "name_th": f"{parent['name_th']} {party['name_th']}"[:200],
        "name_en": f"{parent['name_en']}: {party['name_en'] or party['name_th']}"[:200], "type": parent["type"],
        "balance_rule": parent["balance_rule"], "parent_id": parent["id"], "party_id": party_id,
    }, now=now)  # fmt: skip
    return account["id"]


def enterprise_book(connection: Connection, party_id: int) -> Row | None:
    """The enterprise's own book (kind `enterprise`), when it keeps one here."""
    query = (
        select(books.book_t).where(books.book_t.c.kind == "enterprise", books.book_t.c.party_id == party_id)
        .order_by(books.book_t.c.id).limit(1)
    )  # fmt: skip
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def fund_book(connection: Connection, book_id: int | None) -> Row:
    """The fund's book: the one named, or the only book of kind `fund`."""
    if book_id is not None:
        book = books.get_book(connection, book_id)
        if book["kind"] != "fund":
            raise LedgerError(Rejection.invalid_request, f"book {book_id} is a {book['kind']} book, not the fund's")
        return book
    query = select(books.book_t).where(books.book_t.c.kind == "fund").order_by(books.book_t.c.id).limit(2)
    found = [dict(r) for r in connection.execute(query).mappings()]
    if not found:
        raise books.not_found("fund book", "(kind fund)")
    if len(found) > 1:
        raise LedgerError(Rejection.invalid_request, "there are several fund books: name book_id")
    return found[0]


def fund_party(connection: Connection, book: Row, now: datetime) -> int:
    """The party the fund holds shares as: its book's; a book without one gets one now."""
    if book["party_id"] is not None:
        return book["party_id"]
    party = books.create_party(connection, {"kind": "other", "name_th": book["name_th"], "name_en": book["name_en"]},
                               now=now)  # fmt: skip
    connection.execute(update(books.book_t).where(books.book_t.c.id == book["id"]).values(party_id=party["id"]))
    return party["id"]


def fund_parties(connection: Connection) -> dict[int, int]:
    """The parties of the fund books, with their book."""
    query = select(books.book_t.c.party_id, books.book_t.c.id).where(
        books.book_t.c.kind == "fund", books.book_t.c.party_id.is_not(None)
    )
    return dict(connection.execute(query).all())


def _post(
    connection: Connection, book_id: int, on: date, kind: str, description: str, lines: Iterable[tuple[int, int]],
    dimensions: dict[str, str], user_id: int, now: datetime,
) -> int | None:  # fmt: skip
    """Record the entry of (account, amount) lines, zero lines left out; None if none move."""
    postings = tuple(Posting(account, satang) for account, satang in lines if satang)
    if not postings:
        return None
    draft = EntryDraft(book_id=book_id, effective_date=on, kind=kind, description=description[:500],
                       postings=postings, dimensions=dimensions)  # fmt: skip
    return journal.record_entry(connection, draft, recorded_by=user_id, recorded_at=now)


def _refuse_future(on: date, today: date) -> None:
    if on > today:
        raise LedgerError(Rejection.date_in_future, f"{on} is after the business date {today}")


# --- the register -------------------------------------------------------------------------------


def as_event(row: Row) -> RegisterEvent:
    return RegisterEvent(EventKind(row["kind"]), row["effective_date"], row["share_class_id"], row["shares"],
                         row["to_party_id"], row["from_party_id"], row["amount_satang"],
                         row["paid_satang"])  # fmt: skip


def register_rows(connection: Connection, party_id: int, *, after: int = 0, limit: int | None = None) -> list[Row]:
    """The register's events in the order they apply: by date, then as recorded."""
    query = (
        select(event_t).where(event_t.c.enterprise_party_id == party_id, event_t.c.id > after)
        .order_by(event_t.c.effective_date, event_t.c.id)
    )  # fmt: skip
    if limit is not None:
        query = query.order_by(None).order_by(event_t.c.id).limit(limit)
    return [dict(r) for r in connection.execute(query).mappings()]


def register_events(connection: Connection, party_id: int) -> list[RegisterEvent]:
    return [as_event(r) for r in register_rows(connection, party_id)]


def _last_distributed(connection: Connection, party_id: int) -> date | None:
    query = select(func.max(distribution_t.c.period_end)).where(distribution_t.c.enterprise_party_id == party_id)
    return connection.execute(query).scalar()


def _check_register_dates(
    connection: Connection, party_id: int, events: Sequence[RegisterEvent], existing: Sequence[RegisterEvent],
    today: date,
) -> None:  # fmt: skip
    last = max((e.on for e in existing), default=date.min)
    distributed = _last_distributed(connection, party_id) or date.min
    for event in events:
        _refuse_future(event.on, today)
        if event.on < last:
            raise LedgerError(Rejection.date_before_last_transaction, f"the register last moved on {last}")
        if event.on <= distributed:
            raise LedgerError(
                Rejection.date_before_last_transaction,
                f"profits are distributed through {distributed}: the register is fixed up to then",
            )
        last = event.on


@dataclass(frozen=True)
class Recorded:
    """Register events just recorded, and the entry ids they posted."""

    rows: list[Row]
    entry_ids: list[int]


def record_register_events(
    connection: Connection, party_id: int, events: Sequence[RegisterEvent], *, notes: Sequence[str | None] = (),
    today: date, user_id: int, now: datetime, for_investment: bool = False,
) -> Recorded:  # fmt: skip
    """Apply events to the register in order, all or none: each validated against the holdings
    the ones before it leave, the holder cap checked at the end for those that gained shares,
    and each posted in the enterprise's book when it keeps one and money moved."""
    if not 0 < len(events) <= MAX_EVENTS_PER_WRITE:
        raise LedgerError(Rejection.invalid_request, f"a write has 1 to {MAX_EVENTS_PER_WRITE} register events")
    get_enterprise(connection, party_id, lock=True)
    classes, existing = classes_of(connection, party_id), register_events(connection, party_id)
    _check_register_dates(connection, party_id, events, existing, today)
    fund = set(fund_parties(connection))
    for party in sorted({p for e in events for p in (e.to_party, e.from_party) if p is not None}):
        books.get_party(connection, party)
    holdings, gained, released = holdings_as_of(existing, date.max, classes), set(), []
    for event in events:
        validate_event(event, classes)
        if not for_investment and fund & {event.to_party, event.from_party}:
            raise LedgerError(Rejection.fund_shares_through_investments,
                              "the fund's shares move only through its investments (/v1/investments)")  # fmt: skip
        before = holdings.get((event.from_party, event.class_id), Holding())
        holdings = apply_event(holdings, event)
        released.append(before.paid_satang - holdings.get((event.from_party, event.class_id), Holding()).paid_satang)
        if event.kind in (EventKind.issue, EventKind.transfer):
            gained.add(event.to_party)
    check_holder_cap(holdings, classes, policy_on(connection, party_id, events[-1].on).holder_cap_percent, gained)
    book = enterprise_book(connection, party_id)
    accounts = _codes(connection, book["id"], ENTERPRISE) if book else {}
    rows, entry_ids = [], []
    for index, (event, paid_released) in enumerate(zip(events, released, strict=True)):
        entry_id = None
        if book:
            lines = _register_lines(accounts, event, paid_released if event.from_party else 0)
            entry_id = _post(connection, book["id"], event.on, f"equity.{event.kind}",
                             f"Share register: {event.kind} of {event.shares} shares", lines,
                             {"enterprise_id": str(party_id)}, user_id, now)  # fmt: skip
        values = {"enterprise_party_id": party_id, "share_class_id": event.class_id, "kind": event.kind.value,
                  "effective_date": event.on, "shares": event.shares, "from_party_id": event.from_party,
                  "to_party_id": event.to_party, "amount_satang": event.amount_satang,
                  "paid_satang": event.paid_satang, "note": notes[index] if index < len(notes) else None,
                  "entry_id": entry_id, "recorded_at": now, "recorded_by": user_id}  # fmt: skip
        event_id = connection.execute(insert(event_t).values(**values)).inserted_primary_key[0]
        rows.append({**values, "id": event_id})
        entry_ids += [entry_id] if entry_id else []
    return Recorded(rows, entry_ids)


def _register_lines(accounts: dict[str, int], event: RegisterEvent, paid_released: int) -> list[tuple[int, int]]:
    """The enterprise's book lines of a register event (`paid_released`: the paid-up capital
    the shares leaving a holder took with them)."""
    cash, capital, retained = accounts["cash"], accounts["share_capital"], accounts["retained_earnings"]
    if event.kind is EventKind.issue:
        return [(cash, event.paid_satang), (capital, -event.paid_satang)]
    if event.kind is EventKind.payment:
        return [(cash, event.amount_satang), (capital, -event.amount_satang)]
    if event.kind is EventKind.buy_back:
        return [(capital, paid_released), (cash, -event.amount_satang), (retained, event.amount_satang - paid_released)]
    if event.kind is EventKind.cancellation:
        return [(capital, paid_released), (retained, -paid_released)]
    return []  # a transfer: money passes between the holders, not through the enterprise


def cap_table_as_of(connection: Connection, party_id: int, as_of: date) -> Row:
    classes = classes_of(connection, party_id)
    events = register_events(connection, party_id)
    holdings = holdings_as_of(events, as_of, classes)
    return {"table": cap_table(holdings, classes), "holdings": holdings, "classes": classes,
            "outstanding": sum(shares_issued(events, as_of).values())}  # fmt: skip


# --- distribution policies ----------------------------------------------------------------------


def _percent(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def policy_row(connection: Connection, party_id: int, day: date) -> Row | None:
    query = (
        select(policy_t).where(policy_t.c.enterprise_party_id == party_id, policy_t.c.effective_from <= day)
        .order_by(policy_t.c.effective_from.desc()).limit(1)
    )  # fmt: skip
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def policy_on(connection: Connection, party_id: int, day: date) -> Policy:
    """The policy in force on `day`; the cooperative model when the enterprise has set none."""
    row = policy_row(connection, party_id, day)
    if row is None:
        return DEFAULT_POLICY
    return Policy(Decimal(row["reserve_min_percent"]), _percent(row["dividend_cap_percent"]),
                  _percent(row["holder_cap_percent"]))  # fmt: skip


def set_policy(
    connection: Connection, party_id: int, policy: Policy, *, effective_from: date, user_id: int, now: datetime
) -> Row:
    """A new version of the policy from a date (not inside a period already distributed)."""
    get_enterprise(connection, party_id, lock=True)
    distributed = _last_distributed(connection, party_id)
    if distributed is not None and effective_from <= distributed:
        raise LedgerError(Rejection.date_before_last_transaction, f"profits are distributed through {distributed}")
    taken = select(policy_t.c.effective_from).where(
        policy_t.c.enterprise_party_id == party_id, policy_t.c.effective_from == effective_from
    )
    if connection.execute(taken).first():
        raise LedgerError(Rejection.duplicate, f"a policy from {effective_from} exists; set one from another date")

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    connection.execute(insert(policy_t).values(
        enterprise_party_id=party_id, effective_from=effective_from,
        reserve_min_percent=str(policy.reserve_min_percent), dividend_cap_percent=text(policy.dividend_cap_percent),
        holder_cap_percent=text(policy.holder_cap_percent), recorded_at=now, recorded_by=user_id,
    ))  # fmt: skip
    return policy_row(connection, party_id, effective_from)


# --- distributions ------------------------------------------------------------------------------


def distribution_parts(connection: Connection, party_id: int, declaration: Declaration, *, declared_on: date,
                       today: date) -> Split:  # fmt: skip
    """What a declaration would give each holder (`ledger.equity.distribute` under the policy in
    force and the register as it stands), after the checks the declaration meets; nothing is
    written. `declare` posts exactly these parts; the pages show them before it does."""
    d = declaration
    get_enterprise(connection, party_id)
    if not d.period_end <= declared_on <= today:
        raise LedgerError(Rejection.invalid_date_range, f"declared on {declared_on}: after the period, by {today}")
    overlapping = select(distribution_t.c.id).where(
        distribution_t.c.enterprise_party_id == party_id, distribution_t.c.period_start <= d.period_end,
        distribution_t.c.period_end >= d.period_start,
    )  # fmt: skip
    if (taken := connection.execute(overlapping).scalar()) is not None:
        raise LedgerError(Rejection.distribution_period_taken, f"distribution {taken} covers part of the period")
    for party, _ in d.business:
        books.get_party(connection, party)
    if fund_parties(connection).keys() & {party for party, satang in d.business if satang}:
        raise LedgerError(Rejection.invalid_request, "patronage refunds are for members' business, not the fund's")
    return distribute(policy_on(connection, party_id, d.period_end), d, register_events(connection, party_id),
                      classes_of(connection, party_id))


def declare(
    connection: Connection, party_id: int, declaration: Declaration, *, declared_on: date, today: date, user_id: int,
    now: datetime,
) -> Row:  # fmt: skip
    """Declare a period's distribution: its parts computed (`distribution_parts`) and posted
    in the enterprise's book (when it keeps one) and, for the fund's part, in the fund's."""
    get_enterprise(connection, party_id, lock=True)
    d = declaration
    result = distribution_parts(connection, party_id, d, declared_on=declared_on, today=today)
    funds = fund_parties(connection)
    dims = {"enterprise_id": str(party_id)}
    entry_ids = _declare_in_enterprise_book(connection, party_id, result, declared_on, dims, user_id, now)
    fund_entries = {}
    for holder, satang in result.by_party().items():
        if holder in funds and satang:
            lines = [(sub_account(connection, funds[holder], FUND["dividends_receivable"], party_id, now), satang),
                     (_codes(connection, funds[holder], FUND)["dividend_income"], -satang)]  # fmt: skip
            what = f"Dividend declared by enterprise {party_id} for {d.period_start}..{d.period_end}"
            fund_entries[holder] = _post(connection, funds[holder], declared_on, "distribution.declaration", what,
                                         lines, dims, user_id, now)  # fmt: skip
    distribution_id = connection.execute(insert(distribution_t).values(
        enterprise_party_id=party_id, period_start=d.period_start, period_end=d.period_end, declared_on=declared_on,
        net_profit_satang=d.net_profit_satang, reserve_percent=str(d.reserve_percent),
        dividend_rate_percent=str(result.dividend_rate_percent), reserve_satang=result.reserve_satang,
        dividend_satang=result.dividend_satang, patronage_satang=result.patronage_satang,
        declared_dividend_satang=d.dividend_satang,
        entry_ids=json.dumps([*entry_ids, *fund_entries.values()]), recorded_at=now, recorded_by=user_id,
    )).inserted_primary_key[0]  # fmt: skip
    if result.parts:
        connection.execute(insert(part_t), [
            {"distribution_id": distribution_id, "holder_party_id": p.party_id, "share_class_id": p.class_id,
             "kind": p.kind.value, "weight": p.weight, "amount_satang": p.amount_satang} for p in result.parts
        ])  # fmt: skip
    _fund_dividend_events(connection, distribution_id, result.parts, funds, fund_entries, "dividend", declared_on,
                          user_id, now)  # fmt: skip
    return get_distribution(connection, party_id, distribution_id)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _declare_in_enterprise_book(
    connection: Connection, party_id: int, result: Split, on: date, dims: dict, user_id: int, now: datetime
) -> list[int]:
    """Dr retained earnings / Cr legal reserve and each holder's dividends payable, in entries
    of at most HOLDERS_PER_ENTRY holders (the reserve goes with the first)."""
    book = enterprise_book(connection, party_id)
    if book is None:
        return []
    accounts = _codes(connection, book["id"], ENTERPRISE)
    owed = sorted((p, s) for p, s in result.by_party().items() if s)
    ids = []
    for number, chunk in enumerate(_chunks(owed, HOLDERS_PER_ENTRY) or [[]]):
        credits = [(sub_account(connection, book["id"], ENTERPRISE["dividends_payable"], p, now), -s) for p, s in chunk]
        if number == 0:
            credits.append((accounts["reserve"], -result.reserve_satang))
        lines = [(accounts["retained_earnings"], -sum(s for _, s in credits)), *credits]
        entry = _post(connection, book["id"], on, "distribution.declaration", "Profit distribution declared", lines,
                      dims, user_id, now)  # fmt: skip
        ids += [entry] if entry else []
    return ids


def _fund_dividend_events(
    connection: Connection, distribution_id: int, parts: Iterable[Part], funds: dict[int, int],
    entries: dict[int, int | None], kind: str, on: date, user_id: int, now: datetime,
) -> None:  # fmt: skip
    """One investment event per fund position that a dividend part (declared or paid) went to."""
    rows = []
    for part in parts:
        if part.party_id in funds and part.amount_satang and entries.get(part.party_id):
            investment_id = _position_for_class(connection, funds[part.party_id], part.class_id)
            rows.append(_ievent(investment_id, funds[part.party_id], kind, on, entries[part.party_id], user_id, now,
                                amount_satang=part.amount_satang, distribution_id=distribution_id))  # fmt: skip
    if rows:
        connection.execute(insert(ievent_t), rows)


def _position_for_class(connection: Connection, book_id: int, class_id: int) -> int:
    """The fund's latest position in a share class (the one whose shares earned a dividend)."""
    query = (
        select(investment_t.c.id).where(investment_t.c.book_id == book_id, investment_t.c.share_class_id == class_id,
                                        investment_t.c.status != "pending")
        .order_by(investment_t.c.id.desc()).limit(1)
    )  # fmt: skip
    return connection.execute(query).scalar_one()


def get_distribution(connection: Connection, party_id: int, distribution_id: int) -> Row:
    query = select(distribution_t).where(
        distribution_t.c.id == distribution_id, distribution_t.c.enterprise_party_id == party_id
    )
    row = connection.execute(query).mappings().first()
    if row is None:
        raise books.not_found(f"distribution of enterprise {party_id}", distribution_id)
    return _with_parts(connection, dict(row))


def _with_parts(connection: Connection, row: Row) -> Row:
    parts = select(part_t).where(part_t.c.distribution_id == row["id"]).order_by(part_t.c.id)
    payments = select(payment_t).where(payment_t.c.distribution_id == row["id"])
    paid = {p["holder_party_id"]: dict(p) for p in connection.execute(payments).mappings()}
    return {**row, "entry_ids": json.loads(row["entry_ids"]),
            "parts": [dict(p) for p in connection.execute(parts).mappings()],
            "payments": [{**p, "entry_ids": json.loads(p["entry_ids"])} for p in paid.values()]}  # fmt: skip


def list_distributions(connection: Connection, party_id: int) -> list[Row]:
    query = (
        select(distribution_t)
        .where(distribution_t.c.enterprise_party_id == party_id)
        .order_by(distribution_t.c.period_start)
    )
    return [_with_parts(connection, dict(r)) for r in connection.execute(query).mappings()]


def pay(
    connection: Connection, party_id: int, distribution_id: int, *, paid_on: date, holders: Sequence[int] | None,
    today: date, user_id: int, now: datetime,
) -> Row:  # fmt: skip
    """Pay holders their parts (all those unpaid, or those named): Dr dividends payable / Cr cash
    in the enterprise's book; Dr cash / Cr dividends receivable in the fund's for its part."""
    get_enterprise(connection, party_id, lock=True)
    distribution = get_distribution(connection, party_id, distribution_id)
    _refuse_future(paid_on, today)
    if paid_on < distribution["declared_on"]:
        raise LedgerError(Rejection.invalid_date_range, f"declared on {distribution['declared_on']}")
    owed: dict[int, int] = {}
    for part in distribution["parts"]:
        owed[part["holder_party_id"]] = owed.get(part["holder_party_id"], 0) + part["amount_satang"]
    unpaid = {h: s for h, s in owed.items() if s and h not in {p["holder_party_id"] for p in distribution["payments"]}}
    chosen = sorted(unpaid) if holders is None else sorted(set(holders))
    if not chosen or any(h not in unpaid for h in chosen):
        raise LedgerError(Rejection.distribution_paid, "nothing of what was asked is left to pay")
    dims = {"enterprise_id": str(party_id), "distribution_id": str(distribution_id)}
    book, funds = enterprise_book(connection, party_id), fund_parties(connection)
    entries: dict[int, list[int]] = {h: [] for h in chosen}
    if book:
        cash = _codes(connection, book["id"], ENTERPRISE)["cash"]
        for chunk in _chunks(chosen, HOLDERS_PER_ENTRY):
            debits = [(sub_account(connection, book["id"], ENTERPRISE["dividends_payable"], h, now), unpaid[h])
                      for h in chunk]  # fmt: skip
            entry = _post(connection, book["id"], paid_on, "distribution.payment", "Dividends paid",
                          [*debits, (cash, -sum(unpaid[h] for h in chunk))], dims, user_id, now)  # fmt: skip
            for h in chunk:
                entries[h].append(entry)
    fund_entries = {}
    for holder in (h for h in chosen if h in funds):
        lines = [
            (_codes(connection, funds[holder], FUND)["cash"], unpaid[holder]),
            (sub_account(connection, funds[holder], FUND["dividends_receivable"], party_id, now), -unpaid[holder]),
        ]
        fund_entries[holder] = _post(
            connection,
            funds[holder],
            paid_on,
            "distribution.payment",
            f"Dividend received from enterprise {party_id}",
            lines,
            dims,
            user_id,
            now,
        )
        entries[holder].append(fund_entries[holder])  # fmt: skip
    connection.execute(insert(payment_t), [
        {"distribution_id": distribution_id, "holder_party_id": h, "paid_on": paid_on, "amount_satang": unpaid[h],
         "entry_ids": json.dumps(entries[h]), "recorded_at": now, "recorded_by": user_id} for h in chosen
    ])  # fmt: skip
    paid_parts = [_part(p) for p in distribution["parts"] if p["holder_party_id"] in fund_entries]
    _fund_dividend_events(connection, distribution_id, paid_parts, funds, fund_entries, "dividend_payment", paid_on,
                          user_id, now)  # fmt: skip
    return get_distribution(connection, party_id, distribution_id)


def _part(row: Row) -> Part:
    return Part(row["holder_party_id"], row["share_class_id"], PartKind(row["kind"]), row["weight"],
                row["amount_satang"])  # fmt: skip


# --- the fund's investments ---------------------------------------------------------------------


def approval_threshold(connection: Connection, book_id: int) -> int:
    """The purchase price above which a second user approves; 0 (every purchase) until set."""
    query = select(setting_t.c.approval_threshold_satang).where(setting_t.c.book_id == book_id)
    return connection.execute(query.order_by(setting_t.c.id.desc()).limit(1)).scalar() or 0


def set_approval_threshold(connection: Connection, book_id: int | None, satang: int, *, user_id: int,
                           now: datetime) -> Row:  # fmt: skip
    book = fund_book(connection, book_id)
    if satang < 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a threshold cannot be negative")
    connection.execute(insert(setting_t).values(book_id=book["id"], approval_threshold_satang=satang,
                                                recorded_at=now, recorded_by=user_id))  # fmt: skip
    return {"book_id": book["id"], "approval_threshold_satang": satang, "recorded_at": now}


def get_investment(connection: Connection, investment_id: int, *, lock: bool = False) -> Row:
    query = select(investment_t).where(investment_t.c.id == investment_id)
    row = connection.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise books.not_found("investment", investment_id)
    return dict(row)


def investment_events(connection: Connection, investment_ids: Sequence[int]) -> dict[int, list[Row]]:
    query = (
        select(ievent_t).where(ievent_t.c.investment_id.in_(investment_ids))
        .order_by(ievent_t.c.investment_id, ievent_t.c.effective_date, ievent_t.c.id)
    )  # fmt: skip
    found: dict[int, list[Row]] = {i: [] for i in investment_ids}
    for row in connection.execute(query).mappings():
        found[row["investment_id"]].append(dict(row))
    return found


def position(rows: Iterable[Row]) -> Position:
    return position_from((r["kind"], r["shares"], r["cost_satang"], r["impairment_satang"], r["gain_satang"])
                         for r in rows)  # fmt: skip


def pending_purchase(connection: Connection, investment_id: int) -> Row | None:
    query = select(purchase_t).where(purchase_t.c.investment_id == investment_id, purchase_t.c.status == "pending")
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


@dataclass(frozen=True)
class PurchaseOrder:
    shares: int
    price_satang: int
    on: date


def record_investment(
    connection: Connection, *, book_id: int | None, enterprise_party_id: int, share_class_id: int,
    order: PurchaseOrder, today: date, user_id: int, now: datetime,
) -> Row:  # fmt: skip
    """A new position with its first purchase: posted at once when its price is within the
    approval threshold, otherwise pending until another user approves it."""
    book = fund_book(connection, book_id)
    get_enterprise(connection, enterprise_party_id)
    get_share_class(connection, enterprise_party_id, share_class_id)
    purchase(Position(), shares=order.shares, price_satang=order.price_satang)  # refuses bad figures first
    _refuse_future(order.on, today)
    open_ = select(investment_t.c.id).where(investment_t.c.book_id == book["id"],
                                             investment_t.c.share_class_id == share_class_id,
                                             investment_t.c.status != "exited")  # fmt: skip
    if (held := connection.execute(open_).scalar()) is not None:
        raise LedgerError(Rejection.duplicate, f"the fund's position in this class is investment {held}: "
                                               "add a purchase to it")  # fmt: skip
    investment_id = connection.execute(insert(investment_t).values(
        book_id=book["id"], enterprise_party_id=enterprise_party_id, share_class_id=share_class_id,
        status="pending", recorded_at=now, recorded_by=user_id,
    )).inserted_primary_key[0]  # fmt: skip
    _place_order(connection, get_investment(connection, investment_id), order, today, user_id, now)
    return get_investment(connection, investment_id)


def add_purchase(
    connection: Connection, investment_id: int, order: PurchaseOrder, *, today: date, user_id: int, now: datetime
) -> Row:
    """A further purchase for a position, on the same approval rule."""
    investment = _open_investment(connection, investment_id)
    purchase(Position(), shares=order.shares, price_satang=order.price_satang)
    _refuse_future(order.on, today)
    if pending_purchase(connection, investment_id):
        raise LedgerError(Rejection.investment_purchase_pending,
                          f"investment {investment_id} has a purchase waiting for approval")  # fmt: skip
    _place_order(connection, investment, order, today, user_id, now)
    return get_investment(connection, investment_id)


def _open_investment(connection: Connection, investment_id: int) -> Row:
    investment = get_investment(connection, investment_id, lock=True)
    if investment["status"] == "exited":
        raise LedgerError(Rejection.investment_exited, f"the fund has left investment {investment_id}")
    return investment


def _place_order(
    connection: Connection, investment: Row, order: PurchaseOrder, today: date, user_id: int, now: datetime
) -> None:
    needs_approval = order.price_satang > approval_threshold(connection, investment["book_id"])
    purchase_id = connection.execute(insert(purchase_t).values(
        investment_id=investment["id"], book_id=investment["book_id"], shares=order.shares,
        price_satang=order.price_satang, effective_date=order.on, status="pending", needs_approval=needs_approval,
        recorded_at=now, recorded_by=user_id,
    )).inserted_primary_key[0]  # fmt: skip
    if not needs_approval:
        _post_purchase(connection, investment, purchase_id, None, today, user_id, now)


def approve(connection: Connection, investment_id: int, *, approved_by: int, today: date, now: datetime) -> Row:
    """Approve the pending purchase: by a user other than its recorder; it is posted now."""
    investment = _open_investment(connection, investment_id)
    waiting = pending_purchase(connection, investment_id)
    if waiting is None:
        raise LedgerError(Rejection.investment_not_pending_approval, f"investment {investment_id} has nothing pending")
    if waiting["recorded_by"] == approved_by:
        raise LedgerError(Rejection.same_user_approval, "an investment is approved by someone other than its recorder")
    _post_purchase(connection, investment, waiting["id"], approved_by, today, approved_by, now)
    return get_investment(connection, investment_id)


def _post_purchase(
    connection: Connection, investment: Row, purchase_id: int, approved_by: int | None, today: date, user_id: int,
    now: datetime,
) -> None:  # fmt: skip
    """Issue the shares to the fund on the register and post the price, in this transaction."""
    order = connection.execute(select(purchase_t).where(purchase_t.c.id == purchase_id)).mappings().one()
    on, price, party = order["effective_date"], order["price_satang"], investment["enterprise_party_id"]
    _check_investment_date(connection, investment, on)
    holder = fund_party(connection, books.get_book(connection, investment["book_id"]), now)
    issued = RegisterEvent(EventKind.issue, on, investment["share_class_id"], order["shares"], to_party=holder,
                           amount_satang=price, paid_satang=price)  # fmt: skip
    registered = record_register_events(connection, party, [issued], notes=[f"investment {investment['id']}"],
                                        today=today, user_id=user_id, now=now, for_investment=True)  # fmt: skip
    book_id = investment["book_id"]
    lines = [(sub_account(connection, book_id, FUND["investments"], party, now), price),
             (_codes(connection, book_id, FUND)["cash"], -price)]  # fmt: skip
    event_id = _record_ievent(connection, investment, "purchase", on, lines, user_id, now,
                              f"Investment {investment['id']}: {order['shares']} shares bought",
                              shares=order["shares"], amount_satang=price, cost_satang=price,
                              register_event_id=registered.rows[0]["id"])  # fmt: skip
    connection.execute(update(purchase_t).where(purchase_t.c.id == purchase_id).values(
        status="posted", approved_by=approved_by, approved_at=now if approved_by else None, event_id=event_id,
    ))  # fmt: skip
    connection.execute(update(investment_t).where(investment_t.c.id == investment["id"]).values(status="active"))


def _check_investment_date(connection: Connection, investment: Row, on: date) -> None:
    query = select(func.max(ievent_t.c.effective_date)).where(ievent_t.c.investment_id == investment["id"])
    last = connection.execute(query).scalar()
    if last is not None and on < last:
        raise LedgerError(Rejection.date_before_last_transaction, f"the investment last moved on {last}")


def _ievent(
    investment_id: int, book_id: int, kind: str, on: date, entry_id: int, user_id: int, now: datetime, **values: Any
) -> Row:
    parts = dict.fromkeys(("shares", "amount_satang", "cost_satang", "impairment_satang", "gain_satang"), 0)
    return {"investment_id": investment_id, "book_id": book_id, "kind": kind, "effective_date": on, **parts,
            **values, "entry_id": entry_id, "recorded_at": now, "recorded_by": user_id}  # fmt: skip


def _record_ievent(
    connection: Connection, investment: Row, kind: str, on: date, lines: list[tuple[int, int]], user_id: int,
    now: datetime, description: str, **values: Any,
) -> int:  # fmt: skip
    """Post an investment's entry in the fund's book and record the event that names it."""
    dims = {"enterprise_id": str(investment["enterprise_party_id"]), "investment_id": str(investment["id"])}
    entry_id = _post(connection, investment["book_id"], on, f"investment.{kind}", description, lines, dims, user_id,
                     now)  # fmt: skip
    assert entry_id is not None
    row = _ievent(investment["id"], investment["book_id"], kind, on, entry_id, user_id, now, **values)
    return connection.execute(insert(ievent_t).values(**row)).inserted_primary_key[0]


@dataclass(frozen=True)
class Movement:
    """An impairment or its reversal, as asked for."""

    on: date
    amount_satang: int
    reason: str | None = None


@dataclass(frozen=True)
class ExitSale:
    """One buyer's part of an exit: a member (a transfer on the register) or, with no buyer, the
    enterprise itself (a buy-back); its shares and what it pays for all of them."""

    buyer_party_id: int | None
    shares: int
    price_satang: int


def _active(connection: Connection, investment_id: int, on: date, today: date) -> tuple[Row, Position]:
    investment = _open_investment(connection, investment_id)
    _refuse_future(on, today)
    _check_investment_date(connection, investment, on)
    return investment, position(investment_events(connection, [investment_id])[investment_id])


def _reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise LedgerError(Rejection.reason_required, f"{what} needs a reason")
    return reason.strip()


def impair_investment(
    connection: Connection, investment_id: int, move: Movement, *, reverse: bool, today: date, user_id: int,
    now: datetime,
) -> Row:  # fmt: skip
    """An impairment (Dr impairment losses / Cr the enterprise's allowance), at most the carrying
    amount; or its reversal, at most the impairment; with a reason."""
    why = _reason(move.reason, "a reversal of impairment" if reverse else "an impairment")
    investment, held = _active(connection, investment_id, move.on, today)
    (reverse_impairment if reverse else impair)(held, move.amount_satang)
    book_id, party = investment["book_id"], investment["enterprise_party_id"]
    allowance = sub_account(connection, book_id, FUND["allowance"], party, now)
    loss = _codes(connection, book_id, FUND)["impairment_loss"]
    sign = -1 if reverse else 1
    kind = "impairment_reversal" if reverse else "impairment"
    _record_ievent(connection, investment, kind, move.on,
                   [(loss, sign * move.amount_satang), (allowance, -sign * move.amount_satang)], user_id, now,
                   f"Investment {investment_id}: {kind.replace('_', ' ')}: {why}", amount_satang=move.amount_satang,
                   impairment_satang=move.amount_satang, reason=why)  # fmt: skip
    return get_investment(connection, investment_id)


def exit_investment(
    connection: Connection, investment_id: int, on: date, sales: Sequence[ExitSale], *, today: date, user_id: int,
    now: datetime,
) -> Row:  # fmt: skip
    """Sell shares to one buyer or several at once, each a member (a transfer) or the enterprise
    (a buy-back), all or none: the register events in one write (the holder cap checked after
    all of them), and one entry in the fund's book: Dr cash, the prices; Dr allowance, the
    impairment the shares carried / Cr investments, their average cost; Cr gain (4500) or Dr
    loss (5100). An investment event per buyer; the position is `exited` when no shares are left."""
    buyers = [sale.buyer_party_id for sale in sales]
    if len(set(buyers)) != len(buyers):
        raise LedgerError(Rejection.invalid_request, "each buyer is named once in an exit")
    investment, held = _active(connection, investment_id, on, today)
    sold = disposals(held, [Sale(sale.shares, sale.price_satang) for sale in sales])
    book_id, party = investment["book_id"], investment["enterprise_party_id"]
    holder = fund_party(connection, books.get_book(connection, book_id), now)
    leaving = [RegisterEvent(EventKind.buy_back if sale.buyer_party_id is None else EventKind.transfer, on,
                             investment["share_class_id"], sale.shares, to_party=sale.buyer_party_id,
                             from_party=holder, amount_satang=sale.price_satang) for sale in sales]  # fmt: skip
    registered = record_register_events(connection, party, leaving, notes=[f"investment {investment_id}: exit"] *
                                        len(leaving), today=today, user_id=user_id, now=now,
                                        for_investment=True)  # fmt: skip
    codes, gains = _codes(connection, book_id, FUND), [part.gain_satang for part in sold]
    lines = [(codes["cash"], sum(sale.price_satang for sale in sales)),
             (sub_account(connection, book_id, FUND["allowance"], party, now), sum(p.impairment_satang for p in sold)),
             (sub_account(connection, book_id, FUND["investments"], party, now), -sum(p.cost_satang for p in sold)),
             (codes["gain"], -sum(g for g in gains if g > 0)),
             (codes["loss"], -sum(g for g in gains if g < 0))]  # fmt: skip
    shares = sum(sale.shares for sale in sales)
    dims = {"enterprise_id": str(party), "investment_id": str(investment_id)}
    entry_id = _post(connection, book_id, on, "investment.exit",
                     f"Investment {investment_id}: {shares} shares sold to {len(sales)} buyer(s)", lines, dims,
                     user_id, now)  # fmt: skip
    assert entry_id is not None
    connection.execute(insert(ievent_t), [
        _ievent(investment_id, book_id, "exit", on, entry_id, user_id, now, shares=sale.shares,
                amount_satang=sale.price_satang, cost_satang=part.cost_satang,
                impairment_satang=part.impairment_satang, gain_satang=part.gain_satang,
                counterparty_party_id=sale.buyer_party_id, register_event_id=row["id"])
        for sale, part, row in zip(sales, sold, registered.rows, strict=True)
    ])  # fmt: skip
    if held.shares == shares:
        connection.execute(update(investment_t).where(investment_t.c.id == investment_id).values(status="exited"))
    return get_investment(connection, investment_id)


def set_exit_plan(connection: Connection, investment_id: int, plan: Row) -> Row:
    """Keep (or replace) the plan to hand the enterprise back: a target date and a price rule;
    the rule `par_plus_retained` needs the enterprise's own book, where its retained earnings are."""
    investment = _open_investment(connection, investment_id)
    if plan["exit_price_rule"] == "par_plus_retained" and enterprise_book(
        connection, investment["enterprise_party_id"]
    ) is None:
        raise LedgerError(Rejection.invalid_request, "the enterprise keeps no book here: its retained earnings "
                                                     "are not known, so par plus retained earnings cannot be priced")
    if plan["exit_price_rule"] == "fixed" and not (plan.get("exit_price_per_share_satang") or 0) > 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a fixed price rule needs a price per share")
    if plan["exit_price_rule"] != "fixed":
        plan = {**plan, "exit_price_per_share_satang": None}
    connection.execute(update(investment_t).where(investment_t.c.id == investment_id).values(**plan))
    return get_investment(connection, investment_id)


# --- reading investments ------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """A position's figures from its events, and the fund's share of the enterprise."""

    position: Position
    dividends_declared_satang: int
    dividends_received_satang: int
    percent_of_class: Decimal
    percent_of_capital: Decimal
    indicative_exit_price_satang: int | None


def _sum(rows: Iterable[Row], kind: str) -> int:
    return sum(r["amount_satang"] for r in rows if r["kind"] == kind)


def figures_of(connection: Connection, investments: Sequence[Row], as_of: date) -> dict[int, Figures]:
    """Figures of many positions, their events read at once and each enterprise's cap table once."""
    events = investment_events(connection, [i["id"] for i in investments])
    tables: dict[int, Row] = {}
    funds = {book: party for party, book in fund_parties(connection).items()}
    result = {}
    for investment in investments:
        party = investment["enterprise_party_id"]
        if party not in tables:
            tables[party] = cap_table_as_of(connection, party, as_of)
        table, holder = tables[party]["table"], funds.get(investment["book_id"])
        live = [r for r in events[investment["id"]] if r["effective_date"] <= as_of]
        held = position(live)
        of_class = next(
            (
                line.percent_of_class
                for line in table.lines
                if line.party_id == holder and line.class_id == investment["share_class_id"]
            ),
            Decimal(0),
        )
        of_capital = next((line.percent_of_capital for line in table.holders if line.party_id == holder), Decimal(0))
        price = _exit_price(connection, investment, held, tables[party], as_of)
        result[investment["id"]] = Figures(held, _sum(live, "dividend"), _sum(live, "dividend_payment"),
                                           of_class, of_capital, price)  # fmt: skip
    return result


def _exit_price(connection: Connection, investment: Row, held: Position, register: Row, as_of: date) -> int | None:
    """The price the exit plan's rule gives for the shares held on `as_of`."""
    rule = investment["exit_price_rule"]
    if rule is None:
        return None
    par = register["classes"][investment["share_class_id"]].par_value_satang
    if rule == "par_plus_retained":
        if not held.shares:
            return 0
        return par_plus_retained_earnings(
            shares=held.shares, par_value_satang=par, shares_outstanding=register["outstanding"],
            retained_earnings_satang=retained_earnings(connection, investment["enterprise_party_id"], as_of),
        )  # fmt: skip
    return {"cost": held.cost_satang, "carrying_amount": held.carrying_satang, "par": held.shares * par,
            "fixed": held.shares * (investment["exit_price_per_share_satang"] or 0)}[rule]  # fmt: skip


def retained_earnings(connection: Connection, party_id: int, as_of: date) -> int:
    """The enterprise's retained earnings (3300) at the end of `as_of`, a credit balance told as a
    positive amount (accumulated losses negative); zero when it keeps no book here."""
    book = enterprise_book(connection, party_id)
    if book is None:
        return 0
    account = _codes(connection, book["id"], {"retained": ENTERPRISE["retained_earnings"]})["retained"]
    return -journal.balances_as_of(connection, book["id"], as_of, [account]).get(account, 0)


def list_investments(
    connection: Connection, *, filters: Row, only_party: int | None, after: int = 0, limit: int | None = None
) -> list[Row]:
    """Positions with their enterprise's region, province and centre, filtered."""
    party = books.party_t
    query = (
        select(investment_t, party.c.name_th.label("enterprise_name_th"), party.c.region, party.c.province,
               party.c.centre_id)
        .join(party, party.c.id == investment_t.c.enterprise_party_id)
        .where(investment_t.c.id > after).order_by(investment_t.c.id)
    )  # fmt: skip
    for name in ("book_id", "enterprise_party_id", "status"):
        if filters.get(name) is not None:
            query = query.where(investment_t.c[name] == filters[name])
    for name in ("region", "province", "centre_id"):
        if filters.get(name) is not None:
            query = query.where(party.c[name] == filters[name])
    if filters.get("exit_before") is not None:
        query = query.where(investment_t.c.exit_target_on <= filters["exit_before"])
    if only_party is not None:
        query = query.where(investment_t.c.enterprise_party_id == only_party)
    if limit is not None:
        query = query.limit(limit)
    return [dict(r) for r in connection.execute(query).mappings()]


def with_pending(connection: Connection, investment: Row) -> Row:
    return {**investment, "pending_purchase": pending_purchase(connection, investment["id"])}
