"""Line amounts, the VAT breakdown and document totals (pure: no Flask, no database).

The rule (DESIGN.md, "Money and documents"): each line's net is quantity × unit price,
rounded once to the currency's minor unit, half up. Lines are summed per VAT rate; each
rate's VAT is computed once on that rate's net sum and rounded the same way (the way the
EU VAT directive and EN 16931 compute it: VAT per rate, not per line). The document's net
is the sum of the rows' nets, its VAT the sum of the rows' VAT, and gross their sum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from saas.billing.money import as_decimal, exact_product, quantize_money

HUNDRED = Decimal(100)


@dataclass(frozen=True, kw_only=True)
class TaxedLine:
    """What the breakdown needs of one line."""

    net: Decimal  # already rounded with line_net()
    vat_code: str
    vat_rate: Decimal  # percent
    vat_category: str = "standard"
    vat_note: str = ""


@dataclass(frozen=True, kw_only=True)
class VatRow:
    code: str
    rate: Decimal
    category: str
    note: str
    net: Decimal
    vat: Decimal


@dataclass(frozen=True, kw_only=True)
class Totals:
    rows: tuple[VatRow, ...]
    net: Decimal
    vat: Decimal
    gross: Decimal


def line_net(quantity: Decimal, unit_price: Decimal, currency: str) -> Decimal:
    """Return quantity × unit price rounded half up to the currency's minor unit."""
    return quantize_money(
        exact_product(as_decimal(quantity, "quantity"), as_decimal(unit_price, "price")),
        currency,
    )


def vat_amount(net: Decimal, rate: Decimal, currency: str) -> Decimal:
    """Return the VAT on a net amount at a percentage, rounded half up once."""
    return quantize_money(_percent_of(exact_product(net, rate)), currency)


def _percent_of(amount: Decimal | Fraction) -> Decimal | Fraction:
    """amount / 100, exactly (a Decimal only moves its point)."""
    return amount.scaleb(-2) if isinstance(amount, Decimal) else amount / 100


def totals(lines: Iterable[TaxedLine], currency: str) -> Totals:
    """Group lines by VAT code and rate; VAT once per group; rows in code order."""
    groups: dict[tuple[str, Decimal], list[TaxedLine]] = {}
    for line in lines:
        groups.setdefault((line.vat_code, as_decimal(line.vat_rate, "VAT rate")), []).append(line)
    rows = []
    for (code, rate), members in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1])):
        net = sum((as_decimal(m.net) for m in members), Decimal(0))
        net = quantize_money(net, currency)
        rows.append(
            VatRow(
                code=code,
                rate=rate,
                category=members[0].vat_category,
                note=members[0].vat_note,
                net=net,
                vat=vat_amount(net, rate, currency),
            )
        )
    zero = quantize_money(0, currency)
    net_total = sum((row.net for row in rows), zero)
    vat_total = sum((row.vat for row in rows), zero)
    return Totals(rows=tuple(rows), net=net_total, vat=vat_total, gross=net_total + vat_total)
