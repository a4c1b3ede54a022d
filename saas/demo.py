"""Demo data for `make run`: a self-serve business and a bureau with three client companies.

Idempotent: running it again finds what exists and adds only what is missing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from PIL import Image, ImageDraw
from sqlalchemy import select

from saas.api.webhooks.demo import seed_webhooks
from saas.automations.demo import seed_automations
from saas.billing.contracts.demo import seed_contracts
from saas.billing.documents.demo import seed_documents
from saas.billing.dunning.demo import seed_collection
from saas.billing.exports.demo import seed_exports
from saas.billing.payments.bank.demo import seed_bank
from saas.billing.payments.demo import seed_payments
from saas.billing.recurring.demo import seed_recurring
from saas.billing.reminders.demo import seed_reminders
from saas.billing.reports.demo import seed_reports
from saas.billing.work.demo import seed_work
from saas.billing.work.sources_demo import seed_work_sources
from saas.extensions import db
from saas.outsourced_service.demo import seed_bureau
from saas.portal.demo import seed_stripe
from saas.tenants import scoping, services
from saas.tenants.models import BankAccount, Role, Tenant, TenantKind, User

DEMO_PASSWORD = "demo-password"


@dataclass(frozen=True)
class DemoCompany:
    slug: str
    name: str
    kind: TenantKind
    country: str
    currency: str
    locale: str
    timezone: str
    org_number: str
    vat_id: str
    address: tuple[str, str, str]
    iban: str
    bic: str
    color: str
    footer: str
    # How its invoices' payment references are made (R6.2): the scheme and the KID length.
    reference_scheme: str = "invoice_number"
    reference_length: int = 10


NORDLYS = DemoCompany(
    "nordlys", "Nordlys Rørlegger AS", TenantKind.BUSINESS, "NO", "NOK", "nb", "Europe/Oslo",
    "974760673", "NO974760673MVA", ("Storgata 12", "0155", "Oslo"),
    "NO9386011117947", "DNBANOKKXXX", "#0b6e4f",
    "Nordlys Rørlegger AS · Org.nr 974 760 673 MVA · Foretaksregisteret",
    reference_scheme="kid_mod10",  # a Norwegian business: KID, as its bank agreement says
)
BUREAU = DemoCompany(
    "biuro", "Biuro Faktur Kasia Sp. z o.o.", TenantKind.BUREAU, "PL", "PLN", "pl",
    "Europe/Warsaw", "012100784", "PL7751001452", ("ul. Piotrkowska 101", "90-425", "Łódź"),
    "PL27114020040000300201355387", "BREXPLPWXXX", "#7a1f5c",
    "Biuro Faktur Kasia · KRS 0000123456 · NIP 775-100-14-52",
)
CLIENTS = (
    DemoCompany(
        "sokol", "Ochrona Sokół Sp. z o.o.", TenantKind.BUSINESS, "PL", "PLN", "pl",
        "Europe/Warsaw", "", "PL5260250274", ("ul. Żółkiewskiego 7", "00-950", "Warszawa"),
        "PL61109010140000071219812874", "WBKPPLPP", "#1f4e79",
        "Ochrona Sokół Sp. z o.o. · NIP 526-025-02-74 · Kapitał zakładowy 50 000 zł",
    ),
    DemoCompany(
        "vltava", "Tiskárna Vltava s.r.o.", TenantKind.BUSINESS, "CZ", "CZK", "cs",
        "Europe/Prague", "", "CZ25596641", ("Křižíkova 148", "186 00", "Praha 8"),
        "CZ6508000000192000145399", "GIBACZPX", "#b5452a",
        "Tiskárna Vltava s.r.o. · IČO 25596641 · zapsáno u MS v Praze, C 55555",
        reference_scheme="rf",  # the international creditor reference
    ),
    # Invoices itself; the bureau supports it (self-service, saas/outsourced_service/demo.py).
    DemoCompany(
        "klos", "Piekarnia Złoty Kłos Sp. z o.o.", TenantKind.BUSINESS, "PL", "PLN", "pl",
        "Europe/Warsaw", "", "PL5213017228", ("ul. Zbożowa 14", "30-002", "Kraków"),
        "PL10105000997603123456789123", "INGBPLPW", "#9a6b00",
        "Piekarnia Złoty Kłos Sp. z o.o. · NIP 521-301-72-28 · Kraków",
    ),
)


def make_logo(initials: str, color: str) -> bytes:
    """Draw a simple square logo with the company's initials."""
    image = Image.new("RGB", (160, 160), color)
    draw = ImageDraw.Draw(image)
    draw.text((80, 80), initials, fill="white", anchor="mm", font_size=64)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _user(email: str, name: str) -> User:
    user = services.find_user_by_email(email)
    if user is None:
        user = User(email=email, name=name)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
    return user


