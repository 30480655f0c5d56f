"""A mediation case as one table: every action, from which states, to which, who takes
it, its payload, whom it tells, its labels and its handler. `CASE` is the whole rule; the
service applies it and the console draws its forms from `GET /api/workflows/case`."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from fengqiao.core import clock
from fengqiao.core.labels import Label
from fengqiao.core.permissions import Principal
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.core.workflow import SYSTEM, FollowUp, NoPayload, State, Transition, Workflow, row
from fengqiao.matters.lifecycle import MATTER, MEDIATION_CASE
from fengqiao.matters.models import Matter
from fengqiao.mediation import actions as do
from fengqiao.mediation import agreements as ag
from fengqiao.mediation.actors import ACTORS, OV, C, H, M, P, actors_of, case_mediators
from fengqiao.mediation.enums import (
    ENDED_STATES,
    UNTIMED_STATES,
    AgreementKind,
    CaseKind,
)
from fengqiao.mediation.enums import CaseState as S
from fengqiao.mediation.models import Case, CaseEntry, Mediator, Party
from fengqiao.mediation.payloads import (
    AcceptIn,
    ApplyIn,
    AssignIn,
    CompensateIn,
    ConfirmationIn,
    CourtDecisionIn,
    DraftIn,
    ExtendIn,
    FollowUpIn,
    InformIn,
    InvestigateIn,
    LinkIn,
    OralIn,
    Reasoned,
    RecordIn,
    RecusalIn,
    ReferIn,
    RefuseIn,
    Remark,
    RiskIn,
    ScheduleIn,
    SignIn,
    SurveyIn,
    TerminateIn,
    TransferIn,
)
from fengqiao.notify import service as notify

# Whom an action tells (addressed by `CaseFlow.address`).
PARTIES, APPLICANT, MEDIATORS, HEADS = "parties", "applicant", "mediators", "heads"

OPEN = {s.value for s in S if s not in ENDED_STATES}
TIMED = {s.value for s in S if s not in UNTIMED_STATES}
BEFORE_AGREEMENT = {S.assigned, S.informed, S.investigating, S.mediating}
WITHDRAWABLE = {S.consulting, S.evaluating, S.applied, S.accepted, *BEFORE_AGREEMENT}

# The reasons the system gives for steps it takes itself.
ALL_SIGNED = Label("各方均已签署，协议生效", "Everyone signed: the agreement is in effect")
ALL_PERFORMED = Label("协议条款均已履行完毕，结案", "Every term settled: closed")
SYSTEM_REASONS = (ALL_SIGNED, ALL_PERFORMED)


def _sea_only(principal: Principal, case: Case) -> Label | None:
    if case.kind != CaseKind.sea:
        return Label("仅适用于海上纠纷", "Only for disputes at sea")
    return None


def _written_within_30_days(principal: Principal, case: Case) -> Label | None:
    session = object_session(case)
    agreement = do.agreement_of(session, case) if session else None
    if agreement is None or agreement.kind != AgreementKind.written:
        return Label("只有书面调解协议可以申请司法确认", "Only a written agreement is confirmed")
    deadline = ag.confirmation_deadline(case)
    if deadline is None or clock.now() > deadline:
        return Label(
            "司法确认须自调解协议生效之日起30日内申请，已逾期",
            "Judicial confirmation must be sought within 30 days of the agreement: too late",
        )
    return None


def _terms_settled(principal: Principal, case: Case) -> Label | None:
    session = object_session(case)
    if session is not None and not ag.settled(session, case):
        return Label("尚有未履行完毕的协议条款", "Some terms are still pending")
    return None


def _not_signed_yet(principal: Principal, case: Case) -> Label | None:
    """A party or the mediator signs once; the mediator may still record others' scans."""
    session = object_session(case)
    if session is not None and ag.signed_already(session, principal, case):
        return Label("您已签署本协议", "You have signed this agreement")
    return None


def _recusal_pending(principal: Principal, case: Case) -> Label | None:
    if case.pending_action != "request_recusal":
        return Label("没有待决定的回避申请", "No recusal request is pending")
    return None


def _when_all_signed(case: Case, payload: Any) -> FollowUp | None:
    session = object_session(case)
    return FollowUp("take_effect", ALL_SIGNED) if session and ag.all_signed(session, case) else None


def _when_settled(case: Case, payload: Any) -> FollowUp | None:
    session = object_session(case)
    if case.state == S.effective and session is not None and ag.settled(session, case):
        return FollowUp("close", ALL_PERFORMED)
    return None


