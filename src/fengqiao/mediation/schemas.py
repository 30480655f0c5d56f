"""What mediation's API takes and answers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from fengqiao.core.fields import Phone, RegionCode, Text, UnitCode, not_null
from fengqiao.mediation.enums import CommitteeKind, Gender, Position, Specialty

Specialties = Annotated[list[Specialty], Field(max_length=len(Specialty))]


class CommitteeCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "TMC-YUSHI",
                    "name": "东屏街道渔事纠纷人民调解委员会",
                    "kind": "professional",
                    "region_code": "330305001",
                    "specialties": ["marine_fishery"],
                    "venue": "东屏街道渔港路 8 号",
                    "phone": "0577-63482210",
                }
            ]
        },
    )

    code: UnitCode
    name: Annotated[str, Text(128)]
    kind: CommitteeKind
    region_code: RegionCode
    specialties: Specialties = []
    venue: Annotated[str, Text(200)] | None = None
    phone: Phone | None = None


class CommitteeUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(128)] | None = None
    specialties: Specialties | None = None
    venue: Annotated[str, Text(200)] | None = None
    phone: Phone | None = None
    is_active: StrictBool | None = None

    _not_null = field_validator("name", "specialties", "is_active")(not_null)


class CommitteeOut(BaseModel):
    id: int
    code: str
    name: str
    kind: CommitteeKind
    kind_name: str
    region_path: str
    region_name: str
    specialties: list[Specialty]
    specialty_names: list[str]
    venue: str | None
    phone: str | None
    is_active: bool
    members: int = Field(description="mediators who are its chair, vice chairs or members")
    women: int = Field(description="women among its members")
    warnings: list[str] = Field(
        description="what the statute asks that the committee lacks: 3 to 9 members, a woman"
    )


class MediatorCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "committee_code": "TMC-YUSHI",
                    "name": "陈海生",
                    "gender": "male",
                    "position": "chair",
                    "specialties": ["marine_fishery"],
                    "phone": "13905770001",
                    "profile": "老船长，从事渔事调解二十年",
                }
            ]
        },
    )

    committee_code: UnitCode
    name: Annotated[str, Text(64)]
    gender: Gender
    position: Position = Position.mediator
    specialties: Specialties = []
    phone: Phone | None = None
    profile: Annotated[str, Text(500)] | None = None
    username: Annotated[str, Text(64)] | None = Field(
        default=None, description="the account the mediator signs in with, if any"
    )


class MediatorUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(64)] | None = None
    position: Position | None = None
    specialties: Specialties | None = None
    phone: Phone | None = None
    profile: Annotated[str, Text(500)] | None = None
    is_active: StrictBool | None = None

    _not_null = field_validator("name", "position", "specialties", "is_active")(not_null)


class MediatorOut(BaseModel):
    id: int
    committee_code: str
    committee_name: str
    region_name: str
    name: str
    gender: Gender
    gender_name: str
    position: Position
    position_name: str
    specialties: list[Specialty]
    specialty_names: list[str]
    phone: str | None
    masked: bool
    profile: str | None
    username: str | None
    is_active: bool


class MenuEntry(BaseModel):
    """A mediator as the mediation menu (点单式调解) shows them to anyone: no contacts."""

    id: int
    name: str
    gender_name: str
    position_name: str
    committee_code: str
    committee_name: str
    committee_kind_name: str
    region_name: str
    venue: str | None
    specialties: list[Specialty]
    specialty_names: list[str]
    profile: str | None
