"""Migrations go down and up again on both dialects and leave the same guards in place."""

import uuid
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

import migrations
from ledger.accounts import EntryDraft, Posting
from store import books, journal, users
from tests.conftest import NOW, ON_POSTGRES, _admin_engine, _server_url

TRIGGERS = {
    "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname",
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
}
TABLES = {
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
}


@pytest.fixture
def empty_url(tmp_path) -> str:
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"codi_migrations_{uuid.uuid4().hex[:8]}"
    with _admin_engine().connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(_server_url()).set(database=name).render_as_string(hide_password=False)
    with _admin_engine().connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def migrate(url: str, direction: str, revision: str) -> tuple[list[str], list[str]]:
    """Move the database to `revision`; returns its triggers and tables afterwards."""
    engine = create_engine(url, poolclass=NullPool)
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)
    with engine.connect() as connection:
        dialect = connection.dialect.name
        triggers, tables = (list(connection.execute(text(q[dialect])).scalars()) for q in (TRIGGERS, TABLES))
    engine.dispose()
    return triggers, tables


LOAN_TABLES = {"loan_product", "loan_product_rate", "loan", "loan_schedule", "loan_instalment", "loan_transaction"}
# The tables each revision creates; a revision not named creates none.
TABLES_BY_REVISION = {
    "0001": {"party", "book", "period_close", "account", "account_balance", "account_month", "entry", "posting",
             "app_user", "idempotency_record", "audit_record", "audit_head"},
    "0004": LOAN_TABLES,
    "0005": {"loan_repayment_reversal"},
    "0006": {"share_class", "register_event", "distribution_policy", "distribution", "distribution_part",
             "distribution_payment", "investment_setting", "investment", "investment_purchase", "investment_event"},
    "0007": {"welfare_fund_setting", "contribution_rule", "welfare_sale", "welfare_sale_reversal", "welfare_settlement",
             "welfare_allocation", "welfare_member_contribution", "welfare_matching", "welfare_benefit",
             "welfare_admin_cost"},
    "0008": {"year_end_close", "year_end_entry", "year_end_balance", "year_end_reversal", "party_programme"},
    "0010": {"loan_repayment_undo"},
    "0011": {"welfare_settlement_reversal", "welfare_advance_refund", "welfare_codi_leg"},
    "0013": {"user_password", "setup_code", "web_session"},
    "0016": {"admin_command"},
    "0018": {"close_of_business_day"},
    "0019": {"loan_month"},
    "0022": {"loan_charge_off", "loan_charge_off_undo", "loan_write_off_undo", "loan_litigation_event"},
    "0025": {"organisation_lending_rule"},
    "0026": {"savings_rule", "savings_interest"},
    "0027": {"remittance"},
}  # fmt: skip


def revisions_newest_first() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()]


def test_down_to_nothing_and_up_again_gives_the_same_schema(empty_url):
    """Step by step from head to base: each revision takes away exactly the tables it made (and
    their guards: a table's triggers go with it); then up again to the same schema."""
    at_head = migrate(empty_url, "upgrade", "head")
    assert "audit_record_append_only" in at_head[0] or "audit_record_no_update" in at_head[0]
    assert "loan_transaction_append_only" in at_head[0] or "loan_transaction_no_update" in at_head[0]
    schemas, revisions = {}, revisions_newest_first()
    above = at_head
    for revision, below in zip(revisions, [*revisions[1:], "base"], strict=True):
        schemas[below] = migrate(empty_url, "downgrade", below)
        made = set(above[1]) - set(schemas[below][1]) - {"alembic_version"}
        assert made == TABLES_BY_REVISION.get(revision, set()), revision
        above = schemas[below]
    if ON_POSTGRES:
        assert "posting_balanced" in schemas["0002"][0] and "postings_move_balances" not in schemas["0002"][0]
        assert "postings_move_balances" in schemas["0003"][0] and "posting_balanced" not in schemas["0003"][0]
    else:
        assert schemas["0002"] == schemas["0003"]  # 0003 changes PostgreSQL only
    assert [t for t in schemas["0005"][0] if "loan_repayment_reversal" not in t] == schemas["0004"][0]
    assert not any(name.startswith("loan_") for name in schemas["0003"][0])
    triggers, tables = schemas["base"]
    assert triggers == [] and tables in ([], ["alembic_version"])
    assert migrate(empty_url, "upgrade", "head") == at_head


