"""Issued documents go out by e-mail through the worker, each delivery logged."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.billing.customers.models import Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.delivery import DeliveryFailed, deliver_document
from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import ContactFactory, CustomerFactory, TenantFactory, VatRateFactory, member
from tests.helpers import run_jobs, sent_mails


@pytest.fixture()
def invoice(db_session):
    tenant = TenantFactory(name="Biuro Kasia Sp. z o.o.", country="PL", currency="PLN")
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Łódź Serwis", language="pl",
                                   currency="PLN")
        ContactFactory(tenant=tenant, customer=customer, email="faktury@lodz.example",
                       receives_invoices=True)
        vat_id = VatRateFactory(tenant=tenant, rate=Decimal(23)).id
        customer = db.session.get(Customer, customer.id)
        document = services.create_document(DocumentKind.INVOICE, customer)
        services.add_line(document, {"description": "Usługa", "quantity": Decimal(1),
                                     "unit_price": Decimal("100"), "vat_rate_id": vat_id})
        issuing.issue_document(document)
        db.session.commit()
        return {"tenant": tenant, "id": document.id, "number": document.number,
                "pdf": document.pdf, "document_vat": vat_id}


def _send(client, invoice, **data):
    return client.post(f"/t/{invoice['tenant'].slug}/documents/{invoice['id']}/send",
                       data=data, follow_redirects=True)


def test_an_invoice_is_emailed_with_its_pdf_in_the_customers_language(
    app, invoice, smtp, make_client
):
    client = make_client(member(invoice["tenant"], Role.ACCOUNTANT))
    page = _send(client, invoice)
    assert "is on its way to faktury@lodz.example" in page.text
    assert smtp.messages == []  # not before the worker runs
    run_jobs(app)
    [message] = smtp.messages
    assert message["To"] == "faktury@lodz.example"
    assert invoice["number"] in message["Subject"] and "od Biuro Kasia" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert f"W załączeniu przesyłamy fakturę {invoice['number']}" in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{invoice['number']}.pdf"
    assert attachment.get_content() == invoice["pdf"]  # the stored PDF, not a new one
    with scoping.tenant_context(invoice["tenant"].id):
        delivery = db.session.scalar(select(Delivery))
        assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
        assert delivery.message_id == message["Message-ID"]
    shown = client.get(f"/t/{invoice['tenant'].slug}/documents/{invoice['id']}").text
    assert "faktury@lodz.example" in shown and ">sent<" in shown


def test_running_a_delivery_twice_sends_once(app, invoice, smtp, make_client):
    _send(make_client(member(invoice["tenant"], Role.ACCOUNTANT)), invoice,
          recipient="other@example.com")
    run_jobs(app)
    with scoping.tenant_context(invoice["tenant"].id):
        delivery_id = db.session.scalar(select(Delivery.id))
    deliver_document(delivery_id, tenant_id=invoice["tenant"].id)  # a retry after success
    assert [m["To"] for m in smtp.messages] == ["other@example.com"]


def test_a_refused_message_is_logged_failed_with_the_servers_reply(
    app, invoice, smtp, make_client
):
    smtp.refuse = "550 5.1.1 Mailbox faktury@lodz.example unavailable"
    client = make_client(member(invoice["tenant"], Role.ACCOUNTANT))
    _send(client, invoice)
    with pytest.raises(DeliveryFailed, match="Mailbox"):
        with scoping.tenant_context(invoice["tenant"].id):
            delivery_id = db.session.scalar(select(Delivery.id))
        deliver_document(delivery_id, tenant_id=invoice["tenant"].id)
    with scoping.tenant_context(invoice["tenant"].id):
        delivery = db.session.get(Delivery, delivery_id)
        db.session.refresh(delivery)
        assert delivery.status == DeliveryStatus.FAILED and "unavailable" in delivery.last_error
    shown = client.get(f"/t/{invoice['tenant'].slug}/documents/{invoice['id']}").text
    assert "Mailbox faktury@lodz.example unavailable" in shown and ">failed<" in shown


def test_drafts_and_missing_addresses_are_refused(app, invoice, make_client):
    client = make_client(member(invoice["tenant"], Role.ACCOUNTANT))
    assert "is on its way to x@example.com" in _send(client, invoice,
                                                      recipient="x@example.com").text
    refused = _send(client, invoice, recipient="not-an-address")
    assert "no e-mail address" in refused.text
    with scoping.tenant_context(invoice["tenant"].id):
        customer = db.session.scalar(select(Customer))
        draft = services.create_document(DocumentKind.INVOICE, customer)
        db.session.commit()
        draft_id = draft.id
    response = client.post(f"/t/{invoice['tenant'].slug}/documents/{draft_id}/send",
                           data={"recipient": "x@example.com"}, follow_redirects=True)
    assert "Only an issued document can be sent" in response.text
    viewer = make_client(member(invoice["tenant"], Role.VIEWER))
    assert viewer.post(f"/t/{invoice['tenant'].slug}/documents/{invoice['id']}/send"
                       ).status_code == 403


def test_without_smtp_the_email_lands_in_the_outbox(app, invoice, outbox, make_client):
    _send(make_client(member(invoice["tenant"], Role.ACCOUNTANT)), invoice)
    run_jobs(app)
    [mail] = sent_mails(outbox)
    assert mail["To"] == "faktury@lodz.example"
    with scoping.tenant_context(invoice["tenant"].id):
        assert db.session.scalar(select(Document.number)) == invoice["number"]


def test_a_quote_goes_out_from_the_page_with_the_tenants_sender_name_and_reply_to(
    app, invoice, smtp, make_client
):
    tenant = invoice["tenant"]
    owner = member(tenant, Role.OWNER)
    client = make_client(owner)
    client.post(f"/t/{tenant.slug}/settings/branding", data={
        "primary_color": "#0a5c36", "email_sender_name": "Kasia z Biura",
        "reply_to": "Biuro@Kasia.example", "footer_text": ""})
    with scoping.tenant_context(tenant.id):
        customer = db.session.scalar(select(Customer))
        quote = services.create_document(DocumentKind.QUOTE, customer)
        services.update_header(quote, {"valid_until": date(2026, 12, 31)})
        services.add_line(quote, {"description": "Audyt", "quantity": Decimal(2),
                                  "unit_price": Decimal("250"),
                                  "vat_rate_id": invoice["document_vat"]})
        issuing.issue_document(quote)
        db.session.commit()
        quote_id, number = quote.id, quote.number
    page = client.post(f"/t/{tenant.slug}/documents/{quote_id}/send", follow_redirects=True)
    assert "is on its way to faktury@lodz.example" in page.text
    run_jobs(app)
    [message] = smtp.messages
    assert message["From"].startswith("Kasia z Biura <")
    assert message["Reply-To"] == "biuro@kasia.example"
    assert message["Subject"].startswith(f"Oferta {number}")
    text = message.get_body(("plain",)).get_content()
    assert "31 gru 2026" in text  # valid until, in Polish
    html = message.get_body(("html",)).get_content()
    assert "#0a5c36" in html and number in html


def test_the_delivery_log_polls_while_a_message_is_on_its_way_and_then_stops(
    app, invoice, smtp, make_client
):
    client = make_client(member(invoice["tenant"], Role.ACCOUNTANT))
    _send(client, invoice)
    base = f"/t/{invoice['tenant'].slug}/documents/{invoice['id']}"
    page = client.get(base).text
    assert f'hx-get="{base}/deliveries" hx-trigger="every 2s"' in page
    fragment = client.get(f"{base}/deliveries", headers={"HX-Request": "true"}).text
    assert 'id="delivery-log"' in fragment and "<html" not in fragment  # the log alone
    assert ">queued<" in fragment and "hx-trigger" in fragment
    run_jobs(app)
    fragment = client.get(f"{base}/deliveries", headers={"HX-Request": "true"}).text
    assert ">sent<" in fragment and "hx-trigger" not in fragment and "<html" not in fragment
