"""The deep verification: the audit chain and the entries it vouches for (`audit_log.verify`), and
also what the chain cannot vouch for but the ledger's trust rests on.

- The guards: every trigger and named constraint the migrations create, in place (and on
  PostgreSQL, enabled and validated). The triggers are listed here per dialect, as the migrations
  make them (tests/test_audit_tamper.py checks a freshly migrated database has exactly these); the
  constraints are the named CHECK and foreign-key constraints of the tables' definitions
  (store.tables), and the one migration 0009 adds by hand. A trigger whose function was rewritten
  in place is not found here; what it then lets through into entries the content hashes find.
- The stored figures: each account's balance row (balance and posting count) and each month's
  movement equal the sum of their postings. Each is one scan of the postings, aggregated in the
  database; the first row that differs is named.
"""

import re
from dataclasses import dataclass, replace

from sqlalchemy import CheckConstraint, Connection, ForeignKeyConstraint, text
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (the tables join the metadata)
from ledger.audit import Digest, Verification
from store import audit_log

APPEND_ONLY_TABLES = (
    "entry", "posting", "audit_record",  # 0002
    "loan_schedule", "loan_instalment", "loan_transaction", "loan_repayment_reversal",  # 0004, 0005
    "register_event", "distribution_policy", "distribution", "distribution_part", "distribution_payment",
    "investment_setting", "investment_event",  # 0006
    "welfare_sale", "welfare_sale_reversal", "welfare_settlement", "welfare_allocation",
    "welfare_member_contribution", "welfare_matching", "welfare_benefit", "welfare_admin_cost",  # 0007
    "year_end_close", "year_end_entry", "year_end_balance", "year_end_reversal",  # 0008
    "loan_repayment_undo",  # 0010
    "welfare_settlement_reversal", "welfare_advance_refund", "welfare_codi_leg",  # 0011
    "loan_charge_off", "loan_charge_off_undo", "loan_write_off_undo", "loan_litigation_event",  # 0022
    "remittance",  # 0027
)  # fmt: skip
OTHER_TRIGGERS = {  # name -> table
    "sqlite": {
        "account_opens_balance": "account", "posting_entry_sealed": "posting", "posting_moves_balance": "posting",
        "entry_balanced": "entry", "entry_period_open": "entry", "contribution_rule_no_overlap": "contribution_rule",
        "contribution_rule_no_overlap_on_update": "contribution_rule",
        "contribution_rule_terms_fixed": "contribution_rule", "year_end_one_close": "year_end_close",
        "admin_command_no_delete": "admin_command", "admin_command_guard": "admin_command",  # 0016
        "party_member_of_organisation": "party", "party_member_of_organisation_on_update": "party",  # 0023
        "loan_member_tier": "loan", "loan_member_tier_on_update": "loan",  # 0025
        "loan_funding_loan": "loan", "loan_funding_loan_on_update": "loan",
    },
    "postgresql": {
        "account_opens_balance": "account", "postings_move_balances": "posting", "entry_balanced": "entry",
        "entry_period_open": "entry", "contribution_rule_guard": "contribution_rule",
        "year_end_one_close": "year_end_close",
        "admin_command_guard": "admin_command", "admin_command_no_truncate": "admin_command",  # 0016
        "party_member_of_organisation": "party",  # 0023
        "loan_member_tier": "loan",  # 0025
    },
}  # fmt: skip
CONSTRAINTS_ADDED_BY_HAND = {
    "ck_party_national_id": "party",  # 0009
    "ck_posting_amount_in_range": "posting", "ck_balance_in_range": "account_balance",  # 0014
    "ck_month_in_range": "account_month",
}  # fmt: skip

_TRIGGERS = {
    "sqlite": "SELECT name, tbl_name, 1 FROM sqlite_master WHERE type = 'trigger'",
    "postgresql": """SELECT t.tgname, c.relname, t.tgenabled IN ('O', 'A') FROM pg_trigger t
                     JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal""",
}
_CONSTRAINTS = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'table'",
    "postgresql": """SELECT n.conname, c.relname, n.convalidated FROM pg_constraint n
                     JOIN pg_class c ON c.oid = n.conrelid WHERE n.connamespace = 'public'::regnamespace""",
}
_MONTH_OF_POSTING = {
    "postgresql": "date_trunc('month', effective_date)::date",
    "sqlite": "date(effective_date, 'start of month')",
}
# Each account: its balance row (counted: there must be one) against its postings.
_BALANCES = """
    SELECT account_id, sum(stored), sum(posted), sum(stored_count), sum(posted_count), sum(balance_rows)
    FROM (SELECT id AS account_id, 0 AS stored, 0 AS posted, 0 AS stored_count, 0 AS posted_count,
                 0 AS balance_rows FROM account
          UNION ALL SELECT account_id, balance_satang, 0, posting_count, 0, 1 FROM account_balance
          UNION ALL SELECT account_id, 0, amount_satang, 0, 1, 0 FROM posting) figures
    GROUP BY account_id
    HAVING sum(stored) <> sum(posted) OR sum(stored_count) <> sum(posted_count) OR sum(balance_rows) <> 1
    ORDER BY account_id LIMIT :limit"""
