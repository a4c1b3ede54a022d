"""The arithmetic of billing rules and the stopwatch (saas/billing/work/rules.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from saas.billing.work.rules import (
    Rounding,
    format_minutes,
    hours_of,
    matching,
    minutes_of,
    parse_duration,
    rule_quantity,
)

D = Decimal
QUARTER_MIN_ONE = Rounding(D("0.25"), D(1))
STARTED_HOUR = Rounding(D(1))


@pytest.mark.parametrize(
    ("mode", "source", "fixed", "rounding", "expected"),
    [
        ("hours", D("2.1"), None, QUARTER_MIN_ONE, D("2.25")),  # started quarter
        ("hours", D("2.25"), None, QUARTER_MIN_ONE, D("2.25")),  # a whole quarter stays
        ("hours", D("0.3333"), None, QUARTER_MIN_ONE, D(1)),  # the one-hour minimum
        ("hours", D(0), None, QUARTER_MIN_ONE, D(0)),  # nothing worked bills nothing
        ("hours", D("1.01"), None, STARTED_HOUR, D(2)),  # every started hour
        ("hours", D("1.7"), None, Rounding(), D("1.7")),  # no rule: as worked
        ("fixed", D("7.5"), D(1), QUARTER_MIN_ONE, D(1)),  # whatever was worked
        ("fixed", None, D(3), Rounding(), D(3)),
        ("entered", D("12.5"), None, STARTED_HOUR, D("12.5")),  # as entered, not rounded
        ("entered", 3, None, Rounding(), D(3)),
    ],
)
def test_rule_quantity(mode, source, fixed, rounding, expected):
    assert rule_quantity(mode, source, fixed, rounding) == expected


@pytest.mark.parametrize(
    ("mode", "source", "fixed", "message"),
    [
        ("fixed", D(1), None, "fixed quantity needs a quantity above 0"),
        ("fixed", D(1), D(0), "fixed quantity needs a quantity above 0"),
        ("hours", None, None, "none was given"),
        ("entered", None, None, "none was given"),
        ("hours", D(-1), None, "cannot be negative"),
        ("hours", 1.5, None, "decimal number"),
        ("daily", D(1), None, "Unknown quantity mode"),
    ],
)
def test_rule_quantity_refuses(mode, source, fixed, message):
    with pytest.raises(ValueError, match=message):
        rule_quantity(mode, source, fixed)


@dataclass
class Rule:
    name: str
    event: str
    activity_id: int | None
    is_enabled: bool = True


RULES = [
    Rule("dev hours", "time_entry", 1),
    Rule("any time", "time_entry", None),
    Rule("travel fee", "time_entry", 2),
    Rule("closing fee", "task_closed", None),
    Rule("off", "time_entry", 1, is_enabled=False),
]


@pytest.mark.parametrize(
    ("event", "activity_id", "expected"),
    [
        ("time_entry", 1, ["dev hours", "any time"]),
        ("time_entry", 2, ["any time", "travel fee"]),
        ("time_entry", None, ["any time"]),
        ("task_closed", 1, ["closing fee"]),
        ("protocol_completed", None, []),
    ],
)
def test_matching_rules(event, activity_id, expected):
    assert [rule.name for rule in matching(RULES, event, activity_id)] == expected


@pytest.mark.parametrize(
    ("minutes", "hours"),
    [
        (60, D(1)),
        (90, D("1.5")),
        (20, D("0.3333")),
        (40, D("0.6667")),
        (1, D("0.0167")),
    ],
)
def test_hours_of(minutes, hours):
    assert hours_of(minutes) == hours


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [
        (0, 1),
        (29, 1),
        (89, 1),
        (90, 2),
        (3600, 60),
        (3629, 60),
        (3630, 61),
    ],
)
def test_minutes_of(seconds, minutes):
    assert minutes_of(seconds) == minutes


def test_format_minutes():
    assert [format_minutes(m) for m in (5, 65, 600)] == ["0:05", "1:05", "10:00"]


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("1:30", 90),
        ("0:05", 5),
        (":45", 45),
        ("1.5", 90),
        ("1,25", 75),
        ("2h", 120),
        ("1.5h", 90),
        ("90m", 90),
        ("2h15m", 135),
        (" 2h 15m ", 135),
        ("0.01", 1),
    ],
)
def test_parse_duration(text, minutes):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "abc", "1:75", "1:5", "-1", "0", "0:00", "nan", "1e3x"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)
