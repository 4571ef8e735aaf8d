"""Thai presentation: amounts in Thai words, Buddhist Era dates, grouped amounts."""

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.calendar import format_date
from ledger.money import MAX_AMOUNT_SATANG, format_amount, people_amount
from ledger.thai import baht_text, number_words

NUMBERS = [
    (0, "ศูนย์"),
    (1, "หนึ่ง"),
    (2, "สอง"),
    (9, "เก้า"),
    (10, "สิบ"),  # not หนึ่งสิบ
    (11, "สิบเอ็ด"),
    (12, "สิบสอง"),
    (20, "ยี่สิบ"),  # not สองสิบ
    (21, "ยี่สิบเอ็ด"),
    (22, "ยี่สิบสอง"),
    (31, "สามสิบเอ็ด"),
    (100, "หนึ่งร้อย"),
    (101, "หนึ่งร้อยเอ็ด"),  # a 1 after other digits is เอ็ด even with a zero between
    (110, "หนึ่งร้อยสิบ"),
    (111, "หนึ่งร้อยสิบเอ็ด"),
    (121, "หนึ่งร้อยยี่สิบเอ็ด"),
    (201, "สองร้อยเอ็ด"),
    (1_000, "หนึ่งพัน"),
    (1_001, "หนึ่งพันเอ็ด"),
    (10_000, "หนึ่งหมื่น"),
    (100_000, "หนึ่งแสน"),
    (123_456, "หนึ่งแสนสองหมื่นสามพันสี่ร้อยห้าสิบหก"),
    (1_000_000, "หนึ่งล้าน"),
    (1_000_001, "หนึ่งล้านเอ็ด"),  # the units of the lower group follow the ล้าน
    (1_000_010, "หนึ่งล้านสิบ"),
    (1_000_011, "หนึ่งล้านสิบเอ็ด"),
    (1_000_021, "หนึ่งล้านยี่สิบเอ็ด"),
    (2_000_000, "สองล้าน"),
    (10_000_000, "สิบล้าน"),
    (11_000_000, "สิบเอ็ดล้าน"),
    (21_000_000, "ยี่สิบเอ็ดล้าน"),
    (101_000_000, "หนึ่งร้อยเอ็ดล้าน"),
    (1_000_000_000, "หนึ่งพันล้าน"),
    (1_000_000_001, "หนึ่งพันล้านเอ็ด"),
    (1_000_000_000_000, "หนึ่งล้านล้าน"),  # ล้าน repeats for numbers of more than twelve digits
    (1_000_001_000_000, "หนึ่งล้านเอ็ดล้าน"),
    (2_500_000_000_000, "สองล้านห้าแสนล้าน"),
    (999_999_999_999, "เก้าแสนเก้าหมื่นเก้าพันเก้าร้อยเก้าสิบเก้าล้านเก้าแสนเก้าหมื่นเก้าพันเก้าร้อยเก้าสิบเก้า"),
]


@pytest.mark.parametrize(("number", "words"), NUMBERS)
def test_number_words(number, words):
    assert number_words(number) == words


AMOUNTS = [
    (0, "ศูนย์บาทถ้วน"),
    (1, "หนึ่งสตางค์"),
    (11, "สิบเอ็ดสตางค์"),
    (21, "ยี่สิบเอ็ดสตางค์"),
    (50, "ห้าสิบสตางค์"),  # 0.50: satang alone, no ศูนย์บาท
    (100, "หนึ่งบาทถ้วน"),
    (101, "หนึ่งบาทหนึ่งสตางค์"),
    (2_100, "ยี่สิบเอ็ดบาทถ้วน"),
    (2_125, "ยี่สิบเอ็ดบาทยี่สิบห้าสตางค์"),
    (100_000_100, "หนึ่งล้านเอ็ดบาทถ้วน"),
    (123_456_789, "หนึ่งล้านสองแสนสามหมื่นสี่พันห้าร้อยหกสิบเจ็ดบาทแปดสิบเก้าสตางค์"),
    (-150, "ลบหนึ่งบาทห้าสิบสตางค์"),
    (-15_000, "ลบหนึ่งร้อยห้าสิบบาทถ้วน"),  # a negative total says ลบ
    (
        MAX_AMOUNT_SATANG,  # 999,999,999,999.99
        "เก้าแสนเก้าหมื่นเก้าพันเก้าร้อยเก้าสิบเก้าล้านเก้าแสนเก้าหมื่นเก้าพันเก้าร้อยเก้าสิบเก้าบาทเก้าสิบเก้าสตางค์",
    ),
]


