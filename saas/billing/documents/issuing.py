"""Issuing: numbers drawn gaplessly, parties snapshotted, content frozen and chained.

Everything that can be done before the number is drawn is done first (checks, dates,
exchange rate, snapshots, totals); then one statement takes the series row (creating it
on first use) and bumps its counters, which locks it until the transaction ends: numbers
are gapless and unique however many processes issue at once, and the unique key on
(tenant, kind, number) is the backstop. The lock is held only for what must follow the
number: the PDF (it prints the number), the hash chain, the writes and the commit.

``issue_documents`` issues many drafts in one transaction (the "issue selected" action,
billing runs): one draw for all of them, one write of the chain head.

Invoices and proformas get their payment reference (R6.2) with their number, before the
PDF and the hash: the tenant's scheme (``payments.references``) makes it from the
customer number and the document's position in its series. A reference typed on the
draft is kept, checked against the scheme; one copied from the proforma an invoice
finalises is kept as it is (the customer may have paid with it already).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from saas.billing.catalog import pricing
from saas.billing.catalog.prices import conversion
from saas.billing.customers.models import Customer
from saas.billing.documents import chain, numbering
from saas.billing.documents.models import (
    DEFAULT_FORMATS,
    Document,
    NumberCounter,
    NumberSeries,
)
from saas.billing.documents.services import DocumentError, recalculate, today
from saas.billing.documents.states import DocumentKind, DocumentStatus, TransitionRefused
from saas.billing.documents.states import check_transition as _check_transition
from saas.billing.payments import references
from saas.extensions import db
from saas.tenants import audit, scoping
from saas.tenants.models import BankAccount, Branding, Tenant, utcnow

K, S = DocumentKind, DocumentStatus
QUOTE_VALIDITY_DAYS = 30
# The kinds that ask to be paid, and so carry a payment reference. A credit note does not:
# nobody pays it with a reference (it settles invoices or is refunded), and a reference
# of its own, or its invoice's, would give one payment two documents to match.
REFERENCED_KINDS = frozenset({K.INVOICE, K.PROFORMA})


# --- number series -----------------------------------------------------------------------


def insert_for(model: type) -> Any:
    dialect = db.session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)


def _new_series(kind: DocumentKind, issued_count: int) -> Any:
    """An insert of the kind's series as it starts: the default format, yearly reset."""
    return insert_for(NumberSeries).values(
        tenant_id=scoping.require_tenant_id(), kind=str(kind), format=DEFAULT_FORMATS[kind],
        reset=numbering.YEARLY, issued_count=issued_count, last_hash=chain.GENESIS)


def series_for(kind: DocumentKind, *, lock: bool = False) -> NumberSeries:
    """The tenant's series for the kind (created with the default format on first use)."""
    statement = select(NumberSeries).where(NumberSeries.kind == kind)
    if lock:
        statement = statement.with_for_update()
    series = db.session.scalar(statement)
    if series is None:
        db.session.execute(_new_series(kind, 0).on_conflict_do_nothing())
        series = db.session.scalar(statement.execution_options(populate_existing=True))
    return series


def update_series(kind: DocumentKind, pattern: str, reset: str) -> NumberSeries:
    """Change how the kind's future numbers look; issued numbers stay as they are."""
    try:
        numbering.check_format(pattern, reset)
    except numbering.BadNumberFormat as exc:
        raise DocumentError(str(exc), "format") from None
    series = series_for(kind, lock=True)
    sample = numbering.format_number(pattern, today(), 1)
    taken = db.session.scalar(
        select(func.count()).select_from(Document)
        .where(Document.kind == kind, Document.number == sample))
    if taken:
        raise DocumentError(f"{sample} is already used: the new format would repeat numbers.",
                            "format")
    old = (series.format, series.reset)
    series.format, series.reset = pattern, reset
    audit.record("documents.series_changed", series,
                 f"{kind.label} numbers: {old[0]} ({old[1]}) → {pattern} ({reset})")
    return series


