"""The catalog: products, VAT rates, categories, price lists, price rules, exchange rates."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from saas.billing.catalog import services
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
from saas.billing.customers.models import CustomerCategory
from saas.extensions import db
from saas.integrity import violated_unique_constraint
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role, Tenant
from tests.factories import (
    CategoryDiscountFactory,
    CustomerCategoryFactory,
    CustomerFactory,
    CustomerPriceFactory,
    ExchangeRateFactory,
    PriceListFactory,
    PriceListItemFactory,
    ProductCategoryFactory,
    ProductFactory,
    TenantFactory,
    VatRateFactory,
    member,
)
from tests.helpers import errors_in

HTMX = {"HX-Request": "true"}


@pytest.fixture()
def tenant(db_session) -> Tenant:
    return TenantFactory(name="Catalog AS", country="NO", currency="NOK")


@pytest.fixture()
def staff_client(tenant, make_client) -> FlaskClient:
    return make_client(member(tenant, Role.STAFF))


@pytest.fixture()
def accountant_client(tenant, make_client) -> FlaskClient:
    return make_client(member(tenant, Role.ACCOUNTANT))


@pytest.fixture()
def vat_id(tenant) -> int:
    return VatRateFactory(tenant=tenant, code="S25", rate=Decimal("25.00")).id


def rows(tenant: Tenant, model: type[Any]) -> list[Any]:
    with scoping.tenant_context(tenant.id):
        return list(db.session.scalars(select(model).order_by(model.id)))


def count(tenant: Tenant, model: type[Any]) -> int:
    with scoping.tenant_context(tenant.id):
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def audit_actions(tenant: Tenant) -> list[str]:
    with scoping.tenant_context(tenant.id):
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def assert_refused(response: Any, message: str) -> None:
    """Check for a 422 fragment (no whole page) that names the problem as a field error."""
    body = response.get_data(as_text=True)
    assert response.status_code == 422, body[:500]
    assert "<html" not in body
    assert any(message in error for error in errors_in(body)), errors_in(body)


# --- products ------------------------------------------------------------------------------


def product_data(vat_id: int, **overrides: object) -> dict[str, object]:
    data = {
        "sku": "GUARD-H", "name": "Guarding, per hour", "description": "", "unit": "h",
        "category_id": "", "vat_rate_id": str(vat_id), "base_price": "450.50",
        "currency": "NOK", "cost_price": "", "quantity_increment": "",
        "minimum_quantity": "",
    }
    data.update(overrides)
    return data


def test_a_product_is_created_with_exact_amounts_and_audited(tenant, staff_client, vat_id):
    category_id = ProductCategoryFactory(tenant=tenant, name="Guarding").id
    response = staff_client.post(f"/t/{tenant.slug}/products/new", data=product_data(
        vat_id, category_id=str(category_id), cost_price="310.1234",
        quantity_increment="0.25", minimum_quantity="2",
    ))
    assert response.status_code == 302
    [product] = rows(tenant, Product)
    assert (product.sku, product.category_id, product.vat_rate_id) == ("GUARD-H", category_id,
                                                                       vat_id)
    assert (product.base_price, product.cost_price) == (Decimal("450.5"), Decimal("310.1234"))
    assert (product.quantity_increment, product.minimum_quantity) == (Decimal("0.25"),
                                                                      Decimal("2"))
    assert audit_actions(tenant) == ["product.created"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sku": "TAKEN-1"}, "The SKU TAKEN-1 is used by another product."),
        ({"sku": ""}, "This field is required."),
        ({"name": ""}, "This field is required."),
        ({"base_price": ""}, "This field is required."),
        ({"base_price": "-1"}, "A price cannot be negative."),
        ({"base_price": "1.23456"}, "Use at most 4 decimals."),
        ({"base_price": "1,5"}, "Use a dot for decimals"),
        ({"base_price": "abc"}, "Not a number."),
        ({"base_price": "1e3"}, "Not a number."),
        ({"cost_price": "-0.01"}, "A price cannot be negative."),
        ({"cost_price": "0.00001"}, "Use at most 4 decimals."),
        ({"quantity_increment": "0"}, "Use an increment above 0"),
        ({"minimum_quantity": "-2"}, "Use a minimum above 0"),
        ({"vat_rate_id": ""}, "Choose a VAT rate."),
        ({"currency": "XXX"}, "Not a valid choice."),
    ],
)
def test_invalid_products_are_refused_field_by_field(tenant, staff_client, vat_id,
                                                     overrides, message):
    ProductFactory(tenant=tenant, sku="TAKEN-1")
    response = staff_client.post(f"/t/{tenant.slug}/products/new",
                                 data=product_data(vat_id, **overrides), headers=HTMX)
    assert_refused(response, message)
    assert [p.sku for p in rows(tenant, Product)] == ["TAKEN-1"]
    assert audit_actions(tenant) == []


def test_a_vat_rate_of_another_tenant_or_archived_cannot_be_chosen(tenant, staff_client):
    foreign_id = VatRateFactory(tenant=TenantFactory()).id
    archived_id = VatRateFactory(tenant=tenant, is_archived=True).id
    for vat_rate_id in (foreign_id, archived_id):
        response = staff_client.post(f"/t/{tenant.slug}/products/new",
                                     data=product_data(vat_rate_id), headers=HTMX)
        assert_refused(response, "Not a valid choice.")
    assert rows(tenant, Product) == []


def test_the_product_form_re_renders_only_itself_for_htmx(tenant, staff_client, vat_id):
    response = staff_client.post(f"/t/{tenant.slug}/products/new",
                                 data=product_data(vat_id, base_price="-5"), headers=HTMX)
    body = response.get_data(as_text=True)
    assert body.strip().startswith('<form id="product-form"')
    assert 'value="-5"' in body  # what was typed stays in the box


def test_without_htmx_the_whole_page_comes_back_with_the_errors(tenant, staff_client, vat_id):
    response = staff_client.post(f"/t/{tenant.slug}/products/new",
                                 data=product_data(vat_id, base_price="-5"))
    assert response.status_code == 422
    assert "<html" in response.get_data(as_text=True)


def test_editing_a_product_audits_old_and_new_price(tenant, staff_client, vat_id):
    product_id = ProductFactory(tenant=tenant, sku="EDIT-1", base_price=Decimal("100")).id
    response = staff_client.post(f"/t/{tenant.slug}/products/{product_id}/edit",
                                 data=product_data(vat_id, sku="EDIT-1", base_price="120"))
    assert response.status_code == 302
    assert rows(tenant, Product)[0].base_price == Decimal("120")
    with scoping.tenant_context(tenant.id):
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action ==
                                                           "product.updated"))
        assert entry.details["base_price"] == ["100", "120"]


def test_the_edit_form_shows_amounts_without_needless_zeros(tenant, staff_client):
    product_id = ProductFactory(tenant=tenant, base_price=Decimal("100"),
                                quantity_increment=Decimal("0.25")).id
    body = staff_client.get(f"/t/{tenant.slug}/products/{product_id}/edit").get_data(
        as_text=True)
    assert 'value="100.00"' in body and 'value="0.25"' in body


def test_the_product_page_shows_money_with_two_or_four_decimals(tenant, staff_client):
    product_id = ProductFactory(tenant=tenant, base_price=Decimal("1234.5"),
                                cost_price=Decimal("12.3456"), currency="EUR").id
    body = staff_client.get(f"/t/{tenant.slug}/products/{product_id}").get_data(as_text=True)
    assert "1,234.50 EUR" in body and "12.3456 EUR" in body


def test_archiving_hides_a_product_and_unarchiving_brings_it_back(tenant, staff_client):
    product_id = ProductFactory(tenant=tenant, name="Old service").id
    base = f"/t/{tenant.slug}/products/{product_id}"
    assert staff_client.post(f"{base}/archive").status_code == 302
    assert rows(tenant, Product)[0].is_archived
    assert search(staff_client, tenant) == []
    assert search(staff_client, tenant, archived="1") == ["Old service"]
    staff_client.post(f"{base}/unarchive")
    assert not rows(tenant, Product)[0].is_archived
    assert audit_actions(tenant) == ["product.archived", "product.unarchived"]


def search(client: FlaskClient, tenant: Tenant, **params: object) -> list[str]:
    """Return the product names in the list's results, asked for as htmx does."""
    response = client.get(f"/t/{tenant.slug}/products", query_string=params,
                          headers={**HTMX, "HX-Target": "product-results"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and body.strip().startswith('<section class="panel"')
    return re.findall(r'/products/\d+">([^<]+)</a>', body)


def test_search_finds_products_by_name_or_sku(tenant, staff_client):
    ProductFactory(tenant=tenant, sku="GRD-100", name="Night guarding")
    ProductFactory(tenant=tenant, sku="KEY-7", name="Key holding")
    ProductFactory(tenant=TenantFactory(), sku="GRD-999", name="Foreign guarding")
    assert search(staff_client, tenant, q="guard") == ["Night guarding"]
    assert search(staff_client, tenant, q="key-7") == ["Key holding"]
    assert search(staff_client, tenant, q="night grd") == ["Night guarding"]
    assert search(staff_client, tenant, q="100%") == []


def test_products_are_filtered_by_category_and_sorted(tenant, staff_client):
    parts = ProductCategoryFactory(tenant=tenant, name="Parts")
    parts_id = parts.id
    ProductFactory(tenant=tenant, sku="C-1", name="Bolt", base_price=Decimal("5"),
                   category=parts)
    ProductFactory(tenant=tenant, sku="A-1", name="Cable", base_price=Decimal("50"),
                   category=parts)
    ProductFactory(tenant=tenant, sku="B-1", name="Audit", base_price=Decimal("500"))
    assert search(staff_client, tenant, category=parts_id) == ["Bolt", "Cable"]
    assert search(staff_client, tenant) == ["Audit", "Bolt", "Cable"]
    assert search(staff_client, tenant, sort="-name") == ["Cable", "Bolt", "Audit"]
    assert search(staff_client, tenant, sort="sku") == ["Cable", "Audit", "Bolt"]
    assert search(staff_client, tenant, sort="-price") == ["Audit", "Cable", "Bolt"]
    assert search(staff_client, tenant, sort="price", category=parts_id) == ["Bolt", "Cable"]


def test_the_product_list_is_paginated_on_the_server(tenant, staff_client):
    for n in range(30):
        ProductFactory(tenant=tenant, name=f"Product {n:02d}")
    first, second = search(staff_client, tenant), search(staff_client, tenant, page=2)
    assert (len(first), len(second)) == (25, 5)
    assert (first[0], second[-1]) == ("Product 00", "Product 29")


def test_the_whole_list_page_has_the_filters_and_tabs(tenant, make_client):
    viewer = make_client(member(tenant, Role.VIEWER))
    ProductCategoryFactory(tenant=tenant, name="Spare parts")
    body = viewer.get(f"/t/{tenant.slug}/products").get_data(as_text=True)
    assert "<html" in body and "Spare parts" in body and 'aria-label="Catalog"' in body
    assert "New product" not in body  # a viewer is not offered changes


# --- VAT rates -----------------------------------------------------------------------------


def vat_data(**overrides: object) -> dict[str, object]:
    data = {"code": "R15", "name": "Food", "rate": "15", "category": "reduced", "note": ""}
    data.update(overrides)
    return data


def test_a_vat_rate_is_added_and_audited(tenant, accountant_client):
    response = accountant_client.post(f"/t/{tenant.slug}/vat-rates/new", data=vat_data())
    assert response.status_code == 302
    [rate] = rows(tenant, VatRate)
    assert (rate.code, rate.rate, rate.category) == ("R15", Decimal("15"), VatCategory.REDUCED)
    assert audit_actions(tenant) == ["vat_rate.created"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "S25"}, "The code S25 is used by another VAT rate."),
        ({"code": "s25"}, "is used by another VAT rate."),
        ({"rate": "101"}, "Use 0 to 100 %."),
        ({"rate": "-1"}, "Use 0 to 100 %."),
        ({"rate": "12.345"}, "Use at most 2 decimals."),
        ({"category": "exempt", "rate": "0"}, "Give the legal basis"),
        ({"category": "reverse_charge", "rate": "0"}, "Give the legal basis"),
        ({"category": "zero", "rate": "25"}, "A zero rate is 0 %."),
        ({"category": "luxury"}, "Not a valid choice."),
    ],
)
def test_invalid_vat_rates_are_refused(tenant, accountant_client, vat_id, overrides, message):
    response = accountant_client.post(f"/t/{tenant.slug}/vat-rates/new",
                                      data=vat_data(**overrides), headers=HTMX)
    assert_refused(response, message)
    assert [r.code for r in rows(tenant, VatRate)] == ["S25"]


