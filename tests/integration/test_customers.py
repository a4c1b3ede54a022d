"""The customer register: registering, finding, editing, contacts, sites, archiving."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from saas.billing.customers import services
from saas.billing.customers.models import Contact, Customer, Site
from saas.billing.customers.services import FIRST_CUSTOMER_NUMBER
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role
from tests.factories import (
    ContactFactory,
    CustomerCategoryFactory,
    CustomerFactory,
    PriceListFactory,
    SiteFactory,
    TenantFactory,
    member,
)
from tests.helpers import errors_in


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Register AS", country="NO")


@pytest.fixture()
def staff_client(tenant, make_client):
    return make_client(member(tenant, Role.STAFF))


def form_data(**overrides: object) -> dict[str, object]:
    data = {
        "name": "Fjellheim Borettslag", "org_number": "", "vat_id": "", "country": "NO",
        "address_line1": "Fjellveien 1", "address_line2": "", "postal_code": "5003",
        "city": "Bergen", "delivery_address_line1": "", "delivery_address_line2": "",
        "delivery_postal_code": "", "delivery_city": "", "delivery_country": "",
        "language": "nb", "currency": "NOK", "payment_terms_days": "14", "category_id": "",
        "price_list_id": "", "discount_percent": "0", "delivery_preference": "email",
        "region": "Vestland", "notes": "",
    }
    data.update(overrides)
    return data


def customers_of(tenant) -> list[Customer]:
    with scoping.tenant_context(tenant.id):
        return db.session.scalars(select(Customer).order_by(Customer.number)).all()


def test_registering_a_customer_takes_the_next_number_and_is_audited(tenant, staff_client):
    first = staff_client.post(f"/t/{tenant.slug}/customers/new", data=form_data())
    second = staff_client.post(f"/t/{tenant.slug}/customers/new",
                               data=form_data(name="Second AS"))
    assert first.status_code == second.status_code == 302
    numbers = [c.number for c in customers_of(tenant)]
    assert numbers == [FIRST_CUSTOMER_NUMBER, FIRST_CUSTOMER_NUMBER + 1]
    with scoping.tenant_context(tenant.id):
        actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions.count("customer.created") == 2


def test_number_series_are_per_tenant(tenant, staff_client, make_client):
    other = TenantFactory()
    CustomerFactory(tenant=other, number=50000)
    staff_client.post(f"/t/{tenant.slug}/customers/new", data=form_data())
    assert [c.number for c in customers_of(tenant)] == [FIRST_CUSTOMER_NUMBER]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"vat_id": "NO 974 760 674 MVA"}, "Not a valid NO VAT id"),
        ({"country": "PL", "vat_id": "PL123"}, "Not a valid PL VAT id"),
        ({"org_number": "123"}, "Not a valid NO organisation number"),
        ({"payment_terms_days": "400"}, "Use 0 to 365 days."),
        ({"discount_percent": "101"}, "Use 0 to 100 %."),
        ({"discount_percent": "1.234"}, "Use at most 2 decimals."),
        ({"currency": "XXX"}, "Not a valid choice"),
    ],
)
def test_invalid_customer_fields_are_named_and_nothing_is_saved(
    tenant, staff_client, overrides, message
):
    response = staff_client.post(f"/t/{tenant.slug}/customers/new", data=form_data(**overrides),
                                 headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert any(message in error for error in errors_in(response.get_data(as_text=True)))
    assert customers_of(tenant) == []


def test_a_price_list_or_category_of_another_tenant_cannot_be_chosen(tenant, staff_client):
    foreign_list_id = PriceListFactory(tenant=TenantFactory()).id
    foreign_category_id = CustomerCategoryFactory(tenant=TenantFactory()).id
    response = staff_client.post(
        f"/t/{tenant.slug}/customers/new",
        data=form_data(price_list_id=str(foreign_list_id), category_id=str(foreign_category_id)),
    )
    assert response.status_code == 422
    assert customers_of(tenant) == []


def test_a_valid_vat_id_is_stored_in_its_compact_prefixed_form(tenant, staff_client):
    staff_client.post(f"/t/{tenant.slug}/customers/new",
                      data=form_data(country="PL", vat_id="526-025-02-74", currency="PLN"))
    [customer] = customers_of(tenant)
    assert customer.vat_id == "PL5260250274"


def _search(client, tenant, **params) -> list[str]:
    response = client.get(f"/t/{tenant.slug}/customers/", query_string=params,
                          headers={"HX-Request": "true", "HX-Target": "customer-results"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    return re.findall(r'/customers/\d+">([^<]+)</a>', html)


def test_search_finds_by_name_number_ids_email_and_site(tenant, staff_client):
    from saas.billing.customers.services import refresh_search_text

    target = CustomerFactory(tenant=tenant, name="Havbris Hotell AS", number=20001,
                             vat_id="NO974760673MVA")
    CustomerFactory(tenant=tenant, name="Other Customer", number=20002)
    ContactFactory(tenant=tenant, customer=target, email="booking@havbris.example")
    SiteFactory(tenant=tenant, customer=target, code="HB-7", name="Annex Building")
    with scoping.tenant_context(tenant.id):
        refresh_search_text(db.session.get(Customer, target.id))
        db.session.commit()
    for query in ("havbris", "20001", "974760673", "booking@havbris", "hb-7", "annex build"):
        assert _search(staff_client, tenant, q=query) == ["Havbris Hotell AS"], query
    assert _search(staff_client, tenant, q="nothing-like-this") == []


def test_search_never_shows_another_tenants_customers(tenant, staff_client):
    CustomerFactory(tenant=TenantFactory(), name="Foreign Match AS")
    CustomerFactory(tenant=tenant, name="Local Match AS")
    assert _search(staff_client, tenant, q="match") == ["Local Match AS"]


def test_archived_customers_are_hidden_unless_asked_for(tenant, staff_client):
    CustomerFactory(tenant=tenant, name="Active AS")
    CustomerFactory(tenant=tenant, name="Gone AS", is_archived=True)
    assert _search(staff_client, tenant) == ["Active AS"]
    assert _search(staff_client, tenant, archived="1") == ["Active AS", "Gone AS"]


def test_filters_and_sorting(tenant, staff_client):
    category = CustomerCategoryFactory(tenant=tenant, name="Public sector")
    CustomerFactory(tenant=tenant, name="Bravo", number=30002, category=category, region="Øst")
    CustomerFactory(tenant=tenant, name="Alfa", number=30003, category=category)
    CustomerFactory(tenant=tenant, name="Charlie", number=30001)
    with scoping.tenant_context(tenant.id):
        category_id = category.id
    assert _search(staff_client, tenant, category=category_id) == ["Alfa", "Bravo"]
    assert _search(staff_client, tenant, region="Øst") == ["Bravo"]
    assert _search(staff_client, tenant, sort="-name") == ["Charlie", "Bravo", "Alfa"]
    assert _search(staff_client, tenant, sort="number") == ["Charlie", "Bravo", "Alfa"]


def test_the_list_is_paginated_on_the_server(tenant, staff_client):
    for n in range(30):
        CustomerFactory(tenant=tenant, name=f"Customer {n:02d}")
    first = _search(staff_client, tenant)
    second = _search(staff_client, tenant, page=2)
    assert len(first) == 25 and len(second) == 5
    assert first[0] == "Customer 00" and second[-1] == "Customer 29"


def test_editing_in_place_returns_the_details_panel(tenant, staff_client):
    customer = CustomerFactory(tenant=tenant, name="Before AS")
    url = f"/t/{tenant.slug}/customers/{customer.id}/edit"
    form = staff_client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert form.strip().startswith('<form id="customer-form"')
    response = staff_client.post(url, data=form_data(name="After AS", city="Tromsø"),
                                 headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.strip().startswith('<section class="panel" id="customer-details">')
    assert "Tromsø" in body
    assert customers_of(tenant)[0].name == "After AS"
    assert "after as" in customers_of(tenant)[0].search_text


def test_contacts_and_sites_are_added_and_removed_in_place(tenant, staff_client):
    customer = CustomerFactory(tenant=tenant)
    base = f"/t/{tenant.slug}/customers"
    htmx = {"HX-Request": "true"}
    added = staff_client.post(f"{base}/{customer.id}/contacts", headers=htmx,
                              data={"name": "Ola", "email": "OLA@Example.com",
                                    "receives_invoices": "y"})
    assert added.status_code == 200 and "ola@example.com" in added.get_data(as_text=True)
    site = staff_client.post(f"{base}/{customer.id}/sites", headers=htmx,
                             data={"code": "B-1", "name": "Bygg 1", "country": "",
                                   "active_from": "2026-01-01", "active_to": "2026-12-31"})
    assert site.status_code == 200
    with scoping.tenant_context(tenant.id):
        contact = db.session.scalar(select(Contact))
        site_row = db.session.scalar(select(Site))
        assert (contact.receives_invoices, site_row.code) == (True, "B-1")
        assert "b-1 bygg 1" in db.session.get(Customer, customer.id).search_text
    staff_client.post(f"{base}/contacts/{contact.id}/delete", headers=htmx)
    staff_client.post(f"{base}/sites/{site_row.id}/delete", headers=htmx)
    with scoping.tenant_context(tenant.id):
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
        assert db.session.scalar(select(func.count()).select_from(Site)) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "No Mail", "receives_invoices": "y"}, "give an e-mail address"),
        ({"name": "Bad", "email": "not-an-email"}, "Invalid email address"),
    ],
)
def test_contact_errors_are_shown_in_the_panel(tenant, staff_client, data, message):
    customer = CustomerFactory(tenant=tenant)
    response = staff_client.post(f"/t/{tenant.slug}/customers/{customer.id}/contacts",
                                 data=data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert any(message in e for e in errors_in(response.get_data(as_text=True)))


def test_site_codes_are_unique_in_the_tenant_and_dates_ordered(tenant, staff_client):
    first, second = CustomerFactory(tenant=tenant), CustomerFactory(tenant=tenant)
    second_id = second.id
    SiteFactory(tenant=tenant, customer=first, code="OBJ-1")
    htmx = {"HX-Request": "true"}
    taken = staff_client.post(f"/t/{tenant.slug}/customers/{second_id}/sites", headers=htmx,
                              data={"code": "OBJ-1", "name": "Copy", "country": ""})
    assert taken.status_code == 422 and "OBJ-1 is used by" in taken.get_data(as_text=True)
    backwards = staff_client.post(
        f"/t/{tenant.slug}/customers/{second_id}/sites", headers=htmx,
        data={"code": "OBJ-2", "name": "X", "country": "", "active_from": "2026-05-01",
              "active_to": "2026-04-01"},
    )
    assert "The end is before the start." in errors_in(backwards.get_data(as_text=True))


def test_a_site_code_saved_meanwhile_by_another_request_is_a_field_error(tenant, staff_client,
                                                                        monkeypatch):
    first = CustomerFactory(tenant=tenant, name="First AS")
    second_id = CustomerFactory(tenant=tenant).id
    SiteFactory(tenant=tenant, customer=first, code="OBJ-1", name="Main Gate")
    # The check passes, as for the second of two requests sending the code at once: it
    # looked before the first one committed; the unique constraint refuses the insert.
    monkeypatch.setattr(services, "_check_site_code_free", lambda code, site=None: None)
    response = staff_client.post(f"/t/{tenant.slug}/customers/{second_id}/sites",
                                 headers={"HX-Request": "true"},
                                 data={"code": "OBJ-1", "name": "Copy", "country": ""})
    assert response.status_code == 422
    assert "Site code OBJ-1 is used by Main Gate (First AS)." in errors_in(
        response.get_data(as_text=True))
    with scoping.tenant_context(tenant.id):
        assert db.session.scalars(select(Site.name)).all() == ["Main Gate"]


def test_archiving_and_restoring(tenant, staff_client):
    customer = CustomerFactory(tenant=tenant)
    staff_client.post(f"/t/{tenant.slug}/customers/{customer.id}/archive")
    assert customers_of(tenant)[0].is_archived
    staff_client.post(f"/t/{tenant.slug}/customers/{customer.id}/archive")
    assert not customers_of(tenant)[0].is_archived


def test_viewers_read_but_do_not_change(tenant, make_client):
    viewer = make_client(member(tenant, Role.VIEWER))
    customer = CustomerFactory(tenant=tenant, name="Read Only AS")
    page = viewer.get(f"/t/{tenant.slug}/customers/{customer.id}").get_data(as_text=True)
    assert "Read Only AS" in page and "Add a contact" not in page
    assert viewer.post(f"/t/{tenant.slug}/customers/new", data=form_data()).status_code == 403
    assert viewer.post(f"/t/{tenant.slug}/customers/{customer.id}/archive").status_code == 403


def test_the_customer_page_gathers_contacts_sites_and_terms(tenant, staff_client):
    price_list = PriceListFactory(tenant=tenant, name="Partners 2026")
    customer = CustomerFactory(tenant=tenant, name="Gathered AS", price_list=price_list,
                               payment_terms_days=30)
    customer_id = customer.id
    ContactFactory(tenant=tenant, customer=customer, name="Kari Kontakt")
    SiteFactory(tenant=tenant, customer=customer, name="Lager Nord")
    page = staff_client.get(f"/t/{tenant.slug}/customers/{customer_id}").get_data(as_text=True)
    for text in ("Gathered AS", "Kari Kontakt", "Lager Nord", "Partners 2026", "30 days"):
        assert text in page


@pytest.mark.parametrize(
    ("field", "value"), [("discount_percent", "150"), ("payment_terms_days", -1)]
)
def test_the_database_refuses_out_of_range_terms(tenant, field, value):
    from decimal import Decimal

    from sqlalchemy.exc import IntegrityError

    customer = CustomerFactory(tenant=tenant)
    with scoping.tenant_context(tenant.id):
        db.session.refresh(customer)
        setattr(customer, field, Decimal(value) if isinstance(value, str) else value)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_the_price_check_shows_the_price_and_the_rule_that_decided_it(tenant, staff_client):
    from decimal import Decimal

    from tests.factories import PriceListItemFactory, ProductFactory

    product = ProductFactory(tenant=tenant, name="Guard hour", base_price=Decimal("100"),
                             quantity_increment=Decimal("1"))
    item = PriceListItemFactory(tenant=tenant, product=product, price=Decimal("90"))
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, price_list=item.price_list,
                                   discount_percent=Decimal("10"))
        customer_id, product_id = customer.id, product.id
    response = staff_client.get(
        f"/t/{tenant.slug}/customers/{customer_id}/price",
        query_string={"product_id": product_id, "quantity": "2.2", "on": "2026-11-22"},
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.strip().startswith('<section class="panel" id="price-check">')
    assert "81.0000 NOK" in body  # 90 on the list, 10 % customer discount
    assert "243.00 NOK" in body  # 2.2 h billed as 3 started hours
    assert "Price list" in body and "customer discount 10" in body


def test_the_price_check_names_a_missing_exchange_rate(tenant, staff_client):
    from tests.factories import ProductFactory

    product = ProductFactory(tenant=tenant, currency="EUR")
    product_id = product.id
    customer_id = CustomerFactory(tenant=tenant, currency="NOK").id
    response = staff_client.get(
        f"/t/{tenant.slug}/customers/{customer_id}/price",
        query_string={"product_id": product_id, "quantity": "1", "on": "2026-11-22"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "EUR" in response.get_data(as_text=True) and "NOK" in response.get_data(as_text=True)


def test_a_contact_is_edited_in_its_row(tenant, staff_client):
    contact = ContactFactory(tenant=tenant, name="Old Name", email="old@example.com")
    contact_id = contact.id
    url = f"/t/{tenant.slug}/customers/contacts/{contact_id}/edit"
    htmx = {"HX-Request": "true"}
    form = staff_client.get(url, headers=htmx).get_data(as_text=True)
    assert 'value="Old Name"' in form and "Save contact" in form
    full_page = staff_client.get(url).get_data(as_text=True)  # works without htmx too
    assert "<html" in full_page and "Save contact" in full_page
    refused = staff_client.post(url, headers=htmx, data={"name": "", "email": "x"})
    assert refused.status_code == 422 and "Save contact" in refused.get_data(as_text=True)
    saved = staff_client.post(url, headers=htmx,
                              data={"name": "New Name", "email": "NEW@example.com"})
    body = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "New Name" in body and "Save contact" not in body
    with scoping.tenant_context(tenant.id):
        customer = db.session.get(Contact, contact_id).customer
        assert "new@example.com" in customer.search_text


def test_a_search_sorts_pages_and_hides_archived_from_the_words_index(tenant, staff_client):
    for name in ("Nordlys Delta AS", "Nordlys Alfa AS", "Nordlys Charlie AS", "Sør Bravo AS"):
        CustomerFactory(tenant=tenant, name=name)
    gone = CustomerFactory(tenant=tenant, name="Nordlys Bravo AS")
    assert _search(staff_client, tenant, q="nordlys") == [
        "Nordlys Alfa AS", "Nordlys Bravo AS", "Nordlys Charlie AS", "Nordlys Delta AS"]
    assert _search(staff_client, tenant, q="nordlys", sort="-name")[0] == "Nordlys Delta AS"
    # Archiving and renaming reach the words' copies of the flag and the name.
    staff_client.post(f"/t/{tenant.slug}/customers/{gone.id}/archive")
    assert "Nordlys Bravo AS" not in _search(staff_client, tenant, q="nordlys")
    assert "Nordlys Bravo AS" in _search(staff_client, tenant, q="nordlys", archived="1")
    staff_client.post(f"/t/{tenant.slug}/customers/{gone.id}/archive")  # restored
    with scoping.tenant_context(tenant.id):

        services.update_customer(db.session.get(Customer, gone.id), {"name": "Nordlys Aaa AS"})
        db.session.commit()
    assert _search(staff_client, tenant, q="nordlys a")[0] == "Nordlys Aaa AS"
    page = staff_client.get(f"/t/{tenant.slug}/customers/", query_string={"q": "nordlys"},
                            headers={"HX-Request": "true", "HX-Target": "customer-results"})
    assert "4 in all" in page.get_data(as_text=True)


def test_a_name_sorted_search_is_answered_from_the_words_index(tenant, staff_client,
                                                               monkeypatch):
    CustomerFactory(tenant=tenant, name="Indexed Alfa AS")
    calls = []
    real = services.search_page
    monkeypatch.setattr(services, "search_page",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    assert _search(staff_client, tenant, q="indexed") == ["Indexed Alfa AS"]
    assert _search(staff_client, tenant, q="indexed", sort="number") == ["Indexed Alfa AS"]
    assert len(calls) == 2
    with scoping.tenant_context(tenant.id):
        assert real("indexed", 1, 25).total == 1 and real("x", 1, 25, sort="city") is None
