"""Personal data on the way out (Thailand's PDPA): the fields marked `masked` in store.tables are
shown in full to admins only, every other role sees their last four characters; `secret` ones
are never shown. A Thai identification number is checked by its check digit on the way in.

>>> valid_national_id("1101700230708")
True
>>> mask("1101700230708")
'*********0708'
"""

from typing import Any

from sqlalchemy import Table

from store.users import Principal

SHOWN_IN_CLEAR = 4


def valid_national_id(number: str) -> bool:
    """13 ASCII digits whose last is the check digit: (11 - sum of digit i x (14 - i)) mod 10."""
    if len(number) != 13 or not all("0" <= c <= "9" for c in number):
        return False
    weighted = sum(int(digit) * (13 - place) for place, digit in enumerate(number[:12]))
    return (11 - weighted % 11) % 10 == int(number[12])


def mask(value: str) -> str:
    return "*" * max(len(value) - SHOWN_IN_CLEAR, 0) + value[-SHOWN_IN_CLEAR:]


def shown(table: Table, row: dict[str, Any], principal: Principal | None) -> dict[str, Any]:
    """The row as this principal may see it: no secret column, masked columns masked unless admin.
    With no principal, as a saved answer keeps it for whoever replays it: masked."""
    seen = {}
    for name, value in row.items():
        column = table.columns.get(name)
        info = column.info if column is not None else {}
        if info.get("secret"):
            continue
        if info.get("masked") and value is not None and (principal is None or principal.role != "admin"):
            value = mask(value)
        seen[name] = value
    return seen
