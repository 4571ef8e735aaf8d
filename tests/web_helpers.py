"""What the pages' tests share: the demo's people signed in, the one-time key of a form, the
API's answer as the demo's admin sees it."""

import re

from fastapi.testclient import TestClient

from store.demo import DEMO_PEOPLE
from tests.test_web_sessions import Browser

PEOPLE = {role: (name, password) for name, role, password in DEMO_PEOPLE}
OFFICER, APPROVER, AUDITOR, ADMIN = (PEOPLE[role] for role in ("officer", "approver", "auditor", "admin"))


def signed_in(app, person: tuple[str, str]) -> Browser:
    """A browser signed in as the person (name, password)."""
    browser = Browser(app)
    assert browser.sign_in(*person).status_code == 303
    return browser


def key_of(page) -> str:
    """The one-time key a form's page holds (a form sent twice with it is one write)."""
    return re.search(r'name="key" value="([0-9a-f]{32})"', page.text).group(1)


def api_get(app, demo, path: str):
    """What the API answers the demo's admin."""
    answer = TestClient(app).get(path, headers={"Authorization": f"Bearer {demo.admin_token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()
