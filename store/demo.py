"""Demo data for `codi-ledger run --demo`: the CODI fund book and a few parties of the northern
network around the Arokhaya Sala community economy incubation centre of Khao Din, Kao Liao
district, Nakhon Sawan, with a handful of entries, so that a new database shows something real.

The organic rice enterprise has its own book, sales this fiscal year (and one paid to the
welfare fund), a livelihood loan from the fund with an instalment late, and shares held by the
fund with a dividend declared, all dated back from the day the demo is loaded; its person, an
auditor, a fund officer, an approver and an admin sign in to the pages with the passwords of
`DEMO_PEOPLE` (for the demo only). The fund office's dashboard has housing loans across two
incubation centres, one in arrears, and a close of business at each month's end.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, select

from api.context import BANGKOK
from ledger.accounts import EntryDraft, Posting
from ledger.equity import Declaration, EventKind, RegisterEvent
from ledger.loans import LoanTerms
from ledger.welfare import Channel, ContributionRule, Frequency, MatchingKind, MatchingSource
from store import audit_log, books, entry_content, equity, journal, loan_cob, loans, people, users, welfare
from store.books import account_t, book_t
from store.engine import Database

FUND_BOOK = "CODI-FUND"
PARTIES = [
    {"kind": "incubation_centre", "name_th": "ศูนย์บ่มเพาะเศรษฐกิจและทุนชุมชนอโรคยศาลา ตำบลเขาดิน",
     "name_en": "Arokhaya Sala Community Economy Incubation Centre, Khao Din", "region": "north",
     "province": "Nakhon Sawan"},
    {"kind": "network", "name_th": "เครือข่ายองค์กรชุมชนภาคเหนือ", "name_en": "Northern Community Organisations Network",
     "region": "north", "province": "Chiang Mai"},
    {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์เพื่อการผลิตบ้านเขาดิน", "name_en": "Khao Din Savings Group",
     "region": "north", "province": "Nakhon Sawan"},
    {"kind": "cooperative", "name_th": "สหกรณ์เคหสถานบ้านมั่นคงเก้าเลี้ยว จำกัด",
     "name_en": "Kao Liao Baan Mankong Housing Cooperative", "region": "north", "province": "Nakhon Sawan"},
    {"kind": "community_enterprise", "name_th": "วิสาหกิจชุมชนข้าวอินทรีย์เขาดิน",
     "name_en": "Khao Din Organic Rice Community Enterprise", "region": "north", "province": "Nakhon Sawan"},
]  # fmt: skip


DEMO_PEOPLE = (("khaodin-rice", "enterprise", "enterprise-demo"), ("auditor", "auditor", "auditor-demo"),
               ("officer", "officer", "officer-demo"), ("approver", "approver", "approver-demo"),
               ("manager", "admin", "manager-demo"))


@dataclass(frozen=True)
class Demo:
    admin_token: str
    enterprise_party_id: int


def load_demo(db: Database, *, now: datetime) -> Demo | None:
    """Load the demo once; returns a new admin token and the enterprise's party, or None if the
    database already has the demo."""
    with db.write() as connection:
        if connection.execute(select(book_t.c.id).where(book_t.c.code == FUND_BOOK)).first():
            return None
        users.may_seat_from_command_line(connection, "admin", now=now)  # the demo's admin
        cli = users.system_principal(connection, now=now)
        began = entry_content.mark(connection)
        centre = books.create_party(connection, PARTIES[0], now=now)
        parties = [centre] + [
            books.create_party(connection, {**p, "centre_id": centre["id"]}, now=now) for p in PARTIES[1:]
        ]
        book = books.create_book(connection, {"code": FUND_BOOK, "kind": "fund", "name_th": "กองทุน พอช.",
                                              "name_en": "CODI Fund"}, now=now)  # fmt: skip
        code = _codes(connection, book["id"])
        for party, suffix in ((parties[2], "01"), (parties[3], "02")):
            code[f"1200-{suffix}"] = books.create_account(connection, {
                "book_id": book["id"], "code": f"1200-{suffix}", "name_th": f"ลูกหนี้เงินกู้ {party['name_th']}",
                "name_en": f"Loan receivable: {party['name_en']}", "type": "asset", "balance_rule": "debit_or_zero",
                "parent_id": code["1200"], "party_id": party["id"],
            }, now=now)["id"]  # fmt: skip
        drafts = _entries(book["id"], code, centre["id"])
        recorded = journal.record_entries(connection, drafts, recorded_by=cli.user_id, recorded_at=now)
        assert all(isinstance(i, int) for i in recorded), recorded
        fund_party = _welfare(connection, parties[4], cli.user_id, now)
        admin_id, token = users.add_user(
            connection, name=f"admin-{now:%Y%m%d%H%M%S}", role="admin", party_id=None, now=now
        )
        _enterprise_year(connection, parties[4], fund_party, book["id"], cli.user_id, admin_id, now)
        _welfare_money(connection, fund_party, book["id"], cli.user_id, now)
        _office_loans(connection, book["id"], parties[2:4], cli.user_id, admin_id, now)
        _people(connection, parties[4]["id"], now)
        # The record names every entry the demo wrote, whichever operation wrote it.
        entry_ids = entry_content.written_since(connection, began, named=[])
        audit_log.append_system(connection, actor=cli.name, action="demo.load", target=f"book:{book['id']}",
                                request=b"demo", entry_ids=entry_ids, now=now)  # fmt: skip
    return Demo(token, parties[4]["id"])


def _people(connection: Connection, enterprise_party_id: int, now: datetime) -> None:
    """The demo's enterprise person, auditor, officer, approver and admin, with their known passwords set."""
    for name, role, password in DEMO_PEOPLE:
        party = enterprise_party_id if role == "enterprise" else None
        user_id, _ = users.add_user(connection, name=name, role=role, party_id=party, now=now)
        people.use_setup_code(connection, people.issue_setup_code(connection, user_id, now=now), password, now=now)