def test_a_reverse_charge_rate_with_its_note_is_accepted(tenant, accountant_client):
    note = "Reverse charge, Article 196 Directive 2006/112/EC"
    accountant_client.post(f"/t/{tenant.slug}/vat-rates/new",
                           data=vat_data(code="AE", category="reverse_charge", rate="0",
                                         note=note))
    [rate] = rows(tenant, VatRate)
    assert (rate.category, rate.note) == (VatCategory.REVERSE_CHARGE, note)


def test_a_vat_rate_is_edited_and_archived(tenant, accountant_client, vat_id):
    base = f"/t/{tenant.slug}/vat-rates/{vat_id}"
    edit = accountant_client.post(f"{base}/edit",
                                  data=vat_data(code="S25", name="Standard", rate="25",
                                                category="standard"))
    assert edit.status_code == 302
    accountant_client.post(f"{base}/archive")
    [rate] = rows(tenant, VatRate)
    assert (rate.name, rate.is_archived) == ("Standard", True)
    assert audit_actions(tenant) == ["vat_rate.updated", "vat_rate.archived"]


def test_the_vat_edit_form_comes_back_alone_with_its_errors(tenant, accountant_client,
                                                            vat_id):
    response = accountant_client.post(f"/t/{tenant.slug}/vat-rates/{vat_id}/edit",
                                      data=vat_data(code="S25", rate="250"), headers=HTMX)
    assert_refused(response, "Use 0 to 100 %.")
    assert response.get_data(as_text=True).strip().startswith('<form id="vat-rate-form"')


