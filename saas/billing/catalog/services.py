"""State changes of the catalog: one function per change; callers commit.

Forms check each value on its own (a number, its decimals, its range); these functions
check what needs the database or several values at once (a SKU already taken, a period
that ends before it starts) and refuse with a CatalogError naming the field concerned.
Every change is written to the audit log: prices and VAT decide what customers pay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.orm import selectinload

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
from saas.billing.customers.models import Customer, CustomerCategory
from saas.extensions import db
from saas.forms import CURRENCY_CODES
from saas.tenants import audit, scoping
from saas.tenants.services import ServiceError

M = TypeVar("M")

# VAT categories whose lines carry no VAT and print the legal reason instead (EN 16931).
NOTE_REQUIRED = frozenset({VatCategory.EXEMPT, VatCategory.REVERSE_CHARGE})
ZERO_RATED = frozenset({VatCategory.ZERO, VatCategory.EXEMPT, VatCategory.REVERSE_CHARGE})

VAT_RATE_FIELDS = ("code", "name", "rate", "category", "note")
PRODUCT_FIELDS = (
    "sku", "name", "description", "unit", "category_id", "vat_rate_id", "base_price",
    "currency", "cost_price", "quantity_increment", "minimum_quantity",
)
PRICE_LIST_FIELDS = (
    "name", "currency", "valid_from", "valid_to", "custom_rate", "custom_rate_currency",
)
CUSTOMER_PRICE_FIELDS = ("customer_id", "product_id", "price", "currency", "valid_from",
                         "valid_to")
CATEGORY_DISCOUNT_FIELDS = ("customer_category_id", "product_category_id", "percent")
EXCHANGE_RATE_FIELDS = ("base_currency", "quote_currency", "valid_on", "rate")


class CatalogError(ServiceError):
    """A catalog change was refused; `field` names the form field the reason concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _own(model: type[M], object_id: int | None, field: str, label: str) -> M:
    """Load an object of the current tenant that values refer to, or refuse."""
    obj = db.session.get(model, object_id) if object_id is not None else None
    if obj is None or obj.tenant_id != scoping.current_tenant_id():  # type: ignore[attr-defined]
        raise CatalogError(f"Choose a {label}.", field)
    return obj


def _apply(obj: object, values: dict[str, Any], fields: tuple[str, ...]) -> dict[str, list[str]]:
    """Set the given fields on obj; return what changed as {field: [old, new]}."""
    changes = {}
    for name in fields:
        if name in values and getattr(obj, name) != values[name]:
            changes[name] = [_text(getattr(obj, name)), _text(values[name])]
            setattr(obj, name, values[name])
    return changes


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return plain_decimal(value)
    return "" if value is None else str(value)


def plain_decimal(value: Decimal, min_places: int = 0) -> str:
    """Write a decimal without exponent or needless zeros, keeping min_places decimals."""
    normal = value.normalize()
    if normal.as_tuple().exponent > -min_places:  # type: ignore[operator]
        normal = value.quantize(Decimal(1).scaleb(-min_places))
    return f"{normal:f}"


def _amount(value: Decimal, currency: str) -> str:
    """Write an amount for messages and the audit log: 12.50 NOK, 0.1234 EUR."""
    return f"{plain_decimal(value, 2)} {currency}"


