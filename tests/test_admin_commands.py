"""Four eyes on the powers that four eyes rest on: a user who can approve is made through an admin
command that a second admin approves (the maker is refused), its token taken once by the checker
and stored nowhere in clear; rejection, withdrawal, replays; with one admin nothing is approved,
and the command line seats no third admin; the database refuses a maker who checks."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from api.cli import main
from ledger.errors import LedgerError
from store.demo import load_demo
from tests.conftest import NOW, approved, make_user


def refused(response, status: int, reason: str) -> None:
    assert (response.status_code, response.json()["reason"]) == (status, reason), response.text


def names(api) -> set[str]:
    return {u["name"] for u in api.get("/v1/users").json()}


@pytest.fixture
def loan(api, fund) -> int:
    """A loan application that the admin (`api`) recorded: someone else must approve it."""
    product = api.post("/v1/loan-products", {"book_id": fund["book_id"], "code": "P-12", "name_th": "สินเชื่อ",
                                             "rate_annual_percent": "12", "term_instalments": 3})  # fmt: skip
    assert product.status_code == 201, product.text
    loan = api.post("/v1/loans", {"product_id": product.json()["id"], "borrower_party_id": fund["borrower_id"],
                                  "amount": "10000.00", "savings": "1000.00"})  # fmt: skip
    assert loan.status_code == 201, loan.text
    return loan.json()["id"]


def test_an_admin_cannot_make_an_approver_to_approve_their_own_loan(api, loan):
    """The attack: admin A records a loan, makes approver B through the API and approves with B's
    token. Now B is not made until a second admin approves, and A cannot approve A's command."""
    refused(api.post(f"/v1/loans/{loan}/approval", {}), 403, "same_user_approval")
    proposed = api.post("/v1/users", {"name": "puppet", "role": "approver"})
    assert proposed.status_code == 202, proposed.text
    command = proposed.json()
    assert (command["kind"], command["status"], command["checker_id"]) == ("user.create", "pending", None)
    assert command["href"] == f"/v1/admin-commands/{command['id']}" and "codi_" not in proposed.text
    assert "puppet" not in names(api)
    refused(api.post(f"{command['href']}/approval", {}), 403, "same_user_approval")
    refused(api.post(f"{command['href']}/token", {}), 403, "forbidden")
    assert "puppet" not in names(api)
    assert api.get(f"/v1/loans/{loan}").json()["status"] == "applied"
    assert api.get(command["href"]).json()["status"] == "pending"


def test_a_second_admin_approves_and_alone_takes_the_new_users_token_once(api, db, checker, loan):
    proposed = api.post("/v1/users", {"name": "approver-b", "role": "approver"})
    decided = approved(checker, proposed)
    assert decided["status"] == "approved" and decided["checker_id"] != decided["maker_id"]
    [made] = [u for u in api.get("/v1/users").json() if u["name"] == "approver-b"]
    assert (decided["target"], made["role"]) == (f"user:{made['id']}", "approver")
    refused(api.post(f"{decided['href']}/token", {}), 403, "forbidden")  # the maker never holds it
    taken = checker.post(f"{decided['href']}/token", {})
    assert taken.status_code == 201, taken.text
    token = taken.json()["token"]
    assert (taken.json()["id"], taken.json()["role"]) == (made["id"], "approver")
    assert api.as_(token).post(f"/v1/loans/{loan}/approval", {}).status_code == 200
    refused(checker.post(f"{decided['href']}/token", {}), 409, "token_not_available")
    assert checker.get(decided["href"]).json()["token_taken_at"] is not None
    with db.read() as connection:
        stored = [str(row) for table in ("admin_command", "audit_record", "idempotency_record", "app_user")
                  for row in connection.execute(text(f"SELECT * FROM {table}"))]  # fmt: skip
    assert stored and not any(token in row for row in stored)


