"""Billing runs in bulk: a chunk of invoices written by a handful of set-wise statements.

``billing.carry_out`` hands ``write_chunk`` the planned invoices ``COMMIT_EVERY`` at a time.
In one savepoint:

1. when the run issues, the chunk's numbers are drawn at once (``issuing.draw``, which
   locks the series until the commit), and each invoice's issue-time content is made
   here from the same functions ``issuing.issue_documents`` uses: dates, exchange rate,
   seller and buyer snapshots, totals, the payment reference (``issuing.make_payment_reference``
   from the tenant read once), and the hash chain (``chain.canonical_content`` of the very
   values written);
2. one INSERT … RETURNING of the invoices, as drafts (the database takes lines only on
   drafts);
3. one INSERT of the billed periods that skips those taken (ON CONFLICT DO NOTHING) and
   returns what it wrote: fewer than sent means another run billed a period of the chunk
   meanwhile; the savepoint is rolled back, numbers included, and the chunk is made
   invoice by invoice (``billing.make_invoice``), each skipping what is taken;
4. one INSERT of all the lines;
5. when issuing, one UPDATE per invoice, sent together (executemany), moving each from
   draft to issued with its number; the chain head; the journal entries and their lines
   (``ledger.document_postings``) and the audit rows, an INSERT each.

A chunk so costs a few statements rather than some twenty per invoice. PDFs are not made
here: ``printing.store_pdfs`` renders them after the commit, on the default queue, and a
PDF wanted before that is rendered then (``printing.issued_pdf``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from saas import clock
from saas.billing.catalog.models import VatRate
from saas.billing.contracts.models import BilledPeriod
from saas.billing.documents import chain, issuing, numbering
from saas.billing.documents.models import Document, DocumentLine, net_unit_price
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.payments import ledger
from saas.billing.payments.models import JournalEntry, JournalLine
from saas.billing.tax import TaxedLine, VatRow, line_net, totals
from saas.extensions import db
from saas.rows import insert_rows
from saas.tenants import audit, scoping
from saas.tenants.models import AuditEntry, Tenant

if TYPE_CHECKING:
    from saas.billing.contracts.billing import PlannedContract, PlannedInvoice
    from saas.billing.contracts.services import PeriodLine


class PeriodTaken(Exception):
    """Another run billed one of the chunk's contract periods meanwhile."""


@dataclass
class RunContext:
    """What every invoice of a run needs, read once."""

    on: date
    issue: bool
    user_id: int | None
    run_id: int | None
    tenant: Tenant
    vats: dict[int, VatRate]
    seller_terms: tuple
    _sellers: dict[str, dict] = field(default_factory=dict)
    _rates: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def load(cls, on: date, *, issue: bool, user_id: int | None = None,
             run_id: int | None = None) -> RunContext:
        return cls(on=on, issue=issue, user_id=user_id, run_id=run_id,
                   tenant=db.session.get(Tenant, scoping.require_tenant_id()),
                   vats={rate.id: rate for rate in db.session.scalars(select(VatRate))},
                   seller_terms=issuing.seller_terms())

    def seller(self, currency: str) -> dict:
        if currency not in self._sellers:
            self._sellers[currency] = issuing.snapshot_seller(currency, self.seller_terms)
        return self._sellers[currency]

    def rate(self, currency: str) -> Decimal:
        if currency not in self._rates:
            self._rates[currency] = issuing.exchange_rate(
                currency, self.tenant.default_currency, self.on)
        return self._rates[currency]


def line_values(item: PlannedContract, period_line: PeriodLine, position: int,
                vats: dict[int, VatRate]) -> dict[str, Any]:
    """An invoice line for one contract line's period: whole, or its prorated amount."""
    contract, period = item.contract, item.period
    version = period_line.segments[-1].value
    vat = vats[version.vat_rate_id]
    whole = (len(period_line.segments) == 1
             and period_line.segments[0].fraction == 1 and version.unit_price is not None)
    text = f"{period_line.description} — {contract.number}, {period.label()}"
    if whole:
        quantity, unit_price, discount = (version.quantity, version.unit_price,
                                          version.discount_percent)
    else:  # prorated or amended inside the period: the exact amount, as one unit
        days = sum(part.days for part in period_line.segments)
        text += f" ({days} of {period.days} days)"
        quantity, unit_price, discount = Decimal(1), period_line.amount, Decimal(0)
    return {
        "position": position, "product_id": version.product_id, "description": text,
        "quantity": quantity, "unit": version.unit if whole else "", "unit_price": unit_price,
        "discount_percent": discount,
        "net": line_net(quantity, net_unit_price(unit_price, discount), contract.currency),
        "vat_rate_id": vat.id, "vat_code": vat.code, "vat_rate": vat.rate,
        "vat_category": str(vat.category), "vat_note": vat.note, "site_id": version.site_id,
        "site_label": f"{version.site.code} {version.site.name}" if version.site else "",
        "contract_id": contract.id, "period_start": period.start,
        "period_end": period.end - timedelta(days=1), "source_line_id": None,
        "price_explanation": ""}


