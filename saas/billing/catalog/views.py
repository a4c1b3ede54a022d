"""Catalog pages: products, VAT rates, categories, price lists, price rules, exchange rates."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from babel.numbers import format_decimal
from flask import flash, g, make_response, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from saas.billing.catalog import services
from saas.billing.catalog.forms import (
    CatalogForm,
    CategoryDiscountForm,
    CategoryForm,
    CustomerPriceForm,
    ExchangeRateForm,
    PriceListForm,
    PriceListItemForm,
    ProductForm,
    VatRateForm,
)
from saas.billing.catalog.models import (
    CategoryDiscount,
    CustomerPrice,
    ExchangeRate,
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
    VatRate,
)
from saas.billing.customers.models import Customer, CustomerCategory
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.pagination import paginate
from saas.tenants.access import ALL_ROLES, MANAGERS, get_or_404, requires, staff_blueprint
from saas.tenants.models import Role

bp = staff_blueprint("catalog", __name__)
T = TypeVar("T")

# Everyone may look; these may change products, prices and categories ...
PRICE_EDITORS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
# ... and these the VAT table and the exchange rates, which decide tax and conversions.
TAX_EDITORS = MANAGERS | {Role.ACCOUNTANT}
PAGE_SIZE = 25


@bp.app_template_filter("money")
def money(value: Decimal | None, currency: str = "") -> str:
    """Show an amount with 2 decimals (up to 4 when it has them) and its currency code."""
    if value is None:
        return "—"
    tenant = g.get("tenant")
    amount = format_decimal(value, format="#,##0.00##", locale=tenant.locale if tenant else "en")
    return f"{amount} {currency}".rstrip()


def _refuse(form: FlaskForm, error: services.CatalogError) -> None:
    """Show a service's refusal as the error of the field it concerns."""
    db.session.rollback()
    field = form._fields.get(error.field or "")
    if field is None:
        form.form_errors.append(str(error))
    else:
        field.errors.append(str(error))


def _submit(form: CatalogForm, change: Callable[[dict[str, Any]], T]) -> tuple[bool, T | None]:
    """Validate the form, make the change and commit; a refusal becomes a field error."""
    if form.validate_on_submit():
        try:
            result = change(form.values())
        except services.CatalogError as exc:
            _refuse(form, exc)
        else:
            db.session.commit()
            return True, result
    return False, None


def _removed(message: str, back: str) -> Response:
    """Commit a removal; htmx swaps the row for nothing, a browser goes back to the page."""
    db.session.commit()
    if wants_fragment():
        response = make_response("", 200)
        response.vary.add("HX-Request")
        return response
    flash(message, "success")
    return redirect_to(back)


def _status(form: FlaskForm | None) -> int:
    return 422 if form is not None and form.errors else 200


def _edit_page(form: FlaskForm, template: str, title: str, tab: str, cancel_url: str,
               **context: Any) -> Response:
    """Render the page that edits one object of a list (for htmx, only its form)."""
    return render("catalog/edit.html", block="edit_form", form=form, form_template=template,
                  title=title, tab=tab, action=request.path, cancel_url=cancel_url,
                  submit_label="Save", status=_status(form), **context)


# --- products ------------------------------------------------------------------------------


def _product_args() -> dict[str, Any]:
    """The list's query string, cleaned, so links and the pager keep every filter."""
    args = {
        "q": request.args.get("q", "").strip(),
        "category": request.args.get("category", type=int),
        "archived": request.args.get("archived") == "1",
        "sort": request.args.get("sort", "name"),
    }
    if args["sort"] not in services.PRODUCT_SORTS:
        args["sort"] = "name"
    return args


def _url_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: ("1" if v is True else v) for k, v in args.items() if v not in ("", None, False)}


@bp.route("/products")
@requires(ALL_ROLES)
def products() -> Response:
    args = _product_args()
    statement = services.product_search(
        args["q"], category_id=args["category"], include_archived=args["archived"],
        sort=args["sort"],
    )
    page = paginate(statement, request.args.get("page", 1, type=int), PAGE_SIZE)
    context = {"page": page, "args": args, "url_args": _url_args(args)}
    if wants_fragment() and request.headers.get("HX-Target") == "product-results":
        # Search as you type, sorting and paging: only the results; the filters stay.
        return render("catalog/products.html", block="product_results", **context)
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.name))
    return render("catalog/products.html", categories=categories.all(), **context)


