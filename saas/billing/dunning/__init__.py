"""Debt collection (R6.6–R6.8, R9.2): collection cases, contact notes, collectors' work
lists, legal paths with their documents, and the reports.

- ``models``: cases, their invoices, notes, history, legal paths and stages, documents;
- ``rules`` and ``claims`` (pure): promises kept or broken, what a collector must do today,
  which stage a case may move to, the claim with interest to date;
- ``services``: open, assign, note, move, close and reopen a case (never commit);
- ``sweep``: the periodic job that opens due cases, adds newly overdue invoices and closes
  paid ones; ``settlement``: the same closing, at once, when payments settle invoices;
- ``legal_pdf``: the stage documents; ``views``, ``reports``, ``cli``, ``demo``.
"""
