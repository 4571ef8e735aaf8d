"""Rendering a `Table` (ledger/tabular.py) as JSON, CSV, XLSX or PDF, in English or Thai.

Machines read JSON and CSV: amounts are plain decimal strings ("1010.25"), dates ISO 8601 (CE),
whatever the language; only the words change (labels, account names, CSV header). People read
XLSX and PDF: amounts carry thousands separators, dates are "30 Sep 2024" or, in Thai,
"30 ก.ย. 2567" (Buddhist Era), and a table with a total to spell out gets it in Thai words.
XLSX keeps numbers and dates as numbers and dates, with number formats, under a frozen header.
No text becomes a formula, whoever wrote it: every text cell of a CSV or XLSX goes through
`spreadsheet_text`, and the XLSX writer stores every text cell as a string.
PDF is drawn on the server with the Sarabun font from the fontpkg-sarabun package (no network),
and every page carries the book's name, the title, the date or period, the unit (baht) and
"page n of m". For people a negative amount is in parentheses, "(1,500.00)", as accountants
write it on paper.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fontpkg_sarabun import ROOT as SARABUN
from fpdf import FPDF, FontFace
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from api.pdf_text import TextLayerProducer, add_thai_font
from ledger.calendar import format_date
from ledger.errors import LedgerError, Rejection
from ledger.money import SATANG_PER_BAHT, format_amount, people_amount
from ledger.tabular import LANGUAGES, Cell, Column, Language, Row, Table
from ledger.thai import baht_text

MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
FORMATS_DOC = "json (default), csv, xlsx or pdf; also chosen by the Accept header"
WORDS_LABEL = {"en": "Amount in words (Thai)", "th": "จำนวนเงิน (ตัวอักษร)"}
UNIT_LABEL = {"en": "Unit: baht", "th": "หน่วย: บาท"}


def _chosen_format(request: Request, named: str | None) -> str:
    """The format named by ?format=, else the first one the Accept header names, else JSON."""
    if named is not None:
        return named
    accept = request.headers.get("accept", "")
    return next((name for name, media in MEDIA_TYPES.items() if media.split(";")[0] in accept), "json")


def output_format(request: Request, format: Annotated[str | None, Query(description=FORMATS_DOC)] = None) -> str:
    return _chosen_format(request, format)


def json_or_csv(
    request: Request, format: Annotated[str | None, Query(description="json (default) or csv; also by Accept")] = None
) -> str:
    return _chosen_format(request, format)


def output_language(lang: Annotated[str, Query(description="the words of the answer: en (default) or th")] = "en"):
    return lang


# A route that answers in several formats (or languages) declares it by taking one of these: the
# parameter is then in its OpenAPI description, and known to api.known_query.
FormatDep = Annotated[str, Depends(output_format)]
CsvFormatDep = Annotated[str, Depends(json_or_csv)]
LanguageDep = Annotated[str, Depends(output_language)]


def book_names(book: dict) -> dict[str, str]:
    """A book row's names as `Table` takes them: `Table(**book_names(book), ...)`."""
    return {"book_name_en": book["name_en"] or "", "book_name_th": book["name_th"]}


def attachment(filename: str) -> dict[str, str]:
    """A download's header; the name kept to ASCII, as an HTTP header must be."""
    return {"Content-Disposition": f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "-", filename)}"'}


def check_output(format: str, lang: str) -> None:
    """Refuse a format or language we do not render, before any work."""
    if format not in MEDIA_TYPES:
        raise LedgerError(Rejection.unsupported_format, f"format {format!r} is not one of {', '.join(MEDIA_TYPES)}")
    if lang not in LANGUAGES:
        raise LedgerError(Rejection.unsupported_language, f"lang {lang!r} is not one of {', '.join(LANGUAGES)}")


