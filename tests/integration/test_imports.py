"""Importing customers and products from CSV (upload → preview → confirm), and exports."""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from sqlalchemy import event, select

from saas import create_app
from saas.billing.catalog import services as catalog_services
from saas.billing.catalog.models import Product, ProductCategory
from saas.billing.catalog.services import CatalogError
from saas.billing.customers import services as customer_services
from saas.billing.customers.models import Customer, CustomerCategory, DeliveryPreference
from saas.billing.imports import formats
from saas.billing.imports import services as import_services
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role
from saas.tenants.services import ServiceError
from tests.conftest import _test_config
from tests.factories import (
    ContactFactory,
    CustomerCategoryFactory,
    CustomerFactory,
    ProductCategoryFactory,
    ProductFactory,
    SiteFactory,
    TenantFactory,
    VatRateFactory,
    member,
)

CUSTOMERS_CSV = """\
number,name,org_number,vat_id,country,city,currency,category,discount_percent,\
contact_name,contact_email,contact_receives_invoices,site_code,site_name,site_city
20001,Fjord Bygg AS,974760673,,NO,Bergen,NOK,Builders,7.5,Ann Berg,ann@fjord.no,yes,FB-1,\
Main yard,Bergen
20001,,,,,,,,,Per Dahl,per@fjord.no,no,FB-2,North gate,Åsane
,Kraków Serwis sp. z o.o.,,PL 526-025-02-74,PL,Kraków,PLN,,,Ewa Nowak,ewa@serwis.pl,1,,,
,,,,,,,,,,,,KR-9,Warehouse,Kraków
"""


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Import AS", country="NO")


@pytest.fixture()
def staff_client(tenant, make_client):
    return make_client(member(tenant, Role.STAFF))


