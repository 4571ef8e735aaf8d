"""A book as a Beancount ledger: plain text that an auditor can check with a tool we did not write.

Beancount (beancount.github.io) reads a ledger of directives. We write, in this order:

- `option` lines naming the ledger and its currency, THB;
- one `open` directive per account, on the day of the book's first entry, with the account's
  code, names and party as metadata;
- one transaction per entry, in the order of (effective date, entry id), with the entry id,
  kind, dimensions, parties and reversal links as metadata and every posting in baht;
- after the last entry of each month, a `balance` assertion per account, dated the first day
  of the next month (Beancount checks a balance at the start of its day), with the balance of
  the account and everything below it (Beancount includes sub-accounts in an assertion), to
  the satang (tolerance zero).

`bean-check` then proves that every transaction balances and that Beancount's balances equal
ours at every month end.

Beancount's account names start with a root for the type (Assets, Liabilities, Equity, Income,
Expenses) and go down the control-account tree by code: `Assets:1200:1200-01`. A component must
start with a capital letter or a digit and hold only letters, digits and dashes, so any other
character of a code becomes a dash, and a code so changed gets the account id appended to stay
unique.

>>> names = account_names([ExportAccount(7, "1200-01", "ลูกหนี้", None, "asset", 3, None, None),
...                        ExportAccount(3, "1200", "เงินให้กู้", "Loans", "asset", None, None, None)])
>>> names[7]
'Assets:1200:1200-01'
>>> print(transaction_text(ExportEntry(9, date(2024, 6, 1), "manual", 'A "loan"', None, None, (),
...                                    ((7, 150050), (3, -150050))), names, {}))
2024-06-01 * "A \\"loan\\""
  entry_id: 9
  kind: "manual"
  Assets:1200:1200-01  1500.50 THB
  Assets:1200  -1500.50 THB
<BLANKLINE>
"""

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ledger.calendar import month_end
from ledger.money import format_amount
from ledger.reports import rolled_up

CURRENCY = "THB"
ROOTS = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "income": "Income", "expense": "Expenses"}
_NOT_IN_COMPONENT = re.compile(r"[^A-Za-z0-9-]")
_META_KEY = re.compile(r"[a-z][a-zA-Z0-9_-]*")


@dataclass(frozen=True)
class ExportAccount:
    id: int
    code: str
    name_th: str
    name_en: str | None
    type: str
    parent_id: int | None
    party_id: int | None
    party_name: str | None


@dataclass(frozen=True)
class ExportEntry:
    id: int
    effective_date: date
    kind: str
    description: str
    reverses_entry_id: int | None
    reversed_by_entry_id: int | None
    dimensions: tuple[tuple[str, str], ...]
    postings: tuple[tuple[int, int], ...]  # (account id, amount in satang)


def quoted(text: str) -> str:
    """A Beancount string: backslashes and quotes escaped, one line."""
    one_line = " ".join(str(text).split())
    return '"' + one_line.replace("\\", "\\\\").replace('"', '\\"') + '"'


def component(account: ExportAccount) -> str:
    cleaned = _NOT_IN_COMPONENT.sub("-", account.code)
    if not cleaned[:1].isdigit() and not cleaned[:1].isupper():
        cleaned = "X" + cleaned
    return cleaned if cleaned == account.code else f"{cleaned}-{account.id}"


def account_names(accounts: Sequence[ExportAccount]) -> dict[int, str]:
    """Each account's Beancount name: its type's root, then the codes down from its top parent."""
    by_id = {a.id: a for a in accounts}

    def path(account: ExportAccount) -> list[str]:
        parent = by_id.get(account.parent_id) if account.parent_id is not None else None
        return [*(path(parent) if parent else []), component(account)]

    return {a.id: ":".join([ROOTS[a.type], *path(a)]) for a in accounts}


