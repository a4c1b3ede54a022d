"""Outgoing e-mail: SMTP when SMTP_URL is set, otherwise .eml files in the outbox folder.

``postman()`` opens one SMTP connection for many messages (a reminder batch); ``send_now``
sends one. A Mail may carry its own Message-ID: a delivery fixes it when it claims the
message, so a retry after a crash resends the same message, which mail clients show once.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from saas.queue import MAIL_QUEUE, enqueue, job, mail_retry


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    sender_name: str = ""
    reply_to: str = ""
    attachments: tuple[tuple[str, str, bytes], ...] = field(default_factory=tuple)
    message_id: str = ""


def new_message_id() -> str:
    """A fresh Message-ID on the sender's domain."""
    sender = current_app.config["MAIL_FROM"]
    return make_msgid(domain=sender.rpartition("@")[2] or "localhost")


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """Turn a Mail into a MIME message (text, optional HTML, attachments)."""
    message = EmailMessage()
    message["From"] = formataddr((mail.sender_name, sender)) if mail.sender_name else sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id or make_msgid(
        domain=sender.rpartition("@")[2] or "localhost")
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    for filename, mime, data in mail.attachments:
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


class Postman:
    """Sends messages through one SMTP connection (opened on first use), or to the outbox."""

    def __init__(self, smtp_url: str | None, sender: str, outbox: str) -> None:
        self.smtp_url, self.sender, self.outbox = smtp_url, sender, Path(outbox)
        self._client: smtplib.SMTP | None = None

    def send(self, mail: Mail) -> str:
        """Deliver one message; returns its Message-ID. SMTP errors propagate."""
        message = build_message(mail, self.sender)
        # Flattened once, with the line endings SMTP wants (send_message would do it again).
        data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        if self.smtp_url:
            try:
                self._connection().sendmail(self.sender, [mail.to], data)
            except (smtplib.SMTPServerDisconnected, OSError):
                self.close()  # a broken connection is not reused
                raise
            except smtplib.SMTPException:
                self._reset()
                raise
        else:
            self.outbox.mkdir(parents=True, exist_ok=True)
            (self.outbox / f"{uuid.uuid4().hex}.eml").write_bytes(data)
        return str(message["Message-ID"])

    def _connection(self) -> smtplib.SMTP:
        if self._client is None:
            self._client = _connect(self.smtp_url or "")
        return self._client

    def _reset(self) -> None:
        # After a refused message the connection stays usable once the transaction is reset.
        if self._client is not None:
            try:
                self._client.rset()
            except (smtplib.SMTPException, OSError):
                self.close()

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                self._client.close()
            self._client = None


@contextmanager
def postman() -> Iterator[Postman]:
    """One Postman for a block of sends, closed at the end."""
    config = current_app.config
    carrier = Postman(config.get("SMTP_URL"), config["MAIL_FROM"], config["OUTBOX_DIR"])
    try:
        yield carrier
    finally:
        carrier.close()


def send_now(mail: Mail) -> str:
    """Deliver a Mail at once through SMTP, or write it to the outbox folder.

    Returns the message's Message-ID.
    """
    with postman() as carrier:
        return carrier.send(mail)


def _connect(url: str) -> smtplib.SMTP:
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=30)
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=30)
    if options.get("starttls", ["0"])[0] in {"1", "true"}:
        client.starttls(context=ssl.create_default_context())
    if parts.username:
        client.login(unquote(parts.username), unquote(parts.password or ""))
    return client


@job
def deliver_email(mail: Mail) -> None:
    """Background job: send one e-mail."""
    send_now(mail)


def queue_email(mail: Mail, job_id: str | None = None) -> None:
    """Send mail after the current transaction commits, retrying SMTP failures."""
    enqueue(deliver_email, mail, queue=MAIL_QUEUE, job_id=job_id, retry=mail_retry())
