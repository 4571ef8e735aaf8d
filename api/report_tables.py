"""The reports as `ledger.tabular.Table`s, for CSV, XLSX and PDF (`api.formats`): the same
computed figures the JSON answers carry, with Thai and English titles and account names."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from ledger.accounts import AccountType
from ledger.calendar import format_date, format_month
from ledger.look_through import share_percent
from ledger.money import people_amount
from ledger.reports import (
    FinancialPosition,
    IncomeStatement,
    PeriodLine,
    ReportAccount,
    Statement,
    StatementLine,
    TreeLine,
    prior_period,
)
from ledger.tabular import ACCOUNT_TYPE_LABELS, LOAN_CLASS_LABELS, TOTAL, Column, Label, Table

ACCOUNT = (Column("code", "Code", "รหัสบัญชี"), Column("account", "Account", "ชื่อบัญชี"))
PARTY = (Column("party", "Party", "ผู้เกี่ยวข้อง"), Column("province", "Province", "จังหวัด"))
INVESTMENTS = (Label("Schedule of investments", "รายละเอียดเงินลงทุน"), "investments",
               {"1300": Label("Cost", "ราคาทุน"), "1390": Label("Impairment", "ค่าเผื่อการด้อยค่า")})  # fmt: skip
CONTRIBUTIONS = (Label("Welfare contributions receivable", "รายละเอียดเงินสมทบค้างรับ"), "welfare-contributions",
                 {"1200": Label("Receivable", "ค้างรับ")})  # fmt: skip
UNASSIGNED = Label("Not assigned to a party", "ไม่ระบุผู้เกี่ยวข้อง")


def _money(key: str, en: str, th: str) -> Column:
    return Column(key, en, th, "money")


def _books(books: Sequence[dict]) -> dict[str, str]:
    return {
        "book_name_en": " + ".join(b["name_en"] or b["name_th"] for b in books),
        "book_name_th": " + ".join(b["name_th"] for b in books),
    }


def _name(books: Sequence[dict], report: str, day: Any) -> str:
    return f"{report}-{'-'.join(str(b['id']) for b in books)}-{day}"


def _account(account: ReportAccount, level: int = 1) -> dict[str, Any]:
    indent = "  " * (level - 1)
    return {"code": account.code, "account": Label(indent + account.name_en, indent + account.name_th)}


def trial_balance(books: Sequence[dict], day: date, lines: Sequence[TreeLine]) -> Table:
    debit, credit = sum(line.debit_satang for line in lines), sum(line.credit_satang for line in lines)
    return Table(
        "Trial balance", "งบทดลอง", **_books(books), name=_name(books, "trial-balance", day), as_of=day,
        columns=(*ACCOUNT, _money("debit", "Debit", "เดบิต"), _money("credit", "Credit", "เครดิต")),
        rows=tuple({**_account(line.account, line.level), "debit": line.debit_satang or None,
                    "credit": line.credit_satang or None} for line in lines),
        totals={"account": TOTAL, "debit": debit, "credit": credit}, total_in_words_satang=debit,
    )  # fmt: skip


def movements(books: Sequence[dict], period: tuple[date, date], lines: Sequence[PeriodLine]) -> Table:
    return Table(
        "Trial balance with movements", "งบทดลองแสดงยอดยกมาและความเคลื่อนไหว", **_books(books),
        name=_name(books, "trial-balance-movements", f"{period[0]}-{period[1]}"), period=period,
        columns=(*ACCOUNT, _money("opening", "Opening", "ยอดยกมา"), _money("movement", "Movement", "ความเคลื่อนไหว"),
                 _money("closing", "Closing", "ยอดยกไป")),
        rows=tuple({**_account(line.account), "opening": line.opening_satang, "movement": line.movement_satang,
                    "closing": line.closing_satang} for line in lines),
        totals={"account": TOTAL, "opening": 0, "movement": 0, "closing": 0},
    )  # fmt: skip


def _comparative(current: Label, prior: Label) -> tuple[Column, ...]:
    """The account, then the current figures and the prior ones, each column headed by its date."""
    return (*ACCOUNT, _money("amount", current.en, current.th), _money("prior", prior.en, prior.th))


def _day(day: date) -> Label:
    return Label(format_date(day, "en"), format_date(day, "th"))


def _days(first: date, last: date) -> Label:
    return Label(*(f"{format_date(first, lang)} – {format_date(last, lang)}" for lang in ("en", "th")))


def _section(lines, kind: AccountType) -> list[dict[str, Any]]:
    chosen = [line for line in lines if line.type is kind]
    heading = {"account": ACCOUNT_TYPE_LABELS[kind.value]}
    rows = [{"code": line.code, "account": Label(line.name_en, line.name_th), "amount": line.amount_satang,
             "prior": line.prior_satang} for line in chosen]  # fmt: skip
    total = {
        "account": Label(f"Total {kind.value}", f"รวม{ACCOUNT_TYPE_LABELS[kind.value].th}"),
        "amount": sum(line.amount_satang for line in chosen),
        "prior": sum(line.prior_satang for line in chosen),
    }
    return [heading, *rows, total]


def financial_position(books: Sequence[dict], day: date, prior_day: date, result: FinancialPosition) -> Table:
    surplus = {
        "account": Label("Surplus not yet closed", "ส่วนเกินรายได้สูงกว่าค่าใช้จ่ายที่ยังไม่ปิดบัญชี"),
        "amount": result.unclosed_surplus_satang,
        "prior": result.prior_unclosed_surplus_satang,
    }
    total = result.total_liabilities_and_equity
    rows = [*_section(result.lines, AccountType.asset), *_section(result.lines, AccountType.liability),
            *_section(result.lines, AccountType.equity), surplus]  # fmt: skip
    return Table(
        "Statement of financial position", "งบแสดงฐานะการเงิน", **_books(books),
        name=_name(books, "financial-position", day), as_of=day,
        columns=_comparative(_day(day), _day(prior_day)),
        rows=tuple(rows),
        totals={"account": Label("Total liabilities and equity", "รวมหนี้สินและทุน"), "amount": total[0],
                "prior": total[1]},
        total_in_words_satang=total[0],
    )  # fmt: skip


def income_statement(books: Sequence[dict], period: tuple[date, date], result: IncomeStatement) -> Table:
    rows = [*_section(result.lines, AccountType.income), *_section(result.lines, AccountType.expense)]
    surplus = result.surplus
    return Table(
        "Income statement", "งบกำไรขาดทุน", **_books(books),
        name=_name(books, "income-statement", f"{period[0]}-{period[1]}"), period=period,
        columns=_comparative(_days(*period), _days(*prior_period(*period))), rows=tuple(rows),
        totals={"account": Label("Surplus (deficit)", "รายได้สูง (ต่ำ) กว่าค่าใช้จ่าย"), "amount": surplus[0],
                "prior": surplus[1]},
        total_in_words_satang=surplus[0],
    )  # fmt: skip


def general_ledger_head(books: Sequence[dict], period: tuple[date, date]) -> Table:
    """The general ledger's columns and headings, without rows (`general_ledger_rows` gives them)."""
    return Table(
        "General ledger", "บัญชีแยกประเภททั่วไป", **_books(books),
        name=_name(books, "general-ledger", f"{period[0]}-{period[1]}"), period=period,
        columns=(*ACCOUNT, Column("date", "Date", "วันที่", "date"), Column("entry", "Entry", "เลขที่รายการ"),
                 Column("description", "Description", "คำอธิบาย"), _money("amount", "Amount", "จำนวนเงิน"),
                 _money("balance", "Balance", "ยอดคงเหลือ")),
        rows=(),
    )  # fmt: skip


