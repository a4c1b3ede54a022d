"""A termination recorded after a period was billed gives the customer back the unused days.

Expectations are computed here from days and prices (price × quantity × days / days in the
period, rounded once per line half up), independently of the proration module.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from saas.billing.contracts import billing
from saas.billing.contracts import services as contracts
from saas.billing.contracts.models import BilledPeriod, Contract
from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, issuing
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member
from tests.helpers import errors_in

K, S = DocumentKind, DocumentStatus
D = Decimal
DECEMBER = date(2025, 12, 1)
CENT = D("0.01")


def cents(value: Fraction) -> Decimal:
    """Round an exact amount half up to cents, as the test's own arithmetic."""
    return (D(value.numerator) / D(value.denominator)).quantize(CENT, ROUND_HALF_UP)


def owed(price: str, quantity: str, days: int, of: int) -> Decimal:
    return cents(Fraction(D(price)) * Fraction(D(quantity)) * Fraction(days, of))


@pytest.fixture()
def book(db_session):
    """Vakt og Alarm AS: one customer, two monthly contracts billed in advance, a quarterly
    one; VAT 25 %."""
    tenant = TenantFactory(name="Vakt og Alarm AS", currency="NOK")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        mall = CustomerFactory(tenant=tenant, name="Storsenteret AS", currency="NOK")
        vat = VatRateFactory(tenant=tenant, rate=D(25)).id
        customer = db.session.get(Customer, mall.id)

        def contract(number, **values):
            return contracts.create_contract(customer, {"number": number, "in_advance": True,
                                                        **values})

        alarm = contract("C-1", start_date=date(2025, 11, 1), billing_period="monthly")
        contracts.add_line(alarm, {"description": "Alarm centre", "quantity": D(1),
                                   "unit_price": D("1000.00"), "vat_rate_id": vat})
        contracts.add_line(alarm, {"description": "Sensor rent", "quantity": D(3),
                                   "unit_price": D("149.90"), "vat_rate_id": vat})
        cctv = contract("C-2", start_date=date(2025, 11, 1), billing_period="monthly")
        contracts.add_line(cctv, {"description": "CCTV monitoring", "quantity": D(2),
                                  "unit_price": D("777.77"), "vat_rate_id": vat})
        guarding = contract("C-3", start_date=date(2025, 1, 1), billing_period="quarterly")
        contracts.add_line(guarding, {"description": "Guard post", "quantity": D(1),
                                      "unit_price": D("30000.00"), "vat_rate_id": vat})
        contracts.add_line(guarding, {"description": "Patrol", "quantity": D(2),
                                      "unit_price": D("450.00"), "vat_rate_id": vat})
        db.session.commit()
        return {"tenant": tenant, "owner": owner, "vat": vat,
                "ids": {"alarm": alarm.id, "cctv": cctv.id, "guarding": guarding.id}}


def contract(book, name: str) -> Contract:
    return db.session.get(Contract, book["ids"][name])


def bill(book, names: list[str], day: date = DECEMBER, *, issue: bool = True,
         consolidate: bool = False) -> list[Document]:
    """Bill the named contracts' periods due on the day, issued or as drafts."""
    made = []
    for planned in billing.plan(day, consolidate=consolidate,
                                contract_ids=[book["ids"][name] for name in names]):
        document = billing.make_invoice(planned)
        if issue:
            issuing.issue_document(document, on=day, render=False)
        made.append(document)
    db.session.flush()
    return made


def credit_notes() -> list[Document]:
    return db.session.scalars(select(Document).where(Document.kind == K.CREDIT_NOTE)
                              .order_by(Document.id)).all()


def nets(document: Document) -> list[Decimal]:
    return [line.net for line in document.lines]


