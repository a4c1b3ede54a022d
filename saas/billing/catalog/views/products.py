"""Products and the product and customer categories."""

from __future__ import annotations

from typing import Any

from flask import flash, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from saas.billing.catalog import services
from saas.billing.catalog.forms import CategoryForm, ProductForm
from saas.billing.catalog.models import (
    CustomerPrice,
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
    VatRate,
)
from saas.billing.catalog.views import bp
from saas.billing.catalog.views.common import (
    PAGE_SIZE,
    PRICE_EDITORS,
    form_status,
    removed,
    submit,
)
from saas.billing.customers.models import Customer, CustomerCategory
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.pagination import paginate
from saas.tenants.access import ALL_ROLES, get_or_404, requires

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
                  product=product, has_vat_rates=has_vat_rates, status=form_status(form))


@bp.route("/products/new", methods=["GET", "POST"])
@requires(PRICE_EDITORS)
def create_product() -> Response:
    form = ProductForm()
    done, product = submit(form, services.create_product)
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
    done, _ = submit(form, lambda values: services.update_product(product, values))
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
    done, category = submit(form, lambda values: services.create_category(model, values["name"]))
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
    status = form_status(form)
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
    done, _ = submit(form, lambda values: services.rename_category(category, values["name"]))
    if done:
        return _category_row(kind, category)
    return _category_row(kind, category, editing=True, form=form)


def _delete_category(category: ProductCategory | CustomerCategory) -> Response:
    services.delete_category(category)
    return removed(f"Category {category.name} deleted.", url_for("catalog.categories"))


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