def general_ledger_rows(
    ledger: Iterable[tuple[ReportAccount, int, Iterable[StatementLine]]],
) -> Iterator[dict[str, Any]]:
    """Each account's opening balance, lines and closing balance, from (account, opening, lines)."""
    for account, opening, lines in ledger:
        yield {**_account(account), "description": Label("Opening balance", "ยอดยกมา"), "balance": opening}
        closing = opening
        for line in lines:
            yield {"code": account.code, "date": line.effective_date, "entry": line.entry_id,
                   "description": line.description, "amount": line.amount_satang,
                   "balance": line.running_balance_satang}  # fmt: skip
            closing = line.running_balance_satang
        yield {"code": account.code, "description": Label("Closing balance", "ยอดยกไป"), "balance": closing}


def general_ledger(
    books: Sequence[dict], period: tuple[date, date], ledger: Sequence[tuple[ReportAccount, Statement]]
) -> Table:
    rows = general_ledger_rows((account, s.opening_balance_satang, s.lines) for account, s in ledger)
    return replace(general_ledger_head(books, period), rows=tuple(rows))


def _party(row: dict) -> dict[str, Any]:
    return {"party": Label(row["name_en"] or row["name_th"], row["name_th"]), "province": row["province"]}


def loans_receivable(book: dict, day: date, loans: Sequence[dict], allowance_satang: int) -> Table:
    outstanding = sum(loan["outstanding_satang"] for loan in loans)
    return Table(
        "Schedule of loans receivable", "รายละเอียดลูกหนี้เงินกู้", **_books([book]),
        name=_name([book], "loans-receivable", day), as_of=day,
        columns=(Column("loan", "Loan", "สัญญา"), *PARTY, Column("class", "Class", "ชั้นหนี้"),
                 Column("days", "Days past due", "จำนวนวันค้างชำระ"), _money("outstanding", "Outstanding", "คงค้าง")),
        rows=tuple({"loan": loan["id"], **_party(loan), "class": LOAN_CLASS_LABELS[loan["class"]],
                    "days": loan["days_past_due"], "outstanding": loan["outstanding_satang"]} for loan in loans),
        totals={"party": TOTAL, "outstanding": outstanding},
        notes=(Label(f"Allowance for loan losses: {people_amount(allowance_satang)}",
                     f"ค่าเผื่อหนี้สงสัยจะสูญ: {people_amount(allowance_satang)}"),),
        total_in_words_satang=outstanding,
    )  # fmt: skip


