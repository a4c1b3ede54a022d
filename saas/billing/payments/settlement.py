"""Who is told when payments settle invoices, or stop settling them.

Payments know nothing of the modules built on them: those register a listener here (debt
collection closes a case whose overdue invoices are paid), and every change of what
settles an invoice calls ``changed`` with its customer, in the same transaction — the
one-by-one path (``services._settle``) and the set-wise bank booking alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Listener = Callable[[set[int]], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> Listener:
    """Call ``listener(customer_ids)`` after invoices of those customers were settled or
    unsettled (registering the same function twice registers it once)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def changed(customer_ids: Iterable[int]) -> None:
    """Tell the listeners that these customers' invoices were settled or unsettled."""
    ids = {customer_id for customer_id in customer_ids if customer_id is not None}
    if not ids:
        return
    for listener in _listeners:
        listener(ids)