def _product_form(form: ProductForm, product: Product | None) -> Response:
    has_vat_rates = db.session.scalar(select(func.count()).select_from(VatRate)) or 0
    return render("catalog/product_form.html", block="product_form", form=form,
                  product=product, has_vat_rates=has_vat_rates, status=_status(form))


@bp.route("/products/new", methods=["GET", "POST"])
@requires(PRICE_EDITORS)
def create_product() -> Response:
    form = ProductForm()
    done, product = _submit(form, services.create_product)
    if done:
        flash(f"{product.sku} {product.name} added to the catalog.", "success")
        return redirect_to(url_for("catalog.product", product_id=product.id))
    return _product_form(form, None)


@bp.route("/products/<int:product_id>")
@requires(ALL_ROLES)
def product(product_id: int) -> Response:
    product = get_or_404(Product, product_id)
    list_items = db.session.scalars(
        select(PriceListItem).join(PriceListItem.price_list)
        .where(PriceListItem.product_id == product.id).order_by(PriceList.name)
    ).all()
    customer_prices = db.session.scalars(
        select(CustomerPrice).join(CustomerPrice.customer)
        .where(CustomerPrice.product_id == product.id)
        .order_by(Customer.name, CustomerPrice.valid_from)
    ).all()
    return render("catalog/product.html", product=product, list_items=list_items,
                  customer_prices=customer_prices)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@requires(PRICE_EDITORS)
def edit_product(product_id: int) -> Response:
    product = get_or_404(Product, product_id)
    form = ProductForm(obj=product)
    done, _ = _submit(form, lambda values: services.update_product(product, values))
    if done:
        flash(f"{product.sku} saved.", "success")
        return redirect_to(url_for("catalog.product", product_id=product.id))
    return _product_form(form, product)


@bp.route("/products/<int:product_id>/archive", methods=["POST"])
@requires(PRICE_EDITORS)
def archive_product(product_id: int) -> Response:
    product = get_or_404(Product, product_id)
    services.archive_product(product)
    db.session.commit()
    flash(f"{product.sku} is archived: it is no longer offered on new documents.", "success")
    return redirect_to(url_for("catalog.product", product_id=product.id))


@bp.route("/products/<int:product_id>/unarchive", methods=["POST"])
@requires(PRICE_EDITORS)
def unarchive_product(product_id: int) -> Response:
    product = get_or_404(Product, product_id)
    services.unarchive_product(product)
    db.session.commit()
    flash(f"{product.sku} is in use again.", "success")
    return redirect_to(url_for("catalog.product", product_id=product.id))


# --- VAT rates -----------------------------------------------------------------------------


def _vat_rates_context(form: VatRateForm | None = None) -> dict[str, Any]:
    rates = db.session.scalars(
        select(VatRate).order_by(VatRate.is_archived, VatRate.rate.desc(), VatRate.code)
    ).all()
    usage = services.counts_by(Product.vat_rate_id)
    return {"rates": rates, "usage": usage, "form": form or VatRateForm(formdata=None)}


@bp.route("/vat-rates")
@requires(ALL_ROLES)
def vat_rates() -> Response:
    return render("catalog/vat_rates.html", **_vat_rates_context())


@bp.route("/vat-rates/new", methods=["POST"])
@requires(TAX_EDITORS)
def create_vat_rate() -> Response:
    form = VatRateForm()
    done, vat_rate = _submit(form, services.create_vat_rate)
    if done:
        flash(f"VAT rate {vat_rate.code} added.", "success")
        return redirect_to(url_for("catalog.vat_rates"))
    return render("catalog/vat_rates.html", block="vat_rate_form", status=422,
                  **_vat_rates_context(form))


@bp.route("/vat-rates/<int:vat_rate_id>/edit", methods=["GET", "POST"])
@requires(TAX_EDITORS)
def edit_vat_rate(vat_rate_id: int) -> Response:
    vat_rate = get_or_404(VatRate, vat_rate_id)
    form = VatRateForm(obj=vat_rate)
    done, _ = _submit(form, lambda values: services.update_vat_rate(vat_rate, values))
    if done:
        flash(f"VAT rate {vat_rate.code} saved.", "success")
        return redirect_to(url_for("catalog.vat_rates"))
    return _edit_page(form, "catalog/_vat_rate_form.html", f"VAT rate {vat_rate.code}",
                      "vat_rates", url_for("catalog.vat_rates"))


