"""Labels and locale formatting for printed documents (pure: no Flask, no database).

The labels are English msgids translated by Babel message catalogues in
``saas/translations/<language>/LC_MESSAGES/messages.po``. The .po files are the only
source: they are compiled in memory the first time a language is used (``read_po`` then
``write_mo``), so a fresh checkout needs no ``pybabel compile`` step. English needs no
catalogue; an unknown language falls back to English.

Numbers, dates, money and percentages are formatted with babel (CLDR) for the language's
locale: Polish prints ``1 234,56 zł`` (with a no-break space), Serbian ``1.234,56``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, cached_property
from gettext import NullTranslations
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, format_currency, format_percent, parse_pattern
from babel.support import Translations

from saas.billing import money

DEFAULT_LANGUAGE = "en"
# The document language (as stored on customers and documents) -> the CLDR locale.
LOCALES: dict[str, str] = {
    "en": "en_GB",
    "pl": "pl_PL",
    "cs": "cs_CZ",
    "nb": "nb_NO",
    "sr": "sr_Latn_RS",  # Serbian in Latin script
    "ro": "ro_RO",
}
TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "translations"
DOMAIN = "messages"


def language_of(language: str | None) -> str:
    """The supported language for a code ("pl", "pl-PL", "nb_NO" ...), else English."""
    code = (language or "").strip().replace("-", "_").split("_")[0].lower()
    if code == "no":  # Norwegian without a written standard: Bokmål
        code = "nb"
    return code if code in LOCALES else DEFAULT_LANGUAGE


def catalogue_path(language: str) -> Path:
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of a language (NullTranslations for English)."""
    language = language_of(language)
    path = catalogue_path(language)
    if language == DEFAULT_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=LOCALES[language], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


@cache
def _pattern(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)


def _decimals_pattern(minimum: int, maximum: int) -> str:
    if maximum <= 0:
        return "#,##0"
    return "#,##0." + "0" * minimum + "#" * (maximum - minimum)


@dataclass(frozen=True)
class Formatter:
    """Translate labels and format values for one document language."""

    language: str

    @classmethod
    def for_language(cls, language: str | None) -> Formatter:
        return _formatter(language_of(language))

    @cached_property
    def locale_name(self) -> str:
        return LOCALES[self.language]

    @cached_property
    def locale(self) -> Locale:
        return Locale.parse(self.locale_name)

    @cached_property
    def _translations(self) -> NullTranslations:
        return translations(self.language)

    # Labels.
    def gettext(self, message: str, **values: object) -> str:
        text = self._translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    # Values.
    def date(self, value: date | None) -> str:
        return format_date(value, "medium", locale=self.locale) if value else ""

    def money(self, amount: Decimal, currency: str) -> str:
        """An amount with its currency sign, to the currency's minor unit: 1 234,56 zł."""
        return format_currency(amount, currency, locale=self.locale)

    def amount(self, amount: Decimal, currency: str) -> str:
        """An amount without a currency sign, to the currency's minor unit: 1 234,56."""
        places = money.minor_unit_exponent(currency)
        return _pattern(_decimals_pattern(places, places)).apply(amount, self.locale)

    def unit_price(self, amount: Decimal, currency: str) -> str:
        """A unit price: the currency's decimals, up to 4 when it has more (0,1250 -> 0,125)."""
        places = money.minor_unit_exponent(currency)
        pattern = _decimals_pattern(places, max(places, money.UNIT_PRICE_PLACES))
        return _pattern(pattern).apply(amount, self.locale)

    def quantity(self, value: Decimal) -> str:
        """A quantity with the decimals it has, and no trailing zeros: 2,5 or 1 000."""
        return _pattern("#,##0.######").apply(value, self.locale)

    def percent(self, rate: Decimal) -> str:
        """A rate given in percent (25, 12.5) the locale's way: 25 %, 12,5%."""
        fraction = (Decimal(rate) / 100).normalize()
        return format_percent(fraction, locale=self.locale, decimal_quantization=False)

    def rate(self, value: Decimal) -> str:
        """An exchange rate with the decimals it has (at least 2)."""
        return _pattern("#,##0.00########").apply(value, self.locale)

    def country(self, code: str) -> str:
        """A country's name in the document language, or the code when it is unknown."""
        code = (code or "").strip().upper()
        return self.locale.territories.get(code, code) if code else ""


@cache
def _formatter(language: str) -> Formatter:
    return Formatter(language)
