"""The real server in a subprocess (`codi-ledger run`, uvicorn) and a keep-alive HTTP client
(`http.client`, the lightest there is: the client shares the machine's two cores with the server).
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
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
