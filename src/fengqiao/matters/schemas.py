from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fengqiao.core.fields import (
    CategoryCode,
    Id,
    Mobile,
    PlaceCode,
    RegionCode,
    Text,
    UnitCode,
    When,
)
from fengqiao.core.workflow import labelled
from fengqiao.geo.coords import CoordinateSystem
from fengqiao.matters.enums import Card, Channel, Rating, RiskColour, Urgency


class ReportIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "路灯不亮",
                    "description": "东沙村码头路的路灯连续三晚不亮",
                    "category_code": "urban_management",
                    "region_code": "330305001",
                    "reporter_phone": "13800138000",
                }
            ]
        },
    )

    title: Annotated[str, Text(200, min_length=2)]
    description: Annotated[str, Text(5000, min_length=0)] = ""
    category_code: CategoryCode | None = None
    channel: Channel = Channel.web
    urgency: Urgency = Urgency.normal
    risk_colour: RiskColour = RiskColour.green
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    crs: CoordinateSystem = CoordinateSystem.wgs84
    address: Annotated[str, Text(200)] | None = None
    region_code: PlaceCode | None = None
    reporter_name: Annotated[str, Text(64)] | None = None
    reporter_phone: Mobile | None = None
    idempotency_key: str | None = Field(
        default=None,
        min_length=8,
        max_length=128,
        description="client-made key: a retry makes no second matter",
    )


# ---------------------------------------------------------------- action payloads
# One model per kind of action: its fields, their bounds, and their titles in both
# languages, from which the console draws the action's form.

REMARK = labelled("说明（可选）", "Note (optional)", "textarea")


