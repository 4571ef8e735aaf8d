"""The real server, as `codi-ledger run` starts it (`api.cli.server`: uvicorn with the options of
`api.settings`), on a free port, attacked over real connections: a client that names its own
address in X-Forwarded-For, and a client that declares a body it never sends."""

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from api import cli
from api.app import create_app
from api.settings import Settings

START_TIMEOUT_S = 60
FAILURES_ALLOWED = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(db, clock, settings: Settings) -> Iterator[int]:
    """The app on a real uvicorn in a thread, its throttle tightened; yields the port."""
    app = create_app(db, clock, settings)
    app.state.auth_throttle.max_failures = FAILURES_ALLOWED
    port = free_port()
    server = cli.server(app, host="127.0.0.1", port=port, settings=settings)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


def status_with(port: int, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/v1/books", headers={"Authorization": "Bearer codi_wrong", **headers})
        return connection.getresponse().status
    finally:
        connection.close()


def forwarded_for(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_a_forwarded_address_does_not_steer_the_throttle(db, clock):
    """No proxy trusted (the default): a guesser that names a new address in X-Forwarded-For
    with every attempt is still throttled by the address it connects from."""
    with serving(db, clock, Settings()) as port:
        statuses = [status_with(port, forwarded_for(f"198.51.100.{n}")) for n in range(FAILURES_ALLOWED + 2)]
    assert statuses == [401] * FAILURES_ALLOWED + [429, 429]


def test_behind_a_trusted_proxy_each_forwarded_address_counts_alone(db, clock):
    """With the proxy named in CODI_TRUSTED_PROXIES, the throttle counts the address the proxy
    forwards: one client locked out, another behind the same proxy not."""
    with serving(db, clock, Settings.from_environ({"CODI_TRUSTED_PROXIES": "127.0.0.1"})) as port:
        guesser = [status_with(port, forwarded_for("198.51.100.7")) for _ in range(FAILURES_ALLOWED + 1)]
        other = status_with(port, forwarded_for("203.0.113.9"))
    assert (guesser, other) == ([401] * FAILURES_ALLOWED + [429], 401)


def test_a_body_that_never_arrives_is_refused_when_its_time_is_up(db, clock):
    """A POST that declares 100 bytes and sends 10 gets 408 request_timeout after the body
    timeout (1 s here), and the server closes the connection."""
    with serving(db, clock, Settings(body_timeout_s=1)) as port, socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(30)
        started = time.monotonic()
        s.sendall(b"POST /v1/entries HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n" + b'{"book_id"')  # fmt: skip
        answer = b""
        while chunk := s.recv(65536):  # until the server closes the connection
            answer += chunk
        waited_s = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert b'"reason":"request_timeout"' in body
    assert 0.9 <= waited_s < 10, waited_s
