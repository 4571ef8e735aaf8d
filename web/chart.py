"""A bar chart of figures by month, drawn on the server as SVG: one or more series, their bars
side by side in each month, over grid lines at round steps of baht.

No chart library and nothing from the network: `month_bars` works out where each bar, tick and
label goes, and the partial `_chart.html` writes the SVG elements, each series coloured by its
CSS class `bar-<name>` (the pages' content security policy allows no inline style). The pages
put the same figures in a table beside the chart, for screen readers and for anyone who
prefers numbers.

The geometry is a phone's (360 units wide, labels of 12): the SVG scales to the page's width,
so the labels stay readable on a phone and the stylesheet caps the chart's width on a desktop.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ledger.money import SATANG_PER_BAHT, format_amount

WIDTH, HEIGHT = 360, 200
RIGHT, TOP = 4, 8  # room for the last month's bars and the top tick's label
LINE = 15  # a line of labels, 12 units tall
MAX_STEPS = 5  # grid lines above the baseline, at most
CHARACTER_WIDTH = 6.5  # of a tick label's digit or comma at 12 units, with room to spare
LABEL_ROOM = 34  # a month's short name at 12 units: narrower slots take their labels on two lines
GROUP = 0.76  # of a month's slot, shared by its bars; the rest is the gap between months


@dataclass(frozen=True)
class Series:
    name: str  # its bars' CSS class is bar-<name>, its legend's legend-<name>
    label: str  # the legend's words, a message to translate
    satang: tuple[int, ...]  # a figure for each month


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # the series' name


@dataclass(frozen=True)
class Tick:
    y: float
    baht: int


@dataclass(frozen=True)
class Label:
    x: float  # its middle
    y: float  # its baseline
    month: date  # the month's first day


@dataclass(frozen=True)
class MonthChart:
    width: int
    height: int
    left: int  # where the plot starts, after the ticks' labels
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[Label, ...]
    series: tuple[Series, ...]


def round_step(largest_baht: int) -> int:
    """The smallest round step (1, 2 or 5 times a power of ten) of which MAX_STEPS cover the
    largest bar.

    >>> [round_step(baht) for baht in (0, 3, 420, 21_150, 150_000, 150_001)]
    [1, 1, 100, 5000, 50000, 50000]
    """
    rough = max(largest_baht / MAX_STEPS, 1)
    power = 10 ** (len(str(int(rough))) - 1)
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough)


def month_bars(months: Sequence[date], series: Sequence[Series]) -> MonthChart:
    """Where each month's bars (one a series, side by side), the ticks and the month labels go.

    Two months of income and expenses: 200.00 baht the largest, so four steps of 50 baht (28
    units of tick labels to the left of a plot 328 wide and 170 tall); each month's slot is
    164 wide, its two bars share 76 % of it in the middle; a negative figure draws no bar.

    >>> chart = month_bars([date(2023, 10, 1), date(2023, 11, 1)],
    ...                    [Series("income", "Income", (200_00, 150_00)), Series("expenses", "Expenses", (50_00, -1))])
    >>> [tick.baht for tick in chart.ticks], [tick.y for tick in chart.ticks], chart.left
    ([0, 50, 100, 150, 200], [178.0, 135.5, 93.0, 50.5, 8.0], 28)
    >>> for bar in chart.bars:
    ...     print(bar.series, bar.x, bar.y, bar.width, bar.height)
    income 47.7 8.0 62.3 170.0
    expenses 110.0 135.5 62.3 42.5
    income 211.7 50.5 62.3 127.5
    expenses 274.0 178.0 62.3 0.0
    >>> [(label.x, label.y, label.month.month) for label in chart.labels]
    [(110.0, 193, 10), (274.0, 193, 11)]

    Twelve months leave each a slot too narrow for its name: every other name takes a second line.

    >>> year = month_bars([date(2024, m, 1) for m in range(1, 13)], [Series("sales", "Sales", (1,) * 12)])
    >>> [label.y for label in year.labels][:4], year.ticks[0].y
    ([178, 193, 178, 193], 163.0)
    """
    largest_satang = max([satang for s in series for satang in s.satang] + [0])
    step = round_step(-(-largest_satang // SATANG_PER_BAHT))
    steps = max(-(-largest_satang // (step * SATANG_PER_BAHT)), 1)
    left = round(CHARACTER_WIDTH * len(f"{step * steps:,}")) + 8
    slot = (WIDTH - left - RIGHT) / max(len(months), 1)
    label_lines = 1 if slot >= LABEL_ROOM else 2
    baseline = HEIGHT - LINE * label_lines - 7
    bar_width = slot * GROUP / max(len(series), 1)

    def height_of(satang: int) -> float:
        return max(satang, 0) / (step * steps * SATANG_PER_BAHT) * (baseline - TOP)

    bars = []
    for index in range(len(months)):
        start = left + index * slot + slot * (1 - GROUP) / 2
        for offset, one in enumerate(series):
            height = height_of(one.satang[index])
            bars.append(Bar(round(start + offset * bar_width, 1), round(baseline - height, 1), round(bar_width, 1),
                            round(height, 1), one.name))  # fmt: skip
    labels = tuple(Label(round(left + (index + 0.5) * slot, 1), baseline + LINE * (1 + index % label_lines), month)
                   for index, month in enumerate(months))  # fmt: skip
    ticks = tuple(Tick(round(baseline - i * (baseline - TOP) / steps, 1), i * step) for i in range(steps + 1))
    return MonthChart(WIDTH, HEIGHT, left, tuple(bars), ticks, labels, tuple(series))


def of_months(months: Sequence[Mapping], labels: Mapping[str, str]) -> MonthChart:
    """The chart of the months a page lists, each a mapping with its `start` (the month's first
    day) and a `<name>_satang` figure for each series name in `labels` (name -> legend)."""
    series = [Series(name, label, tuple(m[f"{name}_satang"] for m in months)) for name, label in labels.items()]
    return month_bars([m["start"] for m in months], series)


# --- bars by category ---------------------------------------------------------------------------

ROW = 36  # a category's row: its label line above its bar
BAR = 14


@dataclass(frozen=True)
class CategoryBar:
    label: str  # the category's name, a message to translate
    satang: int
    figure: str  # the satang as baht, grouped: 1,500.00
    count: int
    label_y: float  # the label's baseline
    y: float  # the bar's top
    width: float


@dataclass(frozen=True)
class CategoryChart:
    width: int
    height: int
    bar_height: int
    bars: tuple[CategoryBar, ...]


def category_bars(categories: Sequence[tuple[str, int, int]]) -> CategoryChart:
    """A horizontal bar for each (label, satang, count), in the order given, under its label;
    the largest figure spans the chart's width, a negative one draws no bar.

    >>> chart = category_bars([("Pass", 300_00, 3), ("Doubtful", 100_00, 1), ("Loss", 0, 0)])
    >>> [(bar.label_y, bar.y, bar.width) for bar in chart.bars], chart.height
    ([(12, 16, 356.0), (48, 52, 118.7), (84, 88, 0.0)], 108)
    """
    largest = max([satang for _, satang, _ in categories] + [1])
    plot = WIDTH - RIGHT
    bars = tuple(
        CategoryBar(label, satang, format_amount(satang, grouped=True), count, index * ROW + 12, index * ROW + 16,
                    round(max(satang, 0) / largest * plot, 1))  # fmt: skip
        for index, (label, satang, count) in enumerate(categories)
    )
    return CategoryChart(WIDTH, len(categories) * ROW, BAR, bars)
