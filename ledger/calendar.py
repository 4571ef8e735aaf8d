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
"""

import calendar
from dataclasses import dataclass
from datetime import date

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