@bp.route("/vat-rates/<int:vat_rate_id>/archive", methods=["POST"])
@requires(TAX_EDITORS)
def archive_vat_rate(vat_rate_id: int) -> Response:
    vat_rate = get_or_404(VatRate, vat_rate_id)
    services.archive_vat_rate(vat_rate)
    db.session.commit()
    flash(f"VAT rate {vat_rate.code} archived: new products cannot use it.", "success")
    return redirect_to(url_for("catalog.vat_rates"))


@bp.route("/vat-rates/<int:vat_rate_id>/unarchive", methods=["POST"])
@requires(TAX_EDITORS)
def unarchive_vat_rate(vat_rate_id: int) -> Response:
    vat_rate = get_or_404(VatRate, vat_rate_id)
    services.unarchive_vat_rate(vat_rate)
    db.session.commit()
    flash(f"VAT rate {vat_rate.code} is in use again.", "success")
    return redirect_to(url_for("catalog.vat_rates"))


# --- product and customer categories -------------------------------------------------------

CATEGORY_MODELS = services.CATEGORY_MODELS


def _categories_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "categories": {kind: db.session.scalars(select(model).order_by(model.name)).all()
                       for kind, model in CATEGORY_MODELS.items()},
        "usage": services.category_usages(),
        "add_forms": {kind: CategoryForm(formdata=None, prefix=kind) for kind in CATEGORY_MODELS},
        "editing": None,
        "rename_form": None,
    }
    context.update(overrides)
    return context


@bp.route("/categories")
@requires(ALL_ROLES)
def categories() -> Response:
    return render("catalog/categories.html", **_categories_context())


def _create_category(kind: str) -> Response:
    form = CategoryForm(prefix=kind)
    model = CATEGORY_MODELS[kind]
    done, category = _submit(form, lambda values: services.create_category(model, values["name"]))
    if done:
        if wants_fragment():
            return render("catalog/categories.html", block=f"{kind}_categories",
                          **_categories_context())
        flash(f"Category {category.name} added.", "success")
        return redirect_to(url_for("catalog.categories"))
    context = _categories_context()
    context["add_forms"][kind] = form
    return render("catalog/categories.html", block=f"{kind}_categories", status=422, **context)


def _category_row(kind: str, category: ProductCategory | CustomerCategory,
                  editing: bool = False, form: CategoryForm | None = None) -> Response:
    """Render one category's row, shown or being renamed (the whole page without htmx)."""
    status = _status(form)
    if not wants_fragment():
        if not editing:
            return redirect_to(url_for("catalog.categories"))
        return render("catalog/categories.html", status=status, **_categories_context(
            editing=f"{kind}-{category.id}", rename_form=form))
    return render("catalog/_category_row.html", kind=kind, category=category,
                  counts=services.category_usage(category), row_editing=editing,
                  rename_form=form, status=status)


def _rename_category(kind: str, category: ProductCategory | CustomerCategory) -> Response:
    if request.method == "GET":
        return _category_row(kind, category, editing=True)
    form = CategoryForm()
    done, _ = _submit(form, lambda values: services.rename_category(category, values["name"]))
    if done:
        return _category_row(kind, category)
    return _category_row(kind, category, editing=True, form=form)


def _delete_category(category: ProductCategory | CustomerCategory) -> Response:
    services.delete_category(category)
    return _removed(f"Category {category.name} deleted.", url_for("catalog.categories"))


@bp.route("/categories/products", methods=["POST"])
@requires(PRICE_EDITORS)
def create_product_category() -> Response:
    return _create_category("product")


@bp.route("/categories/products/<int:product_category_id>")
@requires(ALL_ROLES)
def product_category_row(product_category_id: int) -> Response:
    return _category_row("product", get_or_404(ProductCategory, product_category_id))


@bp.route("/categories/products/<int:product_category_id>/rename", methods=["GET", "POST"])
@requires(PRICE_EDITORS)
def rename_product_category(product_category_id: int) -> Response:
    return _rename_category("product", get_or_404(ProductCategory, product_category_id))


@bp.route("/categories/products/<int:product_category_id>/delete", methods=["POST"])
@requires(PRICE_EDITORS)
def delete_product_category(product_category_id: int) -> Response:
    return _delete_category(get_or_404(ProductCategory, product_category_id))


@bp.route("/categories/customers", methods=["POST"])
@requires(PRICE_EDITORS)
def create_customer_category() -> Response:
    return _create_category("customer")


