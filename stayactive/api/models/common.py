"""Models shared by several routers."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_offset`` is null on the last page."""

    items: list[T]
    total: int = Field(description="Items in the whole list.")
    limit: int
    offset: int
    next_offset: int | None


def page_of(items: list[T], total: int, limit: int, offset: int) -> Page[T]:
    """A page, with ``next_offset`` when more items follow."""
    more = offset + len(items) < total
    return Page[T](
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + len(items) if more else None,
    )
