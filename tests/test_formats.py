"""Tables as JSON, CSV, XLSX and PDF, in English and Thai, read back as a person's tools read them."""

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from api.formats import csv_blocks, table_csv, table_json, table_pdf, table_response, table_xlsx
from api.pdf_text import cluster_texts
from ledger.accounts import AccountType
from ledger.errors import LedgerError, Rejection
from ledger.loans import LoanClass
from ledger.tabular import ACCOUNT_TYPE_LABELS, LOAN_CLASS_LABELS, TOTAL, Column, Label, Table


def xlsx_sheet(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).active


def pdf_pages(content: bytes) -> list[str]:
    """Each page's text, as pypdf reads it back (search and copy work on the same text)."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def baht(value) -> str:
    """An XLSX number read back (a float of baht) as the API's decimal string."""
    return str(Decimal(repr(value)).quantize(Decimal("0.01")))


COLUMNS = (
    Column("code", "Code", "รหัส"),
    Column("name", "Account", "บัญชี"),
    Column("opened_on", "Opened", "วันที่เปิด", "date"),
    Column("rate", "Rate", "อัตรา", "percent"),
    Column("debit", "Debit", "เดบิต", "money"),
    Column("credit", "Credit", "เครดิต", "money"),
)


def loans_table(rows: int = 3) -> Table:
    """`rows` accounts, alternately 1,234,567.89 in debit and 1,000.01 in credit."""
    lines = tuple(
        {"code": f"1200-{i:03d}", "name": Label(f"Loan {i}", f"ลูกหนี้เงินกู้ {i}"), "opened_on": date(2024, 9, 30),
         "rate": Decimal("3.5"), "debit": 123_456_789 if i % 2 == 0 else None,
         "credit": None if i % 2 == 0 else 100_001}
        for i in range(rows)
    )  # fmt: skip
    debit, credit = sum(line["debit"] or 0 for line in lines), sum(line["credit"] or 0 for line in lines)
    return Table(
        title_en="Loans receivable", title_th="ลูกหนี้เงินกู้", book_name_en="CODI fund", book_name_th="กองทุนพัฒนา",
        name="loans", columns=COLUMNS, rows=lines, totals={"name": TOTAL, "debit": debit, "credit": credit},
        period=(date(2023, 10, 1), date(2024, 9, 30)), total_in_words_satang=debit,
    )  # fmt: skip


def test_json_keeps_machine_values_and_changes_only_words():
    # 3 rows: debits 2 x 1,234,567.89 = 2,469,135.78; one credit of 1,000.01
    english, thai = table_json(loans_table(), "en"), table_json(loans_table(), "th")
    assert english["totals"] == thai["totals"] | {"name": "Total"}
    assert english["totals"] == {"code": None, "name": "Total", "opened_on": None, "rate": None,
                                 "debit": "2469135.78", "credit": "1000.01"}  # fmt: skip
    assert english["rows"][0] == {"code": "1200-000", "name": "Loan 0", "opened_on": "2024-09-30", "rate": "3.5",
                                  "debit": "1234567.89", "credit": None}  # fmt: skip
    assert thai["rows"][0]["name"] == "ลูกหนี้เงินกู้ 0" and thai["columns"][4]["label"] == "เดบิต"
    assert english["period"] == {"from": "2023-10-01", "to": "2024-09-30"}
    words = "สองล้านสี่แสนหกหมื่นเก้าพันหนึ่งร้อยสามสิบห้าบาทเจ็ดสิบแปดสตางค์"
    assert english["total_in_words"] == thai["total_in_words"] == words


def test_csv_in_english_and_thai():
    content = table_csv(loans_table(), "en")
    assert content.startswith("\ufeff".encode())  # in every language: a spreadsheet then reads UTF-8
    english = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert english[0] == ["code", "name", "opened_on", "rate", "debit", "credit"]
    assert english[1] == ["1200-000", "Loan 0", "2024-09-30", "3.5", "1234567.89", ""]
    assert english[-1] == ["", "Total", "", "", "2469135.78", "1000.01"]
    content = table_csv(loans_table(), "th")
    assert content.startswith("\ufeff".encode())
    thai = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert thai[0] == ["รหัส", "บัญชี", "วันที่เปิด", "อัตรา", "เดบิต", "เครดิต"]
    assert thai[-1] == ["", "รวม", "", "", "2469135.78", "1000.01"]


def test_a_streamed_csv_has_one_byte_order_mark_at_its_start():
    blocks = list(csv_blocks(("a",), (("x",) for _ in range(5)), rows_per_block=2))
    assert len(blocks) == 3 and blocks[0].startswith("\ufeffa\r\nx\r\n")
    assert "".join(blocks).count("\ufeff") == 1