def draw(kind: DocumentKind, on: date, count: int) -> tuple[list[int], str, str, int, str]:
    """Take `count` consecutive numbers: (counters, period, format, first position, head).

    The series row is created or bumped in one statement, which also locks it; the
    counter of the period likewise. Returns the counters drawn, the period key, the
    format, the chain position of the first and the chain head before them.
    """
    tenant_id = scoping.require_tenant_id()
    series = db.session.execute(
        _new_series(kind, count)
        .on_conflict_do_update(index_elements=["tenant_id", "kind"],
                               set_={"issued_count": NumberSeries.issued_count + count})
        .returning(NumberSeries.format, NumberSeries.reset, NumberSeries.issued_count,
                   NumberSeries.last_hash)
    ).one()
    period = numbering.period_key(series.reset, on)
    last = db.session.execute(
        insert_for(NumberCounter)
        .values(tenant_id=tenant_id, kind=str(kind), period=period, last_value=count)
        .on_conflict_do_update(index_elements=["tenant_id", "kind", "period"],
                               set_={"last_value": NumberCounter.last_value + count})
        .returning(NumberCounter.last_value)
    ).scalar_one()
    counters = list(range(last - count + 1, last + 1))
    return (counters, period, series.format, series.issued_count - count + 1,
            series.last_hash or chain.GENESIS)


# --- snapshots (R3.9) --------------------------------------------------------------------


def seller_terms() -> tuple[Tenant, Branding | None, list[BankAccount]]:
    """What the seller snapshot is made of (load once for many documents)."""
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    branding = db.session.scalar(select(Branding))
    accounts = db.session.scalars(
        select(BankAccount).order_by(BankAccount.is_default.desc(), BankAccount.id)).all()
    return tenant, branding, list(accounts)


def snapshot_seller(currency: str, terms: tuple | None = None) -> dict[str, Any]:
    tenant, branding, accounts = terms or seller_terms()
    # The accounts in the document's currency first; others only when none is.
    matching = [a for a in accounts if a.currency == currency] or accounts[:1]
    return {
        "name": tenant.display_name,
        "address_lines": _address(tenant),
        "country": tenant.country,
        "org_number": tenant.org_number,
        "vat_id": tenant.vat_id,
        "bank_accounts": [
            {"label": a.label, "iban": a.iban, "bic": a.bic, "bban": a.bban,
             "currency": a.currency} for a in matching
        ],
        # How the tenant made payment references then: the label printed beside one.
        "reference_scheme": tenant.reference_scheme,
        "primary_color": branding.primary_color if branding else "#1f4e79",
        "footer_text": branding.footer_text if branding else "",
        "logo_sha256": branding.logo_sha256 if branding else None,
    }


def _address(party: Tenant | Customer) -> list[str]:
    """Street lines, then "postal code city", without empty ones."""
    town = " ".join(p for p in (party.postal_code, party.city) if p)
    return [line for line in (party.address_line1, party.address_line2, town) if line]


def invoice_email(customer: Customer) -> str:
    """The e-mail of the customer's first contact who receives invoices, or ""."""
    return next((c.email for c in customer.contacts if c.receives_invoices and c.email), "")


def snapshot_buyer(customer: Customer) -> dict[str, Any]:
    email = invoice_email(customer)
    return {
        "customer_number": customer.number,
        "name": customer.name,
        "address_lines": _address(customer),
        "country": customer.country,
        "org_number": customer.org_number,
        "vat_id": customer.vat_id,
        "email": email,
    }


