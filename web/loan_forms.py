"""The forms of a loan's operations (web.routes.loan_operations): what each asks, read from what
a person typed into the API's own request body, and where a refusal is shown.

A form keeps every field as typed (strings), so that a refused form shows them again and a check
step carries them on to the save in hidden fields, with the idempotency key the form was given
when it was first shown. Reading answers the body's values, or the fields' messages; a refusal
of the operation itself is shown beside the field it is about, in the words of the API's
problem title for its reason (api.problem_text.TITLES: one Thai text for the API and the pages).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from api.problem_text import TITLES
from ledger.calendar import THAI_DIGITS
from ledger.errors import LedgerError, Rejection
from ledger.loans import loan_rate
from ledger.money import format_amount
from web.forms import message, new_key, read_amount, read_date
from web.i18n import N_

MAX_TYPED = 600  # a field as typed; the API's own limits are checked when it is read
FORM_ONLY = ("key", "step", "previewed")
RATE_MESSAGES = {
    Rejection.malformed_rate: N_("Write a percentage a year, like 4 or 3.5."),
    Rejection.rate_out_of_range: N_("A rate is from 0 to 100 percent a year, with at most 6 decimal places."),
}

# ledger.charge_off.ChargeOffReason, in the words of the pages
CHARGE_OFF_REASONS = (
    ("prolonged_arrears", N_("Long in arrears")),
    ("group_dissolved", N_("The group broke up or stopped working")),
    ("disaster", N_("Disaster")),
    ("fraud", N_("Fraud")),
    ("litigation", N_("Pursued in court")),
    ("other", N_("Another reason (say why in the note)")),
)


@dataclass(frozen=True)
class Field:
    """A field of a form, named as the API's body names it. `kind` says how it is read: date,
    amount, rate, count, text or choice (one of `choices`: (value, label) pairs)."""

    name: str
    label: str
    kind: str
    required: bool = True
    hint: str | None = None
    max_length: int = 150
    choices: tuple[tuple[str, str], ...] = ()


def blank(fields: tuple[Field, ...], today_typed: str) -> dict[str, str]:
    """A new form: dates today, choices their first, and a new idempotency key."""
    typed = {f.name: today_typed if f.kind == "date" else f.choices[0][0] if f.choices else "" for f in fields}
    return {**typed, "key": new_key(), "step": "", "previewed": ""}


async def _sent(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(value)[:MAX_TYPED] for name, value in form.items()}


Sent = Annotated[dict[str, str], Depends(_sent)]  # what a form sent, every field as typed


def typed_of(sent: dict[str, str], fields: tuple[Field, ...]) -> dict[str, str]:
    """What the form sent for `fields` (and its key, step and what was previewed), as typed."""
    return {name: sent.get(name, "") for name in (*(f.name for f in fields), *FORM_ONLY)}


def read(fields: tuple[Field, ...], typed: dict[str, str]) -> tuple[dict, list[tuple[str, dict]]]:
    """The values the form asks for (None for an optional field left empty), or the messages of
    the fields that could not be read."""
    values, errors = {}, []
    for field in fields:
        text = typed[field.name].strip()
        if not text and not field.required:
            values[field.name] = None
            continue
        values[field.name], error = _read(field, text)
        errors += [(field.name, error)] if error else []
    return values, errors


def _read(field: Field, text: str) -> tuple[object, dict | None]:
    if field.kind == "date":
        return read_date(text)
    if field.kind == "amount":
        return read_amount(text)
    if field.kind == "rate":
        return read_rate(text)
    if field.kind == "count":
        if not text.isdigit() or int(text) > 1200:
            return None, message(N_("Write a whole number from 0 to 1200."))
        return int(text), None
    if field.kind == "choice":
        return (text, None) if text in {value for value, _ in field.choices} else (None, message(N_("Choose one.")))
    if not text or len(text) > field.max_length:
        return None, message(N_("Write why, in at most %(count)s letters."), count=field.max_length)
    return text, None


def read_rate(text: str) -> tuple[Decimal | None, dict | None]:
    """A loan's rate in percent a year as typed (Thai digits too), as the ledger reads it."""
    typed = text.strip().translate(THAI_DIGITS)
    try:
        return loan_rate(typed), None
    except LedgerError as error:
        return None, message(RATE_MESSAGES.get(error.reason, RATE_MESSAGES[Rejection.malformed_rate]))


def body_of(schema: type[BaseModel], fields: tuple[Field, ...], values: dict) -> BaseModel:
    """The API's request body of the values read: amounts in baht as the API writes them."""
    body = {}
    for field in fields:
        value = values[field.name]
        if value is not None:
            body[field.name] = format_amount(value) if field.kind == "amount" else _api_value(value)
    return schema(**body)


def _api_value(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value  # rates as the API writes them


def checked_body(schema, fields, values) -> tuple[BaseModel | None, list[tuple[str, dict]]]:
    """`body_of`, or the messages of the fields the API's schema refuses (text it cannot store)."""
    try:
        return body_of(schema, fields, values), []
    except ValidationError as error:
        names = {f.name for f in fields}
        found = [str(e["loc"][0]) for e in error.errors() if e["loc"] and str(e["loc"][0]) in names]
        return None, [(name, message(TITLES[Rejection.invalid_text])) for name in found or [fields[0].name]]


def refusal(error: LedgerError, fields_by_reason: dict[str, str], default: str) -> tuple[str, dict] | None:
    """The field and message of an operation's refusal the person can put right, else None (a
    refusal that is no fault of the form: not found, forbidden)."""
    if error.reason in (Rejection.not_found, Rejection.forbidden) or error.reason not in TITLES:
        return None
    return fields_by_reason.get(error.reason, default), message(TITLES[error.reason])

