"""Recurring invoices (R4.5): an invoice repeated on a schedule, each occurrence once."""
