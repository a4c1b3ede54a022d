"""Rules at work: the events consumer that starts runs, and the run job that does the actions.

The consumer is quick and idempotent per event: for each active rule of the event's name
whose conditions hold it writes one run (unique per rule and event) and asks for the run
job after commit. The job does the rule's actions in order, each in a savepoint of its own
with what it did recorded in the same savepoint, and commits after each: an action is
either wholly done and noted, or not at all. A failing action leaves the run ``failed``
with the reason; what the actions before it made stays, and *Retry* (or the job run again)
resumes at the first action not done. A run that is done is never run again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select

from saas import clock
from saas.automations import templating
from saas.automations.conditions import facts_of, matches, split_tags
from saas.automations.lines import LineTemplate
from saas.automations.models import (
    ActionKind,
    AutomationAction,
    AutomationRule,
    AutomationRun,
    DeliveryAttachment,
    DocumentTemplate,
    GeneratedDocument,
    RunStatus,
)
from saas.automations.templates import field_values, generate_document
from saas.billing.catalog.models import Product, VatRate
from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, delivery
from saas.billing.documents.issuing import invoice_email, issue_document
from saas.billing.documents.models import Document
from saas.billing.documents.services import add_line, create_document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.events import DomainEvent, consumer
from saas.extensions import db
from saas.mail import Mail, new_message_id, queue_email
from saas.queue import DEFAULT_QUEUE, enqueue, job
from saas.tenants import scoping
from saas.tenants.services import ServiceError, tenants_and_zones

log = logging.getLogger(__name__)
K, S = DocumentKind, DocumentStatus
# A run marked running longer than this is taken to be from a job that died.
CLAIM_TIMEOUT = timedelta(minutes=15)
DOCUMENT_KINDS = (K.PROFORMA, K.INVOICE)


class ActionFailed(ServiceError):
    """An action could not be done; the message says why, fit for the run log."""


# --- starting runs -------------------------------------------------------------------------


@consumer
def start_runs(events: Sequence[DomainEvent]) -> None:
    """Write a run of every active rule each event sets off, and ask for its job."""
    triggers = {event.name for event in events}
    rules = db.session.scalars(
        select(AutomationRule).where(AutomationRule.trigger.in_(triggers),
                                     AutomationRule.active.is_(True))
        .order_by(AutomationRule.position, AutomationRule.id)).all()
    for event in events:
        chosen = [rule for rule in rules if rule.trigger == event.name]
        if chosen:
            _start_runs(event, chosen)


def _start_runs(event: DomainEvent, rules: Sequence[AutomationRule]) -> None:
    customer = _get(Customer, event.data.get("customer_id"))
    document_id = event.data.get("document_id") if event.subject_type == "document" else None
    document = _get(Document, document_id)
    facts = facts_of(event.data, split_tags(customer.tags) if customer is not None else ())
    started = set(db.session.scalars(select(AutomationRun.rule_id).where(
        AutomationRun.event_id == event.id)))
    for rule in rules:
        if rule.id in started or not matches(rule.conditions, facts):
            continue
        run = AutomationRun(rule_id=rule.id, event_id=event.id, event_name=event.name,
                            customer_id=customer.id if customer is not None else None,
                            document_id=document.id if document is not None else None)
        db.session.add(run)
        db.session.flush()
        ask_for_run(run)


def _get(model: type, object_id: Any) -> Any:
    return db.session.get(model, int(object_id)) if object_id else None


def ask_for_run(run: AutomationRun) -> None:
    """Ask for the run's job after commit (one job id per attempt)."""
    enqueue(run_automation, run.id, tenant_id=scoping.require_tenant_id(),
            queue=DEFAULT_QUEUE, job_id=f"automation-run-{run.id}-{run.attempts}")


def retry(run: AutomationRun) -> None:
    """Run a failed (or stuck) run again from the first action not done."""
    if run.status == RunStatus.DONE:
        raise ServiceError("This run is done: it is never run again.")
    run.status, run.error = RunStatus.PENDING, ""
    ask_for_run(run)


def sweep_runs(older_than: timedelta = timedelta(minutes=10)) -> dict[int, int]:
    """Ask again for the jobs of runs a lost job left waiting (Redis down, worker killed):
    pending ones older than ``older_than`` and running ones whose claim timed out."""
    now, asked = clock.now(), {}
    for tenant_id, _ in tenants_and_zones():
        with scoping.tenant_context(tenant_id):
            waiting = db.session.scalars(select(AutomationRun).where(
                ((AutomationRun.status == RunStatus.PENDING)
                 & (AutomationRun.created_at < now - older_than))
                | ((AutomationRun.status == RunStatus.RUNNING)
                   & (AutomationRun.started_at < now - CLAIM_TIMEOUT)))).all()
            for run in waiting:
                ask_for_run(run)
            if waiting:
                asked[tenant_id] = len(waiting)
            db.session.commit()
    return asked


