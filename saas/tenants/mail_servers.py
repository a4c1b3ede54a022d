"""A tenant's own outgoing mail server (Settings → E-mail sending).

When a tenant sets one, every e-mail sent in its name (documents, reminders, portal
sign-in links, receipts, invitations, notices to its staff) goes through that server from
its address (``saas.mail.postman`` asks ``outgoing_of_current_tenant``); otherwise through
the platform's. The password is write-only: stored encrypted, never shown again, kept when
the form is saved without a new one.

``send_test`` tries the settings on the form before they are saved, and turns what can go
wrong (a refused connection, a failed login, no STARTTLS) into a sentence for the page.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass, replace

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from saas import clock
from saas.encryption import SecretUnreadable, decrypt, encrypt
from saas.extensions import db
from saas.mail import Mail, Postman, SmtpServer
from saas.tenants import audit, scoping
from saas.tenants.models import MailServer, SmtpSecurity
from saas.tenants.services import ServiceError

TEST_TIMEOUT_SECONDS = 10
DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.SSL: 465, SmtpSecurity.NONE: 25}


class MailServerRefused(ServiceError):
    """Settings that cannot be saved, with the form field they concern."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TestFailed(ServiceError):
    """The test message could not be handed to the server; the message says why."""


@dataclass(frozen=True)
class MailServerSettings:
    """What the form gives: the password blank means "keep the saved one"."""

    host: str
    port: str  # blank: the usual port of the security chosen
    security: str
    username: str
    password: str
    from_address: str


def mail_server_of_current_tenant() -> MailServer | None:
    scoping.require_tenant_id()
    return db.session.scalar(select(MailServer))


def outgoing_of_current_tenant() -> tuple[SmtpServer, str] | None:
    """The tenant's server and sender address, or None: the platform's are used.

    Raises SecretUnreadable when the saved password no longer decrypts (a key was removed):
    the mail then fails visibly instead of going out through another server.
    """
    row = mail_server_of_current_tenant()
    if row is None:
        return None
    password = decrypt(row.password_encrypted) if row.password_encrypted else ""
    return _server(row.host, row.port, row.security, row.username, password), row.from_address


def _server(host: str, port: int, security: str, username: str, password: str) -> SmtpServer:
    return SmtpServer(host, port, str(security), username, password)


# --- checking and saving ------------------------------------------------------------------