def test_staff_may_not_change_the_vat_table(tenant, staff_client, vat_id):
    assert staff_client.get(f"/t/{tenant.slug}/vat-rates").status_code == 200
    assert staff_client.post(f"/t/{tenant.slug}/vat-rates/new",
                             data=vat_data()).status_code == 403
    assert staff_client.post(f"/t/{tenant.slug}/vat-rates/{vat_id}/archive").status_code == 403


# --- categories ----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "model"),
                         [("product", ProductCategory), ("customer", CustomerCategory)])
def test_categories_are_added_with_unique_names(tenant, staff_client, kind, model):
    url = f"/t/{tenant.slug}/categories/{kind}s"
    added = staff_client.post(url, data={f"{kind}-name": "Partners"}, headers=HTMX)
    assert added.status_code == 200
    assert f'id="{kind}-categories"' in added.get_data(as_text=True)
    again = staff_client.post(url, data={f"{kind}-name": "partners"}, headers=HTMX)
    assert_refused(again, "There is a category named partners already.")
    empty = staff_client.post(url, data={f"{kind}-name": ""}, headers=HTMX)
    assert_refused(empty, "This field is required.")
    assert [c.name for c in rows(tenant, model)] == ["Partners"]
    assert audit_actions(tenant) == [f"{kind}_category.created"]


