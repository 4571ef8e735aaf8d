"""An organisation's own book (the second tier): made through the API from the organisation chart,
whose codes are the loan engine's default roles, so member loan products need no account codes."""

from ledger.charts import CHARTS, ORGANISATION_CHART, BookKind
from ledger.reports import SURPLUS_ACCOUNT_CODE
from store.loans import DEFAULT_ACCOUNT_CODES, OPTIONAL_ACCOUNT_CODES


def test_an_organisation_book_has_the_organisation_chart(api):
    party = api.post("/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์เคหสถานบ้านมั่นคงทดสอบ"})
    assert party.status_code == 201, party.text
    book = api.post("/v1/books", {"code": "ORG-1", "kind": "organisation", "name_th": "สมุดบัญชีสหกรณ์",
                                  "party_id": party.json()["id"]})  # fmt: skip
    assert book.status_code == 201, book.text
    accounts = api.get(f"/v1/books/{book.json()['id']}/accounts").json()["data"]
    assert [(a["code"], a["type"], a["name_th"]) for a in accounts] == [
        (line.code, line.type.value, line.name_th) for line in ORGANISATION_CHART
    ]
    product = api.post("/v1/loan-products", {"book_id": book.json()["id"], "code": "MEMBER-6", "name_th": "เงินกู้สมาชิก",
                                             "rate_annual_percent": "6", "term_instalments": 12})  # fmt: skip
    assert product.status_code == 201, product.text


def test_every_role_of_a_member_loan_and_the_surplus_are_in_the_chart():
    codes = {line.code: line for line in CHARTS[BookKind.organisation]}
    for code in (*DEFAULT_ACCOUNT_CODES.values(), *OPTIONAL_ACCOUNT_CODES.values()):
        assert code in codes, code
    assert codes[SURPLUS_ACCOUNT_CODE[BookKind.organisation]].type == "equity"
    assert {"2200", "2300", "2310", "5100", "3200"} <= codes.keys()
