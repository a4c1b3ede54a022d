"""The customer's account statement in the portal: balance, ageing, movements, PDF (R6.1)."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from saas import clock
from saas.billing.documents.i18n import Formatter
from saas.billing.documents.models import Document
from saas.billing.payments import services as payments
from saas.extensions import db
from tests.integration.test_portal import in_tenant, make_shop, sign_in_link, signed_in


@pytest.fixture()
def shop(db_session):
    return make_shop()


def cell(page: str, bucket: str) -> str:
    start = page.index(f'data-bucket="{bucket}">') + len(f'data-bucket="{bucket}">')
    return page[start : page.index("</td>", start)]


def test_the_statement_shows_the_balance_by_age_and_the_movements(app, shop, client, outbox):
    with in_tenant(shop):
        invoice = db.session.get(Document, shop.invoice_a.id)
        open_amount, currency, due = invoice.open_amount, invoice.currency, invoice.due_date
        number_a = invoice.number
        number_b = db.session.get(Document, shop.invoice_b.id).number
        payments.record_payment(
            invoice.customer, Decimal("10.00"), invoice.issue_date, reference="on account"
        )  # kept as credit
        db.session.commit()
    f = Formatter.for_language("pl")

    with clock.frozen(due + timedelta(days=45)):  # signed in that day: sessions expire
        signed_in(app, outbox, client, shop)
        page = client.get(f"/p/{shop.slug}/statement").get_data(as_text=True)

    assert cell(page, "31-60") == f.money(open_amount, currency)
    assert cell(page, "current") == f.money(Decimal(0), currency)
    assert cell(page, "credit") == f.money(Decimal("10.00"), currency)
    balance = page[page.index('id="balance-amount">') + 20 :]
    assert balance.startswith(f.money(open_amount - Decimal("10.00"), currency))
    assert number_a in page and "on account" in page
    assert "Wyciąg z konta" in page  # the customer's language
    assert number_b not in page  # customer B's invoice
    closing = page[page.index('id="closing-balance"') :]
    assert f.money(open_amount - Decimal("10.00"), currency) in closing


def test_the_statement_downloads_as_a_pdf(app, shop, client, outbox):
    with in_tenant(shop):
        number = db.session.get(Document, shop.invoice_a.id).number
    signed_in(app, outbox, client, shop)

    response = client.get(f"/p/{shop.slug}/statement.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert number in text


@pytest.mark.parametrize("path", ["/statement", "/statement.pdf"])
def test_only_a_signed_in_contact_sees_the_account(app, shop, client, outbox, path):
    response = client.get(f"/p/{shop.slug}{path}")
    assert response.status_code == 302 and response.location.endswith(f"/p/{shop.slug}/")
    # A sign-in link not yet used signs no one in.
    sign_in_link(app, outbox, client, shop)
    assert client.get(f"/p/{shop.slug}{path}").status_code == 302


def test_another_customers_contact_sees_their_own_account(app, shop, client, outbox):
    with in_tenant(shop):
        number_a = db.session.get(Document, shop.invoice_a.id).number
        number_b = db.session.get(Document, shop.invoice_b.id).number
    signed_in(app, outbox, client, shop, email="bjorn@beta.example")
    page = client.get(f"/p/{shop.slug}/statement").get_data(as_text=True)
    assert number_b in page and number_a not in page
