"""Billing runs (R4.2, R4.4): every due contract period on one invoice, exactly once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from saas.billing.contracts import billing, bulk
from saas.billing.contracts import services as contracts
from saas.billing.contracts.models import BilledPeriod, BillingRun, Contract, RunStatus
from saas.billing.customers.models import Customer
from saas.billing.documents import chain
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.states import DocumentStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member
from tests.helpers import run_jobs

RUN_DAY = date(2026, 4, 1)


@pytest.fixture()
def book(db_session):
    """Three contracts of two customers: quarterly in advance, monthly in arrears, yearly."""
    tenant = TenantFactory(name="Vakt og Alarm AS", currency="NOK")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        mall = CustomerFactory(tenant=tenant, name="Storsenteret AS")
        school = CustomerFactory(tenant=tenant, name="Byskolen")
        vat = VatRateFactory(tenant=tenant, rate=Decimal(25)).id

        def contract(customer, **values):
            made = contracts.create_contract(db.session.get(Customer, customer.id), values)
            return made

        guarding = contract(mall, start_date=date(2026, 1, 1), billing_period="quarterly",
                            in_advance=True, number="C-1")
        contracts.add_line(guarding, {"description": "Guard post", "quantity": Decimal(1),
                                      "unit_price": Decimal("30000.00"), "vat_rate_id": vat})
        alarm = contract(mall, start_date=date(2026, 3, 10), billing_period="monthly",
                         in_advance=False, number="C-2")
        contracts.add_line(alarm, {"description": "Alarm centre", "quantity": Decimal(2),
                                   "unit_price": Decimal("310.00"), "vat_rate_id": vat})
        yearly = contract(school, start_date=date(2026, 4, 1), billing_period="yearly",
                          in_advance=True, number="C-3", billing_day=15)
        contracts.add_line(yearly, {"description": "Fire inspection", "quantity": Decimal(1),
                                    "unit_price": Decimal("8000.00"), "vat_rate_id": vat})
        db.session.commit()
        return {"tenant": tenant, "owner": owner, "ids": {
            "guarding": guarding.id, "alarm": alarm.id, "yearly": yearly.id}}


def invoices(book) -> list[tuple[str, list[tuple[str, Decimal]]]]:
    with scoping.tenant_context(book["tenant"].id):
        documents = db.session.scalars(select(Document).order_by(Document.id)).all()
        return [(d.customer.name, [(line.description, line.net) for line in d.lines])
                for d in documents]


def start(book, day=RUN_DAY, **options) -> int:
    with scoping.tenant_context(book["tenant"].id):
        started = billing.start_run(day, None, consolidate=options.get("consolidate", True),
                                    issue=options.get("issue", False))
        db.session.commit()
        return started.id


def run(app, book, day=RUN_DAY, **options):
    """Start a run and let the worker (the billing queue) carry it out."""
    run_id = start(book, day, **options)
    run_jobs(app)
    with scoping.tenant_context(book["tenant"].id):
        finished = db.session.get(BillingRun, run_id)
        db.session.refresh(finished)
        return finished


def test_the_plan_bills_each_contract_for_its_own_period(book):
    with scoping.tenant_context(book["tenant"].id):
        [mall] = billing.plan(RUN_DAY)  # the yearly contract waits for its billing day
        assert mall.customer.name == "Storsenteret AS"
        assert [(p.contract.number, p.period.label(), p.total) for p in mall.contracts] == [
            ("C-1", "Q2 2026", Decimal("30000.00")),  # in advance: the quarter starting
            # In arrears: March, from the 10th: 620.00 × 22/31 = 440.00
            ("C-2", "2026-03", Decimal("440.00")),
        ]
        assert [p.customer.name for p in billing.plan(date(2026, 4, 15))] == [
            "Storsenteret AS", "Byskolen"]


def test_a_run_repeated_three_times_bills_each_period_once(app, book):
    for _ in range(3):
        run(app, book)
    assert invoices(book) == [("Storsenteret AS", [
        ("Guard post — C-1, Q2 2026", Decimal("30000.00")),
        ("Alarm centre — C-2, 2026-03 (22 of 31 days)", Decimal("440.00")),
    ])]
    with scoping.tenant_context(book["tenant"].id):
        line = db.session.scalar(select(DocumentLine).where(
            DocumentLine.contract_id == book["ids"]["alarm"]))
        assert (line.period_start, line.period_end) == (date(2026, 3, 1), date(2026, 3, 31))
        runs = db.session.scalars(select(BillingRun).order_by(BillingRun.id)).all()
        assert [(r.status, r.total, r.invoices) for r in runs] == [
            (RunStatus.DONE, 2, 1), (RunStatus.DONE, 0, 0), (RunStatus.DONE, 0, 0)]


def test_a_run_killed_half_way_and_started_again_misses_nothing_and_doubles_nothing(
    app, book, monkeypatch
):
    written = bulk.write_chunk
    calls = []

    def dies_on_the_second(chunk, context):
        calls.append(chunk)
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return written(chunk, context)

    monkeypatch.setattr(bulk, "write_chunk", dies_on_the_second)
    monkeypatch.setattr(billing, "COMMIT_EVERY", 1)  # a commit after each invoice
    with monkeypatch.context() as held:
        held.setattr(billing, "enqueue", lambda *args, **kwargs: None)  # run it here
        killed = start(book, date(2026, 4, 15), consolidate=False)
    with pytest.raises(SystemExit), scoping.tenant_context(book["tenant"].id):
        billing.carry_out(killed)
    db.session.rollback()  # the process died: what was not committed is gone
    monkeypatch.setattr(bulk, "write_chunk", written)
    assert len(invoices(book)) == 1  # the first invoice was committed before the kill
    run(app, book, date(2026, 4, 15), consolidate=False)
    run(app, book, date(2026, 4, 15), consolidate=False)
    with scoping.tenant_context(book["tenant"].id):
        periods = db.session.execute(select(BilledPeriod.contract_id, BilledPeriod.period_start)
                                     .order_by(BilledPeriod.contract_id)).all()
        assert periods == [(book["ids"]["guarding"], date(2026, 4, 1)),
                           (book["ids"]["alarm"], date(2026, 3, 1)),
                           (book["ids"]["yearly"], date(2026, 1, 1))]
        assert db.session.scalar(select(func.count()).select_from(Document)) == 3


def test_a_chunk_meeting_a_period_billed_meanwhile_makes_the_rest_one_by_one(
    app, book, monkeypatch
):
    """Two runs at once: the second's chunk is refused whole, then made invoice by invoice."""
    day = date(2026, 4, 15)
    planned_for_real = billing.plan

    def planned_then_raced(*args, **kwargs):
        found = planned_for_real(*args, **kwargs)
        assert billing.make_invoice(found[0]) is not None  # another run bills C-1's Q2
        return found

    monkeypatch.setattr(billing, "plan", planned_then_raced)
    refused = []
    written = bulk.write_chunk

    def watched(chunk, context):
        try:
            return written(chunk, context)
        except bulk.PeriodTaken:
            refused.append(len(chunk))
            raise

    monkeypatch.setattr(bulk, "write_chunk", watched)
    finished = run(app, book, day, consolidate=False, issue=True)
    assert refused == [3]  # the whole chunk rolled back (numbers too) ...
    assert (finished.status, finished.done, finished.invoices) == (RunStatus.DONE, 3, 2)
    with scoping.tenant_context(book["tenant"].id):
        periods = db.session.scalars(select(BilledPeriod.contract_id)).all()
        assert sorted(periods) == sorted(book["ids"].values())  # ... and each once
        numbers = db.session.scalars(select(Document.number).where(
            Document.number.is_not(None)).order_by(Document.number)).all()
        assert numbers == ["INV-2026-00001", "INV-2026-00002"]  # no gap from the refusal