def upload(client, tenant, content: str | bytes, kind: str = "customers",
           filename: str = "customers.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(f"/t/{tenant.slug}/imports/preview",
                       data={"kind": kind, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def payload_in(html: str) -> str:
    return re.search(r'name="payload" value="([^"]+)"', html).group(1)


def confirm(client, tenant, payload: str):
    return client.post(f"/t/{tenant.slug}/imports/confirm", data={"payload": payload})


def customers_of(tenant) -> list[Customer]:
    with scoping.tenant_context(tenant.id):
        return db.session.scalars(select(Customer).order_by(Customer.number)).all()


def error_lines(html: str) -> list[str]:
    table = html.split('id="import-errors"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr><td class="mono">(\d+)</td>', table)


def test_a_good_file_imports_customers_with_contacts_and_sites_and_they_are_found(
    tenant, staff_client
):
    preview = upload(staff_client, tenant, CUSTOMERS_CSV)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "2 customers, 3 contacts, 3 sites" in html and "Import 4 rows" in html

    response = confirm(staff_client, tenant, payload_in(html))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/t/{tenant.slug}/customers/"
    fjord, krakow = customers_of(tenant)
    with scoping.tenant_context(tenant.id):
        assert (fjord.number, fjord.category.name, fjord.discount_percent) == (
            20001, "Builders", Decimal("7.50"))
        assert [(c.name, c.receives_invoices) for c in fjord.contacts] == [
            ("Ann Berg", True), ("Per Dahl", False)]
        assert [s.code for s in fjord.sites] == ["FB-1", "FB-2"]
        assert krakow.number == 20002 and krakow.vat_id == "PL5260250274"
        assert [s.code for s in krakow.sites] == ["KR-9"]
        summaries = db.session.scalars(
            select(AuditEntry.summary).where(AuditEntry.action == "import.customers")).all()
    assert summaries == ["Imported 2 customers from customers.csv"]
    assert "Imported 2 customers" in staff_client.get(response.headers["Location"]).get_data(
        as_text=True)
    listing = staff_client.get(f"/t/{tenant.slug}/customers/?q=north gate").get_data(
        as_text=True)
    assert "Fjord Bygg AS" in listing and "Kraków Serwis" not in listing


def test_a_preview_with_errors_shows_each_line_and_imports_nothing(tenant, staff_client):
    CustomerFactory(tenant=tenant, number=20001)
    bad = CUSTOMERS_CSV.replace("ann@fjord.no", "ann@").replace(",PLN,", ",YEN,")
    response = upload(staff_client, tenant, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_lines(html) == ["2", "2", "4"]
    assert "Customer number 20001 already exists." in html
    assert "Not a valid e-mail address" in html and "Unknown currency" in html
    assert "Import 4 rows" not in html and 'action="/t/' + tenant.slug + '/imports/confirm"' \
        not in html
    assert "Download error report" in html
    assert len(customers_of(tenant)) == 1


def test_one_bad_row_among_many_keeps_the_whole_file_out(tenant, staff_client):
    rows = [f"{30000 + n},Customer {n},NO,NOK" for n in range(40)]
    rows[27] = "30027,Customer 27,NO,NOKK"
    response = upload(staff_client, tenant, "number,name,country,currency\n" + "\n".join(rows))
    assert response.status_code == 422
    assert error_lines(response.get_data(as_text=True)) == ["29"]
    assert customers_of(tenant) == []


def test_a_failure_while_importing_rolls_back_every_row(tenant, staff_client, monkeypatch):
    html = upload(staff_client, tenant, CUSTOMERS_CSV).get_data(as_text=True)
    real_register = customer_services.register_customers

    def register_then_fail(entries, **options):
        real_register(entries, **options)  # every row is written ...
        raise ServiceError("Site code KR-9 is used by someone else.")  # ... then it fails

    monkeypatch.setattr(customer_services, "register_customers", register_then_fail)
    response = confirm(staff_client, tenant, payload_in(html))
    assert response.headers["Location"] == f"/t/{tenant.slug}/imports"
    page = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nothing was imported. Site code KR-9 is used by someone else." in page
    assert customers_of(tenant) == []


def test_data_taken_between_preview_and_confirm_is_caught_at_confirm(tenant, staff_client):
    html = upload(staff_client, tenant, CUSTOMERS_CSV).get_data(as_text=True)
    SiteFactory(tenant=tenant, code="FB-2")
    response = confirm(staff_client, tenant, payload_in(html))
    assert response.status_code == 422
    assert "Site code FB-2 already exists." in response.get_data(as_text=True)
    assert len(customers_of(tenant)) == 1  # only the site's own customer


@pytest.mark.parametrize("tamper", ["edit", "other_tenant", "missing"])
def test_a_tampered_payload_is_refused_and_nothing_is_imported(tenant, staff_client,
                                                                make_client, tamper):
    payload = payload_in(upload(staff_client, tenant, CUSTOMERS_CSV).get_data(as_text=True))
    client = staff_client
    if tamper == "edit":
        payload = payload[:-12] + ("A" if payload[-12] != "A" else "B") + payload[-11:]
    elif tamper == "other_tenant":
        other = TenantFactory()
        client = make_client(member(other, Role.OWNER))
        tenant = other
    else:
        payload = ""
    response = confirm(client, tenant, payload)
    assert response.status_code == 400
    assert "Nothing was imported" in response.get_data(as_text=True)
    assert customers_of(tenant) == []


def test_the_error_report_is_a_csv_of_line_column_value_and_message(tenant, staff_client):
    bad = "name,country,currency,contact_name,contact_email\nA,NO,NOK,Ann,ann@\n,SE,EUR,,\n"
    html = upload(staff_client, tenant, bad, filename="bad.csv").get_data(as_text=True)
    response = staff_client.post(f"/t/{tenant.slug}/imports/errors.csv",
                                 data={"payload": payload_in(html)})
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["line", "column", "value", "message"]
    assert [row[:3] for row in rows[1:]] == [["2", "contact_email", "ann@"], ["3", "name", ""]]
    assert rows[2][3] == "Required."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,country,currency\nÅsane,NO,NOK\n".encode("cp1252"), formats.NOT_UTF8),
        ("name,currency,colour\nA,NOK,red\n",
         "Required columns are missing: country. Unknown columns: colour."),
        ("name,country,currency\n", "The file has a header but no rows to import."),
        ("", "The file is empty"),
    ],
)
def test_an_unreadable_file_gets_one_clear_message_and_no_import_button(
    tenant, staff_client, content, message
):
    response = upload(staff_client, tenant, content)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert escape(message) in html and 'name="payload"' not in html


def test_the_upload_page_needs_a_file_and_a_kind(tenant, staff_client):
    url = f"/t/{tenant.slug}/imports/preview"
    no_file = staff_client.post(url, data={"kind": "customers"})
    no_kind = upload(staff_client, tenant, CUSTOMERS_CSV, kind="invoices")
    assert (no_file.status_code, no_kind.status_code) == (422, 422)
    assert "Choose a CSV file" in no_file.get_data(as_text=True)
    assert "Choose what the file holds" in no_kind.get_data(as_text=True)


def test_the_import_page_documents_continuation_rows_without_inline_script(tenant,
                                                                           staff_client):
    html = staff_client.get(f"/t/{tenant.slug}/imports").get_data(as_text=True)
    assert "add rows below it that repeat its number" in html
    assert "<script>" not in html and " style=" not in html
    assert "/exports/customers.csv" not in html  # staff import but do not export


def test_products_import_with_vat_codes_named_and_categories_created(tenant, staff_client):
    VatRateFactory(tenant=tenant, code="S25")
    ProductCategoryFactory(tenant=tenant, name="Guarding")
    content = ("sku;name;unit;category;vat_code;base_price;currency;quantity_increment\n"
               "G-1;Guard hour;h;Guarding;s25;650,5;NOK;0,25\n"
               "P-1;Padlock;pcs;Parts;S25;99;NOK;\n")
    html = upload(staff_client, tenant, content.replace("s25", "X9"), kind="products",
                  filename="products.csv").get_data(as_text=True)
    assert "VAT code X9 is not in your VAT rate table." in html

    html = upload(staff_client, tenant, content, kind="products",
                  filename="products.csv").get_data(as_text=True)
    response = confirm(staff_client, tenant, payload_in(html))
    assert response.headers["Location"] == f"/t/{tenant.slug}/imports"
    with scoping.tenant_context(tenant.id):
        products = db.session.scalars(select(Product).order_by(Product.sku)).all()
        assert [(p.sku, p.category.name, p.vat_rate.code, p.base_price, p.quantity_increment)
                for p in products] == [
            ("G-1", "Guarding", "S25", Decimal("650.5"), Decimal("0.25")),
            ("P-1", "Parts", "S25", Decimal("99"), None),
        ]
        assert db.session.scalar(select(AuditEntry.summary).where(
            AuditEntry.action == "import.products")) == "Imported 2 products from products.csv"
        assert len(db.session.scalars(select(ProductCategory)).all()) == 2


def products_of(tenant) -> list[tuple]:
    with scoping.tenant_context(tenant.id):
        return [(p.sku, p.category.name if p.category else None, p.vat_rate.code)
                for p in db.session.scalars(select(Product).order_by(Product.sku))]


def category_names(tenant) -> list[str]:
    with scoping.tenant_context(tenant.id):
        return db.session.scalars(
            select(ProductCategory.name).order_by(ProductCategory.name)).all()


@pytest.fixture()
def statements(db_session):
    """The SQL statements run while the test runs (an executemany counts once)."""
    run: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        run.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield run
    event.remove(db.engine, "before_cursor_execute", note)


def test_a_products_file_with_new_categories_is_imported_at_once(tenant, statements):
    rates = {code: VatRateFactory(tenant=tenant, code=code, rate=Decimal(rate))
             for code, rate in (("S25", "25"), ("R15", "15"))}
    ProductCategoryFactory(tenant=tenant, name="Guarding")
    # "guarding" is the saved category (names compare ignoring case); Parts and Tools are
    # new, each created once however many rows name them.
    categories = ["Guarding", "guarding", "Parts", "Tools", "Parts", ""]
    rows = [f"P-{n:05d},Item {n},{categories[n % 6]},{'s25' if n % 2 else 'R15'},{n}.25,NOK"
            for n in range(1500)]
    content = "sku,name,category,vat_code,base_price,currency\n" + "\n".join(rows)
    done: list[int] = []
    with scoping.tenant_context(tenant.id):
        parsed = import_services.read_file(formats.Kind.PRODUCTS, content.encode())
        assert parsed.ok, parsed.errors[:3]
        statements.clear()
        count = import_services.import_file(parsed, "products.csv", done.append)
        db.session.flush()
        inserts = [s.split("(")[0].split()[-1] for s in statements if s.startswith("INSERT")]
        products = db.session.scalars(select(Product).order_by(Product.sku)).all()
        assert count == len(products) == 1500
        assert [(p.sku, p.vat_rate_id, p.base_price, p.category.name if p.category else None)
                for p in products[:6]] == [
            ("P-00000", rates["R15"].id, Decimal("0.25"), "Guarding"),
            ("P-00001", rates["S25"].id, Decimal("1.25"), "Guarding"),
            ("P-00002", rates["R15"].id, Decimal("2.25"), "Parts"),
            ("P-00003", rates["S25"].id, Decimal("3.25"), "Tools"),
            ("P-00004", rates["R15"].id, Decimal("4.25"), "Parts"),
            ("P-00005", rates["S25"].id, Decimal("5.25"), None),
        ]
        assert {p.tenant_id for p in products} == {tenant.id}
        assert {p.vat_rate_id for p in products[1::2]} == {rates["S25"].id}
        audit = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action.like("product%") | AuditEntry.action.like("import%"))).all()
        assert [(a.action, a.summary, a.details) for a in audit] == [
            ("import.products", "Imported 1500 products from products.csv",
             {"new_categories": ["Parts", "Tools"]})]
    # The products in two bulk INSERTs (1,000 rows and 500); the two new categories in one
    # flush, then the import's one audit entry.
    assert inserts.count("products") == 2
    assert set(inserts) == {"product_categories", "products", "audit_entries"}
    assert inserts[-1] == "audit_entries" and inserts.count("audit_entries") == 1
    assert done == [1000, 1500]
    assert category_names(tenant) == ["Guarding", "Parts", "Tools"]


