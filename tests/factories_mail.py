"""Factory for a tenant's own mail server (the password really encrypted)."""

from __future__ import annotations

import factory

from saas.encryption import encrypt
from saas.tenants.models import MailServer, SmtpSecurity
from tests.factories import TenantScopedFactory

PASSWORD = "correct horse battery staple"


class MailServerFactory(TenantScopedFactory):
    class Meta:
        model = MailServer

    host = "127.0.0.1"
    port = 2525
    security = SmtpSecurity.NONE
    username = "mailer"
    password_encrypted = factory.LazyFunction(lambda: encrypt(PASSWORD))
    password_last4 = PASSWORD[-4:]
    from_address = factory.Sequence(lambda n: f"invoices@company{n}.example")