def test_the_audit_trail_names_the_maker_and_the_checker(api, db, checker):
    made_by = api.get("/v1/users").json()
    ids = {u["name"]: u["id"] for u in made_by}
    decided = approved(checker, api.post("/v1/users", {"name": "second-approver", "role": "approver"}))
    checker.post(f"{decided['href']}/token", {})
    trail = [(r["actor"], r["action"], r["target"], r["outcome"]) for r in api.get("/v1/audit").json()["data"]]
    about = f"admin-command:{decided['id']} maker=user:{ids['admin']}"
    assert trail == [
        ("admin", "user.create.propose", about, "ok"),
        ("checker", "admin-command.approve", f"{about} checker=user:{ids['checker']} -> {decided['target']}", "ok"),
        ("checker", "admin-command.token", f"{about} checker=user:{ids['checker']} -> {decided['target']}", "ok"),
    ]


def test_a_rejected_or_withdrawn_command_does_nothing_and_stays_decided(api, checker):
    rejected = api.post("/v1/users", {"name": "turned-down", "role": "admin"}).json()
    answer = checker.post(f"{rejected['href']}/rejection", {})
    assert answer.status_code == 200 and answer.json()["status"] == "rejected", answer.text
    refused(checker.post(f"{rejected['href']}/approval", {}), 409, "command_not_pending")
    refused(checker.post(f"{rejected['href']}/token", {}), 409, "token_not_available")
    withdrawn = api.post("/v1/users", {"name": "taken-back", "role": "admin"}).json()
    refused(checker.post(f"{withdrawn['href']}/withdrawal", {}), 403, "forbidden")  # only its maker
    refused(api.post(f"{withdrawn['href']}/rejection", {}), 403, "same_user_approval")
    answer = api.post(f"{withdrawn['href']}/withdrawal", {})
    assert (answer.json()["status"], answer.json()["checker_id"]) == ("withdrawn", None)
    refused(checker.post(f"{withdrawn['href']}/approval", {}), 409, "command_not_pending")
    assert not {"turned-down", "taken-back"} & names(api)
    listed = checker.get("/v1/admin-commands", status="pending").json()["data"]
    assert listed == [] and len(checker.get("/v1/admin-commands").json()["data"]) == 2
    refused(checker.get("/v1/admin-commands/999"), 404, "not_found")


def test_an_approval_with_its_key_is_carried_out_once(api, checker):
    command = api.post("/v1/users", {"name": "once", "role": "approver"}, key="propose-once")
    again = api.post("/v1/users", {"name": "once", "role": "approver"}, key="propose-once")
    assert again.headers["idempotent-replayed"] == "true" and again.json() == command.json()
    first = checker.post(f"{command.json()['href']}/approval", {}, key="approve-once")
    second = checker.post(f"{command.json()['href']}/approval", {}, key="approve-once")
    assert first.status_code == second.status_code == 200 and second.headers["idempotent-replayed"] == "true"
    assert first.json() == second.json()
    assert sorted(names(api)) == ["admin", "checker", "once"]
    assert len(checker.get("/v1/admin-commands").json()["data"]) == 1


def test_a_proposal_is_refused_at_once_when_it_could_not_be_carried_out(api, db, checker):
    refused(api.post("/v1/users", {"name": "checker", "role": "admin"}), 409, "duplicate")
    refused(api.post("/v1/welfare-funds/999/settings", {"admin_cap_percent": "30"}), 404, "not_found")
    later = api.post("/v1/users", {"name": "late", "role": "approver"}).json()
    make_user(db, "late", "officer")  # the name is taken meanwhile
    refused(checker.post(f"{later['href']}/approval", {}), 409, "duplicate")
    assert checker.get(later["href"]).json()["status"] == "pending"
    assert len(checker.get("/v1/admin-commands").json()["data"]) == 1


def test_roles_that_cannot_approve_are_still_made_at_once(api):
    for role in ("officer", "auditor"):
        created = api.post("/v1/users", {"name": f"new-{role}", "role": role})
        assert created.status_code == 201 and created.json()["token"], created.text
    assert api.get("/v1/admin-commands").json()["data"] == []


