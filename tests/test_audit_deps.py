"""The decisions of `reliability.audit_deps` on saved project JSON, without the network: an advisory
of the installed version fails, a withdrawn one does not, an older version is "not auditable
here" (the latest's advisories are never pinned on it), and too little audited fails too."""

import io
import json
import urllib.error
from pathlib import Path

import pytest

from reliability import audit_deps
from reliability.audit_deps import ADVISORIES, AUDITED, FETCH_ERROR, NOT_AUDITABLE, Verdict

# https://pypi.org/pypi/pycrypto/json as the index answered it, cut to the fields read (the
# advisories' `details` shortened): each flaw is listed twice, under its PYSEC and GHSA ids.
PYCRYPTO = json.loads("""{
  "info": {"name": "pycrypto", "version": "2.6.1", "yanked": false},
  "releases": {"2.6": [{"filename": "pycrypto-2.6.tar.gz", "yanked": false}],
               "2.6.1": [{"filename": "pycrypto-2.6.1.tar.gz", "yanked": false}]},
  "vulnerabilities": [
    {"aliases": ["CVE-2013-7459", "GHSA-cq27-v7xp-c356"], "details": "Heap-based buffer overflow ...",
     "fixed_in": [], "id": "PYSEC-2017-94", "link": "https://osv.dev/vulnerability/PYSEC-2017-94",
     "source": "osv", "summary": null, "withdrawn": null},
    {"aliases": ["CVE-2018-6594", "GHSA-6528-wvf6-f6qg"], "details": "weak ElGamal key parameters ...",
     "fixed_in": [], "id": "PYSEC-2018-97", "link": "https://osv.dev/vulnerability/PYSEC-2018-97",
     "source": "osv", "summary": null, "withdrawn": null},
    {"aliases": ["CVE-2018-6594", "PYSEC-2018-97"], "details": "weak ElGamal key parameters ...",
     "fixed_in": [], "id": "GHSA-6528-wvf6-f6qg", "link": "https://osv.dev/vulnerability/GHSA-6528-wvf6-f6qg",
     "source": "osv", "summary": null, "withdrawn": null},
    {"aliases": ["CVE-2013-7459", "PYSEC-2017-94"], "details": "Heap-based buffer overflow ...",
     "fixed_in": [], "id": "GHSA-cq27-v7xp-c356", "link": "https://osv.dev/vulnerability/GHSA-cq27-v7xp-c356",
     "source": "osv", "summary": null, "withdrawn": null}
  ]
}""")


def project(latest: str, releases: list[str], vulnerabilities: list[dict]) -> dict:
    return {
        "info": {"version": latest},
        "releases": {v: [{"filename": f"x-{v}.tar.gz", "yanked": False}] for v in releases},
        "vulnerabilities": vulnerabilities,
    }


def advisory(id_: str, *, fixed_in: list[str], withdrawn: str | None = None) -> dict:
    return {"id": id_, "aliases": [f"CVE-{id_}"], "fixed_in": fixed_in, "link": "", "withdrawn": withdrawn}


def test_an_advisory_of_the_installed_latest_is_a_finding_once_a_flaw():
    verdict = audit_deps.judge("pycrypto", "2.6.1", PYCRYPTO)
    assert verdict.status == ADVISORIES
    assert [a["id"] for a in verdict.advisories] == ["PYSEC-2017-94", "PYSEC-2018-97"]  # GHSA twins merged
    assert verdict.advisories[0]["aliases"] == ["CVE-2013-7459", "GHSA-cq27-v7xp-c356"]
    assert audit_deps.exit_status([verdict])[0] == 1


def test_a_withdrawn_advisory_is_no_finding():
    withdrawn = advisory("PYSEC-2099-1", fixed_in=["2.0"], withdrawn="2024-05-02T10:00:00Z")
    verdict = audit_deps.judge("x", "1.0", project("1.0", ["1.0"], [withdrawn]))
    assert (verdict.status, verdict.advisories) == (AUDITED, [])
    assert audit_deps.exit_status([verdict])[0] == 0


def test_an_older_version_is_not_auditable_and_the_latests_advisories_are_not_pinned_on_it():
    live = advisory("PYSEC-2099-2", fixed_in=["3.0"])  # above the installed 1.0, and still no proof
    verdict = audit_deps.judge("x", "1.0", project("2.0", ["1.0", "2.0"], [live]))
    assert verdict.status == NOT_AUDITABLE and verdict.advisories == []
    assert "not at the latest: advisories of 1.0 cannot be read here" in verdict.detail
    assert "PYSEC-2099-2 may or may not reach back" in verdict.detail
    audited = audit_deps.judge("y", "2.0", project("2.0", ["2.0"], []))
    assert audit_deps.exit_status([verdict, audited])[0] == 0  # a warning: half audited, nothing found