def open_receivables(customer_id: int, currency: str, *,
                     excluding: int | None = None) -> Decimal:
    """What is open on the customer's issued invoices less what is left of their credit
    notes (whose open amounts are negative), in one currency."""
    statement = select(func.coalesce(func.sum(Document.gross_total - Document.paid_total),
                                     0)).where(
        Document.customer_id == customer_id,
        Document.currency == currency,
        Document.kind.in_([K.INVOICE, K.CREDIT_NOTE]),
        Document.number.is_not(None),
    )
    if excluding is not None:
        statement = statement.where(Document.id != excluding)
    return Decimal(db.session.scalar(statement))


def customer_balance(customer_id: int, currency: str, *,
                     excluding: int | None = None) -> Decimal:
    """What the customer owes in the currency (R3.12): open receivables less their credit
    (money paid and not allocated); below zero, what the tenant owes them."""
    from saas.billing.payments.services import customer_credit  # payments build on this

    return (open_receivables(customer_id, currency, excluding=excluding)
            - customer_credit(customer_id, currency))


def _exchange_rate(document: Document, on: date) -> Decimal:
    return exchange_rate(document.currency, document.tenant_currency, on)


def exchange_rate(currency: str, tenant_currency: str, on: date) -> Decimal:
    """What 1 unit of the currency is in the tenant's on the day; refused without a rate."""
    if currency == tenant_currency:
        return Decimal(1)
    try:
        found = conversion(currency, tenant_currency, on)
    except pricing.NoExchangeRate as exc:
        raise DocumentError(
            f"{exc} (Catalog → Exchange rates: a document records the rate to your own"
            " currency.)") from None
    factor = found.factor
    return Decimal(factor.numerator) / Decimal(factor.denominator)


# --- issuing -----------------------------------------------------------------------------


def check_issuable(document: Document) -> None:
    """Refuse to issue what cannot be issued, with the reason."""
    if not document.is_draft:
        raise DocumentError(f"{document.title} was already issued on {document.issue_date}.")
    if not document.lines:
        raise DocumentError("An empty document cannot be issued: add at least one line.")
    if document.customer.is_archived:
        raise DocumentError(f"Customer {document.customer.name} is archived.")
    try:
        _check_transition(document.kind, document.status, document.kind.issued_status)
    except TransitionRefused as exc:
        raise DocumentError(str(exc)) from None


def _prepare(document: Document, on: date, seller: tuple) -> None:
    """Everything issuing sets that does not need the number (before the lock)."""
    check_issuable(document)
    document.issue_date = on
    if document.kind in (K.INVOICE, K.PROFORMA):
        document.due_date = on + timedelta(days=document.payment_terms_days)
    if document.kind == K.QUOTE and document.valid_until is None:
        document.valid_until = on + timedelta(days=QUOTE_VALIDITY_DAYS)
    document.exchange_rate = _exchange_rate(document, on)
    _check_typed_reference(document, seller[0])
    document.seller = snapshot_seller(document.currency, seller)
    document.buyer = snapshot_buyer(document.customer)
    if document.show_balance and document.kind == K.INVOICE:
        document.balance_before = customer_balance(document.customer_id, document.currency,
                                                   excluding=document.id)
    recalculate(document)


# --- payment references (R6.2) ----------------------------------------------------------


def _copied_from_source(document: Document) -> bool:
    """Whether the draft's reference is the one of the issued document it continues."""
    source = document.source if document.source_id is not None else None
    return (source is not None and source.number is not None
            and source.payment_reference == document.payment_reference)


def _check_typed_reference(document: Document, tenant: Tenant) -> None:
    """A reference typed on an invoice or proforma draft must suit the tenant's scheme."""
    if document.kind not in REFERENCED_KINDS or not document.payment_reference:
        return
    if _copied_from_source(document):
        return
    document.payment_reference = check_reference(document.payment_reference, tenant)


def check_reference(value: str, tenant: Tenant) -> str:
    """A typed reference in its stored form; DocumentError on the field when it is wrong."""
    try:
        return references.check_reference(value, tenant.reference_scheme,
                                          tenant.reference_length)
    except ValueError as exc:
        raise DocumentError(str(exc), "payment_reference") from None


