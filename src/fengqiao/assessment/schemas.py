from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TrailStepOut(BaseModel):
    """One level of the dashboard's breadcrumb."""

    code: str
    name: str
    kind: Literal["region", "grid"] = Field(description="a region (行政区划) or a grid (网格)")
