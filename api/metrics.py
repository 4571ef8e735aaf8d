"""The service's figures for Prometheus, at `/metrics` (text format), for an admin's token or for
the addresses the setting `metrics_allow` (`CODI_METRICS_ALLOW`) names; anyone else gets 404, as
if there were nothing there.

- requests by method, route template and status, and their latency;
- group commit (store.group_commit): how many writes each batch held, how long each waited;
- the database pools: connections in use, per engine (write, read), and the pools' size;
- close of business: how long it took and how many loans it went through;
- the age of the newest audit digest written down (`audit-digest-YYYYMMDD.txt` in the setting
  `digest_dir`), read from the file's time at each scrape: +Inf when there is none.

With several server processes (`codi-ledger run --workers N`) the figures are prometheus_client's
multiprocess mode: `run` names a fresh directory in `PROMETHEUS_MULTIPROC_DIR` before the workers
start, each worker writes its figures there, and whichever worker answers a scrape adds them up
(counters and histograms summed; the connections in use summed over the workers). A worker
that died without closing its connections leaves its figure for them until `run` starts again.
"""

import ipaddress
import os
import time
import weakref
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, event

from api.settings import Settings

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
DIGEST_GLOB = "audit-digest-*.txt"
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("codi_http_requests", "Requests answered", ["method", "route", "status"])
LATENCY = Histogram("codi_http_request_duration_seconds", "Time to answer a request", ["method", "route"],
                    buckets=SECONDS)  # fmt: skip
BATCH_SIZE = Histogram("codi_group_commit_batch_size", "Writes committed together in one transaction",
                       buckets=(1, 2, 4, 8, 16, 32, 64))  # fmt: skip
BATCH_WAIT = Histogram("codi_group_commit_wait_seconds", "Time a write waited in the queue before its batch began",
                       buckets=SECONDS)  # fmt: skip
POOL_IN_USE = Gauge("codi_db_connections_in_use", "Database connections checked out of the pool", ["engine"],
                    multiprocess_mode="livesum")  # fmt: skip
POOL_SIZE = Gauge("codi_db_pool_size", "Connections each pool keeps (over all processes)", ["engine"],
                  multiprocess_mode="livesum")  # fmt: skip
COB_DURATION = Histogram("codi_close_of_business_duration_seconds", "Time a close of business took",
                         buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600))  # fmt: skip
COB_LOANS = Counter("codi_close_of_business_loans", "Loans gone through by close of business")
_watched: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_batch(waits_s: list[float]) -> None:
    """A group commit batch began: how many writes it holds and how long each waited for it."""
    BATCH_SIZE.observe(len(waits_s))
    for wait_s in waits_s:
        BATCH_WAIT.observe(wait_s)


def observe_close_of_business(seconds: float, loans_processed: int) -> None:
    COB_DURATION.observe(seconds)
    COB_LOANS.inc(loans_processed)


def watch_pool(engine: Engine, name: str) -> None:
    """Count the engine's connections in use as they are checked out and back in (once per engine,
    however many apps are made on one database)."""
    if engine in _watched:
        return
    _watched.add(engine)
    in_use = POOL_IN_USE.labels(name)
    POOL_SIZE.labels(name).set(engine.pool.size() if hasattr(engine.pool, "size") else 0)
    event.listen(engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine, "checkin", lambda *_: in_use.dec())


class DigestAge:
    """A collector: seconds since the newest audit digest was written down, at each scrape."""

    def __init__(self, digest_dir: Path | None) -> None:
        self.digest_dir = digest_dir

    def collect(self):
        folder = self.digest_dir
        written = [p.stat().st_mtime for p in folder.glob(DIGEST_GLOB)] if folder and folder.is_dir() else []
        age = time.time() - max(written) if written else float("inf")
        yield GaugeMetricFamily("codi_audit_digest_age_seconds", "Seconds since the newest audit digest was "
                                "written down (+Inf: none)", value=age)  # fmt: skip


def exposition(settings: Settings) -> bytes:
    """Every figure, added up over the server's processes when there are several."""
    digest = CollectorRegistry()
    digest.register(DigestAge(settings.digest_dir))
    if MULTIPROCESS_DIR in os.environ:
        everyone = CollectorRegistry()
        multiprocess.MultiProcessCollector(everyone)
        return generate_latest(everyone) + generate_latest(digest)
    return generate_latest(REGISTRY) + generate_latest(digest)


def may_read(request: Request) -> bool:
    """An address the settings allow, or an admin's bearer token."""
    settings, state = request.app.state.settings, request.app.state
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and any(address in network for network in settings.metrics_networks()):
        return True
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not 0 < len(token) <= 200:
        return False
    principal = state.known_tokens.principal(state.db, token.strip(), now=state.clock.now())
    return principal is not None and principal.role == "admin"


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def scrape(request: Request) -> Response:
    if not may_read(request):
        return Response("Not Found", 404, media_type="text/plain")
    return Response(exposition(request.app.state.settings), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    db = app.state.db
    watch_pool(db.writer_engine, "write")
    watch_pool(db.reader_engine, "read")
    db.group_commit.observe_batch = observe_batch
    app.include_router(router)
