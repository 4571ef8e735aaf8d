"""Database guards: the invariants the database enforces on its own.

- Balanced entries (invariant 1): postings are written first, then their entry. An entry whose
  postings are fewer than two, do not sum to zero, or belong to another book or date is refused;
  a posting for an entry already recorded is refused. On PostgreSQL the balance check is a
  deferred constraint trigger, run at commit.
- Append-only (invariant 2): UPDATE and DELETE (and on PostgreSQL TRUNCATE) of entries,
  postings and audit records are refused.
- Closed periods (invariant 6): no entry dated on or before its book's `closed_through`.
- Balances (invariant 3): each posting adds itself to its account's balance and month movement,
  in the same statement; each new account gets its zero balance row.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("entry", "posting", "audit_record")

SQLITE_UP = [
    """CREATE TRIGGER account_opens_balance AFTER INSERT ON account BEGIN
        INSERT INTO account_balance (account_id, book_id, balance_rule, balance_satang, posting_count)
        VALUES (NEW.id, NEW.book_id, NEW.balance_rule, 0, 0);
    END""",
    """CREATE TRIGGER posting_entry_sealed BEFORE INSERT ON posting
    WHEN EXISTS (SELECT 1 FROM entry WHERE id = NEW.entry_id) BEGIN
        SELECT RAISE(ABORT, 'entry_sealed: postings cannot be added to a recorded entry');
    END""",
    """CREATE TRIGGER posting_moves_balance AFTER INSERT ON posting BEGIN
        UPDATE account_balance
           SET balance_satang = balance_satang + NEW.amount_satang,
               posting_count = posting_count + 1
         WHERE account_id = NEW.account_id;
        INSERT INTO account_month (account_id, month_start, book_id, movement_satang)
        VALUES (NEW.account_id, date(NEW.effective_date, 'start of month'), NEW.book_id,
                NEW.amount_satang)
        ON CONFLICT (account_id, month_start)
        DO UPDATE SET movement_satang = movement_satang + excluded.movement_satang;
    END""",
    """CREATE TRIGGER entry_balanced BEFORE INSERT ON entry
    WHEN (SELECT count(*) FROM posting WHERE entry_id = NEW.id) < 2
      OR (SELECT sum(amount_satang) FROM posting WHERE entry_id = NEW.id) <> 0
      OR EXISTS (SELECT 1 FROM posting WHERE entry_id = NEW.id
                 AND (book_id <> NEW.book_id OR effective_date <> NEW.effective_date)) BEGIN
        SELECT RAISE(ABORT, 'unbalanced_entry: postings must be two or more and sum to zero');
    END""",
    """CREATE TRIGGER entry_period_open BEFORE INSERT ON entry
    WHEN date(NEW.effective_date) <= (SELECT closed_through FROM book WHERE id = NEW.book_id) BEGIN
        SELECT RAISE(ABORT, 'period_closed: the entry is dated in a closed period');
    END""",
] + [
    f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN
        SELECT RAISE(ABORT, 'append_only: {table} rows are never changed or removed');
    END"""
    for table in APPEND_ONLY_TABLES
    for verb in ("UPDATE", "DELETE")
]

POSTGRES_UP = [
    """CREATE FUNCTION account_opens_balance() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO account_balance (account_id, book_id, balance_rule, balance_satang, posting_count)
        VALUES (NEW.id, NEW.book_id, NEW.balance_rule, 0, 0);
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER account_opens_balance AFTER INSERT ON account
    FOR EACH ROW EXECUTE FUNCTION account_opens_balance()""",
    """CREATE FUNCTION posting_entry_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM entry WHERE id = NEW.entry_id) THEN
            RAISE EXCEPTION 'entry_sealed: postings cannot be added to a recorded entry'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER posting_entry_sealed BEFORE INSERT ON posting
    FOR EACH ROW EXECUTE FUNCTION posting_entry_sealed()""",
    """CREATE FUNCTION posting_moves_balance() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE account_balance
           SET balance_satang = balance_satang + NEW.amount_satang,
               posting_count = posting_count + 1
         WHERE account_id = NEW.account_id;
        INSERT INTO account_month (account_id, month_start, book_id, movement_satang)
        VALUES (NEW.account_id, date_trunc('month', NEW.effective_date)::date, NEW.book_id,
                NEW.amount_satang)
        ON CONFLICT (account_id, month_start)
        DO UPDATE SET movement_satang = account_month.movement_satang + EXCLUDED.movement_satang;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER posting_moves_balance AFTER INSERT ON posting
    FOR EACH ROW EXECUTE FUNCTION posting_moves_balance()""",
    """CREATE FUNCTION entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        checked_entry bigint;
        posting_count bigint;
        posting_sum numeric;
        strays bigint;
    BEGIN
        IF TG_TABLE_NAME = 'entry' THEN
            checked_entry := NEW.id;
        ELSE
            checked_entry := NEW.entry_id;
        END IF;
        SELECT count(*), coalesce(sum(p.amount_satang), 0),
               count(*) FILTER (WHERE p.book_id <> e.book_id
                                   OR p.effective_date <> e.effective_date)
          INTO posting_count, posting_sum, strays
          FROM entry e LEFT JOIN posting p ON p.entry_id = e.id
         WHERE e.id = checked_entry;
        IF posting_count < 2 OR posting_sum <> 0 OR strays > 0 THEN
            RAISE EXCEPTION 'unbalanced_entry: entry % must have two or more postings of its '
                            'book and date summing to zero', checked_entry
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE CONSTRAINT TRIGGER entry_balanced AFTER INSERT ON entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION entry_balanced()""",
    """CREATE CONSTRAINT TRIGGER posting_balanced AFTER INSERT ON posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION entry_balanced()""",
    """CREATE FUNCTION entry_period_open() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.effective_date <= (SELECT closed_through FROM book WHERE id = NEW.book_id) THEN
            RAISE EXCEPTION 'period_closed: the entry is dated in a closed period'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER entry_period_open BEFORE INSERT ON entry
    FOR EACH ROW EXECUTE FUNCTION entry_period_open()""",
    """CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'append_only: % rows are never changed or removed', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END $$""",
] + [
    f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"""
    for table in APPEND_ONLY_TABLES
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_UP if dialect == "postgresql" else SQLITE_UP:
        op.execute(statement)
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DELETE FROM audit_head")
    triggers = ["account_opens_balance", "posting_entry_sealed", "posting_moves_balance",
                "entry_balanced", "entry_period_open"]  # fmt: skip
    if dialect == "postgresql":
        for name in triggers + ["posting_balanced"]:
            table = name.split("_")[0]
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        for name in triggers + ["refuse_change"]:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        names = triggers + [f"{t}_no_{v}" for t in APPEND_ONLY_TABLES for v in ("update", "delete")]
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
