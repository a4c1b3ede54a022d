"""Document numbers: a series' format applied to a date and a counter (pure).

A format is a template with these fields, e.g. ``INV-{yyyy}-{counter:05}``:

- ``{yyyy}`` four-digit year, ``{yy}`` two-digit year, ``{mm}`` two-digit month;
- ``{counter}`` the counter, optionally zero-padded: ``{counter:04}``.

The counter restarts every year (``yearly``), every month (``monthly``) or never. The
period key names the counter row a number is drawn from: "2026", "2026-11" or "".
"""

from __future__ import annotations

import re
import string
from datetime import date

YEARLY = "yearly"
MONTHLY = "monthly"
NEVER = "never"
RESETS = (YEARLY, MONTHLY, NEVER)

_FIELDS = {"yyyy", "yy", "mm", "counter"}
_PADDING = re.compile(r"0?[1-9]")


class BadNumberFormat(ValueError):
    """The number format cannot be used; the message says why."""


def check_format(pattern: str, reset: str) -> str:
    """Return the pattern if it makes unique numbers for the reset, else raise."""
    if reset not in RESETS:
        raise BadNumberFormat(f"reset must be one of {', '.join(RESETS)}, not {reset!r}")
    if not pattern or len(pattern) > 60:
        raise BadNumberFormat("the format must have 1 to 60 characters")
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise BadNumberFormat(f"the format has an unmatched brace: {exc}") from None
    names = []
    for _text, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in _FIELDS:
            raise BadNumberFormat(
                f"unknown field {{{name}}}: use {{yyyy}}, {{yy}}, {{mm}} and {{counter}}"
            )
        if conversion or (spec and (name != "counter" or not _PADDING.fullmatch(spec))):
            raise BadNumberFormat(f"{{{name}:{spec}}} is not allowed; pad with {{counter:05}}")
        names.append(name)
    if names.count("counter") != 1:
        raise BadNumberFormat("the format must contain {counter} exactly once")
    has_year = "yyyy" in names or "yy" in names
    if reset in (YEARLY, MONTHLY) and not has_year:
        raise BadNumberFormat(
            "a counter that restarts every year needs {yyyy} or {yy} in the format"
        )
    if reset == MONTHLY and "mm" not in names:
        raise BadNumberFormat("a counter that restarts every month needs {mm} in the format")
    return pattern


def period_key(reset: str, on: date) -> str:
    """Return the counter period a number issued on this date belongs to."""
    if reset == YEARLY:
        return f"{on.year:04d}"
    if reset == MONTHLY:
        return f"{on.year:04d}-{on.month:02d}"
    return ""


def format_number(pattern: str, on: date, counter: int) -> str:
    """Return the number for the counter value issued on the date."""
    if counter < 1:
        raise ValueError("counters start at 1")
    return pattern.format(
        yyyy=f"{on.year:04d}", yy=f"{on.year % 100:02d}", mm=f"{on.month:02d}", counter=counter
    )
