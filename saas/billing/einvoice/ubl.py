"""Issued invoices and credit notes as UBL 2.1 following Peppol BIS Billing 3.0 (EN 16931).

``build_ubl(printable)`` turns the frozen value a PDF is printed from (the seller and buyer
snapshots, the lines, the VAT breakdown: ``documents.printable``) into the XML, with no
database; ``document_xml(document)`` does it for an issued document. Credit notes are
stored with negative quantities and totals (their lines credit); a UBL CreditNote states
the same amounts positive, so their signs are turned.

Missing Peppol data (a party with no endpoint, no VAT id, no country; no bank account to
pay to) does not stop the export: the XML carries what is known and ``peppol_warnings``
lists what a Peppol access point would refuse, for the document's page to show.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from lxml import etree

from saas.billing.documents import printable as p
from saas.billing.einvoice import peppol, rules
from saas.billing.money import quantize_money

CUSTOMIZATION_ID = ("urn:cen.eu:en16931:2017#compliant"
                    "#urn:fdc:peppol.eu:2017:poacc:billing:3.0")
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
ROOTS = {p.INVOICE: ("Invoice", "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"),
         p.CREDIT_NOTE: ("CreditNote",
                         "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2")}
TYPE_CODES = {p.INVOICE: "380", p.CREDIT_NOTE: "381"}
CREDIT_TRANSFER, SEPA_CREDIT_TRANSFER = "30", "58"
NAME_LENGTH = 100  # an item's name is short; the whole text goes in its description


class EInvoiceError(Exception):
    """The document cannot be an e-invoice (a draft, a quote, an order, a proforma)."""


def _cbc(parent: etree._Element, name: str, text: object = None,
         **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attributes)
    if text is not None:
        element.text = str(text)
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _money(value: Decimal, currency: str) -> str:
    return f"{quantize_money(value, currency):f}"


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


def _quantity(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _negated(printable: p.Printable) -> p.Printable:
    """A credit note's figures with their signs turned (UBL states them positive)."""
    return replace(
        printable,
        lines=tuple(replace(line, quantity=-line.quantity, net=-line.net)
                    for line in printable.lines),
        vat_rows=tuple(replace(row, net=-row.net, vat=-row.vat) for row in printable.vat_rows),
        net_total=-printable.net_total, vat_total=-printable.vat_total,
        gross_total=-printable.gross_total,
        vat_total_in_tenant_currency=(None if printable.vat_total_in_tenant_currency is None
                                      else -printable.vat_total_in_tenant_currency))


def _categories(printable: p.Printable) -> dict[tuple[str, Decimal], str]:
    """Each VAT code and rate of the breakdown → its EN 16931 category code."""
    return {(row.code, row.rate): peppol.category_code(row.category, row.rate)
            for row in printable.vat_rows}


def _tax_category(parent: etree._Element, name: str, code: str, rate: Decimal,
                  reason: str | None = None) -> None:
    category = _cac(parent, name)
    _cbc(category, "ID", code)
    if code != "O":  # "not subject to VAT" has no rate (BR-O-05)
        _cbc(category, "Percent", _percent(rate))
    if reason is not None:
        _cbc(category, "TaxExemptionReason", reason)
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def _address(parent: etree._Element, party: p.Party) -> None:
    address = _cac(parent, "PostalAddress")
    # The snapshot's last line is "postal code city" (a lone line is the town too).
    lines = list(party.address_lines)
    town = lines.pop() if lines else ""
    postal_zone, city = peppol.split_town(town) if town else ("", "")
    if lines:
        _cbc(address, "StreetName", lines[0])
    if len(lines) > 1:
        _cbc(address, "AdditionalStreetName", ", ".join(lines[1:]))
    if city:
        _cbc(address, "CityName", city)
    if postal_zone:
        _cbc(address, "PostalZone", postal_zone)
    if party.country:  # Peppol refuses empty elements; a missing country is a warning
        _cbc(_cac(address, "Country"), "IdentificationCode", party.country.upper())