def _check_period(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise CatalogError("The end is before the start.", "valid_to")


def _name_taken(model: type[Any], column: Any, value: str, obj: object | None) -> bool:
    """Tell whether another row of model uses value already (ignoring case)."""
    other = db.session.scalar(select(model).where(func.lower(column) == value.lower()))
    return other is not None and other is not obj


# --- VAT rates -----------------------------------------------------------------------------


def _check_vat_rate(values: dict[str, Any], vat_rate: VatRate | None = None) -> None:
    if _name_taken(VatRate, VatRate.code, values["code"], vat_rate):
        raise CatalogError(f"The code {values['code']} is used by another VAT rate.", "code")
    category = VatCategory(values["category"])
    if category in ZERO_RATED and values["rate"] != 0:
        raise CatalogError(f"A {category.label.lower()} rate is 0 %.", "rate")
    if category in NOTE_REQUIRED and not values.get("note"):
        raise CatalogError(
            f"Give the legal basis printed on invoices for {category.label.lower()} lines.",
            "note",
        )


def create_vat_rate(values: dict[str, Any]) -> VatRate:
    """Add a rate to the tenant's VAT table."""
    _check_vat_rate(values)
    vat_rate = VatRate(**{name: values[name] for name in VAT_RATE_FIELDS if name in values})
    db.session.add(vat_rate)
    db.session.flush()
    audit.record("vat_rate.created", vat_rate,
                 f"VAT rate {vat_rate.code} {vat_rate.name} ({plain_decimal(vat_rate.rate)} %)")
    return vat_rate


def update_vat_rate(vat_rate: VatRate, values: dict[str, Any]) -> None:
    """Change a VAT rate (issued documents keep the rate they were issued with)."""
    _check_vat_rate(values, vat_rate)
    changes = _apply(vat_rate, values, VAT_RATE_FIELDS)
    if changes:
        audit.record("vat_rate.updated", vat_rate, f"VAT rate {vat_rate.code} changed", changes)


def archive_vat_rate(vat_rate: VatRate) -> None:
    """Stop offering a VAT rate for new products; products using it keep it."""
    vat_rate.is_archived = True
    audit.record("vat_rate.archived", vat_rate, f"VAT rate {vat_rate.code} archived")


def unarchive_vat_rate(vat_rate: VatRate) -> None:
    vat_rate.is_archived = False
    audit.record("vat_rate.unarchived", vat_rate, f"VAT rate {vat_rate.code} in use again")


# --- product and customer categories -------------------------------------------------------

CategoryModel = type[ProductCategory] | type[CustomerCategory]


def _category_kind(model: CategoryModel) -> str:
    return "product_category" if model is ProductCategory else "customer_category"


def _check_category_name(model: CategoryModel, name: str, category: object | None) -> None:
    if _name_taken(model, model.name, name, category):
        raise CatalogError(f"There is a category named {name} already.", "name")


def create_category(model: CategoryModel, name: str) -> ProductCategory | CustomerCategory:
    """Add a product or customer category."""
    _check_category_name(model, name, None)
    category = model(name=name)
    db.session.add(category)
    db.session.flush()
    audit.record(f"{_category_kind(model)}.created", category, f"Category {name}")
    return category


def rename_category(category: ProductCategory | CustomerCategory, name: str) -> None:
    """Rename a product or customer category."""
    _check_category_name(type(category), name, category)
    if category.name != name:
        audit.record(f"{_category_kind(type(category))}.renamed", category,
                     f"Category {category.name} renamed to {name}",
                     {"name": [category.name, name]})
        category.name = name


def delete_category(category: ProductCategory | CustomerCategory) -> None:
    """Delete a category: its products or customers lose it, its discounts go with it."""
    kind = _category_kind(type(category))
    audit.record(f"{kind}.deleted", category, f"Category {category.name} deleted",
                 category_usage(category))
    db.session.delete(category)


CATEGORY_MODELS: dict[str, CategoryModel] = {
    "product": ProductCategory,
    "customer": CustomerCategory,
}


def category_usages() -> dict[str, dict[int, dict[str, int]]]:
    """Count, for every category of each kind, its products or customers and discounts."""
    members = {"product": Product.category_id, "customer": Customer.category_id}
    discounts = {"product": CategoryDiscount.product_category_id,
                 "customer": CategoryDiscount.customer_category_id}
    usage: dict[str, dict[int, dict[str, int]]] = {}
    for kind, model in CATEGORY_MODELS.items():
        member_counts = counts_by(members[kind])
        discount_counts = counts_by(discounts[kind])
        usage[kind] = {
            category_id: {"members": member_counts.get(category_id, 0),
                          "discounts": discount_counts.get(category_id, 0)}
            for category_id in db.session.scalars(select(model.id))
        }
    return usage


def counts_by(column: Any) -> dict[Any, int]:
    """Count the rows for each value of column (e.g. products per VAT rate)."""
    rows = db.session.execute(select(column, func.count()).group_by(column)).all()
    return {value: count for value, count in rows}


def category_usage(category: ProductCategory | CustomerCategory) -> dict[str, int]:
    """Count the products or customers, and the discounts, that use a category."""
    if isinstance(category, ProductCategory):
        members = select(func.count()).select_from(Product).where(
            Product.category_id == category.id)
        discounts = select(func.count()).select_from(CategoryDiscount).where(
            CategoryDiscount.product_category_id == category.id)
    else:
        members = select(func.count()).select_from(Customer).where(
            Customer.category_id == category.id)
        discounts = select(func.count()).select_from(CategoryDiscount).where(
            CategoryDiscount.customer_category_id == category.id)
    return {"members": db.session.scalar(members) or 0,
            "discounts": db.session.scalar(discounts) or 0}


# --- products ------------------------------------------------------------------------------


def _check_product(values: dict[str, Any], product: Product | None = None) -> None:
    if _name_taken(Product, Product.sku, values["sku"], product):
        raise CatalogError(f"The SKU {values['sku']} is used by another product.", "sku")
    vat_rate = _own(VatRate, values.get("vat_rate_id"), "vat_rate_id", "VAT rate")
    if vat_rate.is_archived and (product is None or product.vat_rate_id != vat_rate.id):
        raise CatalogError(f"The VAT rate {vat_rate.code} is archived.", "vat_rate_id")
    if values.get("category_id") is not None:
        _own(ProductCategory, values["category_id"], "category_id", "category")


def create_product(values: dict[str, Any]) -> Product:
    """Add a product or service to the catalog."""
    _check_product(values)
    product = Product(**{name: values[name] for name in PRODUCT_FIELDS if name in values})
    db.session.add(product)
    db.session.flush()
    audit.record("product.created", product,
                 f"Product {product.sku} {product.name} at "
                 f"{_amount(product.base_price, product.currency)}")
    return product


# Many products at once (imports). The limits are the columns' (saas.columns: MONEY, QUANTITY;
# the products table's string lengths), as the product form has them.
_MONEY_LIMIT = Decimal("1e14")
_QUANTITY_LIMIT = Decimal("1e10")
_PRODUCT_TEXTS = (("sku", 60), ("name", 200), ("unit", 20))
# field, the largest value, required, 0 allowed
_PRODUCT_AMOUNTS = (
    ("base_price", _MONEY_LIMIT, True, True),
    ("cost_price", _MONEY_LIMIT, False, True),
    ("quantity_increment", _QUANTITY_LIMIT, False, False),
    ("minimum_quantity", _QUANTITY_LIMIT, False, True),
)
_CATEGORY_NAME_LENGTH = 100
REGISTER_BATCH = 1000  # products per INSERT, and between progress reports


@dataclass
class RegisteredProducts:
    """What register_products wrote: how many products, and the categories it added."""

    count: int
    new_categories: list[str] = field(default_factory=list)


def register_products(
    entries: Iterable[tuple[int, dict[str, Any]]],
    progress: Callable[[int], None] | None = None,
) -> RegisteredProducts:
    """Add many new products at once (imports): (line, values) pairs, line naming the entry.

    values are create_product's, except that the VAT rate is given by its code
    ("vat_code", any case) and the category by its name ("category", empty for none). The
    rules of create_product hold: a SKU is used once in the tenant, ignoring case (against
    the catalog and within entries); the VAT rate is the tenant's and not archived; the
    currency is known; prices and quantities fit their columns (no negative price, an
    increment above 0). A category name the catalog lacks (ignoring case, as
    create_category compares) is added once, however many entries use it.

    Everything is checked before anything is written; the first fault raises CatalogError
    naming the entry's line, the field and the reason. The products are then written by
    bulk INSERTs of REGISTER_BATCH rows (the tenant hook stamps them), calling
    progress(done) after each. No audit entry per product: like register_customers, the
    caller records one for the whole batch (an import records "import.products").
    """
    entries = list(entries)
    vat_rates = {rate.code.lower(): rate for rate in db.session.scalars(select(VatRate))}
    category_ids = {name.lower(): category_id for category_id, name in db.session.execute(
        select(ProductCategory.id, ProductCategory.name)).all()}
    taken = _skus_taken_ignoring_case([values.get("sku") or "" for _, values in entries])
    first_lines: dict[str, int] = {}
    new_categories: dict[str, str] = {}  # lower case: the name as first written
    rows, row_categories = [], []  # the rows to insert, and each one's category in lower case
    for line, values in entries:
        _check_new_product(line, values)
        sku = values["sku"]
        if sku.lower() in first_lines:
            _refuse(line, f"The SKU {sku} is also on line {first_lines[sku.lower()]}.", "sku")
        if sku.lower() in taken:
            _refuse(line, f"The SKU {sku} is used by another product.", "sku")
        first_lines[sku.lower()] = line
        vat_code = values.get("vat_code") or ""
        vat_rate = vat_rates.get(vat_code.lower())
        if vat_rate is None:
            _refuse(line, f"The VAT code {vat_code} is not in the VAT rate table.", "vat_code")
        elif vat_rate.is_archived:
            _refuse(line, f"The VAT rate {vat_rate.code} is archived.", "vat_code")
        category = (values.get("category") or "").strip()
        if len(category) > _CATEGORY_NAME_LENGTH:
            _refuse(line, f"The category name is longer than {_CATEGORY_NAME_LENGTH} "
                          "characters.", "category")
        if category and category.lower() not in category_ids:
            new_categories.setdefault(category.lower(), category)
        rows.append({
            "sku": sku,
            "name": values["name"],
            "description": values.get("description") or "",
            "unit": values.get("unit") or "pcs",
            "category_id": None,
            "vat_rate_id": vat_rate.id,
            "base_price": values["base_price"],
            "currency": values["currency"],
            "cost_price": values.get("cost_price"),
            "quantity_increment": values.get("quantity_increment"),
            "minimum_quantity": values.get("minimum_quantity"),
            "is_archived": False,
        })
        row_categories.append(category.lower())
    if new_categories:
        added = [ProductCategory(name=name) for name in new_categories.values()]
        db.session.add_all(added)
        db.session.flush()
        category_ids.update((category.name.lower(), category.id) for category in added)
    for row, category_key in zip(rows, row_categories, strict=True):
        if category_key:
            row["category_id"] = category_ids[category_key]
    # render_nulls: send None as NULL rather than leave the key out, which would split the
    # rows into a batch per set of keys given (with and without a category, a cost ...).
    statement = insert(Product).execution_options(render_nulls=True)
    for start in range(0, len(rows), REGISTER_BATCH):
        db.session.execute(statement, rows[start:start + REGISTER_BATCH])
        if progress is not None:
            progress(min(start + REGISTER_BATCH, len(rows)))
    return RegisteredProducts(len(rows), list(new_categories.values()))


def _refuse(line: int, message: str, field_name: str) -> NoReturn:
    raise CatalogError(f"Line {line}: {message}", field_name)


def _check_new_product(line: int, values: dict[str, Any]) -> None:
    """Check the values of one new product that need no database, as the form does."""
    for name, length in _PRODUCT_TEXTS:
        text = values.get(name) or ""
        if not isinstance(text, str) or (not text and name != "unit"):
            _refuse(line, f"Give the {name}.", name)
        if len(text) > length:
            _refuse(line, f"The {name} is longer than {length} characters.", name)
    if values.get("currency") not in CURRENCY_CODES:
        _refuse(line, f"Unknown currency {values.get('currency') or '(none)'}.", "currency")
    for name, limit, required, zero_allowed in _PRODUCT_AMOUNTS:
        amount = values.get(name)
        if amount is None:
            if required:
                _refuse(line, f"Give the {name.replace('_', ' ')}.", name)
            continue
        if not isinstance(amount, Decimal | int) or not Decimal(amount).is_finite():
            _refuse(line, f"The {name.replace('_', ' ')} is not a number.", name)
        amount = Decimal(amount)
        if amount < 0 or (amount == 0 and not zero_allowed):
            _refuse(line, f"The {name.replace('_', ' ')} must be "
                          f"{'at least' if zero_allowed else 'above'} 0.", name)
        if amount >= limit:
            _refuse(line, f"The {name.replace('_', ' ')} is more than the catalog can hold.",
                    name)
        if -amount.normalize().as_tuple().exponent > 4:  # type: ignore[operator]
            _refuse(line, f"Use at most 4 decimals for the {name.replace('_', ' ')}.", name)


def _skus_taken_ignoring_case(skus: list[str]) -> set[str]:
    """The given SKUs (in lower case) that products of the tenant use, ignoring case."""
    keys = {sku.lower() for sku in skus if sku}
    if not keys:
        return set()
    # The tenant's SKUs in one read (an import's file check has read them all already):
    # long IN lists of lower(sku) cost more to send and plan than the scan.
    return keys.intersection(db.session.scalars(select(func.lower(Product.sku))))


def update_product(product: Product, values: dict[str, Any]) -> None:
    """Change a product; the audit entry lists what changed (old and new prices)."""
    _check_product(values, product)
    changes = _apply(product, values, PRODUCT_FIELDS)
    if changes:
        audit.record("product.updated", product, f"Product {product.sku} changed", changes)


def archive_product(product: Product) -> None:
    """Hide a product from lists and pickers; documents that use it keep it."""
    product.is_archived = True
    audit.record("product.archived", product, f"Product {product.sku} archived")


def unarchive_product(product: Product) -> None:
    product.is_archived = False
    audit.record("product.unarchived", product, f"Product {product.sku} in use again")


PRODUCT_SORTS = {
    "name": (Product.name, Product.id),
    "-name": (Product.name.desc(), Product.id),
    "sku": (Product.sku,),
    "-sku": (Product.sku.desc(),),
    "price": (Product.base_price, Product.name, Product.id),
    "-price": (Product.base_price.desc(), Product.name, Product.id),
}


def product_search(
    query: str = "",
    *,
    category_id: int | None = None,
    include_archived: bool = False,
    sort: str = "name",
) -> Select[Any]:
    """Select the products whose name or SKU holds every word of query, filtered, sorted."""
    statement = select(Product).options(
        selectinload(Product.category), selectinload(Product.vat_rate)
    )
    for word in query.split()[:6]:
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(Product.name.ilike(like, escape="\\"), Product.sku.ilike(like, escape="\\"))
        )
    if not include_archived:
        statement = statement.where(Product.is_archived == False)  # noqa: E712 - SQL
    if category_id:
        statement = statement.where(Product.category_id == category_id)
    return statement.order_by(*PRODUCT_SORTS.get(sort, PRODUCT_SORTS["name"]))


