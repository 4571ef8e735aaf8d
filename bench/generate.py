"""Seeded, realistic activity of the CODI fund, for the benchmarks.

`create_fund` registers the fund book (the standard "fund" chart) and one borrower party per
loan sub-account `1200-NNN` under the control account 1200. `write_entries` writes the fund's
history as JSON lines in the format `store.bulk` imports, oldest first, until it holds a given
number of postings, spread evenly over the fiscal years that end on FUND_END:

    capital from the budget   Dr 1100 cash            Cr 3100 fund capital
    grant received            Dr 1100 cash            Cr 4600 grant income
    loan disbursed            Dr 1200-NNN borrower    Cr 1100 cash
    repayment                 Dr 1100 cash            Cr 1200-NNN principal, Cr 4100 interest
    expense paid              Dr 5400 / 5500          Cr 1100 cash

The writer keeps every balance it moves, so no line breaks a balance rule (cash never goes into
credit, no loan receivable into credit). Amounts are whole satang, written by `format_amount`.
"""

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ledger.money import format_amount
from store import books
from store.books import account_t
from store.engine import Database

BOOK_CODE = "CODI-FUND"
FUND_END = date(2024, 9, 30)  # the last day of FY2567
PROVINCES = (
    "Nakhon Sawan",
    "Chiang Mai",
    "Khon Kaen",
    "Songkhla",
    "Ubon Ratchathani",
    "Phitsanulok",
)
OPENING_CAPITAL = 500_000_000_00  # satang
PROGRAMMES = ("baan_mankong", "livelihood", "welfare", "disaster_relief")


@dataclass(frozen=True)
class Fund:
    book_id: int
    accounts: dict[str, int]  # account code -> id
    borrowers: tuple[str, ...]  # the borrowers' account codes, 1200-001 ...


def borrower_code(number: int) -> str:
    return f"1200-{number:03d}"


def create_fund(db: Database, *, borrowers: int, now: datetime) -> Fund:
    """The fund book with its chart and `borrowers` loan sub-accounts, each with its party."""
    with db.write() as connection:
        fund = {"code": BOOK_CODE, "kind": "fund", "name_th": "กองทุน พอช.", "name_en": "CODI Fund"}
        book_id = books.create_book(connection, fund, now=now)["id"]
        codes = select(account_t.c.code, account_t.c.id).where(account_t.c.book_id == book_id)
        control = dict(connection.execute(codes).all())["1200"]
        for number in range(1, borrowers + 1):
            party = books.create_party(connection, {
                "kind": "savings_group", "name_th": f"กลุ่มออมทรัพย์ {number}",
                "name_en": f"Savings group {number}", "region": "north",
                "province": PROVINCES[number % len(PROVINCES)],
            }, now=now)  # fmt: skip
            books.create_account(connection, {
                "book_id": book_id, "code": borrower_code(number), "type": "asset",
                "name_th": f"ลูกหนี้เงินกู้ {number}", "name_en": f"Loan receivable {number}",
                "balance_rule": "debit_or_zero", "parent_id": control, "party_id": party["id"],
            }, now=now)  # fmt: skip
        accounts = dict(connection.execute(codes).all())
    return Fund(book_id, accounts, tuple(borrower_code(n) for n in range(1, borrowers + 1)))


class History:
    """The fund's balances as the history is written, and the entries that keep them legal."""

    def __init__(self, rng: random.Random, borrowers: tuple[str, ...]) -> None:
        self.rng = rng
        self.borrowers = borrowers
        self.cash = 0
        self.loans = dict.fromkeys(borrowers, 0)

    def next_entry(self) -> tuple[str, list[tuple[str, int]]]:
        """A description and postings (code, satang) of the next business event."""
        roll = self.rng.random()
        borrower = self.rng.choice(self.borrowers)
        if roll < 0.55 and self.loans[borrower] > 0:
            principal = min(self.loans[borrower], self.rng.randint(1_000_00, 60_000_00))
            interest = self.rng.randint(50_00, 6_000_00)
            self.loans[borrower] -= principal
            self.cash += principal + interest
            lines = [("1100", principal + interest), (borrower, -principal), ("4100", -interest)]
            return f"Repayment from {borrower}", lines
        if roll < 0.72:
            amount = self.rng.randint(50_000_00, 2_000_000_00)
            if self.cash >= amount:
                self.cash -= amount
                self.loans[borrower] += amount
                return f"Loan disbursed to {borrower}", [(borrower, amount), ("1100", -amount)]
            return self.receipt("Capital from the annual budget", "3100", amount * 20)
        if roll < 0.90:
            amount = self.rng.randint(500_00, 80_000_00)
            if self.cash >= amount:
                self.cash -= amount
                expense = self.rng.choice(("5400", "5500"))
                return f"Expense paid ({expense})", [(expense, amount), ("1100", -amount)]
        return self.receipt("Grant received", "4600", self.rng.randint(10_000_00, 500_000_00))

    def receipt(self, description: str, credit_code: str, amount: int) -> tuple[str, list]:
        self.cash += amount
        return description, [("1100", amount), (credit_code, -amount)]


def history_start(years: int) -> date:
    return FUND_END.replace(year=FUND_END.year - years) + timedelta(days=1)


def write_entries(
    path: str, *, postings: int, years: int, borrowers: int, seed: int, most_entries: int | None = None
) -> tuple:
    """Write entries holding about `postings` postings over `years` fiscal years (or stop at
    `most_entries`), the first one the opening capital; returns the numbers of entries and
    postings written."""
    rng = random.Random(seed)
    history = History(rng, tuple(borrower_code(n) for n in range(1, borrowers + 1)))
    start = history_start(years)
    days = (FUND_END - start).days + 1
    entries = written = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < postings and entries != most_entries:
            day = start + timedelta(days=written * days // postings)
            if entries:
                description, lines = history.next_entry()
            else:
                description, lines = history.receipt("Opening capital", "3100", OPENING_CAPITAL)
            line = {
                "key": f"e{entries:08d}", "book": BOOK_CODE, "effective_date": day.isoformat(),
                "kind": "manual" if entries else "opening", "description": description,
                "dimensions": {"province": rng.choice(PROVINCES),
                               "programme": rng.choice(PROGRAMMES)},
                "postings": [{"account": code, "amount": format_amount(satang)}
                             for code, satang in lines],
            }  # fmt: skip
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
            entries += 1
            written += len(lines)
    return entries, written
