"""Running it for real: the settings (environment, file, refusals that name the setting,
`codi-ledger config`), the request log and the events log, /metrics and /ready."""

import io
import json
import logging
import os
import re
import time
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import text

from api import cli, logs
from api.app import create_app
from api.settings import Settings, SettingsError
from store import people
from store.engine import Database
from tests.conftest import ON_POSTGRES, make_user
from tests.test_import_and_cli import line
from tests.test_pdpa import NATIONAL_ID
from tests.test_web_sessions import PASSWORD, Browser, person

# --- settings -------------------------------------------------------------------------------


def test_settings_come_from_the_environment_over_a_toml_file(tmp_path, monkeypatch):
    config = tmp_path / "codi.toml"
    config.write_text('workers = 3\nport = 8100\ndigest_dir = "/var/lib/codi/digests"\ncob_time = "22:30"\n')
    monkeypatch.setenv("CODI_CONFIG_FILE", str(config))
    monkeypatch.setenv("CODI_PORT", "9000")
    settings = Settings.load()
    assert (settings.workers, settings.port, str(settings.digest_dir)) == (3, 9000, "/var/lib/codi/digests")
    assert settings.cob_time.strftime("%H:%M") == "22:30"


def test_only_the_service_own_names_are_read_from_the_environment(monkeypatch):
    for name, value in (("PORT", "5000"), ("HOST", "0.0.0.0"), ("WORKERS", "9"), ("LOG_LEVEL", "debug")):
        monkeypatch.setenv(name, value)  # set for other programs, often: not ours to take
    settings = Settings.load()
    assert (settings.port, settings.host, settings.workers, settings.log_level) == (8000, "127.0.0.1", 1, "info")


def test_settings_come_from_an_env_file(tmp_path, monkeypatch):
    config = tmp_path / "codi.env"
    config.write_text("CODI_BACKUPS_KEPT=30\nCODI_COOKIE_SECURE=1\nCODI_LOG_FORMAT=text\n")
    monkeypatch.setenv("CODI_CONFIG_FILE", str(config))
    settings = Settings.load()
    assert (settings.backups_kept, settings.cookie_secure, settings.log_format) == (30, True, "text")


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("CODI_WORKERS", "0", "greater than or equal to 1"),
    ("CODI_PORT", "eighty", "valid integer"),
    ("CODI_COB_TIME", "6 pm", "HH:MM"),
    ("CODI_METRICS_ALLOW", "10.0.0.0/8,everyone", "'everyone' is not an address"),
    ("DATABASE_URL", "mysql://db/ledger", "sqlite:///FILE or postgresql"),
    ("CODI_LOG_FORMAT", "xml", "'auto', 'json' or 'text'"),
    ("CODI_SESSION_IDLE_MINUTES", "-5", "greater than 0"),
    ("CODI_PUBLIC_URL", "ledger.example", "http:// or https://"),
    ("CODI_CONFIG_FILE", "/nowhere/codi.toml", "no file /nowhere/codi.toml"),
])  # fmt: skip
def test_a_bad_setting_stops_start_up_and_names_the_setting(monkeypatch, capsys, variable, value, said):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"setting {variable}: .*{said}"):
        Settings.load()
    assert cli.main(["run", "--port", "1"]) == 2  # stops before it opens the database or a port
    err = capsys.readouterr().err
    assert f"codi-ledger cannot start: setting {variable}" in err and said in err


def test_a_file_naming_something_that_is_not_a_setting_is_refused(tmp_path, monkeypatch):
    config = tmp_path / "codi.toml"
    config.write_text("wokers = 4\n")
    monkeypatch.setenv("CODI_CONFIG_FILE", str(config))
    with pytest.raises(SettingsError, match="setting wokers: not a setting"):
        Settings.load()


def test_more_than_one_server_process_on_sqlite_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'one.db'}")
    assert cli.main(["run", "--workers", "2"]) == 2
    assert "2 server processes need PostgreSQL" in capsys.readouterr().err
    assert not (tmp_path / "one.db").exists()  # refused before anything was opened
    assert cli.main(["run", "--workers", "0"]) == 2
    assert "--workers must be 1 or more" in capsys.readouterr().err


