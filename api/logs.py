"""What the service writes to its log (standard error), under the logger `codi`:

- `codi.access`: one line per request: method, route template (`/v1/loans/{loan_id}`, never the
  path as sent), status, duration in ms, the user id of the caller if known and the request id.
  Nothing of a request's headers, query or body is written, so no token, password or national
  ID can reach the log through it.
- `codi.events`: what the operations that move many things did, with their figures: close of
  business, imports, period closes, restores (`event`).

Lines are JSON (one object per line) when standard error is not a terminal, readable text on a
terminal; the setting `log_format` (`CODI_LOG_FORMAT`: auto, json, text) overrides it.

The request id is the client's `X-Request-Id` when short and plain (api.writes keeps it in the
audit record too), else one of ours; every answer carries it back in `X-Request-Id`.
"""

import json
import logging
import re
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from time import perf_counter
from typing import Any, TextIO

from fastapi import FastAPI

from api import metrics
from api.settings import Settings
from ledger.money import format_amount

ACCESS = logging.getLogger("codi.access")
EVENTS = logging.getLogger("codi.events")
# A client's X-Request-Id is kept when short and plain; anything else (a log line forged with a
# newline, markup, a kilobyte of text) gives way to one of ours.
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
UNMATCHED = "unmatched"  # no route: its path is the client's text, not ours to write down


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}  # fmt: skip
        line |= getattr(record, "fields", {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class ReadableText(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S")
        fields = " ".join(f"{name}={value}" for name, value in getattr(record, "fields", {}).items())
        text = f"{moment} {record.levelname:<7} {record.name} {record.getMessage()} {fields}".rstrip()
        return text + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


class StandardError(logging.StreamHandler):
    """Writes to standard error as it is when a line is written, not as it was when configured."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(settings: Settings, stream: TextIO | None = None) -> None:
    """Send the `codi` loggers to `stream` (standard error) in the format the settings ask."""
    handler = logging.StreamHandler(stream) if stream else StandardError()
    as_json = settings.log_format == "json" or (settings.log_format == "auto" and not handler.stream.isatty())
    handler.setFormatter(JsonLines() if as_json else ReadableText())
    root = logging.getLogger("codi")
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    root.propagate = False


def event(name: str, **figures: Any) -> None:
    """Log what an operation did, with its figures (counts, amounts as text, dates)."""
    EVENTS.info(name, extra={"fields": {"event": name, **figures}})


def close_of_business_done(report, seconds: float) -> None:
    """Log a close of business (store.loan_cob's report) with its figures, and count it."""
    metrics.observe_close_of_business(seconds, report.loans_processed)
    event("loan.close-of-business", date=report.day.isoformat(), seconds=round(seconds, 3),
          loans_processed=report.loans_processed, loans_accrued=report.loans_accrued,
          accrued=format_amount(report.accrued_satang), loans_reversed=report.loans_reversed,
          reversed=format_amount(report.reversed_satang), non_performing=report.non_performing,
          loans_penalised=report.loans_penalised, penalty=format_amount(report.penalty_satang))  # fmt: skip


def close_of_business_logger() -> Callable[[Any], None]:
    """What to tell of each day a run closes (store.daily_cob.close_due_days's `closed`): the
    day's figures and the seconds since the run began or the day before it was closed."""
    began = perf_counter()

    def closed(report) -> None:
        nonlocal began
        close_of_business_done(report, perf_counter() - began)
        began = perf_counter()

    return closed


def request_id(scope) -> str:
    """The request's id, chosen once (`RequestLog`) and kept in the request's state."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        sent = dict(scope.get("headers", ())).get(b"x-request-id", b"").decode("latin-1")
        state["request_id"] = sent if CLIENT_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    return state["request_id"]


def route_template(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


def user_id(scope) -> int | None:
    """The caller: the token's principal (api.context) or the page session's (web.session)."""
    state = scope.get("state", {})
    principal = state.get("principal") or getattr(state.get("signed_in"), "principal", None)
    return getattr(principal, "user_id", None)


class RequestLog:
    """Pure ASGI middleware, the outermost: times each request, logs it and counts it (api.metrics)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        began, status = perf_counter(), 500
        identifier = request_id(scope)

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", identifier.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = perf_counter() - began
            route = route_template(scope)
            metrics.observe_request(scope["method"], route, status, seconds)
            ACCESS.info("request", extra={"fields": {
                "method": scope["method"], "route": route, "status": status, "duration_ms": round(seconds * 1000, 1),
                "user_id": user_id(scope), "request_id": identifier,
            }})  # fmt: skip


def install(app: FastAPI) -> None:
    """Add the request log; added last, it runs first and sees every answer, refusals included."""
    app.add_middleware(RequestLog)