@pytest.mark.parametrize(
    ("installed", "reason"),
    [
        ("1.5", "the index lists no such release"),
        ("3.0", "newer than the index's latest"),
        ("2.0+ours.1", "newer than the index's latest"),  # a local build is not the index's 2.0
        ("not-a-version", "not PEP 440"),
    ],
)
def test_versions_the_index_cannot_speak_for(installed, reason):
    verdict = audit_deps.judge("x", installed, project("2.0", ["1.0", "2.0"], [advisory("A", fixed_in=[])]))
    assert verdict.status == NOT_AUDITABLE and reason in verdict.detail and verdict.advisories == []


def test_versions_compare_as_pep_440_does():
    assert audit_deps.judge("x", "1.000", project("1.0", ["1.0"], [])).status == AUDITED  # fontpkg-sarabun's case
    ordered = ["1.0.dev0", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0+local", "1.0.post1", "1.1", "2!0.1"]
    keys = [audit_deps.version_key(v) for v in ordered]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert audit_deps.version_key("1.0.0") == audit_deps.version_key("1") == audit_deps.version_key("v1.0")


def test_fewer_than_half_audited_fails_even_without_a_finding():
    audited = Verdict("a", "1.0", AUDITED)
    unknown = [Verdict("b", "1.0", NOT_AUDITABLE), Verdict("c", "1.0", FETCH_ERROR)]
    assert audit_deps.exit_status([audited, *unknown])[0] == 1
    assert audit_deps.exit_status([audited, audited, *unknown])[0] == 0
    assert audit_deps.exit_status([])[0] == 1
    assert audit_deps.counts([audited, *unknown]) == {
        "distributions": 3,
        "audited (at latest)": 1,
        "with advisories": 0,
        "not auditable here": 1,
        "fetch errors": 1,
    }


def test_the_index_answers_are_told_apart(monkeypatch):
    answers = iter([urllib.error.HTTPError("u", 404, "Not Found", {}, None)])

    def urlopen(request, timeout):
        assert request.full_url == "https://pypi.org/pypi/python-dateutil/json"  # the PEP 503 name
        raise next(answers)

    monkeypatch.setattr(audit_deps.urllib.request, "urlopen", urlopen)
    fetching = {"timeout": 1.0, "retries": 2, "deadline": float("inf")}
    assert audit_deps.audit_one("Python_Dateutil", "4.0.0", **fetching).detail == "not on the index"

    answers = iter([urllib.error.URLError("refused"), io.BytesIO(json.dumps(PYCRYPTO).encode())])
    monkeypatch.setattr(audit_deps.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(audit_deps.urllib.request, "urlopen", lambda request, timeout: _answer(next(answers)))
    assert audit_deps.audit_one("python-dateutil", "2.6.1", **fetching).status == ADVISORIES  # retried once

    answers = iter([urllib.error.HTTPError("u", 503, "Unavailable", {}, None)] * 3)
    assert audit_deps.audit_one("python-dateutil", "2.6.1", **fetching).status == FETCH_ERROR


def _answer(item):
    if isinstance(item, Exception):
        raise item
    return item


def test_the_pins_of_a_lock_file_are_read_with_their_hashes_and_comments_aside():
    lock = """#
#    make lock
#
alembic==1.20.1 \\
    --hash=sha256:83490def1f723413db5096591f7609ac52544805be93849170088ed04f5a2e0b
    # via codi-ledger (pyproject.toml)
psycopg-binary==3.3.9 ; implementation_name != "pypy" \\
    --hash=sha256:00
codi-ledger==0.1.0
pip==26.3 \\
"""
    assert audit_deps.locked_pins(lock.splitlines()) == [
        ("alembic", "1.20.1"), ("psycopg-binary", "3.3.9"), ("pip", "26.3")
    ]


def test_the_project_lock_files_pin_the_same_versions():
    """requirements.lock is requirements-test.lock without the test tools: one version of each."""
    root = Path(__file__).parent.parent
    with open(root / "requirements.lock") as running, open(root / "requirements-test.lock") as testing:
        run_pins, test_pins = set(audit_deps.locked_pins(running)), set(audit_deps.locked_pins(testing))
    assert run_pins < test_pins
    assert {"fastapi", "sqlalchemy", "uvicorn"} <= {name for name, _ in run_pins}
    assert not {"pytest", "hypothesis", "pip-audit", "pip-tools", "ruff"} & {name for name, _ in run_pins}
