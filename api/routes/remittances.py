"""The monthly remittance to CODI and reconciliation across tiers (issue 18, items 4 and 6).

POST /v1/organisations/{organisation_id}/remittances: an officer records an organisation's
payment to CODI, one operation across two books (`store.remittances`). GET
.../remittances/{month}: the month with CODI (due, collected from members, shortfall, from the
reserve and the margin, arrears). GET /v1/reports/tier-reconciliation: CODI's receivables from
each organisation against its payables to CODI (`store.tier_reconciliation`), for officers,
auditors and admins, as JSON or CSV.
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BeforeValidator, Field

from api.context import ClockDep, LoanOfficer, ReadDep, role
from api.formats import CsvFormatDep
from api.render import csv_response
from api.schemas import AmountText, ClientDate, IdPath, Strict, client_month
from api.writes import Outcome, Write, perform
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount, parse_amount
from store import remittances, tier_reconciliation
from store.remittances import RemittanceAsked
from store.users import Principal

router = APIRouter(prefix="/v1")
TierReader = Annotated[Principal, Depends(role(frozenset({"admin", "officer", "auditor"})))]
Month = Annotated[str, BeforeValidator(client_month), Field(examples=["2024-05"])]
CSV = {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv or Accept: text/csv"}


class RemittanceCreate(Strict):
    codi_loan_id: int = Field(ge=1)
    month: Month
    on: ClientDate
    amount: AmountText
    from_reserve: AmountText | None = Field(None, description="What of the amount the reserve covers")


@router.post("/organisations/{organisation_id}/remittances", status_code=201, tags=["tiers"])
def remit(organisation_id: IdPath, body: RemittanceCreate, request: Request, write: Write, principal: LoanOfficer,
          clock: ClockDep) -> Response:  # fmt: skip
    """Record the organisation's payment to CODI for a month: a repayment of CODI's loan with
    CODI's allocation, and in the organisation's book Dr 2300 / Dr 2310 / Dr 5100 / Cr 1100 from
    that allocation (and Dr 3200 / Cr 3300 for what the reserve covers), both or neither. Needs an
    Idempotency-Key."""
    asked = RemittanceAsked(body.codi_loan_id, _month_start(body.month), body.on, parse_amount(body.amount),
                            parse_amount(body.from_reserve or "0"))  # fmt: skip
    today = clock.today()

    def work(connection, now):
        row = remittances.remit(connection, organisation_id, asked, today=today, user_id=principal.user_id, now=now)
        entries = [row["codi_entry_id"], row["org_entry_id"], *filter(None, [row["reserve_entry_id"]])]
        return Outcome(_public(row), f"remittance:{row['id']}", 201, [*entries, *row["more_entry_ids"]])

    return perform(request, write, principal, "organisation.remit", work, needs_key=True)


@router.get("/organisations/{organisation_id}/remittances/{month}", tags=["tiers"])
def month_with_codi(organisation_id: IdPath, month: str, connection: ReadDep, principal: TierReader) -> dict:
    """The organisation's month with CODI: CODI's instalments due, what members repaid, the
    shortfall, what was remitted, from the reserve and from the margin, and the arrears left."""
    return _amounts(remittances.month_of(connection, organisation_id, _month_start(_checked_month(month))))


@router.get("/reports/tier-reconciliation", responses={200: CSV}, tags=["reports"])
def tier_reconciliation_report(format: CsvFormatDep, connection: ReadDep, principal: TierReader):
    """For every organisation with its own book and CODI loans: CODI's principal and interest
    receivable against the organisation's 2300 and 2310 payables, the differences, and `differs`."""
    lines = [_amounts(line) for line in tier_reconciliation.reconciliation(connection)]
    if format == "csv":
        columns = ["organisation_id", "book_id", "codi_principal", "org_principal", "principal_difference",
                   "codi_interest", "org_interest", "interest_difference", "written_off", "differs"]  # fmt: skip
        return csv_response(columns, [tuple(line[c] for c in columns) for line in lines], "tier-reconciliation.csv")
    return {"organisations": lines, "differing": sum(line["differs"] for line in lines)}


def _checked_month(text: str) -> str:
    try:
        return client_month(text)
    except ValueError:
        raise LedgerError(Rejection.malformed_date, f"a month is YYYY-MM, like 2024-05; not {text[:40]}") from None


def _month_start(month: str) -> date:
    return date.fromisoformat(f"{month}-01")


def _amounts(row: dict) -> dict:
    """`row` with its satang as amounts (`x_satang` becomes `x`), its lines likewise."""
    out = {}
    for name, value in row.items():
        if name.endswith("_satang"):
            out[name.removesuffix("_satang")] = format_amount(value)
        elif name == "loans":
            out[name] = [_amounts(line) for line in value]
        else:
            out[name] = value
    return out


def _public(row: dict) -> dict:
    kept = ("id", "organisation_party_id", "book_id", "codi_loan_id", "effective_date", "amount_satang",
            "principal_satang", "interest_satang", "penalty_satang", "from_reserve_satang", "loan_tx_id",
            "codi_entry_id", "org_entry_id", "reserve_entry_id")  # fmt: skip
    return {**_amounts({k: row[k] for k in kept}), "month": f"{row['month_start']:%Y-%m}"}