@job
def run_runs_sweep() -> int:
    """Scheduler job: ask again for runs whose job was lost; returns how many."""
    return sum(sweep_runs().values())


# --- the run job ---------------------------------------------------------------------------


@job
def run_automation(run_id: int) -> str:
    """Job: do the run's actions not done yet; returns the run's status."""
    return perform(run_id)


def _claimed_elsewhere(run: AutomationRun) -> bool:
    if run.status != RunStatus.RUNNING or run.started_at is None:
        return False
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    return clock.now() - started < CLAIM_TIMEOUT


def perform(run_id: int) -> str:
    """Do the run's remaining actions, committing after each; the run's status after."""
    run = db.session.scalar(select(AutomationRun).where(AutomationRun.id == run_id)
                            .with_for_update())
    if run is None or run.status == RunStatus.DONE or _claimed_elsewhere(run):
        db.session.commit()
        return run.status.value if run is not None else "gone"
    run.status, run.started_at, run.error = RunStatus.RUNNING, clock.now(), ""
    run.attempts += 1
    db.session.commit()  # the claim
    done = {step["action_id"] for step in run.steps}
    for action in run.rule.actions:
        if action.id in done:
            continue
        try:
            with db.session.begin_nested():
                step = do_action(action, run)
                run.steps = [*run.steps, {"action_id": action.id, "kind": action.kind.value,
                                          **step}]
                db.session.flush()
        except Exception as exc:  # noqa: BLE001 - every failure is the run's, told in its log
            if not isinstance(exc, ServiceError):
                log.exception("automation run %s: action %s failed", run.id, action.id)
            reason = str(exc) if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
            run.status, run.finished_at = RunStatus.FAILED, clock.now()
            run.error = f"Action {action.position} ({action.kind.label}): {reason}"[:2000]
            db.session.commit()
            return run.status.value
        db.session.commit()
    run.status, run.finished_at = RunStatus.DONE, clock.now()
    db.session.commit()
    return run.status.value


def made_by_steps(run: AutomationRun, key: str) -> list[int]:
    """The ids the run's done actions made under key ("documents", "generated")."""
    return [object_id for step in run.steps for object_id in step.get(key, [])]


def do_action(action: AutomationAction, run: AutomationRun) -> dict[str, Any]:
    """Do one action for the run; what it did, for the run's steps."""
    return ACTIONS[action.kind](action.settings or {}, run)


def _customer(run: AutomationRun) -> Customer:
    if run.customer is None:
        raise ActionFailed("The event names no customer (or the customer was deleted).")
    return run.customer


def _line_values(line: LineTemplate, row: int) -> dict[str, Any]:
    product = db.session.scalar(select(Product).where(Product.sku == line.item))
    values: dict[str, Any] = {"quantity": line.quantity, "unit_price": line.unit_price}
    if product is not None:
        values["product_id"] = product.id
    else:
        values["description"] = line.item
    if line.vat_code:
        rate = db.session.scalar(select(VatRate).where(VatRate.code == line.vat_code))
        if rate is None:
            raise ActionFailed(f"Line {row}: there is no VAT rate with the code"
                               f" “{line.vat_code}”.")
        values["vat_rate_id"] = rate.id
    elif product is None:
        raise ActionFailed(f"Line {row} ({line.item}): give a VAT code, or name a product"
                           " SKU that has one.")
    if line.unit_price is None and product is None:
        raise ActionFailed(f"Line {row} ({line.item}): give a unit price, or name a product"
                           " SKU to take its price.")
    return values


def create_document_action(settings: dict[str, Any], run: AutomationRun) -> dict[str, Any]:
    """A proforma or invoice for the event's customer from the line template; issued if asked."""
    customer = _customer(run)
    kind = K(settings.get("kind") or K.PROFORMA)
    if kind not in DOCUMENT_KINDS:
        raise ActionFailed(f"A rule makes proformas or invoices, not a {kind.label.lower()}.")
    document = create_document(kind, customer)
    for row, values in enumerate(settings.get("lines") or [], start=1):
        add_line(document, _line_values(LineTemplate.from_settings(values), row))
    if not document.lines:
        raise ActionFailed("The action has no lines to put on the document.")
    if settings.get("issue", True):
        issue_document(document)
    return {"summary": f"{document.title} for {customer.name}, {document.gross_total}"
                       f" {document.currency}", "documents": [document.id]}


