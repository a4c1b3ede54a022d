"""A tenant's own outgoing mail server (Settings → E-mail sending).

Real SMTP servers on loopback (aiosmtpd): the tenant's requires logging in, the platform's
(the ``smtp`` fixture) does not. Mail goes through the worker, as in production.
"""

from __future__ import annotations

import html
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.billing.reminders import services as reminders
from saas.billing.reminders.sweep import sweep
from saas.encryption import decrypt
from saas.extensions import db
from saas.mail import Mail, queue_email
from saas.tenants import scoping
from saas.tenants.access import STAFF_BLUEPRINTS
from saas.tenants.models import AuditEntry, MailServer, Role
from tests.factories import ContactFactory, CustomerFactory, TenantFactory, VatRateFactory, member
from tests.helpers import errors_in, run_jobs
from tests.integration.test_portal import ask_for_link, make_shop
from tests.integration.test_reminders import DUE, make_invoice
from tests.run import free_port

USER, PASSWORD = "nordlys-mailer", "Tr0ub4dor&3-long-enough"
FROM = "faktura@nordlys.example"
# The tenant's server in these tests takes AUTH without TLS: loopback only.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture()
def shop(db_session):
    return make_shop()


@pytest.fixture()
def owner(shop, make_client):
    return make_client(member(shop.tenant, Role.OWNER, email="eier@nordlys.example"))


@pytest.fixture()
def own_server(login_smtp_server):
    """The tenant's own server: (inbox, port)."""
    return login_smtp_server(USER, PASSWORD)


def url(shop, path: str = "") -> str:
    return f"/t/{shop.slug}/settings/email{path}"


def form(port_number: int, **changes: str) -> dict[str, str]:
    return {"host": "127.0.0.1", "port": str(port_number), "security": "none", "username": USER,
            "password": PASSWORD, "from_address": FROM, **changes}


def server_of(shop) -> MailServer | None:
    with scoping.tenant_context(shop.tenant.id):
        return db.session.scalar(select(MailServer))


# --- saving -------------------------------------------------------------------------------


def test_the_settings_are_saved_with_the_password_encrypted_and_never_shown(
    shop, owner, own_server
):
    _, port = own_server
    response = owner.post(url(shop), data=form(port))
    assert response.status_code == 302

    server = server_of(shop)
    assert (server.host, server.port, server.security.value, server.username,
            server.from_address) == ("127.0.0.1", port, "none", USER, FROM)
    assert PASSWORD not in server.password_encrypted
    assert decrypt(server.password_encrypted) == PASSWORD
    page = html.unescape(owner.get(url(shop)).text)
    assert f"saved, ends in <code>…{PASSWORD[-4:]}</code>" in page
    assert PASSWORD not in page
    with scoping.tenant_context(shop.tenant.id):
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "settings.mail_server_saved")).all()
    assert f"127.0.0.1:{port}" in entry.summary and PASSWORD not in entry.summary


def test_saving_without_a_password_keeps_the_saved_one(shop, owner, own_server):
    _, port = own_server
    owner.post(url(shop), data=form(port))
    response = owner.post(url(shop),
                          data=form(port, password="", from_address="ny@nordlys.example"))
    assert response.status_code == 302
    server = server_of(shop)
    assert server.from_address == "ny@nordlys.example"
    assert decrypt(server.password_encrypted) == PASSWORD


@pytest.mark.parametrize(("changes", "message"), [
    ({"host": ""}, "Give the mail server's host name"),
    ({"host": "smtp example.com"}, "Give the mail server's host name"),
    ({"port": "99999"}, "The port is a number from 1 to 65535"),
    ({"port": "587a"}, "The port is a number from 1 to 65535"),
    ({"security": "tls13"}, "Not a valid choice"),
    ({"password": ""}, f"Give the password of {USER}"),
    ({"username": ""}, "A password needs a user name"),
    ({"from_address": "faktura at nordlys"}, "The from address is not an e-mail address"),
])
def test_bad_input_names_the_problem_and_saves_nothing(shop, owner, changes, message):
    response = owner.post(url(shop), data=form(2525, **changes))
    assert response.status_code == 422
    errors = [html.unescape(error) for error in errors_in(response.text)]
    assert any(message in error for error in errors), errors
    assert server_of(shop) is None


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.STAFF, Role.VIEWER])
def test_only_owners_and_admins_see_and_change_the_mail_server(shop, make_client, role):
    client = make_client(member(shop.tenant, role))
    assert client.get(url(shop)).status_code == 403
    assert client.post(url(shop), data=form(2525)).status_code == 403
    assert server_of(shop) is None


def test_removing_the_server_sends_through_the_platform_again(shop, owner, own_server):
    _, port = own_server
    owner.post(url(shop), data=form(port))
    assert owner.post(url(shop, "/remove")).status_code == 302
    assert server_of(shop) is None
    assert "the platform's mail server" in html.unescape(owner.get(url(shop)).text)


# --- the test message ---------------------------------------------------------------------


def test_a_test_message_goes_to_the_signed_in_user_through_the_servers_login(
    shop, owner, own_server
):
    inbox, port = own_server
    response = owner.post(url(shop, "/test"), data=form(port))
    assert response.status_code == 200
    assert f"A test message went to eier@nordlys.example through 127.0.0.1:{port}" in response.text
    [message] = inbox.messages
    assert message["To"] == "eier@nordlys.example" and message["From"] == FROM
    assert inbox.logins == [USER]
    assert server_of(shop) is None  # a test saves nothing


