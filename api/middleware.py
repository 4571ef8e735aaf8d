"""What every request meets before any route: a bound on its body, a time limit on its arrival,
and a throttle on failed authentication.

- A body larger than `MAX_BODY_BYTES` is refused with 413 (`request_too_large`) before a route
  parses it: by its Content-Length when it declares one, otherwise while it is read (a chunked
  body is read into memory up to the bound, never beyond). An import route takes a market day's
  file, up to its own larger bound (`IMPORT_BODY_BYTES`).
- A body that has not wholly arrived `body_timeout_s` seconds after the request began to be read
  is refused with 408 (`request_timeout`) and the connection is closed: a client that declares a
  body and never sends it holds a connection for seconds, not for as long as it likes.
- A body holding a lone surrogate (`ledger.text`), text that nothing can store, is refused with
  422 (`invalid_text`) before anything decodes it, whatever route, schema or field it is for.
- A client address whose requests failed authentication (401) `max_failures` times within
  `window_s` seconds gets 429 (`too_many_attempts`) with a Retry-After header on every request
  until the oldest of those failures leaves the window, valid token or not: a guesser learns
  nothing while it waits. The count lives in the process: with several server processes each
  counts its own (docs/scaling.md says why that bound is still safe). The address is the one
  that connected, unless it is a proxy named in the setting `trusted_proxies`
  (`CODI_TRUSTED_PROXIES`, `api.settings`): only then does uvicorn take X-Forwarded-For's.
"""

import asyncio
import math
from collections import OrderedDict, deque
from collections.abc import Callable
from time import monotonic

from fastapi import FastAPI
from starlette.datastructures import Headers

from api.problem_text import answer_language
from api.problems import problem
from ledger.errors import LedgerError, Rejection
from ledger.text import check_storable

MAX_BODY_BYTES = 256 * 1024  # an entry of 200 postings is about 15 KiB
IMPORT_BODY_BYTES = 8 * 1024 * 1024  # 10,000 sale lines of up to about 800 bytes each
MULTIPART_BYTES = 64 * 1024  # the imports page's form around its file: the fields and their boundaries
BODY_BYTES_BY_PATH = {"/v1/sales/import": IMPORT_BODY_BYTES, "/office/imports": IMPORT_BODY_BYTES + MULTIPART_BYTES}
MAX_FAILURES = 20
WINDOW_S = 60.0
MAX_ADDRESSES = 10_000  # the throttle's own memory is bounded too: the longest-quiet address goes first
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuthThrottle:
    """Failed authentications per client address, in a sliding window."""

    def __init__(
        self, *, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S, clock: Callable[[], float] = monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def failed(self, address: str) -> None:
        times = self._failures.pop(address, None) or deque()
        times.append(self.clock())
        while len(times) > self.max_failures:
            times.popleft()
        self._failures[address] = times  # now the most recent
        if len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)

    def retry_after_s(self, address: str) -> int | None:
        """Whole seconds the address must wait, or None if it may try now."""
        times = self._failures.get(address)
        if not times:
            return None
        now = self.clock()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) < self.max_failures:
            return None
        return max(1, math.ceil(times[0] + self.window_s - now))


class _BodyTooLarge(Exception):
    pass


def _language(scope) -> str:
    """The language of a refusal's words (api.problem_text), from the request's headers."""
    return answer_language(Headers(scope=scope).get("accept-language", ""))


class RequestGuard:
    """Pure ASGI middleware: the body bound, its time limit and the authentication throttle."""

    def __init__(
        self, app, *, throttle: AuthThrottle, body_timeout_s: int, max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.throttle = throttle
        self.body_timeout_s = body_timeout_s
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        address = (scope.get("client") or ("unknown",))[0]
        if wait_s := self.throttle.retry_after_s(address):
            detail = f"too many failed authentications from this address; try again in {wait_s} s"
            refusal = problem(Rejection.too_many_attempts, detail, 429, language=_language(scope))
            refusal.headers["Retry-After"] = str(wait_s)
            return await refusal(scope, receive, send)
        if scope["method"] in WRITE_METHODS:
            bound = BODY_BYTES_BY_PATH.get(scope["path"], self.max_body_bytes)
            try:
                async with asyncio.timeout(self.body_timeout_s):
                    body, receive = await self._bounded_body(scope, receive, bound)
            except _BodyTooLarge:
                detail = f"the request body exceeds {bound} bytes"
                refusal = problem(Rejection.request_too_large, detail, 413, language=_language(scope))
                return await refusal(scope, receive, send)
            except TimeoutError:
                detail = f"the request body did not arrive within {self.body_timeout_s} s"
                refusal = problem(Rejection.request_timeout, detail, 408, language=_language(scope))
                refusal.headers["Connection"] = "close"  # what is left of the body is not waited for
                return await refusal(scope, receive, send)
            try:
                check_storable(body)
            except LedgerError as error:
                return await problem(error.reason, error.detail, 422, language=_language(scope))(scope, receive, send)

        async def send_noting_failures(message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.throttle.failed(address)
            await send(message)

        await self.app(scope, receive, send_noting_failures)

    async def _bounded_body(self, scope, receive, bound: int) -> tuple[bytes, Callable]:
        """The body read whole, up to `bound` bytes, and a `receive` that hands it on."""
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > bound):
            raise _BodyTooLarge
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return b"", _replay([message])
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > bound:
                raise _BodyTooLarge
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        return body, _replay([{"type": "http.request", "body": body, "more_body": False}], then=receive)


def _replay(messages: list[dict], then=None):
    pending = list(messages)

    async def receive():
        if pending:
            return pending.pop(0)
        return await then() if then else {"type": "http.disconnect"}

    return receive


def install(app: FastAPI, *, body_timeout_s: int) -> None:
    app.state.auth_throttle = AuthThrottle()
    app.add_middleware(RequestGuard, throttle=app.state.auth_throttle, body_timeout_s=body_timeout_s)
