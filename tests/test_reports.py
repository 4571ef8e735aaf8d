"""Statements through the real app: the worked example of FY2567 of a small fund (two loans, an
investment in a community enterprise, sales contributions to a welfare fund) with hand-checked
statements in English and Thai, consolidation, cuts by dimension, schedules, and every bad input."""

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from tests.conftest import make_user
from tests.test_api_loans import application, product_body, refused
from tests.test_formats import pdf_pages

AFTER_FY2567 = datetime(2024, 10, 15, 3, 0, tzinfo=UTC)


def _post(api, path: str, body: dict, key: str | None = None) -> dict:
    response = api.post(path, body, key)
    assert response.status_code == 201, response.text
    return response.json()


def _account(api, book_id: int, code: str, name: str, kind: str, rule: str, parent: int, party: int) -> int:
    body = {"code": code, "name_th": name, "name_en": name, "type": kind, "balance_rule": rule, "parent_id": parent,
            "party_id": party}  # fmt: skip
    return _post(api, f"/v1/books/{book_id}/accounts", body)["id"]


def _entry(api, book_id: int, day: str, *lines: tuple[int, str], **extra) -> None:
    response = api.entry(book_id, list(lines), day=day, **extra)
    assert response.status_code == 201, response.text


def _loan(api, db, fund: dict, borrower: int, amount: str, savings: str, day: str) -> dict:
    officer = api.as_(make_user(db, f"officer-{amount}", "officer"))
    approver = api.as_(make_user(db, f"approver-{amount}", "approver"))
    body = application({"product_id": fund["product_id"], "borrower_id": borrower}, amount=amount, savings=savings)
    loan = _post(officer, "/v1/loans", body)
    assert approver.post(f"/v1/loans/{loan['id']}/approval", {}).status_code == 200
    paid = officer.post(f"/v1/loans/{loan['id']}/disbursements", {"amount": amount, "effective_date": day}, f"d{day}")
    assert paid.status_code == 201, paid.text
    return {**loan, "officer": officer}


@pytest.fixture
def fy2567(api, db, fund, clock) -> dict:
    return worked_example(api, db, fund, clock)


