"""Server-side pagination of a SELECT: one page of rows and whether more exist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from saas.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return 0 if not self.total else (self.number - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.number * self.per_page, self.total)


def paginate(statement: Select[Any], number: int, per_page: int = 25) -> Page[Any]:
    """Run statement for page `number` (1-based, clamped) and count all its rows."""
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    number = min(max(number, 1), max(1, -(-(total or 0) // per_page)))
    items = list(db.session.scalars(statement.limit(per_page).offset((number - 1) * per_page)))
    return Page(items=items, number=number, per_page=per_page, total=total or 0)