@pytest.mark.parametrize(
    ("skus", "taken", "line", "message"),
    [
        (["G-1", "P-1", "G-1"], None, "4", "SKU G-1 is already used on line 2."),
        (["G-1", "P-1", "g-1"], None, "4", "SKU g-1 is already used on line 2 as G-1"),
        (["G-1", "OLD-1"], "OLD-1", "3", "SKU OLD-1 already exists."),
        (["G-1", "old-1"], "OLD-1", "3", "SKU old-1 already exists as OLD-1"),
    ],
)
def test_a_sku_twice_in_the_file_or_already_saved_is_a_row_error_and_nothing_is_saved(
    tenant, staff_client, skus, taken, line, message
):
    rate = VatRateFactory(tenant=tenant, code="S25")
    saved = [(taken, None, "S25")] if taken else []
    if taken:
        ProductFactory(tenant=tenant, sku=taken, vat_rate=rate)
    content = "sku,name,category,vat_code,base_price,currency\n" + "".join(
        f"{sku},Item {n},New {n},S25,10,NOK\n" for n, sku in enumerate(skus))
    response = upload(staff_client, tenant, content, kind="products", filename="products.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_lines(html) == [line]
    assert escape(message) in html
    assert 'action="/t/' + tenant.slug + '/imports/confirm"' not in html
    assert products_of(tenant) == saved and category_names(tenant) == []


def test_a_sku_taken_in_another_case_after_the_preview_is_caught_at_confirm(tenant,
                                                                            staff_client):
    rate = VatRateFactory(tenant=tenant, code="S25")
    content = "sku,name,category,vat_code,base_price,currency\nG-1,Guard,New,S25,10,NOK\n"
    html = upload(staff_client, tenant, content, kind="products").get_data(as_text=True)
    ProductFactory(tenant=tenant, sku="g-1", vat_rate=rate)
    response = confirm(staff_client, tenant, payload_in(html))
    assert response.status_code == 422
    assert error_lines(response.get_data(as_text=True)) == ["2"]
    assert products_of(tenant) == [("g-1", None, "S25")] and category_names(tenant) == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"sku": "old-1"}, "sku", "Line 3: The SKU old-1 is used by another product."),
        ({"sku": "a-1"}, "sku", "Line 3: The SKU a-1 is also on line 2."),
        ({"vat_code": "ARCH"}, "vat_code", "Line 3: The VAT rate ARCH is archived."),
        ({"vat_code": "THEIRS"}, "vat_code",
         "Line 3: The VAT code THEIRS is not in the VAT rate table."),
        ({"currency": "XYZ"}, "currency", "Line 3: Unknown currency XYZ."),
        ({"base_price": Decimal("-1")}, "base_price",
         "Line 3: The base price must be at least 0."),
        ({"base_price": None}, "base_price", "Line 3: Give the base price."),
        ({"quantity_increment": Decimal(0)}, "quantity_increment",
         "Line 3: The quantity increment must be above 0."),
        ({"minimum_quantity": Decimal("0.00001")}, "minimum_quantity",
         "Line 3: Use at most 4 decimals for the minimum quantity."),
        ({"name": ""}, "name", "Line 3: Give the name."),
    ],
)
def test_register_products_keeps_the_rules_of_create_product_and_writes_nothing_on_a_fault(
    tenant, changes, field, message
):
    VatRateFactory(tenant=tenant, code="S25")
    VatRateFactory(tenant=tenant, code="ARCH", is_archived=True)
    VatRateFactory(tenant=TenantFactory(), code="THEIRS")
    ProductFactory(tenant=tenant, sku="OLD-1")
    good = {"sku": "A-1", "name": "Guard", "category": "New", "vat_code": "s25",
            "base_price": Decimal("10"), "currency": "NOK"}
    with scoping.tenant_context(tenant.id):
        categories = db.session.scalars(select(ProductCategory.name)).all()
        with pytest.raises(CatalogError) as refused:
            catalog_services.register_products(
                [(2, good), (3, {**good, "sku": "B-1", "category": "Other", **changes})])
        assert (str(refused.value), refused.value.field) == (message, field)
        assert db.session.scalars(select(Product.sku)).all() == ["OLD-1"]
        assert db.session.scalars(select(ProductCategory.name)).all() == categories


