"""The journal's posting rules (pure): every posting balances, on the right sides."""

from __future__ import annotations

from decimal import Decimal

import pytest

from saas.billing.payments import ledger
from saas.billing.payments.accounts import running
from saas.billing.payments.ledger import (
    BANK,
    CARD,
    CASH,
    CUSTOMER_CREDIT,
    PAYABLES,
    RECEIVABLES,
    REVENUE,
    VAT_PAYABLE,
    Posting,
    allocation_postings,
    balanced,
    document_postings,
    payment_postings,
    receipt_postings,
)
from saas.billing.tax import VatRow

D = Decimal


def row(code: str, rate: str, net: str, vat: str) -> VatRow:
    return VatRow(code=code, rate=D(rate), category="standard", note="", net=D(net),
                  vat=D(vat))


def sides(postings: list[Posting]) -> list[tuple[str, Decimal, Decimal, str]]:
    return [(p.account, p.debit, p.credit, p.vat_code) for p in postings]


def test_an_invoice_debits_receivables_and_credits_revenue_and_vat_per_code():
    postings = document_postings("invoice", 7, D("1370.00"),
                                 [row("S25", "25", "1000.00", "250.00"),
                                  row("R12", "12", "100.00", "12.00"),
                                  row("Z", "0", "8.00", "0.00")])
    assert sides(postings) == [
        (RECEIVABLES, D("1370.00"), 0, ""),
        (REVENUE, 0, D("1000.00"), "S25"), (VAT_PAYABLE, 0, D("250.00"), "S25"),
        (REVENUE, 0, D("100.00"), "R12"), (VAT_PAYABLE, 0, D("12.00"), "R12"),
        (REVENUE, 0, D("8.00"), "Z"),  # no VAT line for a zero rate
    ]
    assert postings[0].customer_id == 7 and balanced(postings)


def test_a_credit_note_with_negative_totals_is_posted_the_other_way_round():
    postings = document_postings("credit_note", 7, D("-250.00"),
                                 [row("S25", "25", "-200.00", "-50.00")])
    assert sides(postings) == [(RECEIVABLES, 0, D("250.00"), ""),
                               (REVENUE, D("200.00"), 0, "S25"),
                               (VAT_PAYABLE, D("50.00"), 0, "S25")]
    assert balanced(postings)


@pytest.mark.parametrize("kind, gross", [("invoice", "-1.00"), ("credit_note", "1.00")])
def test_a_document_with_the_wrong_sign_is_not_posted(kind, gross):
    with pytest.raises(ValueError, match="wrong sign"):
        document_postings(kind, 1, D(gross), [])


@pytest.mark.parametrize("method, account", [
    ("bank", BANK), ("card", CARD), ("stripe", CARD), ("cash", CASH), ("offset", PAYABLES)])
def test_money_received_goes_through_its_methods_account_into_customer_credit(method,
                                                                              account):
    received = payment_postings("received", method, 3, D("99.95"))
    assert sides(received) == [(account, D("99.95"), 0, ""),
                               (CUSTOMER_CREDIT, 0, D("99.95"), "")]
    refunded = payment_postings("refund", method, 3, D("99.95"))
    assert sides(refunded) == [(account, 0, D("99.95"), ""),
                               (CUSTOMER_CREDIT, D("99.95"), 0, "")]
    assert balanced(received) and balanced(refunded)
    assert received[1].customer_id == refunded[1].customer_id == 3


def test_an_allocation_moves_credit_onto_receivables():
    postings = allocation_postings(3, D("500.00"))
    assert sides(postings) == [(CUSTOMER_CREDIT, D("500.00"), 0, ""),
                               (RECEIVABLES, 0, D("500.00"), "")]
    assert all(p.customer_id == 3 for p in postings) and balanced(postings)


@pytest.mark.parametrize("amount, allocated", [("1000", "1000"), ("1200", "1000"),
                                               ("0.01", "0.01"), ("350", "300")])
def test_a_receipt_is_the_payment_and_its_allocations_netted(amount, allocated):
    amount, allocated = D(amount), D(allocated)
    receipt = receipt_postings("bank", 7, amount, allocated)
    separate = payment_postings("received", "bank", 7, amount) + allocation_postings(
        7, allocated)
    assert balanced(receipt)
    for account in (BANK, RECEIVABLES, CUSTOMER_CREDIT):
        assert (sum((p.debit - p.credit for p in receipt if p.account == account), D(0))
                == sum((p.debit - p.credit for p in separate if p.account == account), D(0)))
    assert all(p.debit or p.credit for p in receipt)  # no line of nothing
    assert len(receipt) == (2 if amount == allocated else 3)


@pytest.mark.parametrize("amount, allocated", [("100", "0"), ("100", "100.01"),
                                               ("100", "-1")])
def test_a_receipt_settles_something_and_not_more_than_came(amount, allocated):
    with pytest.raises(ValueError, match="cannot settle"):
        receipt_postings("bank", 7, D(amount), D(allocated))


def test_an_unbalanced_posting_is_refused_before_it_is_written():
    assert not balanced([Posting(BANK, debit=D("1.00")), Posting(REVENUE, credit=D("0.99"))])
    with pytest.raises(ValueError, match="unbalanced"):
        ledger._write([Posting(BANK, debit=D("1.00"))], description="test")


def test_every_account_has_a_name():
    accounts = {RECEIVABLES, REVENUE, VAT_PAYABLE, BANK, CARD, CASH, PAYABLES,
                CUSTOMER_CREDIT, *ledger.METHOD_ACCOUNTS.values()}
    assert accounts <= set(ledger.ACCOUNT_NAMES)


def test_a_statement_runs_its_balance_from_the_opening_one():
    assert running(D("100"), [D("50"), D("-120"), D("0.05")]) == [
        D("150"), D("30"), D("30.05")]
    assert running(D("0"), []) == []
