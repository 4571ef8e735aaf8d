"""The invariants of DESIGN.md section 4 that a database must keep whatever was thrown at the
service, checked on the database itself with SQL (the tests, the fuzzer, the crash and load
scripts all end here). Each check returns the problems it found; none means the invariant holds.
"""

from sqlalchemy import Connection, text

from store import audit_log
from store.engine import Database

CHECKS = {
    "entries balance: two or more postings summing to zero, none zero": """
        SELECT e.id FROM entry e LEFT JOIN posting p ON p.entry_id = e.id
        GROUP BY e.id HAVING count(p.id) < 2 OR coalesce(sum(p.amount_satang), 0) <> 0
            OR sum(CASE WHEN p.amount_satang = 0 THEN 1 ELSE 0 END) > 0""",
    "no posting without its entry": """
        SELECT p.id FROM posting p LEFT JOIN entry e ON e.id = p.entry_id WHERE e.id IS NULL""",
    "each balance is the sum of its account's postings": """
        SELECT b.account_id FROM account_balance b
        LEFT JOIN (SELECT account_id, sum(amount_satang) AS total, count(*) AS n FROM posting GROUP BY account_id) p
               ON p.account_id = b.account_id
        WHERE b.balance_satang <> coalesce(p.total, 0) OR b.posting_count <> coalesce(p.n, 0)""",
    "each month's movement is the sum of its postings": """
        SELECT m.account_id FROM account_month m
        WHERE m.movement_satang <> (SELECT coalesce(sum(p.amount_satang), 0) FROM posting p
                                     WHERE p.account_id = m.account_id AND {month_of_posting} = m.month_start)""",
    "every book's balances sum to zero": """
        SELECT book_id FROM account_balance GROUP BY book_id HAVING sum(balance_satang) <> 0""",
    "an entry is reversed at most once": """
        SELECT reverses_entry_id FROM entry WHERE reverses_entry_id IS NOT NULL
        GROUP BY reverses_entry_id HAVING count(*) > 1""",
}
MONTH_OF_POSTING = {
    "postgresql": "date_trunc('month', p.effective_date)::date",
    "sqlite": "date(p.effective_date, 'start of month')",
}


def problems(connection: Connection) -> list[str]:
    """Every broken invariant, named with a few of the rows that break it."""
    found = []
    month_of_posting = MONTH_OF_POSTING[connection.dialect.name]
    for name, query in CHECKS.items():
        rows = connection.execute(text(query.format(month_of_posting=month_of_posting))).scalars().all()
        if rows:
            found.append(f"{name}: broken by {rows[:5]}")
    verification = audit_log.verify(connection)
    if not verification.ok:
        found.append(f"the audit chain verifies: broken at {verification.first_bad_seq}: {verification.problem}")
    return found


def check(db: Database) -> list[str]:
    with db.read() as connection:
        return problems(connection)
