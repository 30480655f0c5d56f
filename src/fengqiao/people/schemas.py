from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.core.permissions import Role


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
