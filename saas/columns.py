"""Column types shared by the models: exact money, quantities, rates, enums stored by value."""

from __future__ import annotations

import enum

from sqlalchemy import Enum, Numeric

# Prices and amounts: 18 digits with 4 decimals, read as Decimal (never float).
MONEY = Numeric(18, 4, asdecimal=True)
# Quantities (hours, pieces, kilometres).
QUANTITY = Numeric(14, 4, asdecimal=True)
# Percentages such as discounts and VAT rates: 0.00–100.00.
PERCENT = Numeric(5, 2, asdecimal=True)
# Exchange rates: 1 unit of one currency in another.
RATE = Numeric(18, 8, asdecimal=True)


def string_enum(enum_class: type[enum.Enum]) -> Enum:
    """Store an enum by its value in a VARCHAR (no database enum type to migrate)."""
    return Enum(
        enum_class, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
    )