def test_a_month_billed_in_advance_and_terminated_on_the_15th_credits_16_days(book):
    with scoping.tenant_context(book["tenant"].id):
        [invoice] = bill(book, ["alarm"])
        assert nets(invoice) == [D("1000.00"), D("449.70")]
        done = contracts.terminate(contract(book, "alarm"), date(2025, 12, 15))
        [credit] = done.credits
        note = credit.credit_note
        # 16 of December's 31 days are not served: each line keeps 15/31, rounded once.
        alarm_credit = D("1000.00") - owed("1000.00", "1", 15, 31)
        sensor_credit = D("449.70") - owed("149.90", "3", 15, 31)
        assert (alarm_credit, sensor_credit) == (D("516.13"), D("232.10"))
        assert (note.kind, note.status, note.source_id) == (K.CREDIT_NOTE, S.DRAFT, invoice.id)
        assert nets(note) == [-alarm_credit, -sensor_credit]
        assert [(line.quantity, line.unit_price) for line in note.lines] == [
            (D(-1), alarm_credit), (D(-1), sensor_credit)]
        assert [line.source_line_id for line in note.lines] == [
            line.id for line in invoice.lines]
        assert note.net_total == -(alarm_credit + sensor_credit)
        assert note.vat_total == -cents(Fraction(alarm_credit + sensor_credit) / 4)
        assert (credit.amount, credit.days) == (alarm_credit + sensor_credit, "16–31 Dec 2025")
        first = note.lines[0]
        assert first.description == "Alarm centre — C-1, 2025-12: 16–31 Dec 2025 not served"
        assert (first.contract_id, first.period_start, first.period_end) == (
            book["ids"]["alarm"], date(2025, 12, 16), date(2025, 12, 31))
        assert not done.drafts and not done.shortfalls and not done.unmatched
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "contracts.termination_credit",
            AuditEntry.object_id == str(note.id))) == 1
        # Issued, the credit note is within the limits; what is left is what is owed.
        issuing.issue_document(note, on=date(2025, 12, 20), render=False)
        assert invoice.status == S.ISSUED  # credited in part
        assert list(conversion.credit_left(invoice).values()) == [
            owed("1000.00", "1", 15, 31), owed("149.90", "3", 15, 31)]
        # In quantities, 516.13 of 1,000.00 is 0.51613 of the line's one unit, counted as
        # 0.5162 (up, so as not to overstate what is left): 0.4838 is left; of 3 sensors,
        # 3 × 232.10 / 449.70 = 1.54836... counts as 1.5484: 1.4516 left.
        assert list(conversion.credit_remaining(invoice).values()) == [D("0.4838"),
                                                                       D("1.4516")]
        # Crediting all that is left takes exactly the rest, and the invoice is credited.
        rest = conversion.create_credit_note(invoice)
        assert nets(rest) == [-owed("1000.00", "1", 15, 31), -owed("149.90", "3", 15, 31)]
        issuing.issue_document(rest, on=date(2025, 12, 20), render=False)
        assert invoice.status == S.CREDITED
        assert note.gross_total + rest.gross_total == -invoice.gross_total


def test_terminated_before_the_period_starts_credits_it_in_full(book):
    with scoping.tenant_context(book["tenant"].id):
        [november] = bill(book, ["alarm"], date(2025, 11, 1))
        [december] = bill(book, ["alarm"])
        done = contracts.terminate(contract(book, "alarm"), date(2025, 11, 30))
        [credit] = done.credits  # November was served to its last day: nothing
        note = credit.credit_note
        assert note.source_id == december.id and credit.days == "1–31 Dec 2025"
        # Whole lines: credited by quantity, as copies of the invoice lines.
        assert [(line.quantity, line.unit_price, line.net) for line in note.lines] == [
            (D(-1), D("1000.00"), D("-1000.00")), (D(-3), D("149.90"), D("-449.70"))]
        assert note.gross_total == -december.gross_total
        issuing.issue_document(note, on=date(2025, 12, 2), render=False)
        assert (december.status, november.status) == (S.CREDITED, S.ISSUED)


