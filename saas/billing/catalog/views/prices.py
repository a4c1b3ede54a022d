"""Price lists and their prices; price rules: customer prices and category discounts."""

from __future__ import annotations

from typing import Any

from flask import flash, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from saas.billing.catalog import services
from saas.billing.catalog.forms import (
    CategoryDiscountForm,
    CustomerPriceForm,
    PriceListForm,
    PriceListItemForm,
)
from saas.billing.catalog.models import (
    CategoryDiscount,
    CustomerPrice,
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
)
from saas.billing.catalog.views import bp
from saas.billing.catalog.views.common import (
    PAGE_SIZE,
    PRICE_EDITORS,
    edit_page,
    form_status,
    money,
    removed,
    submit,
)
from saas.billing.customers.models import Customer, CustomerCategory
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.pagination import paginate
from saas.tenants.access import ALL_ROLES, get_or_404, requires

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
    done, price_list = submit(form, services.create_price_list)
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
    done, _ = submit(form, lambda values: services.update_price_list(price_list, values))
    if done:
        flash(f"Price list {price_list.name} saved.", "success")
        return redirect_to(back)
    return edit_page(form, "catalog/_price_list_form.html", f"Price list {price_list.name}",
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
    done, item = submit(form, lambda values: services.set_price_list_item(price_list, values))
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
    status = form_status(form)
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
    done, _ = submit(form, lambda values: services.set_price_list_item(price_list, values, item))
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
    return removed(message, back)


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
    done, price = submit(form, services.create_customer_price)
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
    done, _ = submit(form, lambda values: services.update_customer_price(price, values))
    if done:
        flash("Customer price saved.", "success")
        return redirect_to(url_for("catalog.price_rules"))
    return edit_page(form, "catalog/_customer_price_form.html",
                      f"Price of {price.product.sku} for {price.customer.name}", "price_rules",
                      url_for("catalog.price_rules"))


@bp.route("/price-rules/customer-prices/<int:customer_price_id>/delete", methods=["POST"])
@requires(PRICE_EDITORS)
def delete_customer_price(customer_price_id: int) -> Response:
    services.delete_customer_price(get_or_404(CustomerPrice, customer_price_id))
    return removed("Customer price deleted.", url_for("catalog.price_rules"))


@bp.route("/price-rules/category-discounts", methods=["POST"])
@requires(PRICE_EDITORS)
def create_category_discount() -> Response:
    form = CategoryDiscountForm()
    done, discount = submit(form, services.create_category_discount)
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
    done, _ = submit(form, lambda values: services.update_category_discount(discount, values))
    if done:
        flash("Category discount saved.", "success")
        return redirect_to(url_for("catalog.price_rules"))
    return edit_page(form, "catalog/_category_discount_form.html", "Category discount",
                      "price_rules", url_for("catalog.price_rules"))


@bp.route("/price-rules/category-discounts/<int:category_discount_id>/delete",
          methods=["POST"])
@requires(PRICE_EDITORS)
def delete_category_discount(category_discount_id: int) -> Response:
    services.delete_category_discount(get_or_404(CategoryDiscount, category_discount_id))
    return removed("Category discount deleted.", url_for("catalog.price_rules"))
