"""The admin's pages: people and machines (users) and their roles, adding one, revoking one, and
the admin commands waiting for a second admin.

Every write is the API's own route function, called with the form's idempotency key:
`create_user` (POST /v1/users: a person or machine of a role that cannot approve is made at
once and its token, and for a person a one-time setup link, shown this once; an admin or an
approver is proposed as an admin command), `revoke_user` (POST /v1/users/{id}/revoke: the token
stops working and every session ends), and the commands' `approve`, `reject`, `withdraw` and
`take_token` (POST /v1/admin-commands/{id}/...: the maker cannot check their own, the checker
takes the new user's token and setup link). Admins only, as the API.
"""

import json
import uuid
from typing import Annotated, Literal

from fastapi import Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from api.context import ADMINS
from api.pages import DEFAULT_LIMIT, PageDep, PageRequest, next_cursor
from api.routes import admin as admin_api
from api.routes import commands as commands_api
from api.schemas import IdPath, UserCreate
from api.writes import form_write
from ledger.errors import LedgerError, Rejection
from store import admin_commands, books, people, users
from store.users import Principal
from web.forms import message
from web.i18n import N_
from web.routes import page_router
from web.session import page_role
from web.templating import render

router = page_router()
PageAdmin = Annotated[Principal, Depends(page_role(ADMINS))]
MAX_PARTIES_OFFERED = 500
ROLES = (
    ("officer", N_("Fund officer: records parties, loans and payments")),
    ("approver", N_("Approver: approves what officers record (a second admin must agree)")),
    ("auditor", N_("Auditor: reads everything, writes nothing")),
    ("enterprise", N_("Community enterprise: sees only its own party")),
    ("admin", N_("Admin: manages people and closes periods (a second admin must agree)")),
)
ROLE_NAMES = {"officer": N_("Fund officer"), "approver": N_("Approver"), "auditor": N_("Auditor"),
              "enterprise": N_("Community enterprise"), "admin": N_("Admin")}  # fmt: skip
USES = (("person", N_("A person, who signs in to these pages")),
        ("machine", N_("A machine (another system) that uses the API with a token")))  # fmt: skip
STATUSES = (("active", N_("Active")), ("revoked", N_("Revoked")))
COMMAND_STATUSES = (("pending", N_("Waiting")), ("approved", N_("Approved")), ("rejected", N_("Turned down")),
                    ("withdrawn", N_("Withdrawn")))  # fmt: skip
FIELD_MESSAGES = {
    "name": N_("Enter a user name of letters (Thai or English), digits and . _ @ - only, without spaces "
               "(at most 100)."),
    "role": N_("Choose a role."),
    "party_id": N_("Choose the party this person speaks for."),
    "use": N_("Choose whether it is a person or a machine."),
}
REFUSALS = {
    Rejection.duplicate: ("name", N_("Someone has this user name already.")),
    Rejection.not_found: ("party_id", N_("Choose the party this person speaks for.")),
    Rejection.idempotency_key_reused: ("name", N_("This form was sent already. Start a new form.")),
}
COMMAND_REFUSALS = {
    Rejection.same_user_approval: N_("You proposed this yourself: another admin must approve or turn it down."),
    Rejection.command_not_pending: N_("This command was decided already."),
    Rejection.forbidden: N_("Only the admin who proposed it may withdraw it, and only the one who approved it "
                            "takes the new person's sign-in link."),  # fmt: skip
    Rejection.token_not_available: N_("The sign-in link and token were taken already."),
    Rejection.duplicate: N_("Someone has this user name already: this can no longer be carried out."),
}
PersonField = Annotated[str, Form(max_length=200)]


# --- people -----------------------------------------------------------------------------------------


@router.get("/admin/people")
def people_list(request: Request, principal: PageAdmin, page: PageDep,
                role: Annotated[Literal["", *users.ROLES], Query()] = "",
                name: Annotated[str, Query(max_length=people.MAX_NAME_SEARCH)] = "",
                status: Annotated[Literal["", "active", "revoked"], Query()] = ""):  # fmt: skip
    chosen = {"role": role, "name": name.strip(), "status": status}
    with request.app.state.db.read() as connection:
        rows = people.list_people(connection, filters=chosen, after=page.after, limit=page.limit)
    more = next_cursor(rows, page)
    query = {k: v for k, v in chosen.items() if v}
    return render(request, "admin_people.html", people=rows, chosen=chosen,
                  next_query={**query, "cursor": more} if more else None, roles=ROLE_NAMES,
                  statuses=STATUSES)  # fmt: skip


@router.get("/admin/people/new")
def new_person(request: Request, principal: PageAdmin):
    typed = {"name": "", "role": "", "party_id": "", "use": "person", "key": uuid.uuid4().hex}
    return _person_form(request, typed, [])


@router.post("/admin/people/new")
def add_person(request: Request, principal: PageAdmin, name: PersonField = "", role: PersonField = "",
               party_id: PersonField = "", use: PersonField = "", key: PersonField = ""):  # fmt: skip
    typed = {"name": name, "role": role, "party_id": party_id, "use": use, "key": key}
    body, errors = _read_person(typed)
    if errors:
        return _person_form(request, typed, errors)
    try:
        write = form_write(request, key or None, body.model_dump(mode="json"))
        answer = admin_api.create_user(body, request, write, principal)
    except LedgerError as error:
        if error.reason not in REFUSALS:
            raise
        field, text = REFUSALS[error.reason]
        return _person_form(request, typed, [(field, message(text))], 409)
    made = json.loads(answer.body)
    if answer.status_code == 202:
        return render(request, "admin_proposed.html", 202, command=made, role_names=ROLE_NAMES)
    return _made(request, made)