@pytest.mark.parametrize("lang", ["en", "th"])
def test_xlsx_reads_back_with_numbers_dates_formats_and_a_frozen_header(lang):
    sheet = xlsx_sheet(table_xlsx(loans_table(), lang))
    assert sheet["A1"].value == ("กองทุนพัฒนา" if lang == "th" else "CODI fund")
    assert sheet["A3"].value == ("สำหรับงวด 1 ต.ค. 2566 ถึง 30 ก.ย. 2567" if lang == "th"
                                 else "For the period 1 Oct 2023 to 30 Sep 2024")  # fmt: skip
    assert sheet["A4"].value == ("หน่วย: บาท" if lang == "th" else "Unit: baht")
    assert sheet.freeze_panes == "A6"
    assert [c.value for c in sheet[5]] == [c.label(lang) for c in COLUMNS]
    first = {c.key: cell for c, cell in zip(COLUMNS, sheet[6], strict=True)}
    assert first["debit"].value == 1234567.89 and first["debit"].number_format == "#,##0.00;(#,##0.00)"
    assert first["opened_on"].value == datetime(2024, 9, 30)
    assert ("bbbb" in first["opened_on"].number_format) == (lang == "th")
    assert first["rate"].value == 3.5
    totals = [c.value for c in sheet[9]]
    assert totals[1] == TOTAL.in_language(lang)
    assert (baht(totals[4]), baht(totals[5])) == ("2469135.78", "1000.01")
    assert sheet["A11"].value.endswith("สองล้านสี่แสนหกหมื่นเก้าพันหนึ่งร้อยสามสิบห้าบาทเจ็ดสิบแปดสตางค์")


def test_pdf_has_the_book_period_page_numbers_and_totals_on_every_page():
    pages = pdf_pages(table_pdf(loans_table(rows=150), "en"))  # 75 x 1,234,567.89 = 92,592,591.75
    assert len(pages) > 2
    for number, text in enumerate(pages, start=1):
        assert "CODI fund" in text and "Loans receivable" in text
        assert "For the period 1 Oct 2023 to 30 Sep 2024" in text
        assert f"Page {number} of {len(pages)}" in text
        assert "Debit" in text  # the heading repeats
    assert "Total 92,592,591.75 75,000.75" in pages[-1]
    assert "1,234,567.89" in pages[0]


def test_pdf_in_thai():
    text = "\n".join(pdf_pages(table_pdf(loans_table(), "th")))
    assert "กองทุนพัฒนา" in text and "ลูกหนี้เงินกู้ 0" in text
    assert "สำหรับงวด 1 ต.ค. 2566 ถึง 30 ก.ย. 2567" in text
    assert "รวม 2,469,135.78 1,000.01" in text
    assert "หน้า 1 / 1" in text


# Sara am (drawn as two glyphs, its nikhahit moved before a tone mark), tone marks above upper
# vowels, marks moved left of ป ฝ ฟ's tails, ญ and ฐ without their tails above a lower vowel.
THAI_WORDS = ("จำนวนเงิน", "กำไร", "น้ำ", "ที่", "กี่", "ปั้น", "ฝั่ง", "ฟุ้ง", "ญาติ", "ฐาน", "ฐู", "ญู", "ผู้ใหญ่",
              "ค่าน้ำประปา", "สำนักงาน", "ปู่ย่า", "ฎีกา", "กระทำ", "เงินให้กู้ยืม")  # fmt: skip
CONSONANTS, UPPER, LOWER, TONES, AFTER = "กขคงจญฎฐณดตนบปผฝพฟมยรลวสหอ", "ัิีึื", "ุู", "่้๊๋", ("", "า", "ำ", "ะ", "น")


def words_table(words: Sequence[str], heading: str = "คำอธิบายที่ปั้นน้ำ") -> Table:
    return Table(
        title_en="Words", title_th=f"งบกำไร{heading}", book_name_en="", book_name_th="กองทุนสำนักงานน้ำ", name="w",
        columns=(Column("words", "Words", heading),), rows=tuple({"words": w} for w in words),
        totals={"words": "รวมจำนวนเงินที่ปั้น"},
    )  # fmt: skip


def test_thai_text_in_a_pdf_reads_back_as_it_was_written():
    """pypdf read "จำ\x07นวนเงิน" and "ปั้ น": a glyph of a cluster had no text, a mark moved left
    left a gap. Now every line reads back as its source, bold headings and totals too."""
    lines = pdf_pages(table_pdf(words_table(THAI_WORDS), "th"))[0].split("\n")
    expected = ["กองทุนสำนักงานน้ำ", "งบกำไรคำอธิบายที่ปั้นน้ำ", "คำอธิบายที่ปั้นน้ำ", *THAI_WORDS, "รวมจำนวนเงินที่ปั้น"]
    assert [line for line in lines if line in expected] == expected


def test_a_clusters_text_goes_to_its_widest_glyph():
    # น, then nikhahit with the tone mark (one glyph in Sarabun), then sara aa: the text of ้ำ on sara aa
    assert cluster_texts("น้ำ", [0, 1, 1], [637, 0, 485]) == ["น", "", "้ำ"]
    assert cluster_texts("ab", [0, 1], [500, 500]) == ["a", "b"]