def test_a_failure_while_importing_products_rolls_back_every_row(tenant, staff_client,
                                                                 monkeypatch):
    VatRateFactory(tenant=tenant, code="S25")
    content = ("sku,name,category,vat_code,base_price,currency\n"
               "G-1,Guard,Guarding,S25,10,NOK\nP-1,Padlock,Parts,S25,99,NOK\n")
    html = upload(staff_client, tenant, content, kind="products").get_data(as_text=True)
    real_register = catalog_services.register_products

    def register_then_fail(entries, **options):
        real_register(entries, **options)  # every row is written ...
        raise CatalogError("Line 3: The SKU P-1 is used by another product.", "sku")

    monkeypatch.setattr(catalog_services, "register_products", register_then_fail)
    response = confirm(staff_client, tenant, payload_in(html))
    assert response.headers["Location"] == f"/t/{tenant.slug}/imports"
    page = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nothing was imported. Line 3: The SKU P-1 is used by another product." in page
    assert products_of(tenant) == [] and category_names(tenant) == []


def test_export_then_import_into_another_tenant_gives_the_same_register(
    tenant, make_client
):
    category = CustomerCategoryFactory(tenant=tenant, name="Housing")
    first = CustomerFactory(tenant=tenant, number=10001, name="Fjellheim Borettslag",
                            org_number="974760673", vat_id="NO974760673MVA",
                            address_line1="Fjellveien 1", postal_code="5003", city="Bergen",
                            delivery_address_line2="Port 2", language="nb",
                            payment_terms_days=0, category_id=category.id,
                            discount_percent=Decimal("12.50"), region="Vestland",
                            notes='Call first, "always"\nsecond line')
    ContactFactory(tenant=tenant, customer=first, name="Ann", email="ann@example.com",
                   receives_invoices=True, phone="+47 55 00 00 00")
    ContactFactory(tenant=tenant, customer=first, name="Bob", email="")
    for code in ("FH-1", "FH-2", "FH-3"):
        SiteFactory(tenant=tenant, customer=first, code=code, name=f"Block {code}",
                    city="Bergen", country="NO")
    CustomerFactory(tenant=tenant, number=10002, name="Nowak, Ewa", country="PL",
                    currency="PLN", delivery_preference=DeliveryPreference.BOTH)
    CustomerFactory(tenant=tenant, number=10003, name="Gone AS", is_archived=True)
    rate = VatRateFactory(tenant=tenant, code="S25")
    ProductFactory(tenant=tenant, sku="G-1", name="Guard hour", unit="h", vat_rate=rate,
                   category=ProductCategoryFactory(tenant=tenant, name="Guarding"),
                   base_price=Decimal("650.5000"), cost_price=Decimal("410.1234"),
                   quantity_increment=Decimal("0.2500"), minimum_quantity=Decimal("2"))
    ProductFactory(tenant=tenant, sku="P-1", name="Padlock", vat_rate=rate)

    exporter = make_client(member(tenant, Role.ACCOUNTANT))
    exported = {}
    for kind in ("customers", "products"):
        response = exporter.get(f"/t/{tenant.slug}/exports/{kind}.csv")
        assert response.is_streamed and response.mimetype == "text/csv"
        exported[kind] = response.get_data()  # read now: the body streams after the view
    today = datetime.now(ZoneInfo(tenant.timezone)).date().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="products-{tenant.slug}-{today}.csv"')

    other = TenantFactory(name="Copy AS")
    VatRateFactory(tenant=other, code="S25")
    importer = make_client(member(other, Role.ADMIN))
    for kind, content in exported.items():
        html = upload(importer, other, content, kind=kind).get_data(as_text=True)
        assert confirm(importer, other, payload_in(html)).status_code == 302, html

    def register(of) -> list[tuple]:
        with scoping.tenant_context(of.id):
            customers = db.session.scalars(select(Customer).order_by(Customer.number)).all()
            products = db.session.scalars(select(Product).order_by(Product.sku)).all()
            return [
                *((c.number, c.name, c.org_number, c.vat_id, c.address_line1, c.postal_code,
                   c.city, c.delivery_address_line2, c.language, c.currency,
                   c.payment_terms_days, c.category.name if c.category else None,
                   c.discount_percent, c.delivery_preference, c.region, c.notes,
                   [(k.name, k.email, k.phone, k.receives_invoices) for k in c.contacts],
                   [(s.code, s.name, s.city, s.country) for s in c.sites])
                  for c in customers if not c.is_archived),
                *((p.sku, p.name, p.unit, p.category.name if p.category else None,
                   p.vat_rate.code, p.base_price, p.cost_price, p.quantity_increment,
                   p.minimum_quantity, p.currency) for p in products),
            ]

    assert register(other) == register(tenant)
    assert len(register(other)) == 4
    with scoping.tenant_context(other.id):
        assert "fh-3" in db.session.scalar(
            select(Customer.search_text).where(Customer.number == 10001))
        assert db.session.scalars(select(CustomerCategory.name)).all() == ["Housing"]


