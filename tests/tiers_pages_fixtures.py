"""A housing cooperative with its own book over the demo, for the three tiers' pages (page tests
and the browser journey): 20,000.00 of cash (5,000.00 of it the reserve), two members, a savings
rule (100.00 minimum, 200.00 a month), CODI's
loan of 50,000.00 at 4 % over 12 months disbursed on 30 April 2024 (its first instalment due
31 May), and a loan of 3,000.00 to the first member at 6 % over 3 months disbursed on 30 April,
its first instalment (due 30 May) not paid: the member is in arrears and May falls short. The
first member's person signs in as `member-1` with the password `member-demo`."""

from dataclasses import dataclass

from fastapi.testclient import TestClient

from tests.conftest import Api, make_user
from tests.test_web_sessions import person

MEMBER_PASSWORD = "member-demo"


@dataclass(frozen=True)
class Cooperative:
    id: int
    book_id: int
    members: list[int]
    codi_loan: int
    member_loan: int
    other_member: int  # of another organisation


def created(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def cooperative(app, db, demo) -> Cooperative:
    """Made through the API, as an office would; the member's person with a password."""
    client = TestClient(app)
    admin = Api(client, demo.admin_token)
    officer, approver = (admin.as_(make_user(db, f"tier-{role}", role)) for role in ("officer", "approver"))
    coop = created(admin.post("/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์เคหสถานบ้านมั่นคงริมคลอง",
                                              "region": "central", "province": "Bangkok"}))["id"]  # fmt: skip
    book = created(admin.post("/v1/books", {"code": "ORG-RIMKHLONG", "kind": "organisation",
                                            "name_th": "สมุดบัญชีสหกรณ์ริมคลอง", "party_id": coop}))["id"]  # fmt: skip
    codes = {a["code"]: a["id"] for a in admin.get(f"/v1/books/{book}/accounts", limit=200).json()["data"]}
    created(admin.entry(book, [(codes["1100"], "20000.00"), (codes["3100"], "-15000.00"), (codes["3200"], "-5000.00")],
                        day="2024-01-02"))  # fmt: skip
    members = [created(admin.post("/v1/parties", {"kind": "member", "name_th": name, "member_of": coop}))["id"]
               for name in ("นางสมใจ รักออม", "นายมานะ ขยันดี")]  # fmt: skip
    rule = {"minimum": "100.00", "withdraw_in_arrears": False, "monthly_deposit": "200.00", "rate_percent": "2"}
    created(client.put(f"/v1/organisations/{coop}/savings/rule", json=rule, headers=officer.headers()))
    for member, amount in zip(members, ("5000.00", "1000.00"), strict=True):
        created(officer.post(f"/v1/organisations/{coop}/savings/deposits",
                             {"member_id": member, "amount": amount, "effective_date": "2024-01-05"}))  # fmt: skip
    fund_book = next(b["id"] for b in admin.get("/v1/books", limit=100).json()["data"] if b["kind"] == "fund")
    codi_loan = _paid_out(officer, approver, {"book_id": fund_book, "code": "BAAN-MANKONG-4", "name_th": "บ้านมั่นคง",
                                              "rate_annual_percent": "4", "term_instalments": 12},
                          coop, "50000.00", savings="6000.00")  # fmt: skip
    member_loan = _paid_out(officer, approver, {"book_id": book, "code": "MEMBER-6", "name_th": "เงินกู้สมาชิก",
                                                "rate_annual_percent": "6", "codi_rate_annual_percent": "4",
                                                "term_instalments": 3, "min_savings_percent": "0"},
                            members[0], "3000.00")  # fmt: skip
    other = created(admin.post("/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์อื่น"}))["id"]
    stranger = created(admin.post("/v1/parties", {"kind": "member", "name_th": "สมาชิกกลุ่มอื่น", "member_of": other}))
    assert admin.post("/v1/close-of-business", {"date": "2024-06-13"}).status_code == 200
    person(db, "member-1", "enterprise", members[0], MEMBER_PASSWORD)
    return Cooperative(coop, book, members, codi_loan, member_loan, stranger["id"])


def _paid_out(officer: Api, approver: Api, product: dict, borrower: int, amount: str, savings: str = "0.00") -> int:
    """A loan of `amount` under a new product, approved and disbursed on 30 April 2024 (`savings`:
    what the borrower's own book holds, for CODI's check)."""
    product_id = created(officer.post("/v1/loan-products", product))["id"]
    loan = created(officer.post("/v1/loans", {"product_id": product_id, "borrower_party_id": borrower,
                                              "amount": amount, "savings": savings}))  # fmt: skip
    created(approver.post(f"/v1/loans/{loan['id']}/approval", {}))
    created(officer.post(f"/v1/loans/{loan['id']}/disbursements", {"amount": amount, "effective_date": "2024-04-30"}))
    return loan["id"]
