"""A customer pays an e-mailed invoice online, in Chromium (issue 8).

The e-mailed link opens the invoice; signed in, the customer ticks it, *Pay* goes to the
checkout (the app's demo checkout, which sends the app the event Stripe would send), the
webhook's job records the payment, and the portal shows the invoice among the settled ones.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments.models import Payment, PaymentMethod
from saas.extensions import db
from saas.tenants import scoping
from tests.browser.portal_documents import issued_to_a_portal_contact
from tests.helpers import run_jobs, sent_mails

pytestmark = pytest.mark.browser


def _mails_to(app, email: str) -> list:
    return [m for m in sent_mails(Path(app.config["OUTBOX_DIR"])) if m["To"] == email]


def _link_in(mail, pattern: str) -> str:
    found = re.search(pattern, mail.get_body(("plain",)).get_content())
    assert found, mail.get_body(("plain",)).get_content()
    return found.group(0)


def test_a_customer_pays_an_emailed_invoice_online(
    browser_page, console_messages, live_app, owner_account, monkeypatch
):
    monkeypatch.setitem(live_app.config, "STRIPE_DEMO", True)  # no Stripe key: the demo
    page = browser_page
    email, number, public_id = issued_to_a_portal_contact(
        live_app, owner_account, DocumentKind.INVOICE, customer="Fjellbakeriet AS",
        contact="Kari Fjell", line="Service av steinovn", price="4990.50", send=True)
    with live_app.app_context():
        run_jobs(live_app)  # the worker sends the invoice
    [invoice_mail] = _mails_to(live_app, email)

    # The e-mailed link opens the invoice.
    page.goto(_link_in(invoice_mail, r"https?://\S+/p/[^/\s]+/d/[\w-]+"))
    expect(page.locator("#details")).to_contain_text(number)
    # To pay, the customer signs in (by a link to the same address).
    page.locator(f'a[href$="/p/{owner_account.slug}/"]').last.click()
    page.locator("#email").fill(email)
    page.locator("form:has(#email) button[type=submit]").click()
    expect(page.locator(".flash")).to_be_visible()  # the link is on its way
    with live_app.app_context():
        run_jobs(live_app)
    page.goto(_link_in(_mails_to(live_app, email)[-1], r"https?://\S+/sign-in/[\w-]+"))
    page.get_by_role("button", name="Logg inn").click()

    # Tick the open invoice and pay it.
    expect(page.get_by_role("heading", level=1)).to_have_text("Fjellbakeriet AS")
    page.locator(f"#pay-{public_id}").check()
    page.locator("#open-invoices button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/demo-checkout/"))
    expect(page.locator("#demo-checkout")).to_contain_text(
        re.compile(r"6\s?238,13"))  # 4 990,50 + 25 % VAT
    page.locator("#demo-checkout button[type=submit]").click()
    expect(page.locator(".flash")).to_be_visible()  # back in the portal: thanks
    with live_app.app_context():
        run_jobs(live_app)  # the webhook's job records the payment
    page.reload()

    expect(page.locator(f"#pay-{public_id}")).to_have_count(0)  # no longer open
    expect(page.locator("#open-invoices")).not_to_contain_text(number)
    expect(page.locator(f"#document-{public_id}")).to_be_visible()  # among the settled ones
    with live_app.app_context(), scoping.tenant_context(owner_account.tenant_id):
        invoice = db.session.scalar(select(Document).where(Document.public_id == public_id))
        assert invoice.status == DocumentStatus.PAID and invoice.open_amount == 0
        [payment] = db.session.scalars(select(Payment).where(
            Payment.customer_id == invoice.customer_id))
        assert payment.method == PaymentMethod.STRIPE and payment.amount == invoice.gross_total
        assert payment.amount == Decimal("6238.13")
    # The invoice, the sign-in link and the receipt of the payment.
    assert len(_mails_to(live_app, email)) == 3
    assert [m for m in console_messages if "content security policy" in m.lower()] == []
