"""The bulk sales import in raw SQL through the driver: the floor `bench.sales` prints beside
the rate of `store.welfare.import_sales_file`.

It reads the JSON lines `bench.sales` writes and, in batches of the same size, each batch one
transaction, writes for each sale the rows our import writes for it: the two entries (the
enterprise's book and the welfare fund's) with their six postings, the `welfare_sale` row, the
idempotency record; one audit record a batch; and, the first time an enterprise sells for a fund,
the four sub-accounts of that pair (`store.welfare.pair`). It goes through `bench.raw`'s steps,
under the same locks, into the same schema: every trigger and constraint still holds.

What it leaves out is what our code adds: checking each line (the fields `bench.sales` writes are
taken as written, so there is no payment, description or product line to read), reading books,
rules and accounts for each batch (read once up front here), and the journal's checks in Python.
The rule in force and its contribution (rate x amount, rounded half-up once) come from
`ledger.welfare`, as ours do. No advance is applied: the locked balances must show none to apply.

    import_sales_file(url, path, batch_size)   sales recorded
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache

from bench.raw import (
    Raw,
    RawEntry,
    Table,
    append_audit,
    cli_user,
    insert_entries,
    line_batches,
    lock,
    next_ids,
    refuse_known_keys,
    satang,
    save_answers,
    stamp,
)
from ledger.welfare import Channel, ContributionRule, contribution_satang, rule_in_force

SALE = "welfare.sale"  # the kind of a sale's entries
BOOKS = "SELECT kind, party_id, id FROM book WHERE party_id IS NOT NULL ORDER BY id DESC"
PARTIES = "SELECT id, coalesce(nullif(name_en, ''), name_th), name_th, province FROM party"
RULES = """SELECT enterprise_party_id, fund_party_id, rate_percent, channel, effective_from,
    effective_to, id FROM contribution_rule"""
INSERT_SUB_ACCOUNT = """INSERT INTO account (book_id, code, name_en, name_th, type, balance_rule,
    parent_id, party_id, created_at)
    SELECT book_id, ?, substr(name_en || ': ' || ?, 1, 200), substr(name_th || ': ' || ?, 1, 200),
    type, balance_rule, id, ?, ? FROM account WHERE id = ? RETURNING id"""
SALE_ROW = Table("welfare_sale", (
    "id", "enterprise_party_id", "enterprise_book_id", "fund_party_id", "rule_id", "effective_date", "channel",
    "amount_satang", "rate_percent", "contribution_satang", "enterprise_entry_id", "fund_entry_id", "recorded_at",
    "recorded_by", "payment", "advance_applied_satang", "description", "lines",
))  # fmt: skip
CASH_SALE = ("cash", 0, None, "[]")  # payment, advance applied, description, lines: a sale of these files


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


class Ledger:
    """What sales need of the ledger, read once: books by (kind, party), parties, rules and
    account ids; a pair's sub-accounts are made on first use, as our import makes them."""

    def __init__(self, raw: Raw) -> None:
        self.raw = raw
        self.books = {(kind, party): book for kind, party, book in raw.all(BOOKS)}  # a party's first book
        self.parties = {party: rest for party, *rest in raw.all(PARTIES)}
        self.accounts = {(b, c): i for b, c, i in raw.all("SELECT book_id, code, id FROM account")}
        self.rules: dict[int, list[ContributionRule]] = {}
        for enterprise, fund, rate, channel, start, end, rule_id in raw.all(RULES):
            rule = ContributionRule(enterprise, fund, Decimal(rate), channel and Channel(channel), as_date(start),
                                    end and as_date(end), rule_id)  # fmt: skip
            self.rules.setdefault(enterprise, []).append(rule)
        self.in_force: dict[tuple[int, str, str], ContributionRule] = {}

    def rule(self, enterprise: int, channel: str, day: str) -> ContributionRule:
        key = (enterprise, channel, day)
        if key not in self.in_force:
            found = rule_in_force(self.rules[enterprise], channel=Channel(channel), on=date.fromisoformat(day))
            self.in_force[key] = found
        return self.in_force[key]

    def sub_account(self, book: int, control: str, party: int, prefix: str, created_at) -> int:
        """The sub-account `<control>-<prefix><party>` of the book, carrying the party."""
        code = f"{control}-{prefix}{party}"
        if (book, code) not in self.accounts:
            name, name_th, _ = self.parties[party]
            params = (code, name, name_th, party, created_at, self.accounts[book, control])
            [(self.accounts[book, code],)] = self.raw.all(INSERT_SUB_ACCOUNT, params)
        return self.accounts[book, code]

    def pair(self, book: int, fund_book: int, rule: ContributionRule, created_at) -> tuple[int, int, int, int]:
        """The pair's sub-accounts, in the order ours makes them: payable and prepaid in the
        enterprise's book, receivable and advance in the fund's."""
        enterprise, fund = rule.enterprise_party_id, rule.fund_party_id
        return (self.sub_account(book, "2200", fund, "F", created_at),
                self.sub_account(book, "1400", fund, "F", created_at),
                self.sub_account(fund_book, "1200", enterprise, "E", created_at),
                self.sub_account(fund_book, "2100", enterprise, "E", created_at))  # fmt: skip