def test_0005_rebuilds_loan_transaction_with_its_guards_and_rows(empty_url):
    """A row recorded under 0004 survives the upgrade; the new kinds are admitted with the part
    they carry; the append-only triggers still refuse changes; a downgrade is refused while rows
    of the new kinds exist."""
    migrate(empty_url, "upgrade", "0004")
    engine = create_engine(empty_url, poolclass=NullPool)
    with engine.begin() as c:
        user = users.add_user(c, name="u", role="admin", party_id=None, now=NOW)[0]
        # a party as 0004 has it (the store's party has the columns of 0009 too)
        c.execute(text("INSERT INTO party (kind, name_th, created_at) VALUES ('cooperative', 'p', :now)"), {"now": NOW})
        party = c.execute(text("SELECT max(id) FROM party")).scalar_one()
        book = books.create_book(c, {"code": "B", "kind": "fund", "name_th": "b"}, now=NOW)["id"]
        ids = {a["code"]: a["id"] for a in books.book_accounts(c, book)}
        draft = EntryDraft(book, date(2024, 1, 2), "manual", "x", (Posting(ids["1100"], 5), Posting(ids["3100"], -5)))
        entry = journal.record_entry(c, draft, recorded_by=user, recorded_at=NOW)
        c.execute(text("INSERT INTO loan_product (id, book_id, code, name_th, terms, min_savings_percent, accounts, "
                       "created_at, created_by) VALUES (1, :b, 'P', 'p', '{}', '10', '{}', :now, :u)"),
                  {"b": book, "now": NOW, "u": user})
        c.execute(text("INSERT INTO loan (id, book_id, product_id, borrower_party_id, amount_satang, "
                       "term_instalments, status, savings_satang, guarantors, recorded_by, recorded_at, "
                       "days_past_due, loan_class, accruing) VALUES (1, :b, 1, :p, 100, 1, 'applied', 0, '[]', "
                       ":u, :now, 0, 'pass', true)"), {"b": book, "p": party, "u": user, "now": NOW})
        row = {"b": book, "e": entry, "u": user, "now": NOW}
        c.execute(text(INSERT_TX), {**row, "kind": "repayment", "p": 5, "pen": 0})
    engine.dispose()
    migrate(empty_url, "upgrade", "head")
    engine = create_engine(empty_url, poolclass=NullPool)
    with engine.begin() as c:
        assert c.execute(text("SELECT kind FROM loan_transaction")).scalars().all() == ["repayment"]
        c.execute(text(INSERT_TX), {**row, "kind": "penalty", "p": 0, "pen": 5})
    for kind, principal, penalty in (("penalty", 5, 0), ("lost", 0, 5)):
        with pytest.raises(DBAPIError), engine.begin() as c:
            c.execute(text(INSERT_TX), {**row, "kind": kind, "p": principal, "pen": penalty})
    with pytest.raises(DBAPIError), engine.begin() as c:
        c.execute(text("DELETE FROM loan_transaction"))
    engine.dispose()
    with pytest.raises(RuntimeError, match="never removed"):
        migrate(empty_url, "downgrade", "0004")


INSERT_TX = (
    "INSERT INTO loan_transaction (loan_id, book_id, kind, effective_date, amount_satang, principal_satang, "
    "interest_satang, penalty_satang, overpayment_satang, interest_from_receivable_satang, entry_id, recorded_at, "
    "recorded_by) VALUES (1, :b, :kind, '2024-01-02', 5, :p, 0, :pen, 0, 0, :e, :now, :u)"
)


def test_0017_marks_the_parties_that_already_share_a_national_id(empty_url):
    """All but the first party of each shared number become known duplicates, so the unique
    index can be built; a party alone with its number stays unmarked."""
    migrate(empty_url, "upgrade", "0012")
    engine = create_engine(empty_url, poolclass=NullPool)
    insert = text("INSERT INTO party (kind, name_th, created_at, national_id) VALUES ('other', 'p', :now, :n)")
    with engine.begin() as c:
        for number in ("1101700230708", "1101700230708", "3100600000013", "1101700230708"):
            c.execute(insert, {"now": NOW, "n": number})
    engine.dispose()
    migrate(empty_url, "upgrade", "head")
    engine = create_engine(empty_url, poolclass=NullPool)
    with engine.connect() as c:
        marked = c.execute(text("SELECT id, known_duplicate FROM party ORDER BY id")).all()
    engine.dispose()
    assert [(i, bool(m)) for i, m in marked] == [(1, False), (2, True), (3, False), (4, True)]
