"""What mediation's API takes and answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from fengqiao.core.fields import Day, Id, Mobile, Phone, RegionCode, Text, UnitCode, not_null
from fengqiao.mediation.enums import (
    AgreementKind,
    CaseKind,
    CaseRisk,
    CaseSource,
    CaseState,
    CommitteeKind,
    CourtDecision,
    DocumentKind,
    FunnelStage,
    Gender,
    PartyKind,
    PartyRole,
    Position,
    Referral,
    SeaDispute,
    SeaVenue,
    Specialty,
    TermState,
)
from fengqiao.people.schemas import IdNumber

Specialties = Annotated[list[Specialty], Field(max_length=len(Specialty))]
# 户号: the household a person is registered in, for the conflict check.
HouseholdNo = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z\-]+$")
]


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
    household_no: HouseholdNo | None = None
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
    household_no: HouseholdNo | None = None
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
    cases_handled: int = Field(description="cases presided over to an end")
    success_rate: float | None = Field(description="the share of those that settled")
    load: int = Field(description="open cases presided over now")


# ---------------------------------------------------------------- cases


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: PartyRole
    kind: PartyKind = PartyKind.person
    name: Annotated[str, Text(100)]
    gender: Gender | None = None
    id_number: IdNumber | None = None
    phone: Mobile | None = None
    address: Annotated[str, Text(200)] | None = None
    household_no: HouseholdNo | None = None


class VesselIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(32)]
    mmsi: Annotated[str, StringConstraints(pattern=r"^\d{9}$")] | None = None


class CaseCreate(BaseModel):
    """A new case: a resident's application or consultation (the caller is the applicant),
    a dispute matter turned into a case (`matter_id`), a committee's own initiative or
    a court's delegation (`court`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "source": "application",
                    "title": "邻里漏水纠纷",
                    "summary": "楼上卫生间漏水，多次协商未果",
                    "specialty": "neighbour",
                    "region_code": "330305001001",
                    "parties": [{"role": "respondent", "name": "李四", "phone": "13800138001"}],
                    "chosen_mediator_id": 3,
                }
            ]
        },
    )

    source: CaseSource = CaseSource.application
    kind: CaseKind = CaseKind.ordinary
    title: Annotated[str, Text(100, min_length=2)]
    summary: Annotated[str, Text(4000, min_length=0)] = ""
    specialty: Specialty = Specialty.neighbour
    risk_colour: CaseRisk = CaseRisk.green
    people_involved: int = Field(2, ge=1, le=100_000)
    occurred_on: Day | None = None
    address: Annotated[str, Text(200)] | None = None
    region_code: RegionCode | None = None
    # A party's own data when the caller applies for themselves.
    applicant: PartyIn | None = None
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)
    chosen_mediator_id: Id | None = None
    committee_code: UnitCode | None = None
    matter_id: Id | None = None
    court: Annotated[str, Text(100)] | None = None
    involves_privacy: StrictBool = False
    # At sea.
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    sea_dispute: SeaDispute | None = None
    venue: SeaVenue | None = None
    vessels: list[VesselIn] = Field(default_factory=list, max_length=20)


class PartyOut(BaseModel):
    id: int
    role: PartyRole
    role_name: str
    kind: PartyKind
    name: str
    gender: Gender | None
    id_number: str | None
    phone: str | None
    address: str | None
    masked: bool = Field(description="personal data shown masked")
    is_me: bool
    has_account: bool
    signed: bool


class TermOut(BaseModel):
    id: int
    seq: int
    content: str
    obligor_id: int | None
    obligor_name: str | None
    manner: str | None
    place: str | None
    due_on: date
    state: TermState
    state_name: str


class AgreementOut(BaseModel):
    kind: AgreementKind
    kind_name: str
    facts: str
    disputed: str
    responsibilities: str
    drafted_at: datetime
    sealed_at: datetime | None
    sha256: str | None
    terms: list[TermOut]
    unsigned: list[str] = Field(description="the parties who have yet to sign")
    mediator_signed: bool


