"""What the pages say and how: the catalogs are complete, amounts and dates go through one filter
each and read back to what was meant, and the templates load nothing from elsewhere and hold no
inline script or style (a Content-Security-Policy of default-src 'self' must hold)."""

import re
from datetime import date
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from ledger.accounts import AccountType
from ledger.calendar import page_form, parse_page_date
from web.i18n import catalog_path, translations
from web.templating import ENV

ROOT = Path(__file__).parent.parent
TEMPLATES = ROOT / "web" / "templates"


def catalog(language: str):
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=language)


def extracted_ids() -> set[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords={"_": None, "gettext": None,
                             "ngettext": (1, 2), "N_": None})  # fmt: skip
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_every_message_has_its_thai():
    empty = [m.id for m in catalog("th") if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]
    assert empty == []


def test_every_message_of_the_pages_is_in_both_catalogs():
    ids = extracted_ids()
    assert len(ids) > 50 and "Sign in" in ids and "negative" in ids
    for language in ("th", "en"):
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language) if m.id}
        assert sorted(ids - known) == [], f"run `make messages` and translate: {language}"


def test_the_catalogs_compile_in_memory():
    assert translations("th").gettext("Sign in") == "เข้าสู่ระบบ"
    assert translations("en").gettext("Sign in") == "Sign in"
    assert not list((ROOT / "web" / "locale").rglob("*.mo"))


EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=|hx-on", re.IGNORECASE)


def test_templates_load_nothing_from_elsewhere_and_hold_no_inline_script_or_style():
    pages = list(TEMPLATES.glob("*.html"))
    assert len(pages) >= 8
    for page in pages:
        source = page.read_text()
        assert not EXTERNAL.search(source), page.name
        assert not INLINE_SCRIPT.search(source), page.name
        assert not INLINE_STYLE.search(source), page.name
    assert not EXTERNAL.search((ROOT / "web" / "static" / "app.css").read_text().replace("http://", ""))
    assert "url(\"/static/fonts/" in (ROOT / "web" / "static" / "app.css").read_text()


def render_amount(satang: int, account_type: str | None, lang: str = "th") -> str:
    text = translations(lang)
    return ENV.from_string("{{ x|amount(t) }}").render(x=satang, t=account_type, gettext=text.gettext, lang=lang)


def read_back(html: str, account_type: str | None) -> int:
    """The balance a reader takes from the page: the figure, on the type's normal side unless it
    is marked unusual (then in parentheses)."""
    unusual = "amount-unusual" in html
    figure = re.sub(r"<span class=\"visually-hidden\">.*?</span>", "", html)
    figure = re.sub(r"<[^>]+>", "", figure)
    assert "-" not in figure and "−" not in figure
    assert (figure.startswith("(") and figure.endswith(")")) == unusual
    baht, satang = figure.strip("()").replace(",", "").split(".")
    magnitude = int(baht) * 100 + int(satang)
    normal_sign = AccountType(account_type).normal_sign if account_type else 1
    return (-1 if unusual else 1) * normal_sign * magnitude


@given(st.integers(-(10**15), 10**15), st.sampled_from([None, *AccountType]))
def test_an_amount_shown_reads_back_to_its_balance(satang, account_type):
    html = render_amount(satang, account_type)
    assert read_back(html, account_type) == satang


def test_amounts_as_people_read_them():
    assert render_amount(-150_000_00, "income") == '<span class="amount">150,000.00</span>'
    assert render_amount(150_000_00, "asset") == '<span class="amount">150,000.00</span>'
    cash_in_credit = render_amount(-1_234_50, "asset")
    assert cash_in_credit.startswith('<span class="amount amount-unusual">(1,234.50)')
    assert "ติดลบ" in cash_in_credit and "negative" in render_amount(-1, None, "en")


def test_dates_in_the_buddhist_era_in_thai_and_the_common_era_in_english():
    def shown(lang: str) -> str:
        return ENV.from_string("{{ d|date }}").render(d=date(2024, 9, 30), lang=lang)

    assert shown("th") == '<time datetime="2024-09-30">30 ก.ย. 2567</time>'
    assert shown("en") == '<time datetime="2024-09-30">30 Sep 2024</time>'


@given(st.dates(date(1900, 1, 1), date(2199, 12, 31)))
def test_a_page_date_reads_back_in_either_form(day):
    assert parse_page_date(page_form(day)) == parse_page_date(day.isoformat()) == day
