"""docs/tiers.md, written from the worked year of `tests.tiers_year` as the API reports it: the
set-up, the months with CODI, the two households in arrears, the cooperative's trial balance and
income statement, CODI's look-through line and the reconciliation across tiers.

    PYTHONPATH=. python -m tests.tiers_report > docs/tiers.md
"""

import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from ledger.money import format_amount, parse_amount
from store.engine import Database
from tests import tiers_year as y
from tests.conftest import Api, FixedClock, make_user
from tests.tiers_year import FISCAL_YEAR, YEAR_END, Year, ok

DOC = Path(__file__).parent.parent / "docs" / "tiers.md"
MONTH_COLUMNS = ["month เดือน", "collected from members เก็บจากสมาชิก", "due to CODI ครบกำหนดชำระ พอช.",
                 "remitted ส่งชำระ", "shortfall ขาด", "from reserve จากเงินสำรอง",
                 "arrears with CODI ค้างชำระ พอช."]  # fmt: skip
ARREARS_COLUMNS = ["household ครัวเรือน", "principal outstanding เงินต้นคงเหลือ", "past due ค้างชำระ",
                   "days past due วันค้าง", "accruing รับรู้ดอกเบี้ยค้างรับ"]  # fmt: skip
THAI_MONTHS = "ม.ค. ก.พ. มี.ค. เม.ย. พ.ค. มิ.ย. ก.ค. ส.ค. ก.ย. ต.ค. พ.ย. ธ.ค.".split()


def table(header: list[str], rows: list[list]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def thai_month(day) -> str:
    return f"{THAI_MONTHS[day.month - 1]} {day.year + 543}"


def months_table(year: Year) -> str:
    rows = [[f"{row['month_start'][:7]} ({thai_month(y.date.fromisoformat(row['month_start']))})", row["collected"],
             row["due"], row["remitted"], row["shortfall"], row["from_reserve"], row["arrears"]]
            for row in year.months]  # fmt: skip
    return table(MONTH_COLUMNS, rows)


def arrears_table(api, year: Year) -> str:
    rows = []
    for number in (y.STOPS_PAYING[0], y.MISSES[0]):
        loan = ok(api.get(f"/v1/loans/{year.loans[year.members[number - 1]]}", as_of=f"{YEAR_END}"))
        f = loan["figures"]
        rows.append([year.names[year.members[number - 1]], f["principal_outstanding"], f["total_past_due"],
                     f["days_past_due"], "yes" if loan["accruing"] else "no (หยุดรับรู้รายได้)"])  # fmt: skip
    return table(ARREARS_COLUMNS, rows)


def trial_balance(api, year: Year) -> str:
    report = ok(api.get("/v1/reports/trial-balance", book_id=year.book, as_of=f"{YEAR_END}", depth=1))
    rows = [[line["code"], line["name_th"], line["name_en"], line["debit"], line["credit"]] for line in report["lines"]
            if line["debit"] != "0.00" or line["credit"] != "0.00"]  # fmt: skip
    rows.append(["", "รวม", "Total", report["total_debit"], report["total_credit"]])
    return table(["code", "บัญชี", "account", "debit เดบิต", "credit เครดิต"], rows)


def income_statement(api, year: Year) -> tuple[str, dict]:
    report = ok(api.get("/v1/reports/income-statement", book_id=year.book, fiscal_year=FISCAL_YEAR))
    rows = [[line["code"], line["name_th"], line["name_en"], line["amount"]] for line in report["income"]]
    rows.append(["", "รวมรายได้", "Total income", report["total_income"]["amount"]])
    rows += [[line["code"], line["name_th"], line["name_en"], line["amount"]] for line in report["expenses"]]
    rows.append(["", "รวมค่าใช้จ่าย", "Total expenses", report["total_expenses"]["amount"]])
    rows.append(["", "ส่วนเกิน (ขาด) สุทธิ", "Surplus", report["surplus"]["amount"]])
    return table(["code", "บัญชี", "account", f"ปีงบประมาณ {FISCAL_YEAR}"], rows), report


def look_through(api, year: Year) -> str:
    report = ok(api.get("/v1/reports/look-through", organisation_id=year.org, as_of=f"{YEAR_END}"))
    [line] = report["organisations"]
    keys = ["members", "loans", "outstanding", "arrears", "over_30", "over_90", "par30_percent", "par90_percent",
            "due", "collected", "collection_percent", "margin", "surplus", "reserve"]  # fmt: skip
    return table(["figure", "value"], [[f"`{key}`", line[key]] for key in keys])


def reconciliation(api) -> str:
    [line] = ok(api.get("/v1/reports/tier-reconciliation"))["organisations"]
    keys = ["codi_principal", "org_principal", "principal_difference", "codi_interest", "org_interest",
            "interest_difference", "differs"]  # fmt: skip
    return table(["figure", "value"], [[f"`{key}`", str(line[key]).lower()] for key in keys])


def split(api, year: Year) -> dict:
    """The households' interest split between CODI and the cooperative, summed over their loans."""
    total = {"charged": 0, "charged_owed_to_codi": 0, "charged_margin": 0}
    for loan in year.loans.values():
        parts = ok(api.get(f"/v1/loans/{loan}", as_of=f"{YEAR_END}"))["interest_split"]
        for key in total:
            total[key] += parse_amount(parts[key])
    return {key: format_amount(value) for key, value in total.items()}


def report(api, officer, approver, clock) -> str:
    """Play the year and write docs/tiers.md's text."""
    year = y.run_year(api, officer, approver, clock)
    statement, income = income_statement(api, year)
    figures = {
        "households": y.HOUSEHOLDS, "loan": y.LOAN, "codi_loan": y.CODI_LOAN, "opening": y.OPENING_SAVINGS,
        "monthly": y.MONTHLY_SAVING, "savings_rate": y.SAVINGS_RATE, "reserve": y.RESERVE, "term": y.TERM,
        "member_instalment": year.member_instalments[y.MONTHS[3]], "first_member": year.member_instalments[y.MONTHS[2]],
        "codi_instalment": year.codi_instalments[y.MONTHS[1]], "stops": y.STOPS_PAYING[0], "misses": y.MISSES[0],
        "months": months_table(year), "arrears": arrears_table(api, year), "trial_balance": trial_balance(api, year),
        "income": statement, "surplus": income["surplus"]["amount"], "look_through": look_through(api, year),
        "reconciliation": reconciliation(api), "savings_interest": year.interest["total"], **split(api, year),
        "fiscal_year": FISCAL_YEAR, "fiscal_year_note": f"{FISCAL_YEAR} (1 Oct 2023 – 30 Sep 2024)",
        "year_end": YEAR_END,
    }  # fmt: skip
    return TEXT.format(**figures)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/year.db")
        database.migrate()
        clock = FixedClock()
        with TestClient(create_app(database, clock), raise_server_exceptions=False) as client:
            api = Api(client, make_user(database, "admin", "admin"))
            officer, approver = (api.as_(make_user(database, n, n)) for n in ("officer", "approver"))
            sys.stdout.write(report(api, officer, approver, clock))
        database.dispose()


TEXT = (Path(__file__).parent / "tiers_text.md").read_text()

if __name__ == "__main__":
    main()