def test_a_category_is_renamed_in_its_row(tenant, staff_client):
    category_id = ProductCategoryFactory(tenant=tenant, name="Guards").id
    ProductCategoryFactory(tenant=tenant, name="Parts")
    url = f"/t/{tenant.slug}/categories/products/{category_id}/rename"
    form = staff_client.get(url, headers=HTMX).get_data(as_text=True)
    assert form.strip().startswith("<tr") and 'value="Guards"' in form
    taken = staff_client.post(url, data={"name": "Parts"}, headers=HTMX)
    assert_refused(taken, "There is a category named Parts already.")
    renamed = staff_client.post(url, data={"name": "Guarding"}, headers=HTMX)
    assert renamed.status_code == 200 and "Guarding" in renamed.get_data(as_text=True)
    assert [c.name for c in rows(tenant, ProductCategory)] == ["Guarding", "Parts"]


def test_deleting_a_category_unsets_it_and_drops_its_discounts(tenant, staff_client):
    category = ProductCategoryFactory(tenant=tenant, name="Going")
    category_id = category.id
    ProductFactory(tenant=tenant, category=category)
    CategoryDiscountFactory(tenant=tenant, product_category=category)
    response = staff_client.post(f"/t/{tenant.slug}/categories/products/{category_id}/delete",
                                 headers=HTMX)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "")
    assert rows(tenant, ProductCategory) == []
    assert rows(tenant, Product)[0].category_id is None
    assert rows(tenant, CategoryDiscount) == []
    assert "product_category.deleted" in audit_actions(tenant)


# --- price lists ---------------------------------------------------------------------------


def price_list_data(**overrides: object) -> dict[str, object]:
    data = {"name": "Partners 2026", "currency": "EUR", "valid_from": "2026-01-01",
            "valid_to": "2026-12-31", "custom_rate": "", "custom_rate_currency": ""}
    data.update(overrides)
    return data


