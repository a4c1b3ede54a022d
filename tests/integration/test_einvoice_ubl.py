"""Issued invoices and credit notes as UBL 2.1 e-invoices (Peppol BIS Billing 3.0): valid
against the UBL 2.1 schema, keeping the EN 16931 calculation rules, shaped like the
official Peppol examples, reachable from the document page and refused for drafts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import select

from saas.billing.catalog.models import VatCategory
from saas.billing.customers.models import Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.einvoice import ubl
from saas.billing.einvoice.rules import NS, check
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.books import issue_credit_note
from tests.factories import (
    BankAccountFactory,
    CustomerFactory,
    ExchangeRateFactory,
    TenantFactory,
    VatRateFactory,
    member,
)

PEPPOL = Path(__file__).resolve().parent.parent / "samples" / "peppol"
SCHEMAS = PEPPOL / "ubl-2.1-xsdrt" / "maindoc"
K = DocumentKind
D = Decimal
ISSUED = date(2026, 10, 15)


@pytest.fixture(scope="module")
def schemas():
    return {"Invoice": etree.XMLSchema(etree.parse(str(SCHEMAS / "UBL-Invoice-2.1.xsd"))),
            "CreditNote": etree.XMLSchema(etree.parse(str(SCHEMAS / "UBL-CreditNote-2.1.xsd")))}


def _issue(customer: Customer, lines: list[tuple[str, str, str, int]]) -> Document:
    document = services.create_document(K.INVOICE, customer)
    for description, quantity, price, vat_id in lines:
        services.add_line(document, {"description": description, "quantity": D(quantity),
                                     "unit_price": D(price), "vat_rate_id": vat_id,
                                     "unit": "h"})
    issuing.issue_document(document, on=ISSUED, render=False)
    return document


@pytest.fixture()
def documents(db_session):
    """A Norwegian seller with an IBAN; invoices at two rates, zero-rated and exempt, reverse
    charge in euros to a Belgian buyer; a credit note; a draft; a proforma."""
    tenant = TenantFactory(name="Nordlys Service AS", country="NO", currency="NOK",
                           org_number="923609016", vat_id="NO923609016MVA",
                           address_line1="Storgata 1", postal_code="0155", city="Oslo")
    BankAccountFactory(tenant=tenant, is_default=True)
    with scoping.tenant_context(tenant.id):
        standard = VatRateFactory(tenant=tenant, code="S25", rate=D("25.00")).id
        food = VatRateFactory(tenant=tenant, code="S15", rate=D("15.00"),
                              category=VatCategory.REDUCED).id
        zero = VatRateFactory(tenant=tenant, code="Z0", rate=D("0"),
                              category=VatCategory.ZERO).id
        exempt = VatRateFactory(tenant=tenant, code="E0", rate=D("0"),
                                category=VatCategory.EXEMPT,
                                note="Exempt: financial services (merverdiavgiftsloven § 3-6)").id
        reverse = VatRateFactory(tenant=tenant, code="AE", rate=D("0"),
                                 category=VatCategory.REVERSE_CHARGE,
                                 note="Reverse charge: the buyer accounts for the VAT").id
        ExchangeRateFactory(tenant=tenant, base_currency="EUR", quote_currency="NOK",
                            valid_on=date(2026, 10, 1), rate=D("11.7311"))
        fjord = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS", org_number="987654325",
                                vat_id="NO987654325MVA", address_line1="Kaia 2",
                                postal_code="5003", city="Bergen")
        brussels = CustomerFactory(tenant=tenant, name="Atomium Consulting SA", country="BE",
                                   currency="EUR", vat_id="BE0123456749",
                                   address_line1="Rue Neuve 12", postal_code="1000",
                                   city="Bruxelles")
        fjord, brussels = (db.session.get(Customer, c.id) for c in (fjord, brussels))
        two_rates = _issue(fjord, [("Guarding, October", "10", "450.00", standard),
                                   ("Catering for the night shift", "3", "199.90", food),
                                   ("Alarm check", "1.5", "333.33", standard)])
        exempt_zero = _issue(fjord, [("Newspaper subscription", "12", "49.00", zero),
                                     ("Insurance handling fee", "1", "250.00", exempt)])
        reverse_eur = _issue(brussels, [("Remote monitoring", "20", "85.50", reverse)])
        credit = issue_credit_note(two_rates, ISSUED)
        draft = services.create_document(K.INVOICE, fjord)
        services.add_line(draft, {"description": "Draft", "quantity": D(1),
                                  "unit_price": D(10), "vat_rate_id": standard})
        proforma = services.create_document(K.PROFORMA, fjord)
        services.add_line(proforma, {"description": "Advance", "quantity": D(1),
                                     "unit_price": D(10), "vat_rate_id": standard})
        issuing.issue_document(proforma, on=ISSUED, render=False)
        db.session.commit()
        ids = {"two_rates": two_rates.id, "exempt_zero": exempt_zero.id,
               "reverse_eur": reverse_eur.id, "credit": credit.id, "draft": draft.id,
               "proforma": proforma.id}
    return {"tenant": tenant, **ids}


def xml_of(documents, key: str) -> etree._Element:
    with scoping.tenant_context(documents["tenant"].id):
        return etree.fromstring(ubl.document_xml(db.session.get(Document, documents[key])))


EXPORTED = ("two_rates", "exempt_zero", "reverse_eur", "credit")


@pytest.mark.parametrize("key", EXPORTED)
def test_the_export_is_valid_ubl_21(documents, schemas, key):
    root = xml_of(documents, key)
    schema = schemas[etree.QName(root).localname]
    assert schema.validate(root), schema.error_log


@pytest.mark.parametrize("key", EXPORTED)
def test_the_export_keeps_the_en16931_calculation_rules(documents, key):
    assert check(xml_of(documents, key)) == []


@pytest.mark.parametrize("key", EXPORTED)
def test_the_export_has_no_empty_elements(documents, key):
    # Peppol refuses them (PEPPOL-EN16931-R008).
    root = xml_of(documents, key)
    empty = [root.getroottree().getpath(e) for e in root.iter()
             if len(e) == 0 and not (e.text or "").strip()]
    assert empty == []


def text(root: etree._Element, path: str) -> str:
    return root.findtext(path, namespaces=NS)


def test_two_rates_give_two_standard_subtotals_and_the_stored_totals(documents):
    root = xml_of(documents, "two_rates")
    subtotals = {(text(s, "cac:TaxCategory/cbc:ID"), text(s, "cac:TaxCategory/cbc:Percent")):
                 (D(text(s, "cbc:TaxableAmount")), D(text(s, "cbc:TaxAmount")))
                 for s in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)}
    # 10 × 450.00 + 1.5 × 333.33 = 4500.00 + 500.00 (499.995 half up); 3 × 199.90 = 599.70
    assert subtotals == {("S", "25"): (D("5000.00"), D("1250.00")),
                         ("S", "15"): (D("599.70"), D("89.96"))}
    with scoping.tenant_context(documents["tenant"].id):
        stored = db.session.get(Document, documents["two_rates"])
        assert D(text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")) == stored.gross_total
    assert text(root, "cbc:InvoiceTypeCode") == "380"
    assert text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == "NO9386011117947"
    assert text(root, "cac:PaymentMeans/cbc:PaymentID") == stored.payment_reference
    seller = root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", NS)
    assert (seller.get("schemeID"), seller.text) == ("0192", "923609016")


def test_zero_rated_and_exempt_lines_have_their_categories_and_the_exemption_reason(documents):
    root = xml_of(documents, "exempt_zero")
    categories = {text(s, "cac:TaxCategory/cbc:ID"): s
                  for s in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)}
    assert set(categories) == {"Z", "E"}
    assert text(categories["E"], "cac:TaxCategory/cbc:TaxExemptionReason").startswith("Exempt:")
    assert categories["Z"].find("cac:TaxCategory/cbc:TaxExemptionReason", NS) is None
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "0.00"


def test_reverse_charge_in_euros_states_the_vat_in_the_sellers_currency_too(documents):
    root = xml_of(documents, "reverse_eur")
    assert text(root, "cbc:DocumentCurrencyCode") == "EUR"
    assert text(root, "cbc:TaxCurrencyCode") == "NOK"
    [in_euros, in_kroner] = root.findall("cac:TaxTotal", NS)
    assert in_euros.find("cbc:TaxAmount", NS).get("currencyID") == "EUR"
    kroner = in_kroner.find("cbc:TaxAmount", NS)
    assert (kroner.get("currencyID"), kroner.text) == ("NOK", "0.00")
    assert text(in_euros, "cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == "AE"
    assert text(in_euros, "cac:TaxSubtotal/cbc:TaxableAmount") == "1710.00"
    buyer = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert (buyer.get("schemeID"), buyer.text) == ("0208", "0123456749")


def test_a_credit_note_is_a_positive_creditnote_referring_to_its_invoice(documents):
    root = xml_of(documents, "credit")
    assert etree.QName(root).localname == "CreditNote"
    assert text(root, "cbc:CreditNoteTypeCode") == "381"
    with scoping.tenant_context(documents["tenant"].id):
        invoice = db.session.get(Document, documents["two_rates"])
        note = db.session.get(Document, documents["credit"])
        assert text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == (
            invoice.number)
        assert D(text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")) == -note.gross_total
    assert all(D(q.text) > 0 for q in root.iterfind("cac:CreditNoteLine/cbc:CreditedQuantity",
                                                    NS))


def _paths(element: etree._Element, prefix: str = "") -> list[str]:
    """The element paths below element in document order, e.g. cac:TaxTotal/cbc:TaxAmount."""
    found = []
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments
        qname = etree.QName(child)
        name = f"{'cbc' if qname.namespace.endswith('BasicComponents-2') else 'cac'}:" \
               f"{qname.localname}"
        path = f"{prefix}/{name}" if prefix else name
        found.append(path)
        found.extend(_paths(child, path))
    return list(dict.fromkeys(found))


# What Peppol BIS 3.0 makes mandatory (or this app always states) of the examples' header,
# parties, payment, totals and lines.
MANDATORY = {
    "Invoice": ("cbc:CustomizationID", "cbc:ProfileID", "cbc:ID", "cbc:IssueDate",
                "cbc:DueDate", "cbc:InvoiceTypeCode", "cbc:DocumentCurrencyCode",
                "cbc:BuyerReference"),
    "CreditNote": ("cbc:CustomizationID", "cbc:ProfileID", "cbc:ID", "cbc:IssueDate",
                   "cbc:CreditNoteTypeCode", "cbc:DocumentCurrencyCode", "cbc:BuyerReference",
                   "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
}
PARTY = ("cbc:EndpointID", "cac:PartyName/cbc:Name", "cac:PostalAddress/cbc:StreetName",
         "cac:PostalAddress/cbc:CityName", "cac:PostalAddress/cbc:PostalZone",
         "cac:PostalAddress/cac:Country/cbc:IdentificationCode",
         "cac:PartyTaxScheme/cbc:CompanyID", "cac:PartyTaxScheme/cac:TaxScheme/cbc:ID",
         "cac:PartyLegalEntity/cbc:RegistrationName")
TOTALS = ("cac:TaxTotal/cbc:TaxAmount", "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount",
          "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount",
          "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID",
          "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent",
          "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cac:TaxScheme/cbc:ID",
          "cac:LegalMonetaryTotal/cbc:LineExtensionAmount",
          "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount",
          "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
          "cac:LegalMonetaryTotal/cbc:PayableAmount")
LINE = ("cbc:ID", "cbc:{quantity}", "cbc:LineExtensionAmount", "cac:Item/cbc:Name",
        "cac:Item/cac:ClassifiedTaxCategory/cbc:ID",
        "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent",
        "cac:Item/cac:ClassifiedTaxCategory/cac:TaxScheme/cbc:ID", "cac:Price/cbc:PriceAmount")
PAYMENT = ("cac:PaymentMeans/cbc:PaymentMeansCode", "cac:PaymentMeans/cbc:PaymentID",
           "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")


def mandatory_paths(root_name: str) -> list[str]:
    line, quantity = (("cac:InvoiceLine", "InvoicedQuantity") if root_name == "Invoice"
                      else ("cac:CreditNoteLine", "CreditedQuantity"))
    return [*MANDATORY[root_name],
            *(f"cac:AccountingSupplierParty/cac:Party/{p}" for p in PARTY),
            *(f"cac:AccountingCustomerParty/cac:Party/{p}" for p in PARTY),
            *(PAYMENT if root_name == "Invoice" else ()), *TOTALS,
            *(f"{line}/{p.format(quantity=quantity)}" for p in LINE)]


@pytest.mark.parametrize(("key", "example"), [
    ("two_rates", "base-example.xml"), ("exempt_zero", "base-example.xml"),
    ("reverse_eur", "base-example.xml"), ("credit", "base-creditnote-correction.xml")])
def test_the_export_has_the_official_examples_mandatory_structure_in_their_order(
        documents, key, example):
    official = etree.parse(str(PEPPOL / example)).getroot()
    ours = xml_of(documents, key)
    wanted = mandatory_paths(etree.QName(official).localname)
    official_paths, our_paths = _paths(official), _paths(ours)
    # The list is the examples' own: every path in it is in the official example ...
    assert [p for p in wanted if p not in official_paths] == []
    # ... and in ours, in the same order as there.
    assert [p for p in wanted if p not in our_paths] == []
    assert sorted(wanted, key=our_paths.index) == sorted(wanted, key=official_paths.index)


def test_an_exempt_category_states_its_reason_where_the_official_example_does(documents):
    official = _paths(etree.parse(str(PEPPOL / "Allowance-example.xml")).getroot())
    reason = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason"
    assert reason in official and reason in _paths(xml_of(documents, "exempt_zero"))


def test_the_document_page_links_the_e_invoice_and_serves_it_as_xml(documents, make_client):
    client = make_client(member(documents["tenant"], Role.STAFF))
    slug = documents["tenant"].slug
    page = client.get(f"/t/{slug}/documents/{documents['two_rates']}")
    assert f'/t/{slug}/documents/{documents["two_rates"]}/ubl' in page.text
    assert "Download e-invoice (UBL)" in page.text
    assert 'id="einvoice-warnings"' not in page.text  # nothing is missing for Peppol
    answer = client.get(f"/t/{slug}/documents/{documents['two_rates']}/ubl")
    assert answer.status_code == 200 and answer.mimetype == "application/xml"
    with scoping.tenant_context(documents["tenant"].id):
        number = db.session.get(Document, documents["two_rates"]).number
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{number}.xml"'
    assert etree.fromstring(answer.data).findtext("cbc:ID", namespaces=NS) == number


@pytest.mark.parametrize(("key", "message"), [
    ("draft", "is a draft: issue it before exporting it as an e-invoice"),
    ("proforma", "is not an invoice or a credit note"),
])
def test_a_draft_or_a_proforma_is_refused_with_a_clear_message(documents, make_client, key,
                                                                message):
    client = make_client(member(documents["tenant"], Role.STAFF))
    slug = documents["tenant"].slug
    answer = client.get(f"/t/{slug}/documents/{documents[key]}/ubl", follow_redirects=True)
    assert answer.mimetype == "text/html" and message in answer.text


def test_missing_peppol_data_is_exported_and_listed_on_the_page(documents, make_client):
    tenant = documents["tenant"]
    with scoping.tenant_context(tenant.id):
        vat = VatRateFactory(tenant=tenant, code="S25B", rate=D("25.00")).id
        nobody = db.session.get(Customer, CustomerFactory(tenant=tenant, country="US",
                                                          currency="NOK").id)
        invoice = _issue(nobody, [("Consulting", "1", "100.00", vat)])
        db.session.commit()
        xml = etree.fromstring(ubl.document_xml(invoice))
        invoice_id = invoice.id
    assert xml.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS) is None
    page = make_client(member(tenant, Role.STAFF)).get(
        f"/t/{tenant.slug}/documents/{invoice_id}")
    assert "Buyer has no Peppol address" in page.text


def test_two_vat_codes_at_one_rate_that_round_apart_are_warned_about(documents):
    tenant = documents["tenant"]
    with scoping.tenant_context(tenant.id):
        first = VatRateFactory(tenant=tenant, code="S25X", rate=D("25.00")).id
        second = VatRateFactory(tenant=tenant, code="S25Y", rate=D("25.00")).id
        fjord = db.session.scalar(select(Customer).where(Customer.name == "Fjord Bakeri AS"))
        # 0.02 at 25 % is 0.005 → 0.01 per code, 0.02 together; EN 16931 wants 0.04 → 0.01.
        invoice = _issue(fjord, [("Stamp", "1", "0.02", first), ("Stamp", "1", "0.02", second)])
        assert [w.split(":")[0] for w in ubl.document_warnings(invoice)] == ["BR-CO-17"]


def test_the_ubl_command_writes_the_xml(app, documents, tmp_path):
    with scoping.tenant_context(documents["tenant"].id):
        number = db.session.get(Document, documents["credit"]).number
    out = tmp_path / "note.xml"
    result = CliRunner().invoke(app.cli, ["exports", "ubl", "--tenant",
                                          documents["tenant"].slug, "--out", str(out), number],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert etree.fromstring(out.read_bytes()).findtext("cbc:ID", namespaces=NS) == number


def test_an_unknown_number_is_refused_by_the_command(app, documents):
    result = CliRunner().invoke(app.cli, ["exports", "ubl", "--tenant",
                                          documents["tenant"].slug, "NOPE-1"])
    assert result.exit_code == 2 and "No invoice or credit note is numbered 'NOPE-1'" in (
        result.output)


