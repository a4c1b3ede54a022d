"""Factories for accountant exports: one finished export with its one chunk."""

from __future__ import annotations

from datetime import date

import factory

from saas.billing.exports.models import AccountantExport, ExportChunk, ExportStatus
from tests.factories import TenantScopedFactory


class AccountantExportFactory(TenantScopedFactory):
    class Meta:
        model = AccountantExport

    date_from = date(2026, 10, 1)
    date_to = date(2026, 10, 31)
    status = ExportStatus.DONE
    file_name = "accountant-test-2026-10-01-2026-10-31.zip"


class ExportChunkFactory(TenantScopedFactory):
    class Meta:
        model = ExportChunk

    export_id = factory.LazyAttribute(
        lambda o: AccountantExportFactory(tenant=o.tenant).id)
    position = 0
    data = b"PK\x05\x06" + bytes(18)  # an empty ZIP