def worked_example(api, db, fund, clock) -> dict:
    """FY2567 (1 Oct 2023 - 30 Sep 2024) of a small fund, a community enterprise and a welfare fund.

    Fund: capital 1,000,000.00 on 1 Oct 2023. Loan A, 10,000.00 at 12 % over three months to a
    Nakhon Sawan cooperative, disbursed 31 Jan 2024 and repaid 3,400.22 + 3,400.22 + 3,400.23
    (interest 100.00 + 67.00 + 33.67 = 200.67). Loan B, 50,000.00 disbursed 1 Aug 2024, its
    first instalment due 1 Sep 2024 unpaid at 30 Sep (29 days past due: pass). 20,000.00 invested
    in the enterprise on 1 Mar 2024, impaired by 2,000.00 on 30 Sep; a dividend of 500.00 on
    15 Sep; 1,500.00 of programme expenses (tagged programme network-operations) and 300.00 of
    administration on 1 Jul.
    Enterprise: a sale of 10,000.00 on 10 May 2024, whose 2 % welfare contribution (200.00) is
    payable to the welfare fund; 150.00 of it settled on 10 Jun. Welfare fund: the same 200.00
    receivable from the enterprise, 150.00 received.
    """
    clock.moment = AFTER_FY2567
    centre = _post(api, "/v1/parties", {"kind": "incubation_centre", "name_th": "ศูนย์บ่มเพาะเขาดิน",
                                        "region": "north", "province": "Nakhon Sawan"})  # fmt: skip
    coop = _post(api, "/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์เคหสถานเก้าเลี้ยว",
                                      "name_en": "Kao Liao Housing Cooperative", "region": "north",
                                      "province": "Nakhon Sawan", "centre_id": centre["id"]})  # fmt: skip
    enterprise = _post(api, "/v1/parties", {"kind": "community_enterprise", "name_th": "วิสาหกิจข้าวอินทรีย์",
                                            "name_en": "Organic Rice Enterprise", "region": "north",
                                            "province": "Chiang Mai"})  # fmt: skip
    welfare = _post(api, "/v1/parties", {"kind": "welfare_fund", "name_th": "กองทุนสวัสดิการชุมชนเขาดิน",
                                         "region": "north", "province": "Nakhon Sawan"})  # fmt: skip
    book = fund["book_id"]
    _entry(api, book, "2023-10-01", (fund["1100"], "1000000.00"), (fund["3100"], "-1000000.00"))
    fund = {**fund, "product_id": _post(api, "/v1/loan-products", product_body(fund))["id"]}
    loan_a = _loan(api, db, fund, coop["id"], "10000.00", "1000.00", "2024-01-31")
    for day, amount in (("2024-02-29", "3400.22"), ("2024-03-31", "3400.22"), ("2024-04-30", "3400.23")):
        body = {"amount": amount, "effective_date": day}
        assert loan_a["officer"].post(f"/v1/loans/{loan_a['id']}/repayments", body, f"r{day}").status_code == 201
    loan_b = _loan(api, db, fund, coop["id"], "50000.00", "5000.00", "2024-08-01")
    invested = _account(api, book, "1300-E", "Rice", "asset", "debit_or_zero", fund["1300"], enterprise["id"])
    impaired = _account(api, book, "1390-E", "Rice", "asset", "credit_or_zero", fund["1390"], enterprise["id"])
    _entry(api, book, "2024-03-01", (invested, "20000.00"), (fund["1100"], "-20000.00"))
    _entry(api, book, "2024-09-30", (fund["5300"], "2000.00"), (impaired, "-2000.00"))
    _entry(api, book, "2024-09-15", (fund["1100"], "500.00"), (fund["4300"], "-500.00"))
    _entry(api, book, "2024-07-01", (fund["5400"], "1500.00"), (fund["1100"], "-1500.00"),
           dimensions={"programme": "network-operations"})  # fmt: skip
    _entry(api, book, "2024-07-01", (fund["5500"], "300.00"), (fund["1100"], "-300.00"))

    shop = _post(api, "/v1/books", {"code": "RICE", "kind": "enterprise", "name_th": "วิสาหกิจข้าวอินทรีย์",
                                    "name_en": "Organic Rice", "party_id": enterprise["id"]})  # fmt: skip
    wf = _post(api, "/v1/books", {"code": "WF-KD", "kind": "welfare_fund", "name_th": "กองทุนสวัสดิการเขาดิน",
                                  "name_en": "Khao Din Welfare Fund", "party_id": welfare["id"]})  # fmt: skip
    shop_ids = {a["code"]: a["id"] for a in api.get(f"/v1/books/{shop['id']}/accounts", limit=100).json()["data"]}
    wf_ids = {a["code"]: a["id"] for a in api.get(f"/v1/books/{wf['id']}/accounts", limit=100).json()["data"]}
    payable = _account(api, shop["id"], "2200-W", "Welfare fund", "liability", "credit_or_zero", shop_ids["2200"],
                       welfare["id"])  # fmt: skip
    receivable = _account(api, wf["id"], "1200-E", "Rice", "asset", "debit_or_zero", wf_ids["1200"],
                          enterprise["id"])  # fmt: skip
    _entry(api, shop["id"], "2024-05-10", (shop_ids["1100"], "10000.00"), (shop_ids["4100"], "-10000.00"))
    _entry(api, shop["id"], "2024-05-10", (shop_ids["5200"], "200.00"), (payable, "-200.00"))
    _entry(api, wf["id"], "2024-05-10", (receivable, "200.00"), (wf_ids["4400"], "-200.00"))
    _entry(api, shop["id"], "2024-06-10", (payable, "150.00"), (shop_ids["1100"], "-150.00"))
    _entry(api, wf["id"], "2024-06-10", (wf_ids["1100"], "150.00"), (receivable, "-150.00"))
    return {**fund, "coop": coop, "centre": centre, "enterprise": enterprise, "welfare": welfare, "shop": shop,
            "wf": wf, "payable": payable, "receivable": receivable, "invested": invested, "impaired": impaired,
            "loan_a": loan_a["id"], "loan_b": loan_b["id"]}  # fmt: skip


def _lines(section: list[dict]) -> dict[str, str]:
    return {line["code"]: line["amount"] for line in section}


# --- the worked example ------------------------------------------------------------------------


