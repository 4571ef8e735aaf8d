"""Users from the command line and in Thai: `codi-ledger user list`, `user disable`, `token list`,
`token revoke` (each audited under the command line), and user names in Thai script, through
the API, the command line and signing in to the pages."""

import pytest

from api.cli import main
from ledger.text import user_name
from store import audit_log, people
from tests.conftest import NOW, make_user


@pytest.fixture
def cli(db, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def rows(out: str) -> dict[str, list[str]]:
    """The lines of a listing by their second column (the name)."""
    return {cells[1]: cells for cells in (line.split("\t") for line in out.strip().splitlines()[1:])}


def audited(db, action: str) -> list[dict]:
    with db.read() as connection:
        return [r for r in audit_log.list_records(connection, after=0, limit=1000) if r["action"] == action]


def test_users_are_listed_with_their_roles_and_state(api, db, cli):
    make_user(db, "สมชาย.ใจดี", "officer")
    status, out, _ = cli("users", "list")
    assert status == 0
    listed = rows(out)
    assert listed["admin"][2] == "admin" and listed["admin"][-1] == "active"
    assert listed["สมชาย.ใจดี"][2:4] == ["officer", ""]


def test_a_disabled_user_can_do_nothing_and_it_is_audited(api, db, cli):
    officer = api.as_(make_user(db, "officer-1", "officer"))
    assert officer.get("/v1/books").status_code == 200
    status, out, _ = cli("users", "disable", "officer-1")
    assert status == 0 and "disabled" in out
    api.client.app.state.known_tokens.forget_all()  # the server forgets within a second; the test at once
    assert officer.get("/v1/books").status_code == 401
    assert rows(cli("users", "list")[1])["officer-1"][-1].startswith("revoked")
    [record] = audited(db, "user.revoke")
    assert (record["actor"], record["target"]) == ("cli", f"user:{rows(cli('user', 'list')[1])['officer-1'][0]}")
    assert cli("users", "disable", "nobody")[0] == 2


def test_a_revoked_token_stops_but_the_person_still_signs_in(api, db, cli):
    token = make_user(db, "auditor-1", "auditor")
    auditor = api.as_(token)
    with db.write() as connection:
        user_id = rows(cli("users", "list")[1])["auditor-1"][0]
        people._store_password(connection, int(user_id), "a long pass phrase 2567", NOW)
    status, out, _ = cli("tokens", "revoke", user_id)  # by id
    assert status == 0 and "token revoked" in out
    api.client.app.state.known_tokens.forget_all()
    assert auditor.get("/v1/books").status_code == 401
    listed = rows(cli("tokens", "list")[1])
    assert listed["auditor-1"][-1].startswith("revoked") and listed["admin"][-1] == "active"
    assert rows(cli("users", "list")[1])["auditor-1"][-1] == "active"
    with db.read() as connection:
        assert people.check_password(connection, "auditor-1", "a long pass phrase 2567") is not None
    assert len(audited(db, "user.token-revoke")) == 1


def test_a_new_token_clears_a_revoked_one(db):
    from store import users

    with db.write() as connection:
        user_id, _ = users.add_user(connection, name="machine", role="auditor", party_id=None, now=NOW)
        users.revoke_token(connection, user_id, now=NOW)
        token = users.issue_token(connection, user_id)
        assert users.token_holder(connection, users.token_hash(token)) is not None


def test_thai_user_names_are_taken_everywhere_and_blank_looking_ones_are_not(api, cli, checker):
    made = api.post("/v1/users", {"name": "นางสาวมาลี", "role": "auditor", "pages": False})
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "นางสาวมาลี"
    assert cli("user", "add", "ผู้ตรวจ_2", "--role", "auditor")[0] == 0
    for name in ("สม ชาย", "", "\u0e31abc", "a\u200bb", "x" * 101):
        assert api.post("/v1/users", {"name": name, "role": "auditor"}).status_code == 422, name
    status, _, err = cli("user", "add", "สม ชาย", "--role", "auditor")
    assert status == 2 and "invalid_request" in err
    assert user_name("e\u0301") == "\u00e9"  # kept composed, as a person types it on another keyboard
