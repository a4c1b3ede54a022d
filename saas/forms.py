"""Form helpers shared by every package: choices, filters, validation glue."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from zoneinfo import available_timezones

import wtforms
from babel import Locale
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from saas.tenants.models import Role

COUNTRY_CODES = (
    "AT BE BG CH CY CZ DE DK EE ES FI FR GB GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO "
    "RS SE SI SK US"
).split()
CURRENCY_CODES = "EUR NOK SEK DKK PLN CZK RON RSD HUF CHF GBP USD".split()
LANGUAGES = {"en": "English", "pl": "Polski", "cs": "Čeština", "nb": "Norsk bokmål",
             "sr": "Srpski", "ro": "Română"}


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


@cache
def country_choices() -> list[SelectChoice]:
    names = Locale("en").territories
    pairs = sorted(((code, names.get(code, code)) for code in COUNTRY_CODES), key=lambda c: c[1])
    return choices(pairs)


@cache
def currency_choices() -> list[SelectChoice]:
    names = Locale("en").currencies
    return choices((code, f"{code} – {names.get(code, code)}") for code in CURRENCY_CODES)


@cache
def timezone_choices() -> list[SelectChoice]:
    zones = sorted(z for z in available_timezones() if z.startswith(("Europe/", "America/")))
    return choices([("UTC", "UTC"), *((z, z.replace("_", " ")) for z in zones)])


def role_choices(include_owner: bool = True) -> list[SelectChoice]:
    return choices((r.value, r.label) for r in Role if include_owner or r is not Role.OWNER)


def strip(value: str | None) -> str:
    return (value or "").strip()


def check(field, check, *args: str) -> None:
    """Run a validation function on the field; its ValueError becomes the field's error."""
    try:
        field.data = check(field.data, *args)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class IntegerField(wtforms.IntegerField):
    """A whole number of a sensible size: days, months, counts.

    WTForms' own reads any number of digits, and its NumberRange then fails on one too
    large for a float (an OverflowError, a 500) — and a database integer column would
    refuse far smaller ones. Past 15 digits the field says so, as it says "not a number".
    """

    MAX_DIGITS = 15

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and len(str(valuelist[0]).strip().lstrip("+-")) > self.MAX_DIGITS:
            self.data = None
            raise ValueError(self.gettext("Too large a number."))
        super().process_formdata(valuelist)
