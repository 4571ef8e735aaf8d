"""The server's settings, read from the environment once, when the app is made (README,
"Configuration"). A value that cannot be understood stops the server rather than being guessed at.

- `CODI_TRUSTED_PROXIES`: the addresses (or networks) of the reverse proxies whose
  X-Forwarded-For and X-Forwarded-Proto are believed, comma-separated, as uvicorn's
  `forwarded_allow_ips` takes them. Unset, no forwarded header is believed: the client address is
  the one that connected, so a client cannot choose the address its failed sign-ins count against.
- `CODI_BODY_TIMEOUT_S`: the seconds a request's body may take to arrive (10 by default).
- `CODI_API_DOCS`: `on` (the default) serves /docs, /redoc and /openapi.json; `off` answers 404.
- `CODI_COB_TIME`: `HH:MM`, Thailand's time, at which `codi-ledger run` closes the business day
  itself (`api.scheduler`); unset, it does not, and the service manager's timer runs
  `codi-ledger cob --today` instead (docs/operations.md).
- `CODI_DIGEST_DIR`: the folder `codi-ledger audit digest` keeps the day's digest in.
- `CODI_BACKUP_DIR`: the folder `codi-ledger dump` keeps its dumps in; `CODI_BACKUPS_KEPT`
  how many of them (the newest; 14 by default).
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

SWITCH = {"on": True, "off": False}


@dataclass(frozen=True)
class Settings:
    trusted_proxies: str = ""
    body_timeout_s: int = 10
    api_docs: bool = True
    cob_time: time | None = None
    digest_dir: Path | None = None
    backup_dir: Path | None = None
    backups_kept: int = 14

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        docs = environ.get("CODI_API_DOCS", "on").strip().lower()
        if docs not in SWITCH:
            raise ValueError(f"CODI_API_DOCS must be on or off, not {docs!r}")
        timeout = environ.get("CODI_BODY_TIMEOUT_S", str(cls.body_timeout_s)).strip()
        if not timeout.isdigit() or not 1 <= int(timeout) <= 600:
            raise ValueError(f"CODI_BODY_TIMEOUT_S must be a whole number of seconds from 1 to 600, not {timeout!r}")
        timeout_s = int(timeout)
        kept = environ.get("CODI_BACKUPS_KEPT", str(cls.backups_kept)).strip()
        if not kept.isdigit() or not 1 <= int(kept) <= 10_000:
            raise ValueError(f"CODI_BACKUPS_KEPT must be a whole number from 1 to 10000, not {kept!r}")
        return cls(
            environ.get("CODI_TRUSTED_PROXIES", "").strip(), timeout_s, SWITCH[docs],
            cob_time=_time_of_day(environ.get("CODI_COB_TIME", "").strip()),
            digest_dir=_folder(environ.get("CODI_DIGEST_DIR", "")),
            backup_dir=_folder(environ.get("CODI_BACKUP_DIR", "")), backups_kept=int(kept),
        )  # fmt: skip

    def forwarding(self) -> dict[str, Any]:
        """uvicorn's options for forwarded headers: believed from the trusted proxies only."""
        if not self.trusted_proxies:
            return {"proxy_headers": False}
        return {"proxy_headers": True, "forwarded_allow_ips": self.trusted_proxies}


def _time_of_day(text: str) -> time | None:
    if not text:
        return None
    if not re.fullmatch(r"\d\d:\d\d", text) or int(text[:2]) > 23 or int(text[3:]) > 59:
        raise ValueError(f"CODI_COB_TIME must be HH:MM (Thailand's time, 00:00 to 23:59), not {text!r}")
    return time(int(text[:2]), int(text[3:]))


def _folder(text: str) -> Path | None:
    return Path(text.strip()) if text.strip() else None