class SessionOut(BaseModel):
    seq: int
    scheduled_at: datetime | None
    held_at: datetime | None
    place: str | None
    venue: SeaVenue | None
    on_site: bool
    attendance: list[int]
    statements: str | None = Field(description="the record; only for those in the case")
    result: str | None
    signed_by: list[int]


class CaseEntryOut(BaseModel):
    id: int
    at: datetime
    actor_name: str
    action: str
    action_name: str
    from_state: str | None
    to_state: str
    reason: str | None
    detail: dict[str, Any]


class CaseSummary(BaseModel):
    id: int
    number: str
    title: str
    kind: CaseKind
    source: CaseSource
    state: CaseState
    state_name: str
    specialty: Specialty
    specialty_name: str
    risk_colour: CaseRisk
    committee_code: str
    committee_name: str
    presiding_name: str | None
    region_path: str
    applied_at: datetime
    due_on: date | None
    clock_runs: bool = Field(description="the time limit (a month from acceptance) is running")
    overdue: bool
    outcome: str | None
    funnel_stage: FunnelStage | None
    pending: str | None = Field(description="what the case waits on, in the caller's language")


class CaseOut(CaseSummary):
    summary: str
    people_involved: int
    occurred_on: date | None
    address: str | None
    lon: float | None
    lat: float | None
    sea_dispute: SeaDispute | None
    venue: SeaVenue | None
    vessels: list[dict[str, Any]]
    involves_privacy: bool
    matter_number: str | None
    court: str | None
    chosen_mediator_id: int | None
    presiding_id: int | None
    co_mediator_ids: list[int]
    extensions: int
    effective_at: datetime | None
    confirmation_applied_at: datetime | None
    confirmation_due: datetime | None
    court_decision: CourtDecision | None
    court_case_number: str | None
    referral: Referral | None
    evaluation: dict[str, Any] | None
    parties: list[PartyOut]
    agreement: AgreementOut | None
    sessions: list[SessionOut]
    timeline: list[CaseEntryOut]
    allowed_actions: list[str]
    my_roles: list[str] = Field(description="the caller's capacities: party, mediator, head…")
    documents: list[DocumentKind]


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thread: Annotated[str, StringConstraints(pattern=r"^(joint|caucus:\d{1,10})$")]
    body: Annotated[str, Text(2000)]


class MessageOut(BaseModel):
    id: int
    thread: str
    author_name: str
    mine: bool
    body: str
    at: datetime


class ThreadOut(BaseModel):
    key: str = Field(description="joint, or caucus:{party id}")
    name: str
    party_id: int | None


class ScanOut(BaseModel):
    id: int
    sha256: str


class VerifyOut(BaseModel):
    genuine: bool = Field(description="the copy is, byte for byte, the sealed one")
    sha256: str
    case_number: str | None
    committee_name: str | None
    sealed_at: datetime | None
    message: str


class ConflictOut(BaseModel):
    kind: str = Field(description="household (excludes), grid_team or earlier_case (flags)")
    kind_name: str = Field(description="what the check found, in the caller's language")
    party: str
    excludes: bool


class CandidateOut(BaseModel):
    id: int
    name: str
    position_name: str
    specialty_names: list[str]
    load: int = Field(description="open cases they preside over")
    conflicts: list[ConflictOut] = Field(description="why they are flagged or excluded")
    excluded: bool


class KnowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, StringConstraints(pattern=r"^(question|law)$")]
    specialty: Specialty | None = None
    title: Annotated[str, Text(200)]
    body: Annotated[str, Text(8000)]
    source: Annotated[str, Text(200)] | None = None


class KnowledgeOut(BaseModel):
    id: int
    kind: str
    specialty: Specialty | None
    title: str
    body: str
    source: str | None
    score: float | None = None
