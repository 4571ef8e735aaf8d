"""The imports page through the app: a sales CSV with two bad lines records the rest, gives back
exactly those two with their reasons (listed and as a file), and the file put right records them
once; a file of entries goes through the CLI's import under the person; the upload's bounds."""

import csv
import io
import json
import re
import time

import pytest

from api.app import create_app
from store import audit_log, welfare
from store.demo import FUND_BOOK
from tests.test_formula_injection import BOM, LEAK, csv_fields, safe
from tests.test_web_sessions import Browser, csrf_of

FINISHED = "นำเข้าเสร็จแล้ว"


@pytest.fixture
def app(db, clock):
    return create_app(db, clock)


def officer(app) -> Browser:
    browser = Browser(app)
    assert browser.sign_in("officer", "officer-demo").status_code == 303
    return browser


def sales_csv(enterprise: int, rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["key,enterprise_party_id,effective_date,channel,amount"]
    lines += [f"{key},{enterprise},{day},{channel},{amount}" for key, day, channel, amount in rows]
    return "\n".join(lines) + "\n"


def upload(browser: Browser, kind: str, name: str, content: bytes, key: str = ""):
    form = browser.get("/office/imports")
    fields = {"kind": kind, "key": key or re.search(r'name="key" value="(\w+)"', form.text).group(1),
              "csrf_token": csrf_of(form)}  # fmt: skip
    return browser.client.post("/office/imports", data=fields, files={"file": (name, content, "text/plain")})


def finished(browser: Browser, location: str) -> str:
    for _ in range(200):
        page = browser.get(location)
        if FINISHED in page.text:
            return page.text
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def sale_count(db, enterprise: int) -> int:
    with db.read() as connection:
        return len(welfare.list_sales(connection, filters={"enterprise_party_id": enterprise}, only_party=None,
                                      after=0, limit=500))  # fmt: skip


GOOD = [("m-1", "2024-06-01", "market", "150.00"), ("m-2", "2024-06-02", "market", "200.00"),
        ("m-4", "2024-06-03", "market", "75.50")]  # fmt: skip
BAD = [("m-3", "2024-06-02", "market", "12.345"), ("m-5", "2024-07-01", "market", "90.00")]


def test_a_sales_file_with_two_bad_lines_gives_back_exactly_those_two_and_their_fix_records_once(app, db, demo):
    browser, enterprise = officer(app), demo.enterprise_party_id
    before = sale_count(db, enterprise)
    sent = upload(browser, "sales", "market.csv", sales_csv(enterprise, [*GOOD[:2], BAD[0], GOOD[2], BAD[1]]).encode())
    assert sent.status_code == 303
    page = finished(browser, sent.headers["location"])
    assert sale_count(db, enterprise) == before + 3
    assert "บันทึกใหม่ 3 บรรทัด" in page
    assert re.findall(r'<th scope="row">(\d+)</th>', page) == ["4", "6"]
    download = browser.get(sent.headers["location"] + "/rejected")
    assert download.content.startswith(BOM)  # as every CSV we give out: Thai reasons read as UTF-8
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["key", "enterprise_party_id", "effective_date", "channel", "amount", "reason"]
    assert [r[:5] for r in rows[1:]] == [[BAD[0][0], str(enterprise), *BAD[0][1:]], [BAD[1][0], str(enterprise),
                                                                                    *BAD[1][1:]]]  # fmt: skip
    assert rows[1][5].startswith("รูปแบบจำนวนเงินไม่ถูกต้อง: amount '12.345'")
    assert rows[2][5].startswith("วันที่อยู่ในอนาคต: 2024-07-01")
    fixed = download.content.replace(b"12.345", b"12.35").replace(b"2024-07-01", b"2024-06-10")
    again = upload(browser, "sales", "rejected-market.csv", fixed)  # sent back as saved, byte-order mark and all
    assert "บันทึกใหม่ 2 บรรทัด" in finished(browser, again.headers["location"])
    assert sale_count(db, enterprise) == before + 5
    whole = upload(browser, "sales", "market.csv", sales_csv(enterprise, GOOD).encode())
    assert "บันทึกใหม่ 0 บรรทัด บันทึกไว้ก่อนแล้ว 3 บรรทัด" in finished(browser, whole.headers["location"])
    assert sale_count(db, enterprise) == before + 5
    with db.read() as connection:
        actions = [(r["action"], r["actor"]) for r in audit_log.list_records(connection, after=0, limit=500)]
    assert ("sale.import", "officer") in actions


def test_the_refused_lines_file_holds_no_formula_and_goes_back_in(app, db, demo):
    """The attack: a market day's file whose refused line carries `=HYPERLINK(...)` in its
    description; the file of refused lines gave it back as it was, a live formula for the staff
    member who opens it. Now it comes back as text, and the file put right goes back in."""
    browser, enterprise = officer(app), demo.enterprise_party_id
    header = "key,enterprise_party_id,effective_date,channel,amount,description"
    leaky = welfare.csv_row(["f-2", str(enterprise), "2024-06-02", "market", "12.345", LEAK])
    sent = upload(browser, "sales", "market.csv",
                  f"{header}\nf-1,{enterprise},2024-06-01,market,10.00,=1+1\n{leaky}\n".encode())  # fmt: skip
    finished(browser, sent.headers["location"])
    download = browser.get(sent.headers["location"] + "/rejected").content
    fields = csv_fields(download)
    assert [f for f in fields if not safe(f)] == [] and download.startswith(BOM)
    assert "'" + LEAK in fields and "f-1" not in fields
    before = sale_count(db, enterprise)
    again = upload(browser, "sales", "rejected-market.csv", download.replace(b"12.345", b"12.35"))
    assert "บันทึกใหม่ 1 บรรทัด" in finished(browser, again.headers["location"])
    assert sale_count(db, enterprise) == before + 1
    with db.read() as connection:
        sales = welfare.list_sales(connection, filters={"enterprise_party_id": enterprise}, only_party=None,
                                   after=0, limit=500)  # fmt: skip
    assert "'" + LEAK in [sale["description"] for sale in sales]  # text, with its apostrophe


def test_a_file_of_entries_is_recorded_under_the_person_and_its_refused_line_given_back(app, db, demo):
    browser = officer(app)
    postings = [{"account": "1100", "amount": "-500.00"}, {"account": "5100", "amount": "500.00"}]
    entry = {"key": "e-1", "book": FUND_BOOK, "effective_date": "2024-06-01", "description": "ค่าเช่า",
             "postings": postings}  # fmt: skip
    bad = {**entry, "key": "e-2", "postings": [postings[0], {"account": "9999", "amount": "500.00"}]}
    sent = upload(browser, "entries", "entries.jsonl", f"{json.dumps(entry)}\n{json.dumps(bad)}\n".encode())
    page = finished(browser, sent.headers["location"])
    assert "บันทึกใหม่ 1 บรรทัด" in page and re.findall(r'<th scope="row">(\d+)</th>', page) == ["2"]
    [line] = browser.get(sent.headers["location"] + "/rejected").text.splitlines()
    assert json.loads(line)["key"] == "e-2" and json.loads(line)["reason"]
    with db.read() as connection:
        actions = [(r["action"], r["actor"]) for r in audit_log.list_records(connection, after=0, limit=500)]
    assert ("entry.import", "officer") in actions


def test_an_upload_refused_says_why_beside_the_field_and_keeps_the_choice(app, demo):
    browser = officer(app)
    empty = upload(browser, "entries", "empty.jsonl", b"")
    assert empty.status_code == 422 and 'id="file-error"' in empty.text and 'value="entries" checked' in empty.text
    header = upload(browser, "sales", "wrong.csv", b"name,amount\nrice,10\n")
    assert header.status_code == 422 and "นำเข้าไฟล์นี้ไม่ได้" in header.text
    approver = Browser(app)
    approver.sign_in("approver", "approver-demo")
    assert approver.get("/office/imports").status_code == 403