@bp.route("/categories/customers/<int:customer_category_id>")
@requires(ALL_ROLES)
def customer_category_row(customer_category_id: int) -> Response:
    return _category_row("customer", get_or_404(CustomerCategory, customer_category_id))


@bp.route("/categories/customers/<int:customer_category_id>/rename", methods=["GET", "POST"])
@requires(PRICE_EDITORS)
def rename_customer_category(customer_category_id: int) -> Response:
    return _rename_category("customer", get_or_404(CustomerCategory, customer_category_id))


@bp.route("/categories/customers/<int:customer_category_id>/delete", methods=["POST"])
@requires(PRICE_EDITORS)
def delete_customer_category(customer_category_id: int) -> Response:
    return _delete_category(get_or_404(CustomerCategory, customer_category_id))


# --- price lists ---------------------------------------------------------------------------


def _price_lists_context(form: PriceListForm | None = None) -> dict[str, Any]:
    return {
        "price_lists": db.session.scalars(select(PriceList).order_by(PriceList.name)).all(),
        "item_counts": services.counts_by(PriceListItem.price_list_id),
        "customer_counts": services.counts_by(Customer.price_list_id),
        "form": form or PriceListForm(formdata=None),
    }


@bp.route("/price-lists")
@requires(ALL_ROLES)
def price_lists() -> Response:
    return render("catalog/price_lists.html", **_price_lists_context())


@bp.route("/price-lists/new", methods=["POST"])
@requires(PRICE_EDITORS)
def create_price_list() -> Response:
    form = PriceListForm()
    done, price_list = _submit(form, services.create_price_list)
    if done:
        flash(f"Price list {price_list.name} created: add its prices below.", "success")
        return redirect_to(url_for("catalog.price_list", price_list_id=price_list.id))
    return render("catalog/price_lists.html", block="price_list_form", status=422,
                  **_price_lists_context(form))


def _price_list_context(price_list: PriceList, **overrides: Any) -> dict[str, Any]:
    items = db.session.scalars(
        select(PriceListItem).join(PriceListItem.product)
        .where(PriceListItem.price_list_id == price_list.id)
        .options(selectinload(PriceListItem.product))
        .order_by(Product.name, Product.id)
    ).all()
    customer_count = db.session.scalar(
        select(func.count()).select_from(Customer).where(Customer.price_list_id == price_list.id)
    )
    context: dict[str, Any] = {
        "price_list": price_list,
        "items": items,
        "customer_count": customer_count,
        "item_form": PriceListItemForm(formdata=None, prefix="new"),
        "editing": None,
        "edit_form": None,
    }
    context.update(overrides)
    return context


@bp.route("/price-lists/<int:price_list_id>")
@requires(ALL_ROLES)
def price_list(price_list_id: int) -> Response:
    price_list = get_or_404(PriceList, price_list_id)
    return render("catalog/price_list.html", **_price_list_context(price_list))


@bp.route("/price-lists/<int:price_list_id>/edit", methods=["GET", "POST"])
@requires(PRICE_EDITORS)
def edit_price_list(price_list_id: int) -> Response:
    price_list = get_or_404(PriceList, price_list_id)
    form = PriceListForm(obj=price_list)
    back = url_for("catalog.price_list", price_list_id=price_list.id)
    done, _ = _submit(form, lambda values: services.update_price_list(price_list, values))
    if done:
        flash(f"Price list {price_list.name} saved.", "success")
        return redirect_to(back)
    return _edit_page(form, "catalog/_price_list_form.html", f"Price list {price_list.name}",
                      "price_lists", back)


@bp.route("/price-lists/<int:price_list_id>/delete", methods=["POST"])
@requires(PRICE_EDITORS)
def delete_price_list(price_list_id: int) -> Response:
    price_list = get_or_404(PriceList, price_list_id)
    services.delete_price_list(price_list)
    db.session.commit()
    flash(f"Price list {price_list.name} deleted.", "success")
    return redirect_to(url_for("catalog.price_lists"))


@bp.route("/price-lists/<int:price_list_id>/items", methods=["POST"])
@requires(PRICE_EDITORS)
def add_price_list_item(price_list_id: int) -> Response:
    price_list = get_or_404(PriceList, price_list_id)
    form = PriceListItemForm(prefix="new")
    done, item = _submit(form, lambda values: services.set_price_list_item(price_list, values))
    if done:
        if wants_fragment():
            return render("catalog/price_list.html", block="price_list_items",
                          **_price_list_context(price_list, added=item.id))
        flash(f"{item.product.sku} added to {price_list.name}.", "success")
        return redirect_to(url_for("catalog.price_list", price_list_id=price_list.id))
    return render("catalog/price_list.html", block="price_list_items", status=422,
                  **_price_list_context(price_list, item_form=form))


