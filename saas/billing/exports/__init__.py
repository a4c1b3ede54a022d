"""The accountant's export (R7.3): a period's documents, journal and e-invoices in one ZIP."""