def streamed_table_response(table: Table, rows: Iterator[Row], format: str, lang: str = "en") -> Response:
    """`table` (its columns and headings) with `rows` read as they are sent: CSV streams, a
    block of rows at a time; the other formats are built whole from them, as `table_response`."""
    check_output(format, lang)
    if format != "csv":
        return table_response(replace(table, rows=tuple(rows)), format, lang)
    body = (block.encode() for block in table_csv_blocks(table, rows, lang))
    return StreamingResponse(body, media_type=MEDIA_TYPES["csv"], headers=attachment(f"{table.name}.csv"))


def table_response(table: Table, format: str, lang: str = "en") -> Response:
    """The table in `format` (json, csv, xlsx, pdf) and `lang` (en, th), as an HTTP answer."""
    check_output(format, lang)
    if format == "json":
        return JSONResponse(table_json(table, lang))  # type: ignore[arg-type]
    render = {"csv": table_csv, "xlsx": table_xlsx, "pdf": table_pdf}[format]
    body = render(table, lang)  # type: ignore[arg-type]
    return Response(body, media_type=MEDIA_TYPES[format], headers=attachment(f"{table.name}.{format}"))


# --- JSON and CSV: machine values ---------------------------------------------------------------


def machine_value(column: Column, cell: Cell, lang: Language) -> Any:
    """A cell as JSON carries it: amounts and percentages as decimal strings, dates ISO."""
    if cell is None:
        return None
    if column.kind == "money":
        return format_amount(cell)  # type: ignore[arg-type]
    if column.kind in ("date", "percent"):
        return cell.isoformat() if isinstance(cell, date) else str(cell)
    return cell if isinstance(cell, int | str) else Table.text(cell, lang)


def table_json(table: Table, lang: Language) -> dict[str, Any]:
    def row_json(row):
        return {c.key: machine_value(c, row.get(c.key), lang) for c in table.columns}

    words = table.total_in_words_satang
    return {
        "title": table.title(lang),
        "book": table.book_name(lang),
        "as_of": table.as_of.isoformat() if table.as_of else None,
        "period": {"from": table.period[0].isoformat(), "to": table.period[1].isoformat()} if table.period else None,
        "columns": [{"key": c.key, "label": c.label(lang), "kind": c.kind} for c in table.columns],
        "rows": [row_json(row) for row in table.rows],
        "totals": row_json(table.totals) if table.totals else None,
        "total_in_words": baht_text(words) if words is not None else None,
        "notes": [note.in_language(lang) for note in table.notes],
    }


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
BYTE_ORDER_MARK = "\ufeff"


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet shows and never runs: one that starts like a formula, after any spaces
    (a spreadsheet may trim them), gets a leading apostrophe ("=1+2" becomes "'=1+2"). A plain
    number such as "-150.00", an amount as machines read it, is no formula and stays as it is,
    so that an amount column still sums."""
    if text.lstrip(" ").startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def spreadsheet_cell(value: Any) -> Any:
    """A CSV or XLSX cell: text made safe by `spreadsheet_text`, numbers and dates as they are."""
    return spreadsheet_text(value) if isinstance(value, str) else value


def csv_blocks(header: Sequence[str], rows: Iterable[Sequence[Any]], rows_per_block: int = 2_000) -> Iterator[str]:
    """Comma-separated rows under a header line, a block of rows at a time: the one CSV writer
    of the API and the command line, for answers in one piece and streamed ones alike. The text
    starts with a byte order mark, so that a spreadsheet reads Thai as UTF-8, and no cell can
    become a formula."""
    buffer = io.StringIO()
    buffer.write(BYTE_ORDER_MARK)
    # Lines end in CRLF (RFC 4180): the writer then quotes a lone CR inside a field too, which a
    # spreadsheet would otherwise take for the end of a row, and a formula could start the next.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(map(spreadsheet_cell, header))
    rows = iter(rows)
    while batch := list(islice(rows, rows_per_block)):
        writer.writerows([map(spreadsheet_cell, row) for row in batch])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return "".join(csv_blocks(header, rows))


def table_csv_blocks(table: Table, rows: Iterable[Row], lang: Language) -> Iterator[str]:
    """English CSV heads its columns with their keys, Thai with Thai labels."""
    header = [c.label_th if lang == "th" else c.key for c in table.columns]
    return csv_blocks(header, ([machine_value(c, row.get(c.key), lang) for c in table.columns] for row in rows))


def table_csv(table: Table, lang: Language) -> bytes:
    return "".join(table_csv_blocks(table, [*table.rows, *([table.totals] if table.totals else [])], lang)).encode()


# --- XLSX and PDF: for people ----------------------------------------------------------------

# Excel's "bbbb" is the Buddhist Era year; [$-th-TH] gives Thai month names.
XLSX_DATE = {"en": "d mmm yyyy", "th": "[$-th-TH]d mmm bbbb"}
XLSX_MONEY = "#,##0.00;(#,##0.00)"
XLSX_PERCENT = '0.00##"%"'
XLSX_HEADER_ROW = 5


def xlsx_value(column: Column, cell: Cell, lang: Language) -> Any:
    """Numbers stay numbers (baht as an exact Decimal) and dates stay dates."""
    if column.kind == "money" and cell is not None:
        return Decimal(cell) / SATANG_PER_BAHT  # type: ignore[arg-type]
    if column.kind in ("date", "percent") or cell is None:
        return cell
    return cell if isinstance(cell, int) else Table.text(cell, lang)


def xlsx_cell(sheet: Any, row: int, column: int, value: Any) -> Any:
    """The one way a value reaches a sheet: text through `spreadsheet_text` and stored as a
    string, so that it is never a formula; numbers and dates as they are."""
    cell = sheet.cell(row, column, spreadsheet_cell(value))
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def sheet_title(title: str) -> str:
    """A sheet's name: Excel refuses []:*?/\\ in it and more than 31 characters."""
    return re.sub(r"[][:*?/\\]", "-", title)[:31]