def convert_proforma_action(settings: dict[str, Any], run: AutomationRun) -> dict[str, Any]:
    """The paid proforma of the event becomes the final invoice, issued."""
    proforma = run.document
    if proforma is None or proforma.kind != K.PROFORMA:
        raise ActionFailed("The event is not about a proforma invoice: there is nothing to"
                           " convert.")
    if proforma.status == S.CONVERTED:  # by hand meanwhile: the invoice made then is the one
        invoice = db.session.scalar(select(Document).where(
            Document.source_id == proforma.id, Document.kind == K.INVOICE,
            Document.number.is_not(None)))
        if invoice is None:
            raise ActionFailed(f"{proforma.title} is converted but its invoice is not found.")
        return {"summary": f"{proforma.title} was already {invoice.title}",
                "documents": [invoice.id]}
    invoice = conversion.convert_proforma(proforma)
    return {"summary": f"{proforma.title} became {invoice.title}", "documents": [invoice.id]}


def generate_action(settings: dict[str, Any], run: AutomationRun) -> dict[str, Any]:
    """A contract or letter from the template, stored with the customer."""
    customer = _customer(run)
    template = _get(DocumentTemplate, settings.get("template_id"))
    if template is None:
        raise ActionFailed("The template this action uses was deleted: choose another.")
    generated = generate_document(template, customer, run.document, run_id=run.id,
                                  event_id=run.event_id)
    return {"summary": f"{generated.title} generated", "generated": [generated.id]}


def send_action(settings: dict[str, Any], run: AutomationRun) -> dict[str, Any]:
    """E-mail the documents the earlier actions made (or the event's issued document), with
    the documents generated from templates attached to the first e-mail."""
    ids = made_by_steps(run, "documents")
    documents = [db.session.get(Document, document_id) for document_id in ids]
    documents = [document for document in documents if document is not None]
    if not documents and run.document is not None and run.document.is_issued:
        documents = [run.document]
    if not documents:
        raise ActionFailed("There is nothing to e-mail: no action before this one made a"
                           " document.")
    generated = made_by_steps(run, "generated") if settings.get("attach_generated", True) else []
    deliveries = []
    for document in documents:
        sent = delivery.send_document(document)
        deliveries.append(sent)
        for generated_id in generated if len(deliveries) == 1 else []:
            db.session.add(DeliveryAttachment(delivery_id=sent.id,
                                              generated_document_id=generated_id))
    titles = ", ".join(document.title for document in documents)
    attached = f" with {len(generated)} attached" if generated else ""
    return {"summary": f"{titles} e-mailed to {deliveries[0].recipient}{attached}",
            "documents": [], "deliveries": [sent.id for sent in deliveries]}


def send_email_action(settings: dict[str, Any], run: AutomationRun) -> dict[str, Any]:
    """A plain e-mail from the text template to the customer's invoice address (sent by the
    mail job after commit, retried; the documents generated above attached if asked)."""
    customer = _customer(run)
    recipient = invoice_email(customer)
    if not recipient:
        raise ActionFailed(f"{customer.name} has no e-mail address for invoices: enter one.")
    values = field_values(customer, run.document)
    try:
        subject = templating.render_text(settings.get("subject") or "", values).strip()
        text = templating.render_text(settings.get("body") or "", values)
    except templating.TemplateProblem as exc:
        raise ActionFailed(str(exc)) from None
    generated = made_by_steps(run, "generated") if settings.get("attach_generated") else []
    attachments = tuple((found.filename, "application/pdf", found.pdf) for found in (
        db.session.get(GeneratedDocument, generated_id) for generated_id in generated)
        if found is not None)
    branding = delivery.current_branding()
    message_id = new_message_id()
    queue_email(Mail(to=recipient, subject=subject[:300], text=text,
                     sender_name=(branding.email_sender_name if branding else "")
                     or values["tenant"]["name"],
                     reply_to=branding.reply_to if branding else "",
                     attachments=attachments, message_id=message_id),
                job_id=f"automation-email-{run.id}-{len(run.steps)}")
    return {"summary": f"E-mail “{subject}” to {recipient}", "message_id": message_id}


ACTIONS = {
    ActionKind.CREATE_DOCUMENT: create_document_action,
    ActionKind.CONVERT_PROFORMA: convert_proforma_action,
    ActionKind.GENERATE_FROM_TEMPLATE: generate_action,
    ActionKind.SEND_DOCUMENTS: send_action,
    ActionKind.SEND_EMAIL: send_email_action,
}
