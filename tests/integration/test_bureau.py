"""The invoicing bureau (R8): its people work in client companies without logins there,
in the clients' names, audited; a work queue across clients; print runs across clients."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy import event, select

from saas.billing.customers.models import Customer, DeliveryPreference
from saas.billing.documents import issuing
from saas.billing.documents import services as documents
from saas.billing.documents.models import Delivery, DeliveryStatus, Document, PostBatch
from saas.billing.documents.states import DocumentKind
from saas.billing.dunning.models import CaseStatus
from saas.billing.dunning.queries import cases_with_todos, work_list
from saas.billing.payments import services as payments
from saas.billing.payments.models import BankLineStatus
from saas.extensions import db
from saas.outsourced_service import clients
from saas.outsourced_service.models import BureauPostBatch
from saas.outsourced_service.queue import queues_of
from saas.tenants import scoping
from saas.tenants.access import STAFF_BLUEPRINTS
from saas.tenants.models import AuditEntry, BureauMode, Role
from tests.factories import ContactFactory, CustomerFactory, VatRateFactory, member
from tests.factories_bank import BankLineFactory
from tests.factories_bureau import bureau_member, bureau_with_clients
from tests.factories_collection import CollectionCaseFactory, ContactNoteFactory
from tests.helpers import run_jobs, sent_mails
from tests.integration.test_isolation_guards import OBJECT_FACTORIES, _fill, object_id_rules


def draft_invoice(client, *, preference=DeliveryPreference.EMAIL, customer_name="Kunde AS"):
    """A draft invoice of one line for a new customer of the client; its id."""
    customer = CustomerFactory(tenant=client, name=customer_name,
                               delivery_preference=preference,
                               address_line1="Kundeveien 2", city="Bergen")
    customer_id = customer.id
    ContactFactory(tenant=client, customer=customer, email="kunde@example.com",
                   receives_invoices=True)
    vat_id = VatRateFactory(tenant=client).id
    with scoping.tenant_context(client.id):
        document = documents.create_document(DocumentKind.INVOICE,
                                             db.session.get(Customer, customer_id))
        documents.add_line(document, {"description": "Consulting", "quantity": Decimal(2),
                                      "unit_price": Decimal(500), "vat_rate_id": vat_id})
        document_id = document.id
        db.session.commit()
    return document_id


def issued_invoice(client, **kwargs) -> int:
    document_id = draft_invoice(client, **kwargs)
    with scoping.tenant_context(client.id):
        issuing.issue_document(db.session.get(Document, document_id))
        db.session.commit()
    return document_id


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def audit_of(client) -> list[AuditEntry]:
    with scoping.tenant_context(client.id):
        return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


# --- who is let in -------------------------------------------------------------------------


def test_staff_work_in_their_assigned_client_without_a_membership_under_a_banner(
    make_client, db_session
):
    bureau = bureau_with_clients()
    alfa = bureau.clients[0]
    staff = bureau_member(bureau, Role.STAFF, assigned_to=(alfa,))
    page = make_client(staff).get(f"/t/{alfa.slug}/")
    assert page.status_code == 200
    banner = re.search(r'<div class="acting-banner".*?</div>', page.text, re.S).group(0)
    assert alfa.name in banner and bureau.tenant.name in banner


def test_a_bureau_member_not_assigned_to_a_client_gets_404_on_every_client_url(
    app, make_client, db_session
):
    """Like tenant isolation: every staff page of the client, and every URL naming one of
    its objects, with every method, answers 404 to a bureau member not assigned to it."""
    bureau = bureau_with_clients(("Assigned AS", "Other AS"))
    assigned, other = bureau.clients
    staff = bureau_member(bureau, Role.ACCOUNTANT, assigned_to=(assigned,))
    http = make_client(staff)
    assert http.get(f"/t/{assigned.slug}/").status_code == 200  # let in where assigned

    pages = {
        rule.rule: http.get(_fill(rule, {"tenant_slug": other.slug})).status_code
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS
        and not rule.arguments - {"tenant_slug"} and "GET" in rule.methods
    }
    assert set(pages.values()) == {404}, pages

    objects = {arg: make(other).id for arg, make in OBJECT_FACTORIES.items()}
    probes = []  # the answers that were not as expected
    for rule, _ in object_id_rules(app):
        url = _fill(rule, {"tenant_slug": other.slug, **objects})
        # The JSON API takes no session cookie at all: 401 (it is probed with another
        # company's token in test_isolation_guards).
        expected = 401 if rule.endpoint.startswith("api.") else 404
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            status = http.open(url, method=method).status_code
            if status != expected:
                probes.append((method, url, status))
    assert probes == []


def test_the_queue_lists_only_the_clients_a_member_serves(make_client, db_session):
    bureau = bureau_with_clients()
    alfa, beta, gamma = bureau.clients
    staff = bureau_member(bureau, Role.STAFF, assigned_to=(alfa, beta))
    page = make_client(staff).get(f"/t/{bureau.tenant.slug}/bureau/").text
    assert alfa.name in page and beta.name in page and gamma.name not in page
    everything = make_client(bureau.admin).get(f"/t/{bureau.tenant.slug}/bureau/").text
    assert all(client.name in everything for client in bureau.clients)


def test_the_switcher_lists_the_clients_served_through_the_bureau(make_client, db_session):
    bureau = bureau_with_clients()
    staff = bureau_member(bureau, Role.STAFF, assigned_to=(bureau.clients[1],))
    page = make_client(staff).get("/tenants").text
    served = page[page.index('id="served-clients"'):]
    assert bureau.clients[1].name in served
    assert bureau.clients[0].name not in served


def test_a_self_service_client_is_read_only_to_the_bureau(make_client, db_session):
    bureau = bureau_with_clients(("Selv AS",), mode=BureauMode.SELF_SERVICE)
    client = bureau.clients[0]
    document_id = draft_invoice(client)
    http = make_client(bureau.admin)
    assert http.get(f"/t/{client.slug}/documents/{document_id}").status_code == 200
    assert http.post(f"/t/{client.slug}/documents/{document_id}/issue").status_code == 403


def test_a_member_of_the_client_itself_acts_as_its_member_not_for_the_bureau(
    make_client, db_session
):
    bureau = bureau_with_clients(("Egen AS",))
    client = bureau.clients[0]
    own = member(client, Role.OWNER)
    page = make_client(own).get(f"/t/{client.slug}/").text
    assert "acting-banner" not in page


# --- acting in a client's name -------------------------------------------------------------


def test_an_invoice_issued_and_sent_by_bureau_staff_is_the_clients_and_in_its_audit_log(
    app, make_client, db_session, outbox
):
    bureau = bureau_with_clients()
    alfa = bureau.clients[0]
    staff = bureau_member(bureau, Role.ACCOUNTANT, assigned_to=(alfa,))
    document_id = draft_invoice(alfa)
    http = make_client(staff)

    assert http.post(f"/t/{alfa.slug}/documents/{document_id}/issue").status_code == 302
    sent = http.post(f"/t/{alfa.slug}/documents/{document_id}/send", follow_redirects=True)
    assert "is on its way to kunde@example.com" in sent.text
    run_jobs(app)

    with scoping.tenant_context(alfa.id):
        document = db.session.get(Document, document_id)
        assert document.seller["name"] == alfa.name
        pdf = document.pdf
    text = pdf_text(pdf)
    assert alfa.name in text and "NO93 8601 1117 947" in text  # its name, its bank account
    assert bureau.tenant.name not in text
    [mail] = sent_mails(outbox)
    assert alfa.name in mail["From"]
    entries = {entry.action: entry for entry in audit_of(alfa)}
    for action in ("documents.issued", "documents.sent"):
        assert entries[action].user_id == staff.id
        assert entries[action].acting_tenant_id == bureau.tenant.id
    log = make_client(bureau.admin).get(f"/t/{alfa.slug}/audit").text
    assert f"for {bureau.tenant.name}" in log


def test_a_change_no_service_audits_is_logged_for_the_bureau_all_the_same(
    make_client, db_session
):
    bureau = bureau_with_clients()
    alfa = bureau.clients[0]
    staff = bureau_member(bureau, Role.STAFF, assigned_to=(alfa,))
    document_id = draft_invoice(alfa)
    before = len(audit_of(alfa))
    response = make_client(staff).post(
        f"/t/{alfa.slug}/documents/{document_id}/header",
        data={"notes": "Changed by the bureau", "payment_terms_days": "30", "language": "en"})
    assert response.status_code in (200, 302)
    [entry] = audit_of(alfa)[before:]
    assert (entry.user_id, entry.acting_tenant_id) == (staff.id, bureau.tenant.id)
    assert entry.details["changed"] == ["Document"]
    assert entry.summary == f"POST /t/{alfa.slug}/documents/{document_id}/header"


# --- the work queue ------------------------------------------------------------------------


def _work_in(client, *, drafts: int) -> None:
    for _ in range(drafts):
        draft_invoice(client)
    issued_invoice(client, preference=DeliveryPreference.POST)  # waits for the post
    undelivered = issued_invoice(client)  # e-mail customer, never sent
    with scoping.tenant_context(client.id):
        db.session.add(Delivery(document_id=undelivered, recipient="x@example.com",
                                subject="Invoice", status=DeliveryStatus.FAILED))
        db.session.commit()
    BankLineFactory(tenant=client)  # money in, unmatched
    BankLineFactory(tenant=client, status=BankLineStatus.MATCHED)


def test_the_queue_counts_each_clients_work(db_session):
    bureau = bureau_with_clients()
    alfa, beta, gamma = bureau.clients
    _work_in(alfa, drafts=2)
    _work_in(beta, drafts=1)
    with scoping.tenant_context(bureau.tenant.id):
        served = clients.clients_of(bureau.admin.id, Role.ADMIN)
    queues = queues_of(served)
    alfa_queue = queues[alfa.id]
    assert alfa_queue.drafts == {DocumentKind.INVOICE: 2}
    assert (alfa_queue.undelivered, alfa_queue.failed) == (1, 1)
    assert (alfa_queue.post_waiting, alfa_queue.bank_lines) == (1, 1)
    assert queues[beta.id].drafts == {DocumentKind.INVOICE: 1}
    assert queues[gamma.id].total == 0


def test_the_queue_reads_a_fixed_number_of_statements_per_client(db_session):
    """No N+1: the statements grow with the clients, never with what is in them."""
    bureau = bureau_with_clients()

    def statements(how_many: int) -> int:
        with scoping.tenant_context(bureau.tenant.id):
            served = clients.clients_of(bureau.admin.id, Role.ADMIN)[:how_many]
        sent = []
        engine = db_session.get_bind()
        listener = lambda *args: sent.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            queues_of(served)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(sent)

    empty_one, empty_three = statements(1), statements(3)
    for client in bureau.clients:
        _work_in(client, drafts=3)
    assert statements(3) == empty_three
    assert empty_three == 3 * empty_one <= 3 * 5  # per client: enter, counts, contracts (2), leave


def test_the_queues_collection_count_agrees_with_my_collection_work(db_session):
    """``cases_with_todos`` (set-wise, for the queue) and ``work_list`` (per case, for the
    collection pages) find the same open cases."""
    tenant = bureau_with_clients(("Inkasso AS",)).clients[0]
    today = date(2026, 11, 30)

    def case(next_contact_on, *notes, status=CaseStatus.OPEN):
        made = CollectionCaseFactory(tenant=tenant, next_contact_on=next_contact_on,
                                     status=status)
        case_id, customer_id = made.id, made.customer_id
        for contacted, promise_on, amount in notes:
            ContactNoteFactory(tenant=tenant, case_id=case_id, customer_id=customer_id,
                               contacted_at=datetime(*contacted, 9, tzinfo=UTC),
                               promise_on=promise_on,
                               promise_amount=Decimal(amount) if amount else None)
        return case_id, customer_id

    due, _ = case(date(2026, 11, 28))
    broken, _ = case(date(2026, 12, 9), ((2026, 11, 10), date(2026, 11, 20), "100"))
    kept, kept_customer = case(date(2026, 12, 9), ((2026, 11, 10), date(2026, 11, 20), "100"))
    case(date(2026, 12, 9), ((2026, 11, 10), date(2026, 12, 5), "100"))  # pending promise
    case(date(2026, 12, 9), ((2026, 11, 1), date(2026, 11, 5), "100"),
         ((2026, 11, 12), None, None))  # an older promise; the latest note makes none
    case(date(2026, 11, 1), status=CaseStatus.CLOSED)
    with scoping.tenant_context(tenant.id):
        payments.record_payment(db.session.get(Customer, kept_customer), Decimal(100),
                                 date(2026, 11, 15), currency="NOK")
        listed = {item.case.id for item in work_list(today)}
        counted = set(db.session.scalars(cases_with_todos(today)))
    assert listed == counted == {due, broken}


# --- post across clients -------------------------------------------------------------------


def test_a_print_run_spans_the_clients_sorted_by_client_and_prints_in_each(
    make_client, db_session
):
    bureau = bureau_with_clients(("Zulu AS", "Alfa AS", "Mike AS"))
    zulu, alfa, mike = bureau.clients
    staff = bureau_member(bureau, Role.STAFF, assigned_to=(zulu, alfa, mike))
    issued_invoice(zulu, preference=DeliveryPreference.POST, customer_name="Zulu Kunde")
    issued_invoice(alfa, preference=DeliveryPreference.POST, customer_name="Alfa Kunde")
    http = make_client(staff)

    assert http.post(f"/t/{bureau.tenant.slug}/bureau/post").status_code == 302
    with scoping.tenant_context(bureau.tenant.id):
        run = db.session.scalar(select(BureauPostBatch))
        assert [part["client"] for part in run.parts] == ["Alfa AS", "Zulu AS"]  # Mike: none
        run_id = run.id
    merged = http.get(f"/t/{bureau.tenant.slug}/bureau/post/{run_id}/pdf")
    text = pdf_text(merged.data)
    assert text.index("Print run") < text.index("Alfa Kunde") < text.index("Zulu Kunde")

    assert http.post(f"/t/{bureau.tenant.slug}/bureau/post/{run_id}/printed").status_code == 302
    for client in (alfa, zulu):
        with scoping.tenant_context(client.id):
            [batch] = db.session.scalars(select(PostBatch)).all()
            assert batch.printed_at is not None
            assert {d.status for d in batch.deliveries} == {DeliveryStatus.SENT}
        printed = [e for e in audit_of(client) if e.action == "documents.post_printed"]
        assert [(e.user_id, e.acting_tenant_id) for e in printed] == [
            (staff.id, bureau.tenant.id)]


def test_a_print_run_leaves_out_clients_a_member_does_not_serve(make_client, db_session):
    bureau = bureau_with_clients(("Mine AS", "Theirs AS"))
    mine, theirs = bureau.clients
    staff = bureau_member(bureau, Role.STAFF, assigned_to=(mine,))
    issued_invoice(mine, preference=DeliveryPreference.POST)
    issued_invoice(theirs, preference=DeliveryPreference.POST)
    make_client(staff).post(f"/t/{bureau.tenant.slug}/bureau/post")
    with scoping.tenant_context(theirs.id):
        assert db.session.scalars(select(PostBatch)).all() == []
    with scoping.tenant_context(bureau.tenant.id):
        [run] = db.session.scalars(select(BureauPostBatch)).all()
    # A run with another client's letters is not the staff member's to open.
    admin_run = make_client(bureau.admin).post(f"/t/{bureau.tenant.slug}/bureau/post")
    assert admin_run.status_code == 302
    with scoping.tenant_context(bureau.tenant.id):
        both = db.session.scalar(select(BureauPostBatch).where(BureauPostBatch.id != run.id))
    assert make_client(staff).get(
        f"/t/{bureau.tenant.slug}/bureau/post/{both.id}/pdf").status_code == 404


def test_the_bureau_pages_are_a_bureaus_only(make_client, db_session):
    bureau = bureau_with_clients(("Kunde AS",))
    client = bureau.clients[0]
    owner = member(client, Role.OWNER)
    assert make_client(owner).get(f"/t/{client.slug}/bureau/").status_code == 404
    assert make_client(bureau.admin).get(f"/t/{bureau.tenant.slug}/bureau/").status_code == 200
