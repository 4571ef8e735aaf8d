"""The fund officer's small forms (a purchase, an impairment, a rule, a settlement, ...): each
described once as its fields, rendered by the partial `_office_form.html`, read back into
values, and posted as the API's own write.

What a person typed is kept as typed (strings), so that a refused form shows it again, with the
idempotency key the form was given when it was shown (a second tap writes nothing more). A
field's value is read by its kind, the way the API reads the same field (`web.forms` for amounts
and dates: Buddhist Era accepted); a refusal of the operation is shown beside the field it is
about in the words of the API's reason (`api.problem_text.TITLES`, translated by the page).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from fastapi import Request

from api.problem_text import TITLES
from ledger.calendar import THAI_DIGITS
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount, parse_rate
from web.forms import message, new_key, read_amount, read_date
from web.i18n import N_

MAX_TEXT = 500  # a reason or a note, as the API's


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str  # amount, date, whole (a count of shares), percent, text, party (an id), choice, flag (yes/no)
    label: str  # a message id
    hint: str | None = None
    optional: bool = False
    options: tuple[tuple[str, str], ...] = ()  # a choice's (value, label message id)


@dataclass(frozen=True)
class OfficeForm:
    name: str  # the form's id on its page, and what the POST names
    heading: str
    button: str
    fields: tuple[FormField, ...]
    refusals: Mapping[str, str] = field(default_factory=dict)  # a reason -> the field it is about

    def blank(self, **values: str) -> dict[str, str]:
        """A new form: empty fields (or `values`), the first option of a choice, a new key."""
        first = {f.name: f.options[0][0] for f in self.fields if f.options}
        return {**{f.name: "" for f in self.fields}, **first, **values, "key": new_key()}

    def read(self, typed: Mapping[str, str]) -> tuple[dict, list[tuple[str, dict]]]:
        """The values the form asks for, or the messages of the fields that could not be read."""
        values, errors = {}, []
        for one in self.fields:
            text = typed.get(one.name, "").strip()
            if not text and one.optional:
                values[one.name] = None
                continue
            value, error = READERS[one.kind](text, one)
            values[one.name] = value
            errors += [(one.name, error)] if error else []
        return values, errors

    def api_values(self, values: Mapping) -> dict:
        """The values as the API's request body writes them (baht and percentages as decimal
        strings), leaving out the optional fields left empty."""
        kinds = {f.name: f.kind for f in self.fields}
        wire = {"amount": format_amount, "percent": str, "flag": lambda v: v == "yes"}
        return {name: wire.get(kinds[name], lambda v: v)(value) for name, value in values.items() if value is not None}

    def refusal(self, error: LedgerError) -> tuple[str, dict]:
        """The field a refusal is about (the first field unless the form names another) and the
        API's reason, to translate."""
        where = self.refusals.get(error.reason, self.fields[0].name if self.fields else "key")
        return where, message(TITLES.get(error.reason, N_("Invalid request")))


async def typed_of(request: Request, form: OfficeForm) -> dict[str, str]:
    """What was typed into `form`'s fields (and its key), each cut to a sane length."""
    sent = await request.form()
    return {name: str(sent.get(name, ""))[: MAX_TEXT + 100] for name in (*(f.name for f in form.fields), "key")}


def status_of(error: LedgerError) -> int:
    """A refusal's status as the API's: the same key with other values is a conflict, the maker
    approving their own purchase is forbidden, anything else the person can put right."""
    return {Rejection.idempotency_key_reused: 409, Rejection.same_user_approval: 403}.get(error.reason, 422)


def _whole(text: str, _field: FormField):
    digits = text.translate(THAI_DIGITS).replace(",", "")
    if not digits.isdigit() or not 1 <= int(digits) <= 1_000_000_000:
        return None, message(N_("Write a whole number more than zero, like 200."))
    return int(digits), None


def _percent(text: str, _field: FormField):
    try:
        rate = parse_rate(text.translate(THAI_DIGITS).rstrip("% "))
    except LedgerError:
        return None, message(N_("Write a percentage, like 10 or 2.5."))
    if not Decimal(0) <= rate <= Decimal(100):
        return None, message(N_("Write a percentage from 0 to 100."))
    return rate, None


def _text(text: str, _field: FormField):
    if not text or len(text) > MAX_TEXT:
        return None, message(N_("Write it in words, in at most 500 letters."))
    return text, None


def _choice(text: str, one: FormField):
    if text not in {value for value, _ in one.options}:
        return None, message(N_("Choose one."))
    return text, None


READERS: dict[str, Callable] = {
    "amount": lambda text, _field: read_amount(text),
    "date": lambda text, _field: read_date(text),
    "whole": _whole,
    "party": _whole,
    "percent": _percent,
    "text": _text,
    "choice": _choice,
    "flag": _choice,
}