# --- price lists ---------------------------------------------------------------------------


def _check_price_list(values: dict[str, Any], price_list: PriceList | None = None) -> None:
    if _name_taken(PriceList, PriceList.name, values["name"], price_list):
        raise CatalogError(f"There is a price list named {values['name']} already.", "name")
    _check_period(values.get("valid_from"), values.get("valid_to"))
    rate, rate_currency = values.get("custom_rate"), values.get("custom_rate_currency")
    if rate is not None and not rate_currency:
        raise CatalogError("Choose the currency the custom rate converts to.",
                           "custom_rate_currency")
    if rate_currency and rate is None:
        raise CatalogError("Give the custom rate for this currency, or no currency.",
                           "custom_rate")
    if rate is not None and rate <= 0:
        raise CatalogError("The rate must be above 0.", "custom_rate")
    if rate_currency and rate_currency == values["currency"]:
        raise CatalogError("Choose a currency other than the list's own.",
                           "custom_rate_currency")


def create_price_list(values: dict[str, Any]) -> PriceList:
    """Add a price list (its prices are added one product at a time)."""
    _check_price_list(values)
    price_list = PriceList(**{name: values[name] for name in PRICE_LIST_FIELDS if name in values})
    db.session.add(price_list)
    db.session.flush()
    audit.record("price_list.created", price_list,
                 f"Price list {price_list.name} ({price_list.currency})")
    return price_list


