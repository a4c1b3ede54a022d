"""Periodic jobs, for RQ's scheduler: `rq cron saas.cron --url "$REDIS_URL"` (run exactly one).

The scheduler only enqueues; `python worker.py` runs the jobs. Every job here is driven
by database state and safe to run again, so a missed or doubled tick does no harm.
"""

from rq import cron

from saas.api.idempotency import sweep_idempotency_keys
from saas.api.webhooks.services import run_webhook_retries
from saas.automations.runs import run_runs_sweep
from saas.billing.contracts.billing import run_stalled_runs_sweep
from saas.billing.dunning.sweep import run_collection_sweep
from saas.billing.events import run_overdue_sweep
from saas.billing.payments.bank.jobs import run_lost_imports_sweep
from saas.billing.recurring.services import run_recurring
from saas.billing.reminders.sweep import run_sweep
from saas.events.services import run_event_sweep
from saas.outsourced_service.fees import record_last_month
from saas.portal.reconcile import reconcile_checkouts
from saas.portal.stripe_events import retry_stripe_events

# Hourly: each tenant's reminders go out soon after midnight where the tenant is.
cron.register(run_sweep, queue_name="billing", cron="5 * * * *", name="reminder-sweep")
# Hourly too: recurring invoices are made on their day where the tenant is.
cron.register(run_recurring, queue_name="billing", cron="15 * * * *", name="recurring-invoices")
# Hourly: Stripe payments whose webhook never came (does nothing without a Stripe key).
cron.register(reconcile_checkouts, queue_name="billing", cron="35 * * * *",
              name="stripe-reconcile")
# Every ten minutes: Stripe events whose processing failed, when their retry is due.
cron.register(retry_stripe_events, queue_name="billing", cron="*/10 * * * *",
              name="stripe-event-retries")
# Hourly, after the reminder sweep: collection cases open, take new invoices, close when paid.
cron.register(run_collection_sweep, queue_name="billing", cron="25 * * * *",
              name="collection-sweep")
# Monthly, on the 1st: every bureau's activity of the month before, as fee items to invoice.
cron.register(record_last_month, queue_name="billing", cron="45 3 1 * *",
              name="bureau-fees")
# Every five minutes: domain events whose hand-over was lost (Redis down, worker killed).
cron.register(run_event_sweep, queue_name="events", cron="*/5 * * * *", name="event-sweep")
# Hourly: invoices that passed their due date become document.overdue events.
cron.register(run_overdue_sweep, queue_name="events", cron="50 * * * *", name="overdue-events")
# Every minute: webhook deliveries whose next try is due (and first tries whose job was lost).
cron.register(run_webhook_retries, queue_name="events", cron="* * * * *", name="webhook-retries")
# Hourly: API idempotency keys older than a day are forgotten.
cron.register(sweep_idempotency_keys, queue_name="billing", cron="50 * * * *",
              name="api-idempotency-keys")
# Every ten minutes: automation runs whose job was lost (they go on where they stopped).
cron.register(run_runs_sweep, queue_name="default", cron="*/10 * * * *",
              name="automation-runs-sweep")
# Every ten minutes: billing runs whose worker died and whose job RQ will not retry (they
# go on from their last commit).
cron.register(run_stalled_runs_sweep, queue_name="billing", cron="*/10 * * * *",
              name="billing-runs-sweep")
# Every ten minutes: bank imports whose job is lost end, telling the user to upload again.
cron.register(run_lost_imports_sweep, queue_name="default", cron="*/10 * * * *",
              name="bank-imports-sweep")