class Remark(BaseModel):
    """An action that needs nothing; a remark goes to the timeline."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Text(2000)] | None = Field(None, json_schema_extra=REMARK)


class Reasoned(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("理由", "Reason", "textarea")
    )


class AcceptIn(Remark):
    category_code: CategoryCode | None = Field(
        None,
        json_schema_extra=labelled(
            "更正类别（可选）", "Correct the category (optional)", "category"
        ),
    )


class MergeIn(Remark):
    target_id: Id = Field(
        json_schema_extra=labelled("合并到（事件 ID）", "Merge into (matter id)", "matter")
    )


class DispatchIn(Remark):
    unit_code: UnitCode | None = Field(
        None,
        json_schema_extra=labelled(
            "承办单位（不填则按建议）", "Responsible unit (else as suggested)", "unit"
        ),
    )
    urgency: Urgency | None = Field(None, json_schema_extra=labelled("紧急程度", "Urgency"))


class ReturnIn(Reasoned):
    grounds: Annotated[str, Text(2000)] | None = Field(
        None, json_schema_extra=labelled("退单依据（可选）", "Grounds (optional)", "textarea")
    )


class ExtensionIn(Reasoned):
    until: When = Field(json_schema_extra=labelled("延期至", "Extend until", "datetime"))


class SendDownIn(Remark):
    level: int = Field(
        ge=1, le=4, json_schema_extra=labelled("下派层级", "Send down to level", "number")
    )


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Text(5000)] = Field(
        json_schema_extra=labelled("办理情况", "What was done", "textarea")
    )


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Text(5000)] | None = Field(
        None,
        json_schema_extra=labelled("核查意见（可选）", "Verification note (optional)", "textarea"),
    )


class RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Rating = Field(json_schema_extra=labelled("评价", "Rating", "select"))
    note: Annotated[str, Text(2000)] | None = Field(
        None, json_schema_extra=labelled("意见（可选）", "Comment (optional)", "textarea")
    )


class SuperviseIn(Remark):
    card: Card = Field(
        Card.normal, json_schema_extra=labelled("督办类型", "Supervision card", "select")
    )


class TimelineOut(BaseModel):
    id: int
    at: datetime
    actor_name: str
    action: str
    from_state: str | None
    to_state: str
    reason: str | None
    detail: dict[str, Any]


class AttachmentOut(BaseModel):
    id: int
    sha256: str
    content_type: str
    size: int
    stage: str
    created_at: datetime
    url: str


class PendingOut(BaseModel):
    """A request the matter waits on (待审批): an extension, a return, a verification."""

    action: str = Field(description="the action that asked (request_extension, return, …)")
    label: str = Field(description="what waits, in the caller's language")
    awaits: str = Field(description="the kind of actor who decides (dispatcher, grid, unit)")
    reason: str | None
    requested_by: str | None
    requested_at: datetime | None
    mine: bool = Field(description="the caller is among those who decide it")


class MatterOut(BaseModel):
    id: int
    number: str
    title: str
    description: str
    category_code: str | None
    channel: str
    urgency: str
    risk_colour: str
    state: str
    state_name: str
    level: int
    lon: float | None
    lat: float | None
    address: str | None
    grid_code: str | None
    grid_name: str | None
    place_name: str | None = Field(description="the name of the region the matter lies in")
    region_path: str
    reporter_name: str | None
    reporter_phone: str | None
    unit_id: int | None
    unit_name: str | None
    merged_into_id: int | None
    reported_at: datetime
    sign_due_at: datetime | None
    reply_due_at: datetime | None
    resolve_due_at: datetime | None
    due_flagged: bool
    due_at: datetime | None = Field(description="the deadline of the stage it is in")
    time_left_minutes: int | None = Field(
        description="working minutes on the calendar until due_at; negative when overdue"
    )
    time_left: str | None = Field(description="the same, said: 剩余 5 小时 / 超期 17 小时")
    pinned: bool = Field(description="urgent or critical and not yet taken by anyone")
    pending: PendingOut | None = None
    overdue: bool
    supervision: int
    extension_until: datetime | None
    rating: str | None
    suggestion: dict[str, Any] | None
    category_suggestions: dict[str, Any] | None = Field(
        None,
        description="the text model's top three: {model, threshold, items: [{code, label, p}]}",
    )
    possible_duplicates: list[dict[str, Any]] = Field(
        [], description="matters this one may repeat: [{id, number, title, score}], best first"
    )
    allowed_actions: list[str] = []
    timeline: list[TimelineOut] | None = None
    attachments: list[AttachmentOut] | None = None


class MatterPage(BaseModel):
    total: int
    items: list[MatterOut]
    counts: dict[str, int] = Field(description="matters per state under the same filters")


class GridCountOut(BaseModel):
    grid_code: str
    open: int = Field(description="matters in an open state")
    overdue: int = Field(description="open matters past their signing or resolving deadline")


class RuleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "category_code": "dispute_family",
                    "region_code": "330305001",
                    "unit_code": "A-ZZGZ",
                    "level": 3,
                }
            ]
        },
    )

    category_code: CategoryCode
    urgency: Urgency | None = None
    region_code: RegionCode | None = None
    unit_code: UnitCode
    level: int = Field(ge=1, le=6)


class RuleOut(BaseModel):
    id: int
    category_code: str
    urgency: str | None
    region_path: str | None
    unit_id: int
    unit_name: str
    level: int
    is_active: bool


class PolicyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"urgency": "normal", "basis": "working", "sign": 1, "reply": 3, "resolve": 5}
            ]
        },
    )

    category_code: CategoryCode | None = None
    urgency: Urgency
    basis: Literal["working", "natural"]
    sign: float | None = Field(default=None, gt=0, le=365)
    onsite: float | None = Field(default=None, gt=0, le=365)
    reply: float | None = Field(default=None, gt=0, le=365)
    resolve: float | None = Field(default=None, gt=0, le=365)
    ladder_hours: float = Field(default=4.0, gt=0, le=240)


class PolicyOut(PolicyIn):
    id: int


class BulkIn(BaseModel):
    """One action for many matters, with the payload the single action takes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "remind", "ids": [1, 2], "payload": {}}]},
    )
    action: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]
    ids: Annotated[list[Id], Field(min_length=1, max_length=200)]
    payload: dict[str, Any] = Field(
        default_factory=dict, description="validated by the action's own payload model"
    )


class BulkFailure(BaseModel):
    id: int
    number: str | None = Field(description="null when the caller may not see the matter")
    code: str
    message: str


class BulkOut(BaseModel):
    done: list[int] = Field(description="the matters the action was taken on")
    failed: list[BulkFailure] = Field(description="the others, each with its reason")
