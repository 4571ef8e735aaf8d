"""The Thai fiscal calendar: Buddhist Era years, fiscal years and monthly periods.

The Thai government fiscal year runs from 1 October to 30 September and is named by the
Buddhist Era year in which it ends (BE = CE + 543): FY2567 is 2023-10-01 .. 2024-09-30.
A period is one calendar month; a book closes periods in order, so a book's closed state is one
date, `closed_through`, the last day of the last closed period (invariant 6: nothing is dated on
or before it).

>>> fiscal_year_of(date(2023, 10, 1)), fiscal_year_of(date(2024, 9, 30))
(2567, 2567)
>>> format_thai_date(date(2024, 9, 30)), format_date(date(2024, 9, 30), "en")
('30 ก.ย. 2567', '30 Sep 2024')

A person typing a date on a page may write it either way (`parse_page_date`): ISO 8601 (CE) or
the Thai d/m/yyyy with a Buddhist Era year.

A date a client sends (a body field, a query parameter, an import line, a command's option) is
read by one parser, `parse_client_date`: an ISO `YYYY-MM-DD` string and nothing else (no Unix
timestamp, no time of day), inside one plausibility window, `EARLIEST_DATE` .. `LATEST_DATE`
(1900-01-01 .. 2199-12-31: the fund's oldest records are decades younger than the first, a
fifty-year loan disbursed on the last still has a schedule Python and both databases can hold, and
the window ends well before the Buddhist Era years of today). A year that reads as a Buddhist Era
year of the window (2400 .. 2742) was meant as one, typed by a Thai hand: it is refused with the
Common Era date it probably meant.

>>> parse_client_date("2024-06-01")
datetime.date(2024, 6, 1)
>>> parse_client_date("2567-06-01")
Traceback (most recent call last):
...
ledger.errors.LedgerError: buddhist_era_year: 2567-06-01 looks like a Buddhist-era date; did you mean 2024-06-01?
>>> parse_client_date("9999-12-31")
Traceback (most recent call last):
...
ledger.errors.LedgerError: date_out_of_range: 9999-12-31 is outside 1900-01-01 .. 2199-12-31
>>> parse_client_date(1717200000)
Traceback (most recent call last):
...
ledger.errors.LedgerError: malformed_date: a date is a string YYYY-MM-DD, like 2024-06-01; not 1717200000
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

from ledger.errors import LedgerError, Rejection

BE_OFFSET = 543
FISCAL_YEAR_FIRST_MONTH = 10
THAI_MONTHS_SHORT = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
# Not calendar.month_abbr: that follows the process's locale.
ENGLISH_MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
FIRST_BE_LOOKING_YEAR = 2400  # no Common Era date this ledger keeps comes near it
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Fiscal years, named by their Buddhist Era year: FY2500 (1956-57) .. FY2700 (2156-57), inside the window
FISCAL_YEARS = range(2500, 2701)


def be_year(ce_year: int) -> int:
    return ce_year + BE_OFFSET


def parse_client_date(text: object) -> date:
    """The date a client means by `text`, an ISO `YYYY-MM-DD` string inside the window; anything
    else is refused with its reason: `malformed_date`, `buddhist_era_year`, `date_out_of_range`."""
    if isinstance(text, date) and not isinstance(text, datetime):
        text = text.isoformat()  # a date made in Python meets the same window as one typed
    match = _ISO_DATE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        shown = str(text)[:40] if isinstance(text, str | int | float) else type(text).__name__
        raise LedgerError(Rejection.malformed_date, f"a date is a string YYYY-MM-DD, like 2024-06-01; not {shown}")
    year, month, day = map(int, match.groups())
    if FIRST_BE_LOOKING_YEAR <= year <= be_year(LATEST_DATE.year):
        meant = _meant(year, month, day)
        raise LedgerError(Rejection.buddhist_era_year, f"{text} looks like a Buddhist-era date{meant}")
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise LedgerError(Rejection.malformed_date, f"{text} is not a day of the calendar") from None
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        raise LedgerError(Rejection.date_out_of_range, f"{text} is outside {EARLIEST_DATE} .. {LATEST_DATE}")
    return parsed


def _meant(be: int, month: int, day: int) -> str:
    try:
        return f"; did you mean {date(be - BE_OFFSET, month, day)}?"
    except ValueError:  # not a day of that year either
        return "; dates are Common Era (CE = BE - 543)"


def check_fiscal_year(fiscal_year_be: int) -> None:
    """Refuse a fiscal year outside `FISCAL_YEARS`, naming the Buddhist Era year meant when it
    reads as a Common Era one.

    >>> check_fiscal_year(2024)
    Traceback (most recent call last):
    ...
    ledger.errors.LedgerError: fiscal_year_out_of_range: fiscal year 2024 is outside 2500-2700: fiscal years \
