"""Every portal route, probed by a signed-in contact with what is not its customer's (R6.1).

A contact of customer A requests each portal URL with the objects of (a) another customer
of the same company, (b) another company, and (c) another client company of the same
bureau: every answer is 404, and none of them shows the other's data. The pages that show
the signed-in customer's own account (list, statement, its PDF) are read for the others'
names. A portal route the probe does not know fails ``test_every_portal_route_is_probed``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from pypdf import PdfReader

from saas import clock
from saas.billing.customers.models import Contact
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.portal import links
from saas.portal.models import LinkPurpose, QuoteResponse
from saas.tenants import scoping
from saas.tenants.models import Tenant
from tests.factories import ContactFactory, CustomerFactory, TenantFactory, VatRateFactory
from tests.factories_bureau import bureau_with_clients
from tests.integration.test_portal import _document

PORTAL_BLUEPRINTS = ("portal", "stripe_webhook")

# Path arguments that name something a visitor may or may not see, probed with the others'.
OBJECT_ARGUMENTS = {"document_key", "token"}
# Pages that show the signed-in contact's own customer only: read for the others' data.
ACCOUNT_PAGES = {"portal.documents_list", "portal.account_statement", "portal.statement_pdf"}
# Routes that name no customer's object: signing in and out, the thank-you redirect, the
# tenant's public brand, and Stripe's signed webhooks (a forged signature is refused in
# test_stripe). The form of portal.pay names invoices: probed below.
NO_OBJECT = {
    "portal.home", "portal.request_link", "portal.sign_out", "portal.paid", "portal.logo",
    "portal.branding_css", "portal.pay", "stripe_webhook.webhook", "stripe_webhook.tenant_webhook",
}


def portal_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in PORTAL_BLUEPRINTS]


def test_every_portal_route_is_probed(app):
    """A new portal route must say here how it is probed, or this fails."""
    unknown = []
    for rule in portal_rules(app):
        arguments = rule.arguments - {"tenant_slug"}
        if arguments - OBJECT_ARGUMENTS:
            unknown.append((rule.rule, sorted(arguments - OBJECT_ARGUMENTS)))
        elif not arguments and rule.endpoint not in ACCOUNT_PAGES | NO_OBJECT:
            unknown.append((rule.rule, rule.endpoint))
    assert unknown == []
    assert {rule.endpoint for rule in portal_rules(app)} >= ACCOUNT_PAGES | NO_OBJECT


@dataclass
class Side:
    """One customer's things in one company: what another visitor must not reach."""

    tenant: Tenant
    name: str
    invoice: str = ""  # public ids
    quote: str = ""
    invoice_number: str = ""
    tokens: dict[str, str] = field(default_factory=dict)  # endpoint -> token


def _side(tenant: Tenant, name: str, contact_email: str) -> tuple[Side, int]:
    """A customer of tenant with an issued invoice and quote, a live document link and
    sign-in link; return it and its contact's id."""
    vat_id = VatRateFactory(tenant=tenant).id
    customer = CustomerFactory(tenant=tenant, name=name, language="en")
    contact = ContactFactory(tenant=tenant, customer=customer, name=f"Contact of {name}",
                             email=contact_email, portal_access=True, receives_invoices=True)
    contact_id = contact.id
    with scoping.tenant_context(tenant.id):
        invoice = _document(DocumentKind.INVOICE, customer.id, vat_id, price="7777")
        quote = _document(DocumentKind.QUOTE, customer.id, vat_id, price="6666")
        tokens = {
            "portal.open_link": links._new_link(LinkPurpose.DOCUMENT, timedelta(days=5),
                                                contact_id=contact_id, document_id=invoice.id),
            "portal.sign_in": links._new_link(LinkPurpose.SIGN_IN, timedelta(minutes=30),
                                              contact_id=contact_id),
        }
        db.session.commit()
    side = Side(tenant, name, invoice.public_id, quote.public_id, invoice.number, tokens)
    return side, contact_id


def _sign_in(client, tenant: Tenant, contact_id: int) -> None:
    with client.session_transaction() as session:
        session["portal"] = {str(tenant.id): {"contact": contact_id,
                                              "at": clock.now().timestamp()}}


def _demo_checkout_token(app, client, side: Side, contact_id: int) -> str:
    """The token of a demo checkout page, got as the side's own contact gets it: by paying."""
    _sign_in(client, side.tenant, contact_id)
    response = client.post(f"/p/{side.tenant.slug}/pay", data={"invoice": side.invoice})
    match = re.search(r"/demo-checkout/([^/?]+)$", response.location or "")
    assert match, response.location
    return match.group(1)


@dataclass
class World:
    tenant: Tenant
    own: Side
    own_contact: int
    others: dict[str, Side]  # "customer", "tenant", "bureau client"