def test_a_quarter_with_an_annex_inside_it_credits_the_days_at_their_own_prices(book):
    with scoping.tenant_context(book["tenant"].id):
        guarding = contract(book, "guarding")
        contracts.add_annex(guarding, date(2025, 11, 15), "New rate", [
            {"action": "change", "line_key": 1, "unit_price": D("33000.00")}])
        [invoice] = bill(book, ["guarding"], date(2025, 10, 1))
        # Q4 2025 has 92 days: 45 at 30,000.00 and 47 at 33,000.00 from 15 November.
        guard_billed = cents(Fraction(30000) * Fraction(45, 92) + Fraction(33000)
                             * Fraction(47, 92))
        assert nets(invoice) == [guard_billed, D("900.00")]
        done = contracts.terminate(guarding, date(2025, 11, 30))
        # Served: 45 days at 30,000 and 16 at 33,000; the patrol 61 of 92 days.
        guard_owed = cents(Fraction(30000) * Fraction(45, 92) + Fraction(33000)
                           * Fraction(16, 92))
        [credit] = done.credits
        assert nets(credit.credit_note) == [guard_owed - guard_billed,
                                            owed("450.00", "2", 61, 92) - D("900.00")]
        assert nets(credit.credit_note) == [D("-11119.57"), D("-303.26")]
        assert credit.days == "1–31 Dec 2025"


def test_a_consolidated_invoice_credits_only_the_terminated_contracts_lines(book):
    with scoping.tenant_context(book["tenant"].id):
        [invoice] = bill(book, ["alarm", "cctv"], consolidate=True)
        assert len(invoice.lines) == 3
        cctv_lines = [line.id for line in invoice.lines
                      if line.contract_id == book["ids"]["cctv"]]
        done = contracts.terminate(contract(book, "cctv"), date(2025, 12, 10))
        [credit] = done.credits
        assert [line.source_line_id for line in credit.credit_note.lines] == cctv_lines
        assert nets(credit.credit_note) == [owed("777.77", "2", 10, 31) - D("1555.54")]
        # The other contract terminated too: a draft of its own; the first one stands.
        again = contracts.terminate(contract(book, "alarm"), date(2025, 12, 20))
        assert not again.withdrawn
        assert [len(note.lines) for note in credit_notes()] == [1, 2]
        assert db.session.get(Document, credit.credit_note.id) is not None


def test_a_draft_invoice_gets_its_lines_made_again_and_no_credit_note(book):
    with scoping.tenant_context(book["tenant"].id):
        [draft] = bill(book, ["alarm", "cctv"], issue=False, consolidate=True)
        done = contracts.terminate(contract(book, "alarm"), date(2025, 12, 15))
        assert not done.credits and not credit_notes()
        [change] = done.drafts
        expected = [owed("1000.00", "1", 15, 31), owed("149.90", "3", 15, 31)]
        assert (change.invoice_id, change.before, change.after) == (
            draft.id, D("1449.70"), sum(expected))
        assert [(line.description, line.net) for line in draft.lines] == [
            ("Alarm centre — C-1, 2025-12 (15 of 31 days)", expected[0]),
            ("Sensor rent — C-1, 2025-12 (15 of 31 days)", expected[1]),
            ("CCTV monitoring — C-2, 2025-12", D("1555.54"))]
        assert [line.position for line in draft.lines] == [1, 2, 3]
        assert draft.net_total == sum(expected) + D("1555.54")
        period = db.session.scalar(select(BilledPeriod).where(
            BilledPeriod.contract_id == book["ids"]["alarm"]))
        assert period.amount == sum(expected)
        # Terminated before December: its lines and its billed period go, the draft stays.
        done = contracts.terminate(contract(book, "alarm"), date(2025, 11, 30))
        assert [(c.invoice_id, c.after) for c in done.drafts] == [(draft.id, D(0))]
        assert [line.description for line in draft.lines] == ["CCTV monitoring — C-2, 2025-12"]
        assert db.session.scalar(select(BilledPeriod).where(
            BilledPeriod.contract_id == book["ids"]["alarm"])) is None
        # The other contract ends before December too: the draft is left empty and goes.
        done = contracts.terminate(contract(book, "cctv"), date(2025, 11, 30))
        assert [c.invoice_id for c in done.drafts] == [None]
        assert db.session.scalar(select(func.count()).select_from(Document)) == 0
        # Extended again, December is free to be billed by the next run.
        contracts.terminate(contract(book, "alarm"), date(2026, 3, 31))
        assert [(p.contract.number, p.total) for planned in billing.plan(DECEMBER)
                for p in planned.contracts if p.contract.number == "C-1"] == [
            ("C-1", D("1449.70"))]