syllables = st.builds(lambda *parts: "".join(parts), st.sampled_from(CONSONANTS),
                      st.sampled_from(("", *UPPER, *LOWER)), st.sampled_from(("", *TONES)), st.sampled_from(AFTER))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(syllables, min_size=1, max_size=4).map("".join), min_size=1, max_size=6))
def test_any_thai_words_read_back_from_a_pdf(words):
    lines = pdf_pages(table_pdf(words_table(words), "th"))[0].split("\n")
    assert lines[lines.index("คำอธิบายที่ปั้นน้ำ") + 1 :][: len(words)] == words


@pytest.mark.parametrize(
    ("format_", "lang", "reason"),
    [("xml", "en", Rejection.unsupported_format), ("pdf", "fr", Rejection.unsupported_language)],
)
def test_unsupported_format_or_language(format_, lang, reason):
    with pytest.raises(LedgerError) as refused:
        table_response(loans_table(), format_, lang)
    assert refused.value.reason == reason


def test_every_enumeration_a_table_shows_has_its_words_in_each_language():
    assert set(LOAN_CLASS_LABELS) == {c.value for c in LoanClass}
    assert set(ACCOUNT_TYPE_LABELS) == {t.value for t in AccountType}
    assert LOAN_CLASS_LABELS["doubtful_of_loss"].th == "สงสัยจะสูญ"


def test_a_table_refuses_cells_outside_its_columns():
    with pytest.raises(AssertionError):
        Table(title_en="t", title_th="t", book_name_en="", book_name_th="b", name="t",
              columns=COLUMNS, rows=({"nope": 1},))  # fmt: skip


# --- through the API -------------------------------------------------------------------------


@pytest.fixture
def trial(api, fund):
    """Three entries: cash 650.25, loan 360.00 Dr; capital 1,000.00, income 10.25 Cr; total 1,010.25."""
    api.entry(fund["book_id"], [(fund["1100"], "1000.00"), (fund["3100"], "-1000.00")], day="2024-01-10")
    api.entry(fund["book_id"], [(fund["loan"], "400.00"), (fund["1100"], "-400.00")], day="2024-02-20")
    lines = [(fund["1100"], "50.25"), (fund["loan"], "-40.00"), (fund["4100"], "-10.25")]
    api.entry(fund["book_id"], lines, day="2024-03-05")
    return f"/v1/books/{fund['book_id']}/trial-balance"


def test_trial_balance_in_every_format_holds_the_json_totals(api, trial):
    body = api.get(trial, as_of="2024-09-30").json()
    assert body["total_debit"] == body["total_credit"] == "1010.25"
    xlsx = api.get(trial, as_of="2024-09-30", format="xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="trial-balance-' in xlsx.headers["content-disposition"]
    sheet = xlsx_sheet(xlsx.content)
    totals = [c.value for c in sheet[sheet.max_row]]
    assert totals[2] == "Total" and (baht(totals[6]), baht(totals[7])) == (body["total_debit"], body["total_credit"])
    pdf = api.get(trial, as_of="2024-09-30", format="pdf", lang="th")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(pdf_pages(pdf.content))
    assert "ณ วันที่ 30 ก.ย. 2567" in text and "งบทดลอง" in text and "กองทุน" in text
    assert "รวม 1,010.25 1,010.25" in text


def test_formats_chosen_by_accept_header(api, trial):
    pdf = api.client.get(trial, headers={**api.headers(), "Accept": "application/pdf"})
    assert pdf.content.startswith(b"%PDF")


def test_statement_as_xlsx_opens_and_closes_like_the_json(api, fund, trial):
    period = {"from": "2024-02-01", "to": "2024-03-31"}
    body = api.get(f"/v1/accounts/{fund['1100']}/statement", **period).json()
    sheet = xlsx_sheet(api.get(f"/v1/accounts/{fund['1100']}/statement", **period, format="xlsx").content)
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=6)]
    assert values[0][2] == "Opening balance" and baht(values[0][4]) == body["opening_balance"]
    assert values[-1][2] == "Closing balance" and baht(values[-1][4]) == body["closing_balance"] == "650.25"
    thai = api.get(f"/v1/accounts/{fund['1100']}/statement", **period, format="csv", lang="th")
    assert thai.content.decode("utf-8-sig").splitlines()[-1] == ",2024-03-31,ยอดยกไป,,650.25"


@pytest.mark.parametrize(("params", "reason"), [({"format": "xml"}, "unsupported_format"),
                                                ({"format": "pdf", "lang": "fr"}, "unsupported_language")])  # fmt: skip
def test_unsupported_format_is_a_problem(api, trial, params, reason):
    refused = api.get(trial, **params)
    assert (refused.status_code, refused.json()["reason"]) == (422, reason)
    assert refused.headers["content-type"] == "application/problem+json"
