"""Charts drawn on the server as inline SVG (pure): the template only places what this
module measured, so the page needs no script and the figures are tested here.

Coordinates are exact decimals to one place (no float: they are computed from money).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
TENTH = Decimal("0.1")


def _place(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Segment:
    series: int  # which of the stacked series (a bucket)
    x: Decimal
    width: Decimal
    value: Decimal


@dataclass(frozen=True)
class Bar:
    label: str
    y: Decimal
    total: Decimal
    segments: tuple[Segment, ...]
    end: Decimal  # where the bar ends (its total is written after it)


@dataclass(frozen=True)
class StackedBars:
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[Decimal, Decimal], ...]  # (x, value) of the scale's marks
    axis_y: Decimal


def stacked_bars(rows: Sequence[tuple[str, Sequence[Decimal]]], *, width: int = 720,
                 label_width: int = 190, total_width: int = 110, bar_height: int = 20,
                 gap: int = 8, ticks: int = 4) -> StackedBars:
    """Horizontal bars, one per row, each stacked from its series' values (left to
    right), on one scale: the longest bar fills the plot. Values below zero count as 0."""
    plot = Decimal(width - label_width - total_width)
    largest = max((sum((max(v, ZERO) for v in values), ZERO) for _, values in rows),
                  default=ZERO)
    scale = plot / largest if largest > 0 else ZERO
    bars = []
    for index, (label, values) in enumerate(rows):
        y = Decimal(gap + index * (bar_height + gap))
        x, segments = Decimal(label_width), []
        for series, value in enumerate(values):
            value = max(value, ZERO)
            if not value:
                continue
            segment_width = _place(value * scale)
            segments.append(Segment(series, _place(x), segment_width, value))
            x += value * scale
        bars.append(Bar(label, y, sum((max(v, ZERO) for v in values), ZERO),
                        tuple(segments), _place(x)))
    axis_y = Decimal(gap + len(rows) * (bar_height + gap))
    marks = tuple((_place(label_width + plot * step / ticks), largest * step / ticks)
                  for step in range(ticks + 1)) if largest > 0 else ()
    return StackedBars(width, int(axis_y) + 24, label_width, bar_height, tuple(bars), marks,
                       axis_y)
