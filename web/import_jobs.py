"""An import the pages run in the background: a file of sales or entries recorded a part at a
time, each part the API's own audited write, while the person watches the lines go by.

A job lives in the server's memory (`ImportJobs`, on the app's state) from its upload until
`MAX_JOBS` newer ones push it out, or the server restarts: what it recorded stays recorded, and
sending the same file again records nothing twice (each line's key is judged as the API judges
it). It keeps the file's lines, to give back the refused ones with their reasons.
"""

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_JOBS = 50
PART_LINES = 200  # lines a part: one transaction, one audit record, one step of the progress


@dataclass
class ImportJob:
    user_id: int
    kind: str  # "sales" or "entries"
    file_name: str
    is_csv: bool
    lines: list[str]  # the file's lines, line n at n - 1
    total: int  # the lines to judge (the header and blank lines are not)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    processed: int = 0
    recorded: int = 0
    replayed: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line number, reason, detail
    failure: str | None = None  # the reason the import stopped, if it did
    done: bool = False

    def add(self, answer: dict, processed: int) -> None:
        """A part's answer (the API's import answer: recorded, replayed, rejected lines)."""
        self.recorded += answer["recorded"]
        self.replayed += answer["replayed"]
        self.rejected.extend((r["line"], r["reason"], r["detail"]) for r in answer["rejected"])
        self.rejected.sort()
        self.processed += processed

    @property
    def header(self) -> str | None:
        return self.lines[0] if self.is_csv and self.lines else None


class ImportJobs:
    """The jobs of this server process, newest last; each seen only by the person who started it."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, ImportJob] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, job: ImportJob, run: Callable[[ImportJob], None]) -> bool:
        """Keep the job and run it in a thread of its own; False when too many are running."""
        with self._lock:
            while len(self._jobs) >= MAX_JOBS:
                finished = next((key for key, kept in self._jobs.items() if kept.done), None)
                if finished is None:
                    return False
                del self._jobs[finished]
            self._jobs[job.id] = job
        threading.Thread(target=run, args=(job,), daemon=True, name=f"import-{job.id}").start()
        return True

    def of(self, job_id: str, user_id: int) -> ImportJob | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.user_id == user_id else None

    def started_by(self, user_id: int) -> list[ImportJob]:
        return [job for job in reversed(self._jobs.values()) if job.user_id == user_id]
