"""Fixtures shared by the integration tests: an SMTP server on loopback."""

from __future__ import annotations

import email
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

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
