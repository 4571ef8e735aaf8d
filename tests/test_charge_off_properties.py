"""Properties of charge-off (`ledger.charge_off`, `store.loan_charge_off`):

- charging a loan off and undoing it leaves every balance of the book, the loan's figures and its
  accruing flag as they were; so does writing it off and undoing that, charged off or not;
- a charge-off never moves the loan's receivable (principal outstanding equals its balance) and
  recognises exactly the principal outstanding as a loss into the allowance;
- the portfolio puts a charged-off loan in the class `charged_off` and at risk (PAR30 and PAR90)
  whatever its age, its gross unchanged; class lines always sum to the gross;
- close of business on a charged-off loan accrues and charges nothing and reverses what was accrued.
"""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.accounts import EntryDraft, Posting
from ledger.charge_off import ChargeOffReason, charged_off_day
from ledger.loan_book import CHARGED_OFF_CLASS, Portfolio, Totals, close_of_day
from ledger.loans import BOT_CLASSES, schedule
from store import books, journal, loan_charge_off, loan_cob, loans, users
from tests.conftest import NOW
from tests.test_loan_properties import TERMS

FIRST_DAY, TODAY = date(2024, 1, 1), date(2024, 12, 31)
STORE = settings(max_examples=12, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip


def _lent(db, terms, amount: int, paid_share: int, cob_gap: int) -> dict:
    """A fund book with a loan disbursed on 1 February, a repayment of a share of it on 1 April
    (if any), and close of business `cob_gap` days after that (if any)."""
    with db.write() as c:
        borrower = books.create_party(c, {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์"}, now=NOW)["id"]
        book = books.create_book(c, {"code": "FUND", "kind": "fund", "name_th": "กองทุน"}, now=NOW)["id"]
        ids = {a["code"]: a["id"] for a in books.book_accounts(c, book)}
        officer = users.add_user(c, name="officer", role="officer", party_id=None, now=NOW)[0]
        approver = users.add_user(c, name="approver", role="approver", party_id=None, now=NOW)[0]
        capital = (Posting(ids["1100"], 10**12), Posting(ids["3100"], -(10**12)))
        journal.record_entry(c, EntryDraft(book, FIRST_DAY, "manual", "capital", capital), recorded_by=officer,
                             recorded_at=NOW)  # fmt: skip
        product = {"book_id": book, "code": "P", "name_th": "สินเชื่อ", "terms": terms, "min_savings_percent": Decimal(10)}
        product = loans.create_product(c, product, created_by=officer, now=NOW)
        loan = loans.apply(c, {"product_id": product["id"], "borrower_party_id": borrower, "amount_satang": amount,
                               "savings_satang": amount}, recorded_by=officer, now=NOW)  # fmt: skip
        loans.approve(c, loan["id"], approved_by=approver, now=NOW)
        loans.disburse(c, loan["id"], amount_satang=amount, on=date(2024, 2, 1), today=TODAY, user_id=officer, now=NOW)
        if paid_share:
            loans.repay(c, loan["id"], amount_satang=max(1, amount * paid_share // 1000), on=date(2024, 4, 1),
                        today=TODAY, user_id=officer, now=NOW)  # fmt: skip
    if cob_gap:
        with db.write() as c:
            loan_cob.close_of_business(c, date(2024, 4, 1) + timedelta(days=cob_gap), today=TODAY, user_id=approver,
                                       now=NOW)  # fmt: skip
    return {"book": book, "loan": loan["id"], "approver": approver, "ids": ids}


def _snapshot(db, lent: dict, day: date) -> tuple:
    """Every balance of the book, the loan's figures on `day` and the loan's flags."""
    with db.read() as c:
        balances = {a["code"]: a["balance_satang"] for a in books.book_accounts(c, lent["book"])}
        loan = loans.get_loan(c, lent["loan"])
        shown = loans.state(c, loan).figures(day)
    flags = (loan["status"], loan["accruing"], loan["charged_off_on"], loan["charge_off_reason"])
    return balances, shown, flags


@STORE
@given(terms=TERMS, amount=st.integers(1_000_00, 100_000_000_00), paid_share=st.integers(0, 999),
       cob_gap=st.integers(0, 120), gap=st.integers(0, 150), reason=st.sampled_from(list(ChargeOffReason)),
       write_off_too=st.booleans())  # fmt: skip
def test_a_charge_off_and_a_write_off_undone_leave_everything_as_it_was(
    databases, terms, amount, paid_share, cob_gap, gap, reason, write_off_too
):  # fmt: skip
    db, drop = databases.fresh()
    try:
        lent = _lent(db, terms, amount, paid_share, cob_gap)
        on = min(date(2024, 4, 1) + timedelta(days=cob_gap + gap), TODAY)
        before = _snapshot(db, lent, on)
        who = {"user_id": lent["approver"], "now": NOW}
        with db.write() as c:
            done = loan_charge_off.charge_off_loan(c, lent["loan"], on=on, reason=reason.value, note="why", today=TODAY,
                                                   **who)  # fmt: skip
        balances, shown, flags = _snapshot(db, lent, on)
        outstanding = before[1].principal_outstanding_satang
        assert done.charge_off["principal_satang"] == outstanding == shown.principal_outstanding_satang
        assert balances["5200"] - before[0]["5200"] == outstanding == before[0]["1290"] - balances["1290"]
        assert {k: v for k, v in balances.items() if k not in ("5200", "1290")} == {
            k: v for k, v in before[0].items() if k not in ("5200", "1290")}  # the receivable untouched
        assert flags == ("active", False, on, reason.value)
        with db.read() as c:
            book = loan_cob.portfolio(c, on, book_id=lent["book"])
        assert book.gross.outstanding_satang == outstanding == book.charged_off_satang == book.over_90_satang
        assert set(book.groups["class"]) == {CHARGED_OFF_CLASS}
        if write_off_too:
            charged_off = _snapshot(db, lent, on)
            with db.write() as c:
                loans.write_off_loan(c, lent["loan"], on=on, reason="gone", today=TODAY, **who)
            assert _snapshot(db, lent, on)[0]["5200"] == balances["5200"]  # the allowance pays: no second loss
            with db.write() as c:
                loan_charge_off.undo_write_off(c, lent["loan"], reason="in error", **who)
            assert _snapshot(db, lent, on) == charged_off
        with db.write() as c:
            loan_charge_off.undo_charge_off(c, lent["loan"], reason="in error", **who)
        assert _snapshot(db, lent, on) == before
    finally:
        drop()


LOANS = st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 800), st.booleans()), max_size=20)


@given(loans_=LOANS)
def test_charged_off_loans_are_their_own_class_and_always_at_risk(loans_):
    plain, marked = Portfolio(), Portfolio()
    for outstanding, age, charged_off in loans_:
        plain.add(outstanding, age, {})
        marked.add(outstanding, age, {}, charged_off=charged_off)
    assert marked.gross == plain.gross
    classes = marked.groups.get("class", {})
    assert sum(line.outstanding_satang for line in classes.values()) == marked.gross.outstanding_satang
    charged = sum(o for o, _, c in loans_ if c and o > 0)
    assert marked.charged_off_satang == charged
    assert charged <= marked.over_90_satang <= marked.over_30_satang <= marked.gross.outstanding_satang
    assert marked.over_30_satang == plain.over_30_satang + sum(o for o, a, c in loans_ if c and o > 0 and a <= 30)
    assert (CHARGED_OFF_CLASS in classes) == (charged > 0)
    bot = {str(grade) for _, grade in BOT_CLASSES}
    assert sum(line.outstanding_satang for key, line in classes.items() if key in bot) == (
        marked.gross.outstanding_satang - charged)  # fmt: skip


@given(terms=TERMS, amount=st.integers(1_00, 10**9), later=st.integers(0, 400), accrued=st.integers(0, 10**7),
       paid=st.integers(0, 10**9))  # fmt: skip
def test_close_of_business_on_a_charged_off_loan_accrues_nothing(terms, amount, later, accrued, paid):
    plan = schedule(amount, terms, date(2024, 1, 31))
    sums = Totals(disbursed_satang=amount, accrued_satang=accrued)
    day = date(2024, 1, 31) + timedelta(days=later)
    decision = close_of_day(plan, terms, sums, paid, day)
    charged_off = charged_off_day(decision, sums)
    assert (charged_off.accrual_satang, charged_off.penalty_satang, charged_off.accruing) == (0, 0, False)
    assert charged_off.reversal_satang == accrued == sums.interest_receivable_satang
    assert (charged_off.days_past_due, charged_off.loan_class) == (decision.days_past_due, decision.loan_class)
