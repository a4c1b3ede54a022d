"""The accountant export (R7.3): one ZIP per period with every issued document's stored PDF,
the e-invoices, the document list, the VAT per rate and the journal; built by a queued
job, watched on its page, downloaded when ready, refused for a bad period."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, issuing, services
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.einvoice.rules import check
from saas.billing.exports import services as exports
from saas.billing.exports.models import AccountantExport, ExportChunk, ExportStatus
from saas.billing.payments import services as payments
from saas.billing.payments.models import JournalEntry, JournalLine
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member
from tests.helpers import run_jobs

K = DocumentKind
D = Decimal
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


def _issue(customer: Customer, kind: K, on: date, lines: list[tuple[str, str, int]]) -> Document:
    document = services.create_document(kind, customer)
    for quantity, price, vat_id in lines:
        services.add_line(document, {"description": f"Work at {price}",
                                     "quantity": D(quantity), "unit_price": D(price),
                                     "vat_rate_id": vat_id})
    issuing.issue_document(document, on=on)  # with its PDF rendered and stored
    return document


@pytest.fixture()
def books(db_session):
    """October: two invoices (one at two rates, one half paid), a credit note, a proforma
    and a quote, all issued; around them a September and a November invoice, a draft, and
    another company's October invoice."""
    tenant = TenantFactory(name="Nordlys Service AS", org_number="923609016",
                           vat_id="NO923609016MVA")
    other = TenantFactory(name="Other Company AS")
    with scoping.tenant_context(other.id):
        vat = VatRateFactory(tenant=other, code="S25", rate=D("25")).id
        stranger = db.session.get(Customer, CustomerFactory(tenant=other).id)
        _issue(stranger, K.INVOICE, date(2026, 10, 10), [("1", "999.00", vat)])
        db.session.commit()
    with scoping.tenant_context(tenant.id):
        high = VatRateFactory(tenant=tenant, code="S25", rate=D("25")).id
        low = VatRateFactory(tenant=tenant, code="S15", rate=D("15")).id
        fjord = db.session.get(Customer, CustomerFactory(tenant=tenant, name="Fjord AS").id)
        havbris = db.session.get(Customer, CustomerFactory(tenant=tenant, name="=Havbris").id)
        first = _issue(fjord, K.INVOICE, date(2026, 10, 5),
                       [("3", "333.33", high), ("2", "49.95", low)])
        second = _issue(havbris, K.INVOICE, date(2026, 10, 20), [("1", "800.00", high)])
        credit = conversion.create_credit_note(first, None)
        issuing.issue_document(credit, on=date(2026, 10, 25))
        proforma = _issue(fjord, K.PROFORMA, date(2026, 10, 12), [("1", "100.00", high)])
        quote = _issue(fjord, K.QUOTE, date(2026, 10, 2), [("4", "10.00", low)])
        september = _issue(fjord, K.INVOICE, date(2026, 9, 30), [("1", "10.00", high)])
        november = _issue(fjord, K.INVOICE, date(2026, 11, 1), [("1", "20.00", high)])
        draft = services.create_document(K.INVOICE, fjord)
        services.add_line(draft, {"description": "Not yet", "quantity": D(1),
                                  "unit_price": D(5), "vat_rate_id": high})
        payments.record_payment(havbris, D("500.00"), date(2026, 10, 28),
                                allocations=[(second, D("500.00"))])
        db.session.commit()
        ids = {"first": first.id, "second": second.id, "credit": credit.id,
               "proforma": proforma.id, "quote": quote.id, "september": september.id,
               "november": november.id, "draft": draft.id}
    return {"tenant": tenant, "slug": tenant.slug, **ids}


IN_PERIOD = ("first", "second", "credit", "proforma", "quote")


def _build(books, period=OCTOBER) -> tuple[AccountantExport, zipfile.ZipFile]:
    with scoping.tenant_context(books["tenant"].id):
        export = exports.request_export(*period, queued=False)
        db.session.commit()
        export = exports.build(export.id)
        assert export.status == ExportStatus.DONE, export.error
        out = io.BytesIO()
        exports.write_file(export, out)
    return export, zipfile.ZipFile(out)


def _documents(books, keys) -> dict[str, Document]:
    return {key: db.session.scalar(select(Document).where(Document.id == books[key])
                                   .options(undefer(Document.pdf))) for key in keys}


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


def test_the_zip_holds_the_periods_issued_documents_of_the_tenant_only(books):
    _, archive = _build(books)
    with scoping.tenant_context(books["tenant"].id):
        documents = _documents(books, IN_PERIOD)
        kinds = {document.number: str(document.kind) for document in documents.values()}
    pdfs = {name for name in archive.namelist() if name.startswith("pdf/")}
    assert pdfs == {f"pdf/{kind}/{number}.pdf" for number, kind in kinds.items()}
    ubls = {name for name in archive.namelist() if name.startswith("ubl/")}
    assert ubls == {f"ubl/{kind}/{number}.xml" for number, kind in kinds.items()
                    if kind in ("invoice", "credit_note")}
    assert {"documents.csv", "vat.csv", "journal.csv", "README.txt"} <= set(archive.namelist())
    assert sorted(row["number"] for row in _csv(archive, "documents.csv")) == sorted(kinds)