def _checked(settings: MailServerSettings, saved: MailServer | None) -> tuple[SmtpServer, str]:
    """The settings as a server and sender address, or MailServerRefused naming the field."""
    host = settings.host.strip().lower()
    if not host or any(c.isspace() for c in host) or len(host) > 255:
        raise MailServerRefused("Give the mail server's host name, such as smtp.example.com.",
                                "host")
    _check_public(host)
    try:
        security = SmtpSecurity(settings.security)
    except ValueError:
        raise MailServerRefused("Choose STARTTLS, SSL/TLS or no encryption.", "security") from None
    port_text = settings.port.strip()
    port = int(port_text) if port_text.isascii() and port_text.isdigit() else 0
    if not port_text:
        port = DEFAULT_PORTS[security]
    if not 1 <= port <= 65535:
        raise MailServerRefused("The port is a number from 1 to 65535 (usually 587, 465 or 25).",
                                "port")
    username = settings.username.strip()
    if len(username) > 255:
        raise MailServerRefused("The user name is longer than 255 characters.", "username")
    password = settings.password
    if not password and saved is not None and saved.password_encrypted and username:
        password = _saved_password(saved)
    if password and not username:
        raise MailServerRefused("A password needs a user name to log in with.", "username")
    if username and not password:
        raise MailServerRefused(f"Give the password of {username} on the mail server.",
                                "password")
    try:
        sender = validate_email(settings.from_address.strip(),
                                check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise MailServerRefused(f"The from address is not an e-mail address: {exc}",
                                "from_address") from None
    return _server(host, port, security, username, password), sender


def _check_public(host: str) -> None:
    """A tenant's mail server is on the internet: not the platform's own network (the test
    message would tell an admin what answers there). MAIL_SERVERS_ALLOW_PRIVATE_HOSTS lets a
    single-company installation, or the tests, use one on a private address."""
    from flask import current_app

    from saas.api.webhooks import policy, sending

    if current_app.config["MAIL_SERVERS_ALLOW_PRIVATE_HOSTS"]:
        return
    try:
        address = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
        policy.check_host(f"smtp://{address}", sending.resolve,
                          "the mail server must be on a public address on the internet")
    except policy.UrlRefused as exc:
        raise MailServerRefused(str(exc), "host") from None


def _saved_password(saved: MailServer) -> str:
    try:
        return decrypt(saved.password_encrypted)
    except SecretUnreadable:
        raise MailServerRefused("The saved password cannot be read any more (the installation's"
                                " encryption key changed): enter it again.", "password") from None


# Only a long password's end is shown ("saved, ends in …"): of a short one, four characters
# would give away too much.
SHOWN_END_MIN_LENGTH = 12


def save_mail_server(settings: MailServerSettings, *, user_id: int | None = None) -> MailServer:
    """Send the tenant's mail through this server from now on (replacing what was there)."""
    row = mail_server_of_current_tenant()
    server, sender = _checked(settings, row)
    new_password = bool(settings.password)
    if row is None:
        row = MailServer()
        db.session.add(row)
    row.host, row.port, row.security = server.host, server.port, SmtpSecurity(server.security)
    row.username, row.from_address = server.username, sender
    if new_password or not server.password:
        row.password_encrypted = encrypt(server.password) if server.password else ""
        row.password_last4 = (server.password[-4:]
                              if len(server.password) >= SHOWN_END_MIN_LENGTH else "")
    row.saved_at, row.saved_by_id = clock.now(), user_id
    db.session.flush()
    login = f", user {server.username}" if server.username else ", no login"
    changed = " (new password)" if new_password else ""
    audit.record("settings.mail_server_saved", row,
                 f"Outgoing mail server set to {server.host}:{server.port}"
                 f" ({SECURITY_LABELS[row.security]}{login}{changed}), from {sender}",
                 user_id=user_id)
    return row


def remove_mail_server(*, user_id: int | None = None) -> bool:
    """Forget the tenant's server: its mail goes through the platform's again."""
    row = mail_server_of_current_tenant()
    if row is None:
        return False
    audit.record("settings.mail_server_removed", row,
                 f"Outgoing mail server {row.host}:{row.port} removed", user_id=user_id)
    db.session.delete(row)
    db.session.flush()
    return True


SECURITY_LABELS = {
    SmtpSecurity.STARTTLS: "STARTTLS",
    SmtpSecurity.SSL: "SSL/TLS",
    SmtpSecurity.NONE: "no encryption",
}


# --- the test message ---------------------------------------------------------------------


def send_test(settings: MailServerSettings, to: str, tenant_name: str) -> str:
    """Send a test message through the settings (saved or not) to `to`; its server's name.

    Raises MailServerRefused for settings that do not make sense, TestFailed with a
    sentence naming the cause when the server could not be reached or refused.
    """
    server, sender = _checked(settings, mail_server_of_current_tenant())
    where = f"{server.host}:{server.port}"
    carrier = Postman(replace(server, timeout=TEST_TIMEOUT_SECONDS), sender, "")
    try:
        carrier.send(Mail(
            to=to, subject=f"Test message from {tenant_name}",
            text=(f"This message came through {where}: {tenant_name}'s e-mail is sent"
                  " through this server from now on, once the settings are saved.\n")))
    except Exception as exc:  # every cause becomes a sentence on the page
        raise TestFailed(_explain(exc, server)) from exc
    finally:
        carrier.close()
    return where


def _explain(exc: Exception, server: SmtpServer) -> str:
    where = f"{server.host}:{server.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (f"Authentication failed: {where} did not accept the user name and password"
                f" ({_reply(exc)}).")
    if isinstance(exc, ConnectionRefusedError):
        return (f"Connection refused: nothing answers on {where}. Check the host and port,"
                " and that the server takes connections from here.")
    if isinstance(exc, socket.gaierror):
        return f"The host name {server.host} is not known. Check the spelling."
    if isinstance(exc, TimeoutError):
        return (f"No answer from {where} within {TEST_TIMEOUT_SECONDS} seconds: a firewall"
                " may be in the way, or the port is wrong.")
    if isinstance(exc, smtplib.SMTPNotSupportedError) and server.security == "starttls":
        return f"{where} does not offer STARTTLS. Choose SSL/TLS or no encryption."
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where} does not offer logging in (AUTH) without encryption. Choose STARTTLS."
    if isinstance(exc, ssl.SSLError):
        return (f"The encrypted connection to {where} failed ({exc.reason or exc}). If the port"
                " is 587 choose STARTTLS; for 465, SSL/TLS.")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"{where} refused the from address {exc.sender!s} ({_reply(exc)})."
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{where} refused the recipient: {exc.recipients}."
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection unexpectedly. Check the encryption and port."
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} refused the message ({_reply(exc)})."
    if isinstance(exc, OSError):
        return f"Could not connect to {where}: {exc.strerror or exc}."
    return f"Sending through {where} failed: {exc}"


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
        else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}".strip()