TABLE: tuple[Transition, ...] = (
    # how a case begins
    row("consult", ("在线咨询", "Consultation"), (), S.consulting, {SYSTEM},
        notifies=(APPLICANT, HEADS)),
    row("apply", ("申请调解", "Applied"), (), S.applied, {SYSTEM}, notifies=(APPLICANT, HEADS)),
    row("refer_matter", ("事件转调解", "Referred from a matter"), (), S.applied, {SYSTEM},
        notifies=(HEADS,)),
    row("initiate", ("主动调解", "Taken up by the committee"), (), S.accepted, {SYSTEM},
        notifies=(PARTIES,)),
    row("delegate", ("法院委派调解", "Delegated by a court"), (), S.applied, {SYSTEM},
        notifies=(HEADS,)),
    # the online funnel before mediation
    row("evaluate", ("在线评估", "Evaluate"), {S.consulting}, S.evaluating, {P, C},
        payload=Remark, handler=do.evaluate, notifies=(APPLICANT,)),
    row("apply_mediation", ("申请调解", "Apply for mediation"), {S.consulting, S.evaluating},
        S.applied, {P}, payload=ApplyIn, handler=do.apply_mediation, notifies=(APPLICANT, HEADS)),
    row("withdraw", ("撤回申请", "Withdraw"), WITHDRAWABLE, S.withdrawn, {P},
        payload=Reasoned, handler=do.withdraw, notifies=(MEDIATORS, HEADS)),
    # acceptance and assignment (the committee head)
    row("accept", ("受理", "Accept"), {S.applied}, S.accepted, {H},
        payload=AcceptIn, handler=do.accept, notifies=(PARTIES,),
        help=Label("海上纠纷：警务室受理", "At sea: accepted by the police room")),
    row("refuse", ("不予受理", "Refuse"), {S.applied}, S.refused, {H},
        payload=RefuseIn, handler=do.refuse, notifies=(PARTIES,)),
    row("transfer", ("移交", "Transfer"), {S.applied, S.accepted}, S.applied, {H, OV},
        payload=TransferIn, handler=do.transfer, notifies=(HEADS,)),
    row("assign", ("指派调解员", "Assign mediators"), {S.accepted}, S.assigned, {H},
        payload=AssignIn, handler=do.assign, notifies=(MEDIATORS, PARTIES)),
    row("request_recusal", ("申请回避", "Ask for recusal"), BEFORE_AGREEMENT, None, {P},
        payload=RecusalIn, handler=do.request_recusal, notifies=(HEADS,),
        awaits=H, waiting=Label("回避申请待决定", "Recusal awaiting decision")),
    row("reassign", ("更换调解员", "Reassign"), BEFORE_AGREEMENT, None, {H},
        payload=AssignIn, handler=do.reassign, notifies=(MEDIATORS, PARTIES),
        answers=frozenset({"request_recusal"})),
    row("deny_recusal", ("驳回回避申请", "Deny recusal"), BEFORE_AGREEMENT, None, {H},
        payload=Reasoned, notifies=(PARTIES,), answers=frozenset({"request_recusal"}),
        refuse=_recusal_pending),
    row("link_account", ("关联当事人账号", "Link a party's account"), OPEN, None, {M, H},
        payload=LinkIn, handler=do.link_account),
    # mediation (the case's mediators)
    row("inform", ("告知权利义务", "Inform the parties"), {S.assigned}, S.informed, {M},
        payload=InformIn, handler=do.inform, notifies=(PARTIES,)),
    row("investigate", ("调查", "Investigate"), {S.informed, S.investigating}, S.investigating,
        {M}, payload=InvestigateIn, handler=do.investigate,
        help=Label("海上纠纷：初步调查", "At sea: the preliminary investigation")),
    row("survey", ("勘查定损", "Survey the damage"), {S.investigating, S.mediating}, None, {M},
        payload=SurveyIn, handler=ag.survey, refuse=_sea_only),
    row("schedule", ("安排调解", "Schedule a session"),
        {S.informed, S.investigating, S.mediating}, None, {M},
        payload=ScheduleIn, handler=ag.schedule, notifies=(PARTIES,)),
    row("record_session", ("记录调解", "Record a session"),
        {S.informed, S.investigating, S.mediating}, S.mediating, {M},
        payload=RecordIn, handler=ag.record_session,
        help=Label("海上纠纷：海上或陆上调解、现场调解", "At sea: at sea or ashore, on site")),
    row("draft_agreement", ("拟定调解协议", "Draft the agreement"), {S.mediating, S.signing},
        S.signing, {M}, payload=DraftIn, handler=ag.draft_agreement, notifies=(PARTIES,)),
    row("sign", ("签署协议", "Sign"), {S.signing}, None, {P, M},
        payload=SignIn, handler=ag.sign, then=_when_all_signed, refuse=_not_signed_yet),
    row("take_effect", ("协议生效", "Agreement in effect"), {S.signing}, S.effective, {SYSTEM},
        handler=ag.take_effect, notifies=(PARTIES, MEDIATORS)),
    row("oral_agreement", ("口头协议", "Oral agreement"), {S.mediating}, S.effective, {M},
        payload=OralIn, handler=ag.oral_agreement, notifies=(PARTIES,), then=_when_settled),
    row("compensate", ("当场赔付", "Compensated on the spot"), {S.mediating}, S.closed, {M},
        payload=CompensateIn, handler=ag.compensate, refuse=_sea_only, notifies=(PARTIES,)),
    row("terminate", ("终止调解", "End without agreement"),
        {S.informed, S.investigating, S.mediating, S.signing}, S.terminated, {M},
        payload=TerminateIn, handler=ag.terminate, notifies=(PARTIES,)),
    row("refer_arbitration", ("转仲裁", "Refer to arbitration"), {S.terminated}, S.arbitrating,
        {P, M}, payload=ReferIn, handler=ag.refer_arbitration, notifies=(PARTIES,)),
    row("refer_litigation", ("转诉讼", "Refer to litigation"), {S.terminated, S.arbitrating},
        S.litigating, {P, M}, payload=ReferIn, handler=ag.refer_litigation, notifies=(PARTIES,)),
    # performance and judicial confirmation
    row("follow_up", ("回访", "Follow-up visit"), {S.effective, S.confirming}, None, {M},
        payload=FollowUpIn, handler=ag.follow_up, then=_when_settled),
    row("request_confirmation", ("申请司法确认", "Seek judicial confirmation"), {S.effective},
        S.confirming, {P, M}, payload=ConfirmationIn, handler=ag.request_confirmation,
        refuse=_written_within_30_days, notifies=(PARTIES, MEDIATORS)),
    row("court_decision", ("登记法院裁定", "Record the court's decision"), {S.confirming},
        S.effective, {M}, payload=CourtDecisionIn, handler=ag.court_decision,
        notifies=(PARTIES,), then=_when_settled),
    row("close", ("结案", "Close"), {S.effective}, S.closed, {M},
        payload=Remark, handler=ag.close, refuse=_terms_settled, notifies=(PARTIES,)),
    # the clock and the risk
    row("extend", ("延长调解期限", "Extend the time limit"), TIMED, None, {M},
        payload=ExtendIn, handler=ag.extend, notifies=(PARTIES, HEADS)),
    row("set_risk", ("调整风险等级", "Change the risk colour"), OPEN, None, {M, H, OV},
        payload=RiskIn, handler=ag.set_risk, notifies=(HEADS,)),
    # the sweep's reminders
    row("due_soon", ("调解期限临近", "Time limit near"), TIMED, None, {SYSTEM},
        notifies=(MEDIATORS,)),
    row("overdue", ("调解超期", "Time limit passed"), TIMED, None, {SYSTEM},
        notifies=(MEDIATORS, HEADS)),
    row("confirmation_reminder", ("司法确认提醒", "Judicial confirmation reminder"),
        {S.effective}, None, {SYSTEM}, notifies=(PARTIES, MEDIATORS)),
)  # fmt: skip