@pytest.fixture()
def world(app, db_session, monkeypatch) -> World:
    monkeypatch.setitem(app.config, "STRIPE_DEMO", True)  # the demo checkout: no Stripe
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    bureau = bureau_with_clients(("Own Company AS", "Sibling Company AS"))
    home, sibling = bureau.clients
    own, own_contact = _side(home, "Alfa Own Customer", "anna@alfa.example")
    customer, customer_contact = _side(home, "Beta Hidden Customer", "bjorn@beta.example")
    stranger, stranger_contact = _side(TenantFactory(name="Stranger AS"),
                                       "Gamma Stranger Customer", "gina@gamma.example")
    cousin, cousin_contact = _side(sibling, "Delta Cousin Customer", "dora@delta.example")
    for side, contact in ((customer, customer_contact), (stranger, stranger_contact),
                          (cousin, cousin_contact)):
        side.tokens["portal.demo_checkout"] = _demo_checkout_token(
            app, app.test_client(), side, contact)
    own.tokens["portal.demo_checkout"] = _demo_checkout_token(
        app, app.test_client(), own, own_contact)
    return World(home, own, own_contact,
                 {"customer": customer, "tenant": stranger, "bureau client": cousin})


def _url(rule, slug: str, side: Side) -> str:
    key = side.quote if rule.endpoint in ("portal.accept", "portal.decline") else side.invoice
    values = {"tenant_slug": slug, "document_key": key,
              "token": side.tokens.get(rule.endpoint, "")}
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def _shown_text(response) -> str:
    if response.mimetype == "application/pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    return response.get_data(as_text=True)


def test_a_contact_gets_404_for_every_object_of_others_on_every_portal_route(
    app, client, world
):
    _sign_in(client, world.tenant, world.own_contact)
    slug = world.tenant.slug
    object_rules = [rule for rule in portal_rules(app) if rule.arguments & OBJECT_ARGUMENTS]
    assert {rule.endpoint for rule in object_rules} >= {
        "portal.document", "portal.pdf", "portal.accept", "portal.decline",
        "portal.open_link", "portal.sign_in", "portal.demo_checkout"}

    # The probe can fail: the contact's own objects open on the GET routes. (Its own
    # sign-in and document links are left unused: they would change the session.)
    for rule in object_rules:
        if rule.endpoint in ("portal.document", "portal.pdf", "portal.demo_checkout"):
            assert client.get(_url(rule, slug, world.own)).status_code == 200, rule.rule

    probes = []
    for who, side in world.others.items():
        for rule in object_rules:
            if "token" in rule.arguments and who == "customer":
                # A link is its holder's key, by design: a forwarded e-mail's link opens
                # its one document for whoever holds it (test_portal). Its token is
                # another company's or bureau client's below.
                continue
            url = _url(rule, slug, side)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={"name": "Anna"})
                text = _shown_text(response)
                leaked = side.name in text or side.invoice_number in text and who == "customer"
                if response.status_code != 404 or leaked:
                    probes.append((who, method, rule.rule, response.status_code, leaked))
    assert probes == []
    # Nothing was answered on the others' behalf: their quotes are still open.
    for side in world.others.values():
        with scoping.tenant_context(side.tenant.id):
            assert db.session.query(QuoteResponse).count() == 0


def test_the_account_pages_show_only_the_contacts_own_customer(app, client, world):
    _sign_in(client, world.tenant, world.own_contact)
    for rule in portal_rules(app):
        if rule.endpoint not in ACCOUNT_PAGES:
            continue
        response = client.get(_url(rule, world.tenant.slug, world.own))
        assert response.status_code == 200, rule.rule
        text = _shown_text(response)
        assert world.own.invoice_number in text, rule.rule  # the page is the customer's own
        leaks = [side.name for side in world.others.values() if side.name in text]
        assert leaks == [], rule.rule
        assert world.others["customer"].invoice_number not in text, rule.rule


def test_paying_another_customers_invoice_is_refused_without_a_checkout(app, client, world):
    """The pay form names invoices by public id: the others' are refused, with the one
    message a paid invoice gets too (it does not tell whether the invoice exists)."""
    _sign_in(client, world.tenant, world.own_contact)
    for who, side in world.others.items():
        for chosen in ([side.invoice], [world.own.invoice, side.invoice]):
            response = client.post(f"/p/{world.tenant.slug}/pay", data={"invoice": chosen})
            assert response.status_code == 302, who
            assert response.location.endswith(f"/p/{world.tenant.slug}/documents"), who
            page = client.get(response.location).get_data(as_text=True)
            assert "is paid already or is not yours" in page, who
            assert side.name not in page
    own = client.post(f"/p/{world.tenant.slug}/pay", data={"invoice": [world.own.invoice]})
    assert "/demo-checkout/" in own.location  # the refusal was about the others' invoices


def test_another_companys_contact_session_does_not_open_this_portal(app, client, world):
    """A portal session naming a contact of the bureau's other client is nobody here, even
    when that contact is in the session's identity map already (which the tenant filter
    of queries does not see)."""
    cousin = world.others["bureau client"]
    with scoping.tenant_context(cousin.tenant.id):
        cousin_contact = db.session.query(Contact).filter_by(email="dora@delta.example").one()
    with client.session_transaction() as session:  # the cousin's contact id, in this tenant
        session["portal"] = {str(world.tenant.id): {"contact": cousin_contact.id,
                                                    "at": clock.now().timestamp()}}
    response = client.get(f"/p/{world.tenant.slug}/documents")
    assert response.status_code == 302 and response.location.endswith(f"/p/{world.tenant.slug}/")
    assert client.get(f"/p/{world.tenant.slug}/documents/{cousin.invoice}").status_code == 302

