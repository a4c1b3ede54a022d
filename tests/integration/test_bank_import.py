"""Importing bank statements: every sample format, a statement paying invoices by
reference, number, in part and too much, what is refused (with nothing saved), and the
set-wise booking against the one-by-one booking, row for row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.exc import IntegrityError

from saas.billing.customers.models import Customer
from saas.billing.documents.models import AMOUNT_UNITS, Document
from saas.billing.payments import services as payment_services
from saas.billing.payments.bank import booking, services
from saas.billing.payments.bank.services import BankImportError
from saas.billing.payments.models import (
    Allocation,
    BankCsvMapping,
    BankLine,
    BankStatement,
    JournalEntry,
    JournalLine,
    Payment,
)
from saas.events.models import DomainEvent
from saas.extensions import db
from saas.rows import on_postgresql
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, BankAccount
from tests.factories import BankAccountFactory, CustomerFactory, TenantFactory
from tests.factories_bank import SAMPLES, camt, credit, invoice, open_invoice

D = Decimal
KID = "12345678903"  # MOD11
KID_2 = "0000012344"  # MOD10


def import_file(tenant, data: bytes, account_id: int, name: str = "statement.xml",
                fmt: str | None = None, book_now: bool = True):
    with scoping.tenant_context(tenant.id):
        account = db.session.get(BankAccount, account_id)
        result = services.import_statement(data, name, account, fmt, book_now=book_now)
        db.session.commit()
        return result


def rows(tenant, model, *order):
    with scoping.tenant_context(tenant.id):
        return db.session.scalars(select(model).order_by(*order or (model.id,))).all()


def count(tenant, model) -> int:
    with scoping.tenant_context(tenant.id):
        return db.session.scalar(select(func.count()).select_from(model))


# --- every sample format ----------------------------------------------------------------


@pytest.mark.parametrize("folder, name, iban, bban, lines, ignored", [
    ("camt053", "fi-fffs-camt053.001.02-rf-scor.xml", "FI7433010001222090", "", 13, 7),
    ("camt053", "ch-postfinance-camt053.001.04.xml", "CH2909000000250094239", "", 5, 1),
    ("camt053", "lt-siauliu-bankas-camt053.001.02.xml", "LT007180000000000000", "", 4, 4),
    ("camt053", "nl-genkgo-camt053.001.02-multi-statement.xml", "NL26VAYB8060476890", "", 2,
     1),
    ("camt053", "nl-genkgo-camt053.001.08.xml", "NL26VAYB8060476890", "", 1, 0),
    ("mt940", "abnamro-nl.sta", "", "517852257", 10, 10),
    ("mt940", "asn-bank-nl-swift-blocks.txt", "NL81ASNB9999999999", "", 8, 5),
    ("mt940", "ing-nl.sta", "", "0001234567", 7, 5),
    ("mt940", "mbank-pl.sta", "PL29114010810000267002001002", "", 3, 0),
    ("mt940", "rabobank-nl-iban.sta", "NL71RABO0123456789", "", 4, 4),
])
def test_each_sample_is_imported_with_money_out_ignored_and_money_in_waiting(
        db_session, folder, name, iban, bban, lines, ignored):
    tenant = TenantFactory()
    account_id = BankAccountFactory(tenant=tenant, iban=iban, bban=bban, currency="EUR").id
    result = import_file(tenant, (SAMPLES / folder / name).read_bytes(), account_id, name)
    assert (result.lines, result.booked, result.ignored, result.waiting) == (
        lines, 0, ignored, lines - ignored)
    [statement] = rows(tenant, BankStatement)
    assert (statement.file_name, statement.line_count, statement.bank_account_id) == (
        name, lines, account_id)
    assert len(statement.file_sha256) == 64
    assert count(tenant, BankLine) == lines


def test_a_file_of_two_accounts_is_refused_with_nothing_saved(db_session):
    tenant = TenantFactory()
    account_id = BankAccountFactory(tenant=tenant, iban="", bban="50880050/0194787400888").id
    with pytest.raises(BankImportError, match=r"The file holds statements of 2 accounts"
                       r" \(50880050/0194787400888, 50880050/0194791600888\): import one"):
        import_file(tenant, (SAMPLES / "mt940/german-sepa-snippet.sta").read_bytes(),
                    account_id)
    db.session.rollback()
    assert count(tenant, BankStatement) == 0


def test_several_statements_of_a_file_are_one_import_with_all_their_identifications(
        db_session):
    tenant = TenantFactory()
    account_id = BankAccountFactory(tenant=tenant, iban="NL26VAYB8060476890").id
    import_file(tenant, (SAMPLES / "camt053/nl-genkgo-camt053.001.02-multi-statement.xml")
                .read_bytes(), account_id)
    [statement] = rows(tenant, BankStatement)
    assert statement.statement_ref == "253EURNL26VAYB8060476890, 254EURNL26VAYB8060476890"
    assert (statement.opening_balance, statement.closing_balance) == (D("18.15"), D("20.00"))


# --- a statement paying invoices ---------------------------------------------------------


@pytest.fixture()
def shop(db_session):
    """A tenant whose customers have open invoices, and its bank account."""
    tenant = TenantFactory()
    account_id = BankAccountFactory(tenant=tenant).id
    fjord = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS").id
    havbris = CustomerFactory(tenant=tenant, name="Havbris Hotell AS").id
    kari = CustomerFactory(tenant=tenant, name="Kari Nordmann").id
    invoices = {
        "by_kid": open_invoice(tenant, fjord, "1000.00", reference=KID),
        "by_number": open_invoice(tenant, havbris, "2500.00"),
        "in_part": open_invoice(tenant, kari, "800.00", reference=KID_2),
        "too_much": open_invoice(tenant, havbris, "300.00"),
        "by_name": open_invoice(tenant, fjord, "480.00"),
        "unpaid": open_invoice(tenant, kari, "999.00"),
    }
    return tenant, account_id, {"fjord": fjord, "havbris": havbris, "kari": kari}, invoices


def paying_statement(tenant, invoices, statement_id="STMT-1") -> bytes:
    number = {key: invoice(tenant, invoice_id).number for key, invoice_id in invoices.items()}
    return camt(
        credit("1000.00", reference=KID, name="Fjord Bakeri"),
        credit("2500.00", text=f"Faktura {number['by_number']}", name="Havbris"),
        credit("300.00", reference=KID_2, name="K. Nordmann"),
        credit("350.00", text=f"Betaling {number['too_much'].lower()}",
               name="HAVBRIS HOTELL"),
        credit("480.00", name="FJORD BAKERI AS", account="NO1122334455667"),
        credit("123.45", name="Ukjent Giver", text="Gave"),
        credit("-49.00", text="Gebyr"),
        statement_id=statement_id)


def test_a_statement_books_references_numbers_parts_overpayments_and_names(shop):
    tenant, account_id, customers, invoices = shop
    result = import_file(tenant, paying_statement(tenant, invoices), account_id)
    assert (result.lines, result.booked, result.waiting, result.ignored) == (7, 5, 1, 1)
    states = {key: (invoice(tenant, i).status.value, invoice(tenant, i).paid_total)
              for key, i in invoices.items()}
    assert states == {"by_kid": ("paid", D("1000.00")), "by_number": ("paid", D("2500.00")),
                      "in_part": ("partly_paid", D("300.00")),
                      "too_much": ("paid", D("300.00")), "by_name": ("paid", D("480.00")),
                      "unpaid": ("issued", D("0"))}
    with scoping.tenant_context(tenant.id):
        assert payment_services.customer_credit(customers["havbris"], "NOK") == D("50.00")
        lines = db.session.scalars(select(BankLine).order_by(BankLine.position)).all()
        assert [(line.status.value, line.matched_automatically) for line in lines] == [
            ("matched", True)] * 5 + [("unmatched", False), ("ignored", False)]
        assert [int(line.confidence) for line in lines[:5]] == [100, 95, 95, 85 + 10, 90]
        assert lines[6].match_note == "Money out: not a customer's payment."
        payments = db.session.scalars(select(Payment).order_by(Payment.id)).all()
        assert [p.bank_line_id for p in payments] == [line.id for line in lines[:5]]
        assert payments[0].reference == KID and payments[0].received_on == lines[0].booked_on


def test_an_invoice_paid_in_part_is_found_by_what_is_left_open_of_it(shop):
    """The open amount the look-up finds an invoice by follows its payments."""
    tenant, account_id, _, invoices = shop
    import_file(tenant, camt(credit("300.00", reference=KID_2, name="K. Nordmann"),
                             statement_id="PART-1"), account_id, name="first.xml")
    assert invoice(tenant, invoices["in_part"]).status.value == "partly_paid"
    with scoping.tenant_context(tenant.id):
        assert db.session.get(Document, invoices["in_part"]).open_units == 500 * AMOUNT_UNITS
    result = import_file(tenant, camt(credit("500.00", name="Kari Nordmann"),
                                      statement_id="PART-2"), account_id, name="second.xml")
    assert result.booked == 1
    assert invoice(tenant, invoices["in_part"]).status.value == "paid"
    assert invoice(tenant, invoices["unpaid"]).status.value == "issued"


def test_the_same_file_again_is_refused_naming_the_earlier_import(shop):
    tenant, account_id, _, invoices = shop
    data = paying_statement(tenant, invoices)
    first = import_file(tenant, data, account_id, "nov.xml")
    with pytest.raises(BankImportError) as refused:
        import_file(tenant, data, account_id, "nov-again.xml")
    assert str(refused.value).startswith(
        "This file was imported before: nov.xml (statement STMT-1), imported on ")
    assert str(refused.value).endswith(f"as statement #{first.statement_id}.")
    db.session.rollback()
    assert count(tenant, BankStatement) == 1


def test_another_file_of_the_same_statement_is_refused(shop):
    tenant, account_id, _, invoices = shop
    import_file(tenant, camt(credit("10.00"), statement_id="STMT-9"), account_id)
    with pytest.raises(BankImportError, match="Statement STMT-9 of NO9386011117947 was"
                                              " imported before: statement.xml"):
        import_file(tenant, camt(credit("11.00"), statement_id="STMT-9"), account_id)


def test_a_broken_file_is_refused_with_nothing_saved(shop):
    tenant, account_id, _, invoices = shop
    broken = paying_statement(tenant, invoices).replace(b">2500.00<", b">2.500,00<", 1)
    with pytest.raises(BankImportError, match=r"Line \d+, Document/BkToCstmrStmt/Stmt/"
                                              r"Ntry\[2\]/Amt: '2.500,00' is not an amount"):
        import_file(tenant, broken, account_id)
    db.session.rollback()
    assert (count(tenant, BankStatement), count(tenant, BankLine), count(tenant, Payment)) == (
        0, 0, 0)
    assert invoice(tenant, invoices["by_kid"]).status.value == "issued"


def test_a_failure_half_way_leaves_nothing_of_the_statement(shop, monkeypatch):
    tenant, account_id, _, invoices = shop

    def fail(*args, **kwargs):
        raise BankImportError("the database went away")

    monkeypatch.setattr(services, "book_automatic", fail)
    with scoping.tenant_context(tenant.id), pytest.raises(BankImportError):
        account = db.session.get(BankAccount, account_id)
        with db.session.begin_nested():  # as a request's transaction would be rolled back
            services.import_statement(paying_statement(tenant, invoices), "s.xml", account)
    assert (count(tenant, BankStatement), count(tenant, BankLine)) == (0, 0)


@pytest.mark.parametrize("data, message", [
    (camt(credit("10.00"), account="NO0000000000000"),
     "The file is a statement of account NO0000000000000, not of NO9386011117947"),
    (camt(credit("10.001")), "the amount 10.001 has more decimals than NOK has (2)"),
    (camt(credit("10.00", currency="XYZ")), "'XYZ' is not a currency."),
    (b"Dato;Belop\n01.11.2026;10,00\n", "a CSV file needs the account's column mapping"),
])
def test_a_file_not_fit_for_the_account_is_refused(shop, data, message):
    tenant, account_id, _, _ = shop
    with pytest.raises(BankImportError) as refused:
        import_file(tenant, data, account_id)
    assert message in str(refused.value)


def test_a_csv_statement_is_read_by_the_accounts_mapping(shop):
    tenant, account_id, _, invoices = shop
    with scoping.tenant_context(tenant.id):
        db.session.add(BankCsvMapping(bank_account_id=account_id, columns={
            "booked_on": "Dato", "amount": "Beløp", "text": "Tekst", "reference": "KID"}))
        db.session.commit()
    data = (f"Dato;Tekst;KID;Beløp\n20.11.2026;Innbetaling;{KID};1 000,00\n"
            "21.11.2026;Gave;;50,00\n").encode()
    result = import_file(tenant, data, account_id, "nov.csv")
    assert (result.lines, result.booked, result.waiting) == (2, 1, 1)
    assert invoice(tenant, invoices["by_kid"]).status.value == "paid"
    [statement] = rows(tenant, BankStatement)
    assert (statement.format.value, statement.account) == ("csv", "NO9386011117947")


def test_an_account_seen_on_a_booked_line_identifies_the_payer_next_time(shop):
    tenant, account_id, customers, invoices = shop
    import_file(tenant, camt(credit("999.00", reference="", text="Faktura",
                                    name="Unknown", account="NO5555")), account_id)
    with scoping.tenant_context(tenant.id):
        line = db.session.scalar(select(BankLine))
        kari = db.session.get(Customer, customers["kari"])
        services.book_by_hand(line, kari, [(db.session.get(Document, invoices["unpaid"]),
                                            D("999.00"))])
        db.session.commit()
    result = import_file(tenant, camt(credit("800.00", account="NO 5555", name="?"),
                                      statement_id="STMT-2"), account_id)
    assert result.booked == 1
    assert invoice(tenant, invoices["in_part"]).status.value == "paid"


# --- set-wise booking books what record_payment books ---------------------------------------


def snapshot(tenant) -> dict[str, list]:
    """Every row the booking wrote, without ids or times: comparable across tenants."""
    with scoping.tenant_context(tenant.id):
        positions = dict(db.session.execute(select(BankLine.id, BankLine.position)).all())
        numbers = dict(db.session.execute(select(Document.id, Document.number)).all())
        payments = db.session.scalars(select(Payment).order_by(Payment.bank_line_id)).all()
        payment_of = {p.id: positions[p.bank_line_id] for p in payments}
        customers = {p.customer_id: p.customer.name for p in payments}
        allocation_of = {a.id: (payment_of[a.payment_id], numbers[a.invoice_id])
                         for a in db.session.scalars(select(Allocation))}
        entries = db.session.scalars(select(JournalEntry).where(
            JournalEntry.document_id.is_(None))).all()
        return {
            "payments": sorted((payment_of[p.id], customers[p.customer_id], p.amount,
                                p.currency, p.method.value, p.reference, p.received_on,
                                p.kind.value) for p in payments),
            "allocations": sorted((*allocation_of[a.id], a.amount, a.allocated_on)
                                  for a in db.session.scalars(select(Allocation))),
            "journal": sorted((e.kind, e.description, e.currency, e.posted_on,
                               payment_of.get(e.payment_id),
                               allocation_of.get(e.allocation_id),
                               tuple((line.account, line.debit, line.credit,
                                      customers.get(line.customer_id)) for line in e.lines))
                              for e in entries),
            "invoices": sorted((d.number, d.status.value, d.paid_total) for d in
                               db.session.scalars(select(Document))),
            "lines": [(line.position, line.status.value, line.matched_automatically,
                       line.confidence, line.match_note) for line in db.session.scalars(
                select(BankLine).order_by(BankLine.position))],
            # The domain events webhooks and automations read (ids left out: they differ).
            "events": sorted(
                (e.name, payment_of.get(e.subject_id) if e.subject_type == "payment"
                 else numbers[e.subject_id],
                 tuple(sorted((k, str(v)) for k, v in e.data.items() if not k.endswith("id"))))
                for e in db.session.scalars(select(DomainEvent).where(DomainEvent.name.in_(
                    ["payment.received", "document.paid", "document.status_changed"])))
                if e.data.get("from") != "draft"),
            "audit": sorted((a.action, a.object_type, a.summary) for a in db.session.scalars(
                select(AuditEntry).where(AuditEntry.action.in_(
                    ["payments.recorded", "documents.status"])))
                            if not a.summary.endswith("draft → issued")),
        }


@pytest.mark.postgres
def test_booking_set_wise_writes_the_rows_record_payment_writes(db_session, monkeypatch):
    def booked(bulk_from: int, part: int = 1000, after: int = 0) -> dict[str, list]:
        """Booked set-wise from ``bulk_from`` bookings on, ``part`` lines imported at a
        time; with ``after``, after the import, that many lines at a time."""
        monkeypatch.setattr(booking, "BULK_FROM", bulk_from)
        monkeypatch.setattr(services, "PART", part)
        monkeypatch.setattr(booking, "CHUNK", after or booking.CHUNK)
        tenant = TenantFactory()
        account_id = BankAccountFactory(tenant=tenant).id
        fjord = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS").id
        havbris = CustomerFactory(tenant=tenant, name="Havbris Hotell AS").id
        ids = [open_invoice(tenant, fjord, "1000.00", reference=KID),
               open_invoice(tenant, havbris, "2500.00"),
               open_invoice(tenant, havbris, "300.00", reference=KID_2),
               open_invoice(tenant, fjord, "480.00")]
        numbers = [invoice(tenant, i).number for i in ids]
        import_file(tenant, camt(
            credit("1000.00", reference=KID),
            credit("2000.00", text=f"{numbers[1]}", name="Havbris Hotell"),
            credit("350.00", reference=KID_2),
            credit("1480.00", text=f"{numbers[0]} {numbers[3]}",  # the first paid already
                   name="Fjord Bakeri AS"),
            credit("77.00", text="Gave")), account_id, book_now=not after)
        if after:
            with scoping.tenant_context(tenant.id):
                statement_id = db.session.scalar(select(BankStatement.id))
                assert [line.status.value for line in db.session.scalars(select(BankLine)
                        .order_by(BankLine.position))] == ["pending"] * 4 + ["unmatched"]
                assert count(tenant, Payment) == 0  # the import booked nothing
                assert booking.book_pending(statement_id) == 4
                assert booking.book_pending(statement_id) == 0  # each line once
                assert all(line.sure_match is None for line in db.session.scalars(
                    select(BankLine)))  # kept only until booked
        return snapshot(tenant)

    one_by_one, set_wise = booked(1000), booked(1)
    assert set_wise == one_by_one
    # Two lines at a time, each pair saved and booked on the thread while the next is
    # matched: the fourth line still sees the first invoice paid by the first line.
    assert booked(1, part=2) == one_by_one == booked(1000, part=2)
    # Booked after the import, in parts of their own (set-wise, or one by one): the same.
    assert booked(1, after=3) == one_by_one == booked(1000, after=2)
    assert len(set_wise["payments"]) == 4 and len(set_wise["journal"]) == 4
    assert [e[0] for e in set_wise["events"]].count("payment.received") == 4
    assert [e[0] for e in set_wise["events"]].count("document.paid") == 3
    # One receipt per payment: the bank debited, what it settles and the rest credited.
    receipts = {entry[4]: [line[:3] for line in entry[6]] for entry in set_wise["journal"]}
    assert receipts[2] == [("1920", D("2000"), 0), ("1500", 0, D("2000"))]
    assert receipts[3] == [("1920", D("350"), 0), ("1500", 0, D("300")), ("2900", 0, D("50"))]
    assert receipts[4] == [("1920", D("1480"), 0), ("1500", 0, D("480")),
                           ("2900", 0, D("1000"))]


@pytest.mark.parametrize("set_wise", [True, False], ids=["set-wise", "one-by-one"])
def test_an_invoice_paid_after_the_import_before_its_booking_is_settled_no_further(
    shop, monkeypatch, set_wise
):
    """Between an import and the booking of its sure matches, staff settled part of an
    invoice by hand: set-wise, the line's share is cut to what is open and the rest is
    the customer's credit; one by one, the line is refused and waits for staff, saying
    why. Either way nothing is paid beyond the invoice's total."""
    if set_wise and not on_postgresql():
        pytest.skip("set-wise booking is PostgreSQL's")
    monkeypatch.setattr(booking, "BULK_FROM", 1 if set_wise else 1000)
    tenant, account_id, customers, invoices = shop
    result = import_file(tenant, camt(credit("1000.00", reference=KID)), account_id,
                         book_now=False)
    assert (result.booked, result.pending, result.waiting) == (0, 1, 0)
    with scoping.tenant_context(tenant.id):
        fjord = db.session.get(Customer, customers["fjord"])
        by_hand = db.session.get(Document, invoices["by_kid"])
        payment_services.record_payment(fjord, D("400.00"), by_hand.issue_date,
                                        allocations=[(by_hand, D("400.00"))])
        db.session.commit()
        booked = booking.book_pending(result.statement_id)
        line = db.session.scalar(select(BankLine))
        paid = db.session.get(Document, invoices["by_kid"])
        assert paid.paid_total <= paid.gross_total
        if set_wise:
            assert (booked, line.status.value, line.matched_automatically) == (
                1, "matched", True)
            assert (paid.status.value, paid.paid_total) == ("paid", D("1000.00"))
            assert payment_services.customer_credit(fjord.id, "NOK") == D("400.00")
        else:
            assert (booked, line.status.value, line.sure_match) == (0, "unmatched", None)
            assert line.match_note.startswith("Not booked automatically:")
            assert (paid.status.value, paid.paid_total) == ("partly_paid", D("400.00"))


