"""Automations (R7.1, R7.2): per-tenant rules that act on domain events, and document templates.

A rule names one event (``saas.events.EVENT_NAMES``), conditions on it (the customer's tag,
the document's kind, the status it moved between) and ordered actions: make a proforma or
invoice from a template of lines, turn a paid proforma into the final invoice, generate a
contract or letter from a document template, e-mail what the earlier actions made. The
events consumer (``runs.start_runs``) writes one run per (rule, event) and asks for the run
job, which does the actions one by one, each in its own savepoint, and keeps what each did,
so a run that failed half way resumes at the first action not done.
"""
