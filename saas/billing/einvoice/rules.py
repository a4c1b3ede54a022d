"""The EN 16931 calculation rules, checked on a UBL 2.1 invoice or credit note (pure).

``check(root)`` reads a parsed UBL document and returns the rules it breaks, each with its
rule id, as the Schematron of EN 16931 would name them:

- BR-CO-10..BR-CO-17: line sums, document allowances and charges, the tax exclusive and
  inclusive totals, the amount due, VAT per category and the VAT of each category;
- BR-CO-09: the seller's and buyer's VAT identifiers start with a country prefix;
- BR-S-08, BR-Z-08, BR-E-08, BR-AE-08, BR-K-08, BR-G-08, BR-O-08: each category's taxable
  amount is what its lines, allowances and charges add up to.

Amounts are compared as Decimals, exactly: EN 16931 gives every amount two decimals at
most, so sums are exact, and only BR-CO-17's product is rounded (half up, to two places,
or to the places the amount itself is given in when it has fewer: JPY has none).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS = {"cbc": CBC, "cac": CAC}
ZERO = Decimal(0)
VAT_PREFIX = re.compile(r"^[A-Z]{2}")
CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O", "L", "M")


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str


def _amount(node: etree._Element | None) -> Decimal:
    return ZERO if node is None or not (node.text or "").strip() else Decimal(node.text.strip())


def _one(root: etree._Element, path: str) -> etree._Element | None:
    return root.find(path, NS)


def _sum(nodes: Iterable[etree._Element]) -> Decimal:
    return sum((_amount(node) for node in nodes), ZERO)


def _lines(root: etree._Element) -> list[etree._Element]:
    return root.findall("cac:InvoiceLine", NS) + root.findall("cac:CreditNoteLine", NS)


def _document_allowances(root: etree._Element, charge: bool) -> list[etree._Element]:
    wanted = "true" if charge else "false"
    return [node for node in root.findall("cac:AllowanceCharge", NS)
            if (node.findtext("cbc:ChargeIndicator", "", NS).strip().lower() == wanted)]


def _category(node: etree._Element, path: str) -> tuple[str, Decimal | None]:
    category = node.find(path, NS)
    if category is None:
        return "", None
    percent = category.findtext("cbc:Percent", None, NS)
    return (category.findtext("cbc:ID", "", NS).strip(),
            Decimal(percent.strip()) if percent and percent.strip() else None)


def _document_tax_total(root: etree._Element) -> etree._Element | None:
    """The TaxTotal in the document's currency (BT-110): the one with the subtotals, or the
    one whose amount is in the document currency when there are two."""
    currency = root.findtext("cbc:DocumentCurrencyCode", "", NS).strip()
    totals = root.findall("cac:TaxTotal", NS)
    for total in totals:
        amount = total.find("cbc:TaxAmount", NS)
        if amount is not None and amount.get("currencyID") == currency:
            return total
    return totals[0] if totals else None


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _differs(stated: Decimal, computed: Decimal) -> bool:
    # Decimal equality ignores the exponent: 1300 and 1300.00 are the same amount.
    return stated != computed


def check(root: etree._Element) -> list[Violation]:
    """Return the calculation rules the UBL invoice or credit note breaks (none: [])."""
    violations: list[Violation] = []

    def rule(rule_id: str, broken: bool, message: str) -> None:
        if broken:
            violations.append(Violation(rule_id, message))

    totals = _one(root, "cac:LegalMonetaryTotal")
    if totals is None:
        return [Violation("BR-CO-10", "There is no LegalMonetaryTotal.")]

    def total(name: str) -> Decimal:
        return _amount(totals.find(f"cbc:{name}", NS))

    lines = _lines(root)
    line_sum = _sum(line.find("cbc:LineExtensionAmount", NS) for line in lines)
    rule("BR-CO-10", _differs(total("LineExtensionAmount"), line_sum),
         f"Sum of line net amounts is {line_sum}, the total says"
         f" {total('LineExtensionAmount')}.")

    allowances = _document_allowances(root, charge=False)
    charges = _document_allowances(root, charge=True)
    allowance_sum = _sum(node.find("cbc:Amount", NS) for node in allowances)
    charge_sum = _sum(node.find("cbc:Amount", NS) for node in charges)
    rule("BR-CO-11", _differs(total("AllowanceTotalAmount"), allowance_sum),
         f"Document allowances add up to {allowance_sum}, AllowanceTotalAmount says"
         f" {total('AllowanceTotalAmount')}.")
    rule("BR-CO-12", _differs(total("ChargeTotalAmount"), charge_sum),
         f"Document charges add up to {charge_sum}, ChargeTotalAmount says"
         f" {total('ChargeTotalAmount')}.")

    exclusive = total("LineExtensionAmount") - total("AllowanceTotalAmount") + total(
        "ChargeTotalAmount")
    rule("BR-CO-13", _differs(total("TaxExclusiveAmount"), exclusive),
         f"Total without VAT should be {exclusive}, TaxExclusiveAmount says"
         f" {total('TaxExclusiveAmount')}.")

    tax_total = _document_tax_total(root)
    vat_total = _amount(tax_total.find("cbc:TaxAmount", NS)) if tax_total is not None else ZERO
    subtotals = tax_total.findall("cac:TaxSubtotal", NS) if tax_total is not None else []
    subtotal_sum = _sum(node.find("cbc:TaxAmount", NS) for node in subtotals)
    rule("BR-CO-14", _differs(vat_total, subtotal_sum),
         f"VAT per category adds up to {subtotal_sum}, the VAT total says {vat_total}.")

    inclusive = total("TaxExclusiveAmount") + vat_total
    rule("BR-CO-15", _differs(total("TaxInclusiveAmount"), inclusive),
         f"Total with VAT should be {inclusive}, TaxInclusiveAmount says"
         f" {total('TaxInclusiveAmount')}.")

    payable = (total("TaxInclusiveAmount") - total("PrepaidAmount")
               + total("PayableRoundingAmount"))
    rule("BR-CO-16", _differs(total("PayableAmount"), payable),
         f"Amount due should be {payable}, PayableAmount says {total('PayableAmount')}.")

    for subtotal in subtotals:
        category, percent = _category(subtotal, "cac:TaxCategory")
        taxable = _amount(subtotal.find("cbc:TaxableAmount", NS))
        stated = _amount(subtotal.find("cbc:TaxAmount", NS))
        places = min(2, _places(stated))
        computed = (taxable * (percent or ZERO) / 100).quantize(
            Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        rule("BR-CO-17", _differs(stated, computed),
             f"VAT of category {category} at {percent} % on {taxable} is {computed},"
             f" the subtotal says {stated}.")
        violations.extend(_category_taxable(root, lines, category, percent, taxable))

    for party in ("cac:AccountingSupplierParty", "cac:AccountingCustomerParty"):
        for scheme in root.findall(f"{party}/cac:Party/cac:PartyTaxScheme", NS):
            if scheme.findtext("cac:TaxScheme/cbc:ID", "", NS).strip() != "VAT":
                continue
            company = scheme.findtext("cbc:CompanyID", "", NS).strip()
            rule("BR-CO-09", not VAT_PREFIX.match(company),
                 f"VAT identifier {company!r} does not start with a country prefix.")
    return violations


def _category_taxable(root: etree._Element, lines: list[etree._Element], category: str,
                      percent: Decimal | None, taxable: Decimal) -> list[Violation]:
    """BR-<category>-08: the category's taxable amount is its lines, less its allowances,
    plus its charges (at that rate)."""
    if category not in CATEGORIES:
        return []

    def same(node: etree._Element, path: str) -> bool:
        found, rate = _category(node, path)
        return found == category and (rate or ZERO) == (percent or ZERO)

    lines_sum = _sum(line.find("cbc:LineExtensionAmount", NS) for line in lines
                     if same(line, "cac:Item/cac:ClassifiedTaxCategory"))
    allowances = _sum(node.find("cbc:Amount", NS)
                      for node in _document_allowances(root, charge=False)
                      if same(node, "cac:TaxCategory"))
    charges = _sum(node.find("cbc:Amount", NS)
                   for node in _document_allowances(root, charge=True)
                   if same(node, "cac:TaxCategory"))
    expected = lines_sum - allowances + charges
    if _differs(taxable, expected):
        return [Violation(f"BR-{category}-08",
                          f"Taxable amount of category {category} at {percent} % should be"
                          f" {expected}, the subtotal says {taxable}.")]
    return []


def check_bytes(data: bytes) -> list[Violation]:
    """Parse UBL bytes and check them."""
    return check(etree.fromstring(data))
