"""Fixtures shared by the integration tests: SMTP servers on loopback (the platform's, and
one that requires logging in, as a tenant's own server does)."""

from __future__ import annotations

import email
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.run import free_port


class Inbox:
    """An SMTP server on loopback that keeps what it receives, or refuses it."""

    def __init__(self, refuse: str | None = None) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str], bytes]] = []
        self.refuse = refuse

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse:
            return self.refuse
        self.envelopes.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture()
def smtp(app, monkeypatch):
    """A real SMTP server on loopback; the app sends to it for the test."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    try:
        yield inbox
    finally:
        controller.stop()


class LoginInbox(Inbox):
    """An Inbox on a server that takes mail only after AUTH with one user and password."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__()
        self.username, self.password = username, password
        self.logins: list[str] = []  # user names that logged in successfully

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == self.username
              and auth_data.password.decode() == self.password)
        if ok:
            self.logins.append(self.username)
        # handled=False: aiosmtpd answers a failure itself (535), as a real server does.
        return AuthResult(success=ok, handled=False)


@pytest.fixture()
def login_smtp_server():
    """Start SMTP servers on loopback that require AUTH (without TLS: loopback only)."""
    controllers = []

    def start(username: str, password: str) -> tuple[LoginInbox, int]:
        inbox = LoginInbox(username, password)
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                                authenticator=inbox.authenticate, auth_required=True,
                                auth_require_tls=False)
        controller.start()
        controllers.append(controller)
        return inbox, controller.port

    try:
        yield start
    finally:
        for controller in controllers:
            controller.stop()
