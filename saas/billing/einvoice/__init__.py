"""E-invoices: issued invoices and credit notes as UBL 2.1, Peppol BIS Billing 3.0."""
