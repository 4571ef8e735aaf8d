"""What the crash and load scripts stand on: a fresh database of either kind with the fund's book
registered and an admin token (`fresh_ledger`), and how they report."""

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.run import fresh_database
from store import books, users
from store.engine import Database


@dataclass
class Ledger:
    url: str
    db: Database
    token: str  # an admin's
    book_id: int
    accounts: dict[str, int]  # code -> id in the fund's book

    def entry_body(self, lines: list[tuple[int, str]], *, description: str, day: str = "2024-06-03") -> dict:
        postings = [{"account_id": account, "amount": amount} for account, amount in lines]
        return {"book_id": self.book_id, "effective_date": day, "description": description, "postings": postings}


@contextlib.contextmanager
def fresh_ledger(kind: str, name: str, workdir: str) -> Iterator[Ledger]:
    """A new database (`sqlite` or `postgresql`), migrated, with the fund's book and an admin."""
    with fresh_database("sqlite" if kind == "sqlite" else "postgres", name, workdir) as url:
        db = Database(url)
        db.migrate()
        now = datetime.now(UTC)
        with db.write() as connection:
            token = users.add_user(connection, name="reliability-admin", role="admin", party_id=None, now=now)[1]
            book = books.create_book(connection, {"code": "FUND", "kind": "fund", "name_th": "กองทุน"}, now=now)
            accounts = {a["code"]: a["id"] for a in books.book_accounts(connection, book["id"])}
        try:
            yield Ledger(url, db, token, book["id"], accounts)
        finally:
            db.dispose()


def database_kinds(choice: str) -> list[str]:
    return ["sqlite", "postgresql"] if choice == "both" else [choice]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