def _item_row(item: PriceListItem, editing: bool = False,
              form: PriceListItemForm | None = None) -> Response:
    """Render one price's row, shown or being edited (the whole page without htmx)."""
    status = _status(form)
    if not wants_fragment():
        if not editing:
            return redirect_to(url_for("catalog.price_list", price_list_id=item.price_list_id))
        form = form or PriceListItemForm(obj=item, prefix=f"item-{item.id}")
        return render("catalog/price_list.html", status=status, **_price_list_context(
            item.price_list, editing=item.id, edit_form=form))
    return render("catalog/_price_list_item_row.html", item=item, price_list=item.price_list,
                  row_editing=editing, edit_form=form, status=status)


@bp.route("/price-list-items/<int:price_list_item_id>")
@requires(ALL_ROLES)
def price_list_item(price_list_item_id: int) -> Response:
    return _item_row(get_or_404(PriceListItem, price_list_item_id))


@bp.route("/price-list-items/<int:price_list_item_id>/edit", methods=["GET", "POST"])
@requires(PRICE_EDITORS)
def edit_price_list_item(price_list_item_id: int) -> Response:
    item = get_or_404(PriceListItem, price_list_item_id)
    form = PriceListItemForm(obj=item, prefix=f"item-{item.id}")
    if request.method == "GET":
        return _item_row(item, editing=True, form=form)
    price_list = item.price_list
    done, _ = _submit(form, lambda values: services.set_price_list_item(price_list, values, item))
    if done:
        return _item_row(item)
    return _item_row(item, editing=True, form=form)


@bp.route("/price-list-items/<int:price_list_item_id>/remove", methods=["POST"])
@requires(PRICE_EDITORS)
def remove_price_list_item(price_list_item_id: int) -> Response:
    item = get_or_404(PriceListItem, price_list_item_id)
    back = url_for("catalog.price_list", price_list_id=item.price_list_id)
    message = f"{item.product.sku} taken off {item.price_list.name}."
    services.remove_price_list_item(item)
    return _removed(message, back)


# --- price rules ---------------------------------------------------------------------------


def _price_rules_context(**overrides: Any) -> dict[str, Any]:
    prices = (
        select(CustomerPrice).join(CustomerPrice.customer).join(CustomerPrice.product)
        .options(selectinload(CustomerPrice.customer), selectinload(CustomerPrice.product))
        .order_by(Customer.name, Product.name, CustomerPrice.valid_from, CustomerPrice.id)
    )
    discounts = db.session.scalars(
        select(CategoryDiscount)
        .join(CategoryDiscount.customer_category).join(CategoryDiscount.product_category)
        .options(selectinload(CategoryDiscount.customer_category),
                 selectinload(CategoryDiscount.product_category))
        .order_by(CustomerCategory.name, ProductCategory.name)
    ).all()
    context: dict[str, Any] = {
        "page": paginate(prices, request.args.get("page", 1, type=int), PAGE_SIZE),
        "discounts": discounts,
        "price_form": None,
        "discount_form": None,
    }
    context.update(overrides)
    context["price_form"] = context["price_form"] or CustomerPriceForm(formdata=None)
    context["discount_form"] = context["discount_form"] or CategoryDiscountForm(formdata=None)
    return context


@bp.route("/price-rules")
@requires(ALL_ROLES)
def price_rules() -> Response:
    if wants_fragment() and request.headers.get("HX-Target") == "customer-prices":
        return render("catalog/price_rules.html", block="customer_prices",
                      **_price_rules_context())
    return render("catalog/price_rules.html", **_price_rules_context())


@bp.route("/price-rules/customer-prices", methods=["POST"])
@requires(PRICE_EDITORS)
def create_customer_price() -> Response:
    form = CustomerPriceForm()
    done, price = _submit(form, services.create_customer_price)
    if done:
        flash(f"{price.customer.name} pays {money(price.price, price.currency)} "
              f"for {price.product.sku}.", "success")
        return redirect_to(url_for("catalog.price_rules"))
    return render("catalog/price_rules.html", block="customer_price_form", status=422,
                  **_price_rules_context(price_form=form))


