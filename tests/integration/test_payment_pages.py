"""The payment pages: recording from an invoice, the payments list, a payment, credit notes,
proformas, the customer's balance and statement, and who may do what."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments import services
from saas.billing.payments.models import Payment
from saas.billing.payments.views import pages as payment_pages
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.books import assert_books_balance, issue_credit_note, issue_invoice
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member
from tests.helpers import errors_in

K, S = DocumentKind, DocumentStatus
D = Decimal
DAY = date(2026, 10, 1)
TODAY = date(2026, 10, 20)


@pytest.fixture()
def shop(db_session):
    tenant = TenantFactory(name="Nordlys Service AS", address_line1="Storgata 1",
                           postal_code="0155", city="Oslo")
    vat = VatRateFactory(tenant=tenant, code="S25", rate=D("25.00")).id
    fjord = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS", address_line1="Kaia 2",
                            postal_code="5003", city="Bergen").id
    other = CustomerFactory(tenant=tenant, name="Havbris Hotell AS").id
    with clock.frozen(TODAY):
        yield {"tenant": tenant, "slug": tenant.slug, "vat": vat, "customer": fjord,
               "other": other}


@pytest.fixture()
def clients(shop, make_client):
    return {role: make_client(member(shop["tenant"], role)) for role in Role}


def url(shop, path: str) -> str:
    return f"/t/{shop['slug']}{path}"


def htmx(**headers):
    return {"HX-Request": "true", **headers}


def in_shop(shop, work):
    """Run work(…) inside the tenant and commit: the pages see it."""
    with scoping.tenant_context(shop["tenant"].id):
        result = work()
        db.session.commit()
        return result


def invoice(shop, net: str = "1000", customer: str = "customer", on: date = DAY,
            kind: DocumentKind = K.INVOICE, terms: int | None = None) -> int:
    return in_shop(shop, lambda: issue_invoice(
        db.session.get(Customer, shop[customer]), shop["vat"], net, on, kind, terms).id)


def document(shop, document_id: int) -> Document:
    with scoping.tenant_context(shop["tenant"].id):
        found = db.session.get(Document, document_id)
        db.session.refresh(found)
        return found


def pay(shop, amount: str, *parts: tuple[int, str], customer: str = "customer",
        on: date = DAY, **options) -> int:
    def work():
        return services.record_payment(
            db.session.get(Customer, shop[customer]), D(amount), on,
            allocations=[(db.session.get(Document, i), D(p)) for i, p in parts],
            **options).id
    return in_shop(shop, work)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def payment_data(amount: str, on: date = TODAY, method: str = "bank", reference: str = ""):
    return {"amount": amount, "received_on": on.isoformat(), "method": method,
            "reference": reference}


# --- an invoice's page ----------------------------------------------------------------------


def test_an_invoice_records_a_payment_of_its_open_amount_and_undoes_it(shop, clients):
    staff = clients[Role.STAFF]
    invoice_id = invoice(shop)  # 1,250.00
    page = staff.get(url(shop, f"/documents/{invoice_id}"))
    assert 'id="document-payments"' in page.text and "No payments yet." in page.text
    assert 'value="1250.00"' in page.text and f'value="{TODAY}"' in page.text
    response = staff.post(url(shop, f"/payments/invoice/{invoice_id}/record"),
                          data=payment_data("500", reference="KID 0042"))
    assert response.status_code == 302
    assert document(shop, invoice_id).status == S.PARTLY_PAID
    page = staff.get(url(shop, f"/documents/{invoice_id}"))
    assert "Payment of 500.00 NOK recorded for Invoice INV-2026-00001." in page.text
    assert "KID 0042" in page.text and "750.00 NOK" in page.text
    assert 'value="750.00"' in page.text  # the next payment defaults to what is open
    [allocation] = set(re.findall(r'/payments/allocations/(\d+)/undo', page.text))
    undone = staff.post(url(shop, f"/payments/allocations/{allocation}/undo"),
                        data={"next": f"/t/{shop['slug']}/documents/{invoice_id}"},
                        follow_redirects=True)
    assert "no longer settles Invoice INV-2026-00001" in undone.text
    assert "undone" in undone.text
    found = document(shop, invoice_id)
    assert (found.status, found.paid_total) == (S.ISSUED, 0)
    in_shop(shop, assert_books_balance)


def test_paying_more_than_is_open_leaves_the_rest_as_credit(shop, clients):
    invoice_id = invoice(shop)
    page = clients[Role.ACCOUNTANT].post(
        url(shop, f"/payments/invoice/{invoice_id}/record"), data=payment_data("1500"),
        follow_redirects=True)
    assert "250.00 NOK is the customer&#39;s credit." in page.text
    assert document(shop, invoice_id).status == S.PAID
    assert in_shop(shop, lambda: services.customer_credit(shop["customer"], "NOK")) == 250


@pytest.mark.parametrize("amount, on, message", [
    ("abc", TODAY, "Not a number."),
    ("12,50", TODAY, "Use a dot for decimals"),
    ("0", TODAY, "The amount must be more than zero."),
    ("-5", TODAY, "The amount must be more than zero."),
    ("", TODAY, "Enter the amount."),
    ("10.001", TODAY, "10.001 has more decimals than NOK has."),
])
def test_a_bad_payment_is_shown_again_with_its_message_and_saves_nothing(
    shop, clients, amount, on, message
):
    invoice_id = invoice(shop)
    staff = clients[Role.STAFF]
    path = url(shop, f"/payments/invoice/{invoice_id}/record")
    fragment = staff.post(path, data=payment_data(amount, on), headers=htmx())
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert 'id="document-payments"' in fragment.text
    assert any(message in error for error in errors_in(fragment.text)), fragment.text
    whole = staff.post(path, data=payment_data(amount, on))
    assert whole.status_code == 422 and "<html" in whole.text and message in whole.text
    assert in_shop(shop, lambda: db.session.scalar(
        select(func.count()).select_from(Payment))) == 0


def test_a_missing_date_is_refused(shop, clients):
    invoice_id = invoice(shop)
    data = payment_data("100") | {"received_on": ""}
    response = clients[Role.STAFF].post(url(shop, f"/payments/invoice/{invoice_id}/record"),
                                        data=data)
    assert response.status_code == 422 and "Enter the date." in response.text


@pytest.mark.parametrize("role, may", [
    (Role.OWNER, True), (Role.ADMIN, True), (Role.ACCOUNTANT, True), (Role.STAFF, True),
    (Role.COLLECTOR, False), (Role.VIEWER, False)])
def test_who_may_record_payments(shop, clients, role, may):
    invoice_id = invoice(shop)
    client = clients[role]
    page = client.get(url(shop, f"/documents/{invoice_id}"))
    assert page.status_code == 200 and ("Record payment" in page.text) == may
    response = client.post(url(shop, f"/payments/invoice/{invoice_id}/record"),
                           data=payment_data("100"))
    assert response.status_code == (302 if may else 403)
    customer_page = client.post(url(shop, f"/payments/customer/{shop['customer']}/new"),
                                data=payment_data("100"))
    assert customer_page.status_code == (302 if may else 403)


@pytest.mark.parametrize("role, may", [
    (Role.ACCOUNTANT, True), (Role.ADMIN, True), (Role.STAFF, False), (Role.VIEWER, False)])
def test_only_bookkeepers_reverse_payments_and_refund(shop, clients, role, may):
    payment_id = pay(shop, "300")
    client = clients[role]
    page = client.get(url(shop, f"/payments/{payment_id}"))
    assert page.status_code == 200 and ("Reverse payment" in page.text) == may
    refund = client.post(url(shop, f"/payments/customer/{shop['customer']}/refund"),
                         data=payment_data("100"))
    assert refund.status_code == (302 if may else 403)
    credit = in_shop(shop, lambda: services.customer_credit(shop["customer"], "NOK"))
    assert credit == (200 if may else 300)
    reverse = client.post(url(shop, f"/payments/{payment_id}/reverse"))
    assert reverse.status_code == (302 if may else 403)


# --- the payments list and a payment's page -------------------------------------------------


def test_the_payments_list_filters_and_pages(shop, clients, monkeypatch):
    monkeypatch.setattr(payment_pages, "PAGE_SIZE", 2)
    first = invoice(shop, "1000")
    pay(shop, "1250", (first, "1250"), on=DAY, method="bank", reference="KID-1")
    pay(shop, "100", on=DAY + timedelta(days=3), method="cash", reference="TILL-7")
    pay(shop, "40", customer="other", on=DAY + timedelta(days=5), method="card",
        reference="CARD-3")
    viewer = clients[Role.VIEWER]

    def listed(**args) -> list[str]:
        page = viewer.get(url(shop, "/payments/"), query_string=args)
        assert page.status_code == 200
        return re.findall(r'class="mono">([A-Z]+-\d)<', page.text)

    assert listed() == ["CARD-3", "TILL-7"]  # newest first, two to a page
    assert listed(page=2) == ["KID-1"]
    assert listed(method="cash") == ["TILL-7"]
    assert listed(customer=shop["customer"]) == ["TILL-7", "KID-1"]
    assert listed(**{"from": (DAY + timedelta(days=1)).isoformat(),
                     "to": (DAY + timedelta(days=4)).isoformat()}) == ["TILL-7"]
    assert listed(unallocated="1") == ["CARD-3", "TILL-7"]  # credit left on both
    assert listed(q="havbris") == ["CARD-3"]
    fragment = viewer.get(url(shop, "/payments/?method=bank"),
                          headers=htmx(**{"HX-Target": "payment-results"}))
    assert "<html" not in fragment.text and "KID-1" in fragment.text
    other_tenant = CustomerFactory(tenant=TenantFactory()).id
    assert viewer.get(url(shop, f"/payments/?customer={other_tenant}")).status_code == 404


def test_a_payment_on_account_is_allocated_to_several_invoices_from_its_page(shop, clients):
    first, second = invoice(shop, "400"), invoice(shop, "800")  # 500.00 and 1,000.00
    accountant = clients[Role.ACCOUNTANT]
    response = accountant.post(url(shop, f"/payments/customer/{shop['customer']}/new"),
                               data=payment_data("1200", reference="on account"))
    assert response.status_code == 302
    payment_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = accountant.get(url(shop, f"/payments/{payment_id}"))
    assert "Allocate 1,200.00 NOK to open invoices" in page.text
    assert f'name="amount-{first}"' in page.text and f'name="amount-{second}"' in page.text
    too_much = accountant.post(url(shop, f"/payments/{payment_id}/allocate"),
                               data={f"amount-{first}": "500", f"amount-{second}": "800"})
    assert too_much.status_code == 422
    assert "Only 1200.00 NOK of the payment is left to allocate, not 1300.00." in too_much.text
    assert document(shop, first).status == S.ISSUED  # nothing saved half way
    bad = accountant.post(url(shop, f"/payments/{payment_id}/allocate"),
                          data={f"amount-{first}": "five"})
    assert bad.status_code == 422 and "Not a number." in bad.text
    done = accountant.post(url(shop, f"/payments/{payment_id}/allocate"),
                           data={f"amount-{first}": "500", f"amount-{second}": "700"},
                           follow_redirects=True)
    assert "1,200.00 NOK of the payment settles 2 invoices." in done.text
    assert (document(shop, first).status, document(shop, second).status) == (
        S.PAID, S.PARTLY_PAID)
    in_shop(shop, assert_books_balance)


def test_a_payment_is_reversed_and_credit_refunded_from_its_page(shop, clients):
    invoice_id = invoice(shop)
    payment_id = pay(shop, "1500", (invoice_id, "1250"))
    accountant = clients[Role.ACCOUNTANT]
    page = accountant.get(url(shop, f"/payments/{payment_id}"))
    assert "250.00 NOK" in page.text and "Refund" in page.text
    refunded = accountant.post(url(shop, f"/payments/customer/{shop['customer']}/refund"),
                               data=payment_data("300") | {
                                   "next": f"/t/{shop['slug']}/payments/{payment_id}"},
                               follow_redirects=True)
    assert "Not refunded: Fjord Bakeri AS has only 250.00 NOK to their credit." in (
        refunded.text)
    accountant.post(url(shop, f"/payments/customer/{shop['customer']}/refund"),
                    data=payment_data("50"))
    page = accountant.post(url(shop, f"/payments/{payment_id}/reverse"),
                           follow_redirects=True)
    assert "Reverse the refund first" in page.text
    refund_id = in_shop(shop, lambda: db.session.scalar(
        select(Payment.id).where(Payment.kind == "refund")))
    undone = accountant.post(url(shop, f"/payments/{refund_id}/reverse"),
                             follow_redirects=True)
    assert "The refund of 50.00 NOK is reversed." in undone.text
    page = accountant.post(url(shop, f"/payments/{payment_id}/reverse"),
                           follow_redirects=True)
    assert "The payment of 1,500.00 NOK is reversed." in page.text and "reversed" in page.text
    assert document(shop, invoice_id).status == S.ISSUED
    in_shop(shop, assert_books_balance)


# --- credit notes and proformas ---------------------------------------------------------


def test_a_credit_note_is_applied_to_the_customers_open_invoices_from_its_page(shop, clients):
    credited = invoice(shop, "400")  # 500.00, paid, then credited in full
    pay(shop, "500", (credited, "500"))
    note = in_shop(shop, lambda: issue_credit_note(db.session.get(Document, credited),
                                                   DAY).id)
    first, second = invoice(shop, "160"), invoice(shop, "800")  # 200.00 and 1,000.00
    invoice(shop, "100", customer="other")  # not offered: another customer's
    staff = clients[Role.STAFF]
    page = staff.get(url(shop, f"/documents/{note}"))
    assert "Apply to open invoices" in page.text and "500.00 NOK" in page.text
    assert f'name="amount-{first}"' in page.text and page.text.count('name="amount-') == 2
    refused = staff.post(url(shop, f"/payments/credit-note/{note}/apply"),
                         data={f"amount-{first}": "200", f"amount-{second}": "400"},
                         headers=htmx())
    assert refused.status_code == 422 and "Only 500.00 NOK of Credit note" in refused.text
    applied = staff.post(url(shop, f"/payments/credit-note/{note}/apply"),
                         data={f"amount-{first}": "200", f"amount-{second}": "300"},
                         follow_redirects=True)
    assert "500.00 NOK of Credit note CN-2026-0001 applied." in applied.text
    assert document(shop, first).status == S.PAID
    assert document(shop, second).open_amount == 700
    assert document(shop, note).open_amount == 0
    in_shop(shop, assert_books_balance)


def test_a_proforma_is_paid_by_recording_its_prepayment_not_by_hand(shop, clients):
    proforma = invoice(shop, "800", kind=K.PROFORMA)
    accountant = clients[Role.ACCOUNTANT]
    by_hand = accountant.post(url(shop, f"/documents/{proforma}/status"),
                              data={"status": "paid"}, follow_redirects=True)
    assert "cannot be set to paid by hand" in by_hand.text
    page = accountant.get(url(shop, f"/documents/{proforma}"))
    assert "Mark paid" not in page.text and "Record the prepayment" in page.text
    assert 'value="1000.00"' in page.text
    accountant.post(url(shop, f"/payments/invoice/{proforma}/record"),
                    data=payment_data("1000"))
    assert document(shop, proforma).status == S.PAID
    made = accountant.post(url(shop, f"/documents/{proforma}/convert"))
    final_id = int(made.headers["Location"].rstrip("/").split("/")[-1])
    final = document(shop, final_id)
    assert (final.kind, final.status, final.paid_total) == (K.INVOICE, S.PAID, D(1000))
    in_shop(shop, assert_books_balance)


# --- the customer's page: balance, statement --------------------------------------------


def test_the_customer_page_shows_balance_credit_and_the_statement(shop, clients):
    old = invoice(shop, "800", on=date(2026, 7, 1))  # 1,000.00 before the period
    bill = invoice(shop, "1000")  # 1,250.00 on DAY
    pay(shop, "1000", (old, "1000"), on=DAY + timedelta(days=1), reference="KID 77")
    pay(shop, "1500", (bill, "1250"), on=DAY + timedelta(days=2))  # 250.00 credit
    viewer = clients[Role.VIEWER]
    page = viewer.get(url(shop, f"/customers/{shop['customer']}"))
    balance = page.text.split('id="customer-balance"')[1].split("</section>")[0]
    assert "-250.00 NOK" in balance and "250.00 NOK" in balance  # balance, credit
    assert "Record payment" not in balance  # a viewer records nothing
    statement = page.text.split('id="statement"')[1].split("</section>")[0]
    assert "Invoice INV-2026-00002" in statement and "Payment (Bank), ref. KID 77" in statement
    assert "Invoice INV-2026-00001" not in statement  # before the period: the opening
    assert f'value="{date(2026, 8, 1)}"' in statement  # this month and the two before
    assert "1,000.00 NOK" in statement  # the opening balance
    assert "-250.00 NOK" in statement.split('id="closing-balance"')[1]
    period = viewer.get(url(shop, f"/payments/statement/{shop['customer']}"),
                        query_string={"from": "2026-07-01", "to": "2026-07-31"},
                        headers=htmx(**{"HX-Target": "statement"}))
    assert "<html" not in period.text and "Invoice INV-2026-00001" in period.text
    assert "Invoice INV-2026-00002" not in period.text


def test_the_statement_prints_as_a_letter(shop, clients):
    old = invoice(shop, "800", on=date(2026, 7, 1))
    invoice(shop, "1000")
    pay(shop, "1000", (old, "1000"), on=DAY + timedelta(days=1), reference="KID 77")
    response = clients[Role.VIEWER].get(
        url(shop, f"/payments/statement/{shop['customer']}.pdf"),
        query_string={"from": "2026-09-01", "to": "2026-10-20"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "statement-" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert "Account statement" in text and "Fjord Bakeri AS" in text
    assert "Nordlys Service AS" in text and "Kaia 2" in text
    assert "Invoice INV-2026-00002" in text and "Payment (Bank), ref. KID 77" in text
    assert "Opening balance" in text and "Closing balance" in text
    assert "Customer no." in text and "From:\n1 Sept 2026" in text
    # 1,000.00 before the period, + 1,250.00, − 1,000.00.
    assert "Opening balance\n1,000.00" in text and "Closing balance\n1,250.00" in text
    assert "The balance due is NOK1,250.00." in text


def test_the_invoice_pdf_prints_the_balance_less_payments_and_credit(shop, clients):
    first = invoice(shop, "1000")  # 1,250.00
    pay(shop, "2000", (first, "1250"))  # 750.00 credit
    second = invoice(shop, "400")  # 500.00, open

    def printed():
        customer = db.session.get(Customer, shop["customer"])
        from saas.billing.documents import issuing
        from saas.billing.documents import services as documents

        draft = documents.create_document(K.INVOICE, customer)
        documents.update_header(draft, {"show_balance": True})
        documents.add_line(draft, {"description": "Service", "quantity": D(1),
                                   "unit_price": D("80"), "vat_rate_id": shop["vat"]})
        issuing.issue_document(draft, on=TODAY)
        return draft.id, draft.balance_before

    draft_id, balance = in_shop(shop, printed)
    assert balance == D(500) - D(750) and document(shop, second).open_amount == 500
    text = pdf_text(clients[Role.VIEWER].get(url(shop, f"/documents/{draft_id}/pdf")).data)
    assert "Balance before this invoice\n-NOK250.00" in text
    assert "Total due including balance\n-NOK150.00" in text  # 100.00 − 250.00
