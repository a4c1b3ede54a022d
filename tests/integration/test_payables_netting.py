"""Payables and netting between partner agencies (R5.10), through the pages: suppliers
priced by their price list, a statement of services given and received, and only the
difference invoiced or owed; the statement as a PDF."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.work import items
from saas.billing.work.models import BillableItem, ItemStatus
from saas.billing.work.payable_models import NettingStatement, PayableItem, PayableStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import (
    CustomerFactory,
    PriceListFactory,
    PriceListItemFactory,
    ProductFactory,
    TenantFactory,
    VatRateFactory,
    member,
)

D = Decimal
DAY = date(2026, 11, 5)


@pytest.fixture()
def agency(db_session, make_client):
    """Two partner agencies: ours (NOK) and Żubr, which guards for us at 300 NOK an hour
    (its price list) while we run convoys for it at 180 NOK each (our base price)."""
    tenant = TenantFactory(currency="NOK")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        vat = VatRateFactory(tenant=tenant, rate=D(25))
        partner = CustomerFactory(tenant=tenant, name="Agencja Żubr")
        convoy = ProductFactory(tenant=tenant, name="Convoy", base_price=D(180), vat_rate=vat)
        guarding = ProductFactory(
            tenant=tenant,
            name="Guarding hour",
            unit="h",
            base_price=D(400),
            cost_price=D(250),
            vat_rate=vat,
        )
        their_list = PriceListFactory(tenant=tenant, name="Żubr 2026", currency="NOK")
        PriceListItemFactory(tenant=tenant, price_list=their_list, product=guarding, price=D(300))
        ids = {
            "partner": partner.id,
            "convoy": convoy.id,
            "guarding": guarding.id,
            "price_list": their_list.id,
        }
        db.session.commit()
    return {"tenant": tenant, "client": make_client(owner), **ids}


def url(agency, path: str) -> str:
    return f"/t/{agency['tenant'].slug}{path}"


def in_tenant(agency):
    return scoping.tenant_context(agency["tenant"].id)


def make_partner(agency) -> None:
    response = agency["client"].post(
        url(agency, "/payables/suppliers"),
        data={
            "customer_id": agency["partner"],
            "price_list_id": agency["price_list"],
            "is_partner": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def record(agency, quantity: str, **values) -> None:
    response = agency["client"].post(
        url(agency, "/payables/"),
        data={
            "supplier_id": agency["partner"],
            "occurred_on": DAY.isoformat(),
            "product_id": agency["guarding"],
            "quantity": quantity,
            **values,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def give(agency, convoys: int) -> None:
    """Services we gave the partner: billable items of it."""
    with in_tenant(agency):
        from saas.billing.catalog.models import Product

        partner = db.session.get(Customer, agency["partner"])
        convoy = db.session.get(Product, agency["convoy"])
        for number in range(convoys):
            items.capture(
                event="card_completed",
                customer=partner,
                source_type="cit_service",
                source_id=900 + number,
                occurred_on=DAY,
                quantity=D(1),
                product=convoy,
                description=f"Convoy {number + 1}",
            )
        db.session.commit()


def payables(agency) -> list[tuple[str, Decimal, Decimal, PayableStatus]]:
    with in_tenant(agency):
        return [
            (p.description, p.quantity, p.unit_price, p.status)
            for p in db.session.scalars(select(PayableItem).order_by(PayableItem.id))
        ]


def test_a_payable_is_priced_by_the_suppliers_price_list_or_by_hand(agency):
    make_partner(agency)
    record(agency, "8")
    record(agency, "2", unit_price="310", description="Night guarding")
    assert payables(agency) == [
        ("Guarding hour", D(8), D(300), PayableStatus.OPEN),
        ("Night guarding", D(2), D(310), PayableStatus.OPEN),
    ]


def test_a_payable_to_a_customer_that_is_no_supplier_is_refused(agency):
    with in_tenant(agency):
        other = CustomerFactory(tenant=agency["tenant"], name="Not a supplier").id
        db.session.commit()
    make_partner(agency)
    response = agency["client"].post(
        url(agency, "/payables/"),
        data={
            "supplier_id": other,
            "occurred_on": DAY.isoformat(),
            "product_id": agency["guarding"],
            "quantity": "1",
        },
    )
    assert response.status_code == 422
    assert payables(agency) == []


def _settle(agency) -> NettingStatement:
    client = agency["client"]
    query = f"?partner_id={agency['partner']}&start=2026-11-01&end=2026-11-30"
    preview = client.get(url(agency, "/payables/netting" + query))
    assert preview.status_code == 200
    response = client.post(
        url(agency, "/payables/netting"),
        data={
            "partner_id": agency["partner"],
            "start": "2026-11-01",
            "end": "2026-11-30",
            "confirm": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with in_tenant(agency):
        return db.session.scalar(select(NettingStatement))


def test_when_we_gave_more_only_the_difference_is_invoiced_to_the_partner(agency):
    make_partner(agency)
    give(agency, 10)  # 1,800 NOK
    record(agency, "2")  # 600 NOK
    statement = _settle(agency)
    with in_tenant(agency):
        statement = db.session.merge(statement)
        assert (statement.given_total, statement.received_total, statement.difference) == (
            D(1800),
            D(600),
            D(1200),
        )
        invoice = db.session.get(Document, statement.document_id)
        [line] = invoice.lines
        assert (invoice.customer_id, line.net, invoice.gross_total) == (
            agency["partner"],
            D("1200.00"),
            D("1500.00"),
        )
        billed = db.session.scalars(select(BillableItem)).all()
        assert {(i.status, i.document_line_id) for i in billed} == {(ItemStatus.INVOICED, line.id)}
        assert len(statement.lines) == 11
    assert [p[3] for p in payables(agency)] == [PayableStatus.NETTED]


def test_when_we_received_more_the_difference_is_owed_to_the_partner(agency):
    make_partner(agency)
    give(agency, 1)  # 180 NOK
    record(agency, "3")  # 900 NOK
    statement = _settle(agency)
    with in_tenant(agency):
        statement = db.session.merge(statement)
        assert (statement.outcome.value, statement.difference, statement.document_id) == (
            "payable",
            D(720),
            None,
        )
        assert db.session.scalar(select(BillableItem.status)) is ItemStatus.INVOICED
    assert payables(agency)[-1][1:] == (D(1), D(720), PayableStatus.OPEN)
    assert [p[3] for p in payables(agency)[:-1]] == [PayableStatus.NETTED]


def test_the_statement_pdf_specifies_both_sides(agency):
    make_partner(agency)
    give(agency, 2)
    record(agency, "1", description="Guarding at Łódź Kaliska")
    statement = _settle(agency)
    response = agency["client"].get(url(agency, f"/payables/netting/{statement.id}.pdf"))
    assert response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    for expected in (
        "Convoy 1",
        "Convoy 2",
        "Guarding at Łódź Kaliska",
        "360.00",
        "300.00",
        "60.00",
    ):
        assert expected in text


def test_nothing_open_with_the_partner_makes_no_statement(agency):
    make_partner(agency)
    response = agency["client"].post(
        url(agency, "/payables/netting"),
        data={
            "partner_id": agency["partner"],
            "start": "2026-11-01",
            "end": "2026-11-30",
            "confirm": "1",
        },
    )
    assert response.status_code == 422
    assert "Nothing is open" in response.get_data(as_text=True)


def test_staff_cannot_settle_with_a_partner(agency, make_client):
    staff = make_client(member(agency["tenant"], Role.STAFF))
    assert staff.get(url(agency, "/payables/netting")).status_code == 403
    assert staff.get(url(agency, "/payables/")).status_code == 200


@pytest.mark.parametrize("given", [10, 1])
def test_a_statement_is_withdrawn_while_its_settlement_is_a_draft(agency, given):
    make_partner(agency)
    give(agency, given)
    record(agency, "2")
    statement = _settle(agency)
    response = agency["client"].post(url(agency, f"/payables/netting/{statement.id}/withdraw"))
    assert response.status_code == 302
    with in_tenant(agency):
        assert db.session.scalar(select(NettingStatement.id)) is None
        assert db.session.scalar(select(Document.id)) is None  # the draft is gone
        assert {i.status for i in db.session.scalars(select(BillableItem))} == {ItemStatus.OPEN}
    assert payables(agency) == [("Guarding hour", D(2), D(300), PayableStatus.OPEN)]


def test_a_statement_whose_invoice_is_issued_stays(agency):
    from saas.billing.documents import issuing

    make_partner(agency)
    give(agency, 10)
    record(agency, "2")
    statement = _settle(agency)
    statement_id, document_id = statement.id, statement.document_id
    with in_tenant(agency):
        issuing.issue_document(db.session.get(Document, document_id))
        db.session.commit()
    page = (
        agency["client"]
        .post(url(agency, f"/payables/netting/{statement_id}/withdraw"), follow_redirects=True)
        .get_data(as_text=True)
    )
    assert "is issued: credit it instead" in page
    with in_tenant(agency):
        assert db.session.scalar(select(NettingStatement.id)) == statement_id


def test_crediting_the_netting_invoice_reopens_the_services_given(agency):
    from saas.billing.documents import conversion, issuing
    from saas.billing.work.models import ItemBilling

    make_partner(agency)
    give(agency, 3)
    record(agency, "1")
    statement = _settle(agency)
    document_id = statement.document_id
    with in_tenant(agency):
        invoice = db.session.get(Document, document_id)
        issuing.issue_document(invoice)
        assert len(db.session.scalars(select(ItemBilling)).all()) == 3
        credit = conversion.create_credit_note(invoice)
        issuing.issue_document(credit)
        db.session.commit()
        assert {i.status for i in db.session.scalars(select(BillableItem))} == {ItemStatus.OPEN}