def contract_lines(item: PlannedContract, first_position: int,
                   vats: dict[int, VatRate]) -> list[dict[str, Any]]:
    """The invoice lines of one planned contract: its period's lines, then the excess."""
    found = [line_values(item, period_line, position, vats)
             for position, period_line in enumerate(item.lines, start=first_position)]
    sites = {line.line_key: line.segments[-1].value.site for line in item.lines}
    for position, extra in enumerate(item.extras, start=first_position + len(found)):
        excess, vat = extra.overage, vats[extra.overage.vat_rate_id]
        site = sites.get(excess.line_key)
        found.append({
            "position": position, "product_id": excess.product_id,
            "description": f"{excess.description} — {item.contract.number},"
                           f" {excess.period.label()}",
            "quantity": excess.quantity, "unit": excess.unit, "unit_price": extra.unit_price,
            "discount_percent": Decimal(0), "net": extra.amount, "vat_rate_id": vat.id,
            "vat_code": vat.code, "vat_rate": vat.rate, "vat_category": str(vat.category),
            "vat_note": vat.note, "site_id": excess.site_id,
            "site_label": f"{site.code} {site.name}" if site else "",
            "contract_id": item.contract.id, "period_start": excess.period.start,
            "period_end": excess.period.end - timedelta(days=1), "source_line_id": None,
            "price_explanation": ""})
    return found


def payment_terms(planned: PlannedInvoice) -> int:
    """The invoice's terms: its contracts' (the shortest, when it consolidates several)."""
    return min(item.contract.payment_terms_days for item in planned.contracts)


@dataclass
class _Invoice:
    document: dict[str, Any]
    lines: list[dict[str, Any]]
    periods: list[dict[str, Any]]
    vat_rows: tuple[VatRow, ...]


def _draft(planned: PlannedInvoice, context: RunContext) -> _Invoice:
    customer = planned.customer
    if customer.is_archived:
        raise DocumentError(f"Customer {customer.number} {customer.name} is archived.")
    lines: list[dict[str, Any]] = []
    periods = []
    for item in planned.contracts:
        lines.extend(contract_lines(item, len(lines) + 1, context.vats))
        periods.append({"contract_id": item.contract.id, "period_start": item.period.start,
                        "period_end": item.period.end, "run_id": context.run_id,
                        "amount": item.total})
    money = totals((TaxedLine(net=line["net"], vat_code=line["vat_code"],
                              vat_rate=line["vat_rate"], vat_category=line["vat_category"],
                              vat_note=line["vat_note"]) for line in lines), planned.currency)
    document = {
        "kind": K.INVOICE,
        "status": S.DRAFT, "number": None, "counter": None, "period": None,
        "customer_id": customer.id, "source_id": None, "currency": planned.currency,
        "tenant_currency": context.tenant.default_currency, "exchange_rate": Decimal(1),
        "language": customer.language or "en", "issue_date": None, "delivery_date": None,
        "due_date": None, "valid_until": None, "payment_terms_days": payment_terms(planned),
        "payment_reference": "", "notes": "", "show_balance": False,
        "payment_demand": False, "net_total": money.net, "vat_total": money.vat,
        "gross_total": money.gross, "seller": None, "buyer": None, "balance_before": None,
        "chain_position": None, "previous_hash": None, "chain_hash": None,
        "pdf_sha256": None, "issued_at": None, "issued_by_id": None,
        "created_at": clock.now(), "created_by_id": context.user_id}
    return _Invoice(document, lines, periods, money.rows)