def _member(tenant: Tenant, user: User, role: Role) -> None:
    with scoping.tenant_context(tenant.id):
        if services.membership_in_current_tenant(user) is None:
            services.add_member(tenant, user, role)


def _company(company: DemoCompany, bureau: Tenant | None = None) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == company.slug))
    if tenant is not None:
        return tenant
    tenant = services.create_tenant(
        company.name, company.kind, slug=company.slug, country=company.country,
        currency=company.currency, locale=company.locale, timezone=company.timezone,
        bureau=bureau,
    )
    tenant.org_number, tenant.vat_id = company.org_number, company.vat_id
    tenant.reference_scheme = company.reference_scheme
    tenant.reference_length = company.reference_length
    tenant.address_line1, tenant.postal_code, tenant.city = company.address
    with scoping.tenant_context(tenant.id):
        db.session.add(BankAccount(iban=company.iban, bic=company.bic, currency=company.currency,
                                   label="Main account", is_default=True))
        initials = "".join(word[0] for word in company.name.split()[:2]).upper()
        services.update_branding(
            services.branding_of_current_tenant(),
            primary_color=company.color,
            footer_text=company.footer,
            email_sender_name=company.name,
            logo=make_logo(initials, company.color),
        )
        db.session.flush()
    return tenant


VAT_TABLES = {
    "NO": [("25", "Standard rate", "25", "standard", ""), ("15", "Food", "15", "reduced", ""),
           ("0", "Zero rated", "0", "zero", ""),
           ("AE", "Reverse charge", "0", "reverse_charge",
            "Omvendt avgiftsplikt, merverdiavgiftsloven § 11-1")],
    "PL": [("23", "Stawka podstawowa", "23", "standard", ""),
           ("8", "Stawka obniżona", "8", "reduced", ""),
           ("zw", "Zwolnione", "0", "exempt", "Zwolnienie z VAT, art. 43 ust. 1 ustawy o VAT"),
           ("np", "Odwrotne obciążenie", "0", "reverse_charge", "Odwrotne obciążenie")],
    "CZ": [("21", "Základní sazba", "21", "standard", ""),
           ("12", "Snížená sazba", "12", "reduced", ""),
           ("PDP", "Přenesená daňová povinnost", "0", "reverse_charge",
            "Daň odvede zákazník, § 92a zákona o DPH")],
}

# (sku, name, unit, category, price, increment, minimum) per company.
DEMO_PRODUCTS = {
    "nordlys": [("SERV-H", "Rørleggertime", "h", "Arbeid", "950", "0.5", "1"),
                ("UTRYK", "Utrykning", "stk", "Arbeid", "650", None, None),
                ("VV-200", "Varmtvannsbereder 200 l", "stk", "Materiell", "12490", None, None)],
    "sokol": [("OCH-H", "Ochrona fizyczna – godzina", "h", "Ochrona", "38.50", "1", None),
              ("OCH-M", "Ochrona fizyczna – ryczałt miesięczny", "mies.", "Ochrona", "9800", None,
               None),
              ("KONW", "Konwój wartości – odbiór", "szt.", "Konwoje", "180", None, None),
              ("SERW", "Serwis systemu alarmowego", "h", "Serwis", "145", "0.25", "1")],
    "vltava": [("TISK-A4", "Tisk A4 barevně", "ks", "Tisk", "4.20", None, "100"),
               ("GRAF-H", "Grafické práce", "h", "Služby", "850", "0.25", "0.5")],
    "klos": [("CHLEB", "Chleb żytni 1 kg", "szt.", "Pieczywo", "9.50", None, None),
             ("TORT", "Tort okolicznościowy", "szt.", "Cukiernia", "180", None, None),
             ("CATER-H", "Obsługa cateringu – godzina", "h", "Catering", "95", "0.5", "1")],
    "biuro": [("FAKT", "Wystawienie faktury", "szt.", "Usługi biura", "4.50", None, None),
              ("LIST", "Wysyłka listowna", "szt.", "Usługi biura", "6.80", None, None),
              ("ABON", "Abonament miesięczny", "mies.", "Usługi biura", "490", None, None),
              ("BANK", "Dopasowanie wpłaty z wyciągu", "szt.", "Usługi biura", "1.20", None,
               None)],
}