def table_xlsx(table: Table, lang: Language) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title(table.title(lang))
    above = (table.book_name(lang), table.title(lang), table.subtitle(lang), unit_line(table, lang))
    for row, text in enumerate(above, start=1):
        xlsx_cell(sheet, row, 1, text).font = Font(bold=row < 3, size=14 if row == 1 else 11)
    formats = {"money": XLSX_MONEY, "date": XLSX_DATE[lang], "percent": XLSX_PERCENT}
    for index, column in enumerate(table.columns, start=1):
        header = xlsx_cell(sheet, XLSX_HEADER_ROW, index, column.label(lang))
        header.font = Font(bold=True)
        header.alignment = Alignment(horizontal="right" if column.kind != "text" else "left")
        letter = header.column_letter
        sheet.column_dimensions[letter].width = 16 if column.kind != "text" else 28
    rows = [(row, False) for row in table.rows] + ([(table.totals, True)] if table.totals else [])
    for offset, (row, bold) in enumerate(rows, start=1):
        for index, column in enumerate(table.columns, start=1):
            cell = xlsx_cell(sheet, XLSX_HEADER_ROW + offset, index, xlsx_value(column, row.get(column.key), lang))
            cell.number_format = formats.get(column.kind, "General")
            cell.font = Font(bold=bold)
    below = XLSX_HEADER_ROW + len(rows) + 2
    for line, text in enumerate(people_notes(table, lang)):
        xlsx_cell(sheet, below + line, 1, text)
    sheet.freeze_panes = sheet.cell(XLSX_HEADER_ROW + 1, 1)
    sheet.print_title_rows = f"{XLSX_HEADER_ROW}:{XLSX_HEADER_ROW}"
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def unit_line(table: Table, lang: Language) -> str:
    """"Unit: baht" above a table that holds amounts, as a Thai statement states its unit."""
    return UNIT_LABEL[lang] if any(column.kind == "money" for column in table.columns) else ""


def people_notes(table: Table, lang: Language) -> list[str]:
    """The lines under a table for people: the total in Thai words, then the table's notes."""
    words = table.total_in_words_satang
    lines = [f"{WORDS_LABEL[lang]}: {baht_text(words)}"] if words is not None else []
    return lines + [note.in_language(lang) for note in table.notes]


