"""A bar chart drawn on the server as SVG coordinates (no script, nothing from elsewhere): the
template draws a <rect> for each bar, with the same figures in a table beside it.

>>> [(b.x, b.height) for b in bars([("a", 50), ("b", 100), ("c", 0)], width=90, height=100)]
[(3, 50), (33, 100), (63, 0)]
"""

from dataclasses import dataclass
from typing import Any

GAP = 3  # between bars, in the chart's units


@dataclass(frozen=True)
class Bar:
    label: Any  # what the template writes under the bar (a month)
    value: int
    x: int
    y: int
    width: int
    height: int


def bars(values: list[tuple[Any, int]], *, width: int, height: int) -> list[Bar]:
    """One bar for each (label, value), side by side over `width`, the largest `height` tall."""
    if not values:
        return []
    slot = width // len(values)
    top = max(max(value for _, value in values), 1)
    drawn = []
    for index, (label, value) in enumerate(values):
        bar_height = max(value, 0) * height // top
        drawn.append(Bar(label, value, index * slot + GAP, height - bar_height, slot - 2 * GAP, bar_height))
    return drawn