# (name, city, vat_id, category, region, contact, e-mail, sites) per company.
DEMO_CUSTOMERS = {
    "nordlys": [
        ("Fjellheim Borettslag", "Oslo", "", "Borettslag", "Oslo", "Ingrid Berg",
         "styret@fjellheim.example", [("FH-A", "Blokk A"), ("FH-B", "Blokk B")]),
        ("Havbris Hotell AS", "Bergen", "NO974760673MVA", "Næring", "Vestland", "Per Havik",
         "drift@havbris.example", []),
    ],
    "sokol": [
        ("Galeria Mokotów Sp. z o.o.", "Warszawa", "PL5260250274", "Centra handlowe",
         "Mazowieckie", "Anna Nowak", "ochrona@galeria.example",
         [("GM-01", "Galeria – budynek główny"), ("GM-02", "Parking podziemny")]),
        ("Szpital Miejski nr 3", "Łódź", "PL7751001452", "Sektor publiczny", "Łódzkie",
         "Tomasz Wiśniewski", "administracja@szpital3.example", [("SZ-3", "Pawilon A")]),
        ("Bank Spółdzielczy w Rawie", "Rawa Mazowiecka", "", "Banki", "Łódzkie",
         "Ewa Zielińska", "ewa@bsrawa.example", [("BS-R1", "Oddział Rawa")]),
    ],
    "vltava": [
        ("Kavárna U Mostu s.r.o.", "Praha", "CZ25596641", "Gastro", "Praha", "Jana Dvořáková",
         "jana@umostu.example", []),
        ("Městská knihovna Brno", "Brno", "CZ00177041", "Veřejný sektor", "Jihomoravský",
         "Petr Novák", "knihovna@brno.example", [("KB-1", "Hlavní budova")]),
    ],
    "klos": [
        ("Kawiarnia Pod Arkadami", "Kraków", "", "Gastronomia", "Małopolskie", "Marta Lis",
         "marta@arkady.example", []),
        ("Hotel Wawel Residence Sp. z o.o.", "Kraków", "", "Hotele", "Małopolskie",
         "Jan Kowal", "recepcja@wawelresidence.example", [("HW-1", "Restauracja")]),
    ],
    "biuro": [
        ("Ochrona Sokół Sp. z o.o.", "Warszawa", "PL5260250274", "Klienci biura", "Mazowieckie",
         "Owner Sokół", "owner@sokol.example", []),
    ],
}