def test_fy2567_statement_of_financial_position(api, fy2567):
    sofp = api.get("/v1/reports/financial-position", book_id=fy2567["book_id"], as_of="2024-09-30").json()
    # Cash: 1,000,000 - 10,000 + 10,200.67 (loan A repaid with 200.67 interest) - 50,000 (loan B)
    #       - 20,000 (investment) + 500 (dividend) - 1,500 - 300 = 928,900.67
    assert _lines(sofp["assets"]) == {"1100": "928900.67", "1200": "50000.00", "1300": "20000.00", "1390": "-2000.00"}
    assert sofp["total_assets"] == {"amount": "996900.67", "prior": "0.00"}
    assert sofp["liabilities"] == [] and _lines(sofp["equity"]) == {"3100": "1000000.00"}
    # Income 200.67 + 500 = 700.67; expenses 2,000 + 1,500 + 300 = 3,800: a deficit of 3,099.33, and
    # 1,000,000 - 3,099.33 = 996,900.67 = the assets.
    assert sofp["unclosed_surplus"]["amount"] == "-3099.33"
    assert sofp["total_liabilities_and_equity"]["amount"] == "996900.67"
    assert sofp["prior_as_of"] == "2023-09-30" and not sofp["consolidated"]


def test_fy2567_income_statement_by_fiscal_year_with_comparative(api, fy2567):
    income = api.get("/v1/reports/income-statement", book_id=fy2567["book_id"], fiscal_year=2567).json()
    assert (income["date_from"], income["date_to"]) == ("2023-10-01", "2024-09-30")
    assert (income["prior_from"], income["prior_to"]) == ("2022-10-01", "2023-09-30")
    assert _lines(income["income"]) == {"4100": "200.67", "4300": "500.00"}
    assert _lines(income["expenses"]) == {"5300": "2000.00", "5400": "1500.00", "5500": "300.00"}
    assert income["surplus"] == {"amount": "-3099.33", "prior": "0.00"}
    by_dates = api.get("/v1/reports/income-statement", book_id=fy2567["book_id"], **{"from": "2024-07-01",
                                                                                      "to": "2024-09-30"})  # fmt: skip
    # The fourth quarter: dividend 500; impairment 2,000, programme 1,500, administration 300.
    assert by_dates.json()["surplus"]["amount"] == "-3300.00"


def test_fy2567_trial_balance_rolled_up_and_drilled_down(api, fy2567):
    full = api.get("/v1/reports/trial-balance", book_id=fy2567["book_id"], as_of="2024-09-30").json()
    assert full["total_debit"] == full["total_credit"]
    # Debits: cash 928,900.67, loan B 50,000, investment 20,000, expenses 3,800 = 1,002,700.67.
    assert full["total_debit"] == "1002700.67"
    top = api.get("/v1/reports/trial-balance", book_id=fy2567["book_id"], as_of="2024-09-30", depth=1).json()
    assert top["total_debit"] == "1002700.67" and all(line["level"] == 1 for line in top["lines"])
    loans = next(line for line in top["lines"] if line["code"] == "1200")
    assert loans["debit"] == "50000.00"
    drill = api.get("/v1/reports/trial-balance", book_id=fy2567["book_id"], as_of="2024-09-30",
                    account_id=fy2567["1200"]).json()  # fmt: skip
    codes = {line["code"]: line["debit"] for line in drill["lines"]}
    assert codes == {"1200": "0.00", "1200-01": "0.00", f"1200-L{fy2567['loan_a']}": "0.00",
                     f"1200-L{fy2567['loan_b']}": "50000.00"}  # fmt: skip


def test_fy2567_trial_balance_with_movements(api, fy2567):
    report = api.get("/v1/reports/trial-balance/movements", book_id=fy2567["book_id"],
                     **{"from": "2024-07-01", "to": "2024-09-30"}).json()  # fmt: skip
    cash = next(line for line in report["lines"] if line["code"] == "1100")
    # At 30 June: 1,000,000 - 10,000 + 10,200.67 - 20,000 = 980,200.67; then -50,000 + 500 - 1,800.
    assert (cash["opening"], cash["movement"], cash["closing"]) == ("980200.67", "-51300.00", "928900.67")


