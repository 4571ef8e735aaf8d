"""The invariants of DESIGN.md section 4 that a database must keep whatever was thrown at the
service, checked on the database itself with SQL (the tests, the fuzzer, the crash and load
scripts all end here). Each check returns the problems it found; none means the invariant holds.

The welfare ones (invariant 10, docs/welfare.md) read a sale as two entries, one in the
enterprise's book and one in the fund's, and each enterprise-fund pair as four mirrored
sub-accounts: `2200-F<fund>` (payable) and `1400-F<fund>` (prepaid) in the enterprise's book,
`1200-E<enterprise>` (receivable) and `2100-E<enterprise>` (advance) in the fund's.
"""

from sqlalchemy import Connection, text

from store import audit_log, integrity
from store.engine import Database


def on_code(entry: str, code: str) -> str:
    """SQL: what the entry `entry` (a column; NULL: none) posts to the account of code `code`."""
    return f"""(SELECT coalesce(sum(p.amount_satang), 0) FROM posting p JOIN account a ON a.id = p.account_id
                WHERE p.entry_id = {entry} AND a.code = '{code}')"""


CHECKS = {
    "entries balance: two or more postings summing to zero, none zero": """
        SELECT e.id FROM entry e LEFT JOIN posting p ON p.entry_id = e.id
        GROUP BY e.id HAVING count(p.id) < 2 OR coalesce(sum(p.amount_satang), 0) <> 0
            OR sum(CASE WHEN p.amount_satang = 0 THEN 1 ELSE 0 END) > 0""",
    "no posting without its entry": """
        SELECT p.id FROM posting p LEFT JOIN entry e ON e.id = p.entry_id WHERE e.id IS NULL""",
    "every book's balances sum to zero": """
        SELECT book_id FROM account_balance GROUP BY book_id HAVING sum(balance_satang) <> 0""",
    "an entry is reversed at most once": """
        SELECT reverses_entry_id FROM entry WHERE reverses_entry_id IS NOT NULL
        GROUP BY reverses_entry_id HAVING count(*) > 1""",
    "a sale has its entries, in its two books, for its amounts, and shares them with no other sale": f"""
        SELECT s.id FROM welfare_sale s
        WHERE NOT EXISTS (SELECT 1 FROM entry e JOIN book b ON b.id = e.book_id
                          WHERE e.id = s.enterprise_entry_id AND e.kind = 'welfare.sale'
                            AND b.id = s.enterprise_book_id AND b.party_id = s.enterprise_party_id)
           OR (s.fund_entry_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM entry e JOIN book b ON b.id = e.book_id
                   WHERE e.id = s.fund_entry_id AND e.kind = 'welfare.sale' AND b.kind = 'welfare_fund'
                     AND b.party_id = s.fund_party_id))
           OR {on_code("s.enterprise_entry_id", "4100")} <> -s.amount_satang
           OR {on_code("s.enterprise_entry_id", "5200")} <> s.contribution_satang
           OR {on_code("s.fund_entry_id", "4400")} <> -s.contribution_satang
           OR s.id IN (SELECT min(sale_id) FROM (
                   SELECT id AS sale_id, enterprise_entry_id AS entry_id FROM welfare_sale
                   UNION ALL SELECT id, fund_entry_id FROM welfare_sale WHERE fund_entry_id IS NOT NULL) named
               GROUP BY entry_id HAVING count(*) > 1)""",
    "a sale's entries are reversed when the sale is, and only then": """
        SELECT s.id FROM welfare_sale s LEFT JOIN welfare_sale_reversal r ON r.sale_id = s.id
        WHERE (SELECT count(*) FROM entry x WHERE x.reverses_entry_id IN (s.enterprise_entry_id, s.fund_entry_id))
              <> CASE WHEN r.sale_id IS NULL THEN 0 WHEN s.fund_entry_id IS NULL THEN 1 ELSE 2 END""",
    "an enterprise's payable to a fund is the fund's receivable from it, its prepaid the fund's advance": """
        SELECT enterprise FROM (
            SELECT k.party_id AS enterprise, a.party_id AS fund, substr(a.code, 1, 4) AS pair,
                   coalesce(b.balance_satang, 0) AS amount
            FROM account a JOIN book k ON k.id = a.book_id LEFT JOIN account_balance b ON b.account_id = a.id
            WHERE k.kind = 'enterprise' AND a.code IN ('2200-F' || a.party_id, '1400-F' || a.party_id)
            UNION ALL
            SELECT a.party_id, k.party_id, CASE substr(a.code, 1, 4) WHEN '1200' THEN '2200' ELSE '1400' END,
                   coalesce(b.balance_satang, 0)
            FROM account a JOIN book k ON k.id = a.book_id LEFT JOIN account_balance b ON b.account_id = a.id
            WHERE k.kind = 'welfare_fund' AND a.code IN ('1200-E' || a.party_id, '2100-E' || a.party_id)
        ) mirrored GROUP BY enterprise, fund, pair HAVING sum(amount) <> 0""",
    "a fund's receivable from an enterprise is what the live sales' contributions left unsettled": """
        SELECT enterprise FROM (
            SELECT a.party_id AS enterprise, k.party_id AS fund, coalesce(b.balance_satang, 0) AS amount
            FROM account a JOIN book k ON k.id = a.book_id LEFT JOIN account_balance b ON b.account_id = a.id
            WHERE k.kind = 'welfare_fund' AND a.code = '1200-E' || a.party_id
            UNION ALL
            SELECT s.enterprise_party_id, s.fund_party_id,
                   (SELECT coalesce(sum(x.amount_satang), 0) FROM welfare_allocation x WHERE x.sale_id = s.id)
                   - s.contribution_satang
            FROM welfare_sale s
            WHERE s.fund_party_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM welfare_sale_reversal r WHERE r.sale_id = s.id)
        ) owed GROUP BY enterprise, fund HAVING sum(amount) <> 0""",
}


def problems(connection: Connection) -> list[str]:
    """Every broken invariant, named with a few of the rows that break it."""
    found = []
    for name, query in CHECKS.items():
        rows = connection.execute(text(query)).scalars().all()
        if rows:
            found.append(f"{name}: broken by {rows[:5]}")
    for name, mismatches in (
        ("each balance (and posting count) is the sum of its account's postings", integrity.balance_mismatches),
        ("each month's movement is the sum of its postings", integrity.month_mismatches),
    ):
        if rows := mismatches(connection, limit=5):
            found.append(f"{name}: broken by {[m.problem for m in rows]}")
    verification = audit_log.verify(connection)
    if not verification.ok:
        found.append(f"the audit chain verifies: broken at {verification.first_bad_seq}: {verification.problem}")
    return found


def check(db: Database) -> list[str]:
    with db.read() as connection:
        return problems(connection)