def test_issued_invoices_one_per_contract_when_asked(app, book):
    with scoping.tenant_context(book["tenant"].id):
        db.session.get(Contract, book["ids"]["guarding"]).payment_terms_days = 30
        db.session.commit()
    finished = run(app, book, issue=True, consolidate=False)
    assert (finished.status, finished.invoices) == (RunStatus.DONE, 2)
    with scoping.tenant_context(book["tenant"].id):
        issued = db.session.scalars(select(Document).where(
            Document.status == DocumentStatus.ISSUED).order_by(Document.number)
            .options(undefer(Document.pdf))).all()
        assert [d.number for d in issued] == ["INV-2026-00001", "INV-2026-00002"]
        # Issued in bulk as issuing does one by one: dates from the contract's terms,
        # snapshots, an unbroken chain, an audit entry each, and the PDF stored after.
        assert [(d.issue_date, d.due_date) for d in issued] == [
            (RUN_DAY, date(2026, 5, 1)), (RUN_DAY, date(2026, 4, 15))]
        assert [d.buyer["name"] for d in issued] == ["Storsenteret AS"] * 2
        assert issued[0].seller["name"] == book["tenant"].display_name
        assert [(d.chain_position, d.previous_hash) for d in issued] == [
            (1, chain.GENESIS), (2, issued[0].chain_hash)]
        assert chain.verify_series("invoice", issued) == []
        assert all(d.pdf.startswith(b"%PDF") and d.pdf_sha256 is None for d in issued)
        audited = db.session.scalars(select(AuditEntry.object_id).where(
            AuditEntry.action == "documents.issued")).all()
        assert sorted(audited) == sorted(str(d.id) for d in issued)


