"""problem+json in the caller's language: Thai titles (and the fixed details) when Accept-Language
prefers Thai, English otherwise; the machine's `reason` the same in both."""

import pytest

from api.problem_text import TITLES, answer_language, detail_in, title_of
from ledger.errors import Rejection
from web.i18n import translations


def test_every_rejection_reason_has_a_title_and_its_thai():
    assert sorted(set(Rejection) - TITLES.keys()) == []
    thai = translations("th")
    untranslated = [reason for reason, title in TITLES.items() if thai.gettext(title) == title]
    assert untranslated == []


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("", "en"), ("th", "th"), ("th-TH,th;q=0.9,en;q=0.8", "th"), ("en-US,en;q=0.9,th;q=0.8", "en"),
        ("en;q=0.5, th;q=0.6", "th"), ("th;q=0", "en"), ("fr, th;q=0.4", "th"), ("fr", "en"), ("en, th", "en"),
        ("th, en", "th"), ("th;q=nonsense", "en"), ("*", "en"),
    ],
)  # fmt: skip
def test_the_answer_is_english_unless_the_header_prefers_thai(header, language):
    assert answer_language(header) == language


def test_an_api_refusal_speaks_thai_when_asked_and_keeps_its_reason(api):
    english = api.client.get("/v1/books/999")
    thai = api.client.get("/v1/books/999", headers={"Accept-Language": "th-TH,th;q=0.9"})
    assert english.status_code == thai.status_code == 401
    assert english.json()["title"] == "Unauthenticated" and english.headers["content-language"] == "en"
    assert thai.json()["title"] == "ยังไม่ได้ยืนยันตัวตน" and thai.headers["content-language"] == "th"
    assert thai.json()["detail"] == "ต้องแนบโทเคน bearer ที่ใช้งานได้"  # a fixed detail, translated
    assert thai.json()["reason"] == english.json()["reason"] == "unauthenticated"


def test_a_detail_with_the_request_s_values_stays_english_under_a_thai_title(api):
    answer = api.client.get("/v1/books/999", headers={**api.headers(), "Accept-Language": "th"})
    assert answer.status_code == 404
    assert answer.json()["title"] == "ไม่พบ หรือไม่ใช่ของท่าน"
    assert answer.json()["detail"] == "book 999 does not exist or is not yours"
    assert answer.json()["reason"] == "not_found"


def test_a_malformed_body_and_a_route_nobody_has_answer_in_thai_too(api, fund):
    bad = api.client.post("/v1/entries", json={"book_id": fund["book_id"]},
                          headers={**api.headers("k1"), "Accept-Language": "th"})  # fmt: skip
    assert (bad.status_code, bad.json()["title"], bad.json()["reason"]) == (422, "คำขอไม่ถูกต้อง", "invalid_request")
    missing = api.client.get("/v1/nothing-here", headers={"Accept-Language": "th"})
    assert (missing.status_code, missing.json()["detail"]) == (404, "ไม่พบ")


def test_titles_and_details_unknown_to_the_catalog_are_kept():
    assert title_of("something_new", "th") == "Something new"
    assert detail_in("book 7 does not exist or is not yours", "th") == "book 7 does not exist or is not yours"