@dataclass(frozen=True)
class Sale:
    key: str
    request_hash: str
    row: tuple  # welfare_sale's columns from enterprise_party_id to contribution_satang, less payment
    entries: tuple[RawEntry, RawEntry]  # the enterprise's, the fund's
    advance_accounts: tuple[int, int]  # the pair's accounts of advances: locked too, as ours does


@cache
def canonical(**dimensions: str) -> str:
    """Dimensions as an entry keeps them; made once for each enterprise and channel."""
    return json.dumps(dimensions, sort_keys=True, ensure_ascii=False)


def priced_sale(ledger: Ledger, line: bytes, created_at) -> Sale:
    """One line's sale: its rule, contribution, entries and row (making the pair's accounts)."""
    data = json.loads(line)
    enterprise, day, channel = data["enterprise_party_id"], data["effective_date"], data["channel"]
    amount, rule = satang(data["amount"]), ledger.rule(enterprise, channel, day)
    contribution, fund = contribution_satang(amount, rule.rate_percent), rule.fund_party_id
    book, fund_book = ledger.books["enterprise", enterprise], ledger.books["welfare_fund", fund]
    account = ledger.accounts
    payable, prepaid, receivable, advance = ledger.pair(book, fund_book, rule, created_at)
    _, name_th, province = ledger.parties[enterprise]
    sold = ((account[book, "1100"], amount), (account[book, "4100"], -amount),
            (account[book, "5200"], contribution), (payable, -contribution))  # fmt: skip
    owed = ((receivable, contribution), (account[fund_book, "4400"], -contribution))
    entries = (
        RawEntry(book, day, SALE, f"Sale through {channel}", canonical(channel=channel, province=province), sold),
        RawEntry(fund_book, day, SALE, f"Contribution from a sale of {name_th}",
                 canonical(channel=channel, enterprise=str(enterprise), province=province), owed),
    )  # fmt: skip
    row = (enterprise, book, fund, rule.id, day, channel, amount, str(rule.rate_percent), contribution)
    return Sale(data["key"], hashlib.sha256(line.strip()).hexdigest(), row, entries, (prepaid, advance))


def write_batch(raw: Raw, ledger: Ledger, lines: list[bytes], user_id: int) -> int:
    """One batch's rows, in the open transaction and in our import's order; the sales written."""
    now = datetime.now(UTC)
    at = stamp(raw, now)
    sales = [priced_sale(ledger, line, at) for line in lines]
    refuse_known_keys(raw, user_id, [sale.key for sale in sales])
    entries = [entry for sale in sales for entry in sale.entries]
    balances = lock(raw, entries, also=[a for sale in sales for a in sale.advance_accounts])
    assert not any(balances[sale.advance_accounts[0]] for sale in sales), "an advance to apply"
    entry_ids = insert_entries(raw, entries, user_id=user_id, recorded_at=at)
    sale_ids = next_ids(raw, "welfare_sale", len(sales))
    pairs = zip(sale_ids, sales, entry_ids[::2], entry_ids[1::2], strict=True)
    raw.insert_many(SALE_ROW, [(i, *sale.row, ours, funds, at, user_id, *CASH_SALE) for i, sale, ours, funds in pairs])
    answers = [(sale.key, sale.request_hash, {"sale_id": i}) for i, sale in zip(sale_ids, sales, strict=True)]
    save_answers(raw, answers, user_id=user_id, recorded_at=at)
    append_audit(raw, action="sale.import", entry_ids=entry_ids, recorded_at=now.isoformat())
    return len(sales)


def import_sales_file(url: str, path: str, batch_size: int) -> int:
    """Import the sales at `path` in batches of `batch_size`, one transaction each; how many."""
    raw = Raw(url)
    ledger, user_id, recorded = Ledger(raw), cli_user(raw), 0
    for batch in line_batches(path, batch_size):
        with raw.write():
            recorded += write_batch(raw, ledger, batch, user_id)
    raw.close()
    return recorded