def test_terminated_on_the_periods_last_day_nothing_is_credited(book):
    with scoping.tenant_context(book["tenant"].id):
        bill(book, ["alarm"])
        done = contracts.terminate(contract(book, "alarm"), date(2025, 12, 31))
        assert (done.credits, done.drafts, done.withdrawn, done.shortfalls) == ([], [], [], [])
        assert credit_notes() == []
        assert contract(book, "alarm").termination_date == date(2025, 12, 31)


def alarm_owed(day: int) -> list[Decimal]:
    """What December comes to, per line, with service until the day."""
    return [owed("1000.00", "1", day, 31), owed("149.90", "3", day, 31)]


def credited(invoice: Document) -> Decimal:
    """Net given back on the invoice by issued credit notes (positive)."""
    return invoice.net_total - sum(conversion.credit_left(invoice).values())


def test_moved_earlier_the_credit_grows_and_never_credits_a_day_twice(book):
    with scoping.tenant_context(book["tenant"].id):
        [invoice] = bill(book, ["alarm"])
        alarm = contract(book, "alarm")
        first = contracts.terminate(alarm, date(2025, 12, 20)).credits[0].credit_note
        first_net = first.net_total
        assert first_net == sum(alarm_owed(20)) - D("1449.70")
        # Earlier, before the first draft is issued: it is withdrawn and made again.
        done = contracts.terminate(alarm, date(2025, 12, 15))
        assert [(w.credit_note_id, w.amount) for w in done.withdrawn] == [
            (None, -first_net)]
        [credit] = done.credits
        assert [note.id for note in credit_notes()] == [credit.credit_note.id]
        assert credit.credit_note.net_total == sum(alarm_owed(15)) - D("1449.70")
        # The same day again changes nothing.
        same = contracts.terminate(alarm, date(2025, 12, 15))
        assert (same.credits, same.withdrawn) == ([], [])
        # Issued, then earlier still: only the days between are credited.
        issuing.issue_document(credit.credit_note, on=date(2025, 12, 16), render=False)
        [more] = contracts.terminate(alarm, date(2025, 12, 10)).credits
        assert more.days == "11–15 Dec 2025"
        assert nets(more.credit_note) == [
            after - before for before, after in zip(alarm_owed(15), alarm_owed(10),
                                                    strict=True)]
        issuing.issue_document(more.credit_note, on=date(2025, 12, 16), render=False)
        assert credited(invoice) == D("1449.70") - sum(alarm_owed(10))


