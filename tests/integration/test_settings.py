"""Company details, bank accounts and branding."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, BankAccount, Branding, Role
from tests.factories import BankAccountFactory, TenantFactory, member
from tests.helpers import errors_in


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Settings AS", country="NO")


@pytest.fixture()
def admin_client(tenant, make_client):
    return make_client(member(tenant, Role.ADMIN))


def image_bytes(fmt: str, size=(40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#336699").save(buffer, fmt)
    return buffer.getvalue()


PROFILE = {
    "name": "Settings AS", "legal_name": "Settings Holding AS", "org_number": "974760673",
    "vat_id": "NO 974 760 673 MVA", "address_line1": "Storgata 1", "address_line2": "",
    "postal_code": "0155", "city": "Oslo", "country": "NO", "default_currency": "NOK",
    "locale": "nb", "timezone": "Europe/Oslo",
}


def test_company_details_are_validated_per_country_and_saved(tenant, admin_client):
    response = admin_client.post(f"/t/{tenant.slug}/settings", data=PROFILE)
    assert response.status_code == 302
    assert (tenant.legal_name, tenant.vat_id, tenant.locale) == (
        "Settings Holding AS", "NO974760673MVA", "nb",
    )
    with scoping.tenant_context(tenant.id):
        actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "settings.profile_changed" in actions


def test_invalid_vat_and_org_numbers_are_named_and_nothing_is_saved(tenant, admin_client):
    bad = {**PROFILE, "vat_id": "NO 974 760 674 MVA", "org_number": "12345", "legal_name": ""}
    response = admin_client.post(f"/t/{tenant.slug}/settings", data=bad)
    assert response.status_code == 422
    errors = errors_in(response.get_data(as_text=True))
    assert len(errors) == 3, errors
    assert any("VAT id" in e for e in errors) and any("organisation number" in e for e in errors)
    assert tenant.legal_name == "Settings AS" and tenant.vat_id == ""


@pytest.mark.parametrize("role", [Role.STAFF, Role.VIEWER, Role.ACCOUNTANT, Role.COLLECTOR])
def test_settings_are_for_owners_and_admins_only(tenant, make_client, role):
    client = make_client(member(tenant, role))
    for path in ("settings", "settings/bank-accounts", "settings/branding"):
        assert client.get(f"/t/{tenant.slug}/{path}").status_code == 403
    assert client.post(f"/t/{tenant.slug}/settings", data=PROFILE).status_code == 403
    assert tenant.legal_name == "Settings AS"


def test_first_bank_account_becomes_the_default(tenant, admin_client):
    response = admin_client.post(
        f"/t/{tenant.slug}/settings/bank-accounts",
        data={"label": "Main", "country": "NO", "iban": "no93 8601 1117 947",
              "bic": "dnbanokkxxx", "currency": "NOK"},
    )
    assert response.status_code == 302
    with scoping.tenant_context(tenant.id):
        account = db.session.scalar(select(BankAccount))
    assert (account.iban, account.bic, account.is_default) == (
        "NO9386011117947", "DNBANOKKXXX", True,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"iban": "NO9386011117948", "bic": "DNBANOKKXXX"}, "Not a valid IBAN"),
        ({"iban": "NO9386011117947", "bic": "NOTABIC"}, "Not a valid BIC"),
        ({"iban": "NO9386011117947", "bic": ""}, "Give the BIC"),
        ({"iban": "", "bban": ""}, "Give an IBAN"),
        ({"bban": "8601.11.17948"}, "Not a valid NO account number"),
    ],
)
def test_bad_bank_accounts_are_refused_with_the_reason(tenant, admin_client, fields, message):
    data = {"label": "", "country": "NO", "currency": "NOK", "iban": "", "bic": "", "bban": "",
            **fields}
    response = admin_client.post(f"/t/{tenant.slug}/settings/bank-accounts", data=data,
                                 headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert any(message in e for e in errors_in(response.get_data(as_text=True)))
    with scoping.tenant_context(tenant.id):
        assert db.session.scalar(select(func.count()).select_from(BankAccount)) == 0


def test_making_another_account_default_moves_the_flag(tenant, admin_client):
    first = BankAccountFactory(tenant=tenant, is_default=True)
    second = BankAccountFactory(tenant=tenant, iban="PL61109010140000071219812874",
                                bic="WBKPPLPP", currency="PLN")
    admin_client.post(f"/t/{tenant.slug}/settings/bank-accounts/{second.id}/default")
    with scoping.tenant_context(tenant.id):
        db.session.refresh(first)
        db.session.refresh(second)
    assert (first.is_default, second.is_default) == (False, True)


def test_a_bank_account_is_removed(tenant, admin_client):
    account = BankAccountFactory(tenant=tenant)
    admin_client.post(f"/t/{tenant.slug}/settings/bank-accounts/{account.id}/delete")
    with scoping.tenant_context(tenant.id):
        assert db.session.scalar(select(func.count()).select_from(BankAccount)) == 0


def _branding(tenant) -> Branding:
    with scoping.tenant_context(tenant.id):
        branding = db.session.scalar(select(Branding))
        db.session.refresh(branding)
        return branding


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_a_logo_is_decoded_stored_and_served_on_the_portal(tenant, admin_client, fmt, mime):
    data = image_bytes(fmt)
    response = admin_client.post(
        f"/t/{tenant.slug}/settings/branding",
        data={"primary_color": "#AA3300", "footer_text": "Org 974 760 673",
              "email_sender_name": "Settings Billing", "logo": (io.BytesIO(data), "logo.img")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    branding = _branding(tenant)
    assert (branding.logo_mime, branding.primary_color) == (mime, "#aa3300")
    served = admin_client.get(f"/p/{tenant.slug}/logo")
    assert served.data == data and served.mimetype == mime
    css = admin_client.get(f"/p/{tenant.slug}/brand.css").get_data(as_text=True)
    assert "--brand: #aa3300" in css


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "not a readable PNG or JPEG"),
        (image_bytes("GIF"), "use PNG or JPEG"),
        (image_bytes("PNG", size=(4100, 10)), "larger than 4000"),
    ],
)
def test_bad_logos_are_refused_and_the_old_branding_stays(tenant, admin_client, payload, message):
    response = admin_client.post(
        f"/t/{tenant.slug}/settings/branding",
        data={"primary_color": "#112233", "footer_text": "", "email_sender_name": "X",
              "logo": (io.BytesIO(payload), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert any(message in e for e in errors_in(response.get_data(as_text=True)))
    branding = _branding(tenant)
    assert branding.logo is None and branding.primary_color != "#112233"


def test_an_oversized_logo_is_refused(app, tenant, admin_client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGO_MAX_BYTES", 2048)
    response = admin_client.post(
        f"/t/{tenant.slug}/settings/branding",
        data={"primary_color": "#112233", "footer_text": "", "email_sender_name": "X",
              "logo": (io.BytesIO(image_bytes("PNG", size=(400, 400)) + b"\0" * 2000),
                       "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    [error] = errors_in(response.get_data(as_text=True))
    assert error.endswith("the limit is 2 KB.")
    assert _branding(tenant).logo is None


def test_a_bad_colour_is_named(tenant, admin_client):
    response = admin_client.post(
        f"/t/{tenant.slug}/settings/branding",
        data={"primary_color": "blue", "footer_text": "", "email_sender_name": "X"},
    )
    assert response.status_code == 422
    assert errors_in(response.get_data(as_text=True)) == ["Use a colour like #1f4e79."]


def test_the_portal_shows_the_tenant_in_its_own_branding(tenant, client):
    BankAccountFactory(tenant=tenant)
    page = client.get(f"/p/{tenant.slug}/").get_data(as_text=True)
    assert "Settings AS" in page and f"/p/{tenant.slug}/brand.css" in page
    assert client.get("/p/no-such-tenant/").status_code == 404


def test_a_tenant_without_branding_gets_one_row_however_often_a_request_asks(tenant, app):
    from saas.tenants import services

    with scoping.tenant_context(tenant.id):
        db.session.execute(Branding.__table__.delete())  # made before branding existed
        with app.test_request_context("/"):
            first = services.branding_of_current_tenant()
            second = services.branding_of_current_tenant()
            assert first is second
            assert db.session.scalar(select(func.count()).select_from(Branding)) == 1
