"""The `codi-ledger` command: migrate, run, config, user add/list/disable, token list/revoke,
import, cob, audit verify/digest, dump, restore, export. Every command reads the settings in
force (api.settings); one that cannot be understood stops it before it starts, naming the setting."""

import argparse
import os
import sys
import tempfile
from contextlib import nullcontext
from datetime import date
from pathlib import Path

from api import logs
from api.context import BANGKOK, Clock
from api.settings import Settings, SettingsError
from ledger.calendar import parse_client_date
from ledger.errors import LedgerError
from ledger.money import format_amount
from store import audit_log, people, users
from store.engine import Database

_opened: list[Database] = []


def database() -> Database:
    """The database of the settings (DATABASE_URL); `main` closes its connections when the command ends."""
    _opened.append(Database(Settings.load().database_url))
    return _opened[-1]


def cmd_migrate(_args) -> int:
    database().migrate()
    print("database is at the newest schema")
    return 0


def server(app, *, host: str, port: int, settings):
    """The server `run` starts in one process, believing forwarded headers only from the proxies
    the settings trust; requests are logged by api.logs, not by uvicorn."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, workers=1,
                            **settings.forwarding())  # fmt: skip
    return uvicorn.Server(config)


def serve_workers(*, host: str, port: int, workers: int, settings: Settings) -> int:
    """Several server processes on one port, each making its app from the settings
    (api.app.app_from_settings), their figures added up in one directory (api.metrics)."""
    import uvicorn

    from api.metrics import MULTIPROCESS_DIR

    with tempfile.TemporaryDirectory(prefix="codi-metrics-") as figures:
        os.environ[MULTIPROCESS_DIR] = figures
        uvicorn.run("api.app:app_from_settings", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False, **settings.forwarding())  # fmt: skip
    return 0


def server_processes(settings: Settings, asked: int | None) -> int:
    """How many server processes to run: SQLite has one writer, so it is served by one process."""
    workers = settings.workers if asked is None else asked
    if workers < 1:
        raise SettingsError(f"--workers must be 1 or more, not {workers}")
    if workers > 1 and settings.is_sqlite:
        raise SettingsError(f"setting CODI_WORKERS (or --workers): {workers} server processes need PostgreSQL; "
                            "SQLite is served by one process (its one writer is guarded in the process)")
    return workers


def cmd_run(args) -> int:
    from api.app import create_app
    from store.demo import DEMO_PEOPLE, load_demo

    settings = Settings.load()
    host, port = args.host or settings.host, args.port or settings.port
    workers = server_processes(settings, args.workers)
    logs.configure(settings)
    db = database()
    db.migrate()
    site = f"http://{host}:{port}"
    if args.demo:
        demo = load_demo(db, now=Clock().now())
        if demo:
            print(f"demo data loaded; admin token (shown once): {demo.admin_token}")
        else:
            print("demo data already present; make a token with: codi-ledger user add NAME --role admin")
        print(f"pages: sign in at {site}/signin as " + ", ".join(f"{name} (password {password})"
                                                               for name, _, password in DEMO_PEOPLE))
        print("  these passwords are for the demo only: never load the demo into a database in use")
    print(f"codi-ledger serving on {site} in {workers} process{'es' if workers > 1 else ''}  "
          "(pages: /, API docs: /docs, /health, /ready)", flush=True)  # fmt: skip
    timer = close_of_business_timer(db, settings)
    try:
        if workers > 1:
            db.dispose()
            return serve_workers(host=host, port=port, workers=workers, settings=settings)
        serving = server(create_app(db, settings=settings), host=host, port=port, settings=settings)
        serving.run()
        return 0 if serving.started else 1  # it could not start: the port taken, say
    finally:
        if timer:
            timer.stop()


def close_of_business_timer(db: Database, settings: Settings):
    """The server's own close of business at CODI_COB_TIME, started; None when it is not set.
    With several server processes it runs in the first, which hands requests to the others."""
    from api.scheduler import CloseOfBusinessTimer

    if settings.cob_time is None:
        return None
    timer = CloseOfBusinessTimer(db, settings.cob_time)
    timer.start()
    print(f"close of business runs here daily at {settings.cob_time:%H:%M} (Asia/Bangkok)", flush=True)
    return timer


def cmd_config(_args) -> int:
    """The settings in force, each under its environment name, secrets masked."""
    shown = Settings.load().shown()
    width = max(map(len, shown))
    for name, value in shown.items():
        print(f"{name:<{width}}  {value}")
    return 0


def cmd_user_add(args) -> int:
    db = database()
    now = Clock().now()
    with db.write() as connection:
        users.may_seat_from_command_line(connection, args.role, now=now)
        user_id, token = users.add_user(connection, name=args.name, role=args.role, party_id=args.party, now=now)
        code = people.issue_setup_code(connection, user_id, now=now)
        audit_log.append_system(
            connection, actor=users.SYSTEM_USER, action="user.create", target=f"user:{user_id}",
            request=f"{args.name} {args.role} {args.party}".encode(), entry_ids=[], now=now,
        )  # fmt: skip
    print(token)
    print(setup_instructions(code), file=sys.stdout)
    return 0


def cmd_user_list(_args) -> int:
    """Every user: who, which role, for which party, and whether it and its token still work."""
    with database().read() as connection:
        rows = users.list_users(connection)
    now = Clock().now()
    print("id\tname\trole\tparty\tcreated\tstate")
    for user in rows:
        party = "" if user["party_id"] is None else user["party_id"]
        print(f"{user['id']}\t{user['name']}\t{user['role']}\t{party}\t{_when(user['created_at'])}\t"
              f"{users.user_state(user, now=now)}")  # fmt: skip
    return 0


def cmd_token_list(_args) -> int:
    """Every user's token (one each): whether it works, and until when."""
    with database().read() as connection:
        rows = users.list_users(connection)
    now = Clock().now()
    print("user id\tname\trole\texpires\ttoken")
    for user in rows:
        expires = _when(user["expires_at"]) if user["expires_at"] else "never"
        print(f"{user['id']}\t{user['name']}\t{user['role']}\t{expires}\t{users.token_state(user, now=now)}")
    return 0


