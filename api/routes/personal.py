"""A party's data in one request: data portability under Thailand's PDPA."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import SQLModel

from api.context import ClockDep, ReadDep, Reader
from api.personal import shown
from api.render import entry_body
from api.routes.registry import party_body
from api.schemas import EntryPublic, IdPath, PartyPublic
from store import books, personal

router = APIRouter(prefix="/v1")


class PartyExport(BaseModel):
    exported_at: datetime
    party: PartyPublic
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
        "records": {name: [shown(tables[name], row, principal) for row in rows] for name, rows in records.items()},
        "entries": [entry_body(entry) for entry in entries],
    }
