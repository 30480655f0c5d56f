from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from fengqiao.core.fields import (
    CategoryCode,
    Mobile,
    Phone,
    PlaceCode,
    RegionCode,
    Text,
    UnitCode,
    not_null,
)
from fengqiao.core.permissions import Role
from fengqiao.geo.schemas import GridOut

IdNumber = Annotated[
    str, Field(pattern=r"^\d{17}[\dXx]$", description="居民身份证号, 18 characters")
]
# A user has a few roles; a unit handles some of the categories (at most this many).
Roles = Annotated[list[Role], Field(min_length=1, max_length=len(Role))]
Categories = Annotated[list[CategoryCode], Field(max_length=64)]


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Text(64)]
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(
        default=None,
        min_length=10,
        max_length=256,
        description="for API clients; a browser sends none: its token is in the cookie",
    )


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str | None = Field(
        default=None,
        description="only in the body-based flow; absent when the request carried "
        "X-Token-Transport: cookie or refreshed from the cookie",
    )
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")


class UnitBrief(BaseModel):
    id: int
    code: str
    name: str


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    role_names: list[str]
    actions: list[str]
    jurisdiction_path: str | None
    jurisdiction_name: str | None
    unit: UnitBrief | None
    language: str


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    phone: str | None
    id_number: str | None
    roles: list[str]
    jurisdiction_path: str | None
    unit: UnitBrief | None
    is_active: bool
    masked: bool


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "zhang.wei",
                    "display_name": "张伟",
                    "password": "Lantern-harbour-42",
                    "roles": ["grid_worker_fulltime"],
                    "region_code": "33030500100101",
                    "phone": "13800138000",
                }
            ]
        },
    )

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-@]+$")
    display_name: Annotated[str, Text(64)]
    password: str = Field(min_length=1, max_length=128, description="held to the strength rule")
    roles: Roles
    region_code: PlaceCode | None = None
    unit_code: UnitCode | None = None
    phone: Mobile | None = None
    id_number: IdNumber | None = None


class UserUpdate(BaseModel):
    """Only the fields given change (those that cannot be empty refuse null);
    `unit_code` "" takes the user out of their unit."""

    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[str, Text(64)] | None = None
    password: str | None = Field(
        default=None, min_length=1, max_length=128, description="held to the strength rule"
    )
    roles: Roles | None = None
    region_code: PlaceCode | None = None
    unit_code: UnitCode | Literal[""] | None = None
    phone: Mobile | None = None
    id_number: IdNumber | None = None
    is_active: StrictBool | None = None

    _not_null = field_validator("display_name", "password", "roles", "is_active")(not_null)


class UnitOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    region_path: str
    categories: list[str]
    phone: str | None
    is_active: bool


class UnitCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "A-SFS",
                    "name": "甲街道司法所",
                    "kind": "station",
                    "region_code": "330305001",
                    "categories": ["dispute_family"],
                    "phone": "0577-63482210",
                }
            ]
        },
    )

    code: UnitCode
    name: Annotated[str, Text(128)]
    kind: Literal["department", "station", "platform", "centre"]
    region_code: RegionCode
    categories: Categories = Field(default=[], description="category codes it handles")
    phone: Phone | None = None


class UnitUpdate(BaseModel):
    """Only the fields given change (those that cannot be empty refuse null)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(128)] | None = None
    categories: Categories | None = None
    phone: Phone | None = None
    is_active: StrictBool | None = None

    _not_null = field_validator("name", "categories", "is_active")(not_null)


class TeamMemberOut(BaseModel):
    user_id: int
    display_name: str
    team_role: str
    team_role_name: str
    phone: str | None


class GridDetail(GridOut):
    """A grid with its team (the people of its "1+1+1+X" team, phones masked)."""

    team: list[TeamMemberOut]