class CaseFlow(Workflow[Case, WorkCalendar]):
    def actors_of(self, principal: Principal, record: Case) -> set[str]:
        return actors_of(principal, record)

    def journal(
        self,
        session: Session,
        record: Case,
        principal: Principal | None,
        t: Transition,
        from_state: str | None,
        reason: str | None,
        detail: dict[str, Any],
    ) -> CaseEntry:
        entry = CaseEntry(
            case_id=record.id,
            at=clock.now(),
            actor_id=principal.user_id if principal else None,
            actor_name=principal.display_name if principal else "系统 system",
            action=t.name,
            from_state=from_state if t.sources else None,  # the first step comes from nowhere
            to_state=record.state,
            reason=reason,
            detail=detail,
        )
        session.add(entry)
        return entry

    def address(self, record: Case, kind: str) -> str | None:
        return f"case:{kind}"  # expanded into accounts by `notify`

    def recipients(self, session: Session, record: Case, kinds: list[str]) -> list[str]:
        users: list[int | None] = []
        for kind in kinds:
            if kind == "case:" + APPLICANT:
                users.append(record.applicant_user_id)
            elif kind == "case:" + PARTIES:
                users += session.scalars(select(Party.user_id).where(Party.case_id == record.id))
            elif kind == "case:" + MEDIATORS:
                ids = case_mediators(record)
                users += session.scalars(select(Mediator.user_id).where(Mediator.id.in_(ids)))
            elif kind == "case:" + HEADS:
                users += session.scalars(
                    select(Mediator.user_id).where(
                        Mediator.committee_id == record.committee_id,
                        Mediator.position.in_(["chair", "vice_chair"]),
                        Mediator.is_active.is_(True),
                    )
                )
        return [f"user:{u}" for u in dict.fromkeys(users) if u is not None]

    def notify(self, session: Session, record: Case, t: Transition, recipients: list[str]) -> None:
        to = self.recipients(session, record, recipients)
        if not to:
            return
        notify.enqueue(
            session,
            topic=f"{self.name}.{t.name}",
            key=f"c{record.id}.{record.version}.{t.name}",
            recipients=to,
            region_path=record.region_path,
            payload={
                "case_id": record.id,
                "number": record.number,
                "title": record.title,
                "state": record.state,
                "action": t.name,
                "text": f"【枫桥】调解 {record.number} {record.title}：{t.label.zh}",
            },
        )

    def pending_of(self, record: Case) -> str | None:
        return record.pending_action

    def set_pending(
        self, record: Case, t: Transition | None, principal: Principal | None, reason: str | None
    ) -> None:
        record.pending_action = t.name if t else None
        record.pending_actor = t.awaits if t else None
        record.pending_reason = reason[:2000] if t and reason else None

    def settle(self, session: Session, context: WorkCalendar, record: Case) -> None:
        """The sweep's next look at the case, and the matter it came from, which closes
        (or goes back to its dispatcher) as the case ends."""
        record.next_sweep_at = next_sweep(context, record)
        if record.matter_id is not None:
            settle_matter(session, context, record)


