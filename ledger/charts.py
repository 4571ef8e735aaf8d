"""Charts of accounts: the templates each kind of book starts from.

A chart is a tuple of `ChartLine`s; a parent code makes a control account whose balance rolls up
its children (a borrower's loan receivable is a child of 1200). Names are given in Thai and
English because statements are read in both.
"""

from dataclasses import dataclass
from enum import StrEnum

from ledger.accounts import AccountType, BalanceRule

A, L, E, IN, X = (AccountType.asset, AccountType.liability, AccountType.equity,
                 AccountType.income, AccountType.expense)  # fmt: skip
DEBIT, CREDIT, FREE = BalanceRule.debit_or_zero, BalanceRule.credit_or_zero, BalanceRule.none


class BookKind(StrEnum):
    fund = "fund"
    welfare_fund = "welfare_fund"
    enterprise = "enterprise"
    organisation = "organisation"


@dataclass(frozen=True)
class ChartLine:
    code: str
    name_en: str
    name_th: str
    type: AccountType
    rule: BalanceRule
    parent_code: str | None = None


def _chart(*rows: tuple) -> tuple[ChartLine, ...]:
    return tuple(ChartLine(*row) for row in rows)


FUND_CHART = _chart(
    ("1100", "Cash at bank", "เงินฝากธนาคาร", A, DEBIT),
    ("1200", "Loans receivable", "ลูกหนี้เงินกู้", A, DEBIT),
    ("1210", "Interest receivable", "ดอกเบี้ยค้างรับ", A, DEBIT),
    ("1220", "Penalty interest receivable", "ค่าปรับค้างรับ", A, DEBIT),
    ("1290", "Allowance for loan losses", "ค่าเผื่อหนี้สงสัยจะสูญ", A, CREDIT),
    ("1300", "Investments in community enterprises", "เงินลงทุนในวิสาหกิจชุมชน", A, DEBIT),
    ("1310", "Dividends receivable", "เงินปันผลค้างรับ", A, DEBIT),
    ("1390", "Allowance for impairment of investments", "ค่าเผื่อการด้อยค่าเงินลงทุน", A, CREDIT),
    ("2100", "Overpayments from borrowers", "เงินรับเกินจากผู้กู้", L, CREDIT),
    ("2200", "Welfare contributions payable", "เงินสมทบกองทุนสวัสดิการค้างจ่าย", L, CREDIT),
    ("2300", "Provisions", "ประมาณการหนี้สิน", L, CREDIT),
    ("3100", "Fund capital", "ทุนของกองทุน", E, CREDIT),
    ("3200", "Accumulated surplus", "ส่วนเกินสะสม", E, FREE),
    ("4100", "Interest income", "รายได้ดอกเบี้ย", IN, FREE),
    ("4200", "Penalty interest income", "รายได้ค่าปรับ", IN, FREE),
    ("4300", "Dividend income", "รายได้เงินปันผล", IN, FREE),
    ("4400", "Recoveries of loans written off", "รายได้หนี้สูญได้รับคืน", IN, FREE),
    ("4500", "Gains on disposal of investments", "กำไรจากการจำหน่ายเงินลงทุน", IN, FREE),
    ("4600", "Grant income", "รายได้เงินอุดหนุน", IN, FREE),
    ("5100", "Losses on disposal of investments", "ขาดทุนจากการจำหน่ายเงินลงทุน", X, FREE),
    ("5200", "Loan loss provision expense", "หนี้สงสัยจะสูญ", X, FREE),
    ("5300", "Impairment losses on investments", "ขาดทุนจากการด้อยค่าเงินลงทุน", X, FREE),
    ("5400", "Programme expenses", "ค่าใช้จ่ายโครงการ", X, FREE),
    ("5500", "Administrative expenses", "ค่าใช้จ่ายในการบริหาร", X, FREE),
)

WELFARE_FUND_CHART = _chart(
    ("1100", "Cash at bank", "เงินฝากธนาคาร", A, DEBIT),
    ("1200", "Contributions receivable from enterprises", "เงินสมทบค้างรับจากวิสาหกิจ", A, DEBIT),
    ("1300", "Matching contributions receivable", "เงินสมทบค้างรับจากหน่วยงาน", A, DEBIT),
    ("2100", "Contributions received in advance", "เงินสมทบรับล่วงหน้า", L, CREDIT),
    ("3100", "Fund balance", "ทุนกองทุนสวัสดิการ", E, CREDIT),
    ("3200", "Accumulated surplus", "ส่วนเกินสะสม", E, FREE),
    ("4100", "Member contributions", "เงินสมทบจากสมาชิก", IN, FREE),
    ("4200", "Local authority matching contributions", "เงินสมทบจากท้องถิ่น", IN, FREE),
    ("4300", "Government matching contributions", "เงินสมทบจากรัฐบาล", IN, FREE),
    ("4400", "Contributions from sales", "เงินสมทบจากการขาย", IN, FREE),
    ("4500", "Donations", "เงินบริจาค", IN, FREE),
    ("5100", "Benefits paid", "สวัสดิการจ่าย", X, FREE),
    ("5200", "Administration expenses", "ค่าใช้จ่ายในการบริหาร", X, FREE),
)