def update_price_list(price_list: PriceList, values: dict[str, Any]) -> None:
    """Change a price list's name, currency, period or custom exchange rate."""
    _check_price_list(values, price_list)
    changes = _apply(price_list, values, PRICE_LIST_FIELDS)
    if changes:
        audit.record("price_list.updated", price_list, f"Price list {price_list.name} changed",
                     changes)


def delete_price_list(price_list: PriceList) -> None:
    """Delete a price list and its prices; its customers go back to base prices."""
    audit.record("price_list.deleted", price_list, f"Price list {price_list.name} deleted",
                 {"items": len(price_list.items)})
    db.session.delete(price_list)


def set_price_list_item(
    price_list: PriceList, values: dict[str, Any], item: PriceListItem | None = None
) -> PriceListItem:
    """Put a product's price on a price list: a new item, or a change of item."""
    product = _own(Product, values.get("product_id"), "product_id", "product")
    other = db.session.scalar(select(PriceListItem).where(
        PriceListItem.price_list_id == price_list.id, PriceListItem.product_id == product.id))
    if other is not None and other is not item:
        raise CatalogError(
            f"{product.sku} is on this list already at "
            f"{_amount(other.price, price_list.currency)}.",
            "product_id",
        )
    price: Decimal = values["price"]
    if item is None:
        item = PriceListItem(product=product, price=price)
        price_list.items.append(item)
        db.session.flush()
        audit.record("price_list.item_added", item,
                     f"{price_list.name}: {product.sku} at {_amount(price, price_list.currency)}")
        return item
    changes = _apply(item, {"product_id": product.id, "price": price}, ("product_id", "price"))
    if changes:
        item.product = product
        audit.record("price_list.item_changed", item,
                     f"{price_list.name}: {product.sku} at {_amount(price, price_list.currency)}",
                     changes)
    return item


