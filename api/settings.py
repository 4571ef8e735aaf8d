"""The server's settings, read from the environment once, when the app is made (README,
"Configuration"). A value that cannot be understood stops the server rather than being guessed at.

- `CODI_TRUSTED_PROXIES`: the addresses (or networks) of the reverse proxies whose
  X-Forwarded-For and X-Forwarded-Proto are believed, comma-separated, as uvicorn's
  `forwarded_allow_ips` takes them. Unset, no forwarded header is believed: the client address is
  the one that connected, so a client cannot choose the address its failed sign-ins count against.
- `CODI_BODY_TIMEOUT_S`: the seconds a request's body may take to arrive (10 by default).
- `CODI_API_DOCS`: `on` (the default) serves /docs, /redoc and /openapi.json; `off` answers 404.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SWITCH = {"on": True, "off": False}


@dataclass(frozen=True)
class Settings:
    trusted_proxies: str = ""
    body_timeout_s: int = 10
    api_docs: bool = True

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        docs = environ.get("CODI_API_DOCS", "on").strip().lower()
        if docs not in SWITCH:
            raise ValueError(f"CODI_API_DOCS must be on or off, not {docs!r}")
        timeout = environ.get("CODI_BODY_TIMEOUT_S", str(cls.body_timeout_s)).strip()
        if not timeout.isdigit() or not 1 <= int(timeout) <= 600:
            raise ValueError(f"CODI_BODY_TIMEOUT_S must be a whole number of seconds from 1 to 600, not {timeout!r}")
        timeout_s = int(timeout)
        return cls(environ.get("CODI_TRUSTED_PROXIES", "").strip(), timeout_s, SWITCH[docs])

    def forwarding(self) -> dict[str, Any]:
        """uvicorn's options for forwarded headers: believed from the trusted proxies only."""
        if not self.trusted_proxies:
            return {"proxy_headers": False}
        return {"proxy_headers": True, "forwarded_allow_ips": self.trusted_proxies}