@pytest.mark.postgres
def test_a_payment_booked_set_wise_is_undone_like_any(db_session, monkeypatch):
    monkeypatch.setattr(booking, "BULK_FROM", 1)
    tenant = TenantFactory()
    account_id = BankAccountFactory(tenant=tenant).id
    fjord = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS").id
    paid = open_invoice(tenant, fjord, "1000.00", reference=KID)
    import_file(tenant, camt(credit("1200.00", reference=KID)), account_id)
    assert invoice(tenant, paid).status.value == "paid"
    with scoping.tenant_context(tenant.id):
        line = db.session.scalar(select(BankLine))
        services.undo_line(line)
        db.session.commit()
        assert (line.status.value, line.matched_automatically) == ("unmatched", False)
        assert payment_services.customer_credit(fjord, "NOK") == 0
        debit, credit_sum = db.session.execute(select(func.sum(JournalLine.debit),
                                                      func.sum(JournalLine.credit))).one()
        assert debit == credit_sum
    assert (invoice(tenant, paid).status.value, invoice(tenant, paid).paid_total) == (
        "issued", D("0"))


# --- the lines' keys: (tenant, statement) and (tenant, journal entry) ------------------------


def as_owner(database_urls, tenant_id: int, statement: str, values: dict) -> None:
    """One statement as the owner (no app checks), in the tenant (row-level security)."""
    engine = create_engine(database_urls["owner"])
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                               {"t": str(tenant_id)})
            connection.execute(text(statement), values)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_line_is_of_its_statements_and_its_entrys_tenant(db_session, database_urls):
    """Bank lines and journal lines have no key to the tenant of their own: the key with
    their parent (tenant_id, parent id) refuses a line of another tenant's parent."""
    mine, other = TenantFactory(), TenantFactory()
    account_id = BankAccountFactory(tenant=mine).id
    customer_id = CustomerFactory(tenant=mine).id
    open_invoice(mine, customer_id, "1000.00", reference=KID)
    import_file(mine, camt(credit("1000.00", reference=KID)), account_id)
    statement_id = rows(mine, BankLine)[0].statement_id
    entry_id = next(e.id for e in rows(mine, JournalEntry) if e.payment_id is not None)
    db.session.commit()
    with pytest.raises(IntegrityError, match="fk_bank_lines_tenant_id_bank_statements"):
        as_owner(database_urls, other.id,
                 "INSERT INTO bank_lines (tenant_id, statement_id, position, booked_on, amount,"
                 " currency, counterparty_name, counterparty_account, structured_reference,"
                 " remittance_text, bank_reference, status, matched_automatically, match_note)"
                 " VALUES (:t, :s, 2, '2026-11-02', 1, 'NOK', '', '', '', '', '', 'unmatched',"
                 " false, '')", {"t": other.id, "s": statement_id})
    with pytest.raises(IntegrityError, match="fk_journal_lines_tenant_id_journal_entries"):
        as_owner(database_urls, other.id,
                 "INSERT INTO journal_lines (tenant_id, entry_id, account, debit, credit,"
                 " vat_code) VALUES (:t, :e, '1920', 1, 0, '')", {"t": other.id, "e": entry_id})


@pytest.mark.postgres
def test_deleting_a_statement_deletes_its_lines_through_the_key_with_the_tenant(shop):
    tenant, account_id, _, _ = shop
    import_file(tenant, camt(credit("77.00", text="Gave"), credit("-5.00", text="Gebyr")),
                account_id)
    assert count(tenant, BankLine) == 2
    with scoping.tenant_context(tenant.id):
        db.session.execute(delete(BankStatement))
        db.session.commit()
    assert count(tenant, BankLine) == 0
