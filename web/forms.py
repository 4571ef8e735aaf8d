"""Reading what a person typed into a form: each reader answers the value and a message to
show beside the field (None when it was understood), never raises."""

import re
import uuid
from datetime import date

from ledger.calendar import THAI_DIGITS, PageDateError, page_form, parse_page_date
from ledger.errors import LedgerError, Rejection
from ledger.money import parse_amount
from web.i18n import N_

DATE_MESSAGES = {
    Rejection.date_unreadable: N_("Write the date as day/month/year in the Buddhist Era, like 30/06/2567."),
    Rejection.date_looks_common_era: N_("This year looks like a Common Era year. In the Buddhist Era it is %(meant)s."),
}


def read_date(text: str) -> tuple[date | None, dict | None]:
    """The date typed (see ledger.calendar.parse_page_date), or the message saying why not: a
    dict of the message id and its values, for the template to translate."""
    if not text.strip():
        return None, message(N_("Enter a date."))
    try:
        return parse_page_date(text), None
    except PageDateError as error:
        values = {"meant": page_form(error.meant)} if error.meant else {}
        return None, message(DATE_MESSAGES[error.reason], **values)


_GROUPED_AMOUNT = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,2})?")
AMOUNT_MESSAGES = {
    Rejection.malformed_amount: N_("Write the amount in baht, like 1,500.00 or 1500."),
    Rejection.amount_too_large: N_("This amount is too large."),
    Rejection.amount_must_be_positive: N_("The amount must be more than zero."),
}


def read_amount(text: str) -> tuple[int | None, dict | None]:
    """Baht as a person types them: `1,500.00`, `1500` or `1500.5` (Thai digits too), as
    satang more than zero; commas only where thousands are grouped."""
    typed = text.strip().translate(THAI_DIGITS)
    if not typed:
        return None, message(N_("Enter an amount."))
    if _GROUPED_AMOUNT.fullmatch(typed):
        typed = typed.replace(",", "")
    try:
        satang = parse_amount(typed)
    except LedgerError as error:
        return None, message(AMOUNT_MESSAGES.get(error.reason, AMOUNT_MESSAGES[Rejection.malformed_amount]))
    if satang <= 0:
        return None, message(AMOUNT_MESSAGES[Rejection.amount_must_be_positive])
    return satang, None


def message(message_id: str, **values) -> dict:
    """A message for a template to translate: its id and the values it takes."""
    return {"message": message_id, "values": values}


def new_key() -> str:
    """The idempotency key a form is given when first shown: sent twice, it is one write."""
    return uuid.uuid4().hex
