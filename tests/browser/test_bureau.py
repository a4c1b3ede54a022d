"""A bureau's staff member, in the browser: the queue across three clients, an invoice issued
and e-mailed in one client's name under the banner, then one print run across clients."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from saas.billing.customers import services as customers
from saas.billing.customers.models import DeliveryPreference
from saas.billing.documents import issuing
from saas.billing.documents import services as documents
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.outsourced_service import clients
from saas.tenants import scoping, services
from saas.tenants.models import AuditEntry, BankAccount, BureauMode, Role, TenantKind
from tests.browser.conftest import sign_in, unique
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _client_with_work(client, *, post: bool) -> int:
    """A customer (by e-mail, or by post) and a draft invoice for it; the draft's id."""
    from saas.billing.catalog import services as catalog
    from saas.billing.catalog.models import VatCategory

    with scoping.tenant_context(client.id):
        db.session.add(BankAccount(iban="NO9386011117947", bic="DNBANOKKXXX", currency="NOK",
                                   label="Main", is_default=True))
        vat = catalog.create_vat_rate({"code": "S25", "name": "Standard", "rate": Decimal(25),
                                       "category": VatCategory.STANDARD, "note": ""})
        customer = customers.create_customer({
            "name": unique("Kunde AS"), "country": "NO", "currency": "NOK", "city": "Bergen",
            "address_line1": "Kundeveien 2",
            "delivery_preference": DeliveryPreference.POST if post else DeliveryPreference.EMAIL})
        customers.add_contact(customer, {"name": "Kari", "email": "kari@kunde.example",
                                         "receives_invoices": True})
        draft = documents.create_document(DocumentKind.INVOICE, customer)
        documents.add_line(draft, {"description": "Rådgivning", "quantity": Decimal(2),
                                   "unit_price": Decimal(750), "vat_rate_id": vat.id})
        db.session.flush()
        if post:
            issuing.issue_document(draft)
        db.session.commit()
        return draft.id


def _bureau(app) -> dict:
    """A bureau, three client companies it set up, and an accountant of the bureau assigned
    to two of them; committed through the services."""
    with app.app_context():
        bureau, admin = services.sign_up(
            unique("Biuro"), f"admin-{uuid.uuid4().hex[:10]}@x.example", "Bureau Admin",
            PASSWORD, country="PL", currency="PLN", kind=TenantKind.BUREAU)
        email = f"staff-{uuid.uuid4().hex[:10]}@x.example"
        staff = services.create_user(email, unique("Staff"), PASSWORD)
        services.add_member(bureau, staff, Role.ACCOUNTANT)
        made = [clients.onboard_client(
            bureau, {"name": unique(name), "country": "NO", "currency": "NOK", "locale": "en",
                     "timezone": "Europe/Oslo", "address_line1": "Gata 1", "postal_code": "0150",
                     "city": "Oslo"}, mode=BureauMode.OPERATED, user=admin)
            for name in ("Alfa AS", "Beta AS", "Gamma AS")]
        with scoping.tenant_context(bureau.id):
            for client in made[:2]:
                clients.set_assignments(clients.open_link(client.id), [staff.id],
                                        user_id=admin.id)
        db.session.commit()
        alfa, beta, gamma = made
        setup = {"bureau": bureau.slug, "bureau_id": bureau.id, "email": email,
                 "staff_id": staff.id, "alfa": (alfa.id, alfa.slug, alfa.name),
                 "beta": (beta.id, beta.slug, beta.name), "gamma": gamma.name}
        setup["draft"] = _client_with_work(alfa, post=False)
        _client_with_work(beta, post=True)
        return setup


def test_a_staff_member_issues_in_a_clients_name_and_prints_across_clients(
    browser_page, live_app, live_server
):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    setup = _bureau(live_app)
    alfa_id, alfa_slug, alfa_name = setup["alfa"]
    beta_name = setup["beta"][2]

    sign_in(page, setup["email"], PASSWORD)
    expect(page).to_have_url(f"{live_server}/t/{setup['bureau']}/bureau/")
    queue = page.locator("#work-queue")
    expect(queue).to_contain_text(alfa_name)
    expect(queue).to_contain_text(beta_name)
    expect(queue).not_to_contain_text(setup["gamma"])
    expect(page.locator(f"#queue-{setup['beta'][1]} .queue-post")).to_contain_text("1 waiting")

    page.locator(f"#queue-{alfa_slug} .queue-drafts").get_by_role("link",
                                                                   name="1 invoice").click()
    banner = page.locator("#acting-banner")
    expect(banner).to_contain_text(f"Working in the name of {alfa_name}")
    page.locator("#document-results").get_by_role("link", name="Draft", exact=True).click()
    expect(banner).to_be_visible()  # on every page
    page.get_by_role("button", name="Issue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-")
    page.get_by_role("button", name="Send by e-mail").click()
    expect(page.locator(".flash-success")).to_contain_text("is on its way to kari@kunde.example")

    banner.get_by_role("link", name="Back to the bureau's clients").click()
    page.get_by_role("navigation", name="Bureau").get_by_role("link", name="Post").click()
    page.get_by_role("button", name="Make one print run of 1").click()
    expect(page.locator(".flash-success")).to_contain_text("Print run")
    expect(page.locator("#post-runs")).to_contain_text(beta_name)

    with live_app.app_context():
        with scoping.tenant_context(alfa_id):
            invoice = db.session.get(Document, setup["draft"])
            text = PdfReader(io.BytesIO(invoice.pdf)).pages[0].extract_text()
            acts = db.session.scalars(select(AuditEntry).where(
                AuditEntry.action.in_(["documents.issued", "documents.sent"]))).all()
        assert alfa_name in text and "NO93 8601 1117 947" in text
        assert {(a.action, a.user_id, a.acting_tenant_id) for a in acts} == {
            ("documents.issued", setup["staff_id"], setup["bureau_id"]),
            ("documents.sent", setup["staff_id"], setup["bureau_id"])}
