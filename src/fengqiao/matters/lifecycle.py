"""The closed loop as one table: every action of a matter, from which states, to which,
who takes it, its payload, whom it tells, what it does to the deadline, its labels and its
handler. `MATTER` is the whole rule; the service applies it and the console draws its
forms from its description (`GET /api/workflows/matter`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fengqiao.classify.flows import CategorySuggestions
from fengqiao.core import clock
from fengqiao.core.labels import Label
from fengqiao.core.levels import ancestor_at
from fengqiao.core.permissions import Principal
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.core.workflow import (
    SYSTEM,
    Deadline,
    FollowUp,
    State,
    Transition,
    Workflow,
    row,
)
from fengqiao.matters import actions as do
from fengqiao.matters import deadlines, timeline
from fengqiao.matters.actors import ACTORS, D, G, R, U, actors_of
from fengqiao.matters.enums import OPEN_STATES, Rating, Supervision
from fengqiao.matters.enums import MatterState as S
from fengqiao.matters.models import Matter
from fengqiao.matters.reasons import BY_MODEL
from fengqiao.matters.schemas import (
    AcceptIn,
    DispatchIn,
    ExtensionIn,
    MergeIn,
    NoteIn,
    RateIn,
    Reasoned,
    Remark,
    ReturnIn,
    SendDownIn,
    SuperviseIn,
    VerifyIn,
)

# Whom an action tells (addressed by `MatterFlow.address`).
UNIT, DISPATCHERS, REPORTER, GRID_OR_DISPATCHERS = "unit", "dispatchers", "reporter", "grid"

OPEN = {s.value for s in OPEN_STATES}
WORKING = OPEN - {S.reported, S.mediating}  # a matter in mediation waits on its case
CHASED = {S.dispatched, S.in_progress}  # the states the supervision ladder climbs in


def _closer_may_not_rate(principal: Principal, matter: Matter) -> Label | None:
    """Evaluation honesty: whoever closed or self-resolved a matter does not rate it."""
    if matter.closed_by_id is not None and matter.closed_by_id == principal.user_id:
        return Label(
            "结案或自行处置该事件的人不能评价它",
            "Whoever closed or self-resolved a matter cannot rate it",
        )
    return None


# The reasons the system gives for steps it takes or follows up, stored in Chinese in the
# timeline and answered in the caller's language (`reason_in`).
REOPENED = Label("群众评价不满意，重新办理", "Rated dissatisfied: reopened")
MODEL_ACCEPTED = Label("模型自动受理", "Accepted by the model")
MODEL_DISPATCHED = Label("模型自动派遣", "Dispatched by the model")
MEDIATION_CASE = Label("调解案件 {number}", "Mediation case {number}")
SYSTEM_REASONS = (REOPENED, MODEL_ACCEPTED, MODEL_DISPATCHED, do.MERGED_IN, MEDIATION_CASE)


def _reopen_when_dissatisfied(matter: Matter, payload: RateIn) -> FollowUp | None:
    if payload.rating == Rating.dissatisfied:
        return FollowUp("reopen", REOPENED)
    return None


TABLE: tuple[Transition, ...] = (
    # intake's own steps
    row("report", ("上报事件", "Reported"), (), S.reported, {SYSTEM}),
    row("merge_in", ("并入事件", "Merged in"), OPEN, None, {SYSTEM}),
    # people's actions
    row("accept", ("受理", "Accept"), {S.reported}, S.accepted, {D},
        payload=AcceptIn, handler=do.accept),
    row("reject", ("不予受理", "Reject"), {S.reported}, S.rejected, {D},
        payload=Reasoned, notifies=(REPORTER,)),
    row("merge", ("合并", "Merge"), {S.reported, S.accepted}, S.merged, {D},
        payload=MergeIn, handler=do.merge, notifies=(REPORTER,)),
    row("dispatch", ("派遣", "Dispatch"), {S.accepted}, S.dispatched, {D},
        payload=DispatchIn, handler=do.dispatch, deadline=Deadline.start, notifies=(UNIT,)),
    row("sign", ("签收", "Sign"), {S.dispatched}, S.in_progress, {U},
        payload=Remark, handler=do.sign),
    row("return", ("退单", "Return"), {S.dispatched, S.in_progress}, S.accepted, {U},
        payload=ReturnIn, handler=do.give_back, deadline=Deadline.stop, notifies=(DISPATCHERS,),
        awaits=D, waiting=Label("退单待重新派遣", "Returned, awaiting dispatch")),
    row("request_extension", ("申请延期", "Request extension"), {S.in_progress}, None, {U},
        payload=ExtensionIn, handler=do.request_extension, notifies=(DISPATCHERS,),
        awaits=D, waiting=Label("延期待审批", "Extension awaiting approval")),
    row("approve_extension", ("同意延期", "Approve extension"), {S.in_progress}, None, {D},
        payload=Remark, handler=do.approve_extension, notifies=(REPORTER,),
        answers=frozenset({"request_extension"})),
    row("deny_extension", ("不同意延期", "Deny extension"), {S.in_progress}, None, {D},
        payload=Reasoned, handler=do.deny_extension, notifies=(REPORTER,),
        answers=frozenset({"request_extension"})),
    row("escalate", ("上报", "Escalate"), {S.reported, S.accepted, *CHASED}, S.accepted, {D, G},
        payload=Reasoned, handler=do.escalate, deadline=Deadline.stop, notifies=(DISPATCHERS,)),
    row("send_down", ("下派", "Send down"), {S.accepted}, S.accepted, {D},
        payload=SendDownIn, handler=do.send_down, notifies=(DISPATCHERS,)),
    row("self_resolve", ("自行处置", "Resolve on the spot"), {S.reported}, S.closed, {G},
        payload=NoteIn, handler=do.self_resolve, notifies=(REPORTER,), photos="resolve"),
    row("feedback", ("办结反馈", "Report as handled"), {S.in_progress}, S.handled, {U},
        payload=NoteIn, handler=do.feedback, notifies=(DISPATCHERS,), photos="feedback"),
    row("request_verification", ("发起核查", "Request verification"), {S.handled}, S.verifying,
        {D}, payload=Remark, notifies=(GRID_OR_DISPATCHERS,),
        awaits=G, waiting=Label("待核查", "Awaiting verification")),
    row("verify_ok", ("核查通过", "Verified, close"), {S.verifying}, S.closed, {G, D},
        payload=VerifyIn, handler=do.verify_ok, notifies=(REPORTER,), photos="verify"),
    row("verify_fail", ("核查未通过", "Verification failed"), {S.verifying}, S.dispatched, {G, D},
        payload=Reasoned, handler=do.verify_fail, deadline=Deadline.start, notifies=(UNIT,),
        photos="verify"),
    row("rate", ("评价", "Rate"), {S.closed}, S.evaluated, {R, D},
        payload=RateIn, handler=do.rate, refuse=_closer_may_not_rate,
        then=_reopen_when_dissatisfied),
    row("reopen", ("重新办理", "Reopen"), {S.evaluated}, S.accepted, {D},
        payload=Reasoned, handler=do.reopen, deadline=Deadline.stop, notifies=(DISPATCHERS,)),
    row("remind", ("催办", "Remind"), WORKING, None, {D},
        payload=Remark, handler=do.remind, notifies=(UNIT,)),
    row("supervise", ("督办", "Supervise"), WORKING, None, {D},
        payload=SuperviseIn, handler=do.supervise, notifies=(UNIT,)),
    # the supervision ladder's steps past 督办, taken by the sweep
    row("yellow_card", ("黄牌督办", "Yellow card"), CHASED, None, {SYSTEM}, notifies=(UNIT,)),
    row("red_card", ("红牌督办", "Red card"), CHASED, None, {SYSTEM}, notifies=(UNIT,)),
    row("overdue_escalate", ("超期上报", "Escalated as overdue"), CHASED, S.accepted, {SYSTEM},
        deadline=Deadline.stop, notifies=(DISPATCHERS,)),
    # a dispute turned into a mediation case waits on it, and is closed from its outcome
    row("mediate", ("转人民调解", "Referred to mediation"), {S.accepted, *CHASED}, S.mediating,
        {SYSTEM}, deadline=Deadline.stop, notifies=(REPORTER,)),
    row("mediated", ("调解结案", "Closed by mediation"), {S.mediating}, S.closed, {SYSTEM},
        handler=do.close_by_mediation, notifies=(REPORTER,)),
    row("mediation_returned", ("调解未受理，退回", "Returned by mediation"), {S.mediating},
        S.accepted, {SYSTEM}, notifies=(DISPATCHERS,)),
)  # fmt: skip

# Each step of the ladder (Supervision 1…5) is the transition the sweep takes.
LADDER = ("remind", "supervise", "yellow_card", "red_card", "overdue_escalate")


def address(
    kind: str,
    region_path: str,
    level: int,
    unit_id: int | None,
    reporter_id: int | None = None,
    grid_id: int | None = None,
) -> str | None:
    """The outbox address of a kind of recipient of a matter, or None for nobody."""
    dispatchers = f"dispatchers:{ancestor_at(region_path, level)}"
    if kind == UNIT:
        return f"unit:{unit_id}" if unit_id else None
    if kind == DISPATCHERS:
        return dispatchers
    if kind == REPORTER:
        return f"user:{reporter_id}" if reporter_id else None
    if kind == GRID_OR_DISPATCHERS:
        return f"grid:{grid_id}" if grid_id else dispatchers
    raise ValueError(kind)


class MatterFlow(Workflow[Matter, WorkCalendar]):
    def actors_of(self, principal: Principal, record: Matter) -> set[str]:
        return actors_of(principal, record)

    def journal(
        self,
        session: Session,
        record: Matter,
        principal: Principal | None,
        t: Transition,
        from_state: str | None,
        reason: str | None,
        detail: dict[str, Any],
    ) -> Any:
        return timeline.entry(session, record, principal, t.name, from_state, reason, detail)

    def address(self, record: Matter, kind: str) -> str | None:
        return address(
            kind, record.region_path, record.level, record.unit_id, record.reporter_id,
            record.grid_id,
        )  # fmt: skip

    def notify(
        self, session: Session, record: Matter, t: Transition, recipients: list[str]
    ) -> None:
        timeline.enqueue(session, record, t, recipients)

    def run_deadline(
        self, session: Session, context: WorkCalendar, record: Matter, deadline: Deadline
    ) -> dict[str, Any]:
        if deadline == Deadline.start:
            return do.start_clock(session, context, record)
        deadlines.clear_deadlines(record)
        return {}

    def pending_of(self, record: Matter) -> str | None:
        return record.pending_action

    def set_pending(
        self,
        record: Matter,
        t: Transition | None,
        principal: Principal | None,
        reason: str | None,
    ) -> None:
        record.pending_action = t.name if t else None
        record.pending_actor = t.awaits if t else None
        record.pending_reason = reason[:2000] if t and reason else None
        record.pending_by = (principal.display_name if principal else None) if t else None
        record.pending_at = clock.now() if t else None

    def settle(self, session: Session, context: WorkCalendar, record: Matter) -> None:
        """When the sweep looks at the matter next: its stage's deadline, or the ladder's
        next step once supervision has begun."""
        record.next_sweep_at = deadlines.next_sweep(record) if record.state in OPEN else None
        if record.state in CHASED and record.supervision:
            key = (record.category_code, record.urgency)
            record.next_sweep_at = deadlines.ladder_next(session, context, key)


MATTER = MatterFlow(
    "matter",
    ("事件", "Matter"),
    {s.value: State(Label(s.zh, s.en), open=s in OPEN_STATES) for s in S},
    ACTORS,
    TABLE,
    ladder=LADDER,
)
assert len(LADDER) == max(Supervision)

# The actions people take, by name (the table less the system's own steps).
TRANSITIONS = MATTER.person_actions()


def route_by_model(
    session: Session, cal: WorkCalendar, matter: Matter, suggestions: CategorySuggestions
) -> None:
    """Accept and dispatch as the system, saying which model decided and how sure it was."""
    top = suggestions.items[0]
    by_model = {
        "model": suggestions.model,
        "category_code": top["code"],
        "probability": top["p"],
        "threshold": suggestions.threshold,
    }
    t = MATTER.transitions
    MATTER.apply(session, None, cal, matter, t["accept"], AcceptIn(), MODEL_ACCEPTED.zh, by_model)
    reason = BY_MODEL.zh.format(reason=(matter.suggestion or {}).get("reason"))
    MATTER.apply(
        session,
        None,
        cal,
        matter,
        t["dispatch"],
        DispatchIn(),
        MODEL_DISPATCHED.zh,
        by_model | {"route_reason": reason},
    )


def reason_in(action: str, reason: str | None, by_system: bool, lang: str) -> str | None:
    """A timeline entry's stored reason in `lang` when the system wrote it: a step of the
    sweep (its action's label) or one of SYSTEM_REASONS. A person's words stay as typed."""
    if reason is None or lang == "zh":
        return reason
    t = MATTER.transitions.get(action)
    if by_system and t is not None and reason == t.label.zh:
        return t.label(lang)
    for label in SYSTEM_REASONS:
        translated = label.translate(reason, lang)
        if translated is not None:
            return translated
    return reason
