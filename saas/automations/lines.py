"""A template of document lines written one per row (pure).

Each row is ``quantity; product SKU or description; unit price; VAT code`` with the unit
price left empty to take the product's price from the price rules, and the VAT code left
empty to take the product's. ``#`` starts a comment row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


class LinesError(ValueError):
    """A row of the line template that cannot be read; the message names the row."""


@dataclass(frozen=True)
class LineTemplate:
    quantity: Decimal
    item: str  # a product's SKU (when one has it) or the line's description
    unit_price: Decimal | None = None
    vat_code: str = ""

    def as_settings(self) -> dict[str, Any]:
        values = asdict(self)
        values["quantity"] = str(self.quantity)
        values["unit_price"] = None if self.unit_price is None else str(self.unit_price)
        return values

    @classmethod
    def from_settings(cls, values: dict[str, Any]) -> LineTemplate:
        price = values.get("unit_price")
        return cls(quantity=Decimal(str(values["quantity"])), item=str(values["item"]),
                   unit_price=None if price in (None, "") else Decimal(str(price)),
                   vat_code=str(values.get("vat_code") or ""))


def _number(text: str, row: int, what: str) -> Decimal:
    try:
        value = Decimal(text.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise LinesError(f"Row {row}: the {what} “{text}” is not a number.") from None
    if not value.is_finite() or value < 0:
        raise LinesError(f"Row {row}: the {what} must be a positive number.")
    return value


def parse_lines(text: str) -> list[LineTemplate]:
    """Read the rows; raise LinesError naming the first row that is wrong."""
    lines = []
    for row, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in raw.split(";")]
        if len(parts) < 2 or len(parts) > 4:
            raise LinesError(f"Row {row}: write “quantity; product SKU or description;"
                             " unit price; VAT code” (the last two may be empty).")
        parts += [""] * (4 - len(parts))
        quantity = _number(parts[0], row, "quantity")
        if quantity == 0:
            raise LinesError(f"Row {row}: the quantity must be more than 0.")
        if not parts[1]:
            raise LinesError(f"Row {row}: name a product SKU or describe the line.")
        price = _number(parts[2], row, "unit price") if parts[2] else None
        lines.append(LineTemplate(quantity, parts[1], price, parts[3]))
    if not lines:
        raise LinesError("Write at least one line.")
    return lines


def format_lines(lines: list[LineTemplate]) -> str:
    """The rows again, as the form shows them."""
    return "\n".join("; ".join([str(line.quantity), line.item,
                                "" if line.unit_price is None else str(line.unit_price),
                                line.vat_code]).rstrip("; ") for line in lines)
