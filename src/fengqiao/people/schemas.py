from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from fengqiao.core.permissions import Role


def not_null(value: Any) -> Any:
    """For a change: a field left out stays as it is, but one that cannot be empty may
    not be given as null."""
    if value is None:
        raise PydanticCustomError("null_not_allowed", "may not be null")
    return value


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=10, max_length=256)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
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
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-@]+$")
    display_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    roles: list[Role] = Field(min_length=1)
    region_code: str | None = Field(default=None, description="region code or grid code")
    unit_code: str | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9\-]{5,20}$")
    id_number: str | None = Field(default=None, pattern=r"^\d{17}[\dXx]$")


class UserUpdate(BaseModel):
    """Only the fields given change (those that cannot be empty refuse null);
    `unit_code` "" takes the user out of their unit."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    password: str | None = Field(default=None, min_length=8, max_length=256)
    roles: list[Role] | None = Field(default=None, min_length=1)
    region_code: str | None = Field(default=None, description="region code or grid code")
    unit_code: str | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9\-]{5,20}$")
    id_number: str | None = Field(default=None, pattern=r"^\d{17}[\dXx]$")
    is_active: bool | None = None

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
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=128)
    kind: str = Field(pattern=r"^(department|station|platform|centre)$")
    region_code: str
    categories: list[str] = []
    phone: str | None = None


class UnitUpdate(BaseModel):
    """Only the fields given change (those that cannot be empty refuse null)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    categories: list[str] | None = None
    phone: str | None = None
    is_active: bool | None = None

    _not_null = field_validator("name", "categories", "is_active")(not_null)
