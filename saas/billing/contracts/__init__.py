"""Contracts, annexes, billing runs and recurring invoices."""
