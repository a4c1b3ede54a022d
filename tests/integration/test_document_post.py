"""Documents of customers who want paper go into a print batch: one merged PDF."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from saas.billing.customers.models import Customer, DeliveryPreference
from saas.billing.documents import issuing, services
from saas.billing.documents.models import Delivery, DeliveryStatus, PostBatch
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member


@pytest.fixture()
def shop(db_session):
    tenant = TenantFactory(name="Ochrona Sokół Sp. z o.o.", address_line1="ul. Długa 1",
                           postal_code="00-001", city="Warszawa")
    with scoping.tenant_context(tenant.id):
        vat_id = VatRateFactory(tenant=tenant).id
        by_post = CustomerFactory(tenant=tenant, name="Żabka Łódź", address_line1="Piotrkowska 5",
                                  postal_code="90-001", city="Łódź",
                                  delivery_preference=DeliveryPreference.POST)
        both = CustomerFactory(tenant=tenant, name="Both Ways AS",
                               delivery_preference=DeliveryPreference.BOTH)
        by_email = CustomerFactory(tenant=tenant, name="Email Only AS")
        numbers = {}
        for customer in (by_post, both, by_email):
            document = services.create_document(DocumentKind.INVOICE,
                                                db.session.get(Customer, customer.id))
            services.add_line(document, {"description": "Ochrona", "quantity": Decimal(1),
                                         "unit_price": Decimal(100), "vat_rate_id": vat_id})
            issuing.issue_document(document)
            numbers[customer.name] = document.number
        services.create_document(DocumentKind.INVOICE, db.session.get(Customer, by_post.id))
        db.session.commit()
    return {"tenant": tenant, "numbers": numbers}


def url(shop, path=""):
    return f"/t/{shop['tenant'].slug}/documents/post{path}"


def test_a_batch_merges_address_sheets_and_documents_and_printing_marks_them_sent(
    shop, make_client
):
    client = make_client(member(shop["tenant"], Role.STAFF))
    page = client.get(url(shop))
    assert shop["numbers"]["Żabka Łódź"] in page.text
    assert shop["numbers"]["Both Ways AS"] in page.text
    assert shop["numbers"]["Email Only AS"] not in page.text  # wants e-mail only
    made = client.post(url(shop), follow_redirects=True)
    assert "Post batch" in made.text and "2 documents" in made.text
    with scoping.tenant_context(shop["tenant"].id):
        batch = db.session.scalar(select(PostBatch))
        batch_id = batch.id
    pdf = client.get(url(shop, f"/{batch_id}/pdf"))
    reader = PdfReader(io.BytesIO(pdf.data))
    # Cover list, then per document its address sheet and its one-page invoice.
    assert len(reader.pages) == 1 + 2 * 2
    cover = reader.pages[0].extract_text()
    assert "Post batch: 2 documents" in cover and "Żabka Łódź" in cover
    sheets = [reader.pages[i].extract_text() for i in (1, 3)]
    assert any("Żabka Łódź" in s and "90-001 Łódź" in s and "Ochrona Sokół" in s for s in sheets)
    # Nothing is batched twice.
    again = client.post(url(shop), follow_redirects=True)
    assert "Nothing to print" in again.text
    client.post(url(shop, f"/{batch_id}/printed"))
    with scoping.tenant_context(shop["tenant"].id):
        deliveries = db.session.scalars(select(Delivery)).all()
        assert {(d.channel, d.status) for d in deliveries} == {("post", DeliveryStatus.SENT)}
        assert len(deliveries) == 2
    twice = client.post(url(shop, f"/{batch_id}/printed"), follow_redirects=True)
    assert "marked printed already" in twice.text


def test_viewers_cannot_make_batches(shop, make_client):
    viewer = make_client(member(shop["tenant"], Role.VIEWER))
    assert viewer.post(url(shop)).status_code == 403
    assert viewer.get(url(shop)).status_code == 403
