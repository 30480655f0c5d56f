"""A test-only table: one throw-away action of the matter workflow, to show that an
action declared on the server appears in the console with no front-end change.

The live server runs in the test process, so a test adds the row for its own duration:
`with MATTER.added(NOTE_VISIT): ...` (fengqiao.matters.lifecycle.MATTER)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.core.fields import Text
from fengqiao.core.labels import LabelledStr
from fengqiao.core.workflow import Transition, labelled, row
from fengqiao.matters.enums import MatterState as S
from fengqiao.matters.lifecycle import D


class Mood(LabelledStr):
    calm = "calm", "平稳", "Calm"
    tense = "tense", "紧张", "Tense"


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: Annotated[str, Text(500)] = Field(
        json_schema_extra=labelled("走访情况", "What was found", "textarea")
    )
    mood: Mood | None = Field(None, json_schema_extra=labelled("现场气氛", "Mood on site"))


def note_visit(
    session: Any, principal: Any, cal: Any, matter: Any, data: VisitIn
) -> dict[str, Any]:
    return {"mood": data.mood.value if data.mood else None}


NOTE_VISIT: Transition = row(
    "note_visit",
    ("记录走访", "Record a visit"),
    {S.accepted},
    None,
    {D},
    payload=VisitIn,
    handler=note_visit,
)
