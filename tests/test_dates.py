"""Every date a client sends goes through one parser (ledger.calendar.parse_client_date) with one
window, 1900-01-01 .. 2199-12-31, and ISO `YYYY-MM-DD` strings only. The attacks: `as_of=9999-12-31`
answered 500; entries took 0001-01-01, 9999-12-31 and 1717200000 (read as a Unix timestamp); and a
Buddhist Era year typed for a Common Era one (2567 for 2024) was taken as a date five centuries
ahead, in entries, imports, as_of and statement periods. Each is now a 422 with its reason:
`date_out_of_range`, `malformed_date`, `buddhist_era_year` (naming the date meant)."""

import json
from datetime import date

import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from api import cli
from api.schemas import CLIENT_DATE_PATTERN
from ledger.calendar import BE_OFFSET, EARLIEST_DATE, LATEST_DATE, parse_client_date
from ledger.errors import LedgerError
from store.bulk import import_file
from tests.conftest import NOW


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0001-01-01", "date_out_of_range"), ("1899-12-31", "date_out_of_range"), ("2200-01-01", "date_out_of_range"),
        ("9999-12-31", "date_out_of_range"), ("2399-12-31", "date_out_of_range"),
        ("2400-01-01", "buddhist_era_year"), ("2567-06-01", "buddhist_era_year"), ("2567-02-29", "buddhist_era_year"),
        (1717200000, "malformed_date"), ("1717200000", "malformed_date"), ("2024-06-01T00:00:00", "malformed_date"),
        ("2024-6-1", "malformed_date"), ("2024-02-30", "malformed_date"), ("", "malformed_date"),
        (None, "malformed_date"),
        ("２０２４-０６-０１", "malformed_date"), (" 2024-06-01", "malformed_date"), ("20240601", "malformed_date"),
    ],
)  # fmt: skip
def test_the_one_parser_refuses_with_a_reason(text, reason):
    with pytest.raises(LedgerError) as refused:
        parse_client_date(text)
    assert refused.value.reason == reason


def test_the_one_parser_reads_the_window_and_names_the_date_meant():
    assert parse_client_date("1900-01-01") == date(1900, 1, 1)
    assert parse_client_date("2199-12-31") == date(2199, 12, 31)
    assert parse_client_date(date(2024, 2, 29)) == date(2024, 2, 29)
    with pytest.raises(LedgerError, match="did you mean 2024-02-29"):
        parse_client_date("2567-02-29")  # no day of the Common Era year 2567: still the BE leap day meant


@given(st.dates(min_value=date(1000, 1, 1)))
def test_every_day_of_the_window_is_read_and_no_other(day):
    if EARLIEST_DATE <= day <= LATEST_DATE:
        assert parse_client_date(day.isoformat()) == day
        return
    with pytest.raises(LedgerError) as refused:
        parse_client_date(day.isoformat())
    be_looking = 2400 <= day.year <= LATEST_DATE.year + BE_OFFSET
    assert refused.value.reason == ("buddhist_era_year" if be_looking else "date_out_of_range")


def dates_without_the_parser(openapi: dict) -> tuple[list[str], int]:
    """Every date a request of the OpenAPI document takes (parameters and bodies, through their
    schemas' references) that is not a ClientDate; and how many ClientDates there are."""
    components = openapi.get("components", {}).get("schemas", {})
    plain, found = [], 0

    def walk(schema, where: str, seen: frozenset) -> None:
        nonlocal found
        if isinstance(schema, list):
            for item in schema:
                walk(item, where, seen)
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], f"{where} > {name}", seen | {name})
        if schema.get("format") == "date":
            found += 1
            if schema.get("pattern") != CLIENT_DATE_PATTERN:
                plain.append(where)
        for key, value in schema.items():
            if isinstance(value, dict | list):
                walk(value, f"{where}.{key}" if key == "properties" else where, seen)

    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                walk(parameter.get("schema"), f"{method} {path} ?{parameter['name']}", frozenset())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema"), f"{method} {path} body", frozenset())
    return plain, found


def test_no_route_takes_a_plain_date(api):
    plain, found = dates_without_the_parser(api.client.app.openapi())
    assert not plain, f"these take a plain `date`, not api.schemas.ClientDate: {plain}"
    assert found >= 60  # the walk sees the dates there are: bodies and query parameters

    forgetful = FastAPI()

    @forgetful.get("/days")
    def days(day: date) -> None: ...  # what a new route might do

    assert dates_without_the_parser(forgetful.openapi())[0] == ["get /days ?day"]


def refused(response, reason: str, *words: str) -> dict:
    assert response.status_code == 422 and response.json()["reason"] == reason, response.text
    assert all(word in response.json()["detail"] for word in words), response.json()["detail"]
    return response.json()


def test_far_dates_in_reads_answer_422_not_500(api, fund):
    book, cash = fund["book_id"], fund["1100"]
    for path, params in [
        (f"/v1/accounts/{cash}/balance", {"as_of": "9999-12-31"}),
        (f"/v1/books/{book}/trial-balance", {"as_of": "9999-12-31"}),
        ("/v1/reports/trial-balance", {"book_id": book, "as_of": "9999-12-31"}),
        ("/v1/reports/financial-position", {"book_id": book, "as_of": "9999-12-31"}),
        ("/v1/reports/income-statement", {"book_id": book, "from": "0001-01-01", "to": "9999-12-31"}),
        (f"/v1/accounts/{cash}/statement", {"from": "0001-01-01", "to": "9999-12-31"}),
        ("/v1/entries", {"from": "9999-12-31"}),
    ]:
        refused(api.get(path, **params), "date_out_of_range", "1900-01-01 .. 2199-12-31")


