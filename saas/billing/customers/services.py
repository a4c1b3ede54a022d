"""State changes of the customer register: one function per change; callers commit."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, any_, delete, func, insert, intersect, select, update
from sqlalchemy.orm import selectinload

from saas.billing.customers.models import (
    Contact,
    Customer,
    CustomerCategory,
    CustomerSearchTerm,
    Site,
)
from saas.extensions import db
from saas.pagination import Page
from saas.tenants import audit, scoping
from saas.tenants.models import Tenant
from saas.tenants.services import ServiceError

FIRST_CUSTOMER_NUMBER = 10001
# Runs of letters or of digits: the pieces of "post@havbris.example", "no974760673mva".
_PIECES = re.compile(r"[^\W\d_]+|\d+")
# Above every character: term < prefix + _HIGHEST bounds a prefix range.
_HIGHEST = "\U0010ffff"

CUSTOMER_FIELDS = (
    "name", "org_number", "vat_id", "country", "address_line1", "address_line2",
    "postal_code", "city", "delivery_address_line1", "delivery_address_line2",
    "delivery_postal_code", "delivery_city", "delivery_country", "language", "currency",
    "payment_terms_days", "category_id", "price_list_id", "discount_percent",
    "delivery_preference", "region", "tags", "notes",
)
CONTACT_FIELDS = ("name", "email", "phone", "receives_invoices", "portal_access")
SITE_FIELDS = ("code", "name", "address_line1", "postal_code", "city", "country",
               "active_from", "active_to")


def next_customer_number() -> int:
    """The next number in the tenant's customer series (taken under a lock on PostgreSQL)."""
    tenant_id = scoping.require_tenant_id()
    # Lock the tenant row so two requests cannot take the same number; the unique
    # constraint on (tenant_id, number) stays as the backstop.
    db.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    highest = db.session.scalar(select(func.max(Customer.number)))
    return max(FIRST_CUSTOMER_NUMBER, (highest or 0) + 1)


def _check_number_free(number: int, customer: Customer | None = None) -> None:
    other = db.session.scalar(select(Customer).where(Customer.number == number))
    if other is not None and other is not customer:
        raise ServiceError(f"Customer number {number} is taken by {other.name}.")


def create_customer(
    values: dict[str, Any], number: int | None = None, *, index: bool = True
) -> Customer:
    """Register a customer; the number is the next in the series unless given.

    index=False leaves the search words to the caller (an import indexes once per customer).
    """
    if number is not None:
        _check_number_free(number)
    customer = Customer(number=number or next_customer_number())
    for name in CUSTOMER_FIELDS:
        if name in values:
            setattr(customer, name, values[name])
    db.session.add(customer)
    db.session.flush()
    if index:
        refresh_search_text(customer)
    audit.record("customer.created", customer, f"Customer {customer.number} {customer.name}")
    return customer


def update_customer(customer: Customer, values: dict[str, Any]) -> None:
    """Change a customer's details; the audit entry lists what changed."""
    changes = {}
    for name in CUSTOMER_FIELDS:
        if name in values and getattr(customer, name) != values[name]:
            changes[name] = [str(getattr(customer, name)), str(values[name])]
            setattr(customer, name, values[name])
    if changes:
        refresh_search_text(customer)
        audit.record("customer.updated", customer,
                     f"Customer {customer.number} {customer.name} changed", changes)


def archive_customer(customer: Customer) -> None:
    """Hide a customer from lists and pickers; its history stays."""
    _set_archived(customer, True)
    audit.record("customer.archived", customer, f"Customer {customer.number} archived")


def restore_customer(customer: Customer) -> None:
    _set_archived(customer, False)
    audit.record("customer.restored", customer, f"Customer {customer.number} restored")


def _set_archived(customer: Customer, archived: bool) -> None:
    customer.is_archived = archived
    db.session.execute(
        update(CustomerSearchTerm).where(CustomerSearchTerm.customer_id == customer.id)
        .values(is_archived=archived).execution_options(synchronize_session=False)
    )


def add_contact(customer: Customer, values: dict[str, Any], *, index: bool = True) -> Contact:
    contact = Contact(**{name: values[name] for name in CONTACT_FIELDS if name in values})
    customer.contacts.append(contact)
    if index:
        refresh_search_text(customer)
    db.session.flush()
    return contact


