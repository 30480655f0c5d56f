"""The payload of each action of a case, one model per kind: fields, their bounds, and
their titles in both languages, from which the console draws the action's form."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.core.fields import Day, Id, Text, UnitCode, When
from fengqiao.core.workflow import labelled
from fengqiao.mediation.enums import (
    CaseRisk,
    CourtDecision,
    Referral,
    RefusalGround,
    SeaVenue,
    TermState,
)

NOTE = labelled("说明（可选）", "Note (optional)", "textarea")
# What an amount of money may be, in whole yuan: up to a hundred million.
MAX_YUAN = 100_000_000


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Remark(Payload):
    note: Annotated[str, Text(2000)] | None = Field(None, json_schema_extra=NOTE)


class Reasoned(Payload):
    reason: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("理由", "Reason", "textarea")
    )


class ApplyIn(Remark):
    chosen_mediator_id: Id | None = Field(
        None,
        json_schema_extra=labelled("选择调解员（可选）", "Chosen mediator (optional)", "mediator"),
    )


class AcceptIn(Remark):
    risk_colour: CaseRisk | None = Field(
        None, json_schema_extra=labelled("风险等级（可选）", "Risk colour (optional)", "select")
    )


class RefuseIn(Remark):
    ground: RefusalGround = Field(json_schema_extra=labelled("不予受理理由", "Ground", "select"))


class AssignIn(Remark):
    presiding_id: Id | None = Field(
        None,
        json_schema_extra=labelled(
            "主持调解员（不填则按当事人选择或工作量）",
            "Presiding mediator (else the party's choice or the least loaded)",
            "mediator",
        ),
    )
    co_mediator_ids: list[Id] = Field(
        default_factory=list,
        max_length=4,
        json_schema_extra=labelled("协助调解员", "Other mediators", "mediators"),
    )
    reason: Annotated[str, Text(500)] | None = Field(
        None,
        json_schema_extra=labelled(
            "未指派当事人所选调解员的理由",
            "Why not the mediator the party chose",
            "textarea",
        ),
    )


class RecusalIn(Reasoned):
    mediator_id: Id = Field(json_schema_extra=labelled("申请回避的调解员", "Mediator", "mediator"))


class InformIn(Remark):
    method: Literal["written", "oral"] = Field(
        "written",
        json_schema_extra=labelled(
            "告知方式",
            "How",
            "select",
            **{
                "x-labels": {
                    "written": {"zh": "书面告知", "en": "In writing"},
                    "oral": {"zh": "口头告知", "en": "Orally"},
                }
            },
        ),
    )


class InvestigateIn(Payload):
    findings: Annotated[str, Text(4000)] = Field(
        json_schema_extra=labelled("调查情况", "Findings", "textarea")
    )


class SurveyIn(Payload):
    damage: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("勘查定损情况", "Survey and damage", "textarea")
    )
    assessed_yuan: int = Field(
        ge=0, le=MAX_YUAN, json_schema_extra=labelled("定损金额（元）", "Assessed (yuan)", "number")
    )


class ScheduleIn(Payload):
    scheduled_at: When = Field(json_schema_extra=labelled("调解时间", "When", "datetime"))
    place: Annotated[str, Text(200)] = Field(json_schema_extra=labelled("地点", "Place"))
    venue: SeaVenue | None = Field(None, json_schema_extra=labelled("调解场所", "Venue", "select"))


class RecordIn(Payload):
    session_seq: int | None = Field(
        None,
        ge=1,
        le=999,
        json_schema_extra=labelled("场次（不填则新增一场）", "Session (else a new one)", "number"),
    )
    attendance: list[Id] = Field(
        min_length=1,
        max_length=50,
        json_schema_extra=labelled("到场当事人", "Parties present", "parties"),
    )
    statements: Annotated[str, Text(8000)] = Field(
        json_schema_extra=labelled("调解笔录（陈述与意见）", "Statements", "textarea")
    )
    result: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("调解结果", "Result", "textarea")
    )
    place: Annotated[str, Text(200)] | None = Field(
        None, json_schema_extra=labelled("地点", "Place")
    )
    venue: SeaVenue | None = Field(None, json_schema_extra=labelled("调解场所", "Venue", "select"))
    on_site: bool = Field(False, json_schema_extra=labelled("现场调解", "On site", "checkbox"))
    signed_by: list[Id] = Field(
        default_factory=list,
        max_length=50,
        json_schema_extra=labelled("已签字当事人", "Parties who signed", "parties"),
    )


class TermIn(Payload):
    content: Annotated[str, Text(1000)] = Field(json_schema_extra=labelled("协议内容", "Term"))
    obligor_id: Id | None = Field(None, json_schema_extra=labelled("履行人", "Obligor", "party"))
    manner: Annotated[str, Text(200)] | None = Field(
        None, json_schema_extra=labelled("履行方式", "How")
    )
    place: Annotated[str, Text(200)] | None = Field(
        None, json_schema_extra=labelled("履行地点", "Where")
    )
    due_on: Day = Field(json_schema_extra=labelled("履行期限", "By", "date"))


class DraftIn(Payload):
    facts: Annotated[str, Text(4000)] = Field(
        json_schema_extra=labelled("纠纷的主要事实", "Facts", "textarea")
    )
    disputed: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("争议事项", "Matters in dispute", "textarea")
    )
    responsibilities: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("各方当事人的责任", "Each party's responsibility", "textarea")
    )
    terms: list[TermIn] = Field(
        min_length=1,
        max_length=20,
        json_schema_extra=labelled("协议条款", "Terms", "terms"),
    )


class OralIn(Payload):
    content: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("口头协议内容（调解员记录）", "What was agreed", "textarea")
    )
    terms: list[TermIn] = Field(
        default_factory=list,
        max_length=20,
        json_schema_extra=labelled("待履行条款（可选）", "Terms to perform (optional)", "terms"),
    )


class SignIn(Payload):
    """A party signs in their account; a mediator signs themselves, or records a party's
    signature from an uploaded scan of the signed paper."""

    party_id: Id | None = Field(
        None, json_schema_extra=labelled("代为登记签字的当事人", "Party (for a scan)", "party")
    )
    scan_id: Id | None = Field(
        None, json_schema_extra=labelled("签字扫描件", "Signed scan", "scan")
    )


class TerminateIn(Payload):
    reason: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("终止理由", "Why it ended", "textarea")
    )
    referral: Referral = Field(json_schema_extra=labelled("引导途径", "Referred to", "select"))


class ReferIn(Remark):
    body: Annotated[str, Text(100)] = Field(
        json_schema_extra=labelled("接收机构（仲裁委、法院）", "Receiving body")
    )


class TermUpdate(Payload):
    term_id: Id
    state: TermState


class FollowUpIn(Payload):
    note: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("回访情况", "What the visit found", "textarea")
    )
    terms: list[TermUpdate] = Field(
        default_factory=list,
        max_length=20,
        json_schema_extra=labelled("条款履行情况", "Terms", "term_states"),
    )


class ConfirmationIn(Remark):
    court: Annotated[str, Text(100)] = Field(json_schema_extra=labelled("受理法院", "Court"))


class CourtDecisionIn(Remark):
    decision: CourtDecision = Field(json_schema_extra=labelled("法院裁定", "Decision", "select"))
    court_case_number: Annotated[str, Text(64)] = Field(
        json_schema_extra=labelled("案号（调确字）", "Case number")
    )


class ExtendIn(Payload):
    days: int = Field(ge=1, le=60, json_schema_extra=labelled("延长天数", "Days", "number"))
    parties_agreed: Literal[True] = Field(
        json_schema_extra=labelled("双方当事人同意延长", "Both parties agree", "checkbox")
    )
    reason: Annotated[str, Text(2000)] = Field(
        json_schema_extra=labelled("理由", "Reason", "textarea")
    )


class CompensateIn(Remark):
    amount_yuan: int = Field(
        ge=1, le=MAX_YUAN, json_schema_extra=labelled("赔付金额（元）", "Amount (yuan)", "number")
    )
    payer_id: Id = Field(json_schema_extra=labelled("赔付方", "Payer", "party"))
    payee_id: Id = Field(json_schema_extra=labelled("受偿方", "Payee", "party"))


class RiskIn(Reasoned):
    risk_colour: CaseRisk = Field(json_schema_extra=labelled("风险等级", "Risk colour", "select"))


class TransferIn(Reasoned):
    committee_code: UnitCode = Field(
        json_schema_extra=labelled("移交调解组织", "To committee", "committee")
    )


class LinkIn(Payload):
    party_id: Id = Field(json_schema_extra=labelled("当事人", "Party", "party"))
    username: Annotated[str, Text(64)] = Field(
        json_schema_extra=labelled("核实身份后关联的用户名", "Username, once identity is checked")
    )
