"""Known vulnerabilities in the installed dependencies, read from the index's project JSON.

`pip-audit` asks the index for each installed version (`/pypi/<name>/<version>/json`) or asks
OSV; where neither answers (this machine's registry serves only the project JSON, and OSV is
out of reach), it skips every package and still exits 0. This audits what the project JSON
can honestly tell, and says plainly what it cannot.

`https://pypi.org/pypi/<name>/json` describes the project at its latest release (`info.version`):
its `vulnerabilities` are the advisories (OSV records: `id`, `aliases`, `fixed_in`, `link`,
`withdrawn`, a timestamp once withdrawn, else null) that affect *that release*. So, for each
installed distribution of the running environment (the project itself aside):

- installed == latest (PEP 440 equality, so `1.000` is `1.0`): the advisories apply exactly.
  Any advisory not withdrawn is a finding (exit 1), printed with its id, aliases and fixed_in.
- installed older than the latest, and among the project's `releases`: "not at the latest:
  advisories of <version> cannot be read here", a warning, counted and listed, never a finding.
  The latest's own advisories say nothing certain about an older release: an advisory's affected
  range starts where the flaw was introduced, which this JSON does not give, and `fixed_in` above
  the installed version bounds the range from above only. They are printed beside the warning
  as "may or may not reach back", so an upgrade that would not help is visible, but they do
  not fail the audit.
- anything else (not on the index, a version the index does not list, one newer than its latest,
  a version that does not parse): not auditable here, with the reason.
- the index did not answer (after retries, or past the deadline): a fetch error.

Exit 1 on any finding, or if fewer than half the distributions were audited (at the latest),
so that a broken network or a stale environment cannot pass as "nothing found"; else 0.

    python -m reliability.audit_deps [--requirements FILE] [--package NAME==VERSION ...] [--workers 4]
                                     [--timeout 15] [--retries 2] [--deadline 180]

`--requirements` audits the pins of a lock file (`make audit-deps`: requirements-test.lock) instead
of the environment; `--package` audits the given pins (`pycrypto==2.6.1` shows a finding).
Stdlib only, so it runs in any environment, even one whose packages are the suspects.
"""

import argparse
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata

INDEX = "https://pypi.org/pypi/{name}/json"
PROJECT = "codi-ledger"  # ours: not on the index, and audited by its own tests

AUDITED = "audited"  # at the latest, no advisory
ADVISORIES = "ADVISORIES"  # at the latest, with advisories: the findings
NOT_AUDITABLE = "not auditable here"
FETCH_ERROR = "fetch error"


@dataclass
class Verdict:
    name: str
    installed: str
    status: str
    latest: str = ""
    detail: str = ""
    advisories: list[dict] = field(default_factory=list)  # live ones: of the installed version if at latest


class NotOnIndex(Exception):
    pass


class FetchError(Exception):
    pass


# --- versions (PEP 440), without `packaging`: the stdlib has no version type -------------------

_VERSION = re.compile(
    r"""^\s*v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)
    (?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
    (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
    (?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


def version_key(text: str) -> tuple | None:
    """A sort key with PEP 440's order (`packaging`'s), or None for a version that is not PEP 440."""
    m = _VERSION.match(text)
    if not m:
        return None
    release = [int(part) for part in m["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:  # 1.0 == 1.0.0 == 1
        release.pop()
    post = m["post_n1"] or m["post_n2"] or ("0" if m["post"] else None)
    dev = (m["dev_n"] or "0") if m["dev"] else None
    if m["pre"]:
        pre = (0, _PRE_RANK[m["pre_l"].lower()], int(m["pre_n"] or 0))
    elif dev is not None and post is None:
        pre = (-1, 0, 0)  # 1.0.dev0 comes before 1.0a0
    else:
        pre = (1, 0, 0)  # a final release comes after its pre-releases
    local = ()
    if m["local"]:  # numeric parts sort above alphanumeric ones
        parts = re.split(r"[-_.]", m["local"].lower())
        local = tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in parts)
    return (
        int(m["epoch"] or 0),
        tuple(release),
        pre,
        -1 if post is None else int(post),
        math.inf if dev is None else int(dev),
        local,
    )


def canonical(name: str) -> str:
    """The index's name for a project (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --- what the project JSON says -------------------------------------------------------------


