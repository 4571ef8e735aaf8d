"""The daily routine (docs/operations.md): close of business caught up day by day through today,
once however many servers run it, and nothing changed when run again; the server's own timer;
the day's audit digest kept once in a file; dumps kept in a backup folder, rotated, and the
newest restored into a fresh database whose audit chain and balances are the source's."""

import json
import threading
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from api import cli
from api.scheduler import CloseOfBusinessTimer, due_day, seconds_until_next
from api.settings import Settings
from store.engine import Database
from store.loan_cob import closed_day_t
from tests.conftest import ON_POSTGRES, FixedClock
from tests.test_api_loans import approved_loan, balance, disburse, lender  # noqa: F401  (lender is a fixture)
from tests.test_dump_restore import fresh  # noqa: F401  (a fixture)
from tests.test_migrations import migrate


def bangkok(day: str, at: str = "10:00") -> datetime:
    """A moment given in Thailand's time (UTC+7), in UTC."""
    return datetime.fromisoformat(f"{day}T{at}+07:00").astimezone(UTC)


@pytest.fixture
def command(db, monkeypatch, capsys):
    """Runs `codi-ledger ...` on the test's database at a moment in Thailand: (exit, output)."""
    monkeypatch.setenv("DATABASE_URL", db.url)

    def run(*argv: str, at: datetime) -> tuple[int, str]:
        monkeypatch.setattr(cli, "Clock", lambda: FixedClock(at))
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        said = (captured.out + captured.err).splitlines(keepends=True)
        run.logged += [json.loads(line) for line in said if line.startswith('{"time"')]  # api.logs' JSON lines
        return code, "".join(line for line in said if not line.startswith('{"time"'))

    run.logged = []
    return run


def closed_days(db: Database) -> list[date]:
    with db.read() as connection:
        return list(connection.execute(select(closed_day_t.c.day).order_by(closed_day_t.c.day)).scalars())


def cob_records(db: Database) -> list[str]:
    """The targets of the close-of-business audit records, in the order written."""
    query = text("SELECT target FROM audit_record WHERE action = 'loan.close-of-business' ORDER BY seq")
    with db.read() as connection:
        return list(connection.execute(query).scalars())


def counts(db: Database) -> tuple[int, int, int]:
    """Audit records, entries and loan transactions: what a run that changes nothing leaves alone."""
    with db.read() as connection:
        return tuple(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                     for table in ("audit_record", "entry", "loan_transaction"))  # fmt: skip


# --- close of business -------------------------------------------------------------------------


def test_cob_today_catches_up_every_missed_day_in_order_then_changes_nothing(api, db, lender, command):  # noqa: F811
    disburse(lender, approved_loan(lender)["id"])
    assert command("cob", "--date", "2024-02-10", at=bangkok("2024-02-10", "23:30"))[0] == 0
    code, out = command("cob", "--today", at=bangkok("2024-02-14", "23:30"))
    assert code == 0
    assert [line.split(":")[0] for line in out.splitlines()] == [
        f"close of business 2024-02-{d}" for d in (11, 12, 13, 14)
    ]
    assert [e["date"] for e in command.logged if e.get("event") == "loan.close-of-business"] == [
        f"2024-02-{d}" for d in (10, 11, 12, 13, 14)
    ]
    assert cob_records(db) == [f"close-of-business:2024-02-{d}" for d in (10, 11, 12, 13, 14)]
    assert closed_days(db) == [date(2024, 2, d) for d in (10, 11, 12, 13, 14)]
    # day by day, the interest accrued through the 14th is what one close of the 14th accrues
    assert balance(api, lender["1210"]) == "51.72"
    before = counts(db)
    code, out = command("cob", "--today", at=bangkok("2024-02-14", "23:45"))
    assert (code, out) == (0, "close of business: every day through 2024-02-14 is closed already\n")
    assert counts(db) == before


def test_a_database_never_closed_closes_today_only(db, lender, command):  # noqa: F811
    disburse(lender, approved_loan(lender)["id"])
    code, out = command("cob", "--today", at=bangkok("2024-02-14", "00:10"))
    assert code == 0 and out.startswith("close of business 2024-02-14: 1 loans processed, 1 accrued 51.72")
    assert closed_days(db) == [date(2024, 2, 14)] and cob_records(db) == ["close-of-business:2024-02-14"]


def test_the_days_closed_by_the_api_count_too(api, db, lender, command):  # noqa: F811
    assert api.post("/v1/close-of-business", {"date": "2024-02-12"}).status_code == 200
    command("cob", "--today", at=bangkok("2024-02-14"))
    assert closed_days(db) == [date(2024, 2, d) for d in (12, 13, 14)]
    assert cob_records(db) == [f"close-of-business:2024-02-{d}" for d in (12, 13, 14)]