def _party(parent: etree._Element, name: str, party: p.Party) -> None:
    element = _cac(_cac(parent, name), "Party")
    found = peppol.endpoint(party.country, party.org_number, party.vat_id, party.email)
    if found is not None:
        _cbc(element, "EndpointID", found.value, schemeID=found.scheme)
    _cbc(_cac(element, "PartyName"), "Name", party.name)
    _address(element, party)
    vat = peppol.vat_identifier(party.vat_id, party.country)
    if vat:
        scheme = _cac(element, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", vat)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.org_number:
        scheme_id = peppol.legal_scheme(party.country)
        _cbc(legal, "CompanyID", peppol.digits(party.org_number) if scheme_id
             else party.org_number, **({"schemeID": scheme_id} if scheme_id else {}))
    if party.email:
        _cbc(_cac(element, "Contact"), "ElectronicMail", party.email)


def _payment_means(root: etree._Element, printable: p.Printable) -> None:
    accounts = [a for a in printable.bank_accounts if a.iban or a.bban]
    if not accounts:
        return
    account = accounts[0]
    means = _cac(root, "PaymentMeans")
    code = SEPA_CREDIT_TRANSFER if account.iban and printable.currency == "EUR" \
        else CREDIT_TRANSFER
    _cbc(means, "PaymentMeansCode", code)
    if printable.payment_reference:
        _cbc(means, "PaymentID", printable.payment_reference)
    financial = _cac(means, "PayeeFinancialAccount")
    _cbc(financial, "ID", account.iban or account.bban)
    if account.label:
        _cbc(financial, "Name", account.label)
    if account.bic:
        _cbc(_cac(financial, "FinancialInstitutionBranch"), "ID", account.bic)


def _breakdown(printable: p.Printable) -> list[tuple[str, Decimal, Decimal, Decimal, str]]:
    """(category, rate, taxable, VAT, exemption reason) per EN 16931 category and rate."""
    groups: dict[tuple[str, Decimal], list[p.VatRow]] = {}
    for row in printable.vat_rows:
        code = peppol.category_code(row.category, row.rate)
        groups.setdefault((code, row.rate), []).append(row)
    rows = []
    for (code, rate), members in groups.items():
        reason = "; ".join(dict.fromkeys(m.note for m in members if m.note)) or (
            peppol.DEFAULT_EXEMPTION_REASONS.get(code, ""))
        rows.append((code, rate, sum((m.net for m in members), Decimal(0)),
                     sum((m.vat for m in members), Decimal(0)), reason))
    return rows


def build_ubl(printable: p.Printable) -> bytes:
    """The UBL 2.1 Invoice or CreditNote of an issued invoice or credit note, as bytes."""
    if printable.kind not in ROOTS:
        raise EInvoiceError("Only invoices and credit notes are e-invoices.")
    if not printable.number:
        raise EInvoiceError("A draft is not an e-invoice: issue it first.")
    credit = printable.kind == p.CREDIT_NOTE
    categories = _categories(printable)
    doc = _negated(printable) if credit else printable
    currency = doc.currency
    root_name, namespace = ROOTS[doc.kind]
    root = etree.Element(f"{{{namespace}}}{root_name}",
                         nsmap={None: namespace, "cac": CAC, "cbc": CBC})
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", doc.number)
    _cbc(root, "IssueDate", doc.issue_date.isoformat())
    if doc.due_date and not credit:
        _cbc(root, "DueDate", doc.due_date.isoformat())
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", TYPE_CODES[doc.kind])
    if doc.notes:
        _cbc(root, "Note", doc.notes)
    _cbc(root, "DocumentCurrencyCode", currency)
    converted = doc.vat_total_in_tenant_currency is not None and doc.tenant_currency and (
        doc.tenant_currency != currency)
    if converted:
        _cbc(root, "TaxCurrencyCode", doc.tenant_currency)
    # Peppol wants a buyer reference or an order reference (PEPPOL-EN16931-R003): the
    # buyer's customer number with the seller is what the buyer quotes back.
    _cbc(root, "BuyerReference", _buyer_reference(doc))
    if credit:
        for _label, number in doc.references[:1]:
            _cbc(_cac(_cac(root, "BillingReference"), "InvoiceDocumentReference"), "ID", number)
    _party(root, "AccountingSupplierParty", doc.seller)
    _party(root, "AccountingCustomerParty", doc.buyer)
    if doc.delivery_date:
        _cbc(_cac(root, "Delivery"), "ActualDeliveryDate", doc.delivery_date.isoformat())
    if not credit:
        _payment_means(root, doc)
        if doc.payment_terms_days is not None:
            _cbc(_cac(root, "PaymentTerms"), "Note",
                 f"Payment within {doc.payment_terms_days} days")

    tax_total = _cac(root, "TaxTotal")
    _cbc(tax_total, "TaxAmount", _money(doc.vat_total, currency), currencyID=currency)
    for code, rate, taxable, vat, reason in _breakdown(doc):
        subtotal = _cac(tax_total, "TaxSubtotal")
        _cbc(subtotal, "TaxableAmount", _money(taxable, currency), currencyID=currency)
        _cbc(subtotal, "TaxAmount", _money(vat, currency), currencyID=currency)
        _tax_category(subtotal, "TaxCategory", code, rate,
                      reason if code in peppol.NEEDS_EXEMPTION_REASON else None)
    if converted:
        _cbc(_cac(root, "TaxTotal"), "TaxAmount",
             _money(doc.vat_total_in_tenant_currency, doc.tenant_currency),
             currencyID=doc.tenant_currency)

    totals = _cac(root, "LegalMonetaryTotal")
    for name, amount in (("LineExtensionAmount", doc.net_total),
                         ("TaxExclusiveAmount", doc.net_total),
                         ("TaxInclusiveAmount", doc.gross_total),
                         ("PayableAmount", doc.gross_total)):
        _cbc(totals, name, _money(amount, currency), currencyID=currency)

    for line in doc.lines:
        _line(root, line, credit, currency, categories)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _buyer_reference(printable: p.Printable) -> str:
    return printable.extra.get("buyer_reference") or printable.number


def _line(root: etree._Element, line: p.PrintLine, credit: bool, currency: str,
          categories: dict[tuple[str, Decimal], str]) -> None:
    element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    _cbc(element, "ID", line.position)
    quantity, price = line.quantity, line.unit_price
    if quantity == 0:  # an amount-only line: one of it at its net
        quantity, price = Decimal(1), abs(line.net)
    _cbc(element, "CreditedQuantity" if credit else "InvoicedQuantity", _quantity(quantity),
         unitCode=peppol.unit_code(line.unit))
    _cbc(element, "LineExtensionAmount", _money(line.net, currency), currencyID=currency)
    item = _cac(element, "Item")
    description = " ".join(line.description.split())
    if len(description) > NAME_LENGTH or line.site:
        _cbc(item, "Description", " — ".join(x for x in (line.description, line.site) if x))
    _cbc(item, "Name", description[:NAME_LENGTH] or "Item")
    code = categories.get((line.vat_code, line.vat_rate),
                          peppol.category_code("standard", line.vat_rate))
    _tax_category(item, "ClassifiedTaxCategory", code, line.vat_rate)
    price_element = _cac(element, "Price")
    _cbc(price_element, "PriceAmount", f"{price:f}", currencyID=currency)


def peppol_warnings(printable: p.Printable) -> list[str]:
    """What a Peppol access point would miss in this document's e-invoice."""
    warnings = []
    for role, party in (("Seller", printable.seller), ("Buyer", printable.buyer)):
        found = peppol.endpoint(party.country, party.org_number, party.vat_id, party.email)
        if found is None:
            warnings.append(f"{role} has no Peppol address: no organisation number, VAT id"
                            " or e-mail to use as EndpointID.")
        elif found.scheme == peppol.EMAIL_SCHEME:
            warnings.append(f"{role}'s Peppol address is its e-mail (scheme EM): give it an"
                            " organisation number or VAT id.")
        if not party.country:
            warnings.append(f"{role} has no country.")
    if not printable.seller.vat_id:
        warnings.append("Seller has no VAT id (PartyTaxScheme).")
    categories = {peppol.category_code(row.category, row.rate) for row in printable.vat_rows}
    if "AE" in categories and not printable.buyer.vat_id:
        warnings.append("Reverse charge needs the buyer's VAT id (BR-AE-02).")
    if printable.kind == p.INVOICE and not any(
            a.iban or a.bban for a in printable.bank_accounts):
        warnings.append("No bank account to pay to (PaymentMeans): add one in Settings.")
    return warnings


def _printable_of(document: object) -> p.Printable:
    from saas.billing.documents.printing import printable  # the database side

    kind = str(getattr(document, "kind", ""))
    if kind not in ROOTS:
        raise EInvoiceError(
            f"{document.title} is not an invoice or a credit note: only those are e-invoices"
            " (a proforma, a quote or an order confirmation is not).")
    if not document.is_issued:
        raise EInvoiceError(f"{document.title} is a draft: issue it before exporting it as"
                            " an e-invoice.")
    made = printable(document)
    customer_number = (document.buyer or {}).get("customer_number")
    if customer_number:
        made = replace(made, extra={**made.extra, "buyer_reference": str(customer_number)})
    return made


def document_xml(document: object) -> bytes:
    """The issued invoice's or credit note's UBL 2.1 XML (EInvoiceError for anything else)."""
    return build_ubl(_printable_of(document))


def document_warnings(document: object) -> list[str]:
    """What the document's e-invoice lacks for Peppol ([] for a document that is no
    e-invoice)."""
    try:
        made = _printable_of(document)
    except EInvoiceError:
        return []
    # The calculation rules too: VAT codes the app keeps apart but EN 16931 groups (two
    # codes at one category and rate) can round a cent away from BR-CO-17.
    broken = rules.check(etree.fromstring(build_ubl(made)))
    return peppol_warnings(made) + [f"{v.rule}: {v.message}" for v in broken]


def filename(document: object) -> str:
    """The e-invoice's file name: the document number, made safe, with .xml."""
    return f"{(document.number or 'draft').replace('/', '-')}.xml"