def _check_references_unused(documents: Sequence[Document]) -> None:
    """Refuse a typed reference another invoice or proforma has (one query for all)."""
    typed: dict[str, Document] = {}
    for document in documents:
        reference = document.payment_reference
        if document.kind not in REFERENCED_KINDS or not reference:
            continue
        if reference in typed:
            raise DocumentError(f"Payment reference {reference} is on two of the documents"
                                " issued together: each needs its own.", "payment_reference")
        typed[reference] = document
    if not typed:
        return
    taken = db.session.execute(
        select(Document.id, Document.kind, Document.number, Document.payment_reference)
        .where(Document.kind.in_(REFERENCED_KINDS), Document.number.is_not(None),
               Document.payment_reference.in_(list(typed)))).all()
    for row in taken:
        document = typed[row.payment_reference]
        if row.id in (document.id, document.source_id):
            continue  # the proforma this invoice finalises
        raise DocumentError(
            f"Payment reference {row.payment_reference} is already on"
            f" {DocumentKind(row.kind).label.lower()} {row.number}: each invoice needs its"
            " own. Leave it empty and one is made when the invoice is issued.",
            "payment_reference")


def make_payment_reference(tenant: Tenant, kind: DocumentKind, customer_number: int,
                           position: int, number: str) -> str:
    """The reference the tenant's scheme makes for a document being issued."""
    try:
        return references.make_reference(
            tenant.reference_scheme, customer_number=customer_number, counter=position,
            number=number, length=tenant.reference_length, kind=str(kind))
    except ValueError as exc:
        raise DocumentError(f"{exc} (Settings → Payment references.)",
                            "payment_reference") from None


def update_reference_scheme(scheme: str, length: int | None) -> Tenant:
    """Change how future invoices' payment references are made; issued ones stay.

    Refused, naming the field: an unknown scheme; a KID length outside 4 to 25 digits, or
    too short for the invoices and proformas already issued (the next one must fit).
    """
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    if scheme not in references.SCHEMES:
        raise DocumentError("Choose one of the reference schemes.", "reference_scheme")
    low, high = references.MIN_GENERATED_KID_LENGTH, references.MAX_KID_LENGTH
    if length is None and scheme in references.KID_SCHEMES:
        raise DocumentError(f"KID length: enter the number of digits, {low} to {high}.",
                            "reference_length")
    if length is None:  # only a KID has a length: keep the one saved
        length = tenant.reference_length
    if not low <= length <= high:
        raise DocumentError(f"KID length: use {low} to {high} digits.", "reference_length")
    if scheme in references.KID_SCHEMES or scheme == references.RF:
        issued = db.session.execute(
            select(NumberSeries.kind, NumberSeries.issued_count)
            .where(NumberSeries.kind.in_(REFERENCED_KINDS))).all()
        for kind, count in issued or [(K.INVOICE, 0)]:
            try:  # the next document of each series must fit
                references.make_reference(scheme, customer_number=0, counter=count + 1,
                                          number="", length=length, kind=str(kind))
            except ValueError as exc:
                if scheme == references.RF:
                    raise DocumentError(str(exc), "reference_scheme") from None
                raise DocumentError(f"KID length: {exc} Choose a longer KID.",
                                    "reference_length") from None
    old = (tenant.reference_scheme, tenant.reference_length)
    if old == (scheme, length):
        return tenant
    tenant.reference_scheme, tenant.reference_length = scheme, length
    audit.record("settings.payment_references_changed", tenant,
                 f"Payment references: {scheme_name(*old)} → {scheme_name(scheme, length)}",
                 {"from": {"scheme": old[0], "length": old[1]},
                  "to": {"scheme": scheme, "length": length}})
    return tenant


def scheme_name(scheme: str, length: int) -> str:
    """The scheme as said in the app: "KID with MOD10 check digit (Luhn), 10 digits"."""
    name = references.SCHEME_NAMES.get(scheme, scheme)
    return f"{name}, {length} digits" if scheme in references.KID_SCHEMES else name


