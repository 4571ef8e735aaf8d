"""A worked year of one housing cooperative with 30 member households (issue 18), through the real
API: CODI lends the cooperative at 4 %, the cooperative lends on to its households at 6 %, they
save every month and repay, the cooperative remits CODI's instalment, two households fall into
arrears, one month's shortfall comes from the reserve, close of business runs every month end,
and the year ends with interest on savings. `run_year` plays it and returns the figures;
`tests.tiers_report` writes them as docs/tiers.md, which tests/test_tiers_year.py keeps exact.

    PYTHONPATH=. python -m tests.tiers_report > docs/tiers.md
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

HOUSEHOLDS = 30
LOAN = "100000.00"  # each household's housing loan from the cooperative
CODI_LOAN = "3000000.00"  # CODI's loan to the cooperative: the 30 households' loans
OPENING_SAVINGS = "10000.00"  # each household's savings when the year starts: 10 % of its loan
MONTHLY_SAVING = "500.00"
SAVINGS_RATE = "3"
RESERVE = "50000.00"  # the cooperative's reserve brought forward
TERM = 120  # months, both loans
MONTHS = [date(2023, m, 1) for m in (10, 11, 12)] + [date(2024, m, 1) for m in range(1, 10)]
STOPS_PAYING = (7, date(2024, 2, 1))  # household 7 pays nothing from February
MISSES = (19, (date(2024, 7, 1), date(2024, 8, 1)))  # household 19 misses July and August
FIRST_MEMBER_DUE = date(2023, 12, 25)  # households pay from December: November's comes from the reserve
FIRST_CODI_DUE = date(2023, 11, 28)
YEAR_END = date(2024, 9, 30)
FISCAL_YEAR = 2567


@dataclass
class Year:
    """What the year's report states."""

    members: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    loans: dict[int, int] = field(default_factory=dict)  # member -> loan id
    months: list[dict] = field(default_factory=list)
    org: int = 0
    book: int = 0
    fund_book: int = 0
    codi_loan: int = 0
    member_instalments: dict[date, str] = field(default_factory=dict)  # month -> a household's instalment
    codi_instalments: dict[date, str] = field(default_factory=dict)
    interest: dict = field(default_factory=dict)


def on(clock, day: date) -> None:
    """Move the business date to `day` (10:00 in Bangkok)."""
    clock.moment = datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)


def ok(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def run_year(api, officer, approver, clock) -> Year:
    """Play the year through `api` (admin), `officer` and `approver`, moving `clock`."""
    year = Year()
    on(clock, date(2023, 10, 2))
    open_books(api, year)
    lend(api, officer, approver, clock, year)
    for month in MONTHS[1:]:
        run_month(api, officer, clock, year, month)
    on(clock, date(2024, 10, 1))
    year.interest = ok(officer.post(f"/v1/organisations/{year.org}/savings/interest", {"fiscal_year": FISCAL_YEAR}))
    return year


def accounts(api, book: int) -> dict[str, int]:
    return {a["code"]: a["id"] for a in ok(api.get(f"/v1/books/{book}/accounts", limit=200))["data"]}


def open_books(api, year: Year) -> None:
    """CODI's fund book with its capital; the cooperative, its book, its reserve, its 30 households
    and their opening savings (one bulk deposit); its savings and lending rules."""
    year.fund_book = ok(api.post("/v1/books", {"code": "CODI", "kind": "fund", "name_th": "กองทุนพัฒนาองค์กรชุมชน"}))["id"]
    fund = accounts(api, year.fund_book)
    ok(api.entry(year.fund_book, [(fund["1100"], "10000000.00"), (fund["3100"], "-10000000.00")], day="2023-10-02"))
    year.org = ok(api.post("/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์เคหสถานบ้านมั่นคงริมคลอง"}))["id"]
    year.book = ok(api.post("/v1/books", {"code": "COOP", "kind": "organisation", "name_th": "สมุดบัญชีสหกรณ์",
                                          "party_id": year.org}))["id"]  # fmt: skip
    org = accounts(api, year.book)
    ok(api.entry(year.book, [(org["1100"], RESERVE), (org["3200"], f"-{RESERVE}")], day="2023-10-02"))
    for n in range(1, HOUSEHOLDS + 1):
        name = f"ครัวเรือนที่ {n}"
        member = ok(api.post("/v1/parties", {"kind": "member", "name_th": name, "member_of": year.org}))["id"]
        year.members.append(member)
        year.names[member] = name
    put = api.client.put
    ok(put(f"/v1/organisations/{year.org}/savings/rule", headers=api.headers("rule"),
           json={"minimum": "1000.00", "withdraw_in_arrears": False, "monthly_deposit": MONTHLY_SAVING,
                 "rate_percent": SAVINGS_RATE}))  # fmt: skip
    ok(put(f"/v1/organisations/{year.org}/lending-rule", headers=api.headers("lending"),
           json={"savings_multiple": "10", "maximum_loan": LOAN}))  # fmt: skip
    deposit_month(api, year, date(2023, 10, 2), OPENING_SAVINGS)


