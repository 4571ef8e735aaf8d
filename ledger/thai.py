"""Amounts in Thai words, as a Thai statement or cheque writes its total (บาทถ้วน / สตางค์).

A Thai number is read in groups of six digits joined by ล้าน (million), so 10^12 is
หนึ่งล้านล้าน. Inside a group the places are หน่วย สิบ ร้อย พัน หมื่น แสน, and three rules
apply:

- a 1 in the tens place is just สิบ (10 is สิบ, not หนึ่งสิบ) and a 2 there is ยี่ (20 is ยี่สิบ);
- a 1 in the units place is เอ็ด whenever any digit stands before it in the whole number
  (11 สิบเอ็ด, 101 หนึ่งร้อยเอ็ด, 1,000,001 หนึ่งล้านเอ็ด, 11,000,000 สิบเอ็ดล้าน), and หนึ่ง
  when it stands alone (1 หนึ่ง, 1,000,000 หนึ่งล้าน);
- zeros are silent, and zero itself is ศูนย์.

Baht are followed by บาท, and by บาทถ้วน ("baht exactly") when there are no satang; satang by
สตางค์. Less than one baht is satang alone (0.50 is ห้าสิบสตางค์); a negative amount starts
with ลบ.

>>> baht_text(2_100), baht_text(100_000_150), baht_text(50)
('ยี่สิบเอ็ดบาทถ้วน', 'หนึ่งล้านเอ็ดบาทห้าสิบสตางค์', 'ห้าสิบสตางค์')
>>> baht_text(-15_000)
'ลบหนึ่งร้อยห้าสิบบาทถ้วน'
"""

DIGITS = ("ศูนย์", "หนึ่ง", "สอง", "สาม", "สี่", "ห้า", "หก", "เจ็ด", "แปด", "เก้า")
PLACES = ("", "สิบ", "ร้อย", "พัน", "หมื่น", "แสน")
MILLION = "ล้าน"
GROUP = 10**6


def number_words(number: int) -> str:
    """A non-negative whole number in Thai words."""
    assert number >= 0
    if number == 0:
        return DIGITS[0]
    return _words(number, after_higher=False)


def _words(number: int, *, after_higher: bool) -> str:
    """Words of `number` > 0; `after_higher` when digits stand before it in the whole number."""
    millions, group = divmod(number, GROUP)
    head = _words(millions, after_higher=after_higher) + MILLION if millions else ""
    return head + _group_words(group, after_higher=after_higher or millions > 0)


def _group_words(group: int, *, after_higher: bool) -> str:
    """Words of one group of up to six digits (0 is silent)."""
    words = []
    digits = [int(d) for d in str(group)] if group else []
    for place, digit in zip(range(len(digits) - 1, -1, -1), digits, strict=True):
        if digit == 0:
            continue
        if place == 0 and digit == 1 and (after_higher or group > 9):
            words.append("เอ็ด")
        elif place == 1 and digit in (1, 2):
            words.append(("", "ยี่")[digit - 1] + PLACES[1])
        else:
            words.append(DIGITS[digit] + PLACES[place])
    return "".join(words)


def baht_text(satang: int) -> str:
    """An amount of satang in Thai words: ...บาทถ้วน, ...บาท...สตางค์ or ...สตางค์."""
    if satang < 0:
        return "ลบ" + baht_text(-satang)
    baht, rest = divmod(satang, 100)
    if rest == 0:
        return number_words(baht) + "บาทถ้วน"
    in_baht = number_words(baht) + "บาท" if baht else ""
    return in_baht + number_words(rest) + "สตางค์"
