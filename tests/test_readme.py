"""The README's tour of the API is true of the demo that `make run` loads: its example entry
posts to the accounts its words name, and is recorded."""

import json
import re
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_the_example_entry_posts_to_the_accounts_the_readme_names(api, demo):
    body = json.loads(re.search(r"localhost:8000/v1/entries -d '(\{.*?\})'", README, re.S).group(1))
    named = {int(account_id): (code, name)
             for account_id, code, name in re.findall(r"account (\d+) is (\d{4}) ([A-Z][a-z ]+[a-z])", README)}
    assert {p["account_id"] for p in body["postings"]} == set(named)
    for account_id, (code, name) in named.items():
        account = api.get(f"/v1/accounts/{account_id}").json()
        assert (account["book_id"], account["code"], account["name_en"]) == (body["book_id"], code, name)
    recorded = api.post("/v1/entries", body, "grant-2024-06-01")
    assert recorded.status_code == 201, recorded.text
    assert ({p["account_id"]: p["amount"] for p in recorded.json()["postings"]}
            == {p["account_id"]: p["amount"] for p in body["postings"]})  # fmt: skip


def test_the_pages_section_shows_the_screenshots_the_browser_tests_write():
    """tests/browser writes these (check_page(..., readme=True)): the enterprise's home on a phone
    and the auditor's trial balance, as the issue of the pages asked, and the README shows them."""
    pages = README[README.index("## Pages") :]
    shown = re.findall(r"!\[[^\]]+\]\((docs/screenshots/[\w-]+\.png)\)", pages)
    assert {"docs/screenshots/enterprise-home.png", "docs/screenshots/audit-trial-balance.png"} <= set(shown)
    root = Path(__file__).parent.parent
    assert all((root / path).read_bytes().startswith(b"\x89PNG") for path in shown)