def deposit_month(api, year: Year, day: date, amount: str | None = None) -> None:
    """Every household's deposit on `day`, one bulk request (no amount: the rule's monthly one)."""
    lines = [{"member_id": m} | ({"amount": amount} if amount else {}) for m in year.members]
    ok(api.post(f"/v1/organisations/{year.org}/savings/deposits/bulk",
                {"effective_date": day.isoformat(), "deposits": lines}))  # fmt: skip


def lend(api, officer, approver, clock, year: Year) -> None:
    """CODI's loan to the cooperative (its savings-first check reads the book), then each
    household's loan out of it, all paid out in October."""
    codi = ok(api.post("/v1/loan-products", {"book_id": year.fund_book, "code": "BMK-4", "name_th": "สินเชื่อบ้านมั่นคง",
                                             "rate_annual_percent": "4", "term_instalments": TERM}))  # fmt: skip
    member = ok(api.post("/v1/loan-products", {"book_id": year.book, "code": "HOME-6", "name_th": "เงินกู้สร้างบ้านสมาชิก",
                                               "rate_annual_percent": "6", "codi_rate_annual_percent": "4",
                                               "term_instalments": TERM, "min_savings_percent": "0"}))  # fmt: skip
    on(clock, date(2023, 10, 16))
    year.codi_loan = pay_out(officer, approver, {
        "product_id": codi["id"], "borrower_party_id": year.org, "amount": CODI_LOAN, "savings": "300000.00",
        "first_repayment_on": FIRST_CODI_DUE.isoformat()}, "2023-10-16")  # fmt: skip
    for m in year.members:
        year.loans[m] = pay_out(officer, approver, {
            "product_id": member["id"], "borrower_party_id": m, "amount": LOAN, "savings": OPENING_SAVINGS,
            "funded_by_loan_id": year.codi_loan, "first_repayment_on": FIRST_MEMBER_DUE.isoformat(),
        }, "2023-10-16")  # fmt: skip
    year.member_instalments = instalments(api, year.loans[year.members[0]])
    year.codi_instalments = instalments(api, year.codi_loan)
    on(clock, date(2023, 10, 31))
    ok(api.post("/v1/close-of-business", {"date": "2023-10-31"}))
    year.months.append(month_row(api, year, MONTHS[0]))


def pay_out(officer, approver, application: dict, day: str) -> int:
    loan = ok(officer.post("/v1/loans", application))["id"]
    ok(approver.post(f"/v1/loans/{loan}/approval", {}))
    ok(officer.post(f"/v1/loans/{loan}/disbursements", {"amount": application["amount"], "effective_date": day}))
    return loan


def instalments(api, loan: int) -> dict[date, str]:
    """The loan's instalments of the year by month."""
    schedule = ok(api.get(f"/v1/loans/{loan}/schedule"))["instalments"]
    return {
        date.fromisoformat(i["due_on"]).replace(day=1): i["total"] for i in schedule if i["due_on"] <= f"{YEAR_END}"
    }


def pays(member_number: int, month: date) -> bool:
    """Whether household `member_number` pays its instalment in `month`."""
    if month < FIRST_MEMBER_DUE.replace(day=1):
        return False
    if member_number == STOPS_PAYING[0]:
        return month < STOPS_PAYING[1]
    return not (member_number == MISSES[0] and month in MISSES[1])


def run_month(api, officer, clock, year: Year, month: date) -> None:
    """The month: deposits on the 5th, repayments on the 25th, CODI's instalment remitted on the
    28th (from the reserve, for what the households did not pay), close of business at its end."""
    on(clock, month.replace(day=28))
    deposit_month(api, year, month.replace(day=5))
    for number, member in enumerate(year.members, 1):
        if pays(number, month):
            repayment = {"amount": year.member_instalments[month], "effective_date": f"{month:%Y-%m}-25"}
            ok(officer.post(f"/v1/loans/{year.loans[member]}/repayments", repayment))
    remit(officer, year, month)
    end = last_day(month)
    on(clock, end)
    ok(api.post("/v1/close-of-business", {"date": end.isoformat()}))
    year.months.append(month_row(api, year, month))


def remit(officer, year: Year, month: date) -> None:
    due = ok(officer.get(f"/v1/organisations/{year.org}/remittances/{month:%Y-%m}"))
    shortfall = due["shortfall"]
    body = {"codi_loan_id": year.codi_loan, "month": f"{month:%Y-%m}", "on": f"{month:%Y-%m}-28", "amount": due["due"]}
    if shortfall != "0.00":
        body["from_reserve"] = shortfall
    ok(officer.post(f"/v1/organisations/{year.org}/remittances", body))


def month_row(api, year: Year, month: date) -> dict:
    return ok(api.get(f"/v1/organisations/{year.org}/remittances/{month:%Y-%m}"))


def last_day(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)
