"""Bank statements (R6.3): import a statement file, match its lines to open invoices, book
what is sure, and a queue where staff match, book as credit or ignore the rest.

- ``services``: reading a file for a bank account (``statements``), importing it whole or
  not at all (refused when imported before), candidates for matching, and what staff do
  with a line (book by hand, accept the suggestion, ignore, restore, undo);
- ``booking``: booking the automatic matches through ``payments.services.record_payment``,
  or for many lines at once the same rows written set-wise;
- ``views``, ``jobs``, ``cli``, ``demo``: the pages, the background import, ``flask bank
  import`` and the demo statement.
"""
