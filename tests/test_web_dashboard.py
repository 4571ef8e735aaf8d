"""The fund office's dashboard and close of business through the real app, over the demo (its
loans across two incubation centres, one in arrears, closed at each month's end and yesterday):
who may see them, that the figures are the API's (/v1/portfolio, the loans' schedules), the
filters, and close of business from a page: audited under the person, its progress, and a
second run for the same day that says it changed nothing."""

import re
from datetime import date, timedelta

import pytest

from api.context import BANGKOK
from ledger.calendar import fiscal_year_bounds
from ledger.loans import LoanClass
from ledger.money import format_amount, parse_amount
from store import audit_log, dashboard, loan_cob, reports
from store.dashboard import LoanFilter
from tests.conftest import NOW, Api, make_user
from tests.test_web_sessions import Browser, csrf_of
from tests.web_helpers import PEOPLE, signed_in
from web.cob_runs import CobRun, CobRuns
from web.i18n import translations
from web.routes.office import CLASS_NAMES

TODAY = NOW.astimezone(BANGKOK).date()
YESTERDAY = TODAY - timedelta(days=1)


def shown_text(html: str) -> str:
    """The page's words, each element's apart, in one line: `( 1,500.00 บาท)` reads `(1,500.00 บาท)`."""
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return words.replace("( ", "(").replace(" )", ")").replace(" :", ":")


def grouped(amount: str) -> str:
    return format_amount(parse_amount(amount), grouped=True)


@pytest.fixture
def api(app, db) -> Api:
    return Api(Browser(app).client, make_user(db, "api-admin", "admin"))


@pytest.mark.parametrize("role", ["officer", "approver", "admin"])
def test_the_office_staff_see_the_dashboard_and_close_of_business(app, role):
    browser = signed_in(app, PEOPLE[role])
    for path in ("/office", "/office/close-of-business"):
        page = browser.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    menu = browser.get("/").text
    assert 'href="/office"' in menu and 'href="/office/close-of-business"' in menu


@pytest.mark.parametrize("role", ["enterprise", "auditor"])
def test_others_may_not(app, role):
    browser = signed_in(app, PEOPLE[role])
    assert browser.get("/office").status_code == 403
    assert browser.get("/office/close-of-business").status_code == 403
    assert 'href="/office"' not in browser.get("/").text
    assert Browser(app).get("/office").headers["location"] == "/signin?next=/office"


def test_the_portfolio_is_the_apis_for_the_day_close_of_business_closed(app, api, db):
    page = shown_text(signed_in(app, PEOPLE["officer"]).get("/office").text)
    portfolio = api.get("/v1/portfolio", as_of=YESTERDAY.isoformat()).json()
    assert portfolio["count"] == 3 and float(portfolio["par30_percent"]) > 0
    assert f"{portfolio['count']} สัญญาที่มีเงินต้นคงค้าง" in page
    assert f"{portfolio['par30_percent']} % ({grouped(portfolio['par30_outstanding'])} บาท)" in page
    assert f"{portfolio['par90_percent']} % ({grouped(portfolio['par90_outstanding'])} บาท)" in page
    for line in portfolio["groups"]["class"] + portfolio["groups"]["bucket"]:
        assert f"{line['count']} {grouped(line['outstanding'])}" in page
    with db.read() as connection:
        kept = dashboard.portfolio_as_closed(connection, YESTERDAY)
        derived = loan_cob.portfolio(connection, YESTERDAY)
    assert kept.gross == derived.gross and kept.over_30_satang == derived.over_30_satang
    assert kept.groups == {name: derived.groups[name] for name in ("class", "bucket")}
    assert "ปิดบัญชีสิ้นวันของวันนี้ยังไม่ได้ทำ" in page


def test_par_by_month_is_each_months_latest_close_as_the_api_derives_it(app, api, db):
    with db.read() as connection:
        months = dashboard.at_risk_by_month(connection, fiscal_year_bounds(2567)[0], TODAY.replace(day=1))
    assert [m.closed_on for m in months][-2:] == [TODAY.replace(day=1) - timedelta(days=1), YESTERDAY]
    assert any(m.par90_percent > 0 for m in months) and months[0].par30_percent == 0
    page = shown_text(signed_in(app, PEOPLE["officer"]).get("/office").text)
    for month in months:
        portfolio = api.get("/v1/portfolio", as_of=month.closed_on.isoformat()).json()
        found = str(month.par30_percent), str(month.par90_percent)
        assert found == (portfolio["par30_percent"], portfolio["par90_percent"])
        assert f"{grouped(portfolio['gross_outstanding'])} {portfolio['par30_percent']} %" in page
    assert "ปีงบประมาณ 2567" in page