def test_a_database_closed_before_the_days_were_kept_goes_on_from_its_loans(db, lender, command):  # noqa: F811
    """Revision 0018 seeds the days closed with the latest day the loans were closed through."""
    disburse(lender, approved_loan(lender)["id"])
    for day in ("2024-02-10", "2024-02-12"):
        command("cob", "--date", day, at=bangkok(day))
    db.dispose()  # its pooled connections would hold the tables the migrations drop and make
    migrate(db.url, "downgrade", "0017")
    migrate(db.url, "upgrade", "head")
    assert closed_days(db) == [date(2024, 2, 12)]
    command("cob", "--today", at=bangkok("2024-02-13", "23:30"))
    assert closed_days(db) == [date(2024, 2, 12), date(2024, 2, 13)]


def test_two_servers_timers_close_each_day_once(db, lender):  # noqa: F811
    """Two timers on two engines (two processes, as far as the database can tell) at once: the
    routine's lock lets one close each day; the other finds it closed."""
    for _ in range(4):
        disburse(lender, approved_loan(lender)["id"])
    with db.write() as connection:
        connection.execute(closed_day_t.insert().values(day=date(2024, 2, 1), closed_at=datetime.now(UTC)))
    clock = FixedClock(bangkok("2024-02-21", "23:31"))
    servers = [Database(db.url) for _ in range(2)]
    timers = [CloseOfBusinessTimer(server, time(23, 30), clock) for server in servers]
    start = threading.Barrier(2)
    reports: list[list] = [[], []]

    def run(i: int) -> None:
        start.wait()
        reports[i] = timers[i].run_due()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for server in servers:
        server.dispose()
    days = sorted(report.day for run_reports in reports for report in run_reports)
    assert days == [date(2024, 2, d) for d in range(2, 22)]
    assert cob_records(db) == [f"close-of-business:2024-02-{d:02}" for d in range(2, 22)]
    assert all(report.loans_processed == 4 for run_reports in reports for report in run_reports)


def test_a_day_refused_stops_the_catch_up_there(api, db, lender, command):  # noqa: F811
    disburse(lender, approved_loan(lender)["id"])
    command("cob", "--date", "2024-02-10", at=bangkok("2024-02-10"))
    with db.write() as connection:  # a book closed through the 12th: its loans cannot be closed on the 12th
        connection.execute(text("UPDATE book SET closed_through = '2024-02-12' WHERE id = :b"),
                           {"b": lender["book_id"]})  # fmt: skip
    code, out = command("cob", "--today", at=bangkok("2024-02-14"))
    assert code == 2 and "period_closed" in out
    assert closed_days(db)[-1] == date(2024, 2, 10)


# --- the server's timer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "due", "seconds"),
    [
        (bangkok("2024-02-14", "10:00"), date(2024, 2, 13), 13.5 * 3600),
        (bangkok("2024-02-14", "23:30"), date(2024, 2, 14), 24 * 3600),
        (bangkok("2024-02-14", "23:59"), date(2024, 2, 14), 23 * 3600 + 31 * 60),
        (bangkok("2024-02-15", "00:01"), date(2024, 2, 14), 23 * 3600 + 29 * 60),
        (bangkok("2024-02-15", "23:29"), date(2024, 2, 14), 60),
    ],
)
def test_a_day_is_due_once_its_time_has_passed_in_thailand(moment, due, seconds):
    assert due_day(moment, time(23, 30)) == due
    assert seconds_until_next(moment, time(23, 30)) == seconds


def test_the_timer_closes_the_days_due_when_the_server_starts_and_stops_with_it(db, lender):  # noqa: F811
    disburse(lender, approved_loan(lender)["id"])
    timer = CloseOfBusinessTimer(db, time(23, 30), FixedClock(bangkok("2024-02-14", "10:00")))
    timer.start()
    for _ in range(200):
        if closed_days(db):
            break
        threading.Event().wait(0.05)
    timer.stop()  # returns at once: the thread sleeps until tonight, woken by the stop
    assert closed_days(db) == [date(2024, 2, 13)]  # yesterday; today's time has not come


