"""Bank statement pages: upload (in the request or by a job), the statement, the queue,
matching by hand (split, credit), ignoring, undoing, CSV mappings, the CLI, roles."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from saas.billing.imports.models import ImportRun
from saas.billing.payments import services as payment_services
from saas.billing.payments.bank import booking, views
from saas.billing.payments.models import BankCsvMapping, BankLine, BankStatement, Payment
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import BankAccountFactory, CustomerFactory, TenantFactory, member
from tests.factories_bank import camt, credit, invoice, open_invoice

D = Decimal
KID = "12345678903"


@pytest.fixture()
def shop(db_session, make_client):
    tenant = TenantFactory(name="Bank Test AS")
    account_id = BankAccountFactory(tenant=tenant).id
    fjord = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS").id
    kari = CustomerFactory(tenant=tenant, name="Kari Nordmann").id
    invoices = {"kid": open_invoice(tenant, fjord, "1000.00", reference=KID),
                "first": open_invoice(tenant, kari, "600.00"),
                "second": open_invoice(tenant, kari, "400.00")}
    client = make_client(member(tenant, Role.STAFF))
    return {"tenant": tenant, "account": account_id, "fjord": fjord, "kari": kari,
            "invoices": invoices, "client": client, "base": f"/t/{tenant.slug}/bank"}


def upload(shop, data: bytes, name: str = "nov.xml", fmt: str = ""):
    return shop["client"].post(f"{shop['base']}/upload", data={
        "bank_account_id": str(shop["account"]), "format": fmt,
        "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def lines_of(shop) -> list[BankLine]:
    with scoping.tenant_context(shop["tenant"].id):
        return db.session.scalars(select(BankLine).order_by(BankLine.position)).all()


def statement_id(shop) -> int:
    with scoping.tenant_context(shop["tenant"].id):
        return db.session.scalar(select(BankStatement.id))


def status(shop, key: str) -> str:
    return invoice(shop["tenant"], shop["invoices"][key]).status.value


def test_the_bank_pages_are_in_the_navigation_and_empty_at_first(shop):
    page = shop["client"].get(f"{shop['base']}/").get_data(as_text=True)
    assert f'href="{shop["base"]}/"' in page and ">Bank</a>" in page
    assert "No statement imported yet" in page
    form = shop["client"].get(f"{shop['base']}/upload").get_data(as_text=True)
    assert "NO9386011117947" in form and 'name="format"' in form


def test_a_statement_is_uploaded_booked_and_listed(shop):
    response = upload(shop, camt(credit("1000.00", reference=KID),
                                 credit("500.00", name="Kari Nordmann", text="Betaling"),
                                 credit("-25.00", text="Gebyr")))
    assert response.status_code == 302
    assert response.headers["Location"] == f"{shop['base']}/statements/{statement_id(shop)}"
    page = shop["client"].get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 3 lines: 1 booked automatically, 1 waiting in the matching queue" in page
    assert "booked automatically" in page and "waiting" in page and "ignored" in page
    assert "3: 1 booked, 1 waiting, 1 ignored" in page
    assert status(shop, "kid") == "paid"
    waiting = shop["client"].get(f"{shop['base']}/statements/{statement_id(shop)}?status=waiting"
                                 ).get_data(as_text=True)
    assert "Betaling" in waiting and "Gebyr" not in waiting


def test_a_broken_file_is_refused_on_the_upload_page_with_nothing_saved(shop):
    broken = camt(credit("1000.00", reference=KID)).replace(b"<CdtDbtInd>CRDT", b"<CdtDbtInd>X",
                                                            1)
    response = upload(shop, broken)
    assert response.status_code == 422
    assert "Nothing was imported. Line " in response.get_data(as_text=True)
    assert "the credit/debit indicator is &#39;X&#39;" in response.get_data(as_text=True)
    assert statement_id(shop) is None


def test_the_same_file_twice_is_refused_naming_the_first(shop):
    data = camt(credit("1000.00", reference=KID))
    upload(shop, data, "first.xml")
    again = upload(shop, data, "second.xml")
    assert again.status_code == 422
    assert "This file was imported before: first.xml (statement STMT-1)" in again.get_data(
        as_text=True)


@pytest.mark.postgres
def test_a_large_statement_is_imported_by_a_job_whose_page_polls(shop, app, monkeypatch):
    """Imported by a job, the sure matches booked after the import by another: the run's
    and the statement's pages show the booking's progress until it is done."""
    monkeypatch.setitem(app.config, "BANK_IMPORT_INLINE_LINES", 1)
    queued, booking_jobs = [], []
    monkeypatch.setattr(views, "enqueue", lambda func, *args, **kwargs: queued.append(
        (func, args, kwargs)))
    monkeypatch.setattr(booking, "enqueue", lambda func, *args, **kwargs: booking_jobs.append(
        (func, args, kwargs)))
    response = upload(shop, camt(credit("1000.00", reference=KID), credit("7.00")))
    with scoping.tenant_context(shop["tenant"].id):
        run = db.session.scalar(select(ImportRun))
    assert response.headers["Location"] == f"{shop['base']}/imports/{run.id}"
    waiting = shop["client"].get(response.headers["Location"], headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in waiting.get_data(as_text=True)
    assert "Waiting to start" in waiting.get_data(as_text=True)

    [(job, args, kwargs)] = queued
    assert kwargs["job_id"] == f"bank-import-{run.id}"
    for _ in range(2):  # running it twice imports once
        job(*args, tenant_id=kwargs["tenant_id"])
    # The job wrote through a session of its own, inside this one's savepoint (the tests'
    # one connection): committed, a rolled-back request of this app context keeps it.
    db.session.commit()
    run_page = shop["client"].get(response.headers["Location"], headers={"HX-Request": "true"}
                                  ).get_data(as_text=True)
    assert "Imported 2 lines: 1 matched surely, booked after the import, 1 waiting" in run_page
    assert "Booking the sure matches: 1 line left" in run_page
    assert 'hx-trigger="every 1s"' in run_page  # the booking's progress, until it is done
    assert status(shop, "kid") == "issued"

    # Imported, not yet booked: the line is pending, with its match, and not staff's.
    statement_page = f"{shop['base']}/statements/{statement_id(shop)}"
    page = shop["client"].get(statement_page).get_data(as_text=True)
    assert "2: 0 booked, 1 being booked, 1 waiting, 0 ignored" in page
    assert "being booked" in page and 'hx-trigger="every 2s"' in page
    pending = lines_of(shop)[0]
    assert (pending.status.value, pending.sure_match["customer_id"]) == ("pending", shop["fjord"])
    line_page = shop["client"].get(f"{shop['base']}/lines/{pending.id}").get_data(as_text=True)
    assert "being booked automatically" in line_page and "Match by hand" not in line_page
    refused = shop["client"].post(f"{shop['base']}/lines/{pending.id}/ignore",
                                  data={"reason": "Not ours"})
    assert refused.status_code == 422
    assert "Line 1 is being booked automatically" in refused.get_data(as_text=True)
    polled = shop["client"].get(f"{statement_page}?booking=1", headers={"HX-Request": "true"})
    assert polled.status_code == 200 and "1 line left" in polled.get_data(as_text=True)

    [(book, args, kwargs)] = booking_jobs
    assert kwargs["job_id"] == f"bank-book-{statement_id(shop)}"
    for _ in range(2):  # running it twice books once
        book(*args, tenant_id=kwargs["tenant_id"])
    db.session.commit()
    assert status(shop, "kid") == "paid"
    polled = shop["client"].get(f"{statement_page}?booking=1", headers={"HX-Request": "true"})
    assert polled.headers["HX-Redirect"] == statement_page  # done: the page again, whole
    page = shop["client"].get(statement_page).get_data(as_text=True)
    assert "2: 1 booked, 1 waiting, 0 ignored" in page and "every 2s" not in page
    done = shop["client"].get(response.headers["Location"], headers={"HX-Request": "true"}
                              ).get_data(as_text=True)
    assert "hx-trigger" not in done and "Booking the sure matches" not in done
    assert f"{shop['base']}/statements/{statement_id(shop)}" in done
    with scoping.tenant_context(shop["tenant"].id):
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_a_job_for_a_file_imported_meanwhile_fails_saying_why(shop, app, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_IMPORT_INLINE_LINES", 1)
    queued = []
    monkeypatch.setattr(views, "enqueue", lambda func, *args, **kwargs: queued.append(
        (func, args, kwargs)))
    data = camt(credit("1000.00", reference=KID), credit("7.00"))
    upload(shop, data)
    upload(shop, data)
    for job, args, kwargs in queued:
        job(*args, tenant_id=kwargs["tenant_id"])
    with scoping.tenant_context(shop["tenant"].id):
        runs = db.session.scalars(select(ImportRun).order_by(ImportRun.id)).all()
        for run in runs:
            db.session.refresh(run)
        assert [run.status.value for run in runs] == ["done", "failed"]
        assert runs[1].message.startswith("Nothing was imported. This file was imported before")
        assert db.session.scalar(select(func.count()).select_from(BankStatement)) == 1


# --- the queue and a line by hand --------------------------------------------------------


def test_the_queue_suggests_and_a_suggestion_is_booked_with_one_click(shop):
    number = invoice(shop["tenant"], shop["invoices"]["first"]).number
    upload(shop, camt(credit("300.00", text=f"Delbetaling {number}")))
    [line] = lines_of(shop)
    queue = shop["client"].get(f"{shop['base']}/queue").get_data(as_text=True)
    assert "85 %" in queue and "Kari Nordmann" in queue and number in queue
    response = shop["client"].post(f"{shop['base']}/lines/{line.id}/accept")
    assert response.status_code == 302
    assert status(shop, "first") == "partly_paid"
    assert "Nothing waits" in shop["client"].get(f"{shop['base']}/queue").get_data(as_text=True)


def test_staff_split_a_line_over_invoices_and_the_rest_is_credit(shop):
    upload(shop, camt(credit("1100.00", name="K Nordmann", text="Fakturaer")))
    [line] = lines_of(shop)
    found = shop["client"].get(f"{shop['base']}/lines/{line.id}?q=nordm")
    assert "Kari Nordmann" in found.get_data(as_text=True)
    fragment = shop["client"].get(f"{shop['base']}/lines/{line.id}?q=nordm",
                                  headers={"HX-Request": "true",
                                           "HX-Target": "customer-results"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<ul class="plain" id="customer')
    form = shop["client"].get(f"{shop['base']}/lines/{line.id}?customer_id={shop['kari']}"
                              ).get_data(as_text=True)
    first, second = shop["invoices"]["first"], shop["invoices"]["second"]
    assert f'name="amount_{first}" size="10" value="600.00' in form  # oldest first
    response = shop["client"].post(f"{shop['base']}/lines/{line.id}/book", data={
        "customer_id": shop["kari"], f"amount_{first}": "600,00", f"amount_{second}": "400"})
    assert response.status_code == 302
    assert (status(shop, "first"), status(shop, "second")) == ("paid", "paid")
    with scoping.tenant_context(shop["tenant"].id):
        assert payment_services.customer_credit(shop["kari"], "NOK") == D("100.00")
    [line] = lines_of(shop)
    assert (line.status.value, line.matched_automatically) == ("matched", False)
    assert line.match_note.startswith("Booked by hand to Kari Nordmann")


def test_a_line_is_booked_as_credit_or_refused_beyond_an_open_amount(shop):
    upload(shop, camt(credit("700.00", text="Forskudd"), credit("50.00", text="x")))
    first, second = lines_of(shop)
    invoice_id = shop["invoices"]["first"]
    refused = shop["client"].post(f"{shop['base']}/lines/{first.id}/book", data={
        "customer_id": shop["kari"], f"amount_{invoice_id}": "700"})
    assert refused.status_code == 422
    assert "Nothing was booked." in refused.get_data(as_text=True)
    assert "has only 600.00 NOK open" in refused.get_data(as_text=True)
    response = shop["client"].post(f"{shop['base']}/lines/{first.id}/book", data={
        "customer_id": shop["kari"], "action": "credit", f"amount_{invoice_id}": "100"})
    assert response.status_code == 302 and status(shop, "first") == "issued"
    with scoping.tenant_context(shop["tenant"].id):
        assert payment_services.customer_credit(shop["kari"], "NOK") == D("700.00")


def test_a_line_is_ignored_with_a_reason_and_put_back(shop):
    upload(shop, camt(credit("5000.00", text="Overføring egen konto")))
    [line] = lines_of(shop)
    no_reason = shop["client"].post(f"{shop['base']}/lines/{line.id}/ignore", data={})
    assert no_reason.status_code == 422 and "Say why" in no_reason.get_data(as_text=True)
    shop["client"].post(f"{shop['base']}/lines/{line.id}/ignore",
                        data={"reason": "Transfer between own accounts"})
    [line] = lines_of(shop)
    assert (line.status.value, line.match_note) == ("ignored",
                                                     "Ignored: Transfer between own accounts")
    shop["client"].post(f"{shop['base']}/lines/{line.id}/restore")
    [line] = lines_of(shop)
    assert line.status.value == "unmatched"


def test_an_automatic_booking_is_undone_from_its_line(shop):
    upload(shop, camt(credit("1000.00", reference=KID)))
    [line] = lines_of(shop)
    page = shop["client"].get(f"{shop['base']}/lines/{line.id}").get_data(as_text=True)
    assert "Booked as a payment from Fjord Bakeri AS" in page and "Undo the booking" in page
    response = shop["client"].post(f"{shop['base']}/lines/{line.id}/undo")
    assert response.status_code == 302
    [line] = lines_of(shop)
    assert (line.status.value, line.match_note) == ("unmatched", "Booking undone.")
    assert status(shop, "kid") == "issued"
    with scoping.tenant_context(shop["tenant"].id):
        assert db.session.scalar(select(Payment)).is_reversed
    again = shop["client"].post(f"{shop['base']}/lines/{line.id}/undo")
    assert again.status_code == 422 and "No payment is booked" in again.get_data(as_text=True)


# --- CSV mappings, the command line, roles ------------------------------------------------


def test_a_csv_mapping_is_saved_for_the_account_and_used_for_its_files(shop, make_client):
    admin = make_client(member(shop["tenant"], Role.ADMIN))
    url = f"{shop['base']}/accounts/{shop['account']}/csv-mapping"
    fields = {"delimiter": ";", "decimal_comma": "1", "date_format": "%d.%m.%Y",
              "encoding": "utf-8", "header_rows": "1", "column_booked_on": "Dato",
              "column_amount": "Beløp", "column_reference": "KID"}
    missing = admin.post(url, data={**fields, "column_booked_on": ""})
    assert missing.status_code == 422 and "booking date" in missing.get_data(as_text=True)
    assert admin.post(url, data=fields).status_code == 302
    with scoping.tenant_context(shop["tenant"].id):
        mapping = db.session.scalar(select(BankCsvMapping))
        assert mapping.columns == {"booked_on": "Dato", "amount": "Beløp", "reference": "KID"}
    assert 'value="Beløp"' in admin.get(url).get_data(as_text=True)
    response = upload(shop, f"Dato;KID;Beløp\n20.11.2026;{KID};1000,00\n".encode(), "nov.csv")
    assert response.status_code == 302 and status(shop, "kid") == "paid"


def test_staff_may_not_edit_csv_mappings_and_viewers_see_no_bank_pages(shop, make_client):
    assert shop["client"].get(f"{shop['base']}/accounts/{shop['account']}/csv-mapping"
                              ).status_code == 403
    viewer = make_client(member(shop["tenant"], Role.VIEWER))
    assert viewer.get(f"{shop['base']}/").status_code == 403


def test_the_command_line_imports_a_statement_with_a_progress_bar(shop, app, tmp_path):
    path = tmp_path / "nov.xml"
    path.write_bytes(camt(credit("1000.00", reference=KID), credit("3.00")))
    result = app.test_cli_runner().invoke(args=["bank", "import", str(path), "--tenant",
                                                shop["tenant"].slug])
    assert result.exit_code == 0, result.output
    assert re.search(r"Statement #\d+: Imported 2 lines: 1 booked automatically", result.output)
    assert "Importing nov.xml" in result.output
    assert status(shop, "kid") == "paid"
    again = app.test_cli_runner().invoke(args=["bank", "import", str(path), "--tenant",
                                               shop["tenant"].slug])
    assert again.exit_code == 1 and "This file was imported before" in again.output
    unknown = app.test_cli_runner().invoke(args=["bank", "import", str(path), "--tenant",
                                                 shop["tenant"].slug, "--account", "999999"])
    assert unknown.exit_code == 2 and "no bank account 999999" in unknown.output
