"""Customer register pages: the list with active search, the customer page, editing."""

from __future__ import annotations

from flask import flash, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.billing.catalog.models import CustomerPrice
from saas.billing.catalog.prices import quote_price
from saas.billing.contracts.volumes import customer_volumes
from saas.billing.customers import services
from saas.billing.customers.forms import ContactForm, CustomerForm, PriceCheckForm, SiteForm
from saas.billing.customers.models import Contact, Customer, CustomerCategory, Site
from saas.billing.documents import queries as document_queries
from saas.billing.dunning.queries import open_case_of
from saas.billing.payments.forms import METHOD_CHOICES
from saas.billing.payments.queries import customer_accounts
from saas.billing.payments.views.statement import statement_context
from saas.billing.reminders import services as reminder_services
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.integrity import Duplicate, commit_or_field_error
from saas.pagination import paginate, paginate_with_window_count
from saas.tenants.access import (
    ALL_ROLES,
    MANAGERS,
    current_tenant,
    get_or_404,
    requires,
    staff_blueprint,
    tenant_today,
)
from saas.tenants.models import Role
from saas.tenants.services import ServiceError

bp = staff_blueprint("customers", __name__, "/customers")

EDITORS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
PAGE_SIZE = 25


def _list_args() -> dict[str, object]:
    """The list's query string, cleaned, so links and the pager keep every filter."""
    args = {
        "q": request.args.get("q", "").strip(),
        "category": request.args.get("category", type=int),
        "region": request.args.get("region", "").strip(),
        "country": request.args.get("country", "").strip().upper(),
        "archived": request.args.get("archived") == "1",
        "sort": request.args.get("sort", "name"),
    }
    if args["sort"] not in services.SORTS:
        args["sort"] = "name"
    return args


def _url_args(args: dict[str, object]) -> dict[str, object]:
    """The non-default filters, for links: empty ones and the default sort are left out."""
    return {
        k: ("1" if v is True else v) for k, v in args.items()
        if v not in ("", None, False) and not (k == "sort" and v == "name")
    }