def remove_price_list_item(item: PriceListItem) -> None:
    """Take a product off a price list (its customers pay the base price for it)."""
    price_list = item.price_list
    audit.record("price_list.item_removed", item,
                 f"{price_list.name}: {item.product.sku} removed",
                 {"price": _text(item.price)})
    price_list.items.remove(item)


# --- price rules ---------------------------------------------------------------------------


def _overlaps(a_from: date | None, a_to: date | None, b_from: date | None,
              b_to: date | None) -> bool:
    return (a_from is None or b_to is None or a_from <= b_to) and (
        b_from is None or a_to is None or b_from <= a_to
    )


def _check_customer_price(values: dict[str, Any], price: CustomerPrice | None = None) -> None:
    customer = _own(Customer, values.get("customer_id"), "customer_id", "customer")
    product = _own(Product, values.get("product_id"), "product_id", "product")
    _check_period(values.get("valid_from"), values.get("valid_to"))
    # One agreed price at a time: otherwise which one applies on a day would be a guess.
    others = db.session.scalars(select(CustomerPrice).where(
        CustomerPrice.customer_id == customer.id, CustomerPrice.product_id == product.id))
    for other in others:
        if other is not price and _overlaps(values.get("valid_from"), values.get("valid_to"),
                                            other.valid_from, other.valid_to):
            period = f"{other.valid_from or 'open start'} – {other.valid_to or 'open end'}"
            raise CatalogError(
                f"{customer.name} has a price for {product.sku} in that period already "
                f"({_amount(other.price, other.currency)}, {period}). End that one first.",
                "valid_from",
            )


