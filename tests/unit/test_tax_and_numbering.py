"""Pure rules of documents: line nets, the VAT breakdown, number formats, state machines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saas.billing import tax
from saas.billing.documents import numbering
from saas.billing.documents.states import (
    DocumentKind,
    DocumentStatus,
    TransitionRefused,
    check_transition,
)

D = Decimal
K, S = DocumentKind, DocumentStatus


@pytest.mark.parametrize(("quantity", "price", "currency", "expected"), [
    ("3", "33.3333", "EUR", "100.00"),  # 99.9999 rounds up
    ("1", "0.005", "EUR", "0.01"),  # a half cent goes up
    ("-1", "0.005", "EUR", "-0.01"),  # and away from zero on credit notes
    ("2.5", "1000", "JPY", "2500"),
    ("1", "1.0005", "KWD", "1.001"),
    ("0.3333", "3", "NOK", "1.00"),
])
def test_line_net_rounds_once_half_up_to_the_minor_unit(quantity, price, currency, expected):
    assert tax.line_net(D(quantity), D(price), currency) == D(expected)


def test_vat_is_computed_per_rate_on_the_rate_sum_not_per_line():
    # Three lines of 0.10 at 25 %: per line 0.03 each (0.09); per rate 0.30 × 25 % = 0.08.
    lines = [tax.TaxedLine(net=D("0.10"), vat_code="S", vat_rate=D(25))] * 3
    totals = tax.totals(lines, "EUR")
    assert [(row.net, row.vat) for row in totals.rows] == [(D("0.30"), D("0.08"))]
    assert (totals.net, totals.vat, totals.gross) == (D("0.30"), D("0.08"), D("0.38"))


def test_the_breakdown_keeps_codes_apart_and_carries_the_exemption_note():
    lines = [
        tax.TaxedLine(net=D("100.00"), vat_code="S25", vat_rate=D(25)),
        tax.TaxedLine(net=D("50.00"), vat_code="AE", vat_rate=D(0),
                      vat_category="reverse_charge", vat_note="Reverse charge"),
        tax.TaxedLine(net=D("20.00"), vat_code="S25", vat_rate=D(25)),
    ]
    totals = tax.totals(lines, "NOK")
    assert [(r.code, r.net, r.vat, r.note) for r in totals.rows] == [
        ("AE", D("50.00"), D("0.00"), "Reverse charge"), ("S25", D("120.00"), D("30.00"), "")]
    assert totals.gross == D("200.00")


def test_an_empty_document_totals_zero_in_its_currency():
    totals = tax.totals([], "JPY")
    assert totals.rows == () and totals.gross == D(0)


money = st.decimals(min_value=D("-10000"), max_value=D("10000"), places=2)
rates = st.sampled_from([D(0), D(12), D(15), D(25)])


@given(st.lists(st.tuples(money, rates), max_size=30))
def test_totals_add_up_exactly(pairs):
    lines = [tax.TaxedLine(net=net, vat_code=f"V{rate}", vat_rate=rate) for net, rate in pairs]
    totals = tax.totals(lines, "EUR")
    assert totals.net == sum((net for net, _ in pairs), D(0))
    assert totals.vat == sum((row.vat for row in totals.rows), D(0))
    assert totals.gross == totals.net + totals.vat
    for row in totals.rows:  # within half a cent of the exact VAT
        assert abs(row.vat - row.net * row.rate / 100) <= D("0.005")


@pytest.mark.parametrize(("pattern", "reset", "day", "counter", "number"), [
    ("INV-{yyyy}-{counter:05}", "yearly", date(2026, 1, 5), 7, "INV-2026-00007"),
    ("{yy}{mm}/{counter:03}", "monthly", date(2026, 11, 30), 12, "2611/012"),
    ("F{counter}", "never", date(2030, 6, 1), 123456, "F123456"),
    ("{counter:04}/{yyyy}", "yearly", date(2026, 3, 1), 10000, "10000/2026"),
])
def test_numbers_follow_their_format(pattern, reset, day, counter, number):
    assert numbering.check_format(pattern, reset) == pattern
    assert numbering.format_number(pattern, day, counter) == number


@pytest.mark.parametrize(("reset", "day", "key"), [
    ("yearly", date(2026, 12, 31), "2026"), ("monthly", date(2026, 2, 1), "2026-02"),
    ("never", date(2026, 2, 1), ""),
])
def test_period_keys(reset, day, key):
    assert numbering.period_key(reset, day) == key


@pytest.mark.parametrize(("pattern", "reset", "message"), [
    ("INV-{yyyy}", "yearly", "{counter} exactly once"),
    ("{counter}-{counter}", "never", "{counter} exactly once"),
    ("INV-{counter}", "yearly", "needs {yyyy} or {yy}"),
    ("{yyyy}-{counter}", "monthly", "needs {mm}"),
    ("{year}-{counter}", "never", "unknown field {year}"),
    ("{yyyy:>5}-{counter}", "yearly", "is not allowed"),
    ("INV-{counter", "never", "unmatched brace"),
    ("{counter}", "weekly", "reset must be one of"),
    ("", "never", "1 to 60 characters"),
])
def test_bad_formats_are_refused_with_the_reason(pattern, reset, message):
    with pytest.raises(numbering.BadNumberFormat, match=message.replace("{", r"\{")):
        numbering.check_format(pattern, reset)


@pytest.mark.parametrize(("kind", "current", "target", "allowed"), [
    (K.QUOTE, S.DRAFT, S.SENT, True),
    (K.QUOTE, S.SENT, S.ACCEPTED, True),
    (K.QUOTE, S.DECLINED, S.ACCEPTED, False),
    (K.QUOTE, S.ACCEPTED, S.CONVERTED, True),
    (K.QUOTE, S.DRAFT, S.CONVERTED, False),
    (K.ORDER, S.DRAFT, S.CONFIRMED, True),
    (K.ORDER, S.CONFIRMED, S.INVOICED, True),
    (K.PROFORMA, S.ISSUED, S.CONVERTED, False),
    (K.PROFORMA, S.PAID, S.CONVERTED, True),
    (K.INVOICE, S.DRAFT, S.PAID, False),
    (K.INVOICE, S.ISSUED, S.CREDITED, True),
    (K.CREDIT_NOTE, S.ISSUED, S.CREDITED, False),
])
def test_state_machines(kind, current, target, allowed):
    if allowed:
        check_transition(kind, current, target)
    else:
        with pytest.raises(TransitionRefused):
            check_transition(kind, current, target)


def test_every_kind_issues_into_a_state_of_its_own_machine():
    for kind in DocumentKind:
        check_transition(kind, S.DRAFT, kind.issued_status)
        assert DocumentKind.from_slug(kind.slug) is kind