ENTERPRISE_CHART = _chart(
    ("1100", "Cash", "เงินสด", A, DEBIT),
    ("1200", "Trade receivables", "ลูกหนี้การค้า", A, DEBIT),
    ("1300", "Inventory", "สินค้าคงเหลือ", A, DEBIT),
    ("1400", "Welfare contributions paid in advance", "เงินสมทบสวัสดิการจ่ายล่วงหน้า", A, DEBIT),
    ("2100", "Trade payables", "เจ้าหนี้การค้า", L, CREDIT),
    ("2200", "Welfare contributions payable", "เงินสมทบสวัสดิการค้างจ่าย", L, CREDIT),
    ("2300", "Dividends payable", "เงินปันผลค้างจ่าย", L, CREDIT),
    ("3100", "Share capital", "ทุนเรือนหุ้น", E, CREDIT),
    ("3200", "Legal reserve", "ทุนสำรอง", E, CREDIT),
    ("3300", "Retained earnings", "กำไรสะสม", E, FREE),
    ("4100", "Sales", "รายได้จากการขาย", IN, FREE),
    ("5100", "Cost of sales", "ต้นทุนขาย", X, FREE),
    ("5200", "Welfare contribution expense", "ค่าใช้จ่ายเงินสมทบสวัสดิการ", X, FREE),
    ("5300", "Operating expenses", "ค่าใช้จ่ายดำเนินงาน", X, FREE),
)

# A savings group, housing cooperative or network: it lends CODI's money and its own on to its
# members (a sub-account of 1200 per member loan), holds their savings (a sub-account of 2200 per
# member) and owes CODI (2300, 2310). What members pay above CODI's rate is its margin (4100 less
# 5100, closed into 3300 at year end); the reserve (3200) is set aside from that surplus.
ORGANISATION_CHART = _chart(
    ("1100", "Cash", "เงินสดและเงินฝากธนาคาร", A, DEBIT),
    ("1200", "Member loans receivable", "ลูกหนี้เงินกู้สมาชิก", A, DEBIT),
    ("1210", "Interest receivable from members", "ดอกเบี้ยค้างรับจากสมาชิก", A, DEBIT),
    ("1220", "Penalty interest receivable from members", "ค่าปรับค้างรับจากสมาชิก", A, DEBIT),
    ("1290", "Allowance for member loan losses", "ค่าเผื่อหนี้สงสัยจะสูญ", A, CREDIT),
    ("2100", "Overpayments from members", "เงินรับเกินจากสมาชิก", L, CREDIT),
    ("2200", "Members' savings", "เงินฝากสัจจะสะสมทรัพย์ของสมาชิก", L, CREDIT),
    ("2210", "Interest on savings payable", "ดอกเบี้ยเงินฝากสมาชิกค้างจ่าย", L, CREDIT),
    ("2300", "Loan payable to CODI", "เงินกู้ยืมจาก พอช.", L, CREDIT),
    ("2310", "Interest payable to CODI", "ดอกเบี้ยค้างจ่าย พอช.", L, CREDIT),
    ("3100", "Organisation's capital", "ทุนขององค์กร", E, CREDIT),
    ("3200", "Reserve", "ทุนสำรอง", E, CREDIT),
    ("3300", "Accumulated surplus", "ส่วนเกินสะสม", E, FREE),
    ("4100", "Interest income from members", "รายได้ดอกเบี้ยเงินกู้สมาชิก", IN, FREE),
    ("4200", "Penalty interest income", "รายได้ค่าปรับ", IN, FREE),
    ("4400", "Recoveries of member loans written off", "รายได้หนี้สูญได้รับคืน", IN, FREE),
    ("5100", "Interest expense to CODI", "ดอกเบี้ยจ่าย พอช.", X, FREE),
    ("5150", "Interest on members' savings", "ดอกเบี้ยเงินฝากสมาชิก", X, FREE),
    ("5200", "Member loan loss expense", "หนี้สงสัยจะสูญ", X, FREE),
    ("5500", "Administrative expenses", "ค่าใช้จ่ายในการบริหาร", X, FREE),
)

CHARTS = {
    BookKind.fund: FUND_CHART,
    BookKind.welfare_fund: WELFARE_FUND_CHART,
    BookKind.enterprise: ENTERPRISE_CHART,
    BookKind.organisation: ORGANISATION_CHART,
}