def test_run_with_the_demo_says_how_to_sign_in_to_the_pages_and_that_the_passwords_are_for_the_demo(
        db, monkeypatch, capsys, log_lines):  # fmt: skip
    """`make run` (`codi-ledger run --demo`): the printed demo people sign in to the pages it
    serves with the printed passwords; the admin token is printed once, when the demo is loaded."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setattr(people, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))  # cheap here
    served = []

    class NotListening:  # the app `run` would serve, kept for the test instead of opening a port
        started = True

        def __init__(self, app, **_) -> None:
            served.append(app)

        def run(self) -> None:
            pass

    monkeypatch.setattr(cli, "server", NotListening)
    assert cli.main(["run", "--demo", "--port", "8123"]) == 0
    out = capsys.readouterr().out
    [sign_in] = [x for x in out.splitlines() if x.startswith("pages: sign in at http://127.0.0.1:8123/signin as ")]
    assert "these passwords are for the demo only" in out and "admin token (shown once): codi_" in out
    printed = dict(re.findall(r"([\w.@-]+) \(password ([^)]+)\)", sign_in))
    for name in ("khaodin-rice", "auditor"):  # the two; the other demo people are made alike
        assert Browser(served[0]).sign_in(name, printed[name]).status_code == 303, name
    assert cli.main(["run", "--demo", "--port", "8123"]) == 0
    again = capsys.readouterr().out
    assert "codi_" not in again and "demo data already present" in again and sign_in in again


def test_config_prints_the_settings_in_force_with_the_password_masked(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://codi:s3cret-word@db.internal:5432/ledger")
    monkeypatch.setenv("CODI_WORKERS", "4")
    assert cli.main(["config"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-word" not in out
    assert "postgresql+psycopg://codi:***@db.internal:5432/ledger" in out
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert lines["CODI_WORKERS"] == "4" and lines["CODI_COB_TIME"] == "unset" and lines["CODI_BACKUPS_KEPT"] == "14"
    assert set(lines) == set(Settings().shown())


# --- logs -----------------------------------------------------------------------------------


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The `codi` loggers' JSON lines, written into a buffer for the test."""
    buffer = io.StringIO()
    logs.configure(Settings.from_environ({"CODI_LOG_FORMAT": "json"}), stream=buffer)
    yield buffer
    root = logging.getLogger("codi")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.propagate, root.level = True, logging.NOTSET


def read_lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_each_request_is_one_line_with_its_route_template_and_nothing_secret(api, db, log_lines):
    party = api.post("/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์", "national_id": NATIONAL_ID},
                     key="party-1")  # fmt: skip
    assert party.status_code == 201, party.text
    party_id = party.json()["id"]
    read = api.client.get(f"/v1/parties/{party_id}", headers={**api.headers(), "X-Request-Id": "trace-42"})
    assert read.status_code == 200 and read.headers["X-Request-Id"] == "trace-42"
    person(db, "noi", role="officer")
    assert Browser(api.client.app).sign_in("noi").status_code == 303

    written = log_lines.getvalue()
    for secret in (api.token, PASSWORD, NATIONAL_ID, NATIONAL_ID[:4] + "-"):
        assert secret not in written
    requests = [line for line in read_lines(log_lines) if line["logger"] == "codi.access"]
    by_route = {(line["method"], line["route"]): line for line in requests}
    created = by_route["POST", "/v1/parties"]
    assert created["status"] == 201 and isinstance(created["user_id"], int) and created["duration_ms"] >= 0
    assert len(created["request_id"]) == 32 and created["request_id"] == party.headers["X-Request-Id"]
    fetched = by_route["GET", "/v1/parties/{party_id}"]
    assert (fetched["status"], fetched["user_id"], fetched["request_id"]) == (200, created["user_id"], "trace-42")
    assert by_route["POST", "/signin"]["status"] == 303
    assert f"/v1/parties/{party_id}" not in written  # the template, not the path


