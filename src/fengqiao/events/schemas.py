from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.events.enums import Channel, Rating, RiskColour, Urgency
from fengqiao.geo.coords import CoordinateSystem


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=5000)
    category_code: str | None = Field(default=None, max_length=64)
    channel: Channel = Channel.web
    urgency: Urgency = Urgency.normal
    risk_colour: RiskColour = RiskColour.green
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    crs: CoordinateSystem = CoordinateSystem.wgs84
    address: str | None = Field(default=None, max_length=200)
    region_code: str | None = Field(default=None, max_length=32)
    reporter_name: str | None = Field(default=None, max_length=64)
    reporter_phone: str | None = Field(default=None, pattern=r"^\+?[0-9\-]{5,20}$")
    idempotency_key: str | None = Field(
        default=None,
        min_length=8,
        max_length=128,
        description="client-made key: a retry makes no second matter",
    )


class ActionIn(BaseModel):
    """The fields an action may need; which are required depends on the action."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=5000)
    grounds: str | None = Field(default=None, max_length=2000, description="退单的依据")
    unit_code: str | None = Field(default=None, max_length=32)
    target_id: int | None = None
    until: datetime | None = None
    level: int | None = Field(default=None, ge=1, le=4)
    rating: Rating | None = None
    card: str | None = Field(default=None, pattern=r"^(normal|yellow|red)$")
    urgency: Urgency | None = None
    category_code: str | None = Field(default=None, max_length=64)


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


class EventOut(BaseModel):
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


class EventPage(BaseModel):
    total: int
    items: list[EventOut]
    counts: dict[str, int] = Field(description="matters per state under the same filters")


class GridCountOut(BaseModel):
    grid_code: str
    open: int = Field(description="matters in an open state")
    overdue: int = Field(description="open matters past their signing or resolving deadline")


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_code: str = Field(max_length=64)
    urgency: Urgency | None = None
    region_code: str | None = None
    unit_code: str
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
    model_config = ConfigDict(extra="forbid")

    category_code: str | None = None
    urgency: Urgency
    basis: str = Field(pattern=r"^(working|natural)$")
    sign: float | None = Field(default=None, gt=0, le=365)
    onsite: float | None = Field(default=None, gt=0, le=365)
    reply: float | None = Field(default=None, gt=0, le=365)
    resolve: float | None = Field(default=None, gt=0, le=365)
    ladder_hours: float = Field(default=4.0, gt=0, le=240)


class PolicyOut(PolicyIn):
    id: int
