"""Sales documents (R3): quotes, order confirmations, proformas, invoices, credit notes."""
