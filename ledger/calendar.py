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
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date

from ledger.errors import LedgerError, Rejection

BE_OFFSET = 543
FISCAL_YEAR_FIRST_MONTH = 10
THAI_MONTHS_SHORT = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
# Not calendar.month_abbr: that follows the process's locale.
ENGLISH_MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def be_year(ce_year: int) -> int:
    return ce_year + BE_OFFSET


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


_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_THAI_FORM = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
# The years a person may mean: BE 2443..2742 is CE 1900..2199; a d/m/yyyy year below that
# window looks CE (2024), one above nothing at all.
FIRST_CE_YEAR, LAST_CE_YEAR = 1900, 2199
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
    if iso := _ISO.fullmatch(cleaned):
        year, month, day = map(int, iso.groups())
        return _checked(year, month, day, text)
    if thai := _THAI_FORM.fullmatch(cleaned):
        day, month, year = map(int, thai.groups())
        if FIRST_CE_YEAR <= year <= LAST_CE_YEAR:
            meant = _checked(year, month, day, text)
            raise PageDateError(Rejection.date_looks_common_era,
                                f"{cleaned} is CE: in the Buddhist Era {page_form(meant)}", meant)
        return _checked(year - BE_OFFSET, month, day, text)
    raise _unreadable(text)


def _checked(year: int, month: int, day: int, text: str) -> date:
    if not FIRST_CE_YEAR <= year <= LAST_CE_YEAR:
        raise _unreadable(text)
    try:
        return date(year, month, day)
    except ValueError:
        raise _unreadable(text) from None


def _unreadable(text: str) -> PageDateError:
    shown = text.strip()[:MAX_PAGE_DATE_LENGTH]
    return PageDateError(Rejection.date_unreadable, f"{shown!r} is no date: write 30/06/2567 or 2024-06-30")
