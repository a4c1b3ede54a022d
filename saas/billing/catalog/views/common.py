"""What the catalog pages share: roles, the money filter, submitting a form, refusals."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from babel import Locale
from babel.numbers import format_decimal, parse_pattern
from flask import flash, g, make_response, request
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from saas.billing.catalog import services
from saas.billing.catalog.forms import CatalogForm
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.integrity import Duplicate, add_error, commit_or_field_error
from saas.tenants.access import MANAGERS
from saas.tenants.models import Role

T = TypeVar("T")

# Everyone may look; these may change products, prices and categories ...
PRICE_EDITORS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
# ... and these the VAT table and the exchange rates, which decide tax and conversions.
TAX_EDITORS = MANAGERS | {Role.ACCOUNTANT}
PAGE_SIZE = 25

# The names that are unique in a tenant, by constraint: the field and the service's message
# for a name taken, shown when another request saved the same name after the service checked.
DUPLICATES = {
    "uq_products_tenant_id_sku": ("sku", "The SKU {sku} is used by another product."),
    "uq_vat_rates_tenant_id_code": ("code", "The code {code} is used by another VAT rate."),
    "uq_product_categories_tenant_id_name": ("name", "There is a category named {name} already."),
    "uq_customer_categories_tenant_id_name": ("name",
                                              "There is a category named {name} already."),
    "uq_price_lists_tenant_id_name": ("name", "There is a price list named {name} already."),
}


# Parsed once: a list shows two amounts a row, and parsing the pattern and the locale
# name took four fifths of each amount's formatting.
MONEY_PATTERN = parse_pattern("#,##0.00##")


@cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def money(value: Decimal | None, currency: str = "") -> str:
    """Show an amount with 2 decimals (up to 4 when it has them) and its currency code."""
    if value is None:
        return "—"
    tenant = g.get("tenant")
    amount = format_decimal(value, format=MONEY_PATTERN,
                            locale=_locale(tenant.locale if tenant else "en"))
    return f"{amount} {currency}".rstrip()


def refuse(form: FlaskForm, error: services.CatalogError) -> None:
    """Show a service's refusal as the error of the field it concerns."""
    db.session.rollback()
    add_error(form, error.field or "", str(error))


def _duplicates(values: dict[str, Any]) -> dict[str, Duplicate]:
    return {name: (field, message.format(**values))
            for name, (field, message) in DUPLICATES.items() if field in values}


def submit(form: CatalogForm, change: Callable[[dict[str, Any]], T]) -> tuple[bool, T | None]:
    """Validate the form, make the change and commit; a refusal becomes a field error.

    So does a name taken by another request between the service's check and the commit.
    """
    if form.validate_on_submit():
        values = form.values()
        try:
            return commit_or_field_error(form, _duplicates(values), lambda: change(values))
        except services.CatalogError as exc:
            refuse(form, exc)
    return False, None


def removed(message: str, back: str) -> Response:
    """Commit a removal; htmx swaps the row for nothing, a browser goes back to the page."""
    db.session.commit()
    if wants_fragment():
        response = make_response("", 200)
        response.vary.add("HX-Request")
        return response
    flash(message, "success")
    return redirect_to(back)


def form_status(form: FlaskForm | None) -> int:
    return 422 if form is not None and form.errors else 200


def edit_page(form: FlaskForm, template: str, title: str, tab: str, cancel_url: str,
              **context: Any) -> Response:
    """Render the page that edits one object of a list (for htmx, only its form)."""
    return render("catalog/edit.html", block="edit_form", form=form, form_template=template,
                  title=title, tab=tab, action=request.path, cancel_url=cancel_url,
                  submit_label="Save", status=form_status(form), **context)