def test_a_request_id_is_the_same_in_the_log_and_the_audit_record(api, fund, log_lines):
    entry = api.entry(fund["book_id"], [(fund["1100"], "5.00"), (fund["3100"], "-5.00")])
    assert entry.status_code == 201
    [line] = [x for x in read_lines(log_lines) if x.get("route") == "/v1/entries"]
    records = api.get("/v1/audit", limit=100).json()["data"]
    assert line["request_id"] in {r["request_id"] for r in records}


def test_an_unknown_path_is_logged_without_the_path_sent(api, log_lines):
    api.client.get("/v1/tokens/codi_supersecret")
    [line] = [x for x in read_lines(log_lines) if x["logger"] == "codi.access"]
    assert line["route"] == logs.UNMATCHED and line["status"] == 404
    assert "supersecret" not in log_lines.getvalue()


def test_lines_are_readable_text_on_a_terminal_unless_told_otherwise():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for format_, on_terminal in (("auto", True), ("json", False)):
        terminal = Terminal()
        logs.configure(Settings.from_environ({"CODI_LOG_FORMAT": format_}), stream=terminal)
        logs.event("restore", rows=12)
        text_ = terminal.getvalue()
        assert text_.startswith("{") is not on_terminal
        assert ("codi.events restore event=restore rows=12" in text_) is on_terminal
    logging.getLogger("codi").handlers.clear()


def test_close_of_business_and_a_period_close_are_logged_with_their_figures(api, fund, log_lines):
    cob = api.post("/v1/close-of-business", {"date": "2024-06-13"}, key="cob-1")
    assert cob.status_code == 200, cob.text
    closed = api.post(f"/v1/books/{fund['book_id']}/periods/close", {"period": "2024-03"}, key="close-1")
    assert closed.status_code == 200, closed.text
    api.post(f"/v1/books/{fund['book_id']}/periods/close", {"period": "2024-03"}, key="close-1")  # a replay
    events = [line for line in read_lines(log_lines) if line["logger"] == "codi.events"]
    assert [e["event"] for e in events] == ["loan.close-of-business", "period.close"]
    assert events[0]["date"] == "2024-06-13" and events[0]["loans_processed"] == cob.json()["loans_processed"]
    assert events[0]["accrued"] == cob.json()["accrued_interest"]
    assert (events[1]["book_id"], events[1]["through"]) == (fund["book_id"], "2024-03")


def test_the_command_line_logs_an_import_and_a_close_of_business_with_their_figures(db, fund, tmp_path,
                                                                                   monkeypatch, capsys):  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("CODI_LOG_FORMAT", "json")
    path = tmp_path / "entries.jsonl"
    path.write_text(line("k1", [("1100", "1.00"), ("3100", "-1.00")]) + "\n" + line("k2", [("1100", "1.00")]) + "\n")
    assert cli.main(["import", str(path), "--quiet"]) == 1
    assert cli.main(["cob", "--date", "2024-06-13"]) == 0
    logged = [json.loads(text_) for text_ in capsys.readouterr().err.splitlines() if text_.startswith("{")]
    events = {e["event"]: e for e in logged if "event" in e}
    imported = events["import.entries"]
    assert (imported["recorded"], imported["replayed"], imported["rejected"]) == (1, 0, 1)
    assert events["loan.close-of-business"]["date"] == "2024-06-13"
    assert events["loan.close-of-business"]["loans_processed"] == 0


# --- metrics --------------------------------------------------------------------------------


def scrape(client: TestClient, token: str | None = None):
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})


def test_metrics_are_for_an_admin_or_an_allowed_address_only(api, db, clock):
    assert scrape(api.client).status_code == 404
    assert scrape(api.client, make_user(db, "officer", "officer")).status_code == 404
    assert scrape(api.client, "codi_not_a_token").status_code == 404
    assert scrape(api.client, api.token).status_code == 200
    allowed = create_app(db, clock, Settings.from_environ({"CODI_METRICS_ALLOW": "10.1.0.0/16"}))
    assert scrape(TestClient(allowed, client=("10.1.2.3", 5000))).status_code == 200
    assert scrape(TestClient(allowed, client=("10.2.0.1", 5000))).status_code == 404


