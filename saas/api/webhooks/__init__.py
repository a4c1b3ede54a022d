"""Outbound webhooks: each tenant's endpoints told of its domain events, signed, retried.

A tenant's admins subscribe URLs to events (``saas.events.EVENT_NAMES``). The events
consumer (``services.on_events``) writes one delivery row per subscribed endpoint and event,
under a unique key, and asks for a job that posts it (``deliver_webhook``); a failed post is
tried again after WEBHOOK_RETRY_MINUTES by a sweep that reads the database, then given up.
Every delivery is kept with what was sent and answered (the delivery log), and can be
replayed. Requests are signed the Standard Webhooks way (``signing.py``).
"""
