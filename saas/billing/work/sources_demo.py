"""Demo field work for the guarding company (Ochrona Sokół): a guarded site with last
month's hours captured and a lump-sum site with this month's so far, a completed
cash-in-transit card, a completed billable protocol waiting to be invoiced and an open
one, and a partner agency with services given and received this month, ready to net.
Members get internal cost rates for the profitability pages.

Idempotent: a tenant that has any protocol already is left alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.billing.catalog.models import PriceList, PriceListItem, Product, VatRate
from saas.billing.customers import services as customers
from saas.billing.customers.models import Customer, Site
from saas.billing.work import cit, guarding, payables, protocols, setup
from saas.billing.work.guarding_rules import month_days
from saas.billing.work.source_models import WorkProtocol
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.access import tenant_today_of
from saas.tenants.models import Membership, Tenant

D = Decimal
GUARDING_TENANT = "sokol"
COST_RATES = {"PLN": D("85.00"), "NOK": D("450.00"), "CZK": D("520.00")}


def _product(sku: str, name: str, unit: str, price: str, currency: str) -> Product:
    """The demo product of that SKU, made when missing."""
    found = db.session.scalar(select(Product).where(Product.sku == sku))
    if found is None:
        vat = db.session.scalar(select(VatRate).order_by(VatRate.rate.desc()))
        found = Product(
            sku=sku,
            name=name,
            unit=unit,
            vat_rate_id=vat.id,
            base_price=D(price),
            currency=currency,
            cost_price=(D(price) * D("0.6")).quantize(D("0.01")),
        )
        db.session.add(found)
        db.session.flush()
    return found


def seed_work_sources(tenant: Tenant) -> None:
    """Once per tenant: cost rates everywhere; the field work in the guarding company."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(WorkProtocol.id).limit(1)) is not None:
            return
        rate = COST_RATES.get(tenant.default_currency)
        if rate is not None:
            have = setup.cost_rates()
            for membership in db.session.scalars(select(Membership)):
                if membership.user_id not in have:
                    setup.set_cost_rate(membership.user_id, rate)
        if tenant.slug == GUARDING_TENANT:
            _field_work(tenant)
        db.session.commit()


def _field_work(tenant: Tenant) -> None:
    currency, today = tenant.default_currency, tenant_today_of(tenant.id)
    sites = {site.code: site for site in db.session.scalars(select(Site))}
    if not {"GM-01", "GM-02", "SZ-3", "BS-R1"} <= sites.keys():
        return
    hour = _product("OCH-H", "Ochrona fizyczna – godzina", "h", "38.50", currency)
    month = _product("OCH-M", "Ochrona fizyczna – ryczałt miesięczny", "mies.", "9800", currency)
    pickup = _product("KONW", "Konwój wartości – odbiór", "szt.", "180", currency)
    handover = _product("KONW-Z", "Konwój wartości – zdanie", "szt.", "150", currency)
    service = _product("SERW", "Serwis systemu alarmowego", "h", "145", currency)
    detector = _product("CZUJ", "Czujka dymu", "szt.", "89", currency)

    # Guarding: the main building by the hour, last month captured; parking as a lump sum.
    main = guarding.set_up_site(
        {
            "site_id": sites["GM-01"].id,
            "product_id": hour.id,
            "mode": "hourly",
            "hourly_rate": D("38.50"),
        }
    )
    last_month = today.replace(day=1) - timedelta(days=1)
    for day in month_days(last_month.year, last_month.month):
        guarding.register_hours(main, day, D(24) if day.weekday() < 5 else D(12))
    guarding.capture_month(main, last_month.year, last_month.month)
    parking = guarding.set_up_site(
        {
            "site_id": sites["GM-02"].id,
            "product_id": month.id,
            "mode": "lump_sum",
            "lump_sum": D("9800"),
        }
    )
    for day in month_days(today.year, today.month):
        if day <= today:
            guarding.register_hours(parking, day, D(8))

    # Cash in transit: yesterday's card for the bank, completed.
    bank = sites["BS-R1"].customer
    card = cit.create_card(
        {
            "customer_id": bank.id,
            "served_on": today - timedelta(days=1),
            "crew": "Załoga 3: Nowak, Lis",
        }
    )
    for kind, product, place, seal in (
        ("pickup", pickup, "Kasa 1", "PL-448812"),
        ("pickup", pickup, "Kasa 2", "PL-448813"),
        ("handover", handover, "Skarbiec NBP Łódź", ""),
    ):
        cit.add_service(
            card,
            {
                "kind": kind,
                "product_id": product.id,
                "site_id": sites["BS-R1"].id,
                "place": place,
                "seal": seal,
            },
        )
    cit.complete_card(card)

    # Protocols: a billable alarm service at the hospital (finished, to invoice), one open.
    hospital = sites["SZ-3"].customer
    done = protocols.create_protocol(
        {
            "customer_id": hospital.id,
            "site_id": sites["SZ-3"].id,
            "performed_on": today - timedelta(days=2),
            "technician": "Marek Wójcik",
            "work_done": "Przegląd centrali alarmowej, wymiana dwóch czujek dymu w pawilonie A.",
            "hours": D("2.5"),
            "labour_product_id": service.id,
            "billable": True,
        }
    )
    protocols.add_material(done, detector.id, D(2))
    protocols.complete_protocol(done)
    protocols.create_protocol(
        {
            "customer_id": hospital.id,
            "site_id": sites["SZ-3"].id,
            "performed_on": today,
            "technician": "Marek Wójcik",
            "work_done": "Diagnoza usterki czujnika ruchu.",
            "hours": D(1),
            "labour_product_id": service.id,
            "billable": True,
        }
    )

    _partner(tenant, today, hour, pickup)


def _partner(tenant: Tenant, today: date, hour: Product, pickup: Product) -> None:
    """A partner agency: we run its convoys, it guards for us; both open this month."""
    currency = tenant.default_currency
    partner = db.session.scalar(
        select(Customer).where(Customer.name == "Agencja Ochrony Żubr Sp. z o.o.")
    )
    if partner is None:
        partner = customers.create_customer(
            {
                "name": "Agencja Ochrony Żubr Sp. z o.o.",
                "city": "Białystok",
                "country": tenant.country,
                "currency": currency,
                "language": tenant.locale,
                "payment_terms_days": 14,
            }
        )
    price_list = PriceList(name="Żubr – cennik usług 2026", currency=currency)
    db.session.add(price_list)
    db.session.flush()
    db.session.add(PriceListItem(price_list_id=price_list.id, product_id=hour.id, price=D("31.00")))
    payables.set_supplier_terms(partner, price_list_id=price_list.id, is_partner=True)
    first = today.replace(day=1)
    card = cit.create_card(
        {"customer_id": partner.id, "served_on": first, "crew": "Załoga 1: Kowal, Bury"}
    )
    for place in ("Oddział Białystok", "Oddział Łomża"):
        cit.add_service(card, {"kind": "pickup", "product_id": pickup.id, "place": place})
    cit.complete_card(card)
    for day, hours in ((first, D(12)), (min(first + timedelta(days=1), today), D(8))):
        payables.record_payable(
            {
                "supplier_id": partner.id,
                "occurred_on": day,
                "product_id": hour.id,
                "quantity": hours,
                "description": f"Zastępstwo ochrony GM-01, {day}",
            }
        )