def display_value(column: Column, cell: Cell, lang: Language) -> str:
    """A cell as a person reads it: grouped amounts, dates in the language's calendar."""
    if cell is None:
        return ""
    if column.kind == "money":
        return people_amount(cell)  # type: ignore[arg-type]
    if column.kind == "date":
        return format_date(cell, lang)  # type: ignore[arg-type]
    if column.kind == "percent":
        return f"{cell} %"
    return Table.text(cell, lang)


class StatementPdf(FPDF):
    """A4 pages headed by the book, the title and the date or period, with "page n of m"."""

    def __init__(self, table: Table, lang: Language, *, landscape: bool) -> None:
        super().__init__(orientation="landscape" if landscape else "portrait", format="A4")
        self.report, self.lang = table, lang
        add_thai_font(self, "Sarabun", "", SARABUN / "files" / "Sarabun-Regular.ttf")
        add_thai_font(self, "Sarabun", "B", SARABUN / "files" / "Sarabun-Bold.ttf")
        self.set_text_shaping(True)  # Thai vowels and tone marks placed by HarfBuzz
        self.set_auto_page_break(auto=True, margin=15)
        self.alias_nb_pages()

    def header(self) -> None:
        self.set_font("Sarabun", "B", 13)
        self.cell(0, 7, self.report.book_name(self.lang), new_x="LMARGIN", new_y="NEXT", align="C")
        self.set_font("Sarabun", "B", 11)
        self.cell(0, 6, self.report.title(self.lang), new_x="LMARGIN", new_y="NEXT", align="C")
        self.set_font("Sarabun", "", 10)
        self.cell(0, 6, self.report.subtitle(self.lang), new_x="LMARGIN", new_y="NEXT", align="C")
        self.set_font("Sarabun", "", 9)
        self.cell(0, 5, unit_line(self.report, self.lang), new_x="LMARGIN", new_y="NEXT", align="R")
        self.ln(1)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Sarabun", "", 8)
        page = f"หน้า {self.page_no()} / {{nb}}" if self.lang == "th" else f"Page {self.page_no()} of {{nb}}"
        self.cell(0, 6, page, align="C")


# About how many characters of 9-point Sarabun fit across a portrait A4 page between margins.
PORTRAIT_CHARACTERS = 110
WIDEST_COLUMN_CHARACTERS = 40
BOLD = FontFace(emphasis="BOLD")
# Top, right, bottom, left, in mm: room above a line for a tone mark stacked on an upper vowel
# (ที่, ปั้น), below for a lower vowel (ผู้), so that neither touches the rule of the table.
CELL_PADDING_MM = (1.4, 1, 0.6, 1)


def table_pdf(table: Table, lang: Language) -> bytes:
    heading = [column.label(lang) for column in table.columns]
    rows = [[display_value(c, row.get(c.key), lang) for c in table.columns] for row in table.rows]
    totals = [display_value(c, table.totals.get(c.key), lang) for c in table.columns] if table.totals else None
    # Each column as wide as its longest text (within bounds), so that amounts never wrap.
    widths = [min(max(map(len, texts)), WIDEST_COLUMN_CHARACTERS) + 2
              for texts in zip(heading, *rows, *([totals] if totals else []), strict=True)]  # fmt: skip
    pdf = StatementPdf(table, lang, landscape=sum(widths) > PORTRAIT_CHARACTERS)
    pdf.add_page()
    pdf.set_font("Sarabun", "", 9)
    aligns = ["LEFT" if c.kind == "text" else "RIGHT" for c in table.columns]
    with pdf.table(col_widths=widths, text_align=aligns, line_height=4.5, padding=CELL_PADDING_MM,
                   repeat_headings=1) as grid:  # fmt: skip
        for texts, style in [(heading, None), *((r, None) for r in rows), *([(totals, BOLD)] if totals else [])]:
            line = grid.row(style=style)
            for text in texts:
                line.cell(text)
    pdf.ln(3)
    for text in people_notes(table, lang):
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output(output_producer_class=TextLayerProducer))
