"""A termination settles what was billed beyond the contract's new last day (R4.3, R3.8).

``services.terminate`` records the last day of service, then calls ``settle`` for every
billed period (``BilledPeriod``) that reaches beyond it. Each such period is recomputed
as billing computes it — ``services.period_lines`` over the contract's line versions, by
actual days, each line's amount rounded once — with the new last day, and compared,
line by line, with what its invoice billed for that contract and period:

- The invoice is issued: it is never changed. The difference is given back by a DRAFT
  credit note from the invoice (``conversion.create_credit_note``), for this contract's
  lines of that period only (a consolidated invoice's other contracts are left alone). A
  line of which nothing is owed any more (the whole period after the last day, or a line
  that ends before it) is credited whole, by quantity; a line owed in part is credited by
  amount: one unit at exactly the billed net less what the period now comes to. Each
  credit note line names the contract and the days it gives back (``contract_id``,
  ``period_start``/``period_end``). The user checks and issues the draft; issuing checks
  the limits again.
- The invoice is a draft: its lines for the contract and period are made again, as a
  billing run would make them now, in their place (``documents.services``), and the
  billed period's amount follows. When nothing is owed for the period any more, its lines
  and the ``BilledPeriod`` go (the period is free to be billed again if the contract is
  ever extended), and a draft left without lines is deleted.

Repeated terminations never credit a day twice. What is credited is counted from what is
left on each invoice line after ISSUED credit notes (``conversion.credit_left``), and
the credit note DRAFTS an earlier termination made for the same contract and invoice
lines (credit note lines carrying the contract) are withdrawn and made again for the new
last day: moved earlier, the credit grows; moved later, it shrinks or disappears. Days
already given back by an issued credit note are never billed again automatically: when
the new last day is later than one an issued credit note (or an issued prorated invoice)
was made for, the period now comes to more than is left billed, nothing is credited, and
the result reports the shortfall, to be invoiced by hand if the customer owes it. So the
credits for a period never exceed what was billed for it, whatever the order of the
terminations.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import aliased, selectinload

from saas.billing.catalog.models import VatRate
from saas.billing.contracts import billing, bulk, services
from saas.billing.contracts.models import BilledPeriod, Contract, ContractLine
from saas.billing.contracts.proration import ONE_DAY, Period
from saas.billing.documents import conversion
from saas.billing.documents import services as documents
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.extensions import db
from saas.tenants import audit

ZERO = Decimal(0)


def days_label(first: date, last: date) -> str:
    """The days from first to last, both included: "16–31 Dec 2025", "1 Jan – 31 Mar 2026"."""
    if first == last:
        return f"{first.day} {last:%b %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


@dataclass(frozen=True)
class Credit:
    """A draft credit note giving back what an issued invoice billed beyond the last day."""

    invoice: Document
    credit_note: Document
    period: Period
    first_day: date  # the days given back, both included
    last_day: date
    amount: Decimal  # net, positive

    @property
    def days(self) -> str:
        return days_label(self.first_day, self.last_day)


@dataclass(frozen=True)
class DraftChange:
    """A draft invoice's lines for the contract's period, made again for the last day."""

    invoice_id: int | None  # None: the draft was left without lines and deleted
    period: Period
    before: Decimal  # net of the contract's lines for the period, before and after
    after: Decimal


@dataclass(frozen=True)
class Withdrawn:
    """A credit note draft an earlier termination made, taken back (and made again)."""

    invoice: Document
    credit_note_id: int | None  # None: the draft was left without lines and deleted
    amount: Decimal  # net, positive


@dataclass(frozen=True)
class Shortfall:
    """An issued period that now comes to more than is left billed: not billed again."""

    invoice: Document
    period: Period
    amount: Decimal  # net


@dataclass
class Termination:
    """What a termination did to the contract's billed periods."""

    contract: Contract
    last_day: date
    credits: list[Credit] = field(default_factory=list)
    drafts: list[DraftChange] = field(default_factory=list)
    withdrawn: list[Withdrawn] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
    # Invoice lines for the contract and period that match none of its lines (edited by
    # hand before the invoice was issued): left for the user to credit.
    unmatched: list[str] = field(default_factory=list)


