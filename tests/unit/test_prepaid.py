"""Prepaid volumes (R4.6): status, levels, consumption, and which line version applies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from saas.billing.contracts.prepaid import (
    VolumeLevel,
    consume,
    level_of,
    status_of,
    terms_for_period,
)
from saas.billing.contracts.proration import Period

D = Decimal
JANUARY = Period(date(2026, 1, 1), date(2026, 2, 1))


@pytest.mark.parametrize(("used", "left", "excess", "percent", "level"), [
    ("0", "10", "0", "0.0", VolumeLevel.OK),
    ("7.99", "2.01", "0", "79.9", VolumeLevel.OK),
    ("8", "2", "0", "80.0", VolumeLevel.ALMOST_USED),  # 80 % exactly warns
    ("10", "0", "0", "100.0", VolumeLevel.ALMOST_USED),  # all of it: no excess yet
    ("10.25", "0", "0.25", "102.5", VolumeLevel.EXCEEDED),
    ("25", "0", "15", "250.0", VolumeLevel.EXCEEDED),
])
def test_the_status_of_ten_included_hours(used, left, excess, percent, level):
    status = status_of(D("10.0000"), D(used))
    assert (status.included, status.used, status.left, status.excess, status.percent_used) == (
        D(10), D(used), D(left), D(excess), D(percent))
    assert status.level is level is level_of(D(10), D(used))
    assert status.bar_percent == min(D(percent), D(100))


def test_percentages_are_rounded_half_up_to_one_decimal():
    assert status_of(D(3), D(1)).percent_used == D("33.3")
    assert status_of(D(8), D(1)).percent_used == D("12.5")
    assert status_of(D(16), D(1)).percent_used == D("6.3")  # 6.25 → 6.3


@pytest.mark.parametrize(("before", "quantity", "within", "excess"), [
    ("0", "4", "4", "0"),
    ("8", "2", "2", "0"),  # up to all of it
    ("8", "3.5", "2", "1.5"),  # crosses the volume: split
    ("12", "1", "0", "1"),  # beyond it already: all excess
])
def test_a_use_is_split_into_volume_and_excess(before, quantity, within, excess):
    assert consume(D(10), D(before), D(quantity)) == (D(within), D(excess))


def test_floats_zero_and_negative_values_are_refused():
    with pytest.raises(TypeError):
        status_of(10.0, D(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="above 0"):
        status_of(D(0), D(1))
    with pytest.raises(ValueError, match="negative"):
        status_of(D(10), D(-1))
    with pytest.raises(ValueError, match="above 0"):
        consume(D(10), D(0), D(0))


@dataclass(frozen=True)
class Version:
    effective_from: date
    included_quantity: Decimal | None
    removed: bool = False


def test_an_annex_inside_the_period_sets_the_volume_for_all_of_it():
    history = [Version(date(2025, 6, 1), D(10)), Version(date(2026, 1, 20), D(15))]
    assert terms_for_period(history, JANUARY, date(2025, 6, 1), None) is history[1]
    december = Period(date(2025, 12, 1), date(2026, 1, 1))
    assert terms_for_period(history, december, date(2025, 6, 1), None) is history[0]


def test_a_line_removed_or_without_volume_by_the_end_keeps_the_last_volume_of_the_period():
    removed = [Version(date(2025, 6, 1), D(10)), Version(date(2026, 1, 20), D(10), True)]
    assert terms_for_period(removed, JANUARY, date(2025, 6, 1), None) is removed[0]
    february = Period(date(2026, 2, 1), date(2026, 3, 1))
    assert terms_for_period(removed, february, date(2025, 6, 1), None) is None
    plain = [Version(date(2025, 6, 1), D(10)), Version(date(2026, 1, 20), None)]
    assert terms_for_period(plain, JANUARY, date(2025, 6, 1), None) is plain[0]
    assert terms_for_period(plain, february, date(2025, 6, 1), None) is None


def test_partial_periods_keep_the_whole_volume_and_periods_outside_service_have_none():
    history = [Version(date(2026, 1, 15), D(10))]
    # Starts on the 15th, terminated on the 20th: the whole 10 for January.
    assert terms_for_period(history, JANUARY, date(2026, 1, 15), date(2026, 1, 20)) is history[0]
    december = Period(date(2025, 12, 1), date(2026, 1, 1))
    assert terms_for_period(history, december, date(2026, 1, 15), None) is None
    february = Period(date(2026, 2, 1), date(2026, 3, 1))
    assert terms_for_period(history, february, date(2026, 1, 15), date(2026, 1, 31)) is None
    # A volume from an annex after the contract ended does not apply.
    late = [Version(date(2026, 1, 1), None), Version(date(2026, 1, 25), D(5))]
    assert terms_for_period(late, JANUARY, date(2026, 1, 1), date(2026, 1, 20)) is None
    assert terms_for_period([], JANUARY, date(2026, 1, 1), None) is None