def test_the_settings_of_the_routine():
    settings = Settings.from_environ({"CODI_COB_TIME": "23:30", "CODI_DIGEST_DIR": "/srv/digests",
                                      "CODI_BACKUP_DIR": "/srv/dumps", "CODI_BACKUPS_KEPT": "30"})  # fmt: skip
    assert (settings.cob_time, settings.digest_dir, settings.backup_dir, settings.backups_kept) == (
        time(23, 30), Path("/srv/digests"), Path("/srv/dumps"), 30)  # fmt: skip
    assert Settings.from_environ({}).cob_time is None and Settings.from_environ({}).backups_kept == 14
    for bad in ({"CODI_COB_TIME": "7:30"}, {"CODI_COB_TIME": "24:00"}, {"CODI_BACKUPS_KEPT": "0"}):
        with pytest.raises(ValueError):
            Settings.from_environ(bad)


# --- the audit digest ---------------------------------------------------------------------------------


def test_the_days_digest_is_kept_once_and_never_replaced(api, db, fund, command, tmp_path):
    folder = tmp_path / "digests"
    code, out = command("audit", "digest", "--to", str(folder), at=bangkok("2024-06-14", "23:50"))
    kept = folder / "audit-digest-20240614.txt"
    assert code == 0 and out.startswith(f"audit digest kept in {kept}: sequence ")
    written = kept.read_text()
    seq = written.splitlines()[1].split()[1]
    assert written.startswith("codi-ledger audit digest of 2024-06-14 (business day, Asia/Bangkok)\n")
    assert f"codi-ledger audit verify --seq {seq} --hash " in written
    code, out = command("audit", "digest", "--to", str(folder), at=bangkok("2024-06-14", "23:55"))
    assert code == 0 and "unchanged" in out
    assert api.post("/v1/parties", {"kind": "network", "name_th": "เครือข่ายสอง"}).status_code == 201
    code, out = command("audit", "digest", "--to", str(folder), at=bangkok("2024-06-14", "23:58"))
    assert code == 1 and "already holds another digest of 2024-06-14" in out
    assert kept.read_text() == written
    assert sorted(p.name for p in folder.iterdir()) == ["audit-digest-20240614.txt"]  # no partial file left


def test_the_digest_folder_may_come_from_the_settings(db, command, tmp_path, monkeypatch):
    monkeypatch.setenv("CODI_DIGEST_DIR", str(tmp_path))
    assert command("audit", "digest", at=bangkok("2024-06-15"))[0] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["audit-digest-20240615.txt"]


# --- dumps, rotated, and the newest restored --------------------------------------------------------


def test_dumps_are_rotated_and_the_newest_restores_with_its_chain_and_balances(  # noqa: F811
    api, db, lender, command, tmp_path, fresh, monkeypatch  # noqa: F811
):
    backups = tmp_path / "backups"
    disburse(lender, approved_loan(lender)["id"])
    (backups / "notes").mkdir(parents=True)  # not a dump: left alone
    for day in ("2024-02-12", "2024-02-13", "2024-02-14"):
        assert command("cob", "--today", at=bangkok(day, "23:30"))[0] == 0
        code, out = command("dump", "--to-dir", str(backups), "--keep", "2", at=bangkok(day, "23:45"))
        assert code == 0
    assert "removed the older dump" in out
    names = sorted(p.name for p in backups.iterdir())
    assert names == ["codi-ledger-dump-20240213-234500.jsonl", "codi-ledger-dump-20240214-234500.jsonl", "notes"]
    with db.read() as connection:
        balances = connection.execute(text("SELECT * FROM account_balance ORDER BY account_id")).all()
    restored = fresh("postgresql" if ON_POSTGRES else "sqlite")
    monkeypatch.setenv("DATABASE_URL", restored.url)
    assert cli.main(["restore", "--latest", str(backups)]) == 0
    assert cli.main(["audit", "verify", "--deep"]) == 0
    with restored.read() as connection:
        assert connection.execute(text("SELECT * FROM account_balance ORDER BY account_id")).all() == balances
        assert connection.execute(select(closed_day_t.c.day)).scalars().all()[-1] == date(2024, 2, 14)


def test_a_dump_the_same_second_and_a_folder_without_dumps_are_refused(db, command, tmp_path):
    at = bangkok("2024-06-14", "23:45")
    assert command("dump", "--to-dir", str(tmp_path), at=at)[0] == 0
    code, out = command("dump", "--to-dir", str(tmp_path), at=at)
    assert code == 1 and "exists already" in out
    assert len(list(tmp_path.iterdir())) == 1
    code, out = command("restore", "--latest", str(tmp_path / "empty"), at=at)
    assert code == 1 and "no dump" in out
    code, out = command("dump", at=at)
    assert code == 1 and "--to-dir" in out
