"""Mediation's tables: committees and their mediators; cases with their parties, timeline,
sessions, agreement, terms, signatures, messages and documents; the knowledge base."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.core.database import Base, JournalMixin, PathString, TimestampMixin


class Committee(TimestampMixin, Base):
    """A people's mediation committee (调委会), a personal-brand room or an expert pool,
    serving the area of one region."""

    __tablename__ = "mediation_committee"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    region_path: Mapped[str] = mapped_column(PathString(), index=True)
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    venue: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Mediator(TimestampMixin, Base):
    """A mediator of a committee, with the public profile the mediation menu shows."""

    __tablename__ = "mediator"
    __personal_fields__ = ("phone",)

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("mediation_committee.id"), index=True)
    # The committee's region path, kept here so that one range test scopes mediators too.
    region_path: Mapped[str] = mapped_column(PathString(), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(8))
    position: Mapped[str] = mapped_column(String(16))
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(20))
    profile: Mapped[str | None] = mapped_column(String(500))
    household_no: Mapped[str | None] = mapped_column(String(32))  # 户号, for conflict checks
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


# ---------------------------------------------------------------- cases


class Case(TimestampMixin, Base):
    """A mediation case (调解案件). `region_path` is where the dispute lies, which decides
    who oversees it; `committee_id` is who mediates it."""

    __tablename__ = "mediation_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(100))  # 矛盾纠纷名称
    summary: Mapped[str] = mapped_column(Text, default="")  # 矛盾纠纷简述
    specialty: Mapped[str] = mapped_column(String(32))  # 矛盾纠纷类别
    risk_colour: Mapped[str] = mapped_column(String(16))
    people_involved: Mapped[int] = mapped_column(Integer, default=2)  # 涉及人数
    occurred_on: Mapped[date | None]
    address: Mapped[str | None] = mapped_column(String(200))
    # At sea: a position, not an address; the vessels involved, free fields until the
    # maritime registry exists ([{"name": "浙岱渔03156", "mmsi": "412345678"}]).
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    sea_dispute: Mapped[str | None] = mapped_column(String(32))
    venue: Mapped[str | None] = mapped_column(String(16))
    vessels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    involves_privacy: Mapped[bool] = mapped_column(Boolean, default=False)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    region_path: Mapped[str] = mapped_column(PathString(), index=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("mediation_committee.id"), index=True)
    presiding_id: Mapped[int | None] = mapped_column(ForeignKey("mediator.id"), index=True)
    co_mediator_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    chosen_id: Mapped[int | None] = mapped_column(ForeignKey("mediator.id"))  # a party's choice
    applicant_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    court: Mapped[str | None] = mapped_column(String(100))  # the delegating court (委派)
    funnel_stage: Mapped[str | None] = mapped_column(String(16))
    # A request waiting on someone (a recusal awaiting the committee's decision).
    pending_action: Mapped[str | None] = mapped_column(String(32))
    pending_actor: Mapped[str | None] = mapped_column(String(16))
    pending_reason: Mapped[str | None] = mapped_column(String(2000))
    # The clock: one month from acceptance on the working calendar, extended with both
    # parties' consent; the sweep reminds before and at it.
    applied_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    due_on: Mapped[date | None]
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    reminded: Mapped[str | None] = mapped_column(String(32))  # the last reminder sent
    next_sweep_at: Mapped[datetime | None] = mapped_column(index=True)
    # How it ended.
    effective_at: Mapped[datetime | None]  # the agreement took effect
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    referral: Mapped[str | None] = mapped_column(String(16))
    confirmation_applied_at: Mapped[datetime | None]
    court_decision: Mapped[str | None] = mapped_column(String(16))
    court_case_number: Mapped[str | None] = mapped_column(String(64))
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the funnel's 评估

    __table_args__ = (Index("ix_mediation_case_committee_state", "committee_id", "state"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Party(Base):
    """A party to a case (当事人): a person or an organisation, in one role."""

    __tablename__ = "mediation_party"
    __personal_fields__ = ("id_number", "phone", "address")

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("mediation_case.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(8))
    id_number: Mapped[str | None] = mapped_column(String(18))
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))
    household_no: Mapped[str | None] = mapped_column(String(32))  # 户号
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    represents_id: Mapped[int | None] = mapped_column(ForeignKey("mediation_party.id"))

    __table_args__ = (Index("ix_mediation_party_case", "case_id"),)


class CaseEntry(JournalMixin, Base):
    """Everything that happens to a case: who, when, from which state to which, why."""

    __tablename__ = "mediation_timeline"
    __audited__ = False  # itself an audit trail

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_case.id", ondelete="CASCADE"), index=True
    )


class CaseSession(Base):
    """A mediation session (调解会), scheduled and then recorded (调解笔录)."""

    __tablename__ = "mediation_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_case.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    scheduled_at: Mapped[datetime | None] = mapped_column(index=True)
    held_at: Mapped[datetime | None]
    place: Mapped[str | None] = mapped_column(String(200))
    venue: Mapped[str | None] = mapped_column(String(16))
    on_site: Mapped[bool] = mapped_column(Boolean, default=False)
    attendance: Mapped[list[int]] = mapped_column(JSON, default=list)  # party ids
    mediators: Mapped[list[int]] = mapped_column(JSON, default=list)
    statements: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(2000))
    signed_by: Mapped[list[int]] = mapped_column(JSON, default=list)  # party ids

    __table_args__ = (UniqueConstraint("case_id", "seq"),)


class Agreement(Base):
    """A case's agreement (调解协议), written or oral, with its statutory elements."""

    __tablename__ = "mediation_agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_case.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    facts: Mapped[str] = mapped_column(Text)  # 纠纷的主要事实
    disputed: Mapped[str] = mapped_column(Text)  # 争议事项
    responsibilities: Mapped[str] = mapped_column(Text)  # 各方当事人的责任
    drafted_at: Mapped[datetime]
    mediator_signed_at: Mapped[datetime | None]
    sealed_at: Mapped[datetime | None]
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)


