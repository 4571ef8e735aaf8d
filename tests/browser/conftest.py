"""Browser tests: Debian's Chromium (never a downloaded one) driven by Playwright against a real
uvicorn server on a free 127.0.0.1 port, over a fresh migrated database (SQLite, or PostgreSQL
with CODI_TEST_DB=postgres) loaded with the demo (store.demo) on the test clock's day.

Chromium absent is a failure, never a skip: `make test` installs it (`make chromium`).
Each page a journey visits is checked with axe-core (vendored beside this file) and
photographed into tests/browser/screenshots/ (git-ignored), or docs/screenshots/ for the ones
the README shows.
"""

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Error as PlaywrightError

from api.app import create_app
from tests.conftest import FixedClock

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}  # the auditor's pages are desktop first
HERE = Path(__file__).parent
AXE = HERE / "vendor" / "axe.min.js"
SCREENSHOTS = HERE / "screenshots"
README_SCREENSHOTS = HERE.parent.parent / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(db, demo) -> Iterator[str]:
    """The app with the demo loaded, served by uvicorn in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(db, FixedClock()), host="127.0.0.1", port=port, log_level="warning",
                            ws="none", lifespan="off")  # fmt: skip
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not served.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: run `make chromium` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium, server):
    """A new phone-sized browser (its own cookies) on the demo server; `phone.base` is its URL."""
    yield from _browser_page(chromium, server, PHONE)


@pytest.fixture
def desktop(chromium, server):
    """The same on a desktop screen (1280 x 900), downloads accepted."""
    yield from _browser_page(chromium, server, DESKTOP)


def _browser_page(chromium, server: str, viewport: dict):
    context = chromium.new_context(viewport=viewport, base_url=server, locale="th-TH", accept_downloads=True)
    page = context.new_page()
    page.base = server
    page.csp_violations = []
    page.on("console", lambda message: _note_csp_violation(page, message.text))
    yield page
    context.close()


def _note_csp_violation(page, text: str) -> None:
    if "Content Security Policy" in text:
        page.csp_violations.append(text)


def check_page(page, name: str, *, readme: bool = False) -> None:
    """Photograph the page; fail on a content security policy violation, or a serious or critical
    accessibility violation."""
    folder = README_SCREENSHOTS if readme else SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready")
    _photograph(page, folder / f"{name}.png")
    assert page.csp_violations == [], f"{name}: {page.csp_violations}"
    # Evaluated through the browser's protocol, not added as a <script>: the pages' content
    # security policy rightly refuses an inline script.
    page.evaluate(AXE.read_text())
    violations = page.evaluate("axe.run().then(r => r.violations.map(v => [v.id, v.impact, v.nodes.length]))")
    serious = [v for v in violations if v[1] in ("serious", "critical")]
    assert serious == [], f"{name}: {serious}"


def _photograph(page, path: Path) -> None:
    """A full-page screenshot. Chromium now and then answers a capture with "Unable to capture
    screenshot" while it composites a tall page (seen once in CI); the photograph is a record, not
    what is tested, so a second capture is taken a moment later before that is an error."""
    try:
        page.screenshot(path=str(path), full_page=True)
    except PlaywrightError as error:
        if "Unable to capture screenshot" not in str(error):
            raise
        page.wait_for_timeout(500)
        page.screenshot(path=str(path), full_page=True)
