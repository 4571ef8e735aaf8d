"""docs/tiers.md, the worked year of a housing cooperative, is what the API answers when the year
is played again (`tests.tiers_report`), byte for byte, on SQLite and on PostgreSQL: the document
cannot drift from the ledger."""

from tests.conftest import make_user
from tests.tiers_report import DOC, report


def test_the_worked_year_in_the_docs_is_what_the_api_answers(api, db, clock):
    officer, approver = (api.as_(make_user(db, name, name)) for name in ("officer", "approver"))
    assert report(api, officer, approver, clock) == DOC.read_text()