def _enterprise_year(connection: Connection, enterprise: dict, fund_party: int, fund_book_id: int, recorder: int,
                     approver: int, now: datetime) -> None:  # fmt: skip
    """The rice enterprise's recent months, dated back from today: three market days' sales,
    one payment to the welfare fund, a 120,000.00 livelihood loan disbursed about 100 days ago
    whose first instalment was paid on its day and the second not, and the fund's 200 of its 500
    shares with a dividend."""
    today = now.astimezone(BANGKOK).date()
    ago = [today - timedelta(days=n) for n in (100, 70, 40, 20, 3)]
    party_id = enterprise["id"]
    sales = [welfare.SaleRequest(party_id, day, Channel.market, satang, description="ข้าวหอมมะลิอินทรีย์")
             for day, satang in ((ago[2], 12_400_00), (ago[3], 8_750_00), (ago[4], 15_300_00))]  # fmt: skip
    welfare.record_sales(connection, sales, user_id=recorder, now=now)
    welfare.settle(connection, enterprise_party_id=party_id, fund_party_id=fund_party, amount_satang=97_00,
                   on=ago[3], advance=False, reference="ใบเสร็จ 001", user_id=recorder, now=now)  # fmt: skip
    _loan(connection, fund_book_id, party_id, ago, recorder, approver, now)
    _shares(connection, fund_book_id, party_id, ago, recorder, approver, now)


def _loan(connection: Connection, fund_book_id: int, party_id: int, ago: list[date], recorder: int, approver: int,
          now: datetime) -> None:  # fmt: skip
    product = loans.create_product(connection, {
        "book_id": fund_book_id, "code": "LIVELIHOOD", "name_th": "สินเชื่อเพื่อการพัฒนาอาชีพ",
        "name_en": "Livelihood loan", "terms": LoanTerms(rate_annual_percent=Decimal(4), term_instalments=12),
        "min_savings_percent": Decimal(10)}, created_by=recorder, now=now)  # fmt: skip
    loan = loans.apply(connection, {"product_id": product["id"], "borrower_party_id": party_id,
                                    "amount_satang": 120_000_00, "savings_satang": 12_000_00,
                                    "purpose": "โรงสีข้าวชุมชน"}, recorded_by=recorder, now=now)  # fmt: skip
    loans.approve(connection, loan["id"], approved_by=approver, now=now)
    today = now.astimezone(BANGKOK).date()
    loans.disburse(connection, loan["id"], amount_satang=120_000_00, on=ago[0], today=today, user_id=recorder,
                         now=now)  # fmt: skip
    first = loans.state(connection, loans.get_loan(connection, loan["id"]), ago[0]).figures(ago[0])
    loans.repay(connection, loan["id"], amount_satang=first.next_due_satang, on=first.next_due_on,
                today=today, user_id=recorder, now=now)  # the first instalment, on its day  # fmt: skip


