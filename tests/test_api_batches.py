"""Entries posted at the same moment are recorded in one batch, and each request still gets its
own answer: recorded, replayed, or refused (and audited), as if it had come alone."""

import threading

from sqlalchemy import text

from tests.conftest import make_user


def post_together(db, requests: list[tuple[object, dict, str]]) -> list:
    """Post every (client, body, key), in order, while the writer is held, so that all of them queue up
    and are taken as one batch when it is released; returns the responses in order."""
    entered, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=db.run_write, args=(lambda _: entered.set() or release.wait(10),))
    holder.start()
    entered.wait(10)
    responses: list = [None] * len(requests)

    def post(index: int) -> None:
        client, body, key = requests[index]
        responses[index] = client.post("/v1/entries", body, key)

    posters = [threading.Thread(target=post, args=(i,)) for i in range(len(requests))]
    for queued, poster in enumerate(posters, start=1):
        poster.start()  # and wait for it to queue, so that the batch keeps the requests' order
        for _ in range(500):
            if db.group_commit.waiting() == queued:
                break
            release.wait(0.02)
        assert db.group_commit.waiting() == queued
    batches_before = db.group_commit.batches_committed
    release.set()
    for thread in [holder, *posters]:
        thread.join()
    assert db.group_commit.batches_committed - batches_before <= 2  # the held write's, and theirs
    return responses


def entry(fund, lines, description="batched") -> dict:
    return {"book_id": fund["book_id"], "effective_date": "2024-06-01", "description": description,
            "postings": [{"account_id": a, "amount": amount} for a, amount in lines]}  # fmt: skip


def test_one_batch_answers_each_request_as_if_alone(api, db, fund):
    cash, capital, expense = fund["1100"], fund["3100"], fund["5400"]
    assert api.entry(fund["book_id"], [(cash, "100.00"), (capital, "-100.00")], key="opening").status_code == 201
    grant = entry(fund, [(cash, "50.00"), (capital, "-50.00")], "grant")
    requests = [
        (grant, "k-grant"),
        (entry(fund, [(expense, "120.00"), (cash, "-120.00")], "spends the grant too"), "k-spend"),
        (grant, "k-grant"),  # the same request again: the first one's answer
        (entry(fund, [(cash, "1.00"), (capital, "-1.00")], "other body"), "k-grant"),  # the key, reused
        (entry(fund, [(expense, "500.00"), (cash, "-500.00")], "overdraws cash"), "k-overdraw"),
        (entry(fund, [(cash, "2.00"), (capital, "-2.00")], "last"), "k-last"),
    ]
    first, spend, replay, reused, overdraw, last = post_together(db, [(api, body, key) for body, key in requests])

    assert (first.status_code, spend.status_code, last.status_code) == (201, 201, 201)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert (reused.status_code, reused.json()["reason"]) == (409, "idempotency_key_reused")
    assert (overdraw.status_code, overdraw.json()["reason"]) == (409, "insufficient_balance")
    # Each entry was judged against the ones before it in the batch: 100 + 50 - 120 = 30 left.
    assert api.get(f"/v1/accounts/{cash}/balance").json()["balance"] == "32.00"

    audit = api.get("/v1/audit").json()["data"]
    batch = [(r["idempotency_key"], r["outcome"]) for r in audit if r["idempotency_key"] != "opening"]
    assert sorted(batch) == sorted([
        ("k-grant", "ok"), ("k-spend", "ok"), ("k-grant", "refused: idempotency_key_reused"),
        ("k-overdraw", "refused: insufficient_balance"), ("k-last", "ok"),
    ])  # fmt: skip  (the replay is not a new write and is not audited again)
    ok = {r["idempotency_key"]: r["entry_ids"] for r in audit if r["outcome"] == "ok"}
    assert ok["k-grant"] == [first.json()["id"]] and ok["k-last"] == [last.json()["id"]]
    assert api.get("/v1/audit/verify").json()["ok"] is True


def test_a_batch_of_several_users_records_each_entry_as_its_own(api, db, fund):
    cash, capital = fund["1100"], fund["3100"]
    clerks = [api.as_(make_user(db, f"clerk-{n}", "officer")) for n in range(3)]
    requests = [(entry(fund, [(cash, f"{n + 1}.00"), (capital, f"-{n + 1}.00")]), "same-key") for n in range(3)]
    responses: list = [None] * 3
    # The same key from three users is three requests: keys belong to the user who sent them.
    threads = [threading.Thread(target=lambda i=i: responses.__setitem__(i, clerks[i].post(
        "/v1/entries", requests[i][0], requests[i][1]))) for i in range(3)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [201, 201, 201]
    assert len({r.json()["id"] for r in responses}) == 3
    entries = api.get("/v1/entries", book_id=fund["book_id"]).json()["data"]
    assert sorted(e["postings"][0]["amount"] for e in entries) == ["1.00", "2.00", "3.00"]


def test_a_batch_of_several_users_judges_their_entries_in_the_order_they_came(api, db, fund):
    """Cash 100: the first clerk spends 60; the second's 50 then overdraws, although the first
    clerk's deposit that came after it would have covered it."""
    cash, capital, expense = fund["1100"], fund["3100"], fund["5400"]
    assert api.entry(fund["book_id"], [(cash, "100.00"), (capital, "-100.00")]).status_code == 201
    first, second = (api.as_(make_user(db, name, "officer")) for name in ("clerk-a", "clerk-b"))
    spend, overdraw, deposit = post_together(db, [
        (first, entry(fund, [(expense, "60.00"), (cash, "-60.00")]), "a-1"),
        (second, entry(fund, [(expense, "50.00"), (cash, "-50.00")]), "b-1"),
        (first, entry(fund, [(cash, "100.00"), (capital, "-100.00")]), "a-2"),
    ])  # fmt: skip
    assert (spend.status_code, deposit.status_code) == (201, 201)
    assert (overdraw.status_code, overdraw.json()["reason"]) == (409, "insufficient_balance")
    assert api.get(f"/v1/accounts/{cash}/balance").json()["balance"] == "140.00"
    with db.read() as connection:
        recorded_by = dict(connection.execute(text(
            "SELECT e.id, u.name FROM entry e JOIN app_user u ON u.id = e.recorded_by")).all())  # fmt: skip
    assert recorded_by[spend.json()["id"]] == recorded_by[deposit.json()["id"]] == "clerk-a"
