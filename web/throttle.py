"""Failed sign-ins, throttled per user name and per client address (api.middleware's
AuthThrottle, two of them). The address is the connection's own: an X-Forwarded-For header is
written by the client and so never trusted. While either count is full, sign-in is refused
without checking the password, so a guesser learns nothing from trying on. Counted per server
process (docs/scaling.md: with N processes at most N times the attempts, still hopeless)."""

from api.middleware import AuthThrottle

FAILURES_PER_NAME = 5
FAILURES_PER_ADDRESS = 20
WINDOW_S = 15 * 60.0


class SignInThrottle:
    def __init__(self) -> None:
        self.by_name = AuthThrottle(max_failures=FAILURES_PER_NAME, window_s=WINDOW_S)
        self.by_address = AuthThrottle(max_failures=FAILURES_PER_ADDRESS, window_s=WINDOW_S)

    def retry_after_s(self, name: str, address: str) -> int | None:
        waits = [w for w in (self.by_name.retry_after_s(name.casefold()), self.by_address.retry_after_s(address)) if w]
        return max(waits) if waits else None

    def failed(self, name: str, address: str) -> None:
        self.by_name.failed(name.casefold())
        self.by_address.failed(address)


def client_address(request) -> str:
    return request.client.host if request.client else "unknown"
