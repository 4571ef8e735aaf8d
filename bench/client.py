"""The real server in a subprocess (`codi-ledger run`, uvicorn); a keep-alive HTTP client
(`http.client`) for requests one at a time; and, for many clients at once, `post_concurrently`:
one event loop driving keep-alive connections over plain sockets, each request written as bytes
and each answer read by its Content-Length. The clients share the machine's two cores with the
server: eight `http.client` threads took about a third of the server's throughput away from it,
this takes a few per cent (against wrk, a load generator in C, on the same route).
"""

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CODI_LEDGER = str(Path(sys.executable).with_name("codi-ledger"))
START_TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`codi-ledger run` on DATABASE_URL=url, until `stop`."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": url}
        self.process = subprocess.Popen(
            [CODI_LEDGER, "run", "--port", str(self.port)], env=env, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            if self.healthy():
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("the server did not start")

    def healthy(self) -> bool:
        probe = Client(self.port, "")
        try:
            return probe.get("/health")[0] == 200
        except OSError:
            return False
        finally:
            probe.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Client:
    """One keep-alive connection speaking as one bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body: bytes | None = None, headers=None) -> tuple:
        """(status, body). The server drops a connection idle for 5 s; then we connect again
        and resend once, which is safe for a POST too: it carries an Idempotency-Key."""
        for attempt in range(2):
            try:
                self.connection.request(method, path, body, {**self.headers, **(headers or {})})
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def get_json(self, path: str):
        status, body = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        return json.loads(body)

    def post(self, path: str, body: dict, key: str) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        return self.request("POST", path, json.dumps(body).encode(), headers)

    def close(self) -> None:
        self.connection.close()


Requests = Callable[[int, int], tuple[str, bytes, str]]  # (client, number) -> (path, JSON body, key)


@dataclass
class Hammered:
    succeeded: int
    failed: int
    seconds: float
    errors: list[bytes]


def post_concurrently(port: int, token: str, requests: Requests, *, clients: int, seconds: float) -> Hammered:
    """POST `requests(client, number)` from `clients` keep-alive connections, each waiting for
    its answer before sending the next, for `seconds`."""
    return asyncio.run(_post_concurrently(port, token, requests, clients, seconds))


async def _post_concurrently(port: int, token: str, requests: Requests, clients: int, seconds: float) -> Hammered:
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]
    began = time.perf_counter()
    deadline, done = began + seconds, Hammered(0, 0, 0.0, [])
    await asyncio.gather(*(_post_until(c, token, requests, i, deadline, done) for i, c in enumerate(connections)))
    done.seconds = time.perf_counter() - began
    for _, writer in connections:
        writer.close()
    return done


async def _post_until(connection, token: str, requests: Requests, client: int, deadline: float, done: Hammered) -> None:
    reader, writer = connection
    number = 0
    while time.perf_counter() < deadline:
        number += 1
        path, body, key = requests(client, number)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body
        )  # fmt: skip
        status, answer = await _answer(reader)
        if 200 <= status < 300:
            done.succeeded += 1
        else:
            done.failed += 1
            done.errors.append(answer)


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of the next answer (our server gives every JSON answer a length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))  # fmt: skip
    return int(head[9:12]), await reader.readexactly(length)