are named by the Buddhist Era year in which they end; the one ending in 2024 is 2567
    """
    if fiscal_year_be in FISCAL_YEARS:
        return
    hint = ""
    if EARLIEST_DATE.year <= fiscal_year_be <= LATEST_DATE.year:
        hint = f"; the one ending in {fiscal_year_be} is {be_year(fiscal_year_be)}"
    raise LedgerError(
        Rejection.fiscal_year_out_of_range,
        f"fiscal year {fiscal_year_be} is outside {FISCAL_YEARS.start}-{FISCAL_YEARS.stop - 1}: fiscal years are "
        f"named by the Buddhist Era year in which they end{hint}",
    )


def fiscal_year_of(day: date) -> int:
    """The Buddhist Era name of the fiscal year that contains `day`."""
    ends_in_ce = day.year + 1 if day.month >= FISCAL_YEAR_FIRST_MONTH else day.year
    return be_year(ends_in_ce)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True, order=True)
class Period:
    """One calendar month of a book."""

    year: int  # CE
    month: int

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return month_end(self.start)

    @property
    def fiscal_year(self) -> int:
        return fiscal_year_of(self.start)

    @property
    def name(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def period_of(day: date) -> Period:
    return Period(day.year, day.month)


def fiscal_year_bounds(fiscal_year_be: int) -> tuple[date, date]:
    ends_in_ce = fiscal_year_be - BE_OFFSET
    return date(ends_in_ce - 1, FISCAL_YEAR_FIRST_MONTH, 1), date(ends_in_ce, 9, 30)


def periods_of_fiscal_year(fiscal_year_be: int) -> list[Period]:
    first, _ = fiscal_year_bounds(fiscal_year_be)
    months = [(first.year, first.month + i) for i in range(12)]
    return [Period(y + (m - 1) // 12, (m - 1) % 12 + 1) for y, m in months]


def is_closed(day: date, closed_through: date | None) -> bool:
    return closed_through is not None and day <= closed_through


def format_thai_date(day: date) -> str:
    return f"{day.day} {THAI_MONTHS_SHORT[day.month - 1]} {be_year(day.year)}"


def format_date(day: date, lang: str) -> str:
    """A date as a reader sees it on a statement: Buddhist Era in Thai, Common Era in English."""
    if lang == "th":
        return format_thai_date(day)
    return f"{day.day} {ENGLISH_MONTHS_SHORT[day.month - 1]} {day.year}"


def format_month(day: date, lang: str, *, with_year: bool = True) -> str:
    """The month of `day` as a reader names it: `มิ.ย. 2567` in Thai, `Jun 2024` in English.

    >>> format_month(date(2024, 6, 30), "th"), format_month(date(2024, 6, 30), "en", with_year=False)
    ('มิ.ย. 2567', 'Jun')
    """
    thai = lang == "th"
    name = (THAI_MONTHS_SHORT if thai else ENGLISH_MONTHS_SHORT)[day.month - 1]
    return f"{name} {be_year(day.year) if thai else day.year}" if with_year else name


_THAI_FORM = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
# A person may mean a date of the one window, EARLIEST_DATE .. LATEST_DATE (BE 2443 .. 2742); a
# d/m/yyyy year inside the window read as CE looks CE (2024), one above it nothing at all.
MAX_PAGE_DATE_LENGTH = 20


class PageDateError(LedgerError):
    """A date typed on a page, refused; `meant` is the date it probably means, if there is one."""

    def __init__(self, reason: Rejection, detail: str, meant: date | None = None) -> None:
        super().__init__(reason, detail)
        self.meant = meant


def page_form(day: date) -> str:
    """The Thai way of typing a date, d/m/yyyy in the Buddhist Era: `page_form(date(2024, 6, 30))`
    is '30/06/2567'."""
    return f"{day.day:02d}/{day.month:02d}/{be_year(day.year)}"


def parse_page_date(text: str) -> date:
    """A date as a person types it on a page: `2024-06-30` (ISO, Common Era) or `30/06/2567`
    (day/month/year in the Buddhist Era, Thai digits too). A d/m/yyyy date whose year looks
    Common Era is refused, naming the Buddhist Era form it probably means. The API's dates are
    ISO only; this is for the pages.

    >>> parse_page_date("30/06/2567"), parse_page_date("2024-06-30"), parse_page_date(" ๓๐/๖/๒๕๖๗ ")
    (datetime.date(2024, 6, 30), datetime.date(2024, 6, 30), datetime.date(2024, 6, 30))
    >>> parse_page_date("30/06/2024")
    Traceback (most recent call last):
    ledger.calendar.PageDateError: date_looks_common_era: 30/06/2024 is CE: in the Buddhist Era 30/06/2567
    >>> parse_page_date("31/02/2567")
    Traceback (most recent call last):
    ledger.calendar.PageDateError: date_unreadable: '31/02/2567' is no date: write 30/06/2567 or 2024-06-30
    >>> parse_page_date("tomorrow")
    Traceback (most recent call last):
    ledger.calendar.PageDateError: date_unreadable: 'tomorrow' is no date: write 30/06/2567 or 2024-06-30
    """
    cleaned = text.strip().translate(THAI_DIGITS)[:MAX_PAGE_DATE_LENGTH]
    if iso := _ISO_DATE.fullmatch(cleaned):
        year, month, day = map(int, iso.groups())
        return _checked(year, month, day, text)
    if thai := _THAI_FORM.fullmatch(cleaned):
        day, month, year = map(int, thai.groups())
        if EARLIEST_DATE.year <= year <= LATEST_DATE.year:
            meant = _checked(year, month, day, text)
            raise PageDateError(Rejection.date_looks_common_era,
                                f"{cleaned} is CE: in the Buddhist Era {page_form(meant)}", meant)
        return _checked(year - BE_OFFSET, month, day, text)
    raise _unreadable(text)


def _checked(year: int, month: int, day: int, text: str) -> date:
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        raise _unreadable(text)
    try:
        return date(year, month, day)
    except ValueError:
        raise _unreadable(text) from None


def _unreadable(text: str) -> PageDateError:
    shown = text.strip()[:MAX_PAGE_DATE_LENGTH]
    return PageDateError(Rejection.date_unreadable, f"{shown!r} is no date: write 30/06/2567 or 2024-06-30")