def _read_person(typed: dict[str, str]) -> tuple[UserCreate | None, list]:
    """The user the form asks for, as the API's `UserCreate`, or the fields' messages."""
    errors = []
    if typed["use"] not in dict(USES):
        errors.append(("use", message(FIELD_MESSAGES["use"])))
    party = typed["party_id"] if typed["role"] == "enterprise" else ""
    if typed["role"] == "enterprise" and not party:
        errors.append(("party_id", message(FIELD_MESSAGES["party_id"])))
    try:
        body = UserCreate(name=typed["name"].strip(), role=typed["role"], party_id=party or None,
                          pages=typed["use"] != "machine")  # fmt: skip
    except ValidationError as error:
        fields = dict.fromkeys(str(e["loc"][0]) for e in error.errors() if e["loc"])
        errors += [(f, message(FIELD_MESSAGES.get(f, FIELD_MESSAGES["name"]))) for f in fields if f in FIELD_MESSAGES]
        return None, errors or [("name", message(FIELD_MESSAGES["name"]))]
    return (None, errors) if errors else (body, [])


def _person_form(request: Request, typed: dict, errors: list, status: int | None = None):
    with request.app.state.db.read() as connection:
        parties = books.list_parties(connection, only_party=None, after=0, limit=MAX_PARTIES_OFFERED)
    return render(request, "admin_person_form.html", status or (422 if errors else 200), typed=typed,
                  errors=errors, error_of=dict(errors), roles=ROLES, uses=USES,
                  parties=[(p["id"], p) for p in parties])  # fmt: skip


def _made(request: Request, made: dict):
    """The new user's token and, for a person, the setup link: shown this once, never again."""
    link = made["setup_code"] and f"{str(request.base_url).rstrip('/')}/setup?code={made['setup_code']}"
    hours = int(people.SETUP_CODE_VALID.total_seconds() // 3600)
    return render(request, "admin_person_made.html", 201, made=made, setup_link=link, hours=hours,
                  role_names=ROLE_NAMES)  # fmt: skip


@router.get("/admin/people/{user_id}")
def person_page(request: Request, principal: PageAdmin, user_id: IdPath):
    with request.app.state.db.read() as connection:
        person = users.get_user(connection, user_id)
        party = person["party_id"] and books.get_party(connection, person["party_id"])
    return render(request, "admin_person.html", person=person, party=party, role_names=ROLE_NAMES,
                  key=uuid.uuid4().hex, revoked=bool(request.query_params.get("revoked")))  # fmt: skip


@router.post("/admin/people/{user_id}/revoke")
def revoke_person(request: Request, principal: PageAdmin, user_id: IdPath, key: PersonField = ""):
    """The API's revocation: the token stops working, every session of the person ends."""
    admin_api.revoke_user(user_id, request, form_write(request, key or None, {"user_id": user_id}), principal)
    return RedirectResponse(f"/admin/people/{user_id}?revoked=1", 303)


# --- admin commands -----------------------------------------------------------------------------------


CommandStatus = Annotated[Literal["pending", "approved", "rejected", "withdrawn"], Query()]


@router.get("/admin/commands")
def commands(request: Request, principal: PageAdmin, page: PageDep, status: CommandStatus = "pending"):
    return _commands_page(request, principal, page.after, page.limit, status, None)


def _commands_page(request: Request, principal: Principal, after: int, limit: int, status: str,
                   refusal: str | None, http_status: int = 200):  # fmt: skip
    with request.app.state.db.read() as connection:
        rows = admin_commands.list_commands(connection, status=status, after=after, limit=limit)
        makers = {u["id"]: u["name"] for u in users.list_users(connection)}
    more = next_cursor(rows, PageRequest(after=after, limit=limit))
    return render(request, "admin_commands.html", http_status, commands=rows, status=status, makers=makers,
                  statuses=COMMAND_STATUSES, refusal=refusal, more=more, role_names=ROLE_NAMES,
                  key=uuid.uuid4().hex)  # fmt: skip


DECISIONS = {"approval": commands_api.approve, "rejection": commands_api.reject, "withdrawal": commands_api.withdraw}


@router.post("/admin/commands/{command_id}/{decision}")
def decide(request: Request, principal: PageAdmin, command_id: IdPath,
           decision: Literal["approval", "rejection", "withdrawal", "token"], key: PersonField = ""):  # fmt: skip
    write = form_write(request, key or None, {"command_id": command_id, "decision": decision})
    try:
        if decision == "token":
            return _made(request, json.loads(commands_api.take_token(command_id, request, write, principal).body))
        DECISIONS[decision](command_id, request, write, principal)
    except LedgerError as error:
        if error.reason not in COMMAND_REFUSALS:
            raise
        status = 403 if error.reason in (Rejection.same_user_approval, Rejection.forbidden) else 409
        return _commands_page(request, principal, 0, DEFAULT_LIMIT, "pending", COMMAND_REFUSALS[error.reason], status)
    return RedirectResponse("/admin/commands" + ("?status=approved" if decision == "approval" else ""), 303)
