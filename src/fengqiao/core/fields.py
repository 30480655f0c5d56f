"""The shapes every input takes, bounded once here: ids, offsets and limits the columns can
hold, text stripped and refused when nothing visible is left, phone numbers, moments with a
time zone inside the years the calendar knows, strict booleans.

Use them as `Annotated` types in schemas and in views' parameters, e.g.
`name: Annotated[str, Text(64)]`, `limit: Annotated[int, Limit(500)] = 100`."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

import annotated_types as at
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

# Ids are INTEGER columns: 32 bits on PostgreSQL.
MAX_ID = 2**31 - 1
# Far past any page a person turns to, well inside a 64-bit OFFSET.
MAX_OFFSET = 10_000_000
# The years a moment or a day may fall in: those the working-day calendar may ever cover.
FIRST_YEAR, LAST_YEAR = 2000, 2100

Id = Annotated[int, Field(ge=1, le=MAX_ID, examples=[1])]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]


class Limit(at.GroupedMetadata):
    """How many rows a page may have: 1 to `most`."""

    def __init__(self, most: int) -> None:
        self.most = most

    def __iter__(self) -> Iterator[object]:
        yield at.Ge(1)
        yield at.Le(self.most)


# Zero-width and direction marks, the BOM, soft hyphens, fillers that render as nothing.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def _invisible(ch: str) -> bool:
    return ch.isspace() or ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def strip_invisible(value: str) -> str:
    """`value` without the spaces and invisible characters at either end."""
    start, end = 0, len(value)
    while start < end and _invisible(value[start]):
        start += 1
    while end > start and _invisible(value[end - 1]):
        end -= 1
    return value[start:end]


def _stripped(required: bool) -> Any:
    def strip(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the string check after this refuses it
        text = strip_invisible(value)
        if required and not text and value:
            raise PydanticCustomError("blank", "Text has no visible character")
        return text

    return strip


class Text(at.GroupedMetadata):
    """Text of at most `max_length` characters, once the spaces and invisible characters
    at either end are gone; with `min_length` ≥ 1 (the default), text with no visible
    character is refused."""

    def __init__(self, max_length: int, *, min_length: int = 1) -> None:
        self.max_length, self.min_length = max_length, min_length

    def __iter__(self) -> Iterator[object]:
        yield at.MinLen(self.min_length)
        yield at.MaxLen(self.max_length)
        # Outermost: runs first, so the lengths are those of the stripped text.
        yield BeforeValidator(_stripped(self.min_length > 0))


# Codes are ASCII: they go into URLs, paths and file names.
RegionCode = Annotated[
    str,
    StringConstraints(max_length=12, pattern=r"^\d{6}(\d{3}(\d{3})?)?$"),
    Field(description="region code: 6 digits (county), 9 (township), 12 (community)"),
]
PlaceCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z]+$"),
    Field(description="region code or grid code"),
]
UnitCode = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
]
CategoryCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]

# A mainland mobile number: what SMS notifications reach.
Mobile = Annotated[
    str,
    StringConstraints(max_length=11, pattern=r"^1[3-9]\d{9}$"),
    Field(description="mainland mobile number, 11 digits (13800138000)", examples=["13800138000"]),
]
# A unit's phone: a mobile, or a landline with its area code (0577-12345678, 010-1234567),
# optionally an extension.
Phone = Annotated[
    str,
    StringConstraints(max_length=20, pattern=r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$"),
    Field(
        description="mobile (13800138000) or landline with area code (0577-12345678)",
        examples=["0577-12345678"],
    ),
]


def _in_years(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError(
            "year_out_of_range",
            "The year must be between {first} and {last}",
            {"first": FIRST_YEAR, "last": LAST_YEAR},
        )
    return value


def _moment_in_years(value: datetime) -> datetime:
    _in_years(value)
    return value


# A moment with its time zone (the columns hold UTC; a bare local time is ambiguous).
When = Annotated[
    AwareDatetime,
    AfterValidator(_moment_in_years),
    Field(description=f"ISO 8601 with a time zone, years {FIRST_YEAR}–{LAST_YEAR}"),
]
Day = Annotated[
    date,
    AfterValidator(_in_years),
    Field(description=f"a calendar day, years {FIRST_YEAR}–{LAST_YEAR}"),
]


def _true_or_false(value: Any) -> Any:
    if isinstance(value, str) and value not in ("true", "false"):
        raise PydanticCustomError("bool_parsing", "Input should be true or false")
    return value


# A boolean in a query string: only the words true and false (no yes, on or 1).
Flag = Annotated[bool, BeforeValidator(_true_or_false)]


def not_null(value: Any) -> Any:
    """For a change: a field left out stays as it is, but one that cannot be empty may
    not be given as null."""
    if value is None:
        raise PydanticCustomError("null_not_allowed", "may not be null")
    return value
