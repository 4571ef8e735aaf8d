"""The pages' templates: one Jinja2 environment, its two filters, and `render`.

- `amount`: satang as baht with thousands separators and two places, never a minus sign. With
  an account type (`balance|amount("income")`) the figure is the balance on the type's normal
  side (ledger.accounts.displayed_balance); a balance on the other side, or a negative plain
  amount, is shown in parentheses, marked with the class `amount-unusual` and a word that
  screen readers say ("negative").
- `month`: a month as a reader sees it, `ต.ค. 2566`, `Oct 2023` (a date of the month).
- `date`: a date as a reader sees it, `30 ก.ย. 2567` in Thai (Buddhist Era), `30 Sep 2024` in
  English (ledger.calendar.format_date), in a <time> element that carries the ISO date.

`render` gives every template the request's language and its gettext functions (for
`{% trans %}` and `_()`), the signed-in principal if any, and the CSRF token for its forms.
"""

from datetime import date
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup

from ledger.accounts import AccountType, DisplayedBalance, displayed_balance
from ledger.calendar import format_date
from ledger.money import format_amount
from web import csrf
from web.i18n import N_, language_of, translations

ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), extensions=["jinja2.ext.i18n"], autoescape=True,
    undefined=StrictUndefined,  # a name the handler forgot is an error, not an empty figure
    trim_blocks=True, lstrip_blocks=True,  # as babel.cfg tells the extractor
)  # fmt: skip
TEMPLATES = Jinja2Templates(env=ENV)
UNUSUAL_WORD = N_("negative")  # said by screen readers after a figure in parentheses


@pass_context
def amount_filter(context, satang: int, account_type: str | None = None) -> Markup:
    shown = (displayed_balance(satang, AccountType(account_type)) if account_type
             else DisplayedBalance(abs(satang), satang < 0))  # fmt: skip
    figure = format_amount(shown.figure_satang, grouped=True)
    if not shown.unusual:
        return Markup('<span class="amount">{}</span>').format(figure)
    word = context["gettext"](UNUSUAL_WORD)
    return Markup('<span class="amount amount-unusual">({})<span class="visually-hidden"> {}</span></span>').format(
        figure, word
    )


@pass_context
def date_filter(context, day: date) -> Markup:
    return Markup('<time datetime="{}">{}</time>').format(day.isoformat(), format_date(day, context["lang"]))


@pass_context
def month_filter(context, day: date) -> str:
    """A month as a column of a chart or a table names it: `ต.ค. 2566`, `Oct 2023`."""
    return format_date(day, context["lang"]).split(" ", 1)[1]


ENV.filters["amount"] = amount_filter
ENV.filters["date"] = date_filter
ENV.filters["month"] = month_filter


def page_context(request: Request) -> dict:
    """What every template may use: the language, gettext, who is signed in, the CSRF token."""
    lang = language_of(request)
    text = translations(lang)
    signed_in = getattr(request.state, "signed_in", None)
    return {
        "request": request, "lang": lang, "gettext": text.gettext, "ngettext": text.ngettext, "_": text.gettext,
        "principal": signed_in.principal if signed_in else None, "csrf_token": csrf.token_for(request),
    }  # fmt: skip


def render(request: Request, template: str, status_code: int = 200, **values):
    """The template rendered for this request; `values` are what the handler gives it."""
    response = TEMPLATES.TemplateResponse(request, template, {**page_context(request), **values},
                                          status_code=status_code)  # fmt: skip
    csrf.keep_secret(request, response)
    return response