def party_schedule(book: dict, day: date, rows: Sequence[dict], unassigned: dict[str, int], kind: tuple) -> Table:
    title, name, columns = kind
    lines = [{**_party(row), **row["balances"], "net": sum(row["balances"].values())} for row in rows]
    if any(unassigned.values()):
        lines.append({"party": UNASSIGNED, **unassigned, "net": sum(unassigned.values())})
    totals = {code: sum(line.get(code, 0) for line in lines) for code in columns}
    return Table(
        title.en, title.th, **_books([book]), name=_name([book], name, day), as_of=day,
        columns=(*PARTY, *(_money(code, label.en, label.th) for code, label in columns.items()),
                 _money("net", "Net", "สุทธิ")),
        rows=tuple(lines), totals={"party": TOTAL, **totals, "net": sum(totals.values())},
    )  # fmt: skip


LOOK_THROUGH_LEVELS = {
    "organisation": Label("Organisation", "องค์กร"), "region": Label("Region", "ภาค"),
    "province": Label("Province", "จังหวัด"), "centre": Label("Incubation centre", "ศูนย์บ่มเพาะ"),
    "programme": Label("Programme", "โครงการ"),
}  # fmt: skip
NOT_ASSIGNED = Label("Not assigned", "ไม่ระบุ")


def _percent(key: str, en: str, th: str) -> Column:
    return Column(key, en, th, "percent")


def _look_through_columns(months: Sequence[date]) -> tuple[Column, ...]:
    by_month = tuple(_percent(f"collection_{m:%Y_%m}", f"Collected {format_month(m, 'en')} %",
                              f"อัตราเก็บได้ {format_month(m, 'th')} (%)") for m in months)  # fmt: skip
    return (
        Column("level", "Level", "ระดับ"), Column("name", "Name", "ชื่อ"),
        Column("members", "Members", "จำนวนสมาชิก"), Column("loans", "Loans", "จำนวนสัญญา"),
        _money("outstanding", "Outstanding", "เงินต้นคงค้าง"), _money("arrears", "In arrears", "ค้างชำระ"),
        _percent("par30", "PAR30 %", "PAR30 (%)"), _percent("par90", "PAR90 %", "PAR90 (%)"),
        _money("due", "Due", "ถึงกำหนดชำระ"), _money("collected", "Collected", "เก็บได้"),
        _percent("collection", "Collection rate %", "อัตราการเก็บหนี้ (%)"), *by_month,
        _money("margin", "Margin", "ส่วนต่างดอกเบี้ย"), _money("surplus", "Accumulated surplus", "ส่วนเกินสะสม"),
        _money("reserve", "Reserve", "ทุนสำรอง"),
    )  # fmt: skip


