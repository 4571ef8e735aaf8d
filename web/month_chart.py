"""A bar chart drawn on the server as SVG: income and expenses side by side for each month.

No chart library and nothing from the network: `month_bars` works out where each bar and label
goes, and the template (`_month_chart.html`) writes the SVG elements, coloured by CSS classes
(the pages' content security policy allows no inline style). The same figures go in a table
beside the chart for screen readers and for anyone who prefers numbers.
"""

from dataclasses import dataclass
from datetime import date

from ledger.money import SATANG_PER_BAHT

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 90, 10, 16, 40  # room for the axis labels
TICKS = 4


@dataclass(frozen=True)
class MonthFigures:
    month: date  # its first day
    income_satang: int
    expenses_satang: int


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # "income" or "expenses", the CSS class


@dataclass(frozen=True)
class Tick:
    y: float
    baht: int


@dataclass(frozen=True)
class MonthChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[tuple[float, date], ...]  # the x of each month's label, and the month
    baseline: float
    left: int


def _nice_step(largest_baht: int) -> int:
    """A round step (1, 2 or 5 times a power of ten) so that TICKS steps cover the largest bar."""
    rough = max(largest_baht / TICKS, 1)
    power = 10 ** (len(str(int(rough))) - 1)
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough)


def month_bars(months: list[MonthFigures]) -> MonthChart:
    largest = max([max(m.income_satang, m.expenses_satang, 0) for m in months] + [0]) // SATANG_PER_BAHT
    step = _nice_step(largest)
    top_baht = step * TICKS
    plot_height, plot_width = HEIGHT - TOP - BOTTOM, WIDTH - LEFT - RIGHT
    baseline = TOP + plot_height
    slot = plot_width / max(len(months), 1)
    bar_width = slot * 0.36

    def height_of(satang: int) -> float:
        return max(satang, 0) / SATANG_PER_BAHT / top_baht * plot_height

    bars, labels = [], []
    for index, month in enumerate(months):
        start = LEFT + index * slot + slot * 0.14
        for offset, (kind, satang) in enumerate((("income", month.income_satang), ("expenses", month.expenses_satang))):
            h = height_of(satang)
            bars.append(Bar(round(start + offset * bar_width, 1), round(baseline - h, 1), round(bar_width, 1),
                            round(h, 1), kind))  # fmt: skip
        labels.append((round(LEFT + index * slot + slot / 2, 1), month.month))
    ticks = tuple(Tick(round(baseline - i * plot_height / TICKS, 1), i * step) for i in range(TICKS + 1))
    return MonthChart(WIDTH, HEIGHT, tuple(bars), ticks, tuple(labels), baseline, LEFT)