def update_contact(contact: Contact, values: dict[str, Any]) -> None:
    for name in CONTACT_FIELDS:
        if name in values:
            setattr(contact, name, values[name])
    refresh_search_text(contact.customer)


def remove_contact(contact: Contact) -> None:
    customer = contact.customer
    customer.contacts.remove(contact)
    refresh_search_text(customer)


def _check_site_code_free(code: str, site: Site | None = None) -> None:
    other = db.session.scalar(select(Site).where(Site.code == code))
    if other is not None and other is not site:
        raise ServiceError(f"Site code {code} is used by {other.name} ({other.customer.name}).")


def add_site(customer: Customer, values: dict[str, Any], *, index: bool = True) -> Site:
    _check_site_code_free(values["code"])
    site = Site(**{name: values[name] for name in SITE_FIELDS if name in values})
    customer.sites.append(site)
    if index:
        refresh_search_text(customer)
    db.session.flush()
    return site


def update_site(site: Site, values: dict[str, Any]) -> None:
    if "code" in values:
        _check_site_code_free(values["code"], site)
    for name in SITE_FIELDS:
        if name in values:
            setattr(site, name, values[name])
    refresh_search_text(site.customer)


def remove_site(site: Site) -> None:
    customer = site.customer
    customer.sites.remove(site)
    refresh_search_text(customer)


def refresh_search_text(customer: Customer) -> None:
    """Rebuild the words the search box finds this customer by."""
    customer.search_text = _search_text(customer)
    if customer.id is None:
        db.session.flush()
    db.session.execute(
        delete(CustomerSearchTerm).where(CustomerSearchTerm.customer_id == customer.id)
    )
    _insert_search_terms([customer])


def _search_text(customer: Customer) -> str:
    parts: list[str] = [customer.name or "", str(customer.number or ""),
                        customer.org_number or "", customer.vat_id or "",
                        customer.city or "", customer.region or ""]
    parts += [contact.email for contact in customer.contacts if contact.email]
    parts += [contact.name for contact in customer.contacts]
    parts += [f"{site.code} {site.name}" for site in customer.sites]
    return " ".join(p for p in parts if p).lower()


def _insert_search_terms(customers: Iterable[Customer]) -> None:
    rows = [
        {"customer_id": customer.id, "term": term, "name": customer.name,
         "is_archived": bool(customer.is_archived)}
        for customer in customers
        for term in search_terms(customer.search_text)
    ]
    for start in range(0, len(rows), 10_000):
        db.session.execute(insert(CustomerSearchTerm), rows[start:start + 10_000])


def register_customers(
    entries: Iterable[tuple[dict[str, Any], int | None, list[dict], list[dict]]],
    at_least: int = 0,
) -> list[Customer]:
    """Register many new customers at once (imports): (values, number, contacts, sites).

    Numbers are taken in one go: a given number is kept, the others continue the series
    after the highest (and not below at_least). Everything is flushed once and the search
    words are inserted at once. The caller has checked numbers and site codes; the unique
    constraints stay the backstop.
    """
    entries = list(entries)
    given = [number for _, number, _, _ in entries if number is not None]
    # New numbers continue the series after the highest one, the file's included.
    next_number = max(next_customer_number(), max(given, default=0) + 1, at_least)
    customers = []
    for values, number, contacts, sites in entries:
        if number is None:
            number = next_number
            next_number += 1
        customer = Customer(number=number)
        for name in CUSTOMER_FIELDS:
            if name in values:
                setattr(customer, name, values[name])
        customer.contacts = [
            Contact(**{k: c[k] for k in CONTACT_FIELDS if k in c}) for c in contacts
        ]
        customer.sites = [Site(**{k: v[k] for k in SITE_FIELDS if k in v}) for v in sites]
        customer.search_text = _search_text(customer)
        customers.append(customer)
    db.session.add_all(customers)
    db.session.flush()
    _insert_search_terms(customers)
    return customers


def search_terms(text: str) -> list[str]:
    """The words of a text, and each word from every inner start of a piece on.

    "no974760673mva" is also found as "974760673…", "post@havbris.example" as
    "havbris…", "hb-7" as "7": people type the part they remember.
    """
    terms: set[str] = set()
    for word in text.lower().split():
        terms.add(word[:100])
        for piece in _PIECES.finditer(word):
            terms.add(piece.group()[:100])
            terms.add(word[piece.start():][:100])
    return sorted(terms)


