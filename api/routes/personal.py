"""A party's data in one request, and its personal data erased: data portability and erasure
under Thailand's PDPA."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import SQLModel

from api.context import Admin, ClockDep, ReadDep, Reader
from api.personal import shown
from api.render import entry_body
from api.routes.registry import party_body, party_outcome
from api.schemas import EntryPublic, IdPath, PartyPublic
from api.writes import Write, perform
from ledger.parties import FIELD_LABELS, kind_label, region_label
from store import books, personal

router = APIRouter(prefix="/v1")


class Words(BaseModel):
    en: str
    th: str


class PartyWords(BaseModel):
    """What the export's machine values say to a person, in English and Thai (ledger.parties)."""

    kind: Words
    region: Words | None
    fields: dict[str, Words] = Field(description="Each field of `party`, by name")


class PartyExport(BaseModel):
    exported_at: datetime
    party: PartyPublic
    words: PartyWords
    records: dict[str, list[dict[str, Any]]] = Field(
        description="Every row about the party, by table: the rows naming it and the rows naming those"
    )
    entries: list[EntryPublic] = Field(description="The journal entries the party may read")


@router.get("/parties/{party_id}/export", response_model=PartyExport, tags=["parties"])
def export_party(party_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep) -> dict:
    """Everything the ledger holds about a party, in one answer (a party's own token may ask for
    its own). National ID numbers are masked but for admins; token hashes are never included."""
    if principal.party_id not in (None, party_id):
        raise books.not_found("party", party_id)
    party, records, entries = personal.party_export(connection, party_id)
    tables = SQLModel.metadata.tables
    return {
        "exported_at": clock.now(),
        "party": party_body(party, principal),
        "words": party_words(party),
        "records": {name: [shown(tables[name], row, principal) for row in rows] for name, rows in records.items()},
        "entries": [entry_body(entry) for entry in entries],
    }


def party_words(party: dict) -> dict:
    def words(label):
        return {"en": label.en, "th": label.th}

    return {
        "kind": words(kind_label(party["kind"])),
        "region": words(region_label(party["region"])) if party["region"] else None,
        "fields": {name: words(label) for name, label in FIELD_LABELS.items()},
    }


@router.post("/parties/{party_id}/erasure", response_model=PartyPublic, tags=["parties"])
def erase_personal_data(party_id: IdPath, request: Request, write: Write, principal: Admin) -> Response:
    """Erase a party's personal data (its national ID, its contact) wherever the ledger holds it:
    the party's row and the saved answers of writes that answered it. What it did stays: its
    books, accounts, entries and loans are the fund's records. Answers the party as it is now."""

    def work(connection, now):
        return party_outcome(personal.erase(connection, party_id), principal, 200)

    return perform(request, write, principal, "party.erase-personal-data", work)