def figure(exposition: str, series: str) -> float:
    """The value of one series (its name and labels as written) in a Prometheus exposition."""
    values = dict(line.rsplit(" ", 1) for line in exposition.splitlines() if line and not line.startswith("#"))
    return float(values[series])


def test_metrics_count_requests_group_commit_and_the_pools(api, fund):
    before = scrape(api.client, api.token).text
    route = 'codi_http_requests_total{method="POST",route="/v1/entries",status="201"}'
    count_before = figure(before, route) if route in before else 0.0
    batches_before = figure(before, "codi_group_commit_batch_size_count")
    for _ in range(3):
        assert api.entry(fund["book_id"], [(fund["1100"], "1.00"), (fund["3100"], "-1.00")]).status_code == 201
    after = scrape(api.client, api.token).text
    assert figure(after, route) == count_before + 3
    assert figure(after, "codi_group_commit_batch_size_count") >= batches_before + 3
    assert 'codi_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/entries"}' in after
    assert "codi_group_commit_wait_seconds_count" in after
    assert figure(after, 'codi_db_pool_size{engine="write"}') == 20
    assert 'codi_db_connections_in_use{engine="read"}' in after


def test_the_age_of_the_newest_audit_digest_written_down(db, clock, tmp_path):
    app = create_app(db, clock, Settings.from_environ({"CODI_DIGEST_DIR": str(tmp_path)}))
    token = make_user(db, "boss", "admin")
    client = TestClient(app)
    assert figure(scrape(client, token).text, "codi_audit_digest_age_seconds") == float("inf")
    for name, age_s in (("audit-digest-20240612.txt", 2 * 86400), ("audit-digest-20240613.txt", 600)):
        (tmp_path / name).write_text("sequence 1\n")
        os.utime(tmp_path / name, (time.time() - age_s, time.time() - age_s))
    (tmp_path / "notes.txt").write_text("not a digest")
    assert 600 <= figure(scrape(client, token).text, "codi_audit_digest_age_seconds") < 700


def test_close_of_business_is_timed_and_its_loans_counted(api):
    before = scrape(api.client, api.token).text
    assert api.post("/v1/close-of-business", {"date": "2024-06-13"}, key="cob-m").status_code == 200
    after = scrape(api.client, api.token).text
    assert figure(after, "codi_close_of_business_duration_seconds_count") == \
        figure(before, "codi_close_of_business_duration_seconds_count") + 1  # fmt: skip
    assert "codi_close_of_business_loans_total" in after


# --- health and readiness -------------------------------------------------------------------


def test_health_and_ready_answer_when_all_is_well(api):
    assert api.client.get("/health").json() == {"status": "ok"}
    ready = api.client.get("/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_not_ready_when_the_database_does_not_answer(clock):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere" if ON_POSTGRES else "sqlite:////no/such/dir/x.db"
    down = Database(url)
    try:
        client = TestClient(create_app(down, clock, Settings()))
        answer = client.get("/ready")
        assert answer.status_code == 503 and answer.json()["reason"] == "database_unavailable"
        assert client.get("/health").status_code == 200  # the process itself answers
    finally:
        down.dispose()


def test_not_ready_when_the_schema_is_behind_the_newest_migration(api, db):
    with db.write() as connection:
        newest = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        connection.execute(text("UPDATE alembic_version SET version_num = '0016'"))
    try:
        answer = api.client.get("/ready")
        assert answer.status_code == 503 and answer.json()["reason"] == "schema_not_current"
        assert "0016," in answer.json()["detail"] and newest in answer.json()["detail"]
    finally:  # on PostgreSQL the next test empties this database rather than making a new one
        with db.write() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": newest})


def test_not_ready_when_a_guard_is_missing(api, db):
    switch_off = ("ALTER TABLE entry DISABLE TRIGGER entry_append_only" if db.is_postgres
                  else "DROP TRIGGER entry_no_update")  # fmt: skip
    with db.write() as connection:
        connection.execute(text(switch_off))
    answer = api.client.get("/ready")  # on PostgreSQL the next test's emptying turns it back on
    assert answer.status_code == 503 and answer.json()["reason"] == "guards_missing"
    assert "entry_" in answer.json()["detail"]
