"""The daily close of business: every business day after the last one closed, through a given
day, in order, each in a transaction of its own, audited as the system's.

The routine runs from a timer of the service manager (`codi-ledger cob --today`) or from the
server's own scheduler (`api.scheduler`), and several servers on one database may each start it
at the same moment. Each day's transaction first takes the routine's lock in the database
(PostgreSQL: a transaction-level advisory lock; SQLite: the write lock that every writing
transaction takes at BEGIN IMMEDIATE), and only then reads the last day closed: of two runs at
once, one closes the day and the other, let in after its commit, finds the day closed. A run
that finds nothing to close writes nothing, so running it again changes nothing.

A day missed (the machine was off, the timer did not fire) is caught up by the next run, day by
day and in order, as each day's accruals and ageing build on the day before. A database whose
close of business never ran has no last day: the routine closes the given day only (an earlier
day, if wanted, with `codi-ledger cob --date`).
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, text

from store import audit_log, users
from store.engine import Database
from store.loan_cob import CloseOfBusiness, close_of_business, last_closed_day

# The key of the advisory lock, the same for every server on the database ("cob" in ASCII).
ROUTINE_LOCK = 0x636F62


def close_day(connection: Connection, day: date, *, today: date, now: datetime, reader=None) -> CloseOfBusiness:
    """Close of business for `day` as the system principal, audited like an import."""
    system = users.system_principal(connection, now=now)
    report = close_of_business(connection, day, today=today, user_id=system.user_id, now=now, reader=reader)
    audit_log.append_system(
        connection, actor=system.name, action="loan.close-of-business", target=f"close-of-business:{day}",
        request=f"cob {day}".encode(), entry_ids=report.entry_ids, now=now,
    )  # fmt: skip
    return report


def close_due_days(db: Database, through: date, *, today: date, now: Callable[[], datetime],
                   closed: Callable[[CloseOfBusiness], None] = lambda _day: None) -> list[CloseOfBusiness]:
    """Close every day after the last one closed through `through`, in order; what each did,
    told to `closed` as each day commits. A day refused (a closed period, say) stops the run
    there: the days before it stay closed."""
    reports = []
    while (report := _close_next_day(db, through, today, now)) is not None:
        closed(report)
        reports.append(report)
    return reports


def _close_next_day(db: Database, through: date, today: date, now: Callable[[], datetime]) -> CloseOfBusiness | None:
    with db.write() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROUTINE_LOCK})
        last = last_closed_day(connection)
        day = through if last is None else last + timedelta(days=1)
        if day > through:
            return None
        return close_day(connection, day, today=today, now=now(), reader=db.read)
