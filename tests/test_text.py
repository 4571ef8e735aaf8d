"""Text the ledger cannot store is refused with 422 (`invalid_text`), in every field of every body
and every import line. The attack: a description of `"\\ud800"` (a lone surrogate, which JSON
allows and no encoding writes) answered 500, and the client's next request on the same connection
was reset. Now the body is refused before anything decodes it (api.middleware, ledger.text), and
the server keeps serving the connection."""

import http.client
import json
import threading
import time

import pytest
import uvicorn

from api.app import create_app
from ledger.errors import LedgerError
from store import welfare
from store.bulk import import_file
from tests.conftest import NOW, FixedClock, make_user

LONE = [b'"\\ud800"', b'"\\uDFFF"', b'"a\\ud83dz"', b'"\\ude00\\ud83d"', '"ก\udc80"'.encode("utf-8", "surrogatepass")]


def entry_body(fund, description: bytes, dimensions: bytes = b"{}") -> bytes:
    postings = json.dumps([{"account_id": fund[code], "amount": amount} for code, amount in (("1100", "1.00"),
                                                                                           ("3100", "-1.00"))])
    return (
        b'{"book_id": %d, "effective_date": "2024-06-01", "description": %s, "dimensions": %s, "postings": %s}'
        % (fund["book_id"], description, dimensions, postings.encode())
    )


def post(api, path: str, body: bytes, key: str = "k"):
    headers = {**api.headers(key), "Content-Type": "application/json"}
    return api.client.post(path, content=body, headers=headers)


@pytest.mark.parametrize("text", LONE)
def test_a_lone_surrogate_in_a_description_is_refused(api, fund, text):
    response = post(api, "/v1/entries", entry_body(fund, text))
    assert response.status_code == 422 and response.json()["reason"] == "invalid_text", response.text
    assert api.get("/v1/entries").json()["data"] == []


def test_a_lone_surrogate_anywhere_in_any_body_is_refused(api, fund):
    for path, body in [
        ("/v1/entries", entry_body(fund, b'"ok"', b'{"\\ud800": "x"}')),  # a dimension's key
        ("/v1/entries", entry_body(fund, b'"ok"', b'{"province": "\\udc00"}')),  # a dimension's value
        ("/v1/parties", b'{"kind": "cooperative", "name_th": "\\ud800"}'),
        ("/v1/parties", b'{"kind": "cooperative", "name_th": "x", "\\ud800": 1}'),  # an unknown field's name
        ("/v1/sales/import", b'{"key": "s", "description": "\\ud800"}'),
        ("/v1/nowhere", b'{"x": "\\ud800"}'),  # before any route is found
    ]:
        response = post(api, path, body, key=path)
        assert response.status_code == 422 and response.json()["reason"] == "invalid_text", (path, response.text)


def test_text_that_is_storable_still_passes(api, fund):
    storable = b'"\\ud83d\\ude00 \\u0e01\\u0e2d\\u0e07\\u0e17\\u0e38\\u0e19 \\\\ud800"'  # an emoji, Thai, a backslash
    response = post(api, "/v1/entries", entry_body(fund, storable))
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "\U0001f600 กองทุน \\ud800"


def test_query_strings_never_carry_a_lone_surrogate(api, fund):
    """A query is percent-decoded with replacement: its bytes of a surrogate become U+FFFD."""
    for path, params in [("/v1/reports/trial-balance", {"book_id": fund["book_id"], "dimension": "province",
                                                         "value": "\udc80".encode("utf-8", "surrogatepass")}),
                         ("/v1/entries", {"kind": b"\xed\xa0\x80"})]:  # fmt: skip
        assert api.get(path, **params).status_code < 500


def test_import_lines_with_a_lone_surrogate_are_refused(db, fund, tmp_path):
    postings = [{"account": "1100", "amount": "1.00"}, {"account": "3100", "amount": "-1.00"}]
    good = json.dumps({"key": "a", "book": "FUND", "effective_date": "2024-06-01", "description": "ok",
                       "postings": postings})  # fmt: skip
    bad = good.replace('"ok"', '"\\ud800"').replace('"a"', '"b"')
    path = tmp_path / "entries.jsonl"
    path.write_text(f"{good}\n{bad}\n")
    report = import_file(db, str(path), batch_size=10, progress=False, now=lambda: NOW)
    assert report.recorded == 1 and [(n, reason) for n, reason, _ in report.rejected] == [(2, "invalid_text")]
    with pytest.raises(LedgerError, match="invalid_text"):
        welfare.json_line(1, b'{"key": "s", "description": "\\udfff"}')


@pytest.fixture
def server(db):
    """The app under a real uvicorn on a free port of the loopback, for as long as the test runs."""
    config = uvicorn.Config(create_app(db, FixedClock()), host="127.0.0.1", port=0, log_level="warning")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not served.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.started
    yield served.servers[0].sockets[0].getsockname()[1]
    served.should_exit = True
    thread.join(timeout=10)


def test_the_connection_keeps_serving_after_a_lone_surrogate(db, fund, server):
    token = make_user(db, "keeper", "officer")
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": "one"}
    try:
        connection.request("POST", "/v1/entries", body=entry_body(fund, b'"\\ud800"'), headers=headers)
        first = connection.getresponse()
        assert (first.status, json.loads(first.read())["reason"]) == (422, "invalid_text")
        assert first.getheader("connection") != "close"
        socket = connection.sock
        connection.request("POST", "/v1/entries", body=entry_body(fund, b'"fine"'), headers={**headers,
                           "Idempotency-Key": "two"})  # fmt: skip
        second = connection.getresponse()
        assert second.status == 201, second.read()
        second.read()
        assert connection.sock is socket  # the same connection, not a new one
    finally:
        connection.close()