def category_named(name: str) -> CustomerCategory:
    """The customer category of that name, created when missing (imports use it)."""
    category = db.session.scalar(select(CustomerCategory).where(CustomerCategory.name == name))
    if category is None:
        category = CustomerCategory(name=name)
        db.session.add(category)
        db.session.flush()
    return category


# --- finding customers ---------------------------------------------------------------------

SORTS = {
    "number": (Customer.number,),
    "-number": (Customer.number.desc(),),
    "name": (Customer.name, Customer.id),
    "-name": (Customer.name.desc(), Customer.id),
    "city": (Customer.city, Customer.name),
    "-city": (Customer.city.desc(), Customer.name),
    "-created": (Customer.created_at.desc(), Customer.id.desc()),
}


def customer_search(
    query: str = "",
    *,
    category_id: int | None = None,
    region: str = "",
    country: str = "",
    include_archived: bool = False,
    sort: str = "name",
) -> Select[Any]:
    """The customers that match every word of query, with the list's filters, sorted."""
    statement = select(Customer)
    words = _words(query)
    if words:
        # Customers having a word that starts with each query word ("havb" finds
        # "havbris"): prefix ranges on the words' b-tree. The matching ids are collected
        # first, so the planner never walks every customer in name order probing for them.
        per_word = [
            select(CustomerSearchTerm.customer_id).where(
                CustomerSearchTerm.term >= word, CustomerSearchTerm.term < word + _HIGHEST
            )
            for word in words
        ]
        matches = (intersect(*per_word) if len(per_word) > 1 else per_word[0].distinct())
        if db.session.get_bind().dialect.name == "postgresql":
            # id = ANY(ARRAY(...)): the ids are gathered once, then fetched by primary key.
            ids = func.array(matches.scalar_subquery())
            statement = statement.where(Customer.id == any_(ids))
        else:
            statement = statement.where(Customer.id.in_(matches))
    if not include_archived:
        statement = statement.where(Customer.is_archived == False)  # noqa: E712 - SQL
    if category_id:
        statement = statement.where(Customer.category_id == category_id)
    if region:
        statement = statement.where(Customer.region == region)
    if country:
        statement = statement.where(Customer.country == country)
    return statement.order_by(*SORTS.get(sort, SORTS["name"]))


def search_page(query: str, number: int, per_page: int, *, include_archived: bool = False,
                sort: str = "name") -> Page[Customer] | None:
    """One page of a search sorted by name, found, sorted and counted in the words' index.

    Each query word's matches come from the covering index of customer_search_terms
    (customer id, name and archived flag included), so neither the matches nor their
    count visit a customer row; only the page's customers are loaded. None when the
    search has no words or another sort: customer_search() then does the work.
    """
    words = _words(query)
    if not words or sort not in ("name", "-name"):
        return None
    per_word = []
    for word in words:
        statement = select(CustomerSearchTerm.customer_id, CustomerSearchTerm.name).where(
            CustomerSearchTerm.term >= word, CustomerSearchTerm.term < word + _HIGHEST)
        if not include_archived:
            statement = statement.where(CustomerSearchTerm.is_archived == False)  # noqa: E712
        per_word.append(statement)
    matches = (intersect(*per_word) if len(per_word) > 1 else per_word[0].distinct()).subquery()
    name = matches.c.name.desc() if sort == "-name" else matches.c.name
    number = max(number, 1)
    rows = db.session.execute(
        select(matches.c.customer_id, func.count().over())
        .order_by(name, matches.c.customer_id)
        .limit(per_page + 1).offset((number - 1) * per_page)
    ).all()
    if not rows and number > 1:  # past the end (the list shrank): the first page
        return search_page(query, 1, per_page, include_archived=include_archived, sort=sort)
    ids = [row[0] for row in rows[:per_page]]
    loaded = {customer.id: customer for customer in db.session.scalars(
        select(Customer).where(Customer.id.in_(ids)).options(selectinload(Customer.category)))}
    return Page(items=[loaded[i] for i in ids if i in loaded], number=number,
                per_page=per_page, total=rows[0][1] if rows else 0, more=len(rows) > per_page)


def _words(query: str) -> Iterable[str]:
    return [word[:100] for word in query.lower().split() if word][:6]


def regions() -> list[str]:
    """Regions in use, for the list's filter."""
    return list(db.session.scalars(
        select(Customer.region).where(Customer.region != "").distinct().order_by(Customer.region)
    ))
