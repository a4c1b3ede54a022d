"""The invoicing bureau (R8): a bureau's client companies and its work for them.

- ``models``: the bureau's register of clients, its monthly activity per client, print runs;
- ``clients``: onboarding, access granted by invite code, mode, assignments, the end;
- ``queue``: the work queue across clients, a fixed number of statements per client;
- ``post_runs``: one print run across clients, each client's own batch in its name;
- ``fees``: a month's activity recorded as billable items of the bureau, and invoiced;
- ``views`` (the bureau's pages), ``client_views`` (a company's *Settings → Bureau*),
  ``cli`` (``flask bureau record-fees``), ``demo``.

Who of a bureau is let into a client company, with which role, is decided with the other
access rules in ``saas/tenants/bureau_access.py``.
"""