def live_advisories(project: dict) -> list[dict]:
    """The advisories of the latest release that are not withdrawn, one per flaw: the index lists
    the same flaw under each database's id (PYSEC-..., GHSA-...), each naming the other in its aliases."""
    kept: list[dict] = []
    known: set[str] = set()
    for advisory in project.get("vulnerabilities") or []:
        if advisory.get("withdrawn"):
            continue
        ids = {advisory.get("id", "")} | set(advisory.get("aliases") or [])
        if ids & known:  # a shared id or CVE: the same flaw
            continue
        kept.append(advisory)
        known |= ids
    return kept


def release_on_index(project: dict, installed: str) -> tuple[str, bool] | None:
    """The index's spelling of the installed version and whether all its files are yanked, or None
    if the index does not list it."""
    wanted = version_key(installed)
    for version, files in (project.get("releases") or {}).items():
        if version == installed or (wanted is not None and version_key(version) == wanted):
            yanked = bool(files) and all(f.get("yanked") for f in files)
            return version, yanked
    return None


def judge(name: str, installed: str, project: dict) -> Verdict:
    """What the project JSON tells about the installed version (the rules of the module docstring)."""
    latest = str((project.get("info") or {}).get("version") or "")
    verdict = Verdict(name, installed, NOT_AUDITABLE, latest=latest)
    have, last = version_key(installed), version_key(latest)
    if not latest:
        verdict.detail = "the index gives no latest version"
    elif installed == latest or (have is not None and have == last):
        verdict.advisories = live_advisories(project)
        verdict.status = ADVISORIES if verdict.advisories else AUDITED
        if verdict.advisories:
            verdict.detail = f"{len(verdict.advisories)} advisory(ies) of this very version, below"
    elif have is None or last is None:
        verdict.detail = "version not PEP 440: cannot be placed against the latest"
    elif have > last:
        verdict.detail = "newer than the index's latest (a pre-release or a local build): not the index's"
    elif (found := release_on_index(project, installed)) is None:
        verdict.detail = "the index lists no such release: not the index's, or removed"
    else:
        verdict.detail = f"not at the latest: advisories of {installed} cannot be read here"
        if found[1]:
            verdict.detail += " (this release is yanked on the index)"
        if reach := live_advisories(project):
            # Kept apart from `advisories`: they are the latest's, not proven of this version.
            ids = ", ".join(a.get("id", "?") for a in reach)
            verdict.detail += f"; the latest's advisories {ids} may or may not reach back to it"
    return verdict


# --- the index --------------------------------------------------------------------------------


def fetch(name: str, *, timeout: float, retries: int, deadline: float) -> dict:
    """The project JSON, retried on network errors and on the index's 5xx/429, never past the deadline."""
    url = INDEX.format(name=urllib.parse.quote(canonical(name)))
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "codi-ledger-audit"})
    error = "not tried: deadline reached"
    for attempt in range(retries + 1):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with urllib.request.urlopen(request, timeout=min(timeout, left)) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise NotOnIndex from e
            error = f"HTTP {e.code}"
            if e.code < 500 and e.code != 429:  # a client error will not change on retry
                break
        except (urllib.error.URLError, OSError, ValueError) as e:  # ValueError: a body cut short
            error = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
        time.sleep(min(1.0 + attempt, max(0.0, deadline - time.monotonic())))
    raise FetchError(error)


