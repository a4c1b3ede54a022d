"""`flask documents verify`: the hash chain of every series, recomputed from the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select, text

from saas.billing.customers.models import Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant
from tests.conftest import ON_POSTGRES
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory

K = DocumentKind
ISSUE_DAY = date(2026, 11, 20)


def issue(tenant_id: int, customer_id: int, vat_rate_id: int, kind: K = K.INVOICE, *,
          render: bool = False, lines: int = 2) -> str:
    """Issue one document with manual lines in the tenant; return its number."""
    with scoping.tenant_context(tenant_id):
        customer = db.session.get(Customer, customer_id)
        document = services.create_document(kind, customer)
        for n in range(1, lines + 1):
            services.add_line(document, {"description": f"Service {n}", "quantity": Decimal(n),
                                         "unit_price": Decimal("100.00"),
                                         "vat_rate_id": vat_rate_id})
        issuing.issue_document(document, on=ISSUE_DAY, render=render)
        db.session.commit()
        return document.number


def make_shop(name: str) -> dict:
    tenant = TenantFactory(name=name)
    shop = {"tenant": tenant.id, "slug": tenant.slug}
    # Ids at once: a later commit expires the objects, and outside their tenant's context
    # row-level security would not let them load again.
    shop["vat"] = VatRateFactory(tenant=tenant, code="S25", rate=Decimal("25.00")).id
    shop["customer"] = CustomerFactory(tenant=tenant).id
    return shop


def verify(app, *args: str):
    return app.test_cli_runner().invoke(args=["documents", "verify", *args])


# --- a clean chain: inside the rolled-back test transaction ------------------------------
#
# The CLI runs in the test's app context, so it uses the db_session fixture's session and
# connection: it sees what the test made without anything being committed for real.


def test_a_clean_chain_exits_0_and_counts_what_it_checked(app, db_session):
    shop = make_shop("Clean Chain AS")
    other = make_shop("Other Clean AS")
    for _ in range(3):
        issue(shop["tenant"], shop["customer"], shop["vat"])
    issue(shop["tenant"], shop["customer"], shop["vat"], K.QUOTE, render=True)
    issue(other["tenant"], other["customer"], other["vat"])
    with scoping.tenant_context(shop["tenant"]):
        # A draft is not part of any chain.
        services.create_document(K.INVOICE, db.session.get(Customer, shop["customer"]))

    result = verify(app, "--tenant", shop["slug"])
    assert result.exit_code == 0, result.output
    assert result.output == "Checked 4 documents in 2 series: no breaks.\n"

    result = verify(app)
    assert result.exit_code == 0, result.output
    # Every tenant: these two, and whatever else the database holds (all of it sound).
    checked = re.fullmatch(r"Checked ([\d,]+) documents? in (\d+) series: no breaks\.\n",
                           result.output)
    assert checked and int(checked[1].replace(",", "")) >= 5 and int(checked[2]) >= 3


def test_an_unknown_tenant_is_a_usage_error(app, db_session):
    result = verify(app, "--tenant", "no-such-company")
    assert result.exit_code == 2
    assert "no tenant has the slug 'no-such-company'" in result.output


# --- tampering: committed data, changed as the database owner ----------------------------
#
# Tampering is done the way someone with database access would do it: as the owner role,
# on its own connection, past the immutability trigger. Another connection cannot see the
# db_session fixture's uncommitted transaction (and the app role may not disable the
# trigger), so these documents are committed for real through the app's own session, and
# removed again afterwards as the owner (the trigger refuses to delete issued documents,
# so it is disabled inside that transaction only).


def tamper(database_urls, tenant_id: int, *statements: str) -> None:
    """Run statements as the owner in the tenant, with the immutability triggers off."""
    engine = create_engine(database_urls["owner"])
    with engine.begin() as connection:
        # The owner is subject to row-level security too (FORCE): enter the tenant.
        connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                           {"t": str(tenant_id)})
        connection.execute(text("ALTER TABLE documents DISABLE TRIGGER documents_immutable"))
        connection.execute(text(
            "ALTER TABLE document_lines DISABLE TRIGGER document_lines_immutable"))
        for statement in statements:
            connection.execute(text(statement), {"t": tenant_id})
        # Transactional: other connections never see the triggers off.
        connection.execute(text("ALTER TABLE documents ENABLE TRIGGER documents_immutable"))
        connection.execute(text(
            "ALTER TABLE document_lines ENABLE TRIGGER document_lines_immutable"))
    engine.dispose()


def delete_tenant(database_urls, tenant_id: int) -> None:
    tamper(database_urls, tenant_id,
           "DELETE FROM journal_entries WHERE tenant_id = :t",
           "DELETE FROM documents WHERE tenant_id = :t",
           "DELETE FROM tenants WHERE id = :t")


@pytest.fixture()
def committed_shops(app, database_urls) -> Iterator[list[dict]]:
    """Two tenants with committed documents (deleted afterwards)."""
    if not ON_POSTGRES:
        pytest.skip("tampers as the PostgreSQL owner role")
    created: list[int] = []
    with app.app_context():
        try:
            shops = []
            for name in ("Tampered Books AS", "Honest Books AS"):
                shop = make_shop(name)
                created.append(shop["tenant"])
                shop["numbers"] = [
                    issue(shop["tenant"], shop["customer"], shop["vat"], render=n == 0)
                    for n in range(3)
                ]
                shops.append(shop)
            yield shops
        finally:
            db.session.rollback()
            for tenant_id in created:
                delete_tenant(database_urls, tenant_id)
            assert db.session.scalar(
                select(func.count()).select_from(Tenant)
                .where(Tenant.id.in_(created))) == 0


@pytest.mark.postgres
def test_tampered_documents_are_named_and_the_exit_code_is_1(app, database_urls,
                                                            committed_shops):
    tampered, honest = committed_shops
    assert tampered["numbers"] == ["INV-2026-00001", "INV-2026-00002", "INV-2026-00003"]
    result = verify(app)
    assert result.exit_code == 0, result.output

    tamper(database_urls, tampered["tenant"],
           # A changed note: the content no longer matches the chain hash.
           "UPDATE documents SET notes = 'paid in cash' WHERE tenant_id = :t"
           " AND number = 'INV-2026-00002'",
           # A swapped PDF: its bytes no longer match the hash the chain covers.
           "UPDATE documents SET pdf = 'not the issued pdf'::bytea WHERE tenant_id = :t"
           " AND number = 'INV-2026-00001'")

    result = verify(app)
    assert result.exit_code == 1, result.output
    slug = tampered["slug"]
    assert result.output.splitlines()[:2] == [
        f"{slug} invoice INV-2026-00001: its stored PDF does not match its hash",
        f"{slug} invoice INV-2026-00002: its content does not match its hash",
    ]
    assert re.search(r"^Checked [\d,]+ documents in \d+ series: 2 breaks\.$", result.output,
                     re.MULTILINE)
    assert honest["slug"] not in result.output

    result = verify(app, "--tenant", honest["slug"])
    assert (result.exit_code, result.output) == (
        0, "Checked 3 documents in 1 series: no breaks.\n")


@pytest.mark.postgres
def test_deleting_the_last_documents_is_found_by_the_series_head(app, database_urls,
                                                                committed_shops):
    tampered = committed_shops[0]
    # The chain that is left is sound on its own: only the series knows 3 were issued.
    tamper(database_urls, tampered["tenant"],
           "DELETE FROM journal_entries WHERE tenant_id = :t AND document_id IN (SELECT id"
           " FROM documents WHERE tenant_id = :t AND number = 'INV-2026-00003')",
           "DELETE FROM documents WHERE tenant_id = :t AND number = 'INV-2026-00003'")
    result = verify(app, "--tenant", tampered["slug"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{tampered['slug']} invoice INV-2026-00002: the series says 3 were issued but its"
        " chain ends at 2: the last documents are missing",
        "Checked 2 documents in 1 series: 1 break.",
    ]
