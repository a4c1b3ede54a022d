"""Payments, allocations, credit notes, refunds and their undoing (R3.6, R6): the services,
with the books checked after every posting (tests/books.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, issuing
from saas.billing.documents import services as documents
from saas.billing.documents.models import Document
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments import ledger, services
from saas.billing.payments.accounts import account_statement
from saas.billing.payments.models import JournalEntry, JournalLine, Payment
from saas.billing.payments.services import PaymentError
from saas.extensions import db
from saas.tenants import scoping
from tests.books import assert_books_balance, issue_credit_note, issue_invoice
from tests.factories import (
    CustomerFactory,
    DocumentFactory,
    TenantFactory,
    VatRateFactory,
)

K, S = DocumentKind, DocumentStatus
D = Decimal
DAY = date(2026, 10, 1)


@pytest.fixture()
def shop(db_session):
    """A tenant with two customers and a 25 % VAT rate, entered for the test."""
    tenant = TenantFactory(name="Nordlys Service AS")
    scoping.set_current_tenant(tenant.id)
    vat = VatRateFactory(tenant=tenant, code="S25", rate=D("25.00"))
    fjord = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS", currency="NOK")
    other = CustomerFactory(tenant=tenant, name="Havbris Hotell AS", currency="NOK")
    with clock.frozen(DAY + timedelta(days=40)):
        yield {"tenant": tenant, "vat": vat.id, "customer": db.session.get(Customer, fjord.id),
               "other": db.session.get(Customer, other.id)}


def invoice(shop, net: str = "1000", customer: str = "customer", on: date = DAY) -> Document:
    """An issued invoice of the net plus 25 % VAT (1000 → 1,250.00)."""
    return issue_invoice(shop[customer], shop["vat"], net, on)


def pay(shop, amount: str, *parts: tuple[Document, str], on: date = DAY, **options) -> Payment:
    payment = services.record_payment(shop["customer"], D(amount), on,
                                      allocations=[(doc, D(part)) for doc, part in parts],
                                      **options)
    assert_books_balance()
    return payment


def test_issuing_posts_the_invoice_to_receivables_revenue_and_vat(shop):
    first = invoice(shop, "1000")
    assert_books_balance()
    [entry] = db.session.scalars(select(JournalEntry)).all()
    assert (entry.kind, entry.document_id, entry.posted_on) == ("invoice", first.id, DAY)
    assert [(line.account, line.debit, line.credit) for line in entry.lines] == [
        (ledger.RECEIVABLES, D("1250.00"), 0), (ledger.REVENUE, 0, D("1000.00")),
        (ledger.VAT_PAYABLE, 0, D("250.00"))]


def test_partial_payments_leave_the_invoice_partly_paid_until_the_last(shop):
    bill = invoice(shop)
    pay(shop, "500", (bill, "500"))
    assert (bill.status, bill.paid_total, bill.open_amount) == (S.PARTLY_PAID, D(500), D(750))
    pay(shop, "750", (bill, "750"))
    assert (bill.status, bill.open_amount) == (S.PAID, D(0))


def test_one_payment_settles_several_invoices(shop):
    first, second = invoice(shop, "1000"), invoice(shop, "600")
    payment = pay(shop, "2000", (first, "1250"), (second, "750"))
    assert [first.status, second.status] == [S.PAID, S.PAID]
    assert services.unallocated(payment) == 0
    assert services.customer_credit(shop["customer"].id, "NOK") == 0


def test_an_overpayment_is_credit_allocated_later_or_refunded(shop):
    first = invoice(shop)
    payment = pay(shop, "1500", (first, "1250"))
    assert first.status == S.PAID
    assert services.customer_credit(shop["customer"].id, "NOK") == D(250)
    later = invoice(shop, "160")  # 200.00
    services.allocate(payment, later, D(200), on=DAY)
    assert_books_balance()
    assert later.status == S.PAID and services.unallocated(payment) == D(50)
    with pytest.raises(PaymentError, match="has only 50.00 NOK to their credit"):
        services.refund(shop["customer"], D(60), DAY)
    services.refund(shop["customer"], D(50), DAY, reference="Back to 1503.10.12345")
    assert_books_balance()
    assert services.customer_credit(shop["customer"].id, "NOK") == 0
    with pytest.raises(PaymentError, match="Only 0.00 NOK of the payment is left"):
        services.allocate(payment, invoice(shop, "8"), D(10), on=DAY)


def test_a_payment_on_account_is_credit_until_allocated(shop):
    payment = pay(shop, "300")
    assert services.customer_credit(shop["customer"].id, "NOK") == D(300)
    first, second = invoice(shop, "100"), invoice(shop, "200")  # 125.00 and 250.00
    services.allocate_all(payment, [(first, D(125)), (second, D(175))], on=DAY)
    assert_books_balance()
    assert (first.status, second.status, second.open_amount) == (S.PAID, S.PARTLY_PAID, D(75))


def test_a_credit_note_settles_the_invoice_it_credits(shop):
    bill = invoice(shop)  # 1,250.00
    note = issue_credit_note(bill, DAY, quantity="0.2")  # 250.00 of it
    assert_books_balance()
    assert note.gross_total == D("-250.00") and note.paid_total == D("-250.00")
    # A correction is not a payment: the invoice is open for the rest, still "issued".
    assert (bill.status, bill.open_amount) == (S.ISSUED, D(1000))
    entry = db.session.scalar(select(JournalEntry).where(JournalEntry.document_id == note.id))
    assert [(line.account, line.debit, line.credit) for line in entry.lines] == [
        (ledger.RECEIVABLES, 0, D("250.00")), (ledger.REVENUE, D("200.00"), 0),
        (ledger.VAT_PAYABLE, D("50.00"), 0)]
    pay(shop, "1000", (bill, "1000"))
    assert bill.status == S.PAID


def test_what_is_left_of_a_credit_note_is_applied_to_other_invoices(shop):
    bill = invoice(shop)
    pay(shop, "1250", (bill, "1250"))
    note = issue_credit_note(bill, DAY)  # all of it, after it was paid
    assert bill.status == S.CREDITED and services.credit_note_left(note) == D(1250)
    assert_books_balance()
    first, second = invoice(shop, "400"), invoice(shop, "800")  # 500.00 and 1,000.00
    services.apply_credit_note_all(note, [(first, D(500)), (second, D(700))], on=DAY)
    assert_books_balance()
    assert (first.status, second.status, second.open_amount) == (S.PAID, S.ISSUED, D(300))
    assert services.credit_note_left(note) == D(50)
    with pytest.raises(PaymentError, match="Only 50.00 NOK of Credit note CN-2026-0001"):
        services.apply_credit_note(note, second, D(60), on=DAY)
    [applied, _] = services.allocations_of(note)
    services.reverse_allocation(applied, on=DAY)
    assert_books_balance()
    assert first.status == S.ISSUED and services.credit_note_left(note) == D(550)


def test_undoing_an_allocation_and_a_payment_reopens_the_invoice_step_by_step(shop):
    bill = invoice(shop)
    first = pay(shop, "1000", (bill, "1000"))
    second = pay(shop, "250", (bill, "250"))
    assert bill.status == S.PAID
    [allocation] = second.allocations
    services.reverse_allocation(allocation, on=DAY)
    assert_books_balance()
    assert (bill.status, bill.open_amount) == (S.PARTLY_PAID, D(250))
    assert services.customer_credit(shop["customer"].id, "NOK") == D(250)  # back as credit
    services.reverse_payment(first, on=DAY)
    assert_books_balance()
    assert (bill.status, bill.paid_total) == (S.ISSUED, D(0))
    assert first.is_reversed and all(a.reversed_at for a in first.allocations)
    with pytest.raises(PaymentError, match="reversed already"):
        services.reverse_payment(first)
    with pytest.raises(PaymentError, match="reversed already"):
        services.reverse_allocation(allocation)
    # Reversals are new entries; the originals stay as they were.
    kinds = db.session.scalars(select(JournalEntry.kind).order_by(JournalEntry.id)).all()
    assert kinds.count("reversal") == 3  # an allocation, the payment and its allocation


def test_a_payment_whose_credit_was_refunded_cannot_be_undone_before_the_refund(shop):
    payment = pay(shop, "400")
    refund = services.refund(shop["customer"], D(300), DAY)
    with pytest.raises(PaymentError, match="Reverse the refund first"):
        services.reverse_payment(payment)
    services.reverse_payment(refund)
    services.reverse_payment(payment)
    assert_books_balance()
    assert services.customer_credit(shop["customer"].id, "NOK") == 0


def _draft(shop):
    return DocumentFactory(tenant=shop["tenant"], customer=shop["customer"])


REFUSED = {
    "another customer's invoice": (
        lambda shop: (invoice(shop, customer="other"), "100", {}),
        "is another customer's"),
    "more than is open": (lambda shop: (invoice(shop), "1250.01", {"amount": "2000"}),
                          "has only 1250.00 NOK open"),
    "another currency": (lambda shop: (invoice(shop), "100", {"currency": "EUR"}),
                         "is in NOK, not EUR"),
    "a draft invoice": (lambda shop: (_draft(shop), "100", {}),
                        "Draft invoice is not an issued invoice to settle"),
    "a zero allocation": (lambda shop: (invoice(shop), "0", {}), "more than zero"),
    "a zero payment": (lambda shop: (invoice(shop), "10", {"amount": "0"}), "more than zero"),
    "a negative payment": (lambda shop: (invoice(shop), "10", {"amount": "-5"}),
                           "more than zero"),
    "a cent fraction": (lambda shop: (invoice(shop), "10.001", {}), "more decimals than NOK"),
    "more allocated than paid": (lambda shop: (invoice(shop), "600", {"amount": "500"}),
                                 "add up to more than the 500 NOK received"),
    "an unknown method": (lambda shop: (invoice(shop), "10", {"method": "cheque"}),
                          "is not a payment method"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_payment_says_why_and_records_nothing(shop, case):
    make, message = REFUSED[case]
    document, part, options = make(shop)
    amount = D(options.pop("amount", "1000"))
    before = document.paid_total, document.status
    with pytest.raises(PaymentError, match=message):
        services.record_payment(shop["customer"], amount, DAY,
                                allocations=[(document, D(part))], **options)
    assert not [obj for obj in db.session.new if isinstance(obj, Payment)]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert (document.paid_total, document.status) == before
    assert_books_balance()


def test_an_invoice_is_not_paid_by_hand(shop):
    bill = invoice(shop)
    with pytest.raises(DocumentError, match="paid by recording a payment"):
        documents.move(bill, S.PAID)
    pay(shop, "1250", (bill, "1250"))
    with pytest.raises(DocumentError, match="open again by undoing it"):
        documents.move(bill, S.ISSUED)


def test_a_paid_proforma_becomes_an_invoice_settled_by_the_prepayment(shop):
    proforma = issue_invoice(shop["customer"], shop["vat"], "800", DAY, kind=K.PROFORMA)
    with pytest.raises(PaymentError, match="paid in full: 1000.00 NOK"):
        services.record_prepayment(proforma, D(900), DAY)
    services.record_prepayment(proforma, D(1000), DAY, reference="PF")
    assert proforma.status == S.PAID
    assert_books_balance()  # a proforma is not in the books; the money is credit
    assert services.customer_credit(shop["customer"].id, "NOK") == D(1000)
    final = conversion.convert_proforma(proforma)
    assert_books_balance()
    assert (final.status, final.paid_total, proforma.status) == (S.PAID, D(1000), S.CONVERTED)
    assert services.customer_credit(shop["customer"].id, "NOK") == 0


def test_the_balance_counts_what_is_open_less_the_credit(shop):
    customer = shop["customer"]
    first, second = invoice(shop, "1000"), invoice(shop, "400")  # 1,250.00 and 500.00
    issue_credit_note(first, DAY, quantity="0.2")  # −250.00, applied to the first
    pay(shop, "1200", (second, "500"))  # 700.00 left as credit
    assert issuing.customer_balance(customer.id, "NOK") == D("1000") - D("700")
    assert issuing.customer_balance(customer.id, "NOK", excluding=first.id) == D(-700)
    assert issuing.customer_balance(customer.id, "EUR") == 0
    # R3.12: an invoice printed with the balance shows it as it was before the invoice.
    draft = documents.create_document(K.INVOICE, customer)
    documents.update_header(draft, {"show_balance": True})
    documents.add_line(draft, {"description": "More", "quantity": D(1),
                               "unit_price": D("100"), "vat_rate_id": shop["vat"]})
    issuing.issue_document(draft, on=DAY, render=False)
    assert draft.balance_before == D(300)


def test_the_statement_runs_the_balance_through_the_period(shop):
    customer = shop["customer"]
    old = invoice(shop, "800", on=DAY - timedelta(days=40))  # 1,000.00 before the period
    bill = invoice(shop, "1000", on=DAY + timedelta(days=1))
    bounced = pay(shop, "1000", (old, "1000"), on=DAY + timedelta(days=2),
                  reference="KID 1234")
    pay(shop, "1500", (bill, "1250"), on=DAY + timedelta(days=3))
    services.refund(customer, D(100), DAY + timedelta(days=4))
    services.reverse_payment(bounced, on=DAY + timedelta(days=5))
    statement = account_statement(customer, "NOK", DAY, DAY + timedelta(days=30))
    assert statement.opening == D(1000)
    assert [(line.text, line.charge, line.payment, line.balance)
            for line in statement.lines] == [
        ("Invoice INV-2026-00002", D(1250), 0, D(2250)),
        ("Payment (Bank), ref. KID 1234", 0, D(1000), D(1250)),
        ("Payment (Bank)", 0, D(1500), D(-250)),
        ("Refund (Bank)", D(100), 0, D(-150)),
        ("Payment (Bank), ref. KID 1234 reversed", D(1000), 0, D(850)),
    ]
    # Open: the old invoice again (1,000.00); credit: 1,500 − 1,250 − 100 = 150.
    assert statement.closing == issuing.customer_balance(customer.id, "NOK") == D(850)


def test_documents_issued_before_the_journal_are_posted_once_by_the_command(app, shop):
    posted, paid_by_hand = invoice(shop, "1000"), invoice(shop, "400")
    db.session.execute(delete(JournalLine))  # as issued before migration 0014
    db.session.execute(delete(JournalEntry))
    paid_by_hand.status = S.PAID  # as set by hand before payments existed
    db.session.flush()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["payments", "post-missing", "--tenant", shop["tenant"].slug])
    assert result.exit_code == 0, result.output
    assert "2 documents posted." in result.output
    assert f"paid by hand, with no payment recorded: {paid_by_hand.number}" in result.output
    entries = db.session.scalars(select(JournalEntry.document_id)).all()
    assert sorted(entries) == sorted([posted.id, paid_by_hand.id])
    again = runner.invoke(args=["payments", "post-missing", "--tenant", shop["tenant"].slug])
    assert "0 documents posted in all." in again.output
