"""Document templates: saved only when they render, filled in for a customer, stored as PDF."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from saas.automations import templating
from saas.automations.models import DocumentTemplate, GeneratedDocument, TemplateKind
from saas.automations.pdf import TemplateLetter, render_template_letter
from saas.billing.catalog.services import plain_decimal
from saas.billing.customers.models import Customer
from saas.billing.documents.issuing import invoice_email, snapshot_buyer, snapshot_seller
from saas.billing.documents.models import Document
from saas.billing.money import quantize_money
from saas.extensions import db
from saas.tenants import audit, scoping
from saas.tenants.access import tenant_today_of
from saas.tenants.models import Branding
from saas.tenants.services import ServiceError

TEMPLATE_FIELDS = ("name", "kind", "title", "body")


class TemplateError(ServiceError):
    """A template refused; ``field`` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _check(values: dict[str, Any], template: DocumentTemplate | None = None) -> None:
    name = (values.get("name") or "").strip()
    if not name:
        raise TemplateError("Give the template a name.", "name")
    other = db.session.scalar(select(DocumentTemplate).where(DocumentTemplate.name == name))
    if other is not None and other is not template:
        raise TemplateError(f"There is a template named “{name}” already.", "name")
    for field in ("title", "body"):
        problem = templating.problems(values.get(field) or "")
        if problem:
            raise TemplateError(problem, field)
    if not (values.get("body") or "").strip():
        raise TemplateError("Write the template's text.", "body")


def create_template(values: dict[str, Any]) -> DocumentTemplate:
    """Save a new template once its title and text render with the sample values."""
    _check(values)
    template = DocumentTemplate(name=values["name"].strip(),
                                kind=TemplateKind(values.get("kind") or TemplateKind.CONTRACT),
                                title=values["title"].strip(), body=values["body"])
    db.session.add(template)
    db.session.flush()
    audit.record("automations.template_created", template, f"Template {template.name}")
    return template


def update_template(template: DocumentTemplate, values: dict[str, Any]) -> None:
    """Change a template; documents generated from it before keep their PDFs."""
    _check(values, template)
    template.name, template.title = values["name"].strip(), values["title"].strip()
    template.kind, template.body = TemplateKind(values["kind"]), values["body"]
    audit.record("automations.template_updated", template, f"Template {template.name}")


def _one_line(lines: list[str]) -> str:
    return ", ".join(line for line in lines if line)


def field_values(customer: Customer, document: Document | None) -> dict[str, Any]:
    """The values of every field for this customer and deal (templating.FIELDS)."""
    currency = document.currency if document is not None else customer.currency
    seller, buyer = snapshot_seller(currency), snapshot_buyer(customer)
    contact = customer.contacts[0].name if customer.contacts else ""
    values: dict[str, Any] = {
        "customer": {
            "name": customer.name, "number": customer.number,
            "address": _one_line(buyer["address_lines"]),
            "address_line1": customer.address_line1, "postal_code": customer.postal_code,
            "city": customer.city, "country": customer.country,
            "org_number": customer.org_number, "vat_id": customer.vat_id,
            "email": invoice_email(customer), "contact_name": contact,
            "tags": customer.tags,
        },
        "tenant": {"name": seller["name"], "address": _one_line(seller["address_lines"]),
                   "org_number": seller["org_number"] or "", "vat_id": seller["vat_id"] or ""},
        "document": {name: "" for name in templating.FIELDS["document"]} | {"lines": []},
        "today": tenant_today_of(scoping.require_tenant_id()).isoformat(),
    }
    if document is not None:
        money = lambda amount: str(quantize_money(amount, document.currency))  # noqa: E731
        values["document"] = {
            "number": document.number or "", "title": document.title,
            "kind": document.kind.value,
            "issue_date": document.issue_date.isoformat() if document.issue_date else "",
            "due_date": document.due_date.isoformat() if document.due_date else "",
            "currency": document.currency, "net_total": money(document.net_total),
            "vat_total": money(document.vat_total), "gross_total": money(document.gross_total),
            "lines": [{"description": line.description,
                       "quantity": plain_decimal(line.quantity),
                       "unit_price": money(line.unit_price), "net": money(line.net)}
                      for line in document.lines],
        }
    return values


def render_for(template: DocumentTemplate, customer: Customer,
               document: Document | None) -> tuple[str, bytes]:
    """The template's title and PDF filled in for the customer and deal."""
    values = field_values(customer, document)
    try:
        title = templating.render_text(template.title, values).strip() or template.name
        text = templating.render_text(template.body, values)
    except templating.TemplateProblem as exc:
        raise TemplateError(f"Template “{template.name}”: {exc}") from None
    currency = document.currency if document is not None else customer.currency
    branding = db.session.scalar(select(Branding))
    pdf = render_template_letter(TemplateLetter(
        title=title, text=text, letter_date=tenant_today_of(scoping.require_tenant_id()),
        language=customer.language or "en", seller=snapshot_seller(currency),
        buyer=snapshot_buyer(customer), logo=branding.logo if branding is not None else None))
    return title, pdf


def generate_document(template: DocumentTemplate, customer: Customer,
                      document: Document | None = None, *, run_id: int | None = None,
                      event_id: int | None = None,
                      user_id: int | None = None) -> GeneratedDocument:
    """Fill the template in for the customer and store the PDF with the customer, once."""
    title, pdf = render_for(template, customer, document)
    generated = GeneratedDocument(
        customer_id=customer.id, template_id=template.id, kind=template.kind, title=title,
        document_id=document.id if document is not None else None, run_id=run_id,
        event_id=event_id, pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        created_by_id=user_id)
    db.session.add(generated)
    db.session.flush()
    audit.record("automations.document_generated", generated,
                 f"{title} generated for {customer.name}", user_id=user_id)
    return generated


def preview(template: DocumentTemplate | None, values: dict[str, Any]) -> bytes:
    """The template (saved or as typed) with a sample customer and deal and your company's
    own details, as PDF."""
    seller = snapshot_seller("EUR")
    sample = {**templating.SAMPLE, "tenant": {
        "name": seller["name"], "address": _one_line(seller["address_lines"]),
        "org_number": seller["org_number"] or "", "vat_id": seller["vat_id"] or ""}}
    title = templating.render_text(values.get("title") or (template.title if template else ""),
                                   sample)
    text = templating.render_text(values.get("body") or (template.body if template else ""),
                                  sample)
    sample = templating.SAMPLE["customer"]
    buyer = {"customer_number": sample["number"], "name": sample["name"],
             "address_lines": [sample["address_line1"],
                               f"{sample['postal_code']} {sample['city']}"],
             "country": sample["country"]}
    branding = db.session.scalar(select(Branding))
    return render_template_letter(TemplateLetter(
        title=title, text=text, letter_date=tenant_today_of(scoping.require_tenant_id()),
        language="en", seller=seller, buyer=buyer,
        logo=branding.logo if branding is not None else None))


def generated_of(customer_id: int) -> list[GeneratedDocument]:
    """The customer's generated documents, newest first."""
    return list(db.session.scalars(
        select(GeneratedDocument).where(GeneratedDocument.customer_id == customer_id)
        .order_by(GeneratedDocument.id.desc())))
