"""Document templates' fields and their rendering (pure: plain dicts in, text out).

A template is Jinja text run in a sandbox with autoescape and StrictUndefined, so a
template can read only the fields given and a misspelt field is an error, not a blank.
``problems`` reports such errors when the template is saved, naming the field; fields are
checked by name first (``{{ customer.nmae }}`` names ``customer.nmae``), then the template
is rendered once with the sample values to catch whatever else fails.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

# Every field a template may use, with what it holds (the field reference on the editor).
FIELDS: dict[str, dict[str, str]] = {
    "customer": {
        "name": "The customer's name",
        "number": "Customer number",
        "address": "Address on one line (street, postal code and city)",
        "address_line1": "Street address",
        "postal_code": "Postal code",
        "city": "City",
        "country": "Country code",
        "org_number": "Organisation number",
        "vat_id": "VAT id",
        "email": "Invoice e-mail address",
        "contact_name": "The first contact's name",
        "tags": "Tags, comma-separated",
    },
    "tenant": {
        "name": "Your company's name",
        "address": "Your address on one line",
        "org_number": "Your organisation number",
        "vat_id": "Your VAT id",
    },
    "document": {
        "number": "The document's number (the deal that ran the rule)",
        "title": "e.g. “Proforma invoice PF-2026-0001”",
        "kind": "quote, order, proforma, invoice ...",
        "issue_date": "Issue date",
        "due_date": "Due date",
        "currency": "Currency code",
        "net_total": "Total without VAT",
        "vat_total": "VAT",
        "gross_total": "Total to pay",
        "lines": "The lines: each has description, quantity, unit_price, net",
    },
}
TOP_LEVEL = {"today": "Today's date (where your company is)"}
ROOTS = frozenset(FIELDS) | frozenset(TOP_LEVEL)

SAMPLE: dict[str, Any] = {
    "customer": {"name": "Ana Popescu", "number": 10001, "address": "Str. Lalelelor 5, 010101"
                 " București", "address_line1": "Str. Lalelelor 5", "postal_code": "010101",
                 "city": "București", "country": "RO", "org_number": "", "vat_id": "",
                 "email": "ana@example.com", "contact_name": "Ana Popescu",
                 "tags": "enrolment"},
    "tenant": {"name": "Your company", "address": "Main street 1, 0150 Oslo",
               "org_number": "123456789", "vat_id": "NO123456789MVA"},
    "document": {"number": "PF-2026-0001", "title": "Proforma invoice PF-2026-0001",
                 "kind": "proforma", "issue_date": "2026-11-30", "due_date": "2026-12-14",
                 "currency": "EUR", "net_total": "1000.00", "vat_total": "190.00",
                 "gross_total": "1190.00",
                 "lines": [{"description": "Course", "quantity": "1", "unit_price": "1000.00",
                            "net": "1000.00"}]},
    "today": "2026-11-30",
}


class TemplateProblem(ValueError):
    """A template that cannot be used; the message says where and why."""


def environment() -> SandboxedEnvironment:
    """The sandbox every template runs in."""
    # Block tags take their line with them, so a {% for %} leaves no blank rows.
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined,
                                keep_trailing_newline=True, trim_blocks=True,
                                lstrip_blocks=True)


def _dotted(node: nodes.Getattr | nodes.Getitem) -> tuple[str, str, int] | None:
    """(root, field, line) of ``root.field`` or ``root['field']`` on a top-level name."""
    if isinstance(node, nodes.Getattr):
        attribute = node.attr
    elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        attribute = node.arg.value
    else:
        return None
    if isinstance(node.node, nodes.Name) and node.node.ctx == "load":
        return node.node.name, attribute, node.lineno
    return None


def unknown_fields(source: str) -> list[str]:
    """The fields the template names that do not exist, as ``customer.nmae (line 3)``."""
    try:
        tree = environment().parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Line {exc.lineno}: {exc.message}") from None
    assigned = {name.name for name in tree.find_all(nodes.Name) if name.ctx in ("store", "param")}
    unknown = []
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in ROOTS and name.name not in assigned:
            unknown.append(f"{name.name} (line {name.lineno})")
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        found = _dotted(node)
        if found is None:
            continue
        root, attribute, line = found
        if root in FIELDS and root not in assigned and attribute not in FIELDS[root]:
            unknown.append(f"{root}.{attribute} (line {line})")
    return list(dict.fromkeys(unknown))


def problems(source: str) -> str | None:
    """What is wrong with a template, in one message; None when it renders."""
    try:
        unknown = unknown_fields(source)
    except TemplateProblem as exc:
        return str(exc)
    if unknown:
        return (f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}."
                " See the field reference for the fields there are.")
    try:
        render_text(source, SAMPLE)
    except TemplateProblem as exc:
        return str(exc)
    return None


def render_text(source: str, values: Mapping[str, Any]) -> str:
    """The template filled in, as plain text (what autoescape escaped is unescaped again:
    the PDF escapes its own way)."""
    try:
        rendered = environment().from_string(source).render(**values)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Line {exc.lineno}: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(f"The template cannot be filled in: {exc.message or exc}") from None
    return html.unescape(rendered)