def test_instalments_falling_due_are_the_schedules(app, api, db):
    expected = {7: [0, 0], 30: [0, 0]}
    for loan in api.get("/v1/loans", status="active").json()["data"]:
        schedule = api.get(f"/v1/loans/{loan['id']}/schedule").json()
        assert "instalments" in schedule, schedule
        for instalment in schedule["instalments"]:
            days = (date.fromisoformat(instalment["due_on"]) - TODAY).days
            for span in expected:
                if 1 <= days <= span:
                    expected[span][0] += 1
                    expected[span][1] += parse_amount(instalment["total"])
    with db.read() as connection:
        found = {n: dashboard.falling_due(connection, TODAY + timedelta(days=1), TODAY + timedelta(days=n))
                 for n in expected}  # fmt: skip
    assert {n: [f.instalments, f.amount_satang] for n, f in found.items()} == expected
    assert expected[30][0] > 0
    page = shown_text(signed_in(app, PEOPLE["officer"]).get("/office").text)
    amount = format_amount(found[30].amount_satang, grouped=True)
    assert f"30 วัน {found[30].loans} {found[30].instalments} {amount}" in page


def test_loans_in_arrears_the_most_days_first_linking_to_their_cards(app, api):
    html = signed_in(app, PEOPLE["officer"]).get("/office").text
    links = re.findall(r'href="/office/loans/(\d+)"', html)
    assert len(links) == 2
    text = shown_text(html)
    assert text.index("กลุ่มออมทรัพย์บ้านโนนสะอาด") < text.index("วิสาหกิจชุมชนข้าวอินทรีย์เขาดิน")
    assert "ศูนย์บ่มเพาะเศรษฐกิจและทุนชุมชนบ้านโนนสะอาด" in text
    thai = translations("th")
    for loan_id in links:  # each with its days past due and class as the API gives them that day
        figures = api.get(f"/v1/loans/{loan_id}", as_of=YESTERDAY.isoformat()).json()["figures"]
        words = thai.gettext(CLASS_NAMES[LoanClass(figures["loan_class"])])
        assert f"{figures['days_past_due']} {words} {grouped(figures['principal_outstanding'])}" in text


def test_filters_cut_every_figure_by_the_borrower(app, api, db):
    officer = signed_in(app, PEOPLE["officer"])
    portfolio = api.get("/v1/portfolio", as_of=YESTERDAY.isoformat()).json()
    northeast = next(line for line in portfolio["groups"]["region"] if line["key"] == "northeast")
    page = shown_text(officer.get("/office", params={"region": "northeast"}).text)
    assert f"{northeast['count']} สัญญาที่มีเงินต้นคงค้าง: {grouped(northeast['outstanding'])} บาท" in page
    assert "กลุ่มออมทรัพย์บ้านโนนสะอาด" in page and "วิสาหกิจชุมชนข้าวอินทรีย์เขาดิน" not in page
    centre = next(line for line in portfolio["groups"]["centre"] if line["key"] != "none" and line["count"] == 2)
    named = api.get(f"/v1/parties/{centre['key']}").json()  # the portfolio names the centre, not only its id
    assert (centre["name_th"], centre["name_en"]) == (named["name_th"], named["name_en"]) and named["name_th"]
    by_centre = shown_text(officer.get("/office", params={"centre": centre["key"]}).text)
    assert f"{centre['count']} สัญญาที่มีเงินต้นคงค้าง: {grouped(centre['outstanding'])} บาท" in by_centre
    with db.write() as connection:
        rice = next(r for r in dashboard.loans_in_arrears(connection, YESTERDAY) if r["days_past_due"] < 90)
        reports.add_programme(connection, rice["borrower_party_id"], "livelihood")
    enrolled = shown_text(officer.get("/office", params={"programme": "livelihood", "province": "Nakhon Sawan"}).text)
    assert "1 สัญญาที่มีเงินต้นคงค้าง" in enrolled and "กลุ่มออมทรัพย์บ้านโนนสะอาด" not in enrolled
    with db.read() as connection:
        chosen = LoanFilter(region="north", programme="livelihood")
        narrowed = dashboard.portfolio_as_closed(connection, YESTERDAY, chosen)
    assert narrowed.gross.count == 1
    assert officer.get("/office", params={"centre": "999"}).status_code == 404  # not an incubation centre


