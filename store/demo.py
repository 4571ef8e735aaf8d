"""Demo data for `codi-ledger run --demo`: the CODI fund book and a few parties of the northern
network around the Arokhaya Sala community economy incubation centre of Khao Din, Kao Liao
district, Nakhon Sawan, with a handful of entries, so that a new database shows something real."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from ledger.accounts import EntryDraft, Posting
from ledger.welfare import Channel, ContributionRule
from store import audit_log, books, journal, users, welfare
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


def load_demo(db: Database, *, now: datetime) -> str | None:
    """Load the demo once; returns a new admin token, or None if the database already has the demo."""
    with db.write() as connection:
        if connection.execute(select(book_t.c.id).where(book_t.c.code == FUND_BOOK)).first():
            return None
        users.may_seat_from_command_line(connection, "admin", now=now)  # the demo's admin
        cli = users.system_principal(connection, now=now)
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
        entry_ids = journal.record_entries(connection, drafts, recorded_by=cli.user_id, recorded_at=now)
        assert all(isinstance(i, int) for i in entry_ids), entry_ids
        entry_ids += _welfare(connection, parties[4], cli.user_id, now)
        admin_id, token = users.add_user(
            connection, name=f"admin-{now:%Y%m%d%H%M%S}", role="admin", party_id=None, now=now
        )
        audit_log.append_system(connection, actor=cli.name, action="demo.load", target=f"book:{book['id']}",
                                request=b"demo", entry_ids=entry_ids, now=now)  # fmt: skip
    return token


def _welfare(connection: Connection, enterprise: dict, user_id: int, now: datetime) -> list[int]:
    """Khao Din's community welfare fund, the organic rice enterprise's own book, a 2 % rule for
    its market sales and one market day's sale (4,850.00 x 2 % = 97.00 to the fund)."""
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
    [recorded] = welfare.record_sales(connection, [sale], user_id=user_id, now=now)
    return welfare.sale_entry_ids([recorded])


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
