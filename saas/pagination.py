"""Server-side pagination of a SELECT: one page of rows, a (bounded) count, what is next."""

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
    # True when counting stopped at the limit: there are at least `total` rows.
    total_is_lower_bound: bool = False
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.more

    @property
    def first_index(self) -> int:
        return 0 if not self.items else (self.number - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def paginate_with_window_count(
    statement: Select[Any], number: int, per_page: int = 25
) -> Page[Any]:
    """Like paginate(), counting in the same query (count(*) OVER ()).

    For narrowed searches whose matches are gathered first (a materialized CTE): one
    query instead of gathering them twice, once for the count and once for the page.
    """
    number = max(number, 1)
    counted = statement.add_columns(func.count().over().label("total_rows"))
    rows = db.session.execute(counted.limit(per_page + 1).offset((number - 1) * per_page)).all()
    if not rows and number > 1:  # past the end (the list shrank): show the first page
        return paginate_with_window_count(statement, 1, per_page)
    total = rows[0][-1] if rows else 0
    return Page(items=[row[0] for row in rows[:per_page]], number=number, per_page=per_page,
                total=total, more=len(rows) > per_page)


def paginate(
    statement: Select[Any], number: int, per_page: int = 25, count_limit: int | None = 1000,
    *, count_from: Select[Any] | None = None,
) -> Page[Any]:
    """Run statement for page `number` (1-based); count its rows up to count_limit.

    Counting every match of a broad search over tens of thousands of rows costs more than
    the page itself; past the limit the pager says "1,000+" and still offers Next.
    ``count_from``: the same rows with fewer columns (ids), which an index alone can count.
    """
    counted = (statement if count_from is None else count_from).order_by(None)
    if count_limit is not None:
        counted = counted.limit(count_limit + 1)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    capped = count_limit is not None and total > count_limit
    if capped:
        total = count_limit
    last_page = max(1, -(-total // per_page))
    number = max(number, 1) if capped else min(max(number, 1), last_page)
    rows = list(db.session.scalars(statement.limit(per_page + 1).offset((number - 1) * per_page)))
    return Page(items=rows[:per_page], number=number, per_page=per_page, total=total,
                total_is_lower_bound=capped, more=len(rows) > per_page)