_MONTHS = """
    SELECT account_id, month_start, sum(stored), sum(posted)
    FROM (SELECT account_id, month_start, movement_satang AS stored, 0 AS posted FROM account_month
          UNION ALL SELECT account_id, {month_of_posting}, 0, amount_satang FROM posting) figures
    GROUP BY account_id, month_start HAVING sum(stored) <> sum(posted)
    ORDER BY account_id, month_start LIMIT :limit"""


@dataclass(frozen=True)
class Mismatch:
    account_id: int
    problem: str


def expected_triggers(dialect: str) -> dict[str, str]:
    """Every trigger the migrations leave on a database of `dialect`: name -> table."""
    if dialect == "postgresql":
        append_only = {f"{table}_append_only": table for table in APPEND_ONLY_TABLES}
    else:
        append_only = {f"{table}_no_{verb}": table for table in APPEND_ONLY_TABLES for verb in ("update", "delete")}
    return append_only | OTHER_TRIGGERS[dialect]


def expected_constraints() -> dict[str, str]:
    """Every named CHECK and foreign-key constraint: name -> table."""
    named = {
        constraint.name: table.name
        for table in SQLModel.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint | ForeignKeyConstraint) and isinstance(constraint.name, str)
    }
    return named | CONSTRAINTS_ADDED_BY_HAND


def guard_problems(connection: Connection) -> list[str]:
    """Each expected trigger or constraint that is missing, elsewhere, disabled or not validated."""
    dialect = connection.dialect.name
    triggers = {name: (table, on) for name, table, on in connection.execute(text(_TRIGGERS[dialect]))}
    problems = [
        _guard_problem("trigger", name, table, triggers.get(name), "disabled")
        for name, table in sorted(expected_triggers(dialect).items())
    ]
    constraints = _constraints(connection)
    problems += [
        _guard_problem("constraint", name, table, constraints.get(name), "not validated")
        for name, table in sorted(expected_constraints().items())
    ]
    return [p for p in problems if p]


def _guard_problem(kind: str, name: str, table: str, found: tuple[str, bool] | None, off: str) -> str | None:
    if found is None:
        return f"{kind} {name} on {table} is missing"
    if found[0] != table:
        return f"{kind} {name} is on {found[0]}, not on {table}"
    if not found[1]:
        return f"{kind} {name} on {table} is {off}"
    return None


def _constraints(connection: Connection) -> dict[str, tuple[str, bool]]:
    """Present constraints: name -> (table, in force). SQLite keeps them in each table's definition."""
    rows = connection.execute(text(_CONSTRAINTS[connection.dialect.name])).all()
    if connection.dialect.name == "postgresql":
        return {name: (table, bool(valid)) for name, table, valid in rows}
    return {name: (table, True) for table, sql in rows for name in re.findall(r"CONSTRAINT (\w+)", sql)}


def balance_mismatches(connection: Connection, limit: int = 1) -> list[Mismatch]:
    """The first accounts whose balance row is missing or differs from their postings."""
    return [
        Mismatch(
            account_id,
            f"account {account_id}: stored balance {stored} ({stored_count} postings), "
            f"its postings sum to {posted} ({posted_count} postings)"
            + ("" if rows == 1 else f"; {rows} balance rows, not one"),
        )  # fmt: skip
        for account_id, stored, posted, stored_count, posted_count, rows in connection.execute(
            text(_BALANCES), {"limit": limit}
        )
    ]


def month_mismatches(connection: Connection, limit: int = 1) -> list[Mismatch]:
    """The first (account, month) whose stored movement differs from that month's postings."""
    query = text(_MONTHS.format(month_of_posting=_MONTH_OF_POSTING[connection.dialect.name]))
    return [
        Mismatch(
            account_id,
            f"account {account_id}, month of {month}: stored movement {stored}, its postings sum to {posted}",
        )  # fmt: skip
        for account_id, month, stored, posted in connection.execute(query, {"limit": limit})
    ]


def deep_verify(connection: Connection, expected: Digest | None = None) -> Verification:
    """`audit_log.verify`, then the guards and the stored figures; every finding is listed in
    `problems`, the first in `problem`."""
    chain = audit_log.verify(connection, expected)
    figures = balance_mismatches(connection) + month_mismatches(connection)
    problems = [chain.problem] if chain.problem else []
    problems += guard_problems(connection) + [m.problem for m in figures]
    return replace(
        chain, ok=not problems, problem=problems[0] if problems else None, problems=tuple(problems),
        first_bad_account=figures[0].account_id if figures else None,
    )  # fmt: skip
