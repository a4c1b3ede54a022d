"""The pure parts of automations: conditions, line templates, template fields."""

from __future__ import annotations

from decimal import Decimal

import pytest

from saas.automations.conditions import Facts, clean, describe, facts_of, matches, split_tags
from saas.automations.lines import LinesError, LineTemplate, format_lines, parse_lines
from saas.automations.templating import SAMPLE, problems, render_text, unknown_fields

D = Decimal
ENROLLED = Facts(customer_tags=frozenset({"enrolment", "evening"}))
PAID_PROFORMA = Facts(document_kind="proforma", status_from="issued", status_to="paid")


@pytest.mark.parametrize(("conditions", "facts", "expected"), [
    ({}, Facts(), True),
    (None, ENROLLED, True),
    ({"customer_tag": "enrolment"}, ENROLLED, True),
    ({"customer_tag": " Enrolment "}, ENROLLED, True),  # tags compare without case
    ({"customer_tag": "enrolment"}, Facts(), False),
    ({"customer_tag": "alumni"}, ENROLLED, False),
    ({"document_kind": "proforma"}, PAID_PROFORMA, True),
    ({"document_kind": "invoice"}, PAID_PROFORMA, False),
    ({"status_from": "issued", "status_to": "paid"}, PAID_PROFORMA, True),
    ({"status_to": "overdue"}, PAID_PROFORMA, False),
    ({"document_kind": "proforma", "customer_tag": "enrolment"}, PAID_PROFORMA, False),
    ({"document_kind": "", "customer_tag": ""}, PAID_PROFORMA, True),  # blanks are unset
])
def test_conditions_hold_only_when_every_one_set_holds(conditions, facts, expected):
    assert matches(conditions, facts) is expected


def test_an_events_data_gives_the_facts():
    facts = facts_of({"kind": "proforma", "from": "issued", "to": "paid"}, ["Enrolment"])
    assert facts == Facts(frozenset({"Enrolment"}), "proforma", "issued", "paid")
    assert matches({"customer_tag": "enrolment", "status_to": "paid"}, facts)


@pytest.mark.parametrize(("text", "tags"), [
    ("", []),
    ("enrolment", ["enrolment"]),
    (" Enrolment, evening ,enrolment,, ", ["enrolment", "evening"]),
])
def test_tags_are_split_normalised_and_once(text, tags):
    assert split_tags(text) == tags


def test_conditions_are_kept_clean_and_told_in_words():
    assert clean({"customer_tag": " VIP ", "document_kind": "", "other": "x"}) == {
        "customer_tag": "vip"}
    assert describe({"customer_tag": "enrolment", "document_kind": "proforma"}) == (
        "customer tagged “enrolment”, document is a proforma")
    assert describe({}) == "always"


@pytest.mark.parametrize(("text", "lines"), [
    ("1; Accounting course; 1000; S25",
     [LineTemplate(D("1"), "Accounting course", D("1000"), "S25")]),
    ("2; COURSE-01", [LineTemplate(D("2"), "COURSE-01")]),  # the product's price and VAT
    ("# a comment\n\n1,5; Extra hours; 450,50;",
     [LineTemplate(D("1.5"), "Extra hours", D("450.50"))]),
])
def test_line_templates_are_read_row_by_row(text, lines):
    assert parse_lines(text) == lines
    assert parse_lines(format_lines(lines)) == lines
    assert [LineTemplate.from_settings(line.as_settings()) for line in lines] == lines


@pytest.mark.parametrize(("text", "message"), [
    ("", "Write at least one line."),
    ("one; Course; 10; S25", "Row 1: the quantity “one” is not a number."),
    ("1; Course\n0; Course", "Row 2: the quantity must be more than 0."),
    ("1; ; 10", "Row 1: name a product SKU or describe the line."),
    ("1; Course; -5", "Row 1: the unit price must be a positive number."),
    ("1", "Row 1: write “quantity; product SKU or description; unit price; VAT code”"),
])
def test_a_wrong_row_is_named(text, message):
    with pytest.raises(LinesError) as raised:
        parse_lines(text)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(("source", "unknown"), [
    ("Dear {{ customer.name }}", []),
    ("{{ customer.nmae }} and {{ tenant.name }}", ["customer.nmae (line 1)"]),
    ("Hello\n{{ client.name }}", ["client (line 2)"]),
    ("{% for line in document.lines %}{{ line.description }}{% endfor %}", []),
    ("{{ document['numbr'] }}", ["document.numbr (line 1)"]),
    ("{% set total = document.gross_total %}{{ total }} {{ today }}", []),
])
def test_template_fields_are_checked_by_name(source, unknown):
    assert unknown_fields(source) == unknown


@pytest.mark.parametrize(("source", "message"), [
    ("{{ customer.name }}", None),
    ("{{ customer.nmae }}", "Unknown field: customer.nmae (line 1). See the field reference"
                            " for the fields there are."),
    ("{{ customer.name", "Line 1: unexpected end of template"),
    ("{% for line in document.lines %}{{ line.price }}{% endfor %}",
     "The template cannot be filled in: 'dict object' has no attribute 'price'"),
    ("{{ customer.__class__.__mro__ }}", "Unknown field: customer.__class__ (line 1)"),
    ("{% set lines = document.lines %}{{ lines.__class__.__mro__ }}",  # the sandbox says no
     "The template cannot be filled in: access to attribute '__class__' of 'list' object is"
     " unsafe."),
])
def test_a_template_that_cannot_be_filled_in_is_told_why(source, message):
    found = problems(source)
    if message is None:
        assert found is None
    else:
        assert found is not None and found.startswith(message)


def test_a_template_is_filled_in_as_plain_text():
    values = {**SAMPLE, "customer": {**SAMPLE["customer"], "name": "Pop & Fiii <SRL>"}}
    assert render_text("To {{ customer.name }} & co", values) == "To Pop & Fiii <SRL> & co"