def test_moved_later_the_credit_shrinks_and_days_given_back_are_not_billed_again(book):
    with scoping.tenant_context(book["tenant"].id):
        [invoice] = bill(book, ["alarm"])
        alarm = contract(book, "alarm")
        contracts.terminate(alarm, date(2025, 12, 15))
        # Later, before the draft is issued: a smaller credit in its place.
        done = contracts.terminate(alarm, date(2025, 12, 20))
        assert len(done.withdrawn) == 1
        [credit] = done.credits
        assert credit.days == "21–31 Dec 2025"
        assert credit.credit_note.net_total == sum(alarm_owed(20)) - D("1449.70")
        assert len(credit_notes()) == 1
        issuing.issue_document(credit.credit_note, on=date(2025, 12, 21), render=False)
        # Undone after that: nothing is credited, and the days given back are reported.
        undone = contracts.terminate(alarm, date(2026, 6, 30))
        assert undone.credits == [] and alarm.termination_date == date(2026, 6, 30)
        [short] = undone.shortfalls
        assert (short.invoice.id, short.amount) == (invoice.id,
                                                     D("1449.70") - sum(alarm_owed(20)))
        # Terminated earlier again: only what is still billed is given back.
        [again] = contracts.terminate(alarm, date(2025, 12, 5)).credits
        assert again.days == "6–20 Dec 2025"
        assert again.credit_note.net_total == sum(alarm_owed(5)) - sum(alarm_owed(20))
        issuing.issue_document(again.credit_note, on=date(2025, 12, 21), render=False)
        assert credited(invoice) == D("1449.70") - sum(alarm_owed(5))
        # A credit note for more than is left is refused when it is issued.
        with pytest.raises(conversion.DocumentError):
            conversion.create_credit_note(invoice, amounts={
                invoice.lines[0].id: alarm_owed(5)[0] + CENT})


def test_two_drafts_cannot_together_credit_more_than_a_line_billed(book):
    with scoping.tenant_context(book["tenant"].id):
        [invoice] = bill(book, ["alarm"])
        [credit] = contracts.terminate(contract(book, "alarm"), date(2025, 12, 15)).credits
        by_hand = conversion.create_credit_note(invoice, amounts={
            invoice.lines[0].id: D("600.00")})  # within the 1,000.00 left when drafted
        issuing.issue_document(credit.credit_note, on=date(2025, 12, 16), render=False)
        with pytest.raises(conversion.DocumentError) as refused:
            with db.session.begin_nested():
                issuing.issue_document(by_hand, on=date(2025, 12, 16), render=False)
        assert "600.00 NOK, more than the 483.87 NOK left to credit on line 1" in str(
            refused.value)


def test_a_refused_termination_changes_nothing(book):
    with scoping.tenant_context(book["tenant"].id):
        bill(book, ["alarm"])
        alarm = contract(book, "alarm")
        alarm.customer.is_archived = True  # no credit note can be made for it
        with pytest.raises(contracts.ContractError) as refused:
            contracts.terminate(alarm, date(2025, 12, 15))
        assert "is archived" in str(refused.value) and refused.value.field == "termination_date"
        assert alarm.termination_date is None and credit_notes() == []


def test_terminate_on_the_page_and_follow_the_credit_note(book, make_client):
    with scoping.tenant_context(book["tenant"].id):
        [invoice] = bill(book, ["alarm"])
        number = invoice.number
        db.session.commit()
    client = make_client(book["owner"])
    url = f"/t/{book['tenant'].slug}/contracts/{book['ids']['alarm']}"
    page = client.post(f"{url}/terminate", data={"termination_date": "2025-12-15"},
                       follow_redirects=True).text
    assert f"Credit note draft</a> for invoice {number}: −748.23 NOK for 16–31 Dec 2025" in page
    link = re.search(r'<a href="([^"]+)">Credit note draft</a>', page).group(1)
    note = client.get(link)
    assert note.status_code == 200 and "516.13" in note.text
    listed = re.search(r'<section class="panel" id="credit-notes">(.*?)</section>',
                       page, re.S).group(1)
    assert link in listed and number in listed and "-748.23 NOK" in listed
    refused = client.post(f"{url}/terminate", data={"termination_date": "2025-10-31"})
    assert refused.status_code == 422
    assert errors_in(refused.text) == ["The last day is before the contract starts."]
    viewer = make_client(member(book["tenant"], Role.VIEWER))
    assert viewer.post(f"{url}/terminate", data={
        "termination_date": "2025-12-01"}).status_code == 403
