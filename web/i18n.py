"""The pages' languages: Thai first, English one click away.

Every text of a page goes through gettext: templates with `{% trans %}` and `_()` (Jinja2's
i18n extension), Python code with `N_()` (marked for extraction, translated where rendered).
Message ids are English; `web/locale/th/LC_MESSAGES/messages.po` holds the Thai, and the
English catalog is left with empty translations (gettext then shows the id itself).

The catalogs are read from their .po files and compiled to gettext's binary form in memory,
once per process (`translations`): no .mo file is built or committed, so a catalog edit needs
no build step and the repository holds only text. `make messages` extracts the messages again
(pybabel extract, babel.cfg) and merges them into both catalogs (pybabel update).

Which language a request gets (`language_of`): the signed-in person's choice kept on the user
record, else the `codi_lang` cookie (before sign-in), else Thai.
"""

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("th", "en")
DEFAULT_LANGUAGE = "th"
LANGUAGE_COOKIE = "codi_lang"


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where a page shows it."""
    return message


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> gettext.GNUTranslations:
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def chosen(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def language_of(request) -> str:
    """The language of this request's page (see the module's docstring)."""
    signed_in = getattr(request.state, "signed_in", None)
    if signed_in is not None and signed_in.language:
        return chosen(signed_in.language)
    return chosen(request.cookies.get(LANGUAGE_COOKIE))