def _look_through_cells(figures: Any, months: Sequence[date]) -> dict[str, Any]:
    due, collected = sum(figures.due_satang), sum(figures.collected_satang)
    rates = dict(zip((f"collection_{m:%Y_%m}" for m in months), figures.collection_percent(), strict=True))
    return {
        "members": figures.members, "loans": figures.loans, "outstanding": figures.outstanding_satang,
        "arrears": figures.arrears_satang, "par30": figures.par30_percent, "par90": figures.par90_percent,
        "due": due, "collected": collected, "collection": share_percent(collected, due), **rates,
        "margin": figures.margin_satang, "surplus": figures.surplus_satang, "reserve": figures.reserve_satang,
    }  # fmt: skip


def look_through(day: date, months: Sequence[date], lines: Sequence, groups: dict[str, Sequence], everything) -> Table:
    """The look-through: a row an organisation, then a row a group of each dimension, and the total."""
    rows = [{"level": LOOK_THROUGH_LEVELS["organisation"], "name": Label(org["name_en"] or org["name_th"],
             org["name_th"]), **_look_through_cells(f, months)} for org, f in lines]  # fmt: skip
    for dimension, grouped in groups.items():
        rows += [{"level": LOOK_THROUGH_LEVELS[dimension], "name": _group_name(group),
                  **_look_through_cells(f, months)} for group, f in grouped]  # fmt: skip
    return Table(
        "Look-through of organisations' members", "ติดตามสินเชื่อสมาชิกผ่านองค์กร", "CODI", "พอช.",
        name=f"look-through-{day}", as_of=day, columns=_look_through_columns(months), rows=tuple(rows),
        totals={"level": TOTAL, **_look_through_cells(everything, months)},
    )  # fmt: skip


def _group_name(group: dict) -> Label:
    if group["key"] is None:
        return NOT_ASSIGNED
    return Label(group["name_en"] or group["name_th"], group["name_th"])


def member_statement(book: dict, member: dict, period: tuple[date, date], opening: int, lines: Sequence[dict],
                     loans: Sequence[dict]) -> Table:  # fmt: skip
    """A member's savings statement (its account 2200-<member>, a liability shown as the member
    sees it: a deposit adds) with a note per loan from the organisation at the period's end."""
    name = Label(member["name_en"] or member["name_th"], member["name_th"])
    rows = [{"description": Label("Opening balance", "ยอดยกมา"), "balance": opening}, *lines]
    return Table(
        f"Savings and loan statement: {name.en}", f"รายการเงินฝากสัจจะและเงินกู้ของ {name.th}", **_books([book]),
        name=_name([book], f"member-statement-{member['id']}", f"{period[0]}-{period[1]}"), period=period,
        columns=(Column("date", "Date", "วันที่", "date"), Column("description", "Description", "คำอธิบาย"),
                 _money("amount", "Amount", "จำนวนเงิน"), _money("balance", "Savings balance", "เงินฝากคงเหลือ")),
        rows=tuple(rows), notes=tuple(_loan_note(loan) for loan in loans),
    )  # fmt: skip


def _loan_note(loan: dict) -> Label:
    f = loan["figures"]
    outstanding, days = people_amount(f.outstanding_satang), f.days_past_due
    return Label(f"Loan {loan['id']}: outstanding {outstanding}, {days} days past due",
                 f"เงินกู้สัญญา {loan['id']}: เงินต้นคงเหลือ {outstanding} ค้างชำระ {days} วัน")  # fmt: skip