def settle(contract: Contract, since: date, *, user_id: int | None = None) -> Termination:
    """Settle the contract's billed periods that reach beyond ``since`` for its last day.

    ``since`` is the earlier of the last days before and after the termination, so a
    period settled by an earlier termination is settled again when the day moves later.
    """
    last_day = contract.last_day
    assert last_day is not None, "settle() is for a contract with a last day"
    result = Termination(contract, last_day)
    periods = db.session.scalars(
        select(BilledPeriod).where(BilledPeriod.contract_id == contract.id,
                                   BilledPeriod.period_end > since + ONE_DAY)
        .order_by(BilledPeriod.period_start)).all()
    if not periods:
        return result
    history = services.versions(contract)
    vats = {rate.id: rate for rate in db.session.scalars(select(VatRate))}
    for billed in periods:
        invoice = db.session.get(Document, billed.document_id)
        period = Period(billed.period_start, billed.period_end)
        owed = services.period_lines(contract, period,
                                     billing._price_list_price(contract, period), history)
        if invoice.is_draft:
            _redo_draft(contract, billed, invoice, period, owed, vats, result, user_id)
        else:
            _credit(contract, invoice, period, owed, history, result, user_id)
    return result


def _lines_for(invoice: Document, contract: Contract, period: Period) -> list[DocumentLine]:
    return [line for line in invoice.lines
            if line.contract_id == contract.id and line.period_start == period.start]


# --- a draft invoice: its lines are made again --------------------------------------------


def _same(line: DocumentLine) -> tuple:
    return (line.description, line.quantity, line.unit, line.unit_price,
            line.discount_percent, line.net, line.vat_rate_id, line.site_id, line.product_id)


def _redo_draft(contract: Contract, billed: BilledPeriod, invoice: Document, period: Period,
                owed: list[services.PeriodLine], vats: dict[int, VatRate],
                result: Termination, user_id: int | None) -> None:
    old = _lines_for(invoice, contract, period)
    planned = billing.PlannedContract(contract, period, owed)
    made = [DocumentLine(**bulk.line_values(planned, item, 0, vats)) for item in owed]
    if [_same(line) for line in old] == [_same(line) for line in made]:
        return
    before = sum((line.net for line in old), ZERO)
    at = min((line.position for line in old), default=len(invoice.lines) + 1) - 1
    for line in old:
        documents.remove_line(line)
    for offset, line in enumerate(made):
        invoice.lines.insert(at + offset, line)
    for position, line in enumerate(invoice.lines, start=1):
        line.position = position
    documents.recalculate(invoice)
    if made:
        billed.amount = planned.total
    else:
        db.session.delete(billed)
    summary = (f"Draft invoice {invoice.id}: contract {contract.number}, {period.label()}"
               f" made again for the last day {result.last_day}: {before} → {planned.total}"
               f" {invoice.currency}")
    audit.record("contracts.termination_draft", invoice, summary, user_id=user_id)
    invoice_id: int | None = invoice.id
    if not invoice.lines:
        documents.delete_draft(invoice)
        invoice_id = None
    db.session.flush()
    result.drafts.append(DraftChange(invoice_id, period, before, planned.total))


# --- an issued invoice: a credit note draft --------------------------------------------


def _billed_as(line: DocumentLine, version: ContractLine, label: str) -> bool:
    """Whether billing wrote the line from the version ("<description> — C-1, 2025-12")."""
    text = version.description + label
    rest = line.description[len(text):]
    return (line.description.startswith(text) and (not rest or rest.startswith(" ("))
            and line.site_id == version.site_id and line.product_id == version.product_id)


def _keys(contract: Contract, period: Period, lines: list[DocumentLine],
          history: dict[int, list[ContractLine]]) -> dict[int, int]:
    """The contract line (key) each invoice line billed: billing writes them in key order,
    each described as the version in force at the end of its days in the period."""
    label = f" — {contract.number}, {period.label()}"
    keys = sorted(history)
    found: dict[int, int] = {}
    start = 0
    for line in lines:
        for index in range(start, len(keys)):
            if any(_billed_as(line, version, label) for version in history[keys[index]]
                   if version.effective_from < period.end):
                found[line.id] = keys[index]
                start = index + 1
                break
    return found


