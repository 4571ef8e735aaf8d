"""On PostgreSQL, postings move balances once per statement, not once per row.

A batch of entries (an import, a group commit) inserts its postings in one statement. The row
triggers of 0002 updated an account's balance row once per posting: for the fund's cash account
that is once per entry, each update a new version of the same row in one transaction. One
statement trigger over the inserted rows (a transition table) adds each account's net movement
once, refuses postings for an entry already recorded, and keeps the month movements.

The balance rules stay CHECK constraints on the balance rows, now met by the net movement of the
statement; the domain checks every entry of a batch in order before anything is written. The
balanced-entry check stays a deferred constraint trigger on each entry: a posting can only join
an entry not yet recorded (refused otherwise) and must name an entry recorded in the same
transaction (the deferred foreign key), so checking each entry at commit covers every posting.
SQLite has no statement triggers and keeps the row triggers of 0002.

Revision ID: 0003
Revises: 0002
"""

import importlib

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

POSTGRES_UP = [
    "DROP TRIGGER posting_balanced ON posting",
    "DROP TRIGGER posting_moves_balance ON posting",
    "DROP TRIGGER posting_entry_sealed ON posting",
    "DROP FUNCTION posting_moves_balance()",
    "DROP FUNCTION posting_entry_sealed()",
    """CREATE FUNCTION postings_move_balances() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM new_postings p JOIN entry e ON e.id = p.entry_id) THEN
            RAISE EXCEPTION 'entry_sealed: postings cannot be added to a recorded entry'
                USING ERRCODE = 'check_violation';
        END IF;
        UPDATE account_balance AS b
           SET balance_satang = b.balance_satang + moved.amount,
               posting_count = b.posting_count + moved.postings
          FROM (SELECT account_id, sum(amount_satang) AS amount, count(*) AS postings
                  FROM new_postings GROUP BY account_id) AS moved
         WHERE b.account_id = moved.account_id;
        INSERT INTO account_month (account_id, month_start, book_id, movement_satang)
        SELECT account_id, date_trunc('month', effective_date)::date, book_id, sum(amount_satang)
          FROM new_postings
         GROUP BY account_id, date_trunc('month', effective_date)::date, book_id
        ON CONFLICT (account_id, month_start)
        DO UPDATE SET movement_satang = account_month.movement_satang + EXCLUDED.movement_satang;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER postings_move_balances AFTER INSERT ON posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION postings_move_balances()""",
]

ROW_TRIGGERS_OF_0002 = ("posting_entry_sealed", "posting_moves_balance", "posting_balanced")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER postings_move_balances ON posting")
    op.execute("DROP FUNCTION postings_move_balances()")
    guards = importlib.import_module("migrations.versions.0002_guards")
    for statement in guards.POSTGRES_UP:
        if any(name in statement for name in ROW_TRIGGERS_OF_0002):
            op.execute(statement)