def test_the_pdfs_are_the_stored_bytes(books):
    _, archive = _build(books)
    with scoping.tenant_context(books["tenant"].id):
        for document in _documents(books, IN_PERIOD).values():
            data = archive.read(f"pdf/{document.kind}/{document.number}.pdf")
            assert data == document.pdf
            assert hashlib.sha256(data).hexdigest() == document.pdf_sha256


def test_the_document_list_ties_to_the_documents_to_the_cent(books):
    _, archive = _build(books)
    rows = {row["number"]: row for row in _csv(archive, "documents.csv")}
    with scoping.tenant_context(books["tenant"].id):
        documents = _documents(books, IN_PERIOD)
        for document in documents.values():
            row = rows[document.number]
            assert (D(row["net"]), D(row["VAT"]), D(row["gross"])) == (
                document.net_total, document.vat_total, document.gross_total)
            assert row["kind"] == str(document.kind)
            assert row["issue date"] == document.issue_date.isoformat()
            assert row["pdf sha256"] == document.pdf_sha256
        second = rows[documents["second"].number]
        assert (D(second["paid"]), D(second["outstanding"])) == (D("500.00"), D("500.00"))
        assert second["customer"] == "'=Havbris"  # inert in a spreadsheet
        assert rows[documents["quote"].number]["paid"] == ""
        # invoices less the credit note: what the journal credits as revenue in October
        invoiced = sum(D(r["net"]) for r in rows.values() if r["kind"] in ("invoice",
                                                                           "credit_note"))
        revenue = db.session.scalar(
            select(func.sum(JournalLine.credit - JournalLine.debit))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.account == "3000", JournalEntry.posted_on >= OCTOBER[0],
                   JournalEntry.posted_on <= OCTOBER[1]))
        assert invoiced == D(revenue)


def test_the_vat_per_rate_adds_up_to_each_documents_net_and_vat(books):
    _, archive = _build(books)
    documents = {row["number"]: row for row in _csv(archive, "documents.csv")}
    sums: dict[str, list[Decimal]] = {}
    for row in _csv(archive, "vat.csv"):
        net_vat = sums.setdefault(row["number"], [D(0), D(0)])
        net_vat[0] += D(row["net"])
        net_vat[1] += D(row["VAT"])
    assert sums == {number: [D(row["net"]), D(row["VAT"])] for number, row in documents.items()}
    with scoping.tenant_context(books["tenant"].id):
        first = _documents(books, ["first"])["first"].number
    rates = {(r["VAT code"], D(r["VAT"])) for r in _csv(archive, "vat.csv") if r["number"] == first}
    # 3 × 333.33 = 999.99 at 25 % → 250.00 (249.9975 half up); 2 × 49.95 = 99.90 at 15 % → 14.99
    assert rates == {("S25", D("250.00")), ("S15", D("14.99"))}


def test_the_journal_holds_every_line_posted_in_the_period(books):
    _, archive = _build(books)
    rows = _csv(archive, "journal.csv")
    with scoping.tenant_context(books["tenant"].id):
        lines = db.session.execute(
            select(JournalEntry.id, JournalLine.account, JournalLine.debit, JournalLine.credit)
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .where(JournalEntry.posted_on >= OCTOBER[0],
                   JournalEntry.posted_on <= OCTOBER[1])).all()
    assert sorted((int(r["entry id"]), r["account"], D(r["debit"]), D(r["credit"]))
                  for r in rows) == sorted((i, a, D(d), D(c)) for i, a, d, c in lines)
    assert sum(D(r["debit"]) for r in rows) == sum(D(r["credit"]) for r in rows) > 0
    assert {r["kind"] for r in rows} >= {"invoice", "credit_note"}


def test_the_e_invoices_in_the_zip_keep_the_calculation_rules(books):
    _, archive = _build(books)
    names = [n for n in archive.namelist() if n.startswith("ubl/")]
    assert len(names) == 3
    assert all(check(etree.fromstring(archive.read(name))) == [] for name in names)


def test_the_readme_says_what_the_zip_holds(books):
    _, archive = _build(books)
    readme = archive.read("README.txt").decode()
    assert "2026-10-01 to 2026-10-31" in readme
    assert "2 invoice, 1 credit_note, 1 proforma, 0 order, 1 quote" in readme


