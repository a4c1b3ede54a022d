"""Prepaid volumes (R4.6): flat-fee lines that include a volume, work recorded against them,
the excess a billing run bills, the to-dos that warn staff, and the pages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from saas import clock
from saas.billing.catalog.prices import quote_price
from saas.billing.contracts import services as contracts
from saas.billing.contracts import volumes
from saas.billing.contracts.models import Contract, VolumeUsage
from saas.billing.contracts.prepaid import VolumeLevel
from saas.billing.contracts.proration import Period, period_containing
from saas.billing.customers.models import Customer
from saas.billing.todos.models import Todo, TodoKind
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SiteFactory,
    TenantFactory,
    VatRateFactory,
    member,
)
from tests.helpers import errors_in

D = Decimal
MARCH = Period(date(2026, 3, 1), date(2026, 4, 1))


@pytest.fixture()
def support(db_session):
    """A monthly contract from 2026-01-01: monitoring, and support at a flat fee of
    5,000 NOK a month including 10 hours, the excess billed as support hours (950 NOK)."""
    tenant = TenantFactory(name="Nordlys IT AS", country="NO", currency="NOK")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Fjellheim Borettslag")
        site = SiteFactory(tenant=tenant, customer=customer, code="FH-A", name="Blokk A")
        vat = VatRateFactory(tenant=tenant, rate=D(25))
        low_vat = VatRateFactory(tenant=tenant, rate=D(12))
        hour = ProductFactory(tenant=tenant, sku="SUP-H", name="Support hour", unit="h",
                              base_price=D("950.00"), vat_rate=low_vat)
        contract = contracts.create_contract(
            db.session.get(Customer, customer.id),
            {"start_date": date(2026, 1, 1), "billing_period": "monthly", "in_advance": True,
             "billing_day": 1, "title": "IT support"})
        contracts.add_line(contract, {"description": "Monitoring", "quantity": D(1),
                                      "unit_price": D("800.00"), "vat_rate_id": vat.id})
        contracts.add_line(contract, {
            "description": "Support, flat fee", "quantity": D(1), "unit": "month",
            "unit_price": D("5000.00"), "vat_rate_id": vat.id, "site_id": site.id,
            "included_quantity": D(10), "included_unit": "",
            "overage_product_id": hour.id})
        db.session.commit()
        return {"tenant": tenant, "owner": owner, "contract": contract.id,
                "customer": customer.id, "vat": vat.id, "low_vat": low_vat.id,
                "hour": hour.id, "site": site.id}


def load(support) -> Contract:
    return db.session.get(Contract, support["contract"])


def record(contract, day, hours, what="Support", line_key=2):
    return volumes.record_usage(contract, line_key, day, D(hours), what)


def todos() -> list[tuple[TodoKind, str | None]]:
    return [(todo.kind, todo.subject_key)
            for todo in db.session.scalars(select(Todo).order_by(Todo.id))]


def test_work_uses_the_volume_up_warns_at_80_percent_and_bills_the_excess(support):
    with scoping.tenant_context(support["tenant"].id):
        contract = load(support)
        line = contracts.version_at(contract, date(2026, 3, 1))[1]
        assert (line.included_quantity, line.included_unit, line.overage_product_id) == (
            D(10), "h", support["hour"])  # the unit comes from the product billing the excess
        first = record(contract, date(2026, 3, 3), "4", "Printer and mail setup")
        assert (first.within, first.excess, first.period) == (D(4), D(0), MARCH)
        assert (first.status.used, first.status.left, first.status.level) == (
            D(4), D(6), VolumeLevel.OK)
        assert first.todos == () and first.unit == "h"
        assert first.usage.id and first.usage.description == "Printer and mail setup"

        crossing = record(contract, date(2026, 3, 10), "4.5")
        assert (crossing.status.used, crossing.status.left, crossing.status.percent_used) == (
            D("8.5"), D("1.5"), D("85.0"))
        [todo] = crossing.todos
        assert todo.kind is TodoKind.VOLUME_ALMOST_USED and todo.contract_id == contract.id
        assert todo.customer_id == support["customer"]
        assert "85 % of the 10 h included in 2026-03 used" in todo.title
        assert record(contract, date(2026, 3, 11), "0.5").todos == ()  # 90 %: filed already

        beyond = record(contract, date(2026, 3, 12), "2.5")
        assert (beyond.within, beyond.excess) == (D(1), D("1.5"))
        assert (beyond.status.used, beyond.status.left, beyond.status.excess) == (
            D("11.5"), D(0), D("1.5"))
        [exceeded] = beyond.todos
        assert exceeded.kind is TodoKind.VOLUME_EXCEEDED
        assert "1.5 h beyond them are billed" in exceeded.title
        assert record(contract, date(2026, 3, 20), "1").todos == ()
        key = f"contract {contract.id}, line 2, 2026-03-01"
        assert todos() == [(TodoKind.VOLUME_ALMOST_USED, key), (TodoKind.VOLUME_EXCEEDED, key)]
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "contracts.volume_todo")) == 2

        # The excess, 2.5 h, billed at the support hour's price: 2,375.00 NOK.
        status = volumes.volume_status(contract, 2, MARCH)
        assert (status.used, status.excess) == (D("12.5"), D("2.5"))
        [overage] = volumes.overage_for([contract], {contract.id: MARCH},
                                        contracts.versions_of([contract.id]))[contract.id]
        quote = quote_price(contract.customer_id, overage.product_id, overage.quantity,
                            date(2026, 4, 1), contract.currency)
        assert quote.line_net == D("2375.00")
        # A new month starts at 0: no to-do until it reaches 80 % again (a new one).
        april = record(contract, date(2026, 4, 2), "9")
        assert april.status.left == D(1) and len(april.todos) == 1
        assert len(todos()) == 3
        assert volumes.volume_status(contract, 1, MARCH) is None  # monitoring: no volume


def test_a_jump_past_the_whole_volume_files_only_the_exceeded_to_do(support):
    with scoping.tenant_context(support["tenant"].id):
        contract = load(support)
        record(contract, date(2026, 2, 2), "5")
        result = record(contract, date(2026, 2, 3), "7")
        assert [todo.kind for todo in result.todos] == [TodoKind.VOLUME_EXCEEDED]
        assert record(contract, date(2026, 2, 4), "1").todos == ()  # no late 80 % warning
        assert [kind for kind, _ in todos()] == [TodoKind.VOLUME_EXCEEDED]


def test_refused_usages_name_the_problem_and_save_nothing(support):
    with scoping.tenant_context(support["tenant"].id):
        contract = load(support)
        contracts.terminate(contract, date(2026, 6, 30))
        cases = [
            (1, date(2026, 3, 1), D(1), "line_key", "Monitoring is not a flat fee with an"
                                                    " included volume on 2026-03-01"),
            (9, date(2026, 3, 1), D(1), "line_key", "has no line 9"),
            (2, date(2025, 12, 31), D(1), "used_on", "starts on 2026-01-01"),
            (2, date(2026, 7, 1), D(1), "used_on", "ended on 2026-06-30"),
            (2, None, D(1), "used_on", "Give the day"),
            (2, date(2026, 3, 1), D(0), "quantity", "above 0"),
            (2, date(2026, 3, 1), D(-2), "quantity", "above 0"),
            (2, date(2026, 3, 1), D("1.23456"), "quantity", "4 decimals"),
            (2, date(2026, 3, 1), 1.5, "quantity", "as a number"),  # never a float
        ]
        for line_key, day, quantity, field, message in cases:
            with pytest.raises(contracts.ContractError) as refused:
                volumes.record_usage(contract, line_key, day, quantity, "x")
            assert refused.value.field == field, (field, str(refused.value))
            assert message in str(refused.value)
        assert db.session.scalar(select(func.count()).select_from(VolumeUsage)) == 0
        assert volumes.record_usage(contract, 2, date(2026, 6, 30), 1, "").status.used == D(1)


def test_bad_volumes_on_lines_are_refused_with_the_field(support):
    with scoping.tenant_context(support["tenant"].id):
        contract = load(support)
        line = {"description": "Support", "quantity": D(1), "unit_price": D("5000.00"),
                "vat_rate_id": support["vat"]}
        cases = [
            ({**line, "included_quantity": D(0), "overage_product_id": support["hour"]},
             "included_quantity", "above 0"),
            ({**line, "included_quantity": D(10)}, "overage_product_id",
             "bills the excess at a product's price"),
            ({**line, "overage_product_id": support["hour"]}, "included_quantity",
             "Give the included volume"),
            ({**line, "included_quantity": D(10), "overage_product_id": 999999},
             "overage_product_id", "Choose one of your products"),
            ({**line, "included_quantity": D("0.00001"), "overage_product_id": support["hour"]},
             "included_quantity", "4 decimals"),
        ]
        for values, field, message in cases:
            with pytest.raises(contracts.ContractError) as refused:
                with db.session.begin_nested():
                    contracts.add_line(contract, values)
            assert (refused.value.field, message in str(refused.value)) == (field, True), \
                str(refused.value)
        # The line's own product can price the excess too; the unit is given.
        own = contracts.add_line(contract, {**line, "product_id": support["hour"],
                                            "included_quantity": D(5), "included_unit": "hrs"})
        assert (own.included_unit, own.overage_product_id) == ("hrs", None)


def test_an_annex_changes_the_volume_for_its_whole_period_and_carries_it_otherwise(support):
    with scoping.tenant_context(support["tenant"].id):
        contract = load(support)
        # A price change keeps the volume; a volume change applies to all of March.
        contracts.add_annex(contract, date(2026, 2, 10), "New price", [
            {"action": "change", "line_key": 2, "unit_price": D("5500.00")}])
        contracts.add_annex(contract, date(2026, 3, 15), "Twice the hours", [
            {"action": "change", "line_key": 2, "included_quantity": D(20)}])
        history = contracts.versions(contract)[2]
        assert [(v.unit_price, v.included_quantity, v.overage_product_id) for v in history] == [
            (D(5000), D(10), support["hour"]), (D(5500), D(10), support["hour"]),
            (D(5500), D(20), support["hour"])]
        result = record(contract, date(2026, 3, 5), "12")  # before the annex's day
        assert (result.status.included, result.status.left, result.excess) == (
            D(20), D(8), D(0))
        assert result.todos == ()
        record(contract, date(2026, 2, 20), "12")
        february = volumes.volume_status(contract, 2, Period(date(2026, 2, 1),
                                                             date(2026, 3, 1)))
        assert (february.included, february.excess) == (D(10), D(2))
        # Removed from 10 April: April keeps the volume of the version before.
        contracts.add_annex(contract, date(2026, 4, 10), "Support ends", [
            {"action": "remove", "line_key": 2}])
        april = period_containing(date(2026, 4, 1), "monthly")
        assert volumes.volume_status(contract, 2, april).included == D(20)
        with pytest.raises(contracts.ContractError, match="not on contract"):
            record(contract, date(2026, 4, 10), "1")


def test_overage_for_many_contracts_reads_the_usages_once(support):
    tenant = support["tenant"]
    with scoping.tenant_context(tenant.id):
        first = load(support)
        customer = first.customer
        quarterly = contracts.create_contract(customer, {
            "start_date": date(2026, 1, 1), "billing_period": "quarterly", "in_advance": False})
        # Priced by its own product: the line's VAT, the product's unit.
        contracts.add_line(quarterly, {
            "description": "Consulting pool", "product_id": support["hour"], "quantity": D(1),
            "unit_price": D("20000.00"), "vat_rate_id": support["vat"],
            "included_quantity": D(30)})
        unused = contracts.create_contract(customer, {"start_date": date(2026, 1, 1)})
        contracts.add_line(unused, {
            "description": "Support, flat fee", "quantity": D(1), "unit_price": D("900.00"),
            "vat_rate_id": support["vat"], "included_quantity": D(10),
            "overage_product_id": support["hour"]})
        plain = contracts.create_contract(customer, {"start_date": date(2026, 1, 1)})
        contracts.add_line(plain, {"description": "Alarm", "quantity": D(1),
                                   "unit_price": D("100.00"), "vat_rate_id": support["vat"]})
        record(first, date(2026, 3, 5), "12.5")
        record(first, date(2026, 2, 27), "40")  # another month: not counted
        volumes.record_usage(quarterly, 1, date(2026, 1, 20), D(20), "Workshop")
        volumes.record_usage(quarterly, 1, date(2026, 3, 31), D("11.25"), "Audit")
        volumes.record_usage(unused, 1, date(2026, 3, 2), D(3), "Call")
        all_four = [first, quarterly, unused, plain]
        periods = {first.id: MARCH, unused.id: MARCH, plain.id: MARCH,
                   quarterly.id: Period(date(2026, 1, 1), date(2026, 4, 1))}
        versions = contracts.versions_of([c.id for c in all_four])
        assert volumes.overage_period(date(2026, 4, 1), "monthly") == MARCH
        assert volumes.overage_period(date(2026, 4, 1), "quarterly") == periods[quarterly.id]

        sent: list[str] = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            sent.append(statement)

        engine = db.session.get_bind()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            found = volumes.overage_for(all_four, periods, versions)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        assert len([s for s in sent if "volume_usages" in s]) == 1
        assert len(sent) == 2  # the usages, and the products that bill an excess
        assert set(found) == {first.id, quarterly.id}
        [monthly] = found[first.id]
        assert monthly == volumes.OverageLine(
            line_key=2, description="Support, flat fee — h beyond the 10 included",
            product_id=support["hour"], quantity=D("2.5"), unit="h", unit_price=None,
            vat_rate_id=support["low_vat"], site_id=support["site"], period=MARCH)
        [pool] = found[quarterly.id]
        assert (pool.quantity, pool.unit, pool.vat_rate_id, pool.product_id) == (
            D("1.25"), "h", support["vat"], support["hour"])
        assert pool.description == "Consulting pool — h beyond the 30 included"
        assert volumes.overage_for([plain], {plain.id: MARCH}, versions) == {}


def test_the_contract_page_shows_the_volume_and_records_work(support, make_client):
    client = make_client(support["owner"])
    url = f"/t/{support['tenant'].slug}/contracts/{support['contract']}"
    with clock.frozen(datetime(2026, 3, 20, 12, tzinfo=UTC)):
        page = client.get(url).text
        assert "Prepaid volumes" in page and "No work recorded in 2026-03." in page
        assert "(includes 10 h per period)" in page
        made = client.post(f"{url}/usages", data={
            "line_key": "2", "used_on": "2026-03-18", "quantity": "8.5",
            "description": "Server migration"}, follow_redirects=True)
        assert made.status_code == 200
        assert "Recorded. 2026-03: 8.5 of 10 h used." in made.text
        assert "Server migration" in made.text
        assert "8.5 of 10 h used" in made.text and "1.5 h left" in made.text
        assert "80 % of the volume is used" in made.text
        svg = re.search(r"<svg class=\"volume-bar volume-(\w+)\".*?</svg>", made.text, re.S)
        assert svg.group(1) == "almost_used" and 'width="170"' in svg.group(0)
        assert 'fill="#c77700"' in svg.group(0)
        assert re.findall(r"<script(?![^>]*\bsrc=)", made.text) == []  # no inline script
        # Errors re-render the form with the message; nothing is saved.
        refused = client.post(f"{url}/usages", data={
            "line_key": "2", "used_on": "2025-12-01", "quantity": "1"})
        assert refused.status_code == 422
        assert any("starts on 2026-01-01" in error for error in errors_in(refused.text))
        refused = client.post(f"{url}/usages", data={
            "line_key": "2", "used_on": "2026-03-18", "quantity": "0"})
        assert refused.status_code == 422 and "Give a quantity above 0." in errors_in(
            refused.text)
        beyond = client.post(f"{url}/usages", data={
            "line_key": "2", "used_on": "2026-03-19", "quantity": "3"}, follow_redirects=True)
        assert "1.5 h beyond the volume (billed)." in beyond.text
        assert "volume-exceeded" in beyond.text and 'width="200"' in beyond.text
        todo_page = client.get(f"/t/{support['tenant'].slug}/todos/").text
        assert "Prepaid volume exceeded" in todo_page and f'contracts/{support["contract"]}"' \
            in todo_page
    with scoping.tenant_context(support["tenant"].id):
        assert db.session.scalar(select(func.sum(VolumeUsage.quantity))) == D("11.5")
    viewer = make_client(member(support["tenant"], Role.VIEWER))
    assert viewer.post(f"{url}/usages", data={"line_key": "2"}).status_code == 403


def test_lines_and_annexes_get_their_volume_on_the_contract_page(support, make_client):
    client = make_client(support["owner"])
    url = f"/t/{support['tenant'].slug}/contracts/{support['contract']}"
    added = client.post(f"{url}/lines", data={
        "description": "Backup, flat fee", "quantity": "1", "unit_price": "300",
        "vat_rate_id": str(support["vat"]), "included_quantity": "50",
        "included_unit": "GB", "overage_product_id": str(support["hour"])},
        follow_redirects=True)
    assert "Line added." in added.text and "(includes 50 GB per period)" in added.text
    refused = client.post(f"{url}/lines", data={
        "description": "Backup", "quantity": "1", "unit_price": "300",
        "vat_rate_id": str(support["vat"]), "included_quantity": "50"})
    assert refused.status_code == 422
    assert any("bills the excess at a product" in e for e in errors_in(refused.text))
    client.post(f"{url}/annexes", data={
        "effective_date": "2026-03-01", "action": "change", "line_key": "2",
        "included_quantity": "15"}, follow_redirects=True)
    with scoping.tenant_context(support["tenant"].id):
        contract = load(support)
        assert [v.included_quantity for v in contracts.versions(contract)[2]] == [D(10), D(15)]


def test_the_customer_page_shows_its_prepaid_volumes(support, make_client):
    with scoping.tenant_context(support["tenant"].id):
        contract = load(support)
        record(contract, date(2026, 3, 2), "3")
        other = contracts.create_contract(contract.customer, {
            "start_date": date(2026, 1, 1), "billing_period": "quarterly"})
        contracts.add_line(other, {
            "description": "Guard hours pool", "quantity": D(1), "unit_price": D("100.00"),
            "vat_rate_id": support["vat"], "included_quantity": D(40), "included_unit": "h",
            "overage_product_id": support["hour"]})
        ended = contracts.create_contract(contract.customer, {
            "start_date": date(2025, 1, 1), "end_date": date(2025, 12, 31)})
        contracts.add_line(ended, {
            "description": "Old pool", "quantity": D(1), "unit_price": D("100.00"),
            "vat_rate_id": support["vat"], "included_quantity": D(5),
            "overage_product_id": support["hour"]})
        volumes.record_usage(other, 1, date(2026, 2, 1), D(44), "Event security")
        db.session.commit()
    client = make_client(support["owner"])
    sent: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with clock.frozen(datetime(2026, 3, 20, 12, tzinfo=UTC)):
            page = client.get(f"/t/{support['tenant'].slug}/customers/{support['customer']}")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert page.status_code == 200
    panel = re.search(r'<section class="panel" id="customer-volumes">.*?</section>',
                      page.text, re.S).group(0)
    assert "Support, flat fee" in panel and "3 of 10 h used" in panel and "7 h left" in panel
    assert "Guard hours pool" in panel and "Q1 2026" in panel
    assert "4 h beyond the volume" in panel and "volume-exceeded" in panel
    assert "Old pool" not in panel  # ended: not active
    assert panel.count("<svg") == 2
    assert len([s for s in sent if "volume_usages" in s]) == 1
    assert len([s for s in sent if "FROM contract_lines" in s]) == 1


def test_a_billing_run_bills_last_periods_excess_with_this_periods_fee_once(app, support):
    """In advance: April's fees and March's 2.5 hours beyond the 10 included, on one invoice,
    priced from the price list; a second run bills neither again."""
    from saas.billing.contracts import billing
    from saas.billing.documents.models import Document, DocumentLine

    with scoping.tenant_context(support["tenant"].id):
        contract = load(support)
        record(contract, date(2026, 3, 5), "7.5")
        record(contract, date(2026, 3, 20), "5")
        record(contract, date(2026, 4, 2), "1")  # April's: billed with May's run
        db.session.commit()
        (invoice,) = billing.plan(date(2026, 4, 1))
        (item,) = invoice.contracts
        assert [(e.overage.quantity, e.unit_price, e.amount) for e in item.extras] == [
            (D("2.5"), D("950.00"), D("2375.00"))]
        assert item.total == D("800.00") + D("5000.00") + D("2375.00")
        for _ in range(2):
            run = billing.start_run(date(2026, 4, 1), None, consolidate=True, issue=True,
                                    queued=False)
            db.session.commit()
            billing.carry_out(run.id)
        lines = db.session.execute(
            select(DocumentLine.description, DocumentLine.quantity, DocumentLine.net,
                   DocumentLine.vat_rate, DocumentLine.site_label, DocumentLine.period_start)
            .order_by(DocumentLine.position)).all()
        assert lines == [
            ("Monitoring — C-0001, 2026-04", D("1.0000"), D("800.00"), D("25.00"), "",
             date(2026, 4, 1)),
            ("Support, flat fee — C-0001, 2026-04", D("1.0000"), D("5000.00"), D("25.00"),
             "FH-A Blokk A", date(2026, 4, 1)),
            ("Support, flat fee — h beyond the 10 included — C-0001, 2026-03", D("2.5000"),
             D("2375.00"), D("12.00"), "FH-A Blokk A", date(2026, 3, 1))]
        (document,) = db.session.scalars(select(Document)).all()
        assert document.number is not None
        # 25 % VAT on the fees (1,450.00), 12 % on the hours (285.00).
        assert (document.net_total, document.vat_total, document.gross_total) == (
            D("8175.00"), D("1735.00"), D("9910.00"))
