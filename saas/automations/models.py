"""Rules, their actions and runs; document templates and the documents generated from them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.columns import string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped


class ActionKind(enum.StrEnum):
    CREATE_DOCUMENT = "create_document"
    CONVERT_PROFORMA = "convert_proforma"
    GENERATE_FROM_TEMPLATE = "generate_from_template"
    SEND_DOCUMENTS = "send_documents"
    SEND_EMAIL = "send_email"

    @property
    def label(self) -> str:
        return {
            "create_document": "Create a proforma or invoice from lines",
            "convert_proforma": "Turn the paid proforma into the final invoice",
            "generate_from_template": "Generate a document from a template",
            "send_documents": "E-mail the documents made above",
            "send_email": "Send an e-mail from a text template",
        }[self.value]


class RunStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class TemplateKind(enum.StrEnum):
    CONTRACT = "contract"
    LETTER = "letter"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class AutomationRule(TenantScoped, db.Model):
    """When an event happens and its conditions hold, do the actions in order."""

    __tablename__ = "automation_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_automation_rules_trigger", "tenant_id", "trigger", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    trigger: Mapped[str] = mapped_column(String(60))  # one of saas.events.EVENT_NAMES
    # conditions.Conditions as a dict: customer_tag, document_kind, status_from, status_to.
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    actions: Mapped[list[AutomationAction]] = relationship(
        back_populates="rule", cascade="all, delete-orphan",
        order_by="AutomationAction.position")


class AutomationAction(TenantScoped, db.Model):
    """One step of a rule: a kind and its settings."""

    __tablename__ = "automation_actions"
    __table_args__ = (Index("ix_automation_actions_rule", "tenant_id", "rule_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=1)
    kind: Mapped[ActionKind] = mapped_column(
        Enum(ActionKind, native_enum=False, length=40,
             values_callable=lambda kinds: [kind.value for kind in kinds]))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    rule: Mapped[AutomationRule] = relationship(back_populates="actions")


class AutomationRun(TenantScoped, db.Model):
    """One rule's run for one event, with what each action did (``steps``)."""

    __tablename__ = "automation_runs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "rule_id", "event_id"),
        Index("ix_automation_runs_recent", "tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("domain_events.id", ondelete="CASCADE"))
    event_name: Mapped[str] = mapped_column(String(60))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"))
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))
    status: Mapped[RunStatus] = mapped_column(string_enum(RunStatus), default=RunStatus.PENDING)
    # One entry per action done, in order: {"action_id", "kind", "summary", "documents": [ids],
    # "generated": [ids], "deliveries": [ids]}. The run resumes after the last one.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    rule: Mapped[AutomationRule] = relationship()
    customer: Mapped[Customer | None] = relationship()  # noqa: F821 - billing model
    document: Mapped[Document | None] = relationship()  # noqa: F821 - billing model


class DocumentTemplate(TenantScoped, db.Model):
    """A contract or letter with fields ({{ customer.name }}) filled in when generated."""

    __tablename__ = "document_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[TemplateKind] = mapped_column(string_enum(TemplateKind),
                                               default=TemplateKind.CONTRACT)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class GeneratedDocument(TenantScoped, db.Model):
    """A template filled in for a customer: the PDF rendered once, stored with its hash."""

    __tablename__ = "generated_documents"
    __table_args__ = (Index("ix_generated_documents_customer", "tenant_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_templates.id", ondelete="SET NULL"))
    kind: Mapped[TemplateKind] = mapped_column(string_enum(TemplateKind))
    title: Mapped[str] = mapped_column(String(300))
    # The deal it was made for (the document whose event ran the rule), if any.
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("automation_runs.id", ondelete="SET NULL"))
    event_id: Mapped[int | None] = mapped_column()
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # lists need not load it
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    template: Mapped[DocumentTemplate | None] = relationship()
    customer: Mapped[Customer] = relationship()  # noqa: F821 - billing model

    @property
    def filename(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in self.title)[:80]
        return f"{safe or 'document'}-{self.id}.pdf"


class DeliveryAttachment(TenantScoped, db.Model):
    """A generated document that goes with a document's e-mail (the contract with the invoice)."""

    __tablename__ = "delivery_attachments"
    __table_args__ = (UniqueConstraint("tenant_id", "delivery_id", "generated_document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    generated_document_id: Mapped[int] = mapped_column(
        ForeignKey("generated_documents.id", ondelete="CASCADE"))

    generated_document: Mapped[GeneratedDocument] = relationship()
