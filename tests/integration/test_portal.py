"""The customer portal: sign-in by link, document links, the documents a contact sees,
PDFs, and quotes accepted or declined online (R6.1, R3.2)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from saas import clock
from saas.billing.customers.models import Contact, Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments import services as payments
from saas.billing.todos.models import Todo, TodoKind
from saas.extensions import db
from saas.portal import documents as portal_documents
from saas.portal.links import aware
from saas.portal.models import LinkPurpose, PortalLink, QuoteDecision, QuoteResponse
from saas.tenants import scoping
from saas.tenants.models import Role, Tenant
from tests.factories import ContactFactory, CustomerFactory, TenantFactory, VatRateFactory, member
from tests.helpers import run_jobs, sent_mails

K, S = DocumentKind, DocumentStatus
SIGN_IN_LINK = re.compile(r"https?://[^/\s]+(/p/[^/\s]+/sign-in/[\w-]+)")
DOCUMENT_LINK = re.compile(r"https?://[^/\s]+(/p/[^/\s]+/d/[\w-]+)")


@dataclass
class Doc:
    id: int
    public_id: str
    number: str | None


@dataclass
class Shop:
    tenant: Tenant
    slug: str
    contact_a: int
    contact_b: int
    invoice_a: Doc
    invoice_b: Doc
    quote_a: Doc
    draft_a: Doc
    paid_a: Doc


def _document(kind: DocumentKind, customer_id: int, vat_id: int, issue: bool = True,
              price: str = "100") -> Doc:
    customer = db.session.get(Customer, customer_id)
    document = services.create_document(kind, customer)
    services.add_line(document, {"description": f"Service for {customer.name}",
                                 "quantity": Decimal(2), "unit_price": Decimal(price),
                                 "vat_rate_id": vat_id})
    if issue:
        issuing.issue_document(document)
    db.session.flush()
    return Doc(document.id, document.public_id, document.number)


def make_shop(name: str = "Nordlys Rør AS") -> Shop:
    """A tenant with customer A (Polish, contact with portal access) and customer B."""
    tenant = TenantFactory(name=name)
    vat_id = VatRateFactory(tenant=tenant).id
    customer_a = CustomerFactory(tenant=tenant, name="Alfa Sp. z o.o.", language="pl")
    customer_b = CustomerFactory(tenant=tenant, name="Beta AS", language="nb")
    contact_a = ContactFactory(tenant=tenant, customer=customer_a, name="Anna Alfa",
                               email="anna@alfa.example", portal_access=True,
                               receives_invoices=True).id
    contact_b = ContactFactory(tenant=tenant, customer=customer_b, name="Bjørn Beta",
                               email="bjorn@beta.example", portal_access=True,
                               receives_invoices=True).id
    with scoping.tenant_context(tenant.id):
        invoice_a = _document(K.INVOICE, customer_a.id, vat_id)
        invoice_b = _document(K.INVOICE, customer_b.id, vat_id)
        quote_a = _document(K.QUOTE, customer_a.id, vat_id)
        draft_a = _document(K.INVOICE, customer_a.id, vat_id, issue=False)
        paid_a = _document(K.INVOICE, customer_a.id, vat_id, price="40")
        paid = db.session.get(Document, paid_a.id)
        payments.record_payment(paid.customer, paid.gross_total, paid.issue_date,
                                allocations=[(paid, paid.gross_total)])
        db.session.commit()
    return Shop(tenant, tenant.slug, contact_a, contact_b, invoice_a, invoice_b, quote_a,
                draft_a, paid_a)


@pytest.fixture()
def shop(db_session) -> Shop:
    return make_shop()


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def ask_for_link(client, shop: Shop, email: str = "anna@alfa.example"):
    return client.post(f"/p/{shop.slug}/sign-in", data={"email": email})


def sign_in_link(app, outbox, client, shop: Shop, email: str = "anna@alfa.example") -> str:
    ask_for_link(client, shop, email)
    run_jobs(app)
    [path] = [SIGN_IN_LINK.search(text_of(m)).group(1) for m in sent_mails(outbox)
              if m["To"] == email][-1:]
    return path


def signed_in(app, outbox, client, shop: Shop, email: str = "anna@alfa.example"):
    path = sign_in_link(app, outbox, client, shop, email)
    response = client.post(path)
    assert response.status_code == 302 and response.location.endswith("/documents")
    return client


def in_tenant(shop: Shop):
    return scoping.tenant_context(shop.tenant.id)


# --- asking for a sign-in link ----------------------------------------------------------


def test_a_portal_contact_gets_a_sign_in_link_by_email_in_its_language(app, shop, client, smtp):
    response = ask_for_link(client, shop, " Anna@Alfa.example ")
    assert response.status_code == 302
    assert smtp.messages == []  # sent by a mail job, after the commit
    run_jobs(app)
    [message] = smtp.messages
    assert message["To"] == "anna@alfa.example"
    assert "Nordlys Rør AS" in message["Subject"]
    body = text_of(message)
    assert "Szanowni Państwo" in body and "minut." in body  # the customer's language
    path = SIGN_IN_LINK.search(body).group(1)
    with in_tenant(shop):
        [link] = db.session.scalars(select(PortalLink)).all()
    token = path.rsplit("/", 1)[1]
    assert link.purpose == LinkPurpose.SIGN_IN and link.contact_id == shop.contact_a
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash
    assert token not in repr(vars(link))


def test_the_answer_is_the_same_whether_or_not_the_address_is_known(app, shop, client, outbox):
    with in_tenant(shop):
        db.session.get(Contact, shop.contact_b).portal_access = False
        db.session.commit()
    pages = []
    for email in ("anna@alfa.example", "nobody@else.example", "bjorn@beta.example"):
        response = client.post(f"/p/{shop.slug}/sign-in", data={"email": email},
                               follow_redirects=True)
        pages.append((response.status_code, response.text.replace(email, "EMAIL")))
    assert pages[0] == pages[1] == pages[2]
    assert "sign-in link is on its way" in pages[0][1] or pages[0][0] == 200
    run_jobs(app)
    assert [m["To"] for m in sent_mails(outbox)] == ["anna@alfa.example"]


def test_a_malformed_address_is_refused_with_a_clear_message(shop, client):
    response = ask_for_link(client, shop, "not an address")
    assert response.status_code == 422
    assert "name@example.com" in response.text
    with in_tenant(shop):
        assert db.session.scalars(select(PortalLink)).all() == []


def test_a_contact_gets_at_most_five_sign_in_links_an_hour(app, shop, client, outbox):
    for _ in range(7):
        assert ask_for_link(client, shop).status_code == 302
    run_jobs(app)
    assert len(sent_mails(outbox)) == 5


def test_asking_for_links_is_rate_limited_per_client(app, shop, client, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_LINK_RATE_LIMIT", "2 per minute")
    statuses = [ask_for_link(client, shop, "nobody@else.example").status_code
                for _ in range(3)]
    assert statuses == [302, 302, 429]


# --- using a sign-in link ----------------------------------------------------------------


def test_a_sign_in_link_works_once(app, shop, client, outbox):
    path = sign_in_link(app, outbox, client, shop)
    assert client.get(path).status_code == 200  # looking (a mail scanner) uses nothing
    assert "Anna Alfa" in client.get(path).text
    response = client.post(path)
    assert response.status_code == 302
    assert shop.invoice_a.number in client.get(f"/p/{shop.slug}/documents").text
    again = app.test_client().post(path)
    assert again.status_code == 410 and "used" in again.text.lower() or "użyty" in again.text
    assert app.test_client().get(path).status_code == 410


def test_an_expired_sign_in_link_is_refused(app, shop, client, outbox):
    path = sign_in_link(app, outbox, client, shop)
    with clock.frozen(clock.now() + timedelta(minutes=31)):
        assert client.get(path).status_code == 410
        assert client.post(path).status_code == 410
    assert client.get(f"/p/{shop.slug}/documents").status_code == 302  # not signed in


def test_a_made_up_link_is_not_found(shop, client):
    assert client.get(f"/p/{shop.slug}/sign-in/{'x' * 43}").status_code == 404
    assert client.post(f"/p/{shop.slug}/sign-in/{'x' * 43}").status_code == 404
    assert client.get(f"/p/{shop.slug}/d/{'x' * 43}").status_code == 404


def test_signing_out_ends_the_session(app, shop, client, outbox):
    signed_in(app, outbox, client, shop)
    client.post(f"/p/{shop.slug}/sign-out")
    response = client.get(f"/p/{shop.slug}/documents")
    assert response.status_code == 302 and response.location.endswith(f"/p/{shop.slug}/")


def test_a_contact_that_loses_portal_access_is_signed_out(app, shop, client, outbox):
    signed_in(app, outbox, client, shop)
    unused = sign_in_link(app, outbox, client, shop)
    with in_tenant(shop):
        db.session.get(Contact, shop.contact_a).portal_access = False
        db.session.commit()
    assert client.get(f"/p/{shop.slug}/documents").status_code == 302
    assert client.get(unused).status_code == 404  # and its links no longer sign it in


def test_the_portal_session_expires(app, shop, client, outbox):
    signed_in(app, outbox, client, shop)
    with clock.frozen(clock.now() + timedelta(hours=13)):
        assert client.get(f"/p/{shop.slug}/documents").status_code == 302


# --- what a contact sees ------------------------------------------------------------------


def test_the_list_shows_the_customers_issued_documents_with_open_amounts(
    app, shop, client, outbox
):
    signed_in(app, outbox, client, shop)
    page = client.get(f"/p/{shop.slug}/documents")
    assert page.status_code == 200 and 'lang="pl"' in page.text
    html = page.text
    open_section = html.split('id="open-invoices"')[1].split("</section>")[0]
    assert shop.invoice_a.number in open_section and shop.paid_a.number not in open_section
    assert shop.paid_a.number in html and shop.quote_a.number in html
    assert "250,00" in open_section  # 2 × 100 + 25 % VAT, the open amount, Polish format
    assert shop.invoice_b.number not in html  # another customer's
    assert shop.draft_a.public_id not in html  # drafts are never shown


def test_each_list_shows_its_newest_up_to_the_limit_and_every_open_invoice(
    shop, monkeypatch
):
    """The lists come from one statement that reads at most LIST_LIMIT of each list."""
    monkeypatch.setattr(portal_documents, "LIST_LIMIT", 1)
    with in_tenant(shop):
        first = db.session.get(Document, shop.invoice_a.id)
        customer, vat_id = first.customer, first.lines[0].vat_rate_id
        second_open = _document(K.INVOICE, customer.id, vat_id)
        paid_later = _document(K.INVOICE, customer.id, vat_id, price="30")
        paid = db.session.get(Document, paid_later.id)
        payments.record_payment(customer, paid.gross_total, paid.issue_date,
                                allocations=[(paid, paid.gross_total)])
        db.session.flush()
        statements = []
        engine = db.session.get_bind().engine

        def note(conn, cursor, statement, *args) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", note)
        try:
            listing = portal_documents.customer_documents(customer.id)
        finally:
            event.remove(engine, "before_cursor_execute", note)
    assert len(statements) == 1
    # Every open invoice, whatever the limit; the other lists only their newest (same day:
    # the later issued), and no draft.
    assert sorted(d.id for d in listing.open_invoices) == [shop.invoice_a.id, second_open.id]
    assert [(heading, [d.id for d in docs]) for heading, docs in listing.sections] == [
        ("Paid and credited invoices", [paid_later.id]), ("Quotes", [shop.quote_a.id])]
    assert listing.open_totals == [(first.currency, Decimal("500.00"))]


def test_a_contact_cannot_open_another_customers_document(app, shop, client, outbox):
    signed_in(app, outbox, client, shop)
    assert client.get(f"/p/{shop.slug}/documents/{shop.invoice_a.public_id}").status_code == 200
    for key in (shop.invoice_b.public_id, shop.draft_a.public_id, "0" * 32, "not-a-key"):
        assert client.get(f"/p/{shop.slug}/documents/{key}").status_code == 404
        assert client.get(f"/p/{shop.slug}/documents/{key}/pdf").status_code == 404
    assert client.post(f"/p/{shop.slug}/documents/{shop.invoice_b.public_id}/accept",
                       data={"name": "Anna"}).status_code == 404


def test_another_tenants_documents_and_sessions_do_not_carry_over(app, shop, client, outbox):
    other = make_shop("Other Tenant AS")
    signed_in(app, outbox, client, shop)
    url = f"/p/{shop.slug}/documents/{other.invoice_a.public_id}"
    assert client.get(url).status_code == 404
    # Signed in at one tenant's portal is not signed in at another's.
    assert client.get(f"/p/{other.slug}/documents").status_code == 302
    assert client.get(f"/p/{other.slug}/documents/{other.invoice_a.public_id}"
                      ).status_code == 302
    # A contact of the other tenant with the same address gets that tenant's link only.
    assert client.get(f"/p/no-such-tenant/documents/{shop.invoice_a.public_id}"
                      ).status_code == 404


def test_an_unknown_visitor_is_sent_to_sign_in_without_learning_what_exists(shop, client):
    for key in (shop.invoice_a.public_id, "0" * 32):
        response = client.get(f"/p/{shop.slug}/documents/{key}")
        assert response.status_code == 302 and response.location.endswith(f"/p/{shop.slug}/")


def test_the_pdf_is_the_stored_one(app, shop, client, outbox):
    signed_in(app, outbox, client, shop)
    response = client.get(f"/p/{shop.slug}/documents/{shop.invoice_a.public_id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f'filename="{shop.invoice_a.number}.pdf"' in response.headers["Content-Disposition"]
    with in_tenant(shop):
        assert response.data == db.session.get(Document, shop.invoice_a.id).pdf


def test_the_document_page_shows_its_lines_and_totals(app, shop, client, outbox):
    signed_in(app, outbox, client, shop)
    page = client.get(f"/p/{shop.slug}/documents/{shop.invoice_a.public_id}").text
    assert "Service for Alfa Sp. z o.o." in page
    assert "250,00" in page and 'id="open-amount"' in page


# --- document links ------------------------------------------------------------------------


def send_invoice(app, shop, outbox, make_client, doc: Doc | None = None) -> str:
    """Staff e-mail the invoice; the path of the portal link in the message."""
    doc = doc or shop.invoice_a
    staff = make_client(member(shop.tenant, Role.ACCOUNTANT))
    staff.post(f"/t/{shop.slug}/documents/{doc.id}/send", data={})
    run_jobs(app)
    [message] = [m for m in sent_mails(outbox) if doc.number in m["Subject"]]
    return DOCUMENT_LINK.search(text_of(message)).group(1)


def test_the_document_email_carries_a_working_portal_link(app, shop, outbox, make_client):
    path = send_invoice(app, shop, outbox, make_client)
    with in_tenant(shop):
        link = db.session.scalar(select(PortalLink).where(
            PortalLink.purpose == LinkPurpose.DOCUMENT))
        assert link.document_id == shop.invoice_a.id and link.contact_id == shop.contact_a
        assert link.expires_at - link.created_at == timedelta(days=60)
    visitor = app.test_client()
    opened = visitor.get(path)
    assert opened.status_code == 302
    assert opened.location.endswith(f"/documents/{shop.invoice_a.public_id}")
    page = visitor.get(opened.location)
    assert page.status_code == 200 and shop.invoice_a.number in page.text
    assert visitor.get(f"{opened.location}/pdf").status_code == 200
    assert visitor.get(path).status_code == 302  # opened as often as it is clicked
    # The link opens its document only, not the customer's others.
    assert visitor.get(f"/p/{shop.slug}/documents/{shop.paid_a.public_id}").status_code == 404
    assert visitor.get(f"/p/{shop.slug}/documents").status_code == 302


def test_a_revoked_document_link_is_refused(app, shop, outbox, make_client):
    path = send_invoice(app, shop, outbox, make_client)
    visitor = app.test_client()
    document_url = visitor.get(path).location
    staff = make_client(member(shop.tenant, Role.ADMIN))
    staff_page = staff.get(f"/t/{shop.slug}/documents/{shop.invoice_a.id}").text
    assert "1 e-mailed link opens this document" in staff_page
    assert "First opened online from its e-mail" in staff_page
    response = staff.post(f"/t/{shop.slug}/portal/documents/{shop.invoice_a.id}/revoke-links",
                          follow_redirects=True)
    assert "1 portal link revoked" in response.text
    assert visitor.get(path).status_code == 410
    assert visitor.get(document_url).status_code == 302  # the open session ends too
    viewer = make_client(member(shop.tenant, Role.VIEWER))
    assert viewer.post(f"/t/{shop.slug}/portal/documents/{shop.invoice_a.id}/revoke-links"
                       ).status_code == 403


def test_an_expired_document_link_is_refused(app, shop, outbox, make_client):
    path = send_invoice(app, shop, outbox, make_client)
    with clock.frozen(clock.now() + timedelta(days=61)):
        assert app.test_client().get(path).status_code == 410


# --- quotes -----------------------------------------------------------------------------


def test_accepting_a_quote_records_it_makes_an_order_and_tells_staff(
    app, shop, client, outbox
):
    owner = member(shop.tenant, Role.OWNER, email="owner@nordlys.example")
    member(shop.tenant, Role.VIEWER, email="viewer@nordlys.example")
    signed_in(app, outbox, client, shop)
    url = f"/p/{shop.slug}/documents/{shop.quote_a.public_id}"
    assert "Zaakceptuj" in client.get(url).text or 'name="name"' in client.get(url).text
    response = client.post(f"{url}/accept", data={"name": "  Anna   Alfa "},
                           environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 302
    with in_tenant(shop):
        [answer] = db.session.scalars(select(QuoteResponse)).all()
        assert answer.decision == QuoteDecision.ACCEPTED and answer.signed_name == "Anna Alfa"
        assert answer.ip_address == "203.0.113.7" and answer.contact_id == shop.contact_a
        assert abs(aware(answer.responded_at) - clock.now()) < timedelta(minutes=1)
        quote = db.session.get(Document, shop.quote_a.id)
        assert quote.status == S.CONVERTED
        order = db.session.get(Document, answer.order_id)
        assert order.kind == K.ORDER and order.source_id == quote.id and order.is_draft
        [todo] = db.session.scalars(select(Todo)).all()
        assert todo.kind == TodoKind.QUOTE_ACCEPTED and "Anna Alfa" in todo.title
    run_jobs(app)
    notices = [m for m in sent_mails(outbox) if "accepted online" in m["Subject"]]
    assert [m["To"] for m in notices] == [owner.email]
    assert f"/t/{shop.slug}/documents/{order.id}" in text_of(notices[0])
    page = client.get(url).text
    assert "Anna Alfa" in page and 'action="' + url + '/accept"' not in page
    again = client.post(f"{url}/accept", data={"name": "Anna Alfa"})
    assert again.status_code == 422
    with in_tenant(shop):
        assert len(db.session.scalars(select(QuoteResponse)).all()) == 1


def test_accepting_needs_a_typed_name_and_saves_nothing_without(app, shop, client, outbox):
    signed_in(app, outbox, client, shop)
    url = f"/p/{shop.slug}/documents/{shop.quote_a.public_id}"
    response = client.post(f"{url}/accept", data={"name": "   "})
    assert response.status_code == 422 and 'id="name-error"' in response.text
    with in_tenant(shop):
        assert db.session.get(Document, shop.quote_a.id).status == S.SENT
        assert db.session.scalars(select(QuoteResponse)).all() == []
        assert db.session.scalars(select(Todo)).all() == []


def test_declining_a_quote_records_the_comment_and_tells_staff(app, shop, client, outbox):
    member(shop.tenant, Role.STAFF, email="sales@nordlys.example")
    signed_in(app, outbox, client, shop)
    url = f"/p/{shop.slug}/documents/{shop.quote_a.public_id}"
    response = client.post(f"{url}/decline", data={"comment": "Too late for this season."})
    assert response.status_code == 302
    with in_tenant(shop):
        [answer] = db.session.scalars(select(QuoteResponse)).all()
        assert answer.decision == QuoteDecision.DECLINED
        assert answer.comment == "Too late for this season." and answer.signed_name == "Anna Alfa"
        assert db.session.get(Document, shop.quote_a.id).status == S.DECLINED
        [todo] = db.session.scalars(select(Todo)).all()
        assert todo.kind == TodoKind.QUOTE_DECLINED and "Too late" in todo.details
    run_jobs(app)
    assert any(m["To"] == "sales@nordlys.example" and "declined online" in m["Subject"]
               for m in sent_mails(outbox))


def test_a_quote_past_its_validity_cannot_be_accepted(app, shop, client, outbox):
    url = f"/p/{shop.slug}/documents/{shop.quote_a.public_id}"
    with clock.frozen(clock.now() + timedelta(days=45)):  # valid for 30 days
        signed_in(app, outbox, client, shop)
        assert "Czeka na odpowiedź" not in client.get(url).text
        response = client.post(f"{url}/accept", data={"name": "Anna Alfa"})
        assert response.status_code == 422 and "Ta oferta wygasła" in response.text
    with in_tenant(shop):
        assert db.session.get(Document, shop.quote_a.id).status == S.SENT


def test_a_quote_opened_by_its_email_link_is_accepted_for_that_contact(
    app, shop, outbox, make_client
):
    path = send_invoice(app, shop, outbox, make_client, shop.quote_a)
    visitor = app.test_client()
    url = visitor.get(path).location
    assert visitor.post(f"{url}/accept", data={"name": "Anna Alfa"}).status_code == 302
    with in_tenant(shop):
        answer = db.session.scalar(select(QuoteResponse))
        assert answer.contact_id == shop.contact_a and answer.link_id is not None


def test_the_staff_page_shows_the_online_answer(app, shop, client, outbox, make_client):
    signed_in(app, outbox, client, shop)
    client.post(f"/p/{shop.slug}/documents/{shop.quote_a.public_id}/accept",
                data={"name": "Anna Alfa"})
    staff = make_client(member(shop.tenant, Role.STAFF))
    page = staff.get(f"/t/{shop.slug}/documents/{shop.quote_a.id}").text
    assert "Accepted online by <strong>Anna Alfa</strong>" in page