def test_fy2567_schedules(api, fy2567):
    loans = api.get("/v1/reports/loans-receivable", book_id=fy2567["book_id"], as_of="2024-09-30").json()
    assert [(line["loan_id"], line["outstanding"], line["days_past_due"], line["loan_class"])
            for line in loans["lines"]] == [(fy2567["loan_b"], "50000.00", 29, "pass")]  # fmt: skip
    assert loans["total_outstanding"] == "50000.00" and loans["net"] == "50000.00"
    assert loans["classes"][0] == {"loan_class": "pass", "count": 1, "outstanding": "50000.00"}
    investments = api.get("/v1/reports/investments", book_id=fy2567["book_id"], as_of="2024-09-30").json()
    [line] = investments["lines"]
    assert (line["party_id"], line["balances"], line["net"]) == (
        fy2567["enterprise"]["id"], {"1300": "20000.00", "1390": "-2000.00"}, "18000.00")  # fmt: skip
    welfare = api.get("/v1/reports/welfare-contributions", book_id=fy2567["wf"]["id"], as_of="2024-09-30").json()
    assert [(line["party_id"], line["net"]) for line in welfare["lines"]] == [(fy2567["enterprise"]["id"], "50.00")]
    wrong = api.get("/v1/reports/welfare-contributions", book_id=fy2567["book_id"])
    refused(wrong, 422, "invalid_request")


def test_fy2567_general_ledger(api, fy2567):
    ledger = api.get("/v1/reports/general-ledger", book_id=fy2567["book_id"], fiscal_year=2567,
                     account_id=fy2567["1100"]).json()  # fmt: skip
    [cash] = ledger["accounts"]
    assert (cash["opening_balance"], cash["closing_balance"]) == ("0.00", "928900.67")
    assert cash["lines"][0]["amount"] == "1000000.00" and cash["lines"][-1]["running_balance"] == "928900.67"
    everything = api.get("/v1/reports/general-ledger", book_id=fy2567["book_id"], fiscal_year=2567).json()
    assert {a["code"] for a in everything["accounts"]} >= {"1100", "4100", "5500", "1300-E"}


def test_fy2567_in_thai_and_english_files(api, fy2567):
    sofp = api.get("/v1/reports/financial-position", book_id=fy2567["book_id"], as_of="2024-09-30", format="csv",
                   lang="th")  # fmt: skip
    assert sofp.status_code == 200 and sofp.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(sofp.content.decode("utf-8-sig"))))
    assert rows[0] == ["รหัสบัญชี", "ชื่อบัญชี", "30 ก.ย. 2567", "30 ก.ย. 2566"]  # each column its date
    assert ["1100", "เงินฝากธนาคาร", "928900.67", "0.00"] in rows
    assert rows[-1][1:3] == ["รวมหนี้สินและทุน", "996900.67"]
    english = api.get("/v1/reports/income-statement", book_id=fy2567["book_id"], fiscal_year=2567, format="csv")
    lines = list(csv.reader(io.StringIO(english.text)))
    assert ["4100", "Interest income", "200.67", "0.00"] in lines
    assert lines[-1][1:3] == ["Surplus (deficit)", "-3099.33"]
    xlsx = api.get("/v1/reports/trial-balance", book_id=fy2567["book_id"], as_of="2024-09-30", format="xlsx",
                   lang="th")  # fmt: skip
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    [totals] = [[cell.value for cell in row] for row in sheet.iter_rows() if row[1].value == "รวม"]
    assert [str(v) for v in totals[2:]] == ["1002700.67", "1002700.67"]
    pdf = api.get("/v1/reports/income-statement", book_id=fy2567["book_id"], fiscal_year=2567, format="pdf", lang="th")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_fy2567_on_paper(api, fy2567):
    """What a person reads: the unit, each comparative column headed by its dates, a deficit in
    parentheses and in Thai words with ลบ, the loan classes in Thai."""
    income = pdf_pages(api.get("/v1/reports/income-statement", book_id=fy2567["book_id"], fiscal_year=2567,
                               format="pdf", lang="th").content)[0]  # fmt: skip
    assert "หน่วย: บาท" in income
    assert "1 ต.ค. 2566 – 30 ก.ย. 2567" in income and "1 ต.ค. 2565 – 30 ก.ย. 2566" in income
    assert "(3,099.33)" in income and "-3,099.33" not in income
    assert "ลบสามพันเก้าสิบเก้าบาทสามสิบสามสตางค์" in income
    english = pdf_pages(api.get("/v1/reports/financial-position", book_id=fy2567["book_id"], as_of="2024-09-30",
                                format="pdf").content)[0]  # fmt: skip
    assert "Unit: baht" in english and "30 Sep 2024 30 Sep 2023" in english
    assert "(2,000.00)" in english  # the impairment of the investment
    loans = api.get("/v1/reports/loans-receivable", book_id=fy2567["book_id"], as_of="2024-09-30", format="xlsx",
                    lang="th")  # fmt: skip
    classes = [row[3].value for row in load_workbook(io.BytesIO(loans.content)).active.iter_rows(min_row=6)]
    assert "ปกติ" in classes and "pass" not in classes


