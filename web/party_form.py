"""The party form of the officer's pages: what a person typed, read into the API's own
`PartyCreate` (registering) or `PartyUpdate` (editing), so that the page refuses exactly what
the API refuses; each refusal is a message beside the field it is about.

The form keeps every field as typed (strings), with the idempotency key it was given when first
shown, so that a refused form shows them again and a form sent twice registers one party.
"""

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError

from api.schemas import PartyCreate, PartyUpdate
from ledger.calendar import THAI_DIGITS
from ledger.errors import LedgerError, Rejection
from ledger.parties import KIND_LABELS, REGION_LABELS
from web.forms import message
from web.i18n import N_

FIELDS = ("kind", "name_th", "name_en", "region", "province", "district", "centre_id", "member_of", "national_id",
          "contact", "key")  # fmt: skip
OPTIONAL = ("name_en", "region", "province", "district", "centre_id", "member_of", "contact")  # empty means none
MAX_TYPED = 300
# What the API refuses in a field, said beside it: one message a field covers every way it fails.
FIELD_MESSAGES = {
    "kind": N_("Choose what kind of party this is."),
    "name_th": N_("Enter the name in Thai, at most 200 characters."),
    "name_en": N_("The English name may have at most 200 characters."),
    "region": N_("Choose a region from the list."),
    "province": N_("The province may have at most 80 characters."),
    "district": N_("The district may have at most 80 characters."),
    "centre_id": N_("Choose a centre from the list."),
    "member_of": N_("Type the number of the organisation the member belongs to, as its page shows it."),
    "national_id": N_("A Thai identification number has 13 digits, the last one a check digit. Check the number."),
    "contact": N_("The contact may have at most 200 characters, without special characters."),
}
REFUSALS = {
    Rejection.duplicate_national_id: ("national_id", N_("Another party has this identification number already.")),
    Rejection.not_found: ("centre_id", N_("Choose a centre from the list.")),
    Rejection.invalid_request: ("centre_id", N_("A party cannot be its own centre.")),
    Rejection.invalid_member_of: ("member_of", N_("A member belongs to a savings group, housing cooperative, network, "
                                                  "community enterprise or welfare fund: type its number. A party of "
                                                  "another kind belongs to none: leave it empty.")),
    Rejection.organisation_has_members: ("kind", N_("It has members: it stays a kind that people belong to.")),
    Rejection.idempotency_key_reused: ("name_th", N_("This form was saved already. Look for the party in the list, "
                                                     "or start a new form.")),  # fmt: skip
}


async def _typed(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name, ""))[:MAX_TYPED] for name in FIELDS}


Typed = Annotated[dict[str, str], Depends(_typed)]


def blank() -> dict[str, str]:
    """A new form, with a new idempotency key."""
    return {**dict.fromkeys(FIELDS, ""), "key": uuid.uuid4().hex}


def of_party(party: dict[str, Any]) -> dict[str, str]:
    """The edit form of a party as it is; its national ID is typed again only to change it."""
    typed = {name: "" if party.get(name) is None else str(party[name]) for name in FIELDS}
    return {**typed, "national_id": "", "key": uuid.uuid4().hex}


def _values(typed: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {name: typed[name].strip() for name in FIELDS if name != "key"}
    # a number as people write it: Thai digits, spaces or dashes between the groups
    values["national_id"] = "".join(c for c in values["national_id"].translate(THAI_DIGITS) if c not in " -")
    for name in OPTIONAL:
        values[name] = values[name] or None
    return values


def read_new(typed: dict[str, str]) -> tuple[PartyCreate | None, list[tuple[str, dict]]]:
    """The party to register, or the messages of the fields the API would refuse."""
    values = _values(typed)
    values["national_id"] = values["national_id"] or None
    return _validated(PartyCreate, values)


def read_changes(typed: dict[str, str]) -> tuple[PartyUpdate | None, list[tuple[str, dict]]]:
    """The change of a party: every field as typed, but the national ID only when one is typed."""
    values = _values(typed)
    if not values["national_id"]:
        del values["national_id"]
    return _validated(PartyUpdate, values)


def _validated(model, values: dict[str, Any]):
    try:
        return model.model_validate(values), []
    except ValidationError as error:
        fields = dict.fromkeys(str(e["loc"][0]) if e["loc"] else "kind" for e in error.errors())
        return None, [(name, message(FIELD_MESSAGES.get(name, FIELD_MESSAGES["kind"]))) for name in fields]


def write_fields(body: PartyCreate | PartyUpdate) -> dict[str, Any]:
    """What the write asks, as its idempotency hash covers it."""
    return body.model_dump(mode="json", exclude_unset=True)


def refusal(error: LedgerError, typed: dict[str, str]) -> tuple[str, dict] | None:
    """A store's refusal as a field's message, or None if it is not about the form (a party
    not found is the centre's or the organisation's that was typed, else not the form's)."""
    if error.reason == Rejection.not_found:
        typed_party = [name for name in ("centre_id", "member_of") if typed[name].strip()]
        if not typed_party:
            return None
        if typed_party == ["member_of"]:
            return "member_of", message(FIELD_MESSAGES["member_of"])
    found = REFUSALS.get(error.reason)
    return found and (found[0], message(found[1]))


def choices(lang: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """The kinds and regions to choose from, in the page's language: the words of ledger.parties,
    the same the reports and the export use."""
    return {
        "kinds": tuple((kind.value, label.in_language(lang)) for kind, label in KIND_LABELS.items()),
        "regions": tuple((region.value, label.in_language(lang)) for region, label in REGION_LABELS.items()),
    }