def _credit(contract: Contract, invoice: Document, period: Period,
            owed: list[services.PeriodLine], history: dict[int, list[ContractLine]],
            result: Termination, user_id: int | None) -> None:
    lines = _lines_for(invoice, contract, period)
    if not lines:
        return
    keys = _keys(contract, period, lines, history)
    result.unmatched += [f"{invoice.title}, line {line.position} ({line.description})"
                         for line in lines if line.id not in keys]
    amounts_owed = {item.line_key: item.amount for item in owed}
    left = conversion.credit_left(invoice)
    quantities: dict[int, Decimal] = {}
    amounts: dict[int, Decimal] = {}
    wanted: dict[int, Decimal] = {}
    short = ZERO
    for line in lines:
        if line.id not in keys:
            continue
        give = left[line.id] - amounts_owed.get(keys[line.id], ZERO)
        if give < 0:
            short -= give
        elif give > 0:
            wanted[line.id] = give
            if give == line.net:  # nothing owed, nothing credited yet: the whole line
                quantities[line.id] = line.quantity
            else:
                amounts[line.id] = give
    pending = _pending(invoice, contract, lines)
    had: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in pending:
        had[line.source_line_id] -= line.net
    if short:
        result.shortfalls.append(Shortfall(invoice, period, short))
    if dict(had) == wanted:
        return  # the drafts made before stand as they are
    _withdraw(invoice, pending, result, user_id)
    if not wanted:
        return
    first = max(result.last_day + ONE_DAY, period.start)
    through = _billed_through(invoice, contract, lines, period)
    if through < first:  # not days: the period came to less (an annex since billing)
        through = period.last_day
    note = conversion.create_credit_note(invoice, quantities, amounts=amounts,
                                         user_id=user_id)
    days = days_label(first, through)
    for credit_line in note.lines:
        credit_line.description = f"{credit_line.source_line.description}: {days} not served"
        credit_line.contract_id = contract.id
        credit_line.period_start, credit_line.period_end = first, through
        credit_line.price_explanation = (f"Contract {contract.number} terminated, last day"
                                         f" {result.last_day}.")
    db.session.flush()
    amount = -note.net_total
    result.credits.append(Credit(invoice, note, period, first, through, amount))
    audit.record("contracts.termination_credit", note,
                 f"Credit note draft for {invoice.title}: -{amount} {invoice.currency} for"
                 f" {days}, contract {contract.number} terminated (last day"
                 f" {result.last_day})", user_id=user_id)


def _pending(invoice: Document, contract: Contract,
             lines: list[DocumentLine]) -> list[DocumentLine]:
    """Credit note draft lines an earlier termination made for these invoice lines."""
    return db.session.scalars(
        select(DocumentLine).join(Document, Document.id == DocumentLine.document_id)
        .where(Document.kind == K.CREDIT_NOTE, Document.status == S.DRAFT,
               Document.source_id == invoice.id, DocumentLine.contract_id == contract.id,
               DocumentLine.source_line_id.in_([line.id for line in lines]))
        .order_by(DocumentLine.document_id, DocumentLine.position)).all()


def _withdraw(invoice: Document, pending: list[DocumentLine], result: Termination,
              user_id: int | None) -> None:
    """Take back the lines of earlier credit note drafts; a draft left empty goes."""
    by_note: dict[int, list[DocumentLine]] = defaultdict(list)
    for line in pending:
        by_note[line.document_id].append(line)
    for lines in by_note.values():
        note = lines[0].document
        amount = -sum((line.net for line in lines), ZERO)
        for line in lines:
            documents.remove_line(line)
        note_id: int | None = note.id
        if not note.lines:
            documents.delete_draft(note)
            note_id = None
        result.withdrawn.append(Withdrawn(invoice, note_id, amount))
        audit.record("contracts.termination_withdrawn", invoice,
                     f"Credit note draft {note.id} for {invoice.title}: -{amount}"
                     f" {invoice.currency} withdrawn"
                     + (" (deleted)" if note_id is None else "")
                     + f", contract {result.contract.number} now ends {result.last_day}",
                     user_id=user_id)
    db.session.flush()


def _billed_through(invoice: Document, contract: Contract, lines: list[DocumentLine],
                    period: Period) -> date:
    """The last day still billed: before the days issued credit notes gave back."""
    first_given_back = db.session.scalar(
        select(DocumentLine.period_start).join(Document, Document.id == DocumentLine.document_id)
        .where(Document.kind == K.CREDIT_NOTE, Document.number.is_not(None),
               Document.source_id == invoice.id, DocumentLine.contract_id == contract.id,
               DocumentLine.source_line_id.in_([line.id for line in lines]))
        .order_by(DocumentLine.period_start).limit(1))
    if first_given_back is None:
        return period.last_day
    return min(period.last_day, first_given_back - ONE_DAY)


def credit_notes_for(contract: Contract) -> list[tuple[Document, Decimal]]:
    """The credit notes of the invoices that billed the contract which credit its lines,
    drafts included, each with the net of those lines (negative)."""
    invoice_line = aliased(DocumentLine)
    billed = select(BilledPeriod.document_id).where(BilledPeriod.contract_id == contract.id)
    rows = db.session.execute(
        select(Document, func.sum(DocumentLine.net))
        .join(DocumentLine, DocumentLine.document_id == Document.id)
        .join(invoice_line, invoice_line.id == DocumentLine.source_line_id)
        .where(Document.kind == K.CREDIT_NOTE, Document.source_id.in_(billed),
               invoice_line.contract_id == contract.id)
        .options(selectinload(Document.source))
        .group_by(Document.id).order_by(Document.id)).all()
    return [(note, net) for note, net in rows]
