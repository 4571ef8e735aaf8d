"""A table: what a statement, ledger or schedule says, before it is JSON, CSV, XLSX or PDF.

Every report ends as one `Table`: a title in English and Thai, the book it is about, the date
it is as of or the period it covers, typed columns, rows, an optional totals row and an
optional total to spell out in Thai words. The table holds exact values (money as `int` satang,
dates as `date`, percentages as `Decimal`); the renderers in `api/formats.py` decide how each
kind looks in each language, so a figure is formatted in one place only.

A cell is a `Cell`: text (`str` or `int`), a `Label` when the words differ by language (an
account's Thai and English names), satang for a money column, a `date` for a date column, a
`Decimal` for a percent column, or `None` for an empty cell.

>>> table = Table(
...     title_en="Trial balance", title_th="งบทดลอง", book_name_en="CODI fund", book_name_th="กองทุน",
...     name="trial-balance", as_of=date(2024, 9, 30),
...     columns=(Column("account", "Account", "บัญชี"), Column("debit", "Debit", "เดบิต", "money")),
...     rows=({"account": Label("Cash", "เงินสด"), "debit": 150050},),
... )
>>> table.column_keys
('account', 'debit')
>>> table.text(Label("Cash", "เงินสด"), "th"), table.subtitle("th")
('เงินสด', 'ณ วันที่ 30 ก.ย. 2567')
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from ledger.calendar import format_date

ColumnKind = Literal["text", "money", "date", "percent"]
COLUMN_KINDS: tuple[ColumnKind, ...] = ("text", "money", "date", "percent")
Language = Literal["en", "th"]
LANGUAGES: tuple[Language, ...] = ("en", "th")


@dataclass(frozen=True)
class Label:
    """Words that differ by language."""

    en: str
    th: str

    def in_language(self, lang: Language) -> str:
        return self.th if lang == "th" else self.en


ACCOUNT_TYPE_LABELS = {
    "asset": Label("Asset", "สินทรัพย์"),
    "liability": Label("Liability", "หนี้สิน"),
    "equity": Label("Equity", "ทุน"),
    "income": Label("Income", "รายได้"),
    "expense": Label("Expense", "ค่าใช้จ่าย"),
}
# Bank of Thailand loan classes (ledger.loans.LoanClass), as the schedule of loans shows them.
LOAN_CLASS_LABELS = {
    "pass": Label("Pass", "ปกติ"),
    "special_mention": Label("Special mention", "กล่าวถึงเป็นพิเศษ"),
    "substandard": Label("Substandard", "ต่ำกว่ามาตรฐาน"),
    "doubtful": Label("Doubtful", "สงสัย"),
    "doubtful_of_loss": Label("Doubtful of loss", "สงสัยจะสูญ"),
}
TOTAL = Label("Total", "รวม")

Cell = str | int | Label | date | Decimal | None
Row = Mapping[str, Cell]


@dataclass(frozen=True)
class Column:
    key: str  # the stable, machine name: JSON member and English CSV header
    label_en: str
    label_th: str
    kind: ColumnKind = "text"

    def __post_init__(self) -> None:
        assert self.kind in COLUMN_KINDS, self.kind

    def label(self, lang: Language) -> str:
        return self.label_th if lang == "th" else self.label_en


@dataclass(frozen=True)
class Table:
    title_en: str
    title_th: str
    book_name_en: str
    book_name_th: str
    name: str  # the file name without extension, e.g. "trial-balance-3-2024-09-30"
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    totals: Row | None = None
    as_of: date | None = None
    period: tuple[date, date] | None = None  # first and last day, both included
    total_in_words_satang: int | None = None  # spelled out in Thai words under the table
    notes: tuple[Label, ...] = field(default=())

    def __post_init__(self) -> None:
        keys = self.column_keys
        assert len(set(keys)) == len(keys), "column keys repeat"
        for row in (*self.rows, *([self.totals] if self.totals else [])):
            assert set(row) <= set(keys), f"cells outside the columns: {set(row) - set(keys)}"

    @property
    def column_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    def title(self, lang: Language) -> str:
        return self.title_th if lang == "th" else self.title_en

    def book_name(self, lang: Language) -> str:
        return self.book_name_th if lang == "th" or not self.book_name_en else self.book_name_en

    def subtitle(self, lang: Language) -> str:
        """'As of 30 Sep 2024', 'ณ วันที่ 30 ก.ย. 2567', or the period it covers."""
        if self.period is not None:
            first, last = (format_date(d, lang) for d in self.period)
            return f"สำหรับงวด {first} ถึง {last}" if lang == "th" else f"For the period {first} to {last}"
        if self.as_of is not None:
            day = format_date(self.as_of, lang)
            return f"ณ วันที่ {day}" if lang == "th" else f"As of {day}"
        return ""

    @staticmethod
    def text(cell: Cell, lang: Language) -> str:
        """A text cell's words in `lang`."""
        if cell is None:
            return ""
        return cell.in_language(lang) if isinstance(cell, Label) else str(cell)
