from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.core.fields import RegionCode

Status = Literal["pending", "delivered", "failed"]


class NotificationOut(BaseModel):
    id: int
    topic: str = Field(description="what happened, e.g. matter.dispatch")
    recipient: str = Field(description="unit:…, dispatchers:{region path}, user:…, grid:…")
    channel: str
    status: Status = Field(
        description="pending: waits for (another) attempt; delivered; failed: given up after "
        "failing for the configured time, waits for an administrator to send it again"
    )
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    failing_since: datetime | None = Field(description="its first failure since written or resent")
    failed_at: datetime | None = Field(description="when it was given up")
    last_error: str | None
    dedupe_key: str = Field(description="what the receiver sees as Idempotency-Key")
    matter_id: int | None = Field(description="its matter; none: it concerns the installation")
    matter_number: str | None
    matter_title: str | None
    region_path: str | None = Field(description="its matter's place")


class NotificationPage(BaseModel):
    total: int
    items: list[NotificationOut]
    counts: dict[str, int] = Field(
        description="messages pending and failed in the caller's jurisdiction"
    )
    oldest_pending_at: datetime | None = Field(
        description="since when the oldest message in the caller's jurisdiction has waited"
    )


class InboxItem(BaseModel):
    """A notification addressed to the caller themselves, as the app shows it."""

    id: int
    topic: str = Field(description="{workflow}.{action}: matter.dispatch, case.accept, …")
    workflow: str
    action: str
    label: str = Field(description="what happened, in the caller's language")
    number: str | None = Field(description="the matter's or the case's number")
    title: str | None
    created_at: datetime


class ResendFailedIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{}, {"region_code": "330305001"}]}
    )

    region_code: RegionCode | None = Field(
        default=None,
        description="only the matters of this region; none: every failed notification the "
        "caller sees",
    )


class ResendOut(BaseModel):
    resent: list[int] = Field(description="the notifications now due again")