@bp.route("/price-rules/customer-prices/<int:customer_price_id>/edit", methods=["GET", "POST"])
@requires(PRICE_EDITORS)
def edit_customer_price(customer_price_id: int) -> Response:
    price = get_or_404(CustomerPrice, customer_price_id)
    form = CustomerPriceForm(obj=price)
    done, _ = _submit(form, lambda values: services.update_customer_price(price, values))
    if done:
        flash("Customer price saved.", "success")
        return redirect_to(url_for("catalog.price_rules"))
    return _edit_page(form, "catalog/_customer_price_form.html",
                      f"Price of {price.product.sku} for {price.customer.name}", "price_rules",
                      url_for("catalog.price_rules"))


@bp.route("/price-rules/customer-prices/<int:customer_price_id>/delete", methods=["POST"])
@requires(PRICE_EDITORS)
def delete_customer_price(customer_price_id: int) -> Response:
    services.delete_customer_price(get_or_404(CustomerPrice, customer_price_id))
    return _removed("Customer price deleted.", url_for("catalog.price_rules"))


@bp.route("/price-rules/category-discounts", methods=["POST"])
@requires(PRICE_EDITORS)
def create_category_discount() -> Response:
    form = CategoryDiscountForm()
    done, discount = _submit(form, services.create_category_discount)
    if done:
        flash(f"{discount.customer_category.name} gets "
              f"{services.plain_decimal(discount.percent)} % on "
              f"{discount.product_category.name}.", "success")
        return redirect_to(url_for("catalog.price_rules"))
    return render("catalog/price_rules.html", block="category_discount_form", status=422,
                  **_price_rules_context(discount_form=form))


@bp.route("/price-rules/category-discounts/<int:category_discount_id>/edit",
          methods=["GET", "POST"])
@requires(PRICE_EDITORS)
def edit_category_discount(category_discount_id: int) -> Response:
    discount = get_or_404(CategoryDiscount, category_discount_id)
    form = CategoryDiscountForm(obj=discount)
    done, _ = _submit(form, lambda values: services.update_category_discount(discount, values))
    if done:
        flash("Category discount saved.", "success")
        return redirect_to(url_for("catalog.price_rules"))
    return _edit_page(form, "catalog/_category_discount_form.html", "Category discount",
                      "price_rules", url_for("catalog.price_rules"))


@bp.route("/price-rules/category-discounts/<int:category_discount_id>/delete",
          methods=["POST"])
@requires(PRICE_EDITORS)
def delete_category_discount(category_discount_id: int) -> Response:
    services.delete_category_discount(get_or_404(CategoryDiscount, category_discount_id))
    return _removed("Category discount deleted.", url_for("catalog.price_rules"))


# --- exchange rates ------------------------------------------------------------------------


def _exchange_rates_context(form: ExchangeRateForm | None = None) -> dict[str, Any]:
    rates = select(ExchangeRate).order_by(
        ExchangeRate.valid_on.desc(), ExchangeRate.base_currency, ExchangeRate.quote_currency
    )
    return {
        "page": paginate(rates, request.args.get("page", 1, type=int), PAGE_SIZE),
        "form": form or ExchangeRateForm(formdata=None),
    }


@bp.route("/exchange-rates")
@requires(ALL_ROLES)
def exchange_rates() -> Response:
    if wants_fragment() and request.headers.get("HX-Target") == "exchange-rate-results":
        return render("catalog/exchange_rates.html", block="exchange_rate_results",
                      **_exchange_rates_context())
    return render("catalog/exchange_rates.html", **_exchange_rates_context())


@bp.route("/exchange-rates/new", methods=["POST"])
@requires(TAX_EDITORS)
def create_exchange_rate() -> Response:
    form = ExchangeRateForm()
    done, rate = _submit(form, services.create_exchange_rate)
    if done:
        flash(f"1 {rate.base_currency} = {services.plain_decimal(rate.rate)} "
              f"{rate.quote_currency} "
              f"on {rate.valid_on:%Y-%m-%d} recorded.", "success")
        return redirect_to(url_for("catalog.exchange_rates"))
    return render("catalog/exchange_rates.html", block="exchange_rate_form", status=422,
                  **_exchange_rates_context(form))


@bp.route("/exchange-rates/<int:exchange_rate_id>/delete", methods=["POST"])
@requires(TAX_EDITORS)
def delete_exchange_rate(exchange_rate_id: int) -> Response:
    services.delete_exchange_rate(get_or_404(ExchangeRate, exchange_rate_id))
    return _removed("Exchange rate deleted.", url_for("catalog.exchange_rates"))
