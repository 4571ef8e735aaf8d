"""Close of business started from a page: the API's own audited write
(`api.routes.loans.run_close_of_business`, as POST /v1/close-of-business, under the person and
the form's idempotency key) run in a thread of its own, so that the page can answer at once and
show how far a long run has come.

Close of business reports after each batch of loans (`store.loan_cob.close_of_business`'s
`progress`); the run keeps the figures so far, and the page's status fragment reads them (htmx
polls it; without JavaScript the page reloads itself). A run lives in the memory of the server
that started it (the latest MAX_RUNS are kept): what it did is also in the audit trail and the
journal, for good.
"""

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from fastapi import Request

from api.routes.loans import run_close_of_business
from api.writes import WriteRequest
from ledger.errors import LedgerError
from ledger.money import parse_amount
from store.loan_cob import CloseOfBusiness
from store.users import Principal

MAX_RUNS = 20
WAIT_SECONDS = 1.0  # a short run (or a refusal) is answered at once, without a progress page


@dataclass
class CobRun:
    """One run: who started it for which day, how far it is, and how it ended."""

    id: str
    day: date
    started_by: str
    started_at: datetime
    loans_open: int = 0
    loans_processed: int = 0
    result: dict | None = None  # the API's answer (api.routes.loans.cob_body), its amounts in satang
    replayed: bool = False  # the form was sent before: the answer is that first run's
    refusal: LedgerError | None = None
    failed: bool = False
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def status(self) -> str:
        if not self.finished.is_set():
            return "running"
        return "refused" if self.refusal else "failed" if self.failed else "done"

    def report(self, so_far: CloseOfBusiness) -> None:
        self.loans_open, self.loans_processed = so_far.loans_open, so_far.loans_processed


class CobRuns:
    """The runs this server started, the newest last."""

    def __init__(self) -> None:
        self._runs: dict[str, CobRun] = {}
        self._lock = threading.Lock()

    def get(self, run_id: str) -> CobRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def recent(self) -> list[CobRun]:
        with self._lock:
            return list(reversed(self._runs.values()))

    def start(self, request: Request, write: WriteRequest, principal: Principal, day: date) -> CobRun:
        """Start close of business for `day` and wait a moment for it: the run, done or not."""
        run = CobRun(uuid.uuid4().hex, day, principal.name, request.app.state.clock.now())
        with self._lock:
            self._runs[run.id] = run
            while len(self._runs) > MAX_RUNS:
                self._runs.pop(next(iter(self._runs)))
        thread = threading.Thread(target=_run, args=(run, request, write, principal), name=f"cob-{day}", daemon=True)
        thread.start()
        run.finished.wait(WAIT_SECONDS)
        return run


def _run(run: CobRun, request: Request, write: WriteRequest, principal: Principal) -> None:
    try:
        answer = run_close_of_business(request, write, principal, run.day, progress=run.report)
        run.result = _in_satang(json.loads(answer.body))
        run.replayed = answer.headers.get("Idempotent-Replayed") == "true"
        run.loans_processed = run.result["loans_processed"]
    except LedgerError as error:  # audited by the write itself
        run.refusal = error
    except Exception:  # a failure of ours: the transaction rolled back, nothing was written
        run.failed = True
        raise
    finally:
        run.finished.set()


AMOUNTS = {"accrued_interest": "accrued_satang", "penalty_interest": "penalty_satang",
           "reversed_interest": "reversed_satang"}  # fmt: skip


def _in_satang(answer: dict) -> dict:
    """The API's answer with its amounts (decimal strings of baht) as satang, for the page."""
    return {**answer, **{satang: parse_amount(answer[name]) for name, satang in AMOUNTS.items()}}