def test_a_wrong_password_says_authentication_failed_and_sends_nothing(shop, owner, own_server):
    inbox, port = own_server
    response = owner.post(url(shop, "/test"), data=form(port, password="wrong-password"))
    assert response.status_code == 422, response.text
    assert (f"Authentication failed: 127.0.0.1:{port} did not accept the user name and"
            " password") in response.text, response.text
    assert "wrong-password" not in html.unescape(response.text)
    assert inbox.messages == [] and inbox.logins == []


def test_a_port_nobody_listens_on_says_connection_refused(shop, owner):
    port = free_port()
    response = owner.post(url(shop, "/test"), data=form(port))
    assert response.status_code == 422
    assert f"Connection refused: nothing answers on 127.0.0.1:{port}" in response.text


def test_a_server_that_needs_tls_to_log_in_is_explained(shop, owner, smtp, app):
    # The platform's test server offers no AUTH: logging in cannot work without TLS.
    port = int(app.config["SMTP_URL"].rsplit(":", 1)[1])
    response = owner.post(url(shop, "/test"), data=form(port))
    assert response.status_code == 422
    assert "does not offer logging in (AUTH) without encryption" in response.text
    assert smtp.messages == []


# --- whose mail goes where ----------------------------------------------------------------


def test_a_tenants_mail_goes_through_its_own_server_and_another_tenants_through_the_platforms(
    app, shop, owner, own_server, smtp, make_client
):
    own_inbox, port = own_server
    assert owner.post(url(shop), data=form(port)).status_code == 302
    other = make_shop("Beta Bygg AS")
    for tenant_shop in (shop, other):
        staff = make_client(member(tenant_shop.tenant, Role.ACCOUNTANT))
        staff.post(f"/t/{tenant_shop.slug}/documents/{tenant_shop.invoice_a.id}/send", data={})
        ask_for_link(app.test_client(), tenant_shop)  # a portal sign-in link
        with scoping.tenant_context(tenant_shop.tenant.id):
            queue_email(Mail(to="revisor@example.com", subject=f"Note of {tenant_shop.slug}",
                             text="queued mail"))
            db.session.commit()
    run_jobs(app)

    def sent(inbox) -> list[tuple[str, str]]:
        return sorted((m["From"].addresses[0].addr_spec, str(m["Subject"]))
                      for m in inbox.messages)

    own, platform = sent(own_inbox), sent(smtp)
    assert len(own) == 3 and {sender for sender, _ in own} == {FROM}
    assert any(shop.invoice_a.number in subject for _, subject in own)
    assert ("Note of " + shop.slug) in [subject for _, subject in own]
    assert set(own_inbox.logins) == {USER}
    assert len(platform) == 3 and {sender for sender, _ in platform} == {app.config["MAIL_FROM"]}
    assert any(other.invoice_a.number in subject for _, subject in platform)
    assert ("Note of " + other.slug) in [subject for _, subject in platform]
    assert {m["To"] for m in own_inbox.messages} >= {"anna@alfa.example"}
    assert {m["To"] for m in smtp.messages} >= {"anna@alfa.example"}


def test_reminders_go_through_the_tenants_own_server(app, own_server, smtp, make_client):
    own_inbox, port = own_server
    tenant = TenantFactory(name="Ochrona Kasia Sp. z o.o.", country="PL", currency="PLN")
    owner = make_client(member(tenant, Role.OWNER))
    assert owner.post(f"/t/{tenant.slug}/settings/email", data=form(port)).status_code == 302
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, language="pl", currency="PLN")
        ContactFactory(tenant=tenant, customer=customer, email="faktury@lodz.example",
                       receives_invoices=True)
        reminders.adopt_suggested_policy()
        make_invoice(customer.id, VatRateFactory(tenant=tenant).id, Decimal("1000"))
        db.session.commit()

    assert sweep(DUE - timedelta(days=3), [tenant.id]).claimed == 1  # the friendly note
    run_jobs(app)

    [note] = own_inbox.messages
    assert note["To"] == "faktury@lodz.example" and note["From"].addresses[0].addr_spec == FROM
    assert smtp.messages == []


def test_the_password_appears_on_no_staff_page(app, shop, owner, own_server):
    _, port = own_server
    owner.post(url(shop), data=form(port))
    owner.post(url(shop), data=form(port, host="", password=""))  # a refused form, re-shown
    pages = {}
    for rule in app.url_map.iter_rules():
        if (rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS and "GET" in rule.methods
                and rule.arguments == {"tenant_slug"}):
            address = rule.rule.replace("<tenant_slug>", shop.slug)
            pages[address] = html.unescape(owner.get(address).text)
    assert len(pages) > 30 and url(shop) in pages
    assert [address for address, body in pages.items() if PASSWORD in body] == []
    refused = html.unescape(owner.post(url(shop), data=form(port, host="")).text)
    assert "Give the mail server's host name" in refused, refused
    assert PASSWORD not in refused, refused


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254",
                                  "::1"])
def test_a_private_or_local_host_is_refused_outside_the_tests(shop, owner, app, monkeypatch,
                                                              host):
    monkeypatch.setitem(app.config, "MAIL_SERVERS_ALLOW_PRIVATE_HOSTS", False)
    response = owner.post(url(shop), data=form(2525, host=host))
    assert response.status_code == 422
    errors = [html.unescape(error) for error in errors_in(response.text)]
    assert any(f"The host {host} is a private or local address" in error
               and "public address" in error for error in errors), errors
    assert server_of(shop) is None