def test_a_price_list_is_created_with_a_custom_rate(tenant, staff_client):
    response = staff_client.post(f"/t/{tenant.slug}/price-lists/new", data=price_list_data(
        custom_rate="11.45678901", custom_rate_currency="NOK"))
    [price_list] = rows(tenant, PriceList)
    assert response.headers["Location"].endswith(f"/price-lists/{price_list.id}")
    assert (price_list.custom_rate, price_list.custom_rate_currency) == (
        Decimal("11.45678901"), "NOK")
    assert price_list.valid_to == date(2026, 12, 31)
    assert audit_actions(tenant) == ["price_list.created"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"valid_to": "2025-12-31"}, "The end is before the start."),
        ({"custom_rate": "11.5"}, "Choose the currency the custom rate converts to."),
        ({"custom_rate_currency": "NOK"}, "Give the custom rate"),
        ({"custom_rate": "0", "custom_rate_currency": "NOK"}, "The rate must be above 0."),
        ({"custom_rate": "-2", "custom_rate_currency": "NOK"}, "The rate must be above 0."),
        ({"custom_rate": "1.123456789", "custom_rate_currency": "NOK"},
         "Use at most 8 decimals."),
        ({"custom_rate": "2", "custom_rate_currency": "EUR"}, "Choose a currency other"),
        ({"name": "Existing"}, "There is a price list named Existing already."),
        ({"valid_from": "31.12.2026"}, "Not a valid date value."),
    ],
)
def test_invalid_price_lists_are_refused(tenant, staff_client, overrides, message):
    PriceListFactory(tenant=tenant, name="Existing")
    response = staff_client.post(f"/t/{tenant.slug}/price-lists/new",
                                 data=price_list_data(**overrides), headers=HTMX)
    assert_refused(response, message)
    assert [p.name for p in rows(tenant, PriceList)] == ["Existing"]


def test_a_price_list_is_edited(tenant, staff_client):
    price_list_id = PriceListFactory(tenant=tenant, name="Before").id
    response = staff_client.post(f"/t/{tenant.slug}/price-lists/{price_list_id}/edit",
                                 data=price_list_data(name="After", valid_to=""))
    assert response.status_code == 302
    [price_list] = rows(tenant, PriceList)
    assert (price_list.name, price_list.valid_to) == ("After", None)


def test_prices_are_added_to_a_list_once_per_product(tenant, staff_client):
    price_list_id = PriceListFactory(tenant=tenant, name="Partners", currency="EUR").id
    product_id = ProductFactory(tenant=tenant, sku="P-1", name="Patrol").id
    url = f"/t/{tenant.slug}/price-lists/{price_list_id}/items"
    added = staff_client.post(url, data={"new-product_id": product_id, "new-price": "42.5"},
                              headers=HTMX)
    body = added.get_data(as_text=True)
    assert added.status_code == 200 and "<html" not in body
    assert 'id="price-list-items"' in body and "42.50 EUR" in body
    twice = staff_client.post(url, data={"new-product_id": product_id, "new-price": "40"},
                              headers=HTMX)
    assert_refused(twice, "P-1 is on this list already")
    negative = staff_client.post(url, data={"new-product_id": product_id, "new-price": "-1"},
                                 headers=HTMX)
    assert_refused(negative, "A price cannot be negative.")
    assert [i.price for i in rows(tenant, PriceListItem)] == [Decimal("42.5")]
    assert audit_actions(tenant) == ["price_list.item_added"]


def test_a_price_is_edited_and_removed_in_its_row(tenant, staff_client):
    price_list = PriceListFactory(tenant=tenant)
    item = PriceListItemFactory(tenant=tenant, price_list=price_list, price=Decimal("90"))
    item_id, product_id = item.id, item.product_id
    other_id = PriceListItemFactory(tenant=tenant, price_list=price_list).product_id
    base = f"/t/{tenant.slug}/price-list-items/{item_id}"
    form = staff_client.get(f"{base}/edit", headers=HTMX).get_data(as_text=True)
    assert form.strip().startswith("<tr") and 'value="90.00"' in form
    clash = staff_client.post(f"{base}/edit", headers=HTMX, data={
        f"item-{item_id}-product_id": other_id, f"item-{item_id}-price": "80"})
    assert_refused(clash, "is on this list already")
    saved = staff_client.post(f"{base}/edit", headers=HTMX, data={
        f"item-{item_id}-product_id": product_id, f"item-{item_id}-price": "85.125"})
    assert saved.status_code == 200 and "85.125" in saved.get_data(as_text=True)
    assert saved.get_data(as_text=True).strip().startswith("<tr")
    removed = staff_client.post(f"{base}/remove", headers=HTMX)
    assert (removed.status_code, removed.get_data(as_text=True)) == (200, "")
    assert [i.product_id for i in rows(tenant, PriceListItem)] == [other_id]
    assert audit_actions(tenant) == ["price_list.item_changed", "price_list.item_removed"]


# --- price rules ---------------------------------------------------------------------------


def customer_price_data(customer: int, product: int, **overrides: object) -> dict:
    data = {"customer_id": customer, "product_id": product, "price": "77.7",
            "currency": "NOK", "valid_from": "2026-01-01", "valid_to": "2026-06-30"}
    data.update(overrides)
    return data


