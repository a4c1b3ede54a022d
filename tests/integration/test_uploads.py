"""Every upload refuses what is too big, of the wrong type or hostile, with a clear message
and nothing saved; and what the app serves back as a file is never served as a page
(issue 13: Security, Bad input).

The uploads: the logo (settings), customer and product imports, bank statements. A new
upload in the code fails ``test_every_upload_is_known_here``.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageFile
from sqlalchemy import func, select

from saas.billing.customers.models import Customer
from saas.billing.payments.models import BankStatement
from saas.billing.payments.statements.camt053 import NO_DTD
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.access import STAFF_BLUEPRINTS
from saas.tenants.models import Branding, Role
from tests.factories import BankAccountFactory, TenantFactory, member
from tests.factories_api import api_token, bearer
from tests.helpers import errors_in
from tests.integration.test_isolation_guards import OBJECT_FACTORIES, _fill
from tests.unit.test_parsers_fuzz import BILLION_LAUGHS, EXTERNAL_ENTITY

SAAS = Path(__file__).resolve().parents[2] / "saas"
# Where the code reads an uploaded file, and the test here that refuses its bad input.
UPLOADS = {
    "tenants/forms.py": "logo",  # the branding form's FileField
    "billing/imports/views.py": "import",
    "billing/payments/bank/views.py": "bank statement",
}


def test_every_upload_is_known_here():
    found = {
        str(path.relative_to(SAAS)) for path in SAAS.rglob("*.py")
        if re.search(r"request\.files|FileField\(", path.read_text(encoding="utf-8"))
    }
    assert found == set(UPLOADS)


@pytest.fixture()
def shop(db_session, make_client):
    tenant = TenantFactory(name="Upload AS", country="NO")
    account = BankAccountFactory(tenant=tenant, iban="NO9386011117947", currency="NOK")
    return tenant, account.id, make_client(member(tenant, Role.OWNER))


def _count(tenant, model) -> int:
    with scoping.tenant_context(tenant.id):
        return db.session.scalar(select(func.count()).select_from(model))


def _logo_of(tenant) -> bytes | None:
    with scoping.tenant_context(tenant.id):
        branding = db.session.scalar(select(Branding))
        return branding.logo if branding else None


def post_logo(client, tenant, data: bytes, name: str = "logo.png"):
    return client.post(
        f"/t/{tenant.slug}/settings/branding",
        data={"primary_color": "#112233", "footer_text": "", "email_sender_name": "X",
              "logo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def post_import(client, tenant, data: bytes, name: str = "customers.csv"):
    return client.post(f"/t/{tenant.slug}/imports/preview",
                       data={"kind": "customers", "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def post_statement(client, tenant, account_id: int, data: bytes, name: str = "camt.xml"):
    return client.post(f"/t/{tenant.slug}/bank/upload",
                       data={"bank_account_id": str(account_id), "format": "",
                             "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


# --- too big ---------------------------------------------------------------------------------


def test_a_request_over_the_size_limit_is_refused_whole_with_the_limit_named(
    app, shop, monkeypatch
):
    tenant, account_id, client = shop
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    big = b"a" * (100 * 1024)
    answers = {
        "logo": post_logo(client, tenant, big),
        "import": post_import(client, tenant, big),
        "bank statement": post_statement(client, tenant, account_id, big),
    }
    assert set(answers) == set(UPLOADS.values())
    for what, response in answers.items():
        assert response.status_code == 413, what
        assert "at most 64 KB" in response.get_data(as_text=True), what
    assert _logo_of(tenant) is None
    assert _count(tenant, Customer) == 0 and _count(tenant, BankStatement) == 0
    # The bank page says the limit a request has when it is below the parser's (20 MB).
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 8 * 1024 * 1024)
    page = client.get(f"/t/{tenant.slug}/bank/upload").get_data(as_text=True)
    assert "at most 8 MB" in page


# --- the logo: the wrong type, or hostile ----------------------------------------------------


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script></svg>')
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.mark.parametrize("payload", [PDF, SVG, HTML], ids=["pdf", "svg", "html"])
def test_a_logo_that_is_a_pdf_svg_or_page_named_png_is_refused(shop, payload):
    tenant, _, client = shop
    response = post_logo(client, tenant, payload, "logo.png")
    assert response.status_code == 422
    [error] = errors_in(response.get_data(as_text=True))
    assert "not a readable PNG or JPEG image" in error and "not a PDF, SVG or web page" in error
    assert _logo_of(tenant) is None


def test_a_logo_claiming_a_huge_size_is_refused_before_it_is_decoded(shop, monkeypatch):
    """A small file whose header promises 12,000 × 12,000 pixels (432 MB decoded)."""
    tenant, _, client = shop
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, format="PNG")
    decoded = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda self: decoded.append(self.size) or original(self))
    response = post_logo(client, tenant, out.getvalue())
    assert response.status_code == 422
    assert errors_in(response.get_data(as_text=True)) == [
        "The logo is larger than 4000×4000 pixels."]
    assert decoded == []
    assert _logo_of(tenant) is None


# --- imports and bank statements: the wrong type, or hostile ---------------------------------


@pytest.mark.parametrize("payload", [PDF, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"],
                         ids=["pdf", "png"])
def test_an_import_that_is_not_a_csv_file_is_refused_clearly(shop, payload):
    tenant, _, client = shop
    response = post_import(client, tenant, payload)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "not UTF-8 text" in text or "not valid CSV" in text or "column" in text
    assert _count(tenant, Customer) == 0


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY],
                         ids=["entity-expansion", "external-entity"])
def test_a_statement_with_a_dtd_is_refused_unread_with_a_clear_message(shop, payload):
    tenant, account_id, client = shop
    response = post_statement(client, tenant, account_id, payload)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Nothing was imported." in text
    assert "declares a document type" in text and NO_DTD.startswith("The file declares")
    assert "root:" not in text and "lollollol" not in text
    assert _count(tenant, BankStatement) == 0


@pytest.mark.parametrize("payload", [PDF, b"\x89PNG\r\n\x1a\n" + b"\0" * 64],
                         ids=["pdf", "png"])
def test_a_statement_that_is_no_statement_is_refused_clearly(shop, payload):
    tenant, account_id, client = shop
    response = post_statement(client, tenant, account_id, payload, "statement.xml")
    assert response.status_code == 422
    assert ("Nothing was imported. The file is not camt.053 or MT940"
            in response.get_data(as_text=True))
    assert _count(tenant, BankStatement) == 0


# --- what is served back as a file -----------------------------------------------------------

# Types a browser would run as a page, or a script, if it were sent one from us.
ACTIVE_TYPES = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml",
                "application/javascript", "text/javascript"}
# Shown in the page they belong to (not downloads): no Content-Disposition needed.
EMBEDDED_TYPES = {"image/png", "image/jpeg", "text/css", "application/json", "text/plain",
                  "text/event-stream"}


def _file_problems(url: str, response) -> list[tuple[str, str]]:
    """What is wrong with a non-page answer: active type, sniffable, no disposition."""
    problems = []
    if response.mimetype in ACTIVE_TYPES - {"text/html"}:
        problems.append((url, f"served as {response.mimetype}"))
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append((url, "no nosniff"))
    if (response.mimetype not in EMBEDDED_TYPES
            and not response.headers.get("Content-Disposition")):
        problems.append((url, f"{response.mimetype} without Content-Disposition"))
    return problems


def test_every_file_the_app_serves_is_typed_unsniffable_and_a_download(
    app, make_client, db_session
):
    """Every GET of the staff app, the API and the portal, with the tenant's own objects:
    each answer that is not one of the app's pages is a file, and is served safely."""
    tenant = TenantFactory()
    objects = {arg: make(tenant).id for arg, make in OBJECT_FACTORIES.items()}
    client = make_client(member(tenant, Role.OWNER))
    api_headers = bearer(api_token(tenant)[1])
    with scoping.tenant_context(tenant.id):
        branding = db.session.scalar(select(Branding)) or Branding()
        out = io.BytesIO()
        Image.new("RGB", (20, 10)).save(out, format="PNG")
        branding.logo, branding.logo_mime = out.getvalue(), "image/png"
        branding.logo_sha256 = hashlib.sha256(branding.logo).hexdigest()
        db.session.add(branding)
        db.session.commit()
    files, problems = [], []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if ("GET" not in rule.methods or not rule.arguments <= {"tenant_slug", *objects}
                or blueprint not in {*STAFF_BLUEPRINTS, "api", "portal"}):
            continue
        url = _fill(rule, {"tenant_slug": tenant.slug, **objects})
        response = client.get(url, headers=api_headers if blueprint == "api" else {})
        if response.status_code != 200 or response.mimetype == "text/html":
            continue
        files.append((url, response.mimetype))
        problems += _file_problems(url, response)
    kinds = {mimetype for _, mimetype in files}
    assert {"application/pdf", "text/csv", "image/png", "application/json"} <= kinds, files
    assert problems == []


def test_a_stored_logo_of_another_type_is_served_as_a_download_not_a_page(shop):
    """Only PNG and JPEG pass the upload check; a row saying anything else (written before
    the check, or by hand) is still not served as what it says."""
    tenant, _, client = shop
    with scoping.tenant_context(tenant.id):
        branding = db.session.scalar(select(Branding)) or Branding()
        branding.logo, branding.logo_mime = HTML, "text/html"
        branding.logo_sha256 = hashlib.sha256(HTML).hexdigest()
        db.session.add(branding)
        db.session.commit()
    response = client.get(f"/p/{tenant.slug}/logo")
    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"] == "attachment"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
