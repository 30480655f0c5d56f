"""Names for people, in both languages, declared once beside the thing they name.

An enum whose members carry their labels (`Rating.satisfied.label("en")`) is the one source
of those names for the API, its OpenAPI document (`x-labels`) and the console."""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum
from functools import cache
from typing import NamedTuple, Self

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema


class Label(NamedTuple):
    zh: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def translate(self, text: str, lang: str) -> str | None:
        """`text` in `lang` when it is this label's Chinese form with its `{fields}` filled
        in (a stored text the system wrote), else None."""
        found = template(self.zh).fullmatch(text)
        return None if found is None else self(lang).format(**found.groupdict())


@cache
def template(text: str) -> re.Pattern[str]:
    """A pattern matching `text` with each `{field}` standing for any text."""
    parts = re.split(r"\{(\w+)\}", text)
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    )


def _labels_schema(
    cls: type[LabelledStr] | type[LabelledInt],
    schema: core_schema.CoreSchema,
    handler: GetJsonSchemaHandler,
) -> JsonSchemaValue:
    json_schema = handler(schema)
    json_schema = handler.resolve_ref_schema(json_schema)
    json_schema["x-labels"] = {str(m.value): {"zh": m.zh, "en": m.en} for m in cls}
    return json_schema


class LabelledStr(StrEnum):
    """`name = "value", "中文", "English"`."""

    zh: str
    en: str

    def __new__(cls, value: str, zh: str = "", en: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.zh, member.en = zh or value, en or value
        return member

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _labels_schema(cls, schema, handler)


class LabelledInt(IntEnum):
    """`name = 1, "中文", "English"`."""

    zh: str
    en: str

    def __new__(cls, value: int, zh: str = "", en: str = "") -> Self:
        member = int.__new__(cls, value)
        member._value_ = value
        member.zh, member.en = zh or str(value), en or str(value)
        return member

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _labels_schema(cls, schema, handler)