def test_a_customer_price_is_agreed_and_audited(tenant, staff_client):
    customer_id = CustomerFactory(tenant=tenant).id
    product_id = ProductFactory(tenant=tenant).id
    response = staff_client.post(f"/t/{tenant.slug}/price-rules/customer-prices",
                                 data=customer_price_data(customer_id, product_id))
    assert response.status_code == 302
    [price] = rows(tenant, CustomerPrice)
    assert (price.customer_id, price.price, price.valid_to) == (
        customer_id, Decimal("77.7"), date(2026, 6, 30))
    assert audit_actions(tenant) == ["customer_price.created"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"valid_to": "2025-01-01"}, "The end is before the start."),
        ({"valid_from": "2026-12-01", "valid_to": ""}, "in that period already"),
        ({"valid_from": "", "valid_to": ""}, "in that period already"),
        ({"price": "-3"}, "A price cannot be negative."),
        ({"price": "3.00001"}, "Use at most 4 decimals."),
        ({"customer_id": ""}, "Choose a customer."),
        ({"product_id": ""}, "Choose a product."),
    ],
)
def test_invalid_customer_prices_are_refused(tenant, staff_client, overrides, message):
    existing = CustomerPriceFactory(tenant=tenant, valid_from=date(2026, 7, 1), valid_to=None)
    ids = (existing.customer_id, existing.product_id)
    response = staff_client.post(f"/t/{tenant.slug}/price-rules/customer-prices",
                                 data=customer_price_data(*ids, **overrides), headers=HTMX)
    assert_refused(response, message)
    assert count(tenant, CustomerPrice) == 1


def test_a_customer_of_another_tenant_cannot_get_a_price(tenant, staff_client):
    foreign_id = CustomerFactory(tenant=TenantFactory()).id
    product_id = ProductFactory(tenant=tenant).id
    response = staff_client.post(f"/t/{tenant.slug}/price-rules/customer-prices",
                                 data=customer_price_data(foreign_id, product_id),
                                 headers=HTMX)
    assert_refused(response, "Not a valid choice.")


def test_a_customer_price_is_edited_without_clashing_with_itself(tenant, staff_client):
    price = CustomerPriceFactory(tenant=tenant, valid_from=date(2026, 1, 1))
    price_id, customer_id, product_id = price.id, price.customer_id, price.product_id
    response = staff_client.post(
        f"/t/{tenant.slug}/price-rules/customer-prices/{price_id}/edit",
        data=customer_price_data(customer_id, product_id, price="70"),
    )
    assert response.status_code == 302
    assert rows(tenant, CustomerPrice)[0].price == Decimal("70")
    assert audit_actions(tenant) == ["customer_price.updated"]


def test_category_discounts_are_unique_per_pair(tenant, staff_client):
    customers = CustomerCategoryFactory(tenant=tenant, name="Public").id
    products = ProductCategoryFactory(tenant=tenant, name="Guarding").id
    url = f"/t/{tenant.slug}/price-rules/category-discounts"
    data = {"customer_category_id": customers, "product_category_id": products}
    assert staff_client.post(url, data={**data, "percent": "12.5"}).status_code == 302
    assert_refused(staff_client.post(url, data={**data, "percent": "10"}, headers=HTMX),
                   "Public has 12.5 % on Guarding already")
    assert_refused(staff_client.post(url, data={**data, "percent": "101"}, headers=HTMX),
                   "Use 0 to 100 %.")
    assert [d.percent for d in rows(tenant, CategoryDiscount)] == [Decimal("12.5")]
    assert audit_actions(tenant) == ["category_discount.created"]


def test_the_price_rules_page_lists_prices_and_discounts(tenant, make_client):
    viewer = make_client(member(tenant, Role.VIEWER))
    CustomerPriceFactory(tenant=tenant, customer=CustomerFactory(tenant=tenant, name="Havbris"),
                         price=Decimal("80.125"))
    CategoryDiscountFactory(tenant=tenant, percent=Decimal("7.5"))
    body = viewer.get(f"/t/{tenant.slug}/price-rules").get_data(as_text=True)
    assert "Havbris" in body and "80.125 NOK" in body and "7.5 %" in body
    assert "Add a customer price" not in body


# --- exchange rates ------------------------------------------------------------------------


def rate_data(**overrides: object) -> dict[str, object]:
    data = {"base_currency": "EUR", "quote_currency": "NOK", "valid_on": "2026-03-02",
            "rate": "11.52345678"}
    data.update(overrides)
    return data


