"""Reading what a person typed into a form: each reader answers the value and a message to
show beside the field (None when it was understood), never raises."""

from datetime import date

from ledger.calendar import PageDateError, page_form, parse_page_date
from ledger.errors import Rejection
from web.i18n import N_

DATE_MESSAGES = {
    Rejection.date_unreadable: N_("Write the date as day/month/year in the Buddhist Era, like 30/06/2567."),
    Rejection.date_looks_common_era: N_("This year looks like a Common Era year. In the Buddhist Era it is %(meant)s."),
}


def read_date(text: str) -> tuple[date | None, dict | None]:
    """The date typed (see ledger.calendar.parse_page_date), or the message saying why not: a
    dict of the message id and its values, for the template to translate."""
    if not text.strip():
        return None, {"message": N_("Enter a date."), "values": {}}
    try:
        return parse_page_date(text), None
    except PageDateError as error:
        values = {"meant": page_form(error.meant)} if error.meant else {}
        return None, {"message": DATE_MESSAGES[error.reason], "values": values}
