"""Page response times at the demo's size (the issue's target: under 200 ms a page):

    python -m bench.pages [--db sqlite|postgres|both] [--requests 50]

For each database it makes a new one, loads the demo (store.demo) dated today, starts the real
server (`codi-ledger run`, uvicorn) and, over one keep-alive connection with a signed-in session
(the sign-in form posted with its CSRF token, as a browser does), GETs each page `--requests`
times after a few warm-up requests, and reports p50 and p99 in ms. Beside them, the floor of the
same run: the /health round trip over the same connection (HTTP and the event loop, no session,
no database). The enterprise's pages other than its home (/sales, /statement, /loan, /shares)
are measured when the server has them (a 404 leaves them out).
"""

import argparse
import http.client
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from bench.client import Server
from bench.run import fresh_database, say
from ledger.calendar import fiscal_year_of
from store import books
from store.demo import DEMO_PEOPLE, load_demo
from store.engine import Database

WARM_UP = 3
TARGET_MS = 200
ENTERPRISE_PAGES = ("/", "/sales", "/statement", "/loan", "/shares")


class Session:
    """One keep-alive connection carrying a signed-in person's cookies."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body, {**(headers or {}), **({"Cookie": cookie} if cookie else {})})
        response = self.connection.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, content

    def sign_in(self, name: str, password: str) -> None:
        _, form = self.request("GET", "/signin")
        token = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', form).group(1).decode()
        body = urlencode({"name": name, "password": password, "next": "/", "csrf_token": token}).encode()
        status, _ = self.request("POST", "/signin", body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303 and "codi_session" in self.cookies, f"sign-in as {name}: {status}"

    def timings_ms(self, path: str, requests: int) -> list[float] | None:
        """Each GET's time in ms; None if the page is not there (404)."""
        status, content = self.request("GET", path)
        if status == 404:
            return None
        assert status == 200, f"GET {path}: {status} {content[:300]!r}"
        for _ in range(WARM_UP - 1):
            self.request("GET", path)
        times = []
        for _ in range(requests):
            began = time.perf_counter()
            status, _ = self.request("GET", path)
            times.append((time.perf_counter() - began) * 1000)
            assert status == 200
        return times

    def close(self) -> None:
        self.connection.close()


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[98]


def demo_paths(url: str) -> dict[str, str]:
    """Load the demo into the new database; the auditor's pages of its fund book and cash."""
    db = Database(url)
    db.migrate()
    now = datetime.now(UTC)
    load_demo(db, now=now)
    with db.read() as connection:
        book = next(b for b in books.list_books(connection, only_party=None, after=0, limit=50) if b["kind"] == "fund")
        cash = next(a for a in books.book_accounts(connection, book["id"]) if a["code"] == "1100")
    db.dispose()
    chosen = f"book_id={book['id']}&fiscal_year={fiscal_year_of(now.date())}"
    return {
        "auditor: trial balance": f"/audit/trial-balance?{chosen}",
        "auditor: income statement": f"/audit/income-statement?{chosen}",
        "auditor: financial position": f"/audit/financial-position?{chosen}",
        "auditor: overview and chart": f"/audit?{chosen}",
        "auditor: general ledger (cash)": f"/audit/accounts/{cash['id']}?fiscal_year={fiscal_year_of(now.date())}",
        "auditor: entry": "/audit/entries/1",
        "auditor: audit trail": "/audit/trail",
    }


def measure(kind: str, requests: int) -> list[tuple[str, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as workdir, fresh_database(kind, "pages", workdir) as url:
        auditor_paths = demo_paths(url)
        server = Server(url)
        try:
            (enterprise_name, _, enterprise_password), (auditor_name, _, auditor_password) = DEMO_PEOPLE
            floor = Session(server.port)
            times = floor.timings_ms("/health", requests)
            rows.append(("floor: /health round trip", statistics.median(times), p99(times)))
            floor.close()
            enterprise = Session(server.port)
            enterprise.sign_in(enterprise_name, enterprise_password)
            for path in ENTERPRISE_PAGES:
                if (times := enterprise.timings_ms(path, requests)) is not None:
                    rows.append((f"enterprise: {path}", statistics.median(times), p99(times)))
            enterprise.close()
            auditor = Session(server.port)
            auditor.sign_in(auditor_name, auditor_password)
            for name, path in auditor_paths.items():
                times = auditor.timings_ms(path, requests)
                rows.append((name, statistics.median(times), p99(times)))
            auditor.close()
        finally:
            server.stop()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        say(f"pages on {kind}: {args.requests} GETs each, signed in, one keep-alive connection")
        rows = measure(kind, args.requests)
        print(f"\n{kind}: page                          p50 ms   p99 ms   (target < {TARGET_MS} ms)")
        for name, median, high in rows:
            mark = "" if name.startswith("floor") or high < TARGET_MS else "  over the target"
            print(f"  {name:<36} {median:7.1f}  {high:7.1f}{mark}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