def create_customer_price(values: dict[str, Any]) -> CustomerPrice:
    """Agree a customer's own price for a product."""
    _check_customer_price(values)
    price = CustomerPrice(
        **{name: values[name] for name in CUSTOMER_PRICE_FIELDS if name in values}
    )
    db.session.add(price)
    db.session.flush()
    audit.record("customer_price.created", price,
                 f"{price.customer.name}: {price.product.sku} at "
                 f"{_amount(price.price, price.currency)}")
    return price


def update_customer_price(price: CustomerPrice, values: dict[str, Any]) -> None:
    """Change a customer's agreed price or its period."""
    _check_customer_price(values, price)
    changes = _apply(price, values, CUSTOMER_PRICE_FIELDS)
    if changes:
        db.session.flush()
        db.session.expire(price, ["customer", "product"])
        audit.record("customer_price.updated", price,
                     f"{price.customer.name}: {price.product.sku} price changed", changes)


def delete_customer_price(price: CustomerPrice) -> None:
    """End an agreement: the customer's other prices apply again."""
    audit.record("customer_price.deleted", price,
                 f"{price.customer.name}: {price.product.sku} price deleted",
                 {"price": _text(price.price), "currency": price.currency})
    db.session.delete(price)


def _check_category_discount(values: dict[str, Any],
                             discount: CategoryDiscount | None = None) -> None:
    customer_category = _own(CustomerCategory, values.get("customer_category_id"),
                             "customer_category_id", "customer category")
    product_category = _own(ProductCategory, values.get("product_category_id"),
                            "product_category_id", "product category")
    other = db.session.scalar(select(CategoryDiscount).where(
        CategoryDiscount.customer_category_id == customer_category.id,
        CategoryDiscount.product_category_id == product_category.id,
    ))
    if other is not None and other is not discount:
        raise CatalogError(
            f"{customer_category.name} has {plain_decimal(other.percent)} % on "
            f"{product_category.name} "
            "already; change that discount instead.",
            "product_category_id",
        )
    if not 0 <= values["percent"] <= 100:
        raise CatalogError("Use 0 to 100 %.", "percent")


