"""An organisation's book through the report machinery (issue 18, item 7): its trial balance and
income statement in Thai in every format, and a member's printable savings and loan statement
(JSON, CSV, XLSX, PDF), on the on-lending tests' cooperative."""

import csv
import io

import pytest

from tests.test_formats import pdf_pages, xlsx_sheet
from tests.test_tiers_onlend import Tiers, approved_and_paid, created, tiers  # noqa: F401  (tiers is a fixture)


@pytest.fixture
def lent(tiers) -> Tiers:  # noqa: F811
    """The first member borrows 2,000.00 on 31 Jan 2024 and repays 700.00 on 29 Feb."""
    loan = created(tiers.apply(amount="2000.00"))
    approved_and_paid(tiers, loan, "2000.00", "2024-01-31")
    repayment = {"amount": "700.00", "effective_date": "2024-02-29"}
    created(tiers.officer.post(f"/v1/loans/{loan['id']}/repayments", repayment))
    return tiers


def report(cooperative: Tiers, path: str, fmt: str, **params):
    answer = cooperative.api.get(path, book_id=cooperative.book, format=fmt, lang="th", **params)
    assert answer.status_code == 200, answer.text
    return answer


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx", "pdf"])
def test_the_organisation_books_reports_in_thai_in_every_format(lent, fmt):
    trial = report(lent, "/v1/reports/trial-balance", fmt, as_of="2024-09-30", depth=1)
    income = report(lent, "/v1/reports/income-statement", fmt, fiscal_year=2567)
    texts = [text_of(answer, fmt) for answer in (trial, income)]
    assert "ลูกหนี้เงินกู้สมาชิก" in texts[0] and "เงินฝากสัจจะสะสมทรัพย์ของสมาชิก" in texts[0]
    ten = " 10 " if fmt == "xlsx" else "10.00"  # a month's interest at 6 % on 2,000.00
    assert "รายได้ดอกเบี้ยเงินกู้สมาชิก" in texts[1] and ten in texts[1]
    if fmt in ("xlsx", "pdf"):
        assert "งบทดลอง" in texts[0] and "สมุดบัญชีสหกรณ์" in texts[0]


def text_of(answer, fmt: str) -> str:
    if fmt == "pdf":
        return "\n".join(pdf_pages(answer.content))
    if fmt == "xlsx":
        return "\n".join(" ".join(str(c.value) for c in row) for row in xlsx_sheet(answer.content).iter_rows())
    return answer.text


def statement(cooperative: Tiers, fmt: str):
    path = f"/v1/organisations/{cooperative.coop}/savings/members/{cooperative.members[0]}/statement"
    answer = cooperative.api.get(path, format=fmt, lang="th")
    assert answer.status_code == 200, answer.text
    return answer


def test_a_members_statement_is_printable_in_thai(lent):
    deposit = {"member_id": lent.members[0], "amount": "250.50", "effective_date": "2024-03-05"}
    created(lent.api.post(f"/v1/organisations/{lent.coop}/savings/deposits", deposit))
    body = statement(lent, "json").json()
    assert [(x["amount"], x["balance"]) for x in body["lines"]] == [("1000.00", "1000.00"), ("250.50", "1250.50")]
    [page] = pdf_pages(statement(lent, "pdf").content)
    assert "รายการเงินฝากสัจจะและเงินกู้ของ สมาชิก 0" in page and "สมุดบัญชีสหกรณ์" in page
    assert "3 ม.ค. 2567" in page and "5 มี.ค. 2567" in page and "1,250.50" in page
    assert "เงินกู้สัญญา" in page and "เงินต้นคงเหลือ 1,310.00 ค้างชำระ 183 วัน" in page  # on 30 Sep
    rows = list(csv.reader(io.StringIO(statement(lent, "csv").text)))
    assert rows[-1][1:] == ["Deposit: สมาชิก 0", "250.50", "1250.50"] and rows[1][1:] == ["ยอดยกมา", "", "0.00"]
    sheet = xlsx_sheet(statement(lent, "xlsx").content)
    cells = [[str(c.value) for c in row] for row in sheet.iter_rows()]
    assert ["Deposit: สมาชิก 0", "250.5", "1250.5"] in [row[1:4] for row in cells]
    assert any("เงินกู้สัญญา" in row[0] for row in cells)