@pytest.mark.parametrize(("satang", "words"), AMOUNTS)
def test_baht_text(satang, words):
    assert baht_text(satang) == words


# An independent reader of Thai numbers, to check the writer on any number: each digit word
# (or เอ็ด, or ยี่) waits for the place word after it; a bare place word counts one of it.
DIGIT_VALUES = {"ศูนย์": 0, "หนึ่ง": 1, "เอ็ด": 1, "สอง": 2, "ยี่": 2, "สาม": 3, "สี่": 4, "ห้า": 5,
                "หก": 6, "เจ็ด": 7, "แปด": 8, "เก้า": 9}  # fmt: skip
PLACE_VALUES = {"สิบ": 10, "ร้อย": 100, "พัน": 1_000, "หมื่น": 10_000, "แสน": 100_000}
TOKEN = re.compile("|".join(sorted([*DIGIT_VALUES, *PLACE_VALUES], key=len, reverse=True)))


def read_group(words: str) -> int:
    total, pending = 0, None
    tokens = TOKEN.findall(words)
    assert "".join(tokens) == words, f"unknown words in {words!r}"
    for token in tokens:
        if token in PLACE_VALUES:
            total += (1 if pending is None else pending) * PLACE_VALUES[token]
            pending = None
        else:
            pending = DIGIT_VALUES[token]
    return total + (pending or 0)


def read_number(words: str) -> int:
    value = 0
    for group in words.split("ล้าน"):
        value = value * 1_000_000 + read_group(group)
    return value


@given(st.integers(min_value=0, max_value=10**18))
def test_words_read_back_to_the_number(number):
    words = number_words(number)
    assert read_number(words) == number
    assert "หนึ่งสิบ" not in words and "สองสิบ" not in words
    assert words.endswith("หนึ่ง") == (number == 1)  # a trailing 1 after other digits is เอ็ด
    assert words.endswith("เอ็ด") == (number % 10 == 1 and number > 1)
    assert "ศูนย์" not in words or number == 0


@given(st.integers(min_value=-MAX_AMOUNT_SATANG, max_value=MAX_AMOUNT_SATANG))
def test_baht_text_reads_back(satang):
    words = baht_text(satang)
    sign = -1 if words.startswith("ลบ") else 1
    body = words.removeprefix("ลบ")
    if body.endswith("บาทถ้วน"):
        value = read_number(body.removesuffix("บาทถ้วน")) * 100
    else:
        baht, _, rest = body.removesuffix("สตางค์").rpartition("บาท")
        value = (read_number(baht) if baht else 0) * 100 + read_number(rest)
        assert 0 < read_number(rest) < 100
    assert sign * value == satang


@pytest.mark.parametrize(
    ("day", "thai", "english"),
    [
        (date(2024, 9, 30), "30 ก.ย. 2567", "30 Sep 2024"),
        (date(2024, 1, 1), "1 ม.ค. 2567", "1 Jan 2024"),
        (date(2023, 12, 31), "31 ธ.ค. 2566", "31 Dec 2023"),
        (date(2024, 2, 29), "29 ก.พ. 2567", "29 Feb 2024"),
    ],
)
def test_dates_in_each_language(day, thai, english):
    assert (format_date(day, "th"), format_date(day, "en")) == (thai, english)


@given(st.dates(min_value=date(1900, 1, 1)))
def test_thai_dates_carry_the_buddhist_era_year(day):
    assert format_date(day, "th").endswith(f" {day.year + 543}")
    assert format_date(day, "en").endswith(f" {day.year}")


@pytest.mark.parametrize(
    ("satang", "grouped"),
    [(0, "0.00"), (99, "0.99"), (100_000, "1,000.00"), (-123_456_789, "-1,234,567.89"),
     (MAX_AMOUNT_SATANG, "999,999,999,999.99")],
)  # fmt: skip
def test_grouped_amounts(satang, grouped):
    assert format_amount(satang, grouped=True) == grouped


@given(st.integers(min_value=-MAX_AMOUNT_SATANG, max_value=MAX_AMOUNT_SATANG))
def test_grouping_only_adds_separators(satang):
    grouped = format_amount(satang, grouped=True)
    assert grouped.replace(",", "") == format_amount(satang)
    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d\d", grouped)


@pytest.mark.parametrize(("satang", "shown"), [(0, "0.00"), (-150_000, "(1,500.00)"), (123_456_789, "1,234,567.89")])
def test_people_read_a_negative_amount_in_parentheses(satang, shown):
    assert people_amount(satang) == shown