def _when(moment) -> str:
    return moment.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")


def cmd_user_disable(args) -> int:
    """The user is revoked, as through the API (POST /v1/users/{id}/revoke): its token stops
    working and its page sessions end; audited under the command line."""
    return _revoke(args.user, "user.revoke", "disabled: token and page sessions end", _disable)


def cmd_token_revoke(args) -> int:
    """The user's token stops working; a person still signs in to the pages (audited)."""
    return _revoke(args.user, "user.token-revoke", "token revoked", users.revoke_token)


def _disable(connection, user_id: int, *, now) -> None:
    users.revoke_user(connection, user_id, now=now)
    people.end_sessions(connection, user_id, now=now)


def _revoke(name_or_id: str, action: str, said: str, revoke) -> int:
    now = Clock().now()
    with database().write() as connection:
        user = users.find_user(connection, name_or_id)
        revoke(connection, user["id"], now=now)
        audit_log.append_system(connection, actor=users.SYSTEM_USER, action=action, target=f"user:{user['id']}",
                                request=f"{action} {user['id']}".encode(), entry_ids=[], now=now)  # fmt: skip
    print(f"user {user['id']} ({user['name']}): {said}")
    return 0


def setup_instructions(code: str) -> str:
    """What an admin hands a person so that they choose a password for the pages."""
    hours = int(people.SETUP_CODE_VALID.total_seconds() // 3600)
    base = Settings.load().public_url
    return (f"setup code for the pages (works once, for {hours} h): {code}\n"
            f"setup link: {base}/setup?code={code}")  # fmt: skip


def cmd_import(args) -> int:
    from store.bulk import import_file

    report = import_file(database(), args.file, batch_size=args.batch, progress=not args.quiet, now=Clock().now)
    logs.event("import.entries", file=str(args.file), recorded=report.recorded, replayed=report.replayed,
               rejected=len(report.rejected))  # fmt: skip
    for line_number, reason, detail in report.rejected:
        print(f"line {line_number}: {reason}: {detail}", file=sys.stderr)
    print(f"{report.recorded} recorded, {report.replayed} already recorded, {len(report.rejected)} rejected")
    return 1 if report.rejected else 0


def cmd_cob(args) -> int:
    """Close of business for a day, or every day due through today, as the system principal,
    audited like an import."""
    from store.daily_cob import close_day, close_due_days

    clock = Clock()
    db = database()
    if args.today:
        reports = close_due_days(db, clock.today(), today=clock.today(), now=clock.now,
                                 closed=logs.close_of_business_logger())  # fmt: skip
        if not reports:
            print(f"close of business: every day through {clock.today()} is closed already")
    else:
        closed = logs.close_of_business_logger()
        with db.write() as connection:
            reports = [close_day(connection, args.date, today=clock.today(), now=clock.now(), reader=db.read)]
        closed(reports[0])
    for report in reports:
        print(f"close of business {report.day}: {report.loans_processed} loans processed, {report.loans_accrued} "
              f"accrued {format_amount(report.accrued_satang)}, {report.loans_reversed} reversed "
              f"{format_amount(report.reversed_satang)}, {report.non_performing} non-performing, "
              f"{report.loans_penalised} penalised {format_amount(report.penalty_satang)}")  # fmt: skip
    return 0


def cmd_audit_verify(args) -> int:
    from ledger.audit import Digest
    from store.integrity import deep_verify

    expected = Digest(args.seq, args.hash) if args.seq and args.hash else None
    with database().read() as connection:
        result = (deep_verify if args.deep else audit_log.verify)(connection, expected)
    if result.ok:
        checked = "; guards in place, balances and months equal their postings" if args.deep else ""
        print(f"audit chain verified: {result.records_checked} records, head {result.head.seq} {result.head.hash}"
              f"{checked}")  # fmt: skip
        return 0
    where = [f"record {result.first_bad_seq}"] if result.first_bad_seq else []
    where += [f"entry {result.first_bad_entry}"] if result.first_bad_entry else []
    print(f"audit chain BROKEN at {', '.join(where) or 'the ledger'}: {result.problem}")
    for problem in result.problems[1:]:
        print(f"  also: {problem}")
    return 1


def cmd_audit_digest(args) -> int:
    """The head of the chain, to write down or print and keep away from the database; with a
    folder (--to, or CODI_DIGEST_DIR), kept there as the day's file."""
    from store.kept_files import KeptFileError, digest_text, keep_digest

    clock = Clock()
    with database().read() as connection:
        head = audit_log.digest(connection)
    folder = args.to or configured().digest_dir
    if folder is None:
        print(digest_text(head, clock.today()), end="")
        return 0
    try:
        path, written = keep_digest(folder, head, clock.today())
    except KeptFileError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    print(f"audit digest {'kept in' if written else 'unchanged, kept already in'} {path}: "
          f"sequence {head.seq}, head hash {head.hash}")  # fmt: skip
    return 0


def configured() -> Settings:
    """The settings in force (api.settings)."""
    return Settings.load()


def _written_hash(text: str) -> str:
    """A head hash as written down: in groups, in either case."""
    return "".join(text.split()).lower()


def cmd_dump(args) -> int:
    from store.dump import dump_file

    if args.file is None:
        return dump_to_folder(args)
    dumped(dump_file(database(), args.file), args.file)
    return 0


def dump_to_folder(args) -> int:
    """A dump kept in the backup folder (--to-dir, or CODI_BACKUP_DIR), the older ones rotated out."""
    from store.kept_files import KeptFileError, keep_dump

    environment = configured()
    folder = args.to_dir or environment.backup_dir
    if folder is None:
        print("refused: name a file, or a folder with --to-dir (or CODI_BACKUP_DIR)", file=sys.stderr)
        return 1
    keep = environment.backups_kept if args.keep is None else args.keep
    try:
        kept = keep_dump(database(), folder, at=Clock().now().astimezone(BANGKOK), keep=keep)
    except KeptFileError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    dumped(kept.summary, kept.path)
    for path in kept.removed:
        print(f"removed the older dump {path}")
    return 0


def dumped(summary, path: Path) -> None:
    print(f"dumped {sum(summary.rows.values())} rows of {len(summary.rows)} tables to {path}; "
          f"audit head {summary.digest.seq} {summary.digest.hash}")  # fmt: skip


def cmd_restore(args) -> int:
    from store.dump import RestoreError, restore_file
    from store.kept_files import KeptFileError, latest_dump

    try:
        path = args.file or latest_dump(args.latest)
    except KeptFileError as error:
        print(f"restore refused, nothing written: {error}", file=sys.stderr)
        return 1
    db = database()
    db.migrate()
    try:
        summary = restore_file(db, path)
    except RestoreError as error:
        print(f"restore refused, nothing written: {error}", file=sys.stderr)
        logs.event("restore.refused", file=str(path), reason=str(error))
        return 1
    logs.event("restore", file=str(path), rows=sum(summary.rows.values()), tables=len(summary.rows),
               audit_seq=summary.digest.seq, audit_hash=summary.digest.hash)  # fmt: skip
    print(f"restored {sum(summary.rows.values())} rows of {len(summary.rows)} tables from {path}; "
          f"audit chain verified to {summary.digest.seq} {summary.digest.hash}; "
          "users need new tokens (codi-ledger user add)")  # fmt: skip
    return 0


def cmd_export(args) -> int:
    """A book as a Beancount ledger or a CSV journal, streamed to a file or standard output."""
    from api.formats import csv_blocks
    from store.exports import JOURNAL_CSV_HEADER, beancount_export, find_book, journal_csv_rows

    db = database()
    with db.read() as connection:
        book_id = find_book(connection, args.book)["id"]
    if args.format == "csv":
        blocks = csv_blocks(JOURNAL_CSV_HEADER, journal_csv_rows(db, book_id))
    else:
        blocks = beancount_export(db, book_id)
    with open(args.output, "w", encoding="utf-8", newline="") if args.output else nullcontext(sys.stdout) as out:
        out.writelines(blocks)
    return 0


def client_date(text: str) -> date:
    """A date given on the command line, read by the one parser of client dates."""
    try:
        return parse_client_date(text)
    except LedgerError as error:
        raise argparse.ArgumentTypeError(f"{error.reason}: {error.detail}") from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="codi-ledger", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the database (DATABASE_URL) to the newest schema").set_defaults(
        run=cmd_migrate
    )
    run = sub.add_parser("run", help="migrate and serve the API and the pages")
    run.add_argument("--host", help="the address to listen on (default: the setting CODI_HOST, 127.0.0.1)")
    run.add_argument("--port", type=int, help="the port (default: the setting CODI_PORT, 8000)")
    run.add_argument("--workers", type=int, help="server processes, PostgreSQL only (default: CODI_WORKERS, 1)")
    run.add_argument("--demo", action="store_true", help="load the demo data into a new database")
    run.set_defaults(run=cmd_run)
    sub.add_parser("config", help="print the settings in force, secrets masked").set_defaults(run=cmd_config)
    people_parser = sub.add_parser("user", aliases=["users"], help="manage users")
    user = people_parser.add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="add a user and print its token, once (an admin or approver only while "
                          "fewer than two admins are active: then through the API, checked by a second admin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=users.ROLES)
    add.add_argument("--party", type=int, help="the party an enterprise user is bound to")
    add.set_defaults(run=cmd_user_add)
    user.add_parser("list", help="list the users, their roles and whether they still work").set_defaults(
        run=cmd_user_list
    )
    disable = user.add_parser("disable", help="revoke a user: its token stops working, its page sessions end")
    disable.add_argument("user", help="the user's name or id")
    disable.set_defaults(run=cmd_user_disable)
    tokens = sub.add_parser("token", aliases=["tokens"], help="manage tokens")
    token = tokens.add_subparsers(dest="token_command", required=True)
    token.add_parser("list", help="list the tokens (one a user): whether each works, until when").set_defaults(
        run=cmd_token_list
    )
    revoke = token.add_parser("revoke", help="a user's token stops working; the person still signs in to the pages")
    revoke.add_argument("user", help="the user's name or id")
    revoke.set_defaults(run=cmd_token_revoke)
    imp = sub.add_parser("import", help="import entries from a JSON-lines file")
    imp.add_argument("file")
    imp.add_argument("--batch", type=int, default=1000)
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(run=cmd_import)
    cob = sub.add_parser("cob", help="close of business: accrue loan interest and age the loans through a day")
    cob_day = cob.add_mutually_exclusive_group(required=True)
    cob_day.add_argument("--date", type=client_date, help="the business day, YYYY-MM-DD")
    cob_day.add_argument("--today", action="store_true",
                         help="every day after the last one closed, through today (the daily timer's)")  # fmt: skip
    cob.set_defaults(run=cmd_cob)
    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="recompute the hash chain")
    verify.add_argument("--seq", type=int, help="sequence number of a digest kept earlier")
    verify.add_argument("--hash", type=_written_hash, help="head hash of that digest (its groups may be spaced)")
    verify.add_argument("--deep", action="store_true", help="also check the guards, and balances against postings")
    verify.set_defaults(run=cmd_audit_verify)
    digest = audit.add_parser("digest", help="print the head of the chain, to write down and keep elsewhere")
    digest.add_argument("--to", type=Path, metavar="DIR",
                        help="keep it as the day's file audit-digest-YYYYMMDD.txt there (default: CODI_DIGEST_DIR)")
    digest.set_defaults(run=cmd_audit_digest)
    dump = sub.add_parser("dump", help="write the whole database (DATABASE_URL) to a file, without secrets")
    dump.add_argument("file", type=Path, nargs="?", help="the file to write (or --to-dir)")
    dump.add_argument("--to-dir", type=Path, metavar="DIR",
                      help="a backup folder: a file named with the time, the newest kept (default: CODI_BACKUP_DIR)")
    dump.add_argument("--keep", type=int, metavar="N",
                      help="how many dumps the folder keeps (default: CODI_BACKUPS_KEPT)")
    dump.set_defaults(run=cmd_dump)
    restore = sub.add_parser("restore", help="restore a dump into a new, empty database (DATABASE_URL)")
    restore_from = restore.add_mutually_exclusive_group(required=True)
    restore_from.add_argument("file", type=Path, nargs="?", help="the dump to restore")
    restore_from.add_argument("--latest", type=Path, metavar="DIR", help="restore the newest dump of a backup folder")
    restore.set_defaults(run=cmd_restore)
    export = sub.add_parser("export", help="write a book as a Beancount ledger or a CSV journal")
    export.add_argument("book", help="the book's id or code")
    export.add_argument("--format", choices=("beancount", "csv"), default="beancount")
    export.add_argument("--output", type=Path, help="the file to write (default: standard output)")
    export.set_defaults(run=cmd_export)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        logs.configure(Settings.load())
        return args.run(args)
    except SettingsError as error:
        print(f"codi-ledger cannot start: {error}", file=sys.stderr)
        return 2
    except LedgerError as error:
        print(f"refused: {error.reason}: {error.detail}", file=sys.stderr)
        return 2
    finally:
        while _opened:
            _opened.pop().dispose()


if __name__ == "__main__":
    sys.exit(main())