def _office_loans(connection: Connection, fund_book_id: int, groups: list[dict], recorder: int, approver: int,
                  now: datetime) -> None:  # fmt: skip
    """What the fund office's dashboard shows: housing loans to the Khao Din savings group
    (repaid on time) and to a savings group of a second incubation centre, in the North-East
    (repaid once, then nothing: in arrears), an application waiting for approval, and close of
    business run at each month's end since the first disbursement and yesterday (today's is
    left for the office to run)."""
    today = now.astimezone(BANGKOK).date()
    centre = books.create_party(connection, {**OTHER_CENTRE, "centre_id": None}, now=now)
    group = books.create_party(connection, {**OTHER_GROUP, "centre_id": centre["id"]}, now=now)
    product = loans.create_product(connection, {
        "book_id": fund_book_id, "code": "HOUSING", "name_th": "สินเชื่อบ้านมั่นคง", "name_en": "Baan Mankong housing loan",
        "terms": LoanTerms(rate_annual_percent=Decimal(4), term_instalments=60), "min_savings_percent": Decimal(10)},
        created_by=recorder, now=now)  # fmt: skip
    first_day = today - timedelta(days=250)
    for borrower, amount, paid in ((groups[0], 900_000_00, None), (group, 600_000_00, 1), (groups[1], 300_000_00, 0)):
        loan = loans.apply(connection, {"product_id": product["id"], "borrower_party_id": borrower["id"],
                                        "amount_satang": amount, "savings_satang": amount // 10},
                           recorded_by=recorder, now=now)  # fmt: skip
        if paid == 0:
            continue  # the application: waiting for approval
        loans.approve(connection, loan["id"], approved_by=approver, now=now)
        loans.disburse(connection, loan["id"], amount_satang=amount, on=first_day, today=today, user_id=recorder,
                       now=now)  # fmt: skip
        plan = loans.state(connection, loans.get_loan(connection, loan["id"])).plan
        for instalment in [i for i in plan.instalments if i.due_on < today][:paid]:
            loans.repay(connection, loan["id"], amount_satang=instalment.total_satang, on=instalment.due_on,
                        today=today, user_id=recorder, now=now)  # fmt: skip
    month_ends = [d - timedelta(days=1) for d in _month_starts(first_day, today)]
    for day in [*month_ends, today - timedelta(days=1)]:
        loan_cob.close_of_business(connection, day, today=today, user_id=recorder, now=now)


def _month_starts(first: date, last: date) -> list[date]:
    """The first days of the months after `first`'s, up to `last`."""
    starts, day = [], first.replace(day=1)
    while (day := (day + timedelta(days=32)).replace(day=1)) <= last:
        starts.append(day)
    return starts


OTHER_CENTRE = {"kind": "incubation_centre", "name_th": "ศูนย์บ่มเพาะเศรษฐกิจและทุนชุมชนบ้านโนนสะอาด",
                "name_en": "Ban Non Sa-at Community Economy Incubation Centre", "region": "northeast",
                "province": "Khon Kaen"}  # fmt: skip
OTHER_GROUP = {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์บ้านโนนสะอาด", "name_en": "Ban Non Sa-at Savings Group",
               "region": "northeast", "province": "Khon Kaen"}  # fmt: skip


def _shares(connection: Connection, fund_book_id: int, party_id: int, ago: list[date], recorder: int, approver: int,
            now: datetime) -> None:  # fmt: skip
    """300 shares of 100.00 issued to two founding members, 200 bought by the fund; a dividend of
    5 % a year declared on the paid-up capital for the 60 days since."""
    today = now.astimezone(BANGKOK).date()
    share = equity.create_share_class(connection, party_id, {"code": "ORD", "name_th": "หุ้นสามัญ", "name_en": "Ordinary",
                                                             "par_value_satang": 100_00, "votes_per_share": 1},
                                        user_id=recorder, now=now)
    members = [books.create_party(connection, {"kind": "other", "name_th": name}, now=now)["id"]
               for name in ("สมาชิกผู้ก่อตั้ง ก", "สมาชิกผู้ก่อตั้ง ข")]  # fmt: skip
    events = [RegisterEvent(EventKind.issue, ago[0], share["id"], 150, to_party=m, amount_satang=15_000_00,
                            paid_satang=15_000_00) for m in members]  # fmt: skip
    equity.record_register_events(connection, party_id, events, today=today, user_id=recorder, now=now)
    order = equity.PurchaseOrder(shares=200, price_satang=20_000_00, on=ago[0])
    investment = equity.record_investment(connection, book_id=fund_book_id, enterprise_party_id=party_id,
                                          share_class_id=share["id"], order=order, today=today, user_id=recorder,
                                          now=now)  # fmt: skip
    equity.approve(connection, investment["id"], approved_by=approver, today=today, now=now)
    declaration = Declaration(ago[0], ago[1] + timedelta(days=30), 9_000_00, Decimal(10), Decimal(5))
    equity.declare(connection, party_id, declaration, declared_on=ago[2] + timedelta(days=5), today=today,
                   user_id=recorder, now=now)  # fmt: skip


def _welfare(connection: Connection, enterprise: dict, user_id: int, now: datetime) -> int:
    """Khao Din's community welfare fund (its party id is returned), the organic rice
    enterprise's own book, a 2 % rule for its market sales and one market day's sale in
    FY2567 (4,850.00 x 2 % = 97.00 to the fund)."""
    fund = books.create_party(connection, {
        "kind": "welfare_fund", "name_th": "กองทุนสวัสดิการชุมชนตำบลเขาดิน", "name_en": "Khao Din Community Welfare Fund",
        "region": "north", "province": "Nakhon Sawan"}, now=now)  # fmt: skip
    for code, kind, party in (("WF-KHAODIN", "welfare_fund", fund), ("CE-KHAODIN-RICE", "enterprise", enterprise)):
        books.create_book(connection, {"code": code, "kind": kind, "name_th": party["name_th"],
                                       "name_en": party["name_en"], "party_id": party["id"]}, now=now)  # fmt: skip
    rule = ContributionRule(enterprise["id"], fund["id"], Decimal(2), Channel.market, date(2023, 10, 1))
    welfare.create_rule(connection, rule, user_id=user_id, now=now)
    sale = welfare.SaleRequest(enterprise["id"], date(2024, 3, 9), Channel.market, 4_850_00,
                               description="ข้าวหอมมะลิอินทรีย์ 97 ถุง")  # fmt: skip
    welfare.record_sales(connection, [sale], user_id=user_id, now=now)
    return fund["id"]


def _welfare_money(connection: Connection, fund_party: int, fund_book_id: int, user_id: int, now: datetime) -> None:
    """The welfare fund's own money over the last three months, dated back from today: its 85
    members' monthly contributions (1 baht a day each), the sub-district's matching promised and
    paid in part, the government's paid through CODI, and two benefits."""
    today = now.astimezone(BANGKOK).date()
    fund = welfare.FundWrite.open(connection, fund_party, user_id=user_id, now=now)
    for months_ago in (3, 2, 1):
        ended = today.replace(day=1) - timedelta(days=1 + 31 * (months_ago - 1))
        began = ended.replace(day=1)
        welfare.record_member_contributions(fund, on=ended, period_from=began, period_to=ended,
                                            frequency=Frequency.monthly, member_count=85, amount_satang=2_550_00)
    early = today - timedelta(days=60)
    for source, kind, satang, through_codi in ((MatchingSource.local_authority, MatchingKind.due, 5_000_00, False),
                                               (MatchingSource.local_authority, MatchingKind.received, 3_000_00, False),
                                               (MatchingSource.government, MatchingKind.due, 7_650_00, False),
                                               (MatchingSource.government, MatchingKind.received, 7_650_00, True)):
        welfare.record_matching(fund, source=source, kind=kind, amount_satang=satang, on=early, source_party_id=None,
                                reference="อบต.เขาดิน" if source is MatchingSource.local_authority else "พอช.",
                                through_codi=through_codi, codi_book_id=fund_book_id if through_codi else None)
    for benefit, satang, days in (("birth", 500_00, 30), ("illness", 300_00, 10)):
        welfare.pay_benefit(fund, benefit=benefit, beneficiary_ref=f"สมาชิกเลขที่ {days}", amount_satang=satang,
                            on=today - timedelta(days=days))  # fmt: skip


def _codes(connection: Connection, book_id: int) -> dict[str, int]:
    return dict(
        connection.execute(select(account_t.c.code, account_t.c.id).where(account_t.c.book_id == book_id)).all()
    )


def _entries(book_id: int, code: dict[str, int], centre_id: int) -> list[EntryDraft]:
    def entry(day: date, description: str, *lines: tuple[str, int], **dims: str) -> EntryDraft:
        postings = tuple(Posting(code[c], satang) for c, satang in lines)
        return EntryDraft(book_id, day, "manual", description, postings, dims)

    return [
        entry(date(2023, 10, 2), "Fund capital from the FY2567 budget",
              ("1100", 50_000_000_00), ("3100", -50_000_000_00)),
        entry(date(2023, 11, 15), "Baan Mankong housing loan disbursed to Kao Liao cooperative, tranche 1",
              ("1200-02", 3_500_000_00), ("1100", -3_500_000_00), programme="baan_mankong", province="Nakhon Sawan"),
        entry(date(2023, 12, 1), "Livelihood loan to Khao Din savings group",
              ("1200-01", 500_000_00), ("1100", -500_000_00), programme="livelihood", province="Nakhon Sawan"),
        entry(date(2024, 1, 5), "Kao Liao cooperative monthly repayment",
              ("1100", 60_000_00), ("1200-02", -48_333_33), ("4100", -11_666_67), province="Nakhon Sawan"),
        entry(date(2024, 2, 20), "Incubation centre network support, Arokhaya Sala",
              ("5400", 150_000_00), ("1100", -150_000_00), centre=str(centre_id), programme="incubation"),
    ]  # fmt: skip