def create_category_discount(values: dict[str, Any]) -> CategoryDiscount:
    """Give a customer category a discount on a product category."""
    _check_category_discount(values)
    discount = CategoryDiscount(
        **{name: values[name] for name in CATEGORY_DISCOUNT_FIELDS if name in values}
    )
    db.session.add(discount)
    db.session.flush()
    audit.record("category_discount.created", discount, _discount_summary(discount))
    return discount


def update_category_discount(discount: CategoryDiscount, values: dict[str, Any]) -> None:
    """Change a category discount."""
    _check_category_discount(values, discount)
    changes = _apply(discount, values, CATEGORY_DISCOUNT_FIELDS)
    if changes:
        db.session.flush()
        db.session.expire(discount, ["customer_category", "product_category"])
        audit.record("category_discount.updated", discount, _discount_summary(discount),
                     changes)


def delete_category_discount(discount: CategoryDiscount) -> None:
    audit.record("category_discount.deleted", discount,
                 f"Deleted: {_discount_summary(discount)}")
    db.session.delete(discount)


def _discount_summary(discount: CategoryDiscount) -> str:
    return (f"{discount.customer_category.name} gets {plain_decimal(discount.percent)} % on "
            f"{discount.product_category.name}")


# --- exchange rates ------------------------------------------------------------------------


def create_exchange_rate(values: dict[str, Any]) -> ExchangeRate:
    """Record the rate of a currency pair on a day."""
    base, quote = values["base_currency"], values["quote_currency"]
    if base == quote:
        raise CatalogError("Choose two different currencies.", "quote_currency")
    if values["rate"] <= 0:
        raise CatalogError("The rate must be above 0.", "rate")
    taken = db.session.scalar(select(ExchangeRate).where(
        ExchangeRate.base_currency == base, ExchangeRate.quote_currency == quote,
        ExchangeRate.valid_on == values["valid_on"],
    ))
    if taken is not None:
        raise CatalogError(
            f"{base}/{quote} has a rate on {values['valid_on']} already "
            f"({plain_decimal(taken.rate)}).",
            "valid_on",
        )
    rate = ExchangeRate(**{name: values[name] for name in EXCHANGE_RATE_FIELDS})
    db.session.add(rate)
    db.session.flush()
    audit.record("exchange_rate.created", rate,
                 f"1 {base} = {plain_decimal(rate.rate)} {quote} on {rate.valid_on}")
    return rate


def delete_exchange_rate(rate: ExchangeRate) -> None:
    """Delete a rate entered by mistake (documents keep the rate they were issued with)."""
    audit.record("exchange_rate.deleted", rate,
                 f"Deleted 1 {rate.base_currency} = {plain_decimal(rate.rate)} "
                 f"{rate.quote_currency} "
                 f"on {rate.valid_on}")
    db.session.delete(rate)