def audit_one(name: str, installed: str, **fetching) -> Verdict:
    try:
        return judge(name, installed, fetch(name, **fetching))
    except NotOnIndex:
        return Verdict(name, installed, NOT_AUDITABLE, detail="not on the index")
    except FetchError as e:
        return Verdict(name, installed, FETCH_ERROR, detail=str(e))


def installed_distributions() -> list[tuple[str, str]]:
    """(name, version) of each distribution the running interpreter sees, the project aside; the
    first of a name on sys.path wins, as it does for imports."""
    seen: dict[str, tuple[str, str]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name or canonical(name) == PROJECT or canonical(name) in seen:
            continue
        seen[canonical(name)] = (name, dist.version)
    return sorted(seen.values(), key=lambda nv: canonical(nv[0]))


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def locked_pins(lines) -> list[tuple[str, str]]:
    """(name, version) of each `name==version` line of a lock file (pip-compile's: hashes on the
    lines below, comments), the project aside."""
    pins = [(m[1], m[2]) for line in lines if (m := _PIN.match(line))]
    return [(name, version) for name, version in pins if canonical(name) != PROJECT]


# --- report -----------------------------------------------------------------------------------


def counts(verdicts: list[Verdict]) -> dict[str, int]:
    by = {s: sum(v.status == s for v in verdicts) for s in (AUDITED, ADVISORIES, NOT_AUDITABLE, FETCH_ERROR)}
    return {
        "distributions": len(verdicts),
        "audited (at latest)": by[AUDITED] + by[ADVISORIES],
        "with advisories": by[ADVISORIES],
        "not auditable here": by[NOT_AUDITABLE],
        "fetch errors": by[FETCH_ERROR],
    }


def exit_status(verdicts: list[Verdict]) -> tuple[int, str]:
    figures = counts(verdicts)
    if figures["with advisories"]:
        return 1, f"FAIL: {figures['with advisories']} distribution(s) at their latest have known advisories"
    if not verdicts or 2 * figures["audited (at latest)"] < len(verdicts):
        return 1, "FAIL: fewer than half the distributions could be audited: nothing is shown"
    return 0, "OK: no advisory on any audited distribution (the others are listed above, unaudited)"


def report(verdicts: list[Verdict], seconds: float) -> None:
    rows = [("package", "installed", "latest", "status", "detail")]
    rows += [(v.name, v.installed, v.latest, v.status, v.detail) for v in verdicts]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)] + [row[4]]
        print("  ".join(cells).rstrip())
    for v in verdicts:
        for a in v.advisories:
            aliases = ", ".join(a.get("aliases") or []) or "-"
            fixed = ", ".join(a.get("fixed_in") or []) or "no fixed version"
            print(f"  {v.name} {v.installed}: {a.get('id')} ({aliases}); fixed in: {fixed}; {a.get('link', '')}")
    figures = counts(verdicts)
    print("; ".join(f"{k}: {n}" for k, n in figures.items()) + f" ({seconds:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", metavar="FILE", help="audit the pins of this lock file instead")
    parser.add_argument("--package", action="append", metavar="NAME==VERSION", help="audit these pins instead")
    parser.add_argument("--workers", type=int, default=4)  # a few at once: the index is shared
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds a request")
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds for the whole audit")
    args = parser.parse_args(argv)
    if args.package:
        pins = [tuple(p.split("==", 1)) for p in args.package]
        if any(len(p) != 2 for p in pins):
            parser.error("--package takes NAME==VERSION")
    elif args.requirements:
        with open(args.requirements, encoding="utf-8") as lock:
            pins = locked_pins(lock)
    else:
        pins = installed_distributions()
    start = time.monotonic()
    fetching = {"timeout": args.timeout, "retries": args.retries, "deadline": start + args.deadline}
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        verdicts = list(pool.map(lambda pin: audit_one(*pin, **fetching), pins))
    report(verdicts, time.monotonic() - start)
    status, message = exit_status(verdicts)
    print(message)
    return status


if __name__ == "__main__":
    sys.exit(main())
