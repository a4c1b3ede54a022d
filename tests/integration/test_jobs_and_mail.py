"""Background jobs (after commit, deduplicated, in a tenant) and e-mail delivery over SMTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas import create_app
from saas.extensions import db
from saas.mail import Mail, queue_email, send_now
from saas.queue import enqueue, get_queue, job
from saas.tenants import audit, scoping
from saas.tenants.models import AuditEntry
from tests.conftest import _test_config
from tests.factories import TenantFactory
from tests.helpers import run_jobs, sent_mails


@job
def write_audit_note(note: str) -> None:
    """A job for these tests: leaves a trace in the tenant it runs in."""
    audit.record("test.job_ran", summary=note)


@job
def failing_job() -> None:
    raise RuntimeError("this job always fails")


def notes(tenant) -> list[str]:
    with scoping.tenant_context(tenant.id):
        return db.session.scalars(
            select(AuditEntry.summary).where(AuditEntry.action == "test.job_ran")
        ).all()


def test_a_job_is_sent_only_when_the_transaction_commits(app, db_session):
    tenant = TenantFactory()
    queue = get_queue("default", app)
    queue.empty()
    enqueue(write_audit_note, "rolled back", tenant_id=tenant.id)
    db.session.rollback()
    assert queue.count == 0
    enqueue(write_audit_note, "committed", tenant_id=tenant.id)
    assert queue.count == 0  # not before the commit
    db.session.commit()
    assert queue.count == 1
    run_jobs(app)
    assert notes(tenant) == ["committed"]


def test_a_job_id_keeps_a_job_from_being_queued_twice(app, db_session):
    tenant = TenantFactory()
    queue = get_queue("default", app)
    queue.empty()
    for _ in range(2):
        enqueue(write_audit_note, "once", tenant_id=tenant.id, job_id=f"note-{tenant.id}")
        db.session.commit()
    assert queue.count == 1
    run_jobs(app)
    assert notes(tenant) == ["once"]


def test_without_redis_jobs_run_in_process_at_commit(database_urls, db_session):
    app = create_app(_test_config(database_urls["owner"], database_urls["app"], REDIS_URL=None))
    with app.app_context():
        tenant = TenantFactory()
        enqueue(write_audit_note, "in process", tenant_id=tenant.id)
        assert notes(tenant) == []
        db.session.commit()
        assert notes(tenant) == ["in process"]


def test_a_failing_in_process_job_does_not_fail_the_request(database_urls, db_session, caplog):
    app = create_app(_test_config(database_urls["owner"], database_urls["app"], REDIS_URL=None))
    with app.app_context():
        enqueue(failing_job)
        db.session.commit()
    assert "in-process job failing_job failed" in caplog.text
    assert "this job always fails" in caplog.text


def test_a_job_without_a_tenant_cannot_touch_tenant_tables(db_session):
    with pytest.raises(scoping.TenantNotSet):
        write_audit_note("no tenant")


def test_mail_is_delivered_over_smtp_with_sender_name_and_attachment(app, smtp):
    with app.app_context():
        send_now(Mail(to="kunde@example.com", subject="Faktura 2026-0001 – Nordlys", text="Hei ø",
                      sender_name="Nordlys Rørlegger AS", reply_to="post@nordlys.example",
                      attachments=(("faktura.pdf", "application/pdf", b"%PDF-1.7 test"),)))
    [(sender, recipients, content)] = smtp.envelopes
    assert recipients == ["kunde@example.com"]
    text = content.decode()
    assert "Reply-To: post@nordlys.example" in text
    assert 'filename="faktura.pdf"' in text
    assert "=?utf-8?" in text  # the non-ASCII sender name and subject are encoded


def test_queued_mail_goes_out_through_the_worker(app, db_session, smtp):
    queue_email(Mail(to="a@example.com", subject="Queued", text="body"))
    db.session.commit()
    assert smtp.envelopes == []
    run_jobs(app)
    assert [m[1] for m in smtp.envelopes] == [["a@example.com"]]


def test_without_smtp_mail_lands_in_the_outbox_folder(app, outbox):
    with app.app_context():
        send_now(Mail(to="b@example.com", subject="Outbox", text="body"))
    [mail] = sent_mails(outbox)
    assert (mail["To"], mail["Subject"]) == ("b@example.com", "Outbox")