def test_approvals_waiting_are_counted_and_linked(app):
    page = signed_in(app, PEOPLE["approver"]).get("/office").text
    assert "สัญญาเงินกู้รออนุมัติ: 1" in shown_text(page)
    assert 'href="/office/approvals"' in page and 'href="/admin/commands"' in page


def run_cob(browser: Browser, day: str):
    form = browser.get("/office/close-of-business")
    key = re.search(r'name="key" value="([0-9a-f]+)"', form.text).group(1)
    return browser.post("/office/close-of-business", {"day": day, "key": key}, token=csrf_of(form))


def test_close_of_business_from_the_page_then_again_changes_nothing(app, db, api):
    manager = signed_in(app, PEOPLE["admin"])
    first = run_cob(manager, "14/06/2567")
    assert first.status_code == 303
    result = shown_text(manager.get(first.headers["location"]).text)
    assert "เสร็จแล้ว: ปิดบัญชีสิ้นวัน 3 สัญญา" in result and "ไม่มีอะไรเปลี่ยน" not in result
    second = run_cob(manager, "2024-06-14")
    again = shown_text(manager.get(second.headers["location"]).text)
    assert "ไม่มีอะไรเปลี่ยน" in again and "ดอกเบี้ยค้างรับที่บันทึก (บาท) 0.00" in again
    with db.read() as connection:
        records = [r for r in audit_log.list_records(connection, after=0, limit=500)
                   if r["action"] == "loan.close-of-business"]  # fmt: skip
    assert [(r["actor"], r["target"], r["outcome"]) for r in records] == [("manager", "close-of-business:2024-06-14",
                                                                           "ok")] * 2  # fmt: skip
    assert "ปิดบัญชีสิ้นวันของวันนี้ทำแล้ว" in shown_text(manager.get("/office").text)
    answer = api.post("/v1/close-of-business", {"date": "2024-06-14"}, "api-cob").json()
    assert answer["loans_processed"] == 0 and answer["loans_reclassified"] == 0


def test_a_day_not_yet_come_is_refused_beside_the_field(app, db):
    manager = signed_in(app, PEOPLE["admin"])
    refused = run_cob(manager, "15/06/2567")
    assert refused.status_code == 422 and "ยังมาไม่ถึง" in refused.text and 'value="15/06/2567"' in refused.text
    assert run_cob(manager, "31/02/2567").status_code == 422


def test_an_officer_sees_close_of_business_but_may_not_run_it(app, db):
    officer = signed_in(app, PEOPLE["officer"])
    form = officer.get("/office/close-of-business")
    assert "ผู้ดูแลระบบเท่านั้น" in form.text and 'name="day"' not in form.text
    token = csrf_of(form)
    assert officer.post("/office/close-of-business", {"day": "14/06/2567", "key": "k"}, token=token).status_code == 403
    with db.read() as connection:
        assert dashboard.last_closed_day(connection) == YESTERDAY


def test_close_of_business_reports_its_progress_after_each_batch(db, demo):
    seen = []
    with db.write() as connection:
        report = loan_cob.close_of_business(connection, TODAY, today=TODAY, user_id=1, now=NOW, batch_size=1,
                                            progress=lambda so_far: seen.append((so_far.loans_processed,
                                                                                 so_far.loans_open)))  # fmt: skip
    assert seen == [(1, 3), (2, 3), (3, 3)] and report.loans_processed == 3


def test_the_status_fragment_shows_a_run_in_progress_and_polls(app):
    officer = signed_in(app, PEOPLE["officer"])
    run = CobRun("a" * 32, TODAY, "manager", NOW, loans_open=3, loans_processed=1)
    app.state.cob_runs = CobRuns()
    app.state.cob_runs._runs[run.id] = run  # as `start` keeps it, without running anything
    fragment = officer.get(f"/office/close-of-business/runs/{run.id}/status").text
    assert "1 จาก 3 สัญญา" in shown_text(fragment)
    assert f'hx-get="/office/close-of-business/runs/{run.id}/status"' in fragment and "<html" not in fragment
    page = officer.get(f"/office/close-of-business/runs/{run.id}").text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    run.finished.set()
    run.result = {"loans_processed": 0, "loans_accrued": 0, "accrued_satang": 0, "penalty_satang": 0,
                  "loans_penalised": 0, "loans_reclassified": 0, "reversed_satang": 0, "non_performing": 0}  # fmt: skip
    done = officer.get(f"/office/close-of-business/runs/{run.id}/status").text
    assert "hx-get" not in done and "ไม่มีอะไรเปลี่ยน" in shown_text(done)
    assert officer.get(f"/office/close-of-business/runs/{'b' * 32}").status_code == 404