def _cells(xlsx) -> list[list]:
    return [[cell.value for cell in row] for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows()]


@pytest.mark.parametrize("path", ["/v1/reports/trial-balance", "/v1/reports/financial-position"])
def test_a_statement_at_a_date_takes_a_fiscal_year_in_every_format(api, fy2567, path):
    """`fiscal_year=2567` is the statement at its last day, 30 Sep 2024, whatever the format: the
    same figures as `as_of=2024-09-30` (before, the parameter was ignored and today's came back)."""
    book = fy2567["book_id"]
    by_year = api.get(path, book_id=book, fiscal_year=2567).json()
    by_day = api.get(path, book_id=book, as_of="2024-09-30").json()
    assert by_year["as_of"] == "2024-09-30" and by_year["fiscal_year"] == 2567 and by_day["fiscal_year"] is None
    assert {**by_year, "fiscal_year": None} == by_day
    for format in ("csv", "xlsx", "pdf"):
        year_file = api.get(path, book_id=book, fiscal_year=2567, format=format, lang="th")
        day_file = api.get(path, book_id=book, as_of="2024-09-30", format=format, lang="th")
        assert year_file.status_code == 200 and year_file.headers["content-type"] == day_file.headers["content-type"]
        if format == "csv":
            assert year_file.content == day_file.content
        elif format == "xlsx":
            assert _cells(year_file) == _cells(day_file)
        else:
            assert pdf_pages(year_file.content) == pdf_pages(day_file.content)
            assert "30 ก.ย. 2567" in pdf_pages(year_file.content)[0]
    refused(api.get(path, book_id=book, fiscal_year=2567, as_of="2024-09-30"), 422, "invalid_request")
    refused(api.get(path, book_id=book, fiscal_year=3000), 422, "fiscal_year_out_of_range")


# --- consolidation and cuts --------------------------------------------------------------------


def test_consolidation_eliminates_the_contributions_between_the_books(api, fy2567):
    books = [fy2567["shop"]["id"], fy2567["wf"]["id"]]
    apart = [api.get("/v1/reports/trial-balance", book_id=b, as_of="2024-09-30").json() for b in books]
    together = api.get("/v1/reports/trial-balance", book_id=books, as_of="2024-09-30").json()
    assert together["consolidated"] and together["inter_book_difference"] is None
    eliminated = {line["account_id"]: line["elimination"] for line in together["lines"] if line["elimination"]}
    # The enterprise owes 50.00 (credit) and the welfare fund is owed 50.00 (debit): both go.
    assert eliminated == {fy2567["payable"]: "50.00", fy2567["receivable"]: "-50.00"}
    assert together["total_debit"] == together["total_credit"]
    assert float(together["total_debit"]) < sum(float(a["total_debit"]) for a in apart)
    sofp = api.get("/v1/reports/financial-position", book_id=books, as_of="2024-09-30").json()
    # Cash: enterprise 10,000 - 150 = 9,850, welfare fund 150: 10,000.00, nothing else owed.
    assert sofp["total_assets"]["amount"] == "10000.00" and sofp["liabilities"] == []
    # Income 10,000 + 200 less expenses 200: the contribution is income of one and expense of the other.
    assert sofp["unclosed_surplus"]["amount"] == "10000.00"


