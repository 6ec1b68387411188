"""Models shared by several routers."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from stayactive.records import NATIONAL_ID_IN_TEXT, looks_like_national_id
from stayactive.registry import NAME_CONTROL_CHARACTER, is_plain_name

T = TypeVar("T")

#: The validation error type of a national identity number in free text; the problem handler
#: answers it as ``national-id-refused``, as the import and ``POST /residents`` do.
NATIONAL_ID_ERROR = "national_id"


def _no_national_id(value: str) -> str:
    # docs/privacy.md promises such numbers are never stored: a note or a name typed by a
    # person is where one would slip in. The value is not repeated in the error.
    if looks_like_national_id(value):
        raise PydanticCustomError(NATIONAL_ID_ERROR, NATIONAL_ID_IN_TEXT)
    return value


#: Text a person types (a note, a name, a serial): refused if it holds a national identity
#: number (:func:`stayactive.records.looks_like_national_id`).
NoNationalId = AfterValidator(_no_national_id)
FreeText = Annotated[str, NoNationalId]


def _plain_name(value: str) -> str:
    if not is_plain_name(value):
        raise PydanticCustomError("control_character", NAME_CONTROL_CHARACTER)
    return value


#: A name people read (a site, a ward, a serial): no control character, such as a line break
#: (:func:`stayactive.registry.is_plain_name`).
PlainName = AfterValidator(_plain_name)


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