@pytest.mark.parametrize(
    ("role", "imports", "exports"),
    [(Role.VIEWER, 403, 403), (Role.COLLECTOR, 403, 403), (Role.STAFF, 200, 403),
     (Role.ACCOUNTANT, 200, 200), (Role.ADMIN, 200, 200)],
)
def test_who_may_import_and_export(tenant, make_client, role, imports, exports):
    client = make_client(member(tenant, role))
    assert client.get(f"/t/{tenant.slug}/imports").status_code == imports
    assert upload(client, tenant, CUSTOMERS_CSV).status_code == imports
    for kind in ("customers", "products"):
        assert client.get(f"/t/{tenant.slug}/exports/{kind}.csv").status_code == exports
    if imports == 403:
        assert client.post(f"/t/{tenant.slug}/imports/confirm",
                           data={"payload": "x"}).status_code == 403
        assert customers_of(tenant) == []


def test_a_large_file_travels_back_through_a_csrf_protected_form(tenant, database_urls):
    # The payload is above Werkzeug's 500 kB cap for multipart text fields: the confirm
    # form must stay urlencoded, and the CSRF check must read it whole.
    app = create_app(_test_config(database_urls["owner"], database_urls["app"],
                                  WTF_CSRF_ENABLED=True))
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(member(tenant, Role.ADMIN).id)
    html = client.get(f"/t/{tenant.slug}/imports").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    rows = [f"{40000 + n},Customer {n},NO,NOK,{secrets.token_hex(2000)}" for n in range(400)]
    content = "number,name,country,currency,notes\n" + "\n".join(rows)
    preview = client.post(f"/t/{tenant.slug}/imports/preview",
                          data={"kind": "customers", "csrf_token": token,
                                "file": (io.BytesIO(content.encode()), "big.csv")},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    confirm_form = re.search(r'<form[^>]*imports/confirm[^>]*>', html).group(0)
    assert "multipart" not in confirm_form
    payload = payload_in(html)
    assert len(payload) > 600_000
    response = client.post(f"/t/{tenant.slug}/imports/confirm",
                           data={"payload": payload, "csrf_token": token})
    assert response.status_code == 302
    assert len(customers_of(tenant)) == 400


# --- large files: a background job with progress ---------------------------------------------


def _run_of(tenant):
    from saas.billing.imports.models import ImportRun

    with scoping.tenant_context(tenant.id):
        run = db.session.scalar(select(ImportRun))
        db.session.refresh(run)
        return run


# The job reports progress on a connection of its own, which SQLite's one-writer lock
# blocks while the test's transaction is open.
@pytest.mark.postgres
def test_a_large_file_is_imported_by_a_job_whose_progress_page_polls_until_done(
    app, tenant, staff_client, monkeypatch
):
    from tests.helpers import run_jobs

    monkeypatch.setitem(app.config, "IMPORT_INLINE_ROWS", 1)
    html = upload(staff_client, tenant, CUSTOMERS_CSV).get_data(as_text=True)
    response = confirm(staff_client, tenant, payload_in(html))
    run = _run_of(tenant)
    assert response.headers["Location"] == f"/t/{tenant.slug}/imports/runs/{run.id}"
    waiting = staff_client.get(response.headers["Location"], headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in waiting.get_data(as_text=True)
    assert "Waiting to start" in waiting.get_data(as_text=True)

    run_jobs(app)
    run = _run_of(tenant)
    assert (run.status.value, run.done, run.total) == ("done", 2, 2)
    finished = staff_client.get(f"/t/{tenant.slug}/imports/runs/{run.id}",
                                headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in finished and "All 2 rows are saved." in finished
    assert [c.name for c in customers_of(tenant)] == ["Fjord Bygg AS", "Kraków Serwis sp. z o.o."]


# The job reports progress on a connection of its own, which SQLite's one-writer lock
# blocks while the test's transaction is open.
@pytest.mark.postgres
def test_a_failing_background_import_saves_nothing_and_says_why(
    app, tenant, staff_client, monkeypatch
):
    from tests.helpers import run_jobs

    monkeypatch.setitem(app.config, "IMPORT_INLINE_ROWS", 1)
    real_register = customer_services.register_customers

    def register_then_fail(entries, **options):
        real_register(entries, **options)
        raise ServiceError("Site code KR-9 is used by someone else.")

    monkeypatch.setattr(customer_services, "register_customers", register_then_fail)
    html = upload(staff_client, tenant, CUSTOMERS_CSV).get_data(as_text=True)
    confirm(staff_client, tenant, payload_in(html))
    run_jobs(app)
    run = _run_of(tenant)
    assert run.status.value == "failed"
    assert run.message == "Nothing was imported. Site code KR-9 is used by someone else."
    assert customers_of(tenant) == []


# The job reports progress on a connection of its own, which SQLite's one-writer lock
# blocks while the test's transaction is open.
@pytest.mark.postgres
def test_running_an_import_job_twice_imports_once(app, tenant, staff_client, monkeypatch):
    from saas.billing.imports import services as import_services

    monkeypatch.setitem(app.config, "IMPORT_INLINE_ROWS", 1)
    html = upload(staff_client, tenant, CUSTOMERS_CSV).get_data(as_text=True)
    payload = payload_in(html)
    monkeypatch.setattr("saas.billing.imports.views.enqueue", lambda *a, **k: None)
    confirm(staff_client, tenant, payload)
    run_id = _run_of(tenant).id
    text = CUSTOMERS_CSV
    for _ in range(2):
        import_services.run_import(run_id, text, tenant_id=tenant.id)
    assert len(customers_of(tenant)) == 2
