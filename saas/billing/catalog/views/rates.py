"""VAT rates and exchange rates: the tables that decide tax and conversions."""

from __future__ import annotations

from typing import Any

from flask import flash, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.billing.catalog import services
from saas.billing.catalog.forms import ExchangeRateForm, VatRateForm
from saas.billing.catalog.models import ExchangeRate, Product, VatRate
from saas.billing.catalog.views import bp
from saas.billing.catalog.views.common import (
    PAGE_SIZE,
    TAX_EDITORS,
    edit_page,
    removed,
    submit,
)
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.pagination import paginate
from saas.tenants.access import ALL_ROLES, get_or_404, requires

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
    done, vat_rate = submit(form, services.create_vat_rate)
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
    done, _ = submit(form, lambda values: services.update_vat_rate(vat_rate, values))
    if done:
        flash(f"VAT rate {vat_rate.code} saved.", "success")
        return redirect_to(url_for("catalog.vat_rates"))
    return edit_page(form, "catalog/_vat_rate_form.html", f"VAT rate {vat_rate.code}",
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
    done, rate = submit(form, services.create_exchange_rate)
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
    return removed("Exchange rate deleted.", url_for("catalog.exchange_rates"))