def test_an_exchange_rate_is_recorded_and_audited(tenant, accountant_client):
    response = accountant_client.post(f"/t/{tenant.slug}/exchange-rates/new",
                                      data=rate_data())
    assert response.status_code == 302
    [rate] = rows(tenant, ExchangeRate)
    assert (rate.valid_on, rate.rate) == (date(2026, 3, 2), Decimal("11.52345678"))
    assert audit_actions(tenant) == ["exchange_rate.created"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quote_currency": "EUR"}, "Choose two different currencies."),
        ({"rate": "0"}, "The rate must be above 0."),
        ({"rate": "-1"}, "The rate must be above 0."),
        ({"rate": "1.000000001"}, "Use at most 8 decimals."),
        ({"valid_on": "2026-01-01"}, "EUR/NOK has a rate on 2026-01-01 already"),
        ({"valid_on": ""}, "This field is required."),
    ],
)
def test_invalid_exchange_rates_are_refused(tenant, accountant_client, overrides, message):
    ExchangeRateFactory(tenant=tenant, valid_on=date(2026, 1, 1))
    response = accountant_client.post(f"/t/{tenant.slug}/exchange-rates/new",
                                      data=rate_data(**overrides), headers=HTMX)
    assert_refused(response, message)
    assert count(tenant, ExchangeRate) == 1


def test_exchange_rates_are_listed_newest_first_in_pages(tenant, accountant_client):
    for n in range(30):
        ExchangeRateFactory(tenant=tenant, valid_on=date(2026, 1, 1) + timedelta(days=n))
    url = f"/t/{tenant.slug}/exchange-rates"
    headers = {**HTMX, "HX-Target": "exchange-rate-results"}
    first = accountant_client.get(url, headers=headers).get_data(as_text=True)
    second = accountant_client.get(url, query_string={"page": 2},
                                   headers=headers).get_data(as_text=True)
    days = re.findall(r'<time datetime="([\d-]+)"', first)
    assert "<html" not in first
    assert (len(days), days[0], days[-1]) == (25, "2026-01-30", "2026-01-06")
    assert re.findall(r'<time datetime="([\d-]+)"', second)[-1] == "2026-01-01"


def test_an_exchange_rate_is_deleted(tenant, accountant_client):
    rate_id = ExchangeRateFactory(tenant=tenant).id
    response = accountant_client.post(f"/t/{tenant.slug}/exchange-rates/{rate_id}/delete",
                                      headers=HTMX)
    assert response.status_code == 200
    assert rows(tenant, ExchangeRate) == []
    assert audit_actions(tenant) == ["exchange_rate.deleted"]


# --- a name saved by another request at the same instant ----------------------------------


@pytest.fixture()
def racing(monkeypatch):
    """Let the services' "name taken?" check pass, as it does for the second of two requests
    that send the same name at once: it looked before the first one committed."""
    monkeypatch.setattr(services, "_name_taken", lambda *args: False)


TAKEN = {
    Product: lambda tenant: ProductFactory(tenant=tenant, sku="TAKEN-1"),
    VatRate: lambda tenant: VatRateFactory(tenant=tenant, code="TAKEN-1"),
    ProductCategory: lambda tenant: ProductCategoryFactory(tenant=tenant, name="TAKEN-1"),
    CustomerCategory: lambda tenant: CustomerCategoryFactory(tenant=tenant, name="TAKEN-1"),
    PriceList: lambda tenant: PriceListFactory(tenant=tenant, name="TAKEN-1"),
}


@pytest.mark.parametrize(
    ("path", "data", "model", "message"),
    [
        ("products/new", {"sku": "TAKEN-1"}, Product,
         "The SKU TAKEN-1 is used by another product."),
        ("vat-rates/new", vat_data(code="TAKEN-1"), VatRate,
         "The code TAKEN-1 is used by another VAT rate."),
        ("categories/products", {"product-name": "TAKEN-1"}, ProductCategory,
         "There is a category named TAKEN-1 already."),
        ("categories/customers", {"customer-name": "TAKEN-1"}, CustomerCategory,
         "There is a category named TAKEN-1 already."),
        ("price-lists/new", price_list_data(name="TAKEN-1"), PriceList,
         "There is a price list named TAKEN-1 already."),
    ],
)
def test_a_name_saved_meanwhile_by_another_request_is_a_field_error(
        tenant, make_client, vat_id, racing, path, data, model, message):
    TAKEN[model](tenant)
    before = [row.id for row in rows(tenant, model)]
    client = make_client(member(tenant, Role.ACCOUNTANT))  # may change prices and the VAT table
    if model is Product:
        data = product_data(vat_id, **data)
    response = client.post(f"/t/{tenant.slug}/{path}", data=data, headers=HTMX)
    assert_refused(response, message)
    assert [row.id for row in rows(tenant, model)] == before
    assert audit_actions(tenant) == []


