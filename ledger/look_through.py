"""CODI's look-through: what the members behind each organisation owe and pay, and how the
organisation's own margin and reserve stand, organisation by organisation and rolled up by
incubation centre, province, region and programme.

Every figure is a sum of integer satang (or a count), so an organisation's figures are exactly
the sum of its member loans' and a group's exactly the sum of its organisations'. Ratios are
never summed or averaged: a group's PAR and collection rate are recomputed from its summed
numerator and denominator (`share_percent`).

- outstanding: principal owed on member loans at the end of the day (their receivable accounts);
- arrears: the principal outstanding of loans more than 0 days past due;
- PAR30 / PAR90: principal outstanding of loans more than 30 / 90 days past due ÷ outstanding;
- collection rate of a month: what members repaid in the month (interest and principal) ÷ the
  instalments (interest and principal) their schedules in force had falling due in it.
"""

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

from ledger.loan_book import par_percent

_MONTHLY = ("due_satang", "collected_satang")
DIMENSIONS = ("region", "province", "centre", "programme")


def share_percent(part_satang: int, whole_satang: int) -> Decimal | None:
    """`part` as a percentage of `whole`: exact integer arithmetic, two places, half-up
    (`ledger.loan_book.par_percent`, the dashboard's PAR); None when the whole is zero.

    >>> share_percent(1, 3), share_percent(0, 0)
    (Decimal('33.33'), None)
    """
    return None if whole_satang == 0 else par_percent(part_satang, whole_satang)


def by_month(months: Sequence[date], amounts: Iterable[tuple[date, int]]) -> tuple[int, ...]:
    """`amounts` (day, satang) summed into `months` (each a first day); those outside are left out."""
    totals = dict.fromkeys(months, 0)
    for day, satang in amounts:
        start = day.replace(day=1)
        if start in totals:
            totals[start] += satang
    return tuple(totals.values())


@dataclass(frozen=True)
class Figures:
    """The look-through of an organisation, of one member loan, or of a group: sums only."""

    members: int = 0
    loans: int = 0  # member loans with principal outstanding
    outstanding_satang: int = 0
    arrears_satang: int = 0
    over_30_satang: int = 0
    over_90_satang: int = 0
    due_satang: tuple[int, ...] = ()  # by month of the fiscal year, as `months`
    collected_satang: tuple[int, ...] = ()
    margin_satang: int = 0  # interest from members less interest to CODI in the period
    surplus_satang: int = 0  # accumulated surplus (3300): the margins of closed years
    reserve_satang: int = 0  # 3200

    def __add__(self, other: "Figures") -> "Figures":
        def summed(name: str):
            mine, theirs = getattr(self, name), getattr(other, name)
            if name in _MONTHLY:
                width = max(len(mine), len(theirs))
                return tuple(a + b for a, b in zip(_padded(mine, width), _padded(theirs, width), strict=True))
            return mine + theirs

        return Figures(**{f.name: summed(f.name) for f in fields(self)})

    @property
    def par30_percent(self) -> Decimal | None:
        return share_percent(self.over_30_satang, self.outstanding_satang)

    @property
    def par90_percent(self) -> Decimal | None:
        return share_percent(self.over_90_satang, self.outstanding_satang)

    def collection_percent(self) -> tuple[Decimal | None, ...]:
        return tuple(share_percent(c, d) for c, d in zip(self.collected_satang, self.due_satang, strict=True))


def _padded(amounts: tuple[int, ...], width: int) -> tuple[int, ...]:
    return amounts + (0,) * (width - len(amounts))


def total(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for one in figures:
        result += one
    return result


@dataclass(frozen=True)
class MemberLoan:
    """A member loan on the day: principal outstanding, days past due, its instalments due
    (day, satang) and its repayments (day, satang), both up to the day."""

    outstanding_satang: int
    days_past_due: int
    dues: Sequence[tuple[date, int]] = field(default=())
    repayments: Sequence[tuple[date, int]] = field(default=())

    def figures(self, months: Sequence[date]) -> Figures:
        owed = self.outstanding_satang
        monthly = Figures(due_satang=by_month(months, self.dues), collected_satang=by_month(months, self.repayments))
        return aged_figures(1 if owed else 0, owed, self.days_past_due) + monthly


def aged_figures(loans: int, outstanding_satang: int, days_past_due: int) -> Figures:
    """The outstanding and arrears figures of `loans` loans owing `outstanding_satang` in all,
    each `days_past_due` days past due (one loan, or loans summed because they are as late)."""

    def over(days: int) -> int:
        return outstanding_satang if days_past_due > days else 0

    return Figures(loans=loans, outstanding_satang=outstanding_satang, arrears_satang=over(0),
                   over_30_satang=over(30), over_90_satang=over(90))  # fmt: skip


def organisation_figures(members: int, loans: Iterable[MemberLoan], months: Sequence[date], own: Figures) -> Figures:
    """An organisation's look-through: its member loans' figures summed, with its member count
    and its own margin, surplus and reserve (`own`)."""
    empty = Figures(due_satang=(0,) * len(months), collected_satang=(0,) * len(months))
    return total([empty, own, Figures(members=members), *(loan.figures(months) for loan in loans)])


def roll_up(
    lines: Iterable[tuple[object, Figures]], keys: Callable[[object], Iterable[Hashable]]
) -> dict[Hashable, Figures]:
    """Each group's figures: the sum of the lines in it. `keys` names the groups a line is in (an
    organisation is in one province, but may be in several programmes, or none)."""
    groups: dict[Hashable, Figures] = {}
    for line, figures in lines:
        for key in keys(line):
            groups[key] = groups.get(key, Figures()) + figures
    return groups


def group_keys(dimension: str) -> Callable[[Mapping], list]:
    """The groups of `dimension` an organisation (region, province, centre_id, programmes) is in:
    one region, province and centre (None: not assigned), and each of its programmes (None: none)."""

    def keys(organisation: Mapping) -> list:
        if dimension == "programme":
            return list(organisation["programmes"]) or [None]
        return [organisation["centre_id" if dimension == "centre" else dimension]]

    return keys