def meta_key(key: str) -> str:
    """A metadata key Beancount accepts: lower-case start, letters, digits, dashes, underscores."""
    cleaned = re.sub(r"[^a-zA-Z0-9_-]", "_", key)
    return cleaned if _META_KEY.fullmatch(cleaned) else "d_" + cleaned


def header_text(book_title: str) -> str:
    return f"option {quoted('title')} {quoted(book_title)}\noption {quoted('operating_currency')} {quoted(CURRENCY)}\n"


def open_text(day: date, account: ExportAccount, name: str) -> str:
    meta = [("code", quoted(account.code)), ("name_th", quoted(account.name_th))]
    meta += [("name_en", quoted(account.name_en))] if account.name_en else []
    if account.party_id is not None:
        meta += [("party_id", str(account.party_id)), ("party", quoted(account.party_name or ""))]
    lines = "".join(f"  {key}: {value}\n" for key, value in meta)
    return f"{day.isoformat()} open {name} {CURRENCY}\n{lines}"


def transaction_text(entry: ExportEntry, names: Mapping[int, str], parties: Mapping[int, int]) -> str:
    """One entry as a transaction; `parties` maps account ids to the party of their sub-ledger."""
    # A reversal and the entry it reverses share the link ^entry-<id of the reversed entry>.
    linked = (entry.reverses_entry_id, entry.id if entry.reversed_by_entry_id is not None else None)
    links = sorted(f"^entry-{i}" for i in linked if i is not None)
    head = " ".join([entry.effective_date.isoformat(), "*", quoted(entry.description), *links])
    meta = [("entry_id", str(entry.id)), ("kind", quoted(entry.kind))]
    meta += [("reverses", str(entry.reverses_entry_id))] if entry.reverses_entry_id is not None else []
    meta += [("reversed_by", str(entry.reversed_by_entry_id))] if entry.reversed_by_entry_id is not None else []
    involved = sorted({parties[a] for a, _ in entry.postings if a in parties})
    meta += [("parties", quoted(" ".join(map(str, involved))))] if involved else []
    meta += [(meta_key(key), quoted(value)) for key, value in entry.dimensions]
    lines = [f"  {key}: {value}" for key, value in meta]
    lines += [f"  {names[account_id]}  {format_amount(amount)} {CURRENCY}" for account_id, amount in entry.postings]
    return head + "\n" + "\n".join(lines) + "\n"


def balances_text(month_last_day: date, totals: Mapping[int, int], names: Mapping[int, str]) -> str:
    """Balance assertions for the end of a month: dated the next day, when Beancount checks them."""
    day = (month_last_day + timedelta(days=1)).isoformat()
    # "~ 0.00": no tolerance; by default Beancount lets an assertion in cents be off by one.
    return "".join(f"{day} balance {names[a]}  {format_amount(totals[a])} ~ 0.00 {CURRENCY}\n" for a in sorted(totals))


def ledger_chunks(
    book_title: str, accounts: Sequence[ExportAccount], first_day: date, entries: Iterable[ExportEntry]
) -> Iterator[str]:
    """The whole ledger, a piece at a time, holding only the running balances: `entries` may be
    a cursor over millions of entries, in (effective date, id) order."""
    names = account_names(accounts)
    parents = {a.id: a.parent_id for a in accounts}
    parties = {a.id: a.party_id for a in accounts if a.party_id is not None}
    balances = dict.fromkeys(parents, 0)
    yield header_text(book_title) + "\n"
    yield "".join(open_text(first_day, a, names[a.id]) for a in accounts) + "\n"
    month: date | None = None
    for entry in entries:
        if month is not None and entry.effective_date > month:
            yield balances_text(month, rolled_up(balances, parents), names) + "\n"
        month = month_end(entry.effective_date)
        for account_id, amount in entry.postings:
            balances[account_id] += amount
        yield transaction_text(entry, names, parties) + "\n"
    if month is not None:
        yield balances_text(month, rolled_up(balances, parents), names)