def _catalog(tenant: Tenant) -> None:
    """VAT table, products, a price list with a customer on it, rules and a rate."""
    from decimal import Decimal

    from saas.billing.catalog.models import (
        CategoryDiscount,
        CustomerPrice,
        ExchangeRate,
        PriceList,
        PriceListItem,
        Product,
        ProductCategory,
        VatCategory,
        VatRate,
    )
    from saas.billing.customers import services as customers

    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(VatRate.id).limit(1)) is not None:
            return
        rates = {}
        for code, name, rate, category, note in VAT_TABLES[tenant.country]:
            rates[code] = VatRate(code=code, name=name, rate=Decimal(rate),
                                  category=VatCategory(category), note=note)
            db.session.add(rates[code])
        standard = next(iter(rates.values()))
        product_categories: dict[str, ProductCategory] = {}
        products = []
        for sku, name, unit, category, price, increment, minimum in DEMO_PRODUCTS[tenant.slug]:
            if category not in product_categories:
                product_categories[category] = ProductCategory(name=category)
                db.session.add(product_categories[category])
            product = Product(
                sku=sku, name=name, unit=unit, category=product_categories[category],
                vat_rate=standard, base_price=Decimal(price), currency=tenant.default_currency,
                cost_price=(Decimal(price) * Decimal("0.6")).quantize(Decimal("0.01")),
                quantity_increment=Decimal(increment) if increment else None,
                minimum_quantity=Decimal(minimum) if minimum else None,
            )
            db.session.add(product)
            products.append(product)
        price_list = PriceList(name="Partners 2026", currency=tenant.default_currency)
        db.session.add(price_list)
        db.session.flush()
        for product in products[:2]:
            db.session.add(PriceListItem(price_list_id=price_list.id, product_id=product.id,
                                         price=(product.base_price * Decimal("0.9")).quantize(
                                             Decimal("0.01"))))
        created = []
        for (name, city, vat_id, category, region, contact, email,
             sites) in DEMO_CUSTOMERS[tenant.slug]:
            customer = customers.create_customer({
                "name": name, "city": city, "vat_id": vat_id, "country": tenant.country,
                "currency": tenant.default_currency, "language": tenant.locale,
                "region": region, "category_id": customers.category_named(category).id,
                "payment_terms_days": 14,
            })
            customers.add_contact(customer, {"name": contact, "email": email,
                                             "receives_invoices": True, "portal_access": True})
            for code, site_name in sites:
                customers.add_site(customer, {"code": code, "name": site_name, "city": city,
                                              "country": tenant.country})
            created.append(customer)
        first = created[0]
        first.price_list_id = price_list.id
        if len(created) > 1:
            db.session.add(CustomerPrice(customer_id=created[1].id, product_id=products[0].id,
                                         price=products[0].base_price * Decimal("0.8"),
                                         currency=tenant.default_currency))
            db.session.add(CategoryDiscount(
                customer_category_id=created[1].category_id,
                product_category_id=products[-1].category.id, percent=Decimal("7.5"),
            ))
        if tenant.default_currency != "EUR":
            db.session.add(ExchangeRate(base_currency="EUR", quote_currency=tenant.default_currency,
                                        valid_on=date(2026, 11, 2),
                                        rate=EUR_RATES[tenant.default_currency]))
        db.session.flush()


EUR_RATES = {"NOK": Decimal("11.6420"), "PLN": Decimal("4.2315"), "CZK": Decimal("24.3650")}


def seed() -> list[tuple[str, str, str]]:
    """Create the demo companies and users; return (company, e-mail, role) logins."""
    logins: list[tuple[str, str, str]] = []

    nordlys = _company(NORDLYS)
    owner = _user("owner@nordlys.example", "Kari Nordmann")
    _member(nordlys, owner, Role.OWNER)
    logins.append((nordlys.name, owner.email, "owner"))

    bureau = _company(BUREAU)
    for role in Role:
        user = _user(f"{role.value}@biuro.example", f"{role.label} Kowalska")
        _member(bureau, user, role)
        logins.append((bureau.name, user.email, role.value))

    served = []
    for company in CLIENTS:
        client = _company(company, bureau=bureau)
        served.append(client)
        client_owner = _user(f"owner@{company.slug}.example", f"Owner of {company.name}")
        _member(client, client_owner, Role.OWNER)
        logins.append((client.name, client_owner.email, "owner"))
    for tenant in db.session.scalars(select(Tenant).where(
        Tenant.slug.in_([c.slug for c in (NORDLYS, BUREAU, *CLIENTS)])
    )):
        _catalog(tenant)
        seed_documents(tenant)
        seed_reminders(tenant)
        seed_recurring(tenant)
        seed_contracts(tenant)
        seed_work(tenant)
        seed_payments(tenant)
        seed_bank(tenant)
        seed_stripe(tenant, own_keys=tenant.slug == CLIENTS[1].slug)
        seed_work_sources(tenant)
        seed_collection(tenant)
        seed_reports(tenant)
        seed_exports(tenant)
    seed_automations(nordlys)  # seed 004's enrolment rules, one student through them
    # The bureau's people work in its clients through the bureau (no memberships there).
    seed_bureau(bureau, served)
    # Its clients are now the bureau's customers too: one of them is billed monthly. (Made
    # here, not in the loop, where the bureau had too few customers: a second seed would
    # have made it then.)
    seed_recurring(bureau)
    seed_webhooks(nordlys)
    return logins
