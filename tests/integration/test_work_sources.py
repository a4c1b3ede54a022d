"""Sources of billable work (R5.5–R5.7): protocols, guarding hours and cash-in-transit
cards become billable items and end on an invoice, through the pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.billing.documents.models import Document
from saas.billing.work.guarding_rules import GuardingMode
from saas.billing.work.models import BillableItem, ItemStatus
from saas.billing.work.source_models import (
    CitCard,
    GuardedSite,
    GuardingHours,
    SourceStatus,
    WorkProtocol,
)
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SiteFactory,
    TenantFactory,
    VatRateFactory,
    member,
)

D = Decimal
DAY = date(2026, 11, 2)


@pytest.fixture()
def firm(db_session, make_client):
    """A security firm (NOK): a customer with a site, and its products."""
    tenant = TenantFactory(currency="NOK")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        vat = VatRateFactory(tenant=tenant, rate=D(25))
        customer = CustomerFactory(tenant=tenant, name="Galeria Mokotów")
        site = SiteFactory(tenant=tenant, customer=customer, code="GM-01", name="Main building")

        def product(name, price, unit="pcs", **extra):
            return ProductFactory(
                tenant=tenant, name=name, unit=unit, base_price=D(price), vat_rate=vat, **extra
            ).id

        ids = {
            "service_hour": product("Service technician", "900", "h", quantity_increment=D("0.5")),
            "detector": product("Smoke detector", "250"),
            "guard_hour": product("Guarding hour", "40", "h"),
            "guard_month": product("Guarding, monthly lump sum", "9800", "month"),
            "pickup": product("CIT pick-up", "180"),
            "handover": product("CIT hand-over", "150"),
        }
        ids.update(customer=customer.id, site=site.id)
        db.session.commit()
    return {"tenant": tenant, "client": make_client(owner), **ids}


def url(firm, path: str) -> str:
    return f"/t/{firm['tenant'].slug}{path}"


def in_tenant(firm):
    return scoping.tenant_context(firm["tenant"].id)


def open_items(firm) -> list[tuple[str, str, Decimal, Decimal]]:
    with in_tenant(firm):
        return [
            (item.event, item.product.name, item.quantity, item.unit_price)
            for item in db.session.scalars(
                select(BillableItem)
                .where(BillableItem.status == ItemStatus.OPEN)
                .order_by(BillableItem.id)
            )
        ]


def invoice_lines(firm, document_id: int) -> list[tuple[str, Decimal, Decimal]]:
    with in_tenant(firm):
        document = db.session.get(Document, document_id)
        return [(line.description, line.quantity, line.net) for line in document.lines]


def document_id_of(response) -> int:
    assert response.status_code == 302, response.status_code
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


# --- protocols (R5.5) ---------------------------------------------------------------------


def _protocol(firm, billable: bool = True) -> int:
    client = firm["client"]
    response = client.post(
        url(firm, "/work/protocols/new"),
        data={
            "customer_id": firm["customer"],
            "site_id": firm["site"],
            "performed_on": "2026-11-02",
            "technician": "Jan Kos",
            "work_done": "Replaced two detectors, tested the panel.",
            "hours": "2.25",
            "labour_product_id": firm["service_hour"],
            **({"billable": "y"} if billable else {}),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    protocol_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    for quantity in ("1", "1"):  # the same product twice is one item of 2
        assert (
            client.post(
                url(firm, f"/work/protocols/{protocol_id}/materials"),
                data={"product_id": firm["detector"], "quantity": quantity},
            ).status_code
            == 302
        )
    return protocol_id


def test_a_billable_protocol_is_finished_work_until_it_is_invoiced_from_its_data(firm):
    client = firm["client"]
    protocol_id = _protocol(firm)
    assert (
        client.get(url(firm, "/work/finished")).get_data(as_text=True).count("Invoice</button>")
        == 0
    )  # not completed yet
    assert client.post(url(firm, f"/work/protocols/{protocol_id}/complete")).status_code == 302
    assert open_items(firm) == [
        ("protocol_completed", "Service technician", D("2.5"), D("900")),  # started half hours
        ("protocol_completed", "Smoke detector", D(2), D("250")),
    ]
    finished = client.get(url(firm, "/work/finished")).get_data(as_text=True)
    assert "P-0001" in finished and "2,750.00 NOK" in finished  # 2,250 + 500

    invoice_id = document_id_of(client.post(url(firm, f"/work/protocols/{protocol_id}/invoice")))
    assert [(q, net) for _, q, net in invoice_lines(firm, invoice_id)] == [
        (D("2.5"), D("2250.00")),
        (D(2), D("500.00")),
    ]
    assert open_items(firm) == []
    assert "No finished work waits" in client.get(url(firm, "/work/finished")).get_data(
        as_text=True
    )


def test_a_protocol_not_marked_billable_bills_nothing(firm):
    protocol_id = _protocol(firm, billable=False)
    assert (
        firm["client"].post(url(firm, f"/work/protocols/{protocol_id}/complete")).status_code == 302
    )
    with in_tenant(firm):
        assert db.session.get(WorkProtocol, protocol_id).status is SourceStatus.COMPLETED
    assert open_items(firm) == []


def test_reopening_withdraws_the_items_and_is_refused_once_invoiced(firm):
    client = firm["client"]
    protocol_id = _protocol(firm)
    client.post(url(firm, f"/work/protocols/{protocol_id}/complete"))
    client.post(url(firm, f"/work/protocols/{protocol_id}/reopen"))
    assert open_items(firm) == []
    client.post(url(firm, f"/work/protocols/{protocol_id}/complete"))
    client.post(url(firm, f"/work/protocols/{protocol_id}/invoice"))
    page = client.post(
        url(firm, f"/work/protocols/{protocol_id}/reopen"), follow_redirects=True
    ).get_data(as_text=True)
    assert "invoiced" in page
    with in_tenant(firm):
        assert db.session.get(WorkProtocol, protocol_id).status is SourceStatus.COMPLETED


def test_a_protocol_without_a_customer_or_day_is_refused_by_field(firm):
    response = firm["client"].post(url(firm, "/work/protocols/new"), data={"hours": "-1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose the customer." in page
    with in_tenant(firm):
        assert db.session.scalar(select(WorkProtocol.id)) is None


# --- guarding (R5.6) ----------------------------------------------------------------------


def _guarded(firm, **values) -> int:
    response = firm["client"].post(
        url(firm, "/work/guarding"),
        data={
            "site_id": firm["site"],
            "product_id": firm["guard_hour"],
            "mode": "hourly",
            **values,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_a_months_hours_are_billed_by_the_sites_hourly_rate(firm):
    client = firm["client"]
    guarded_id = _guarded(firm, hourly_rate="38.50")
    grid = {f"h-2026-11-{day:02}": "12" for day in range(1, 31)}
    grid["h-2026-11-15"] = "7,5"
    response = client.post(url(firm, f"/work/guarding/{guarded_id}/hours?month=2026-11"), data=grid)
    assert response.status_code == 302
    page = client.get(url(firm, f"/work/guarding/{guarded_id}?month=2026-11")).get_data(
        as_text=True
    )
    assert 'value="7.5"' in page and "355.5" in page  # 29 × 12 + 7.5
    client.post(url(firm, f"/work/guarding/{guarded_id}/capture?month=2026-11"))
    assert open_items(firm) == [("guarding_period", "Guarding hour", D("355.5"), D("38.50"))]


def test_one_day_is_saved_by_htmx_and_a_bad_value_is_refused_in_its_cell(firm):
    client = firm["client"]
    guarded_id = _guarded(firm)
    saved = client.post(
        url(firm, f"/work/guarding/{guarded_id}/day?day=2026-11-03"),
        data={"h-2026-11-03": "8"},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert 'id="day-2026-11-03"' in saved.get_data(as_text=True)
    assert 'hx-swap-oob="true"' in saved.get_data(as_text=True)  # the month's total too
    refused = client.post(
        url(firm, f"/work/guarding/{guarded_id}/day?day=2026-11-04"),
        data={"h-2026-11-04": "25"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422
    assert "at most 24" in refused.get_data(as_text=True)
    with in_tenant(firm):
        assert [(h.worked_on, h.hours) for h in db.session.scalars(select(GuardingHours))] == [
            (date(2026, 11, 3), D(8))
        ]


def test_a_bad_day_in_the_grid_saves_nothing(firm):
    guarded_id = _guarded(firm)
    response = firm["client"].post(
        url(firm, f"/work/guarding/{guarded_id}/hours?month=2026-11"),
        data={"h-2026-11-01": "8", "h-2026-11-02": "eight"},
    )
    assert response.status_code == 422
    assert "not a number of hours" in response.get_data(as_text=True)
    with in_tenant(firm):
        assert db.session.scalar(select(GuardingHours.id)) is None


def test_a_lump_sum_site_bills_its_amount_once_and_the_month_ends_on_an_invoice(firm):
    client = firm["client"]
    guarded_id = _guarded(firm, mode="lump_sum", product_id=firm["guard_month"], lump_sum="9800")
    with in_tenant(firm):
        assert db.session.get(GuardedSite, guarded_id).mode is GuardingMode.LUMP_SUM
    client.post(
        url(firm, f"/work/guarding/{guarded_id}/hours?month=2026-11"),
        data={f"h-2026-11-{day:02}": "24" for day in range(1, 31)},
    )
    client.post(url(firm, f"/work/guarding/{guarded_id}/capture?month=2026-11"))
    client.post(url(firm, f"/work/guarding/{guarded_id}/capture?month=2026-11"))  # again
    assert open_items(firm) == [("guarding_period", "Guarding, monthly lump sum", D(1), D("9800"))]
    with in_tenant(firm):
        from saas.billing.customers.models import Customer
        from saas.billing.work import items

        [item] = db.session.scalars(select(BillableItem)).all()
        invoice = items.bill_items(db.session.get(Customer, firm["customer"]), [item.id])
        db.session.commit()
        invoice_id = invoice.id
    [(description, quantity, net)] = invoice_lines(firm, invoice_id)
    assert (quantity, net) == (D(1), D("9800.00")) and "GM-01" in description
    # the month is invoiced: its hours are final
    refused = client.post(
        url(firm, f"/work/guarding/{guarded_id}/day?day=2026-11-03"),
        data={"h-2026-11-03": "1"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and "invoiced" in refused.get_data(as_text=True)


# --- cash in transit (R5.7) ---------------------------------------------------------------


def test_a_completed_card_bills_each_service_apart(firm):
    client = firm["client"]
    response = client.post(
        url(firm, "/work/cit"),
        data={"customer_id": firm["customer"], "served_on": "2026-11-02", "crew": "Crew 3"},
    )
    assert response.status_code == 302
    card_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    for kind, product, place in (
        ("pickup", "pickup", "Till 1"),
        ("pickup", "pickup", "Till 2"),
        ("handover", "handover", "Bank vault"),
    ):
        assert (
            client.post(
                url(firm, f"/work/cit/{card_id}/services"),
                data={
                    "kind": kind,
                    "product_id": firm[product],
                    "site_id": firm["site"],
                    "place": place,
                    "seal": "S-1",
                },
            ).status_code
            == 302
        )
    assert client.post(url(firm, f"/work/cit/{card_id}/complete")).status_code == 302
    assert open_items(firm) == [
        ("card_completed", "CIT pick-up", D(1), D(180)),
        ("card_completed", "CIT pick-up", D(1), D(180)),
        ("card_completed", "CIT hand-over", D(1), D(150)),
    ]
    with in_tenant(firm):
        from saas.billing.customers.models import Customer
        from saas.billing.work import items

        ids = list(db.session.scalars(select(BillableItem.id)))
        invoice = items.bill_items(db.session.get(Customer, firm["customer"]), ids)
        db.session.commit()
        assert db.session.get(CitCard, card_id).status is SourceStatus.COMPLETED
        invoice_id = invoice.id
    lines = invoice_lines(firm, invoice_id)
    assert [net for *_, net in lines] == [D("180.00"), D("180.00"), D("150.00")]
    assert "Till 2" in lines[1][0]


def test_a_card_without_services_cannot_be_completed(firm):
    client = firm["client"]
    response = client.post(
        url(firm, "/work/cit"), data={"customer_id": firm["customer"], "served_on": "2026-11-02"}
    )
    card_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = client.post(url(firm, f"/work/cit/{card_id}/complete"), follow_redirects=True).get_data(
        as_text=True
    )
    assert "Add the card&#39;s pick-ups" in page or "Add the card's pick-ups" in page
    with in_tenant(firm):
        assert db.session.get(CitCard, card_id).status is SourceStatus.OPEN


def test_viewers_see_the_pages_but_cannot_change_them(firm, make_client):
    viewer = make_client(member(firm["tenant"], Role.VIEWER))
    for path in ("/work/protocols", "/work/finished", "/work/guarding", "/work/cit"):
        assert viewer.get(url(firm, path)).status_code == 200
    assert (
        viewer.post(
            url(firm, "/work/cit"),
            data={"customer_id": firm["customer"], "served_on": "2026-11-02"},
        ).status_code
        == 403
    )


def test_without_a_rate_of_its_own_a_site_takes_its_contracts_rate(firm):
    from saas.billing.contracts import services as contracts
    from saas.billing.customers.models import Customer

    with in_tenant(firm):
        customer = db.session.get(Customer, firm["customer"])
        contract = contracts.create_contract(
            customer, {"start_date": date(2026, 1, 1), "site_ids": [firm["site"]]}
        )
        contracts.add_line(
            contract,
            {
                "product_id": firm["guard_hour"],
                "quantity": D(1),
                "unit_price": D("41.25"),
                "site_id": firm["site"],
            },
        )
        db.session.commit()
        contract_id = contract.id
    guarded_id = _guarded(firm)  # no hourly rate: the contract's, not the base price 40
    firm["client"].post(
        url(firm, f"/work/guarding/{guarded_id}/hours?month=2026-11"),
        data={"h-2026-11-02": "8", "h-2026-11-03": "8"},
    )
    firm["client"].post(url(firm, f"/work/guarding/{guarded_id}/capture?month=2026-11"))
    assert open_items(firm) == [("guarding_period", "Guarding hour", D(16), D("41.25"))]
    with in_tenant(firm):
        assert db.session.scalar(select(BillableItem.contract_id)) == contract_id


def test_the_protocol_prints_with_its_work_and_materials(firm):
    from pypdf import PdfReader

    protocol_id = _protocol(firm)
    response = firm["client"].get(url(firm, f"/work/protocols/{protocol_id}.pdf"))
    assert response.mimetype == "application/pdf"
    import io

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    for expected in (
        "P-0001",
        "Galeria Mokotów",
        "Replaced two detectors",
        "Smoke detector",
        "Jan Kos",
    ):
        assert expected in text