@bp.route("/")
@requires(ALL_ROLES)
def index() -> Response:
    args = _list_args()
    statement = services.customer_search(
        args["q"], category_id=args["category"], region=args["region"],
        country=args["country"], include_archived=args["archived"], sort=args["sort"],
    )
    number = request.args.get("page", 1, type=int)
    page = None
    if args["q"] and not (args["category"] or args["region"] or args["country"]):
        # Found, sorted by name and counted in the search words' index alone.
        page = services.search_page(args["q"], number, PAGE_SIZE,
                                    include_archived=args["archived"], sort=args["sort"])
    if page is None and args["q"]:  # the matches are gathered first: count them alike
        page = paginate_with_window_count(statement, number, PAGE_SIZE)
    elif page is None:
        page = paginate(statement, number, PAGE_SIZE)
    context = {"page": page, "args": args, "url_args": _url_args(args)}
    if wants_fragment() and request.headers.get("HX-Target") == "customer-results":
        # Search as you type: only the results; the filter options stay on the page. The
        # address bar gets the tidy URL of this search, without empty filters.
        response = render("customers/list.html", block="customer_results", **context)
        response.headers["HX-Push-Url"] = url_for(
            "customers.index", **context["url_args"],
            **({"page": page.number} if page.number > 1 else {}),
        )
        return response
    return render(
        "customers/list.html",
        categories=db.session.scalars(select(CustomerCategory).order_by(CustomerCategory.name)),
        regions=services.regions(),
        **context,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(EDITORS)
def create() -> Response:
    form = CustomerForm()
    if request.method == "GET":
        form.currency.data = form.currency.data or current_tenant().default_currency
    if form.validate_on_submit():
        customer = services.create_customer(form.values())
        db.session.commit()
        flash(f"Customer {customer.number} {customer.name} registered.", "success")
        return redirect_to(url_for("customers.show", customer_id=customer.id))
    return render("customers/form.html", block="customer_form" if form.errors else None,
                  form=form, customer=None, status=422 if form.errors else 200)


@bp.route("/<int:customer_id>")
@requires(ALL_ROLES)
def show(customer_id: int) -> Response:
    return render("customers/show.html", **_page(get_or_404(Customer, customer_id)))


def _page(customer: Customer, **extra: object) -> dict[str, object]:
    """Everything the whole customer page shows (R1.3)."""
    context = {
        "customer": customer,
        "prices": db.session.scalars(
            select(CustomerPrice).where(CustomerPrice.customer_id == customer.id)).all(),
        "documents": document_queries.customer_documents(customer.id),
        "statistics": document_queries.customer_statistics(customer.id),
        # R1.3, R3.12: open receivables, credit and the balance per currency; the statement.
        "accounts": customer_accounts(customer),
        "payment_methods": METHOD_CHOICES,
        "today": tenant_today(),
        **statement_context(customer),
        "reminder_pause": reminder_services.pause_of(customer=customer),
        # R6.6: the customer's open collection case, if any.
        "collection_case": open_case_of(customer.id),
        # R4.6: the flat-fee lines of its contracts in service, this period.
        "volumes": customer_volumes(customer.id, tenant_today()),
        "contact_form": ContactForm(formdata=None),
        "site_form": SiteForm(formdata=None),
        "price_form": PriceCheckForm(formdata=None, meta={"csrf": False}),
    }
    context.update(extra)
    return context


@bp.route("/<int:customer_id>/price")
@requires(ALL_ROLES)
def price_check(customer_id: int) -> Response:
    """What this customer pays for a product: the pricing engine's answer and its reasons."""
    customer = get_or_404(Customer, customer_id)
    form = PriceCheckForm(request.args, meta={"csrf": False})
    quote = error = None
    if request.args and form.validate():
        try:
            quote = quote_price(customer.id, form.product_id.data, form.quantity.data,
                                form.on.data, form.currency.data or None)
        except (ValueError, LookupError) as exc:
            error = str(exc)
    context = {"price_form": form, "quote": quote, "price_error": error}
    return render("customers/show.html", block="price_check",
                  status=422 if form.errors or error else 200,
                  **(_page(customer, **context) if not wants_fragment()
                     else {"customer": customer, **context}))


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@requires(EDITORS)
def edit(customer_id: int) -> Response:
    """The details panel as a form; htmx swaps it in place and back."""
    customer = get_or_404(Customer, customer_id)
    form = CustomerForm(obj=customer)
    if form.validate_on_submit():
        services.update_customer(customer, form.values())
        db.session.commit()
        if wants_fragment():
            return render("customers/show.html", block="customer_details", customer=customer)
        flash("Customer saved.", "success")
        return redirect_to(url_for("customers.show", customer_id=customer.id))
    return render("customers/form.html", block="customer_form" if wants_fragment() else None,
                  form=form, customer=customer, status=422 if form.errors else 200)


@bp.route("/<int:customer_id>/details")
@requires(ALL_ROLES)
def details(customer_id: int) -> Response:
    """The read-only details panel (Cancel in the in-place editor)."""
    customer = get_or_404(Customer, customer_id)
    if not wants_fragment():
        return render("customers/show.html", **_page(customer))
    return render("customers/show.html", block="customer_details", customer=customer)


@bp.route("/<int:customer_id>/archive", methods=["POST"])
@requires(EDITORS)
def archive(customer_id: int) -> Response:
    customer = get_or_404(Customer, customer_id)
    if customer.is_archived:
        services.restore_customer(customer)
        flash(f"{customer.name} is active again.", "success")
    else:
        services.archive_customer(customer)
        flash(f"{customer.name} is archived.", "success")
    db.session.commit()
    return redirect_to(url_for("customers.show", customer_id=customer.id))


# --- contacts and sites: rows edited in place ----------------------------------------------


def _panel(customer: Customer, block: str, editing: int | None = None,
           **forms: object) -> Response:
    status = 422 if any(getattr(f, "errors", None) for f in forms.values()) else 200
    context = {"contact_form": ContactForm(formdata=None), "site_form": SiteForm(formdata=None)}
    context.update(forms)
    if not wants_fragment():
        if status == 422:
            flash("Not saved: " + "; ".join(
                f"{name}: {' '.join(errors)}" for form in forms.values()
                for name, errors in form.errors.items()
            ), "error")
        return redirect_to(url_for("customers.show", customer_id=customer.id))
    return render("customers/show.html", block=block, customer=customer, status=status,
                  editing=editing, **context)


@bp.route("/<int:customer_id>/contacts", methods=["POST"])
@requires(EDITORS)
def add_contact(customer_id: int) -> Response:
    customer = get_or_404(Customer, customer_id)
    form = ContactForm()
    if form.validate_on_submit():
        services.add_contact(customer, form.values())
        db.session.commit()
        return _panel(customer, "contacts")
    return _panel(customer, "contacts", contact_form=form)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@requires(EDITORS)
def edit_contact(contact_id: int) -> Response:
    """Edit one contact in its row; htmx swaps the contacts panel."""
    contact = get_or_404(Contact, contact_id)
    customer = contact.customer
    form = ContactForm(obj=contact) if request.method == "GET" else ContactForm()
    if request.method == "POST" and form.validate_on_submit():
        services.update_contact(contact, form.values())
        db.session.commit()
        return _panel(customer, "contacts")
    if request.method == "GET" and not wants_fragment():
        return render("customers/show.html", **_page(customer, edit_form=form,
                                                      editing=contact.id))
    return _panel(customer, "contacts", edit_form=form, editing=contact.id)


@bp.route("/contacts/<int:contact_id>/delete", methods=["POST"])
@requires(EDITORS)
def delete_contact(contact_id: int) -> Response:
    contact = get_or_404(Contact, contact_id)
    customer = contact.customer
    services.remove_contact(contact)
    db.session.commit()
    return _panel(customer, "contacts")


@bp.route("/<int:customer_id>/sites", methods=["POST"])
@requires(EDITORS)
def add_site(customer_id: int) -> Response:
    customer = get_or_404(Customer, customer_id)
    form = SiteForm()
    if form.validate_on_submit():
        values = form.values()
        try:
            saved, _ = commit_or_field_error(form, _site_code_taken(values["code"]),
                                             lambda: services.add_site(customer, values))
        except ServiceError as exc:
            db.session.rollback()
            form.code.errors = [str(exc)]
        else:
            if saved:
                return _panel(customer, "sites")
    return _panel(customer, "sites", site_form=form)


def _site_code_taken(code: str) -> dict[str, Duplicate]:
    """The service's refusal of a taken code, for a site another request saved meanwhile."""

    def message() -> str:
        other = db.session.scalar(select(Site).where(Site.code == code))
        if other is None:
            return f"Site code {code} is used by another site."
        return f"Site code {code} is used by {other.name} ({other.customer.name})."

    return {"uq_sites_tenant_id_code": ("code", message)}


@bp.route("/sites/<int:site_id>/delete", methods=["POST"])
@requires(EDITORS)
def delete_site(site_id: int) -> Response:
    site = get_or_404(Site, site_id)
    customer = site.customer
    services.remove_site(site)
    db.session.commit()
    return _panel(customer, "sites")