def _issue(invoices: list[_Invoice], planned: list[PlannedInvoice],
           context: RunContext) -> str:
    """Give the drafts their issue-time content, numbers and chain links; the new head."""
    on = context.on
    counters, period, pattern, position, head = issuing.draw(K.INVOICE, on, len(invoices))
    issued_at = clock.now()
    tenant = context.tenant
    buyers: dict[int, dict] = {}
    for offset, (invoice, plan, counter) in enumerate(
            zip(invoices, planned, counters, strict=True)):
        row = invoice.document
        customer = plan.customer
        if customer.id not in buyers:
            buyers[customer.id] = issuing.snapshot_buyer(customer)
        number = numbering.format_number(pattern, on, counter)
        row.update({
            "issue_date": on, "due_date": on + timedelta(days=row["payment_terms_days"]),
            "exchange_rate": context.rate(row["currency"]), "seller": context.seller(
                row["currency"]), "buyer": buyers[customer.id],
            "number": number, "counter": counter, "period": period,
            "chain_position": position + offset, "previous_hash": head,
            "payment_reference": issuing.make_payment_reference(
                tenant, K.INVOICE, customer.number, position + offset, number),
            "issued_at": issued_at, "issued_by_id": context.user_id})
        content = SimpleNamespace(**row, lines=[SimpleNamespace(**line)
                                                for line in invoice.lines])
        head = row["chain_hash"] = chain.chain_hash(head, chain.canonical_content(content))
    return head


def write_chunk(planned: list[PlannedInvoice], context: RunContext) -> list[int]:
    """Make the chunk's invoices in one savepoint; their ids in plan order.

    Raises ``PeriodTaken`` (with nothing of the chunk kept) when a period of it was
    billed meanwhile.
    """
    invoices = [_draft(plan, context) for plan in planned]
    session = db.session
    with session.begin_nested():
        head = _issue(invoices, planned, context) if context.issue else None
        drafts = [{**invoice.document, "number": None, "status": S.DRAFT}
                  for invoice in invoices]
        ids = insert_rows(Document, drafts)
        periods = [{**period, "document_id": document_id}
                   for invoice, document_id in zip(invoices, ids, strict=True)
                   for period in invoice.periods]
        claimed = session.scalars(
            issuing.insert_for(BilledPeriod)
            .on_conflict_do_nothing(index_elements=["contract_id", "period_start"])
            .returning(BilledPeriod.id), periods).all()
        if len(claimed) != len(periods):
            raise PeriodTaken
        insert_rows(DocumentLine, [
            {**line, "document_id": document_id}
            for invoice, document_id in zip(invoices, ids, strict=True)
            for line in invoice.lines])
        if context.issue:
            session.execute(update(Document), [
                {"id": document_id, "status": K.INVOICE.issued_status,
                 "number": invoice.document["number"]}
                for invoice, document_id in zip(invoices, ids, strict=True)])
            session.execute(update(issuing.NumberSeries)
                            .where(issuing.NumberSeries.kind == K.INVOICE)
                            .values(last_hash=head)
                            .execution_options(synchronize_session=False))
            _post(invoices, ids)
            insert_rows(AuditEntry, [
                {"user_id": context.user_id, "acting_tenant_id": audit.acting_tenant_id(),
                 "action": "documents.issued", "object_type": "Document",
                 "object_id": str(document_id), "details": {},
                 "summary": _issued_summary(invoice.document, plan)}
                for invoice, plan, document_id in zip(invoices, planned, ids, strict=True)])
    return ids


def _post(invoices: list[_Invoice], ids: list[int]) -> None:
    """The journal entries of the issued invoices (``ledger.post_document``, in bulk)."""
    entry_ids = insert_rows(JournalEntry, [
            {"posted_on": invoice.document["issue_date"], "kind": str(K.INVOICE),
             "description": f"{K.INVOICE.label} {invoice.document['number']}",
             "currency": invoice.document["currency"], "document_id": document_id,
             "payment_id": None, "allocation_id": None, "reverses_id": None}
            for invoice, document_id in zip(invoices, ids, strict=True)])
    insert_rows(JournalLine, [
        {"entry_id": entry_id, "account": posting.account, "debit": posting.debit,
         "credit": posting.credit, "customer_id": posting.customer_id,
         "vat_code": posting.vat_code}
        for invoice, entry_id in zip(invoices, entry_ids, strict=True)
        for posting in ledger.document_postings(
            K.INVOICE, invoice.document["customer_id"], invoice.document["gross_total"],
            invoice.vat_rows)])


def _issued_summary(row: dict[str, Any], plan: PlannedInvoice) -> str:
    return (f"{K.INVOICE.label} {row['number']} issued to {plan.customer.name}:"
            f" {row['gross_total']} {row['currency']}")