class Term(Base):
    """One term of an agreement: who does what, how, where and by when; followed up
    until performed or breached."""

    __tablename__ = "mediation_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_agreement.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(String(1000))
    obligor_id: Mapped[int | None] = mapped_column(ForeignKey("mediation_party.id"))
    manner: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(200))
    due_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(16), default="pending")
    settled_at: Mapped[datetime | None]


class Signature(Base):
    """A party's or the mediator's signature of a written agreement."""

    __tablename__ = "mediation_signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_agreement.id", ondelete="CASCADE"), index=True
    )
    party_id: Mapped[int | None] = mapped_column(ForeignKey("mediation_party.id"))
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("mediator.id"))
    method: Mapped[str] = mapped_column(String(16))
    scan_sha256: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]
    by_user_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("agreement_id", "party_id", name="uq_mediation_signature_party"),
        UniqueConstraint("agreement_id", "mediator_id", name="uq_mediation_signature_mediator"),
    )


class Message(Base):
    """A message in a case's joint thread or one party's caucus (`caucus:{party id}`)."""

    __tablename__ = "mediation_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("mediation_case.id", ondelete="CASCADE"))
    thread: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[int] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(2000))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_mediation_message_thread", "case_id", "thread", "id"),)


class Document(Base):
    """A rendered document of a case (PDF), kept as it was issued; a sealed one is the
    copy that was signed, found again by its SHA-256 digest."""

    __tablename__ = "mediation_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_case.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Scan(Base):
    """An uploaded scan of a paper a party signed, kept by content hash."""

    __tablename__ = "mediation_scan"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_case.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class KnowledgeEntry(TimestampMixin, Base):
    """A question and its answer, or a law's article, for online consultation (咨询)."""

    __tablename__ = "mediation_knowledge"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # question | law
    specialty: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))  # 人民调解法 第三十三条