def _at_start_of(day: Any) -> datetime:
    return datetime.combine(day, time(8, 0), tzinfo=clock.zone())


# The sweep tells the mediators this many days before the time limit.
DUE_SOON_DAYS = 3


def next_sweep(cal: WorkCalendar, case: Case) -> datetime | None:
    if case.state in TIMED and case.due_on is not None:
        if case.reminded is None:
            return _at_start_of(case.due_on - timedelta(days=DUE_SOON_DAYS))
        if case.reminded == "due_soon":
            return _at_start_of(case.due_on + timedelta(days=1))
        return None
    if (
        case.state == S.effective
        and case.confirmation_applied_at is None
        and case.effective_at is not None
        and case.reminded != "confirmation_reminder"
    ):
        session = object_session(case)
        agreement = do.agreement_of(session, case) if session else None
        if agreement is not None and agreement.kind == AgreementKind.written:
            return case.effective_at + timedelta(days=ag.CONFIRMATION_REMINDER_DAY)
    return None


CLOSES_MATTER = {S.closed, S.terminated}
RETURNS_MATTER = {S.refused, S.withdrawn}


def settle_matter(session: Session, cal: WorkCalendar, case: Case) -> None:
    matter = session.get(Matter, case.matter_id)
    if matter is None or matter.state != "mediating":
        return
    if case.state in CLOSES_MATTER:
        action, outcome = "mediated", case.outcome
    elif case.state in RETURNS_MATTER:
        action, outcome = "mediation_returned", case.outcome
    else:
        return
    t = MATTER.transitions[action]
    detail = {
        "case": case.number,
        "case_id": case.id,
        "outcome": outcome,
        "referral": case.referral,
    }
    reason = MEDIATION_CASE.zh.format(number=case.number)
    MATTER.apply(session, None, cal, matter, t, NoPayload(), reason, detail)


CASE = CaseFlow(
    "case",
    ("调解案件", "Mediation case"),
    {s.value: State(Label(s.zh, s.en), open=s not in ENDED_STATES) for s in S},
    ACTORS,
    TABLE,
)

# The actions people take, by name (the table less the system's own steps).
TRANSITIONS = CASE.person_actions()