def test_hand_made_entries_take_only_plausible_iso_dates(api, fund):
    lines = [(fund["1100"], "1.00"), (fund["3100"], "-1.00")]
    for day, reason in [("0001-01-01", "date_out_of_range"), ("9999-12-31", "date_out_of_range"),
                        (1717200000, "malformed_date"), ("2024-06-01T00:00:00", "malformed_date")]:  # fmt: skip
        problem = refused(api.entry(fund["book_id"], lines, day=day), reason)
        assert problem["errors"][0]["loc"] == ["body", "effective_date"]
    assert api.entry(fund["book_id"], lines, day="2024-06-01").status_code == 201


def test_buddhist_era_years_are_refused_with_the_date_meant(api, fund):
    lines = [(fund["1100"], "1.00"), (fund["3100"], "-1.00")]
    refused(api.entry(fund["book_id"], lines, day="2567-06-01"), "buddhist_era_year",
            "2567-06-01 looks like a Buddhist-era date; did you mean 2024-06-01?")  # fmt: skip
    refused(api.get("/v1/reports/trial-balance", book_id=fund["book_id"], as_of="2567-09-30"), "buddhist_era_year",
            "did you mean 2024-09-30?")  # fmt: skip
    statement = api.get(f"/v1/accounts/{fund['1100']}/statement", **{"from": "2566-10-01", "to": "2567-09-30"})
    refused(statement, "buddhist_era_year", "did you mean 2023-10-01?")
    refused(api.get(f"/v1/accounts/{fund['1100']}/balance", as_of="2567-09-30"), "buddhist_era_year")
    refused(api.get("/v1/reports/financial-position", book_id=fund["book_id"], as_of="2567-09-30", format="pdf"),
            "buddhist_era_year")  # fmt: skip
    close = f"/v1/books/{fund['book_id']}/periods/close"
    refused(api.post(close, {"period": "2567-05"}), "buddhist_era_year", "did you mean 2024-05-01?")
    refused(api.post(close, {"period": "2024-13"}), "malformed_date")
    refused(api.post(close, {"period": "1850-05"}), "date_out_of_range")


def test_fiscal_years_stay_buddhist_era_and_a_common_era_one_is_refused_clearly(api, fund):
    periods = api.get(f"/v1/books/{fund['book_id']}/periods", fiscal_year=2567)
    assert periods.status_code == 200 and periods.json()[-1]["end"] == "2024-09-30"
    report = api.get("/v1/reports/income-statement", book_id=fund["book_id"], fiscal_year=2567)
    assert report.status_code == 200 and report.json()["date_to"] == "2024-09-30"
    refused(api.get(f"/v1/books/{fund['book_id']}/periods", fiscal_year=2024), "fiscal_year_out_of_range",
            "Buddhist Era", "2567")  # fmt: skip
    refused(api.get("/v1/reports/income-statement", book_id=fund["book_id"], fiscal_year=2024),
            "fiscal_year_out_of_range", "the one ending in 2024 is 2567")  # fmt: skip


def test_import_lines_go_through_the_one_parser(api, db, fund, tmp_path):
    line = {"book": "FUND", "description": "imported",
            "postings": [{"account": "1100", "amount": "1.00"}, {"account": "3100", "amount": "-1.00"}]}  # fmt: skip
    path = tmp_path / "entries.jsonl"
    days = ["2024-05-01", "2567-05-01", "9999-12-31", 1717200000]
    path.write_text(
        "".join(json.dumps({**line, "key": f"k{n}", "effective_date": d}) + "\n" for n, d in enumerate(days))
    )
    report = import_file(db, str(path), batch_size=10, progress=False, now=lambda: NOW)
    assert report.recorded == 1
    assert [(n, reason) for n, reason, _ in report.rejected] == [
        (2, "buddhist_era_year"), (3, "date_out_of_range"), (4, "malformed_date")]  # fmt: skip
    assert "did you mean 2024-05-01?" in report.rejected[0][2]

    sale = "c-{n},1,{day},market,100.00,cash"
    csv_text = "\n".join(["key,enterprise_party_id,effective_date,channel,amount,payment",
                          *(sale.format(n=n, day=d) for n, d in enumerate(["2567-05-01", "0001-01-01"]))])  # fmt: skip
    headers = {**api.headers(), "Content-Type": "text/csv"}
    csv_report = api.client.post("/v1/sales/import", content=csv_text.encode(), headers=headers).json()
    assert [(r["line"], r["reason"]) for r in csv_report["rejected"]] == [
        (2, "buddhist_era_year"), (3, "date_out_of_range")]  # fmt: skip
    jsonl = json.dumps({"key": "j-1", "enterprise_party_id": 1, "effective_date": "2567-05-01", "channel": "market",
                        "amount": "100.00"})  # fmt: skip
    jsonl_report = api.client.post("/v1/sales/import", content=jsonl.encode(), headers=api.headers()).json()
    assert [(r["line"], r["reason"]) for r in jsonl_report["rejected"]] == [(1, "buddhist_era_year")]


def test_the_command_line_date_goes_through_the_one_parser(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["cob", "--date", "2567-01-01"])
    assert exit.value.code == 2
    assert "buddhist_era_year: 2567-01-01 looks like a Buddhist-era date; did you mean 2024-01-01?" in (
        capsys.readouterr().err
    )
