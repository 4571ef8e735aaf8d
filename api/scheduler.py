"""The server's own timer for close of business (`CODI_COB_TIME`): a thread of `codi-ledger run`
that closes the business days due, at that time of day in Thailand, through `store.daily_cob`.

A business day is due once its close-of-business time has passed: at 10:00 with a time of
23:30, yesterday is due and today is not yet. The thread closes what is due when the server
starts (the days missed while it was down, in order), then sleeps until the next time. A run
that fails (the database gone for a moment) is tried again after `RETRY_S`, not a day later.

Several servers on one database each run this thread; the routine's lock in the database lets
one close each day, and the others find it closed.
"""

import logging
import threading
from datetime import date, datetime, time, timedelta

from api import logs
from api.context import BANGKOK, Clock
from store.daily_cob import close_due_days
from store.engine import Database
from store.loan_cob import CloseOfBusiness

RETRY_S = 300.0
log = logging.getLogger("codi.scheduler")


def due_day(now: datetime, at: time) -> date:
    """The latest business day whose close-of-business time has passed at `now`."""
    local = now.astimezone(BANGKOK)
    return local.date() if local.time() >= at else local.date() - timedelta(days=1)


def seconds_until_next(now: datetime, at: time) -> float:
    """Seconds from `now` to the next close-of-business time (a day at most)."""
    local = now.astimezone(BANGKOK)
    next_time = datetime.combine(due_day(now, at) + timedelta(days=1), at, BANGKOK)
    return (next_time - local).total_seconds()


class CloseOfBusinessTimer:
    def __init__(self, db: Database, at: time, clock: Clock | None = None) -> None:
        self.db, self.at, self.clock = db, at, clock or Clock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="close-of-business-timer", daemon=True)

    def run_due(self) -> list[CloseOfBusiness]:
        """Close the days due now; what each did."""
        now = self.clock.now()
        return close_due_days(self.db, due_day(now, self.at), today=self.clock.today(), now=self.clock.now,
                              closed=logs.close_of_business_logger())  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
                wait = seconds_until_next(self.clock.now(), self.at)
            except Exception:  # logged and tried again: the server goes on serving
                log.exception("close of business failed; trying again in %d s", RETRY_S)
                wait = RETRY_S
            self._stop.wait(wait)
