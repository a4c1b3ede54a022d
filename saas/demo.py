"""Demo data for `make run`: a self-serve business and a bureau with two client companies.

Idempotent: running it again finds what exists and adds only what is missing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw
from sqlalchemy import select

from saas.extensions import db
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


NORDLYS = DemoCompany(
    "nordlys", "Nordlys Rørlegger AS", TenantKind.BUSINESS, "NO", "NOK", "nb", "Europe/Oslo",
    "974760673", "NO974760673MVA", ("Storgata 12", "0155", "Oslo"),
    "NO9386011117947", "DNBANOKKXXX", "#0b6e4f",
    "Nordlys Rørlegger AS · Org.nr 974 760 673 MVA · Foretaksregisteret",
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

    bureau_staff = _user("staff@biuro.example", "Staff Kowalska")
    bureau_owner = _user("owner@biuro.example", "Owner Kowalska")
    for company in CLIENTS:
        client = _company(company, bureau=bureau)
        client_owner = _user(f"owner@{company.slug}.example", f"Owner of {company.name}")
        _member(client, client_owner, Role.OWNER)
        # Until bureau access is its own feature, bureau people are members of each client.
        _member(client, bureau_owner, Role.ADMIN)
        _member(client, bureau_staff, Role.STAFF)
        logins.append((client.name, client_owner.email, "owner"))
    return logins