def test_the_tenant_chooses_what_runs_make_by_default(app, book, make_client):
    owner = make_client(book["owner"])
    base = f"/t/{book['tenant'].slug}/contracts"
    form = owner.get(f"{base}/runs").text
    assert '<input id="issue" name="issue"' in form  # drafts unless the tenant says
    saved = owner.post(f"{base}/runs/defaults", data={"runs_issue": "y",
                                                      "runs_consolidate": "y"})
    assert saved.status_code == 302
    form = owner.get(f"{base}/runs").text
    assert '<input checked id="issue" name="issue"' in form
    accountant = make_client(member(book["tenant"], Role.ACCOUNTANT))
    assert accountant.post(f"{base}/runs/defaults", data={}).status_code == 403
    result = app.test_cli_runner().invoke(args=[
        "contracts", "bill", "--tenant", book["tenant"].slug, "--date", "2026-04-15"])
    assert result.output.strip().endswith("done, 3 of 3 contracts, 2 invoices."), result.output
    with scoping.tenant_context(book["tenant"].id):  # issued, and the mall's consolidated
        assert db.session.scalar(select(func.count()).select_from(Document).where(
            Document.number.is_not(None))) == 2


def test_the_completeness_report_shows_what_is_not_billed(app, book):
    run(app, book)
    with scoping.tenant_context(book["tenant"].id):
        rows = billing.completeness(date(2026, 4, 1), date(2026, 5, 1))
        assert [(row["contract"].number, row["billed"] is not None) for row in rows] == [
            ("C-1", True), ("C-2", False), ("C-3", False)]


def test_preview_confirm_and_watch_a_run_on_its_pages(app, book, make_client):
    client = make_client(member(book["tenant"], Role.ACCOUNTANT))
    base = f"/t/{book['tenant'].slug}/contracts"
    preview = client.post(f"{base}/runs", data={"run_date": "2026-04-01", "consolidate": "y",
                                                "preview": "1"})
    assert "1 invoice to make" in preview.text and "Q2 2026" in preview.text
    assert "30,440.00 NOK" in preview.text  # 30,000.00 + 440.00, before VAT
    confirmed = client.post(f"{base}/runs", data={"run_date": "2026-04-01", "consolidate": "y",
                                                  "confirm": "1"})
    progress_url = confirmed.headers["Location"]
    running = client.get(progress_url, headers={"HX-Request": "true"}).text
    assert "hx-trigger=\"every 1s\"" in running and "planning…" in running
    run_jobs(app)
    done = client.get(progress_url, headers={"HX-Request": "true"}).text
    assert "2 of 2 contracts" in done and "hx-trigger" not in done and "Storsenteret" in done
    report = client.get(f"{base}/completeness?from=2026-04-01&to=2026-04-30").text
    assert "<strong>2</strong> not invoiced" in report  # March billed in arrears, C-3 later
    viewer = make_client(member(book["tenant"], Role.VIEWER))
    assert viewer.post(f"{base}/runs", data={"run_date": "2026-04-01"}).status_code == 403


def test_the_bill_command_shows_progress_and_bills_once(app, book):
    runner = app.test_cli_runner()
    args = ["contracts", "bill", "--tenant", book["tenant"].slug, "--date", "2026-04-15",
            "--per-contract", "--issue"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Billing run" in result.output
    assert result.output.strip().endswith("done, 3 of 3 contracts, 3 invoices.")
    again = runner.invoke(args=args)
    assert again.output.strip().endswith("done, 0 of 0 contracts, 0 invoices.")
    assert runner.invoke(args=[*args[:4], "--type", "Nope"]).exit_code == 2
