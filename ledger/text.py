"""Text the ledger can store: Unicode that encodes to UTF-8.

JSON can spell a character that is not one: a lone surrogate, the escape `\\ud800` with no low
half after it (or a high half, `\\udc00`, with none before), or the same code point written as
UTF-8 bytes (ED A0 80), which Python's json reads too. It decodes to a Python str that no
encoding writes, so it fails only later, in the database driver or the audit hash. Every body
and every import line is looked at here before it is decoded (`api.middleware`, `store.bulk`,
`store.welfare`), so that no route, schema or import can forget to.

>>> has_lone_surrogate(rb'{"description": "\\ud800"}')
True
>>> has_lone_surrogate(rb'{"description": "\\ud83d\\ude00 \\u0e01"}')  # a pair: one emoji, and a Thai letter
False
>>> has_lone_surrogate(rb'{"description": "\\\\ud800"}')  # an escaped backslash, then the letters ud800
False
>>> has_lone_surrogate('{"description": "ก"}'.encode() + b"\\xed\\xa0\\x80")
True
"""

import re
import unicodedata

from ledger.errors import LedgerError, Rejection

_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)  # `\\` is one escape: parity is kept
_UTF8_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")  # in UTF-8, ED is followed by 80..9F only
HIGH_SURROGATES = range(0xD800, 0xDC00)
LOW_SURROGATES = range(0xDC00, 0xE000)


def check_storable(raw: bytes) -> None:
    """Refuse JSON text that holds a lone surrogate (`invalid_text`)."""
    if has_lone_surrogate(raw):
        detail = "the text holds a lone surrogate (such as \\ud800): not a character, it cannot be stored"
        raise LedgerError(Rejection.invalid_text, detail)


def has_lone_surrogate(raw: bytes) -> bool:
    """Whether the JSON text `raw` holds a surrogate code point that is not half of a pair."""
    if _UTF8_SURROGATE.search(raw):
        return True
    if b"\\u" not in raw:
        return False
    pair_ends_at = None  # where a high half just read wants its low half
    for escape in _ESCAPE.finditer(raw):
        code = int(escape[1], 16) if escape[1] else None
        if pair_ends_at is not None:
            if escape.start() != pair_ends_at or code not in LOW_SURROGATES:
                return True
            pair_ends_at = None
        elif code in HIGH_SURROGATES:
            pair_ends_at = escape.end()
        elif code in LOW_SURROGATES:
            return True
    return pair_ends_at is not None


USER_NAME_MARKS = frozenset("._@-")
MAX_USER_NAME = 100


def user_name(name: str) -> str:
    """A user's name as kept (NFC), if it is one: letters of any script (Thai with its vowel
    and tone marks among them), digits and `. _ @ -`, beginning with a letter or digit, without
    spaces, at most 100 characters. Names are how people sign in, so nothing that looks blank.

    >>> user_name("สมชาย.ใจดี"), user_name("anan-2")
    ('สมชาย.ใจดี', 'anan-2')
    >>> user_name("สม ชาย")
    Traceback (most recent call last):
    ValueError: a user name is letters (Thai or other), digits and . _ @ - only, without spaces, at most 100
    """
    kept = unicodedata.normalize("NFC", name)
    categories = [unicodedata.category(c)[0] for c in kept]
    if not 0 < len(kept) <= MAX_USER_NAME or categories[0] not in "LN" or not all(
        c in USER_NAME_MARKS or category in "LMN" for c, category in zip(kept, categories, strict=True)
    ):
        raise ValueError(
            f"a user name is letters (Thai or other), digits and . _ @ - only, without spaces, at most {MAX_USER_NAME}"
        )
    return kept