def test_building_again_does_nothing_and_after_a_failure_makes_the_same_file(books):
    export, _ = _build(books)
    with scoping.tenant_context(books["tenant"].id):
        sha, chunks = export.file_sha256, db.session.scalar(select(func.count(ExportChunk.id)))
        assert exports.build(export.id).file_sha256 == sha  # done: left alone
        export.status = ExportStatus.FAILED
        db.session.commit()
        again = exports.build(export.id)
        assert (again.status, again.file_sha256) == (ExportStatus.DONE, sha)
        assert db.session.scalar(select(func.count(ExportChunk.id))) == chunks


def test_a_failed_build_stores_no_file_and_says_why(books, monkeypatch):
    def broken(document):
        raise exports.ExportError(f"The stored PDF of {document.title} does not match.")

    monkeypatch.setattr(exports, "document_xml", broken)
    with scoping.tenant_context(books["tenant"].id):
        export = exports.request_export(*OCTOBER, queued=False)
        db.session.commit()
        export = exports.build(export.id)
        assert export.status == ExportStatus.FAILED
        assert "does not match" in export.error
        assert db.session.scalar(select(func.count(ExportChunk.id))) == 0


def test_the_page_queues_the_export_shows_its_progress_and_offers_the_download(
        app, books, make_client):
    client = make_client(member(books["tenant"], Role.ACCOUNTANT))
    base = f"/t/{books['slug']}/exports"
    form = client.get(base)
    assert form.status_code == 200
    assert 'value="2026-10-01"' in form.text or "name=\"date_from\"" in form.text
    answer = client.post(base, data={"date_from": "2026-10-01", "date_to": "2026-10-31"})
    assert answer.status_code == 302
    page_url = answer.headers["Location"]
    waiting = client.get(page_url, headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in waiting.text and "<html" not in waiting.text
    assert "Download" not in waiting.text
    run_jobs(app)  # the worker builds it
    done = client.get(page_url, headers={"HX-Request": "true"})
    assert "hx-trigger" not in done.text and "5 of 5 documents" in done.text
    link = re.search(r'href="([^"]+/download)"', done.text).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    with scoping.tenant_context(books["tenant"].id):
        export = db.session.scalar(select(AccountantExport))
    assert download.headers["Content-Disposition"] == (
        f"attachment; filename={export.file_name}")
    assert hashlib.sha256(download.data).hexdigest() == export.file_sha256
    assert len(zipfile.ZipFile(io.BytesIO(download.data)).namelist()) > 5


def test_the_page_defaults_to_last_month(books, make_client):
    from saas import clock

    client = make_client(member(books["tenant"], Role.OWNER))
    with clock.frozen(date(2026, 11, 15)):
        page = client.get(f"/t/{books['slug']}/exports")
    assert 'value="2026-10-01"' in page.text and 'value="2026-10-31"' in page.text


@pytest.mark.parametrize(("date_from", "date_to", "message"), [
    ("2026-10-31", "2026-10-01", "The period starts (2026-10-31) after it ends (2026-10-01)."),
    ("2020-01-01", "2026-10-31", "A period of at most 5 years can be exported at once"),
    ("", "2026-10-31", "Give the period&#39;s first day."),
])
def test_a_bad_period_is_refused_with_a_clear_message_and_nothing_saved(
        books, make_client, date_from, date_to, message):
    client = make_client(member(books["tenant"], Role.ADMIN))
    answer = client.post(f"/t/{books['slug']}/exports",
                         data={"date_from": date_from, "date_to": date_to})
    assert answer.status_code == 422 and message in answer.text
    with scoping.tenant_context(books["tenant"].id):
        assert db.session.scalar(select(func.count(AccountantExport.id))) == 0


def test_staff_who_may_not_see_the_books_may_not_export(books, make_client):
    client = make_client(member(books["tenant"], Role.STAFF))
    assert client.get(f"/t/{books['slug']}/exports").status_code == 403


def test_an_export_of_another_company_is_not_found(books, make_client):
    export, _ = _build(books)
    export_id = export.id
    stranger = TenantFactory(name="Stranger AS")
    client = make_client(member(stranger, Role.OWNER))
    assert client.get(f"/t/{stranger.slug}/exports/{export_id}/download").status_code == 404


def test_the_command_writes_the_zip_with_a_progress_bar(app, books, tmp_path):
    out = tmp_path / "october.zip"
    result = CliRunner().invoke(app.cli, [
        "exports", "accountant", "--tenant", books["slug"], "--from", "2026-10-01",
        "--to", "2026-10-31", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Export" in result.output and "5 documents" in result.output
    assert "documents.csv" in zipfile.ZipFile(out).namelist()
    assert not (tmp_path / "october.zip.part").exists()


def test_the_command_refuses_a_bad_period(app, books):
    result = CliRunner().invoke(app.cli, [
        "exports", "accountant", "--tenant", books["slug"], "--from", "2026-10-31",
        "--to", "2026-10-01"])
    assert result.exit_code == 2 and "after it ends" in result.output