def test_cuts_by_programme_province_and_centre(api, fy2567):
    book = fy2567["book_id"]
    by_tag = api.get("/v1/reports/income-statement", book_id=book, fiscal_year=2567, dimension="programme",
                     value="network-operations").json()  # fmt: skip
    assert _lines(by_tag["expenses"]) == {"5400": "1500.00"} and by_tag["income"] == []
    enrolled = api.post(f"/v1/parties/{fy2567['enterprise']['id']}/programmes", {"programme": "co-investment"})
    assert enrolled.status_code == 201 and enrolled.json()["programmes"] == ["co-investment"]
    by_party = api.get("/v1/reports/trial-balance", book_id=book, as_of="2024-09-30", dimension="programme",
                       value="co-investment").json()  # fmt: skip
    # The investment (1300-E against cash) and its impairment (5300 against 1390-E): whole entries.
    assert by_party["total_debit"] == by_party["total_credit"] == "22000.00"
    province = api.get("/v1/reports/income-statement", book_id=book, fiscal_year=2567, dimension="province",
                       value="Nakhon Sawan").json()  # fmt: skip
    assert _lines(province["income"]) == {"4100": "200.67"}
    centre = api.get("/v1/reports/income-statement", book_id=book, fiscal_year=2567, dimension="centre",
                     value=str(fy2567["centre"]["id"])).json()  # fmt: skip
    assert centre["income"] == province["income"]


# --- bad input and access ----------------------------------------------------------------------


def test_bad_input_is_a_clear_problem(api, fy2567):
    book = fy2567["book_id"]
    refused(api.get("/v1/reports/trial-balance", book_id=999), 404, "not_found")
    refused(api.get("/v1/reports/trial-balance", book_id=book, account_id=99999), 404, "not_found")
    refused(api.get("/v1/reports/trial-balance", book_id=book, dimension="colour", value="red"), 422,
            "unknown_dimension")  # fmt: skip
    refused(api.get("/v1/reports/trial-balance", book_id=book, dimension="centre", value=str(fy2567["coop"]["id"])),
            422, "unknown_dimension")  # fmt: skip
    refused(api.get("/v1/reports/income-statement", book_id=book, **{"from": "2024-09-30", "to": "2024-01-01"}), 422,
            "invalid_date_range")  # fmt: skip
    refused(api.get("/v1/reports/income-statement", book_id=book, fiscal_year=3000), 422, "fiscal_year_out_of_range")
    refused(api.get("/v1/reports/income-statement", book_id=book), 422, "invalid_request")
    refused(api.get("/v1/reports/trial-balance", book_id=book, format="docx"), 422, "unsupported_format")
    refused(api.get("/v1/reports/trial-balance", book_id=book, lang="fr"), 422, "unsupported_language")
    refused(api.get("/v1/reports/trial-balance"), 422, "invalid_request")
    refused(api.get("/v1/reports/trial-balance", book_id=2**70), 422, "invalid_request")


def test_enterprise_tokens_see_their_own_book_and_party_only(api, db, fy2567):
    own = api.as_(make_user(db, "rice", "enterprise", fy2567["enterprise"]["id"]))
    assert own.get("/v1/reports/trial-balance", book_id=fy2567["shop"]["id"]).status_code == 200
    refused(own.get("/v1/reports/trial-balance", book_id=fy2567["book_id"]), 404, "not_found")
    refused(own.get("/v1/reports/trial-balance", book_id=[fy2567["shop"]["id"], fy2567["wf"]["id"]]), 404, "not_found")
    mine = own.get("/v1/reports/investments", book_id=fy2567["book_id"], as_of="2024-09-30").json()
    assert [line["party_id"] for line in mine["lines"]] == [fy2567["enterprise"]["id"]]
    assert own.get("/v1/reports/loans-receivable", book_id=fy2567["book_id"], as_of="2024-09-30").json()["lines"] == []
    theirs = own.get("/v1/reports/welfare-contributions", book_id=fy2567["wf"]["id"], as_of="2024-09-30").json()
    assert [line["net"] for line in theirs["lines"]] == ["50.00"] and theirs["unassigned"] == {"1200": "0.00"}
    other = api.as_(make_user(db, "welfare", "enterprise", fy2567["welfare"]["id"]))
    refused(other.get("/v1/reports/investments", book_id=fy2567["book_id"]), 404, "not_found")