def test_with_one_admin_nothing_is_approved_until_the_command_line_seats_a_second(api, db, monkeypatch, capsys):
    command = api.post("/v1/users", {"name": "waiting", "role": "approver"}).json()
    approver = api.as_(make_user(db, "an-approver", "approver"))
    refused(approver.post(f"{command['href']}/approval", {}), 403, "forbidden")  # admins check admin commands
    refused(api.post(f"{command['href']}/approval", {}), 403, "same_user_approval")
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert main(["user", "add", "second-admin", "--role", "admin"]) == 0
    second = api.as_(capsys.readouterr().out.splitlines()[0])  # the token, then the setup link
    assert second.post(f"{command['href']}/approval", {}).json()["status"] == "approved"
    # two admins check each other now: the command line seats no third approving user
    for role in ("admin", "approver"):
        assert main(["user", "add", f"third-{role}", "--role", role]) == 2
        assert "maker_checker_required" in capsys.readouterr().err
    assert main(["user", "add", "an-officer", "--role", "officer"]) == 0
    assert not {"third-admin", "third-approver"} & names(api)
    with pytest.raises(LedgerError) as refusal:  # nor does the demo, whose admin would be a third
        load_demo(db, now=NOW)
    assert refusal.value.reason == "maker_checker_required"


def test_a_revoked_admin_makes_room_for_the_command_line(api, db, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    gone = make_user(db, "gone", "admin")
    assert main(["user", "add", "third", "--role", "admin"]) == 2
    gone_id = next(u["id"] for u in api.get("/v1/users").json() if u["name"] == "gone")
    assert api.post(f"/v1/users/{gone_id}/revoke", {}).status_code == 204
    assert main(["user", "add", "replacement", "--role", "admin"]) == 0
    assert api.as_(gone).get("/v1/books").status_code == 401


# --- the database's own guards -----------------------------------------------------------------

INSERT = ("INSERT INTO admin_command (kind, payload, maker_id, made_at, status, checker_id, checked_at, target) "
          "VALUES ('user.create', '{}', :maker, :now, :status, :checker, :checked, :target)")  # fmt: skip


@pytest.mark.parametrize(
    "row",
    [
        {"status": "approved", "checker": "maker", "checked": NOW, "target": "user:9"},  # maker = checker
        {"status": "rejected", "checker": "maker", "checked": NOW, "target": None},
        {"status": "approved", "checker": None, "checked": NOW, "target": "user:9"},  # approved without a checker
        {"status": "rejected", "checker": None, "checked": None, "target": None},
        {"status": "pending", "checker": "other", "checked": None, "target": None},
        {"status": "approved", "checker": "other", "checked": NOW, "target": None},  # approved, nothing made
        {"status": "done", "checker": None, "checked": None, "target": None},
    ],
)
def test_the_database_refuses_a_bad_command(db, row):
    for name in ("maker", "other"):
        make_user(db, name, "admin")
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.connect() as connection:
        ids = dict(connection.execute(text("SELECT name, id FROM app_user")).all()) | {None: None}
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text(INSERT), {**row, "maker": ids["maker"], "checker": ids[row["checker"]], "now": NOW})
    engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        # the pending one approved by its maker: only the four-eyes constraint stands in the way
        "UPDATE admin_command SET status = 'approved', checker_id = maker_id, checked_at = made_at, "
        "target = 'user:1' WHERE status = 'pending'",
        "UPDATE admin_command SET status = 'rejected' WHERE status = 'approved'",
        "UPDATE admin_command SET checker_id = (SELECT id FROM app_user WHERE name = 'third-admin') "
        "WHERE status = 'approved'",
        "UPDATE admin_command SET payload = '{\"role\": \"admin\"}'",
        "UPDATE admin_command SET token_taken_at = NULL WHERE token_taken_at IS NOT NULL",
        "DELETE FROM admin_command",
    ],
)
def test_a_decided_command_is_never_changed_or_removed(api, db, checker, statement):
    decided = approved(checker, api.post("/v1/users", {"name": "seated", "role": "approver"}))
    checker.post(f"{decided['href']}/token", {})
    api.post("/v1/users", {"name": "waiting", "role": "approver"})
    make_user(db, "third-admin", "admin")
    engine = create_engine(db.url, poolclass=NullPool)
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()
