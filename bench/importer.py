"""One bulk import, run as a child process so that its peak memory is its own:

    python -m bench.importer ours|raw DATABASE_URL FILE BATCH_SIZE

prints one JSON object: entries recorded, lines rejected, seconds, peak RSS in MB. `ours` is
`store.bulk.import_file` (what `codi-ledger import` runs); `raw` is `bench.raw.import_file`.
"""

import json
import sys
import time
from datetime import UTC, datetime


def main(which: str, url: str, path: str, batch_size: int) -> dict:
    """Times the import alone: loading the modules is done before the clock starts."""
    from bench.raw import import_file as raw_import
    from store.bulk import import_file
    from store.engine import Database

    started = time.perf_counter()
    if which == "ours":
        db = Database(url)
        report = import_file(db, path, batch_size=batch_size, progress=False, now=lambda: datetime.now(UTC))
        db.dispose()
        recorded, rejected = report.recorded, [list(r) for r in report.rejected[:5]]
    else:
        recorded, rejected = raw_import(url, path, batch_size), []
    seconds = time.perf_counter() - started
    return {"recorded": recorded, "rejected": rejected, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: that one keeps
    the high-water mark of the parent the process was forked from, across the exec."""
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return kib / 1024


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))))
