"""The sale form of the pages: what a person typed, read into the API's own `SaleRequest`.

The form keeps every field as typed (strings), so that a refused form shows them again and the
check step carries them on to the save in hidden fields, with the idempotency key the form was
given when it was first shown. Reading answers the request, or the fields' messages.
"""

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import Depends, Request

from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount
from ledger.welfare import Channel, check_product_lines
from store.welfare import SaleRequest
from web.forms import message, read_amount, read_date
from web.i18n import N_

LINE_COUNT = 3  # product lines on the form; the API takes up to 100
LINE_FIELDS = ("product", "quantity", "amount")
FIELDS = ("amount", "channel", "sold_on", "description", "key",
          *(f"line-{n}-{field}" for n in range(1, LINE_COUNT + 1) for field in LINE_FIELDS))  # fmt: skip
MAX_TEXT = 200  # a product's name, as the API's; a description may have 500
MAX_DESCRIPTION = 500
CHANNELS = (
    (Channel.market, N_("At a market or a fair")),
    (Channel.online_shop, N_("In an online shop")),
    (Channel.retailer, N_("Through a shop that sells for us")),
)
# A refusal of the sale's operation, shown beside the field it is about.
REFUSALS = {
    Rejection.no_rule_in_force: ("channel", N_("There is no welfare contribution rule for this way of selling on "
                                               "this date. Ask the fund's officer.")),  # fmt: skip
    Rejection.date_in_future: ("sold_on", N_("The date of the sale cannot be after today.")),
    Rejection.period_closed: ("sold_on", N_("The books are closed for this date. Ask the fund's officer.")),
    Rejection.idempotency_key_reused: ("amount", N_("This form was saved already. Look for the sale in your sales, "
                                                    "or start a new one.")),  # fmt: skip
}


async def _typed(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name, ""))[:MAX_DESCRIPTION] for name in FIELDS}


Typed = Annotated[dict[str, str], Depends(_typed)]


def blank(today_typed: str) -> dict[str, str]:
    """A new form: today's date and a new idempotency key."""
    return {**dict.fromkeys(FIELDS, ""), "sold_on": today_typed, "channel": Channel.market.value,
            "key": uuid.uuid4().hex}  # fmt: skip


def read(typed: dict[str, str], enterprise_party_id: int) -> tuple[SaleRequest | None, list[tuple[str, dict]]]:
    """The sale the form asks for, or the messages of the fields that could not be read."""
    errors: list[tuple[str, dict]] = []
    amount, error = read_amount(typed["amount"])
    errors += [("amount", error)] if error else []
    if typed["channel"] not in {c.value for c in Channel}:
        errors.append(("channel", message(N_("Choose where the sale was made."))))
    sold_on, error = read_date(typed["sold_on"])
    errors += [("sold_on", error)] if error else []
    lines = _lines(typed, errors)
    if amount and lines and not errors:
        _check_lines(amount, lines, errors)
    if errors:
        return None, errors
    description = typed["description"].strip() or None
    return SaleRequest(enterprise_party_id, sold_on, Channel(typed["channel"]), amount, description=description,
                       lines=tuple(lines)), []  # fmt: skip


def _lines(typed: dict[str, str], errors: list) -> list[dict]:
    lines = []
    for n in range(1, LINE_COUNT + 1):
        product, quantity, amount = (typed[f"line-{n}-{field}"].strip() for field in LINE_FIELDS)
        if not (product or quantity or amount):
            continue
        if not product or len(product) > MAX_TEXT:
            errors.append((f"line-{n}-product", message(N_("Write what was sold, in at most 200 letters."))))
        if not quantity.isdigit() or not 1 <= int(quantity) <= 1_000_000_000:
            errors.append((f"line-{n}-quantity", message(N_("Write how many, as a whole number like 3."))))
        satang, error = read_amount(amount)
        errors += [(f"line-{n}-amount", error)] if error else []
        if not errors:
            lines.append({"product": product, "quantity": int(quantity), "amount_satang": satang})
    return lines


def _check_lines(amount_satang: int, lines: list[dict], errors: list) -> None:
    try:
        check_product_lines(amount_satang, [line["amount_satang"] for line in lines])
    except LedgerError:
        total = format_amount(sum(line["amount_satang"] for line in lines), grouped=True)
        errors.append(("line-1-amount", message(N_("The products add up to %(total)s baht, not the amount of the "
                                                   "sale."), total=total)))  # fmt: skip


def refusal(error: LedgerError) -> tuple[str, dict] | None:
    """The field and message of an operation's refusal the person can put right, else None."""
    found = REFUSALS.get(error.reason)
    return (found[0], message(found[1])) if found else None


def write_fields(sale: SaleRequest) -> dict:
    """What the sale's write is (its idempotency hash): the request, not the form's spelling of it."""
    return asdict(sale)