def test_an_edit_to_a_sku_saved_meanwhile_is_a_field_error(tenant, staff_client, vat_id,
                                                           racing):
    ProductFactory(tenant=tenant, sku="TAKEN-1")
    product_id = ProductFactory(tenant=tenant, sku="MINE", base_price=Decimal("100")).id
    response = staff_client.post(f"/t/{tenant.slug}/products/{product_id}/edit", headers=HTMX,
                                 data=product_data(vat_id, sku="TAKEN-1", base_price="120"))
    assert_refused(response, "The SKU TAKEN-1 is used by another product.")
    assert 'value="TAKEN-1"' in response.get_data(as_text=True)  # what was typed stays
    assert [(p.sku, p.base_price) for p in rows(tenant, Product)] == [
        ("TAKEN-1", Decimal("100")), ("MINE", Decimal("100"))]
    assert audit_actions(tenant) == []


def test_a_rename_to_a_category_saved_meanwhile_is_a_field_error(tenant, staff_client, racing):
    category_id = ProductCategoryFactory(tenant=tenant, name="Guards").id
    ProductCategoryFactory(tenant=tenant, name="Parts")
    response = staff_client.post(f"/t/{tenant.slug}/categories/products/{category_id}/rename",
                                 data={"name": "Parts"}, headers=HTMX)
    assert_refused(response, "There is a category named Parts already.")
    assert [c.name for c in rows(tenant, ProductCategory)] == ["Guards", "Parts"]
    assert audit_actions(tenant) == []


def test_the_violated_unique_constraint_is_named(tenant):
    ProductFactory(tenant=tenant, sku="TAKEN-1")
    vat_rate_id = VatRateFactory(tenant=tenant).id

    def error(**values: object) -> IntegrityError:
        with scoping.tenant_context(tenant.id):
            db.session.add(Product(**{"tenant_id": tenant.id, "name": "X", "currency": "NOK",
                                      "vat_rate_id": vat_rate_id, **values}))
            with pytest.raises(IntegrityError) as refused:
                db.session.flush()
            db.session.rollback()
        return refused.value

    duplicate = error(sku="TAKEN-1", base_price=Decimal("1"))
    assert violated_unique_constraint(duplicate) == "uq_products_tenant_id_sku"
    negative = error(sku="FREE", base_price=Decimal("-1"))  # a check constraint
    assert violated_unique_constraint(negative) is None


# --- roles ---------------------------------------------------------------------------------


def catalog_objects(tenant: Tenant) -> dict[str, int]:
    """Make one object of each kind the catalog's URLs name by id."""
    return {
        "product_id": ProductFactory(tenant=tenant).id,
        "vat_rate_id": VatRateFactory(tenant=tenant).id,
        "product_category_id": ProductCategoryFactory(tenant=tenant).id,
        "customer_category_id": CustomerCategoryFactory(tenant=tenant).id,
        "price_list_id": PriceListFactory(tenant=tenant).id,
        "price_list_item_id": PriceListItemFactory(tenant=tenant).id,
        "customer_price_id": CustomerPriceFactory(tenant=tenant).id,
        "category_discount_id": CategoryDiscountFactory(tenant=tenant).id,
        "exchange_rate_id": ExchangeRateFactory(tenant=tenant).id,
    }


def catalog_urls(app: Flask, tenant: Tenant, method: str) -> list[str]:
    ids = catalog_objects(tenant)
    with app.test_request_context():
        from flask import url_for

        return [
            url_for(rule.endpoint, tenant_slug=tenant.slug,
                    **{arg: ids[arg] for arg in rule.arguments if arg != "tenant_slug"})
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("catalog.") and method in rule.methods
        ]


def test_a_viewer_may_look_at_every_page_but_change_nothing(app, tenant, make_client):
    viewer = make_client(member(tenant, Role.VIEWER))
    posts = catalog_urls(app, tenant, "POST")
    assert len(posts) > 20
    before = audit_actions(tenant)
    refused = {url: viewer.post(url, data={"name": "x"}).status_code for url in posts}
    assert set(refused.values()) == {403}, refused
    assert audit_actions(tenant) == before
    pages = ["products", "vat-rates", "categories", "price-lists", "price-rules",
             "exchange-rates"]
    for page in pages:
        assert viewer.get(f"/t/{tenant.slug}/{page}").status_code == 200, page


def test_every_catalog_page_renders_for_an_owner(app, tenant, make_client):
    owner = make_client(member(tenant, Role.OWNER))
    statuses = {url: owner.get(url).status_code for url in catalog_urls(app, tenant, "GET")}
    # Row fragments answer a normal request by sending the browser to their page.
    assert set(statuses.values()) <= {200, 302}, statuses
    assert list(statuses.values()).count(200) >= 10
