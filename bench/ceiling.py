"""The HTTP stack's ceiling for posting: a bare FastAPI route on uvicorn that validates the same
entry body (`api.schemas.EntryCreate`) and answers 201 with it, with no database, no
authentication, no idempotency and no audit. `bench.run` drives it with the same client as our
server, in the same run, and gives each posting figure as a share of it.

    python -m bench.ceiling PORT    serves it (uvicorn as `codi-ledger run` configures it)
"""

import os
import subprocess
import sys
import time

from fastapi import FastAPI

from api.schemas import EntryCreate
from bench.client import Client, free_port

START_TIMEOUT_S = 60
app = FastAPI()


@app.post("/v1/entries", status_code=201)
async def post_entry(body: EntryCreate) -> EntryCreate:
    return body


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


class CeilingServer:
    """`python -m bench.ceiling` in a subprocess, until `stop`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "bench.ceiling", str(self.port)], env=os.environ.copy())
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the ceiling server exited with {self.process.returncode}")
            probe = Client(self.port, "")
            try:
                if probe.get("/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
            finally:
                probe.close()
        self.stop()
        raise RuntimeError("the ceiling server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def main(argv: list[str]) -> int:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(argv[0]), log_level="warning", access_log=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