def _lock_sources(documents: Sequence[Document]) -> None:
    """Lock the documents these continue, then check what is left of them (R3.8)."""
    from saas.billing.documents import conversion as chain_rules  # it imports this module

    source_ids = sorted({d.source_id for d in documents if d.source_id is not None})
    if source_ids:
        db.session.execute(select(Document.id).where(Document.id.in_(source_ids))
                           .with_for_update())
    for document in documents:
        chain_rules.check_issue_limits(document)


def _freeze(document: Document, number: str, counter: int, period: str, position: int,
            previous_hash: str, render: bool, user_id: int | None, tenant: Tenant) -> str:
    document.number, document.counter, document.period = number, counter, period
    if document.kind in REFERENCED_KINDS and not document.payment_reference:
        # Before the PDF, which prints it, and the hash, which covers it.
        document.payment_reference = make_payment_reference(
            tenant, document.kind, document.customer.number, position, number)
    document.status = document.kind.issued_status
    document.issued_at = utcnow()
    document.issued_by_id = user_id
    document.chain_position = position
    if render:
        from saas.billing.documents.printing import render_document_pdf

        pdf = render_document_pdf(document)
        document.pdf, document.pdf_sha256 = pdf, hashlib.sha256(pdf).hexdigest()
    document.previous_hash = previous_hash
    document.chain_hash = chain.chain_hash(previous_hash, chain.canonical_content(document))
    return document.chain_hash


def issue_documents(documents: Sequence[Document], *, on: date | None = None,
                    render: bool = True, user_id: int | None = None) -> list[Document]:
    """Issue drafts of one kind together, numbered in the given order; all or none."""
    if not documents:
        return []
    kinds = {document.kind for document in documents}
    if len(kinds) != 1:
        raise DocumentError("Issue documents of one kind at a time.")
    (kind,) = kinds
    on = on or today()
    db.session.flush()  # lines still pending are written while their document is a draft
    if len(documents) > 1:  # what every document needs, in three queries instead of 3 × n
        db.session.scalars(
            select(Document).where(Document.id.in_([d.id for d in documents]))
            .options(selectinload(Document.lines),
                     selectinload(Document.customer).selectinload(Customer.contacts))).all()
    # Everything is set before the next flush: the database (and the ORM's guard) see each
    # document go from draft to issued in one UPDATE.
    with db.session.no_autoflush:
        seller = seller_terms()
        for document in documents:
            _prepare(document, on, seller)
        _check_references_unused(documents)
        _lock_sources(documents)
        counters, period, pattern, position, head = draw(kind, on, len(documents))
        for offset, (document, counter) in enumerate(zip(documents, counters, strict=True)):
            head = _freeze(document, numbering.format_number(pattern, on, counter), counter,
                           period, position + offset, head, render, user_id, seller[0])
    db.session.execute(
        update(NumberSeries).where(NumberSeries.kind == kind).values(last_hash=head)
        .execution_options(synchronize_session=False))
    _after(documents, user_id)
    return list(documents)


def issue_document(document: Document, *, on: date | None = None, render: bool = True,
                   user_id: int | None = None) -> Document:
    """Number, snapshot, freeze and (unless told not to) render and store the PDF."""
    issue_documents([document], on=on, render=render, user_id=user_id)
    return document


def _after(documents: Sequence[Document], user_id: int | None) -> None:
    from saas.billing.documents import conversion as chain_rules
    from saas.billing.payments.services import book_issued  # payments build on documents

    for document in documents:
        chain_rules.after_issue(document)
        book_issued(document, user_id)
    for document in documents:
        audit.record("documents.issued", document,
                     f"{document.kind.label} {document.number} issued to"
                     f" {document.customer.name}: {document.gross_total} {document.currency}",
                     user_id=user_id)
