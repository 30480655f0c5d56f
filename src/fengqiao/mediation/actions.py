"""The handlers of a case's actions: what each does beyond moving the state, in the
caller's transaction. Each returns what its timeline entry keeps."""

from __future__ import annotations

import calendar as months
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.errors import Conflict, Invalid, NotFound
from fengqiao.core.permissions import Principal
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.mediation import conflicts, odr
from fengqiao.mediation.actors import case_mediators
from fengqiao.mediation.enums import (
    ENDED_STATES,
    CaseRisk,
    CaseState,
    CommitteeKind,
    FunnelStage,
    Outcome,
)
from fengqiao.mediation.models import (
    Agreement,
    Case,
    Committee,
    Mediator,
    Party,
    Term,
)
from fengqiao.mediation.payloads import (
    AcceptIn,
    ApplyIn,
    AssignIn,
    InformIn,
    InvestigateIn,
    LinkIn,
    Reasoned,
    RecusalIn,
    RefuseIn,
    TransferIn,
)
from fengqiao.people.models import User

Detail = dict[str, Any]
# Committees that may lead a red (high-risk) dispute: the township's, the county's.
RED_LEADERS = frozenset(
    {CommitteeKind.township, CommitteeKind.professional, CommitteeKind.expert_pool}
)


# ---------------------------------------------------------------- the clock


def one_month_on(cal: WorkCalendar, start: date) -> date:
    """A month after `start` (the same day of the next month, or its last day), moved to
    the next working day when it falls on a rest day or a holiday."""
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    day = min(start.day, months.monthrange(year, month)[1])
    due = date(year, month, day)
    while not cal.is_working_day(due):
        due += timedelta(days=1)
    return due


def local_today() -> date:
    return clock.now().astimezone(clock.zone()).date()


def start_clock(cal: WorkCalendar, case: Case) -> Detail:
    case.accepted_at = clock.now()
    case.due_on = one_month_on(cal, local_today())
    case.reminded = None
    return {"due_on": case.due_on.isoformat()}


def end(case: Case, outcome: Outcome) -> Detail:
    case.outcome = outcome.value
    case.ended_at = clock.now()
    return {"outcome": outcome.value}


# ---------------------------------------------------------------- lookups


def party_of(session: Session, case: Case, party_id: int) -> Party:
    party = session.get(Party, party_id)
    if party is None or party.case_id != case.id:
        raise Invalid(
            "当事人 {p} 不是本案当事人",
            "Party {p} is not a party to this case",
            field="party_id",
            p=party_id,
        )
    return party


def parties_of(session: Session, case: Case) -> list[Party]:
    return list(session.scalars(select(Party).where(Party.case_id == case.id).order_by(Party.id)))


def own_party(session: Session, principal: Principal, case: Case) -> Party:
    party = session.scalar(
        select(Party).where(Party.case_id == case.id, Party.user_id == principal.user_id)
    )
    if party is None:
        raise NotFound("当事人", "party")
    return party


def agreement_of(session: Session, case: Case) -> Agreement | None:
    return session.scalar(select(Agreement).where(Agreement.case_id == case.id))


def terms_of(session: Session, agreement: Agreement) -> list[Term]:
    return list(
        session.scalars(select(Term).where(Term.agreement_id == agreement.id).order_by(Term.seq))
    )


def committee_mediator(session: Session, case: Case, mediator_id: int, field: str) -> Mediator:
    mediator = session.get(Mediator, mediator_id)
    if mediator is None or mediator.committee_id != case.committee_id or not mediator.is_active:
        raise Invalid(
            "调解员 {m} 不在本调解组织",
            "Mediator {m} does not serve this committee",
            field=field,
            m=mediator_id,
        )
    return mediator


# ---------------------------------------------------------------- the funnel and intake


def evaluate(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: Any) -> Detail:
    case.funnel_stage = FunnelStage.evaluation.value
    case.evaluation = odr.evaluate(s, case)
    return {"similar": len(case.evaluation["similar"])}


def apply_mediation(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: ApplyIn
) -> Detail:
    case.funnel_stage = FunnelStage.mediation.value
    detail: Detail = {}
    if data.chosen_mediator_id is not None:
        detail |= choose(s, case, data.chosen_mediator_id)
    return detail


def choose(session: Session, case: Case, mediator_id: int) -> Detail:
    """A party's choice from the menu: a mediator of any committee; the case goes to that
    committee. A mediator with a conflict that excludes them cannot be chosen."""
    mediator = session.get(Mediator, mediator_id)
    if mediator is None or not mediator.is_active:
        raise NotFound("调解员", "mediator")
    found = conflicts.check(session, mediator, parties_of(session, case), exclude_case=case.id)
    conflicts.refuse_if_excluded(session, case, mediator, found)
    case.chosen_id = mediator.id
    case.committee_id = mediator.committee_id
    return {"chosen_mediator": mediator.name, "conflicts": [f.kind for f in found]}


def withdraw(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: Reasoned) -> Detail:
    return end(case, Outcome.withdrawn)


# ---------------------------------------------------------------- acceptance and assignment


def may_lead(committee: Committee, risk: str) -> bool:
    return risk != CaseRisk.red or committee.kind in RED_LEADERS


def accept(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: AcceptIn) -> Detail:
    if data.risk_colour is not None:
        case.risk_colour = data.risk_colour.value
    committee = s.get(Committee, case.committee_id)
    assert committee is not None
    if not may_lead(committee, case.risk_colour):
        raise Conflict(
            "红色风险纠纷应由乡镇(街道)或县级调解组织主持，请移交",
            "A red-risk dispute is led by a township or county committee: transfer it",
        )
    return start_clock(cal, case) | {"risk_colour": case.risk_colour}


def refuse(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: RefuseIn) -> Detail:
    return end(case, Outcome.refused) | {"ground": data.ground.value}


def transfer(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: TransferIn) -> Detail:
    target = s.scalar(
        select(Committee).where(
            Committee.code == data.committee_code, Committee.is_active.is_(True)
        )
    )
    if target is None:
        raise NotFound("调解组织", "mediation committee")
    if target.id == case.committee_id:
        raise Invalid(
            "已由该调解组织办理", "The case is with that committee already", field="committee_code"
        )
    if not may_lead(target, case.risk_colour):
        raise Invalid(
            "红色风险纠纷应移交乡镇(街道)或县级调解组织",
            "A red-risk dispute goes to a township or county committee",
            field="committee_code",
        )
    case.committee_id, case.presiding_id, case.co_mediator_ids = target.id, None, []
    case.chosen_id = None
    case.accepted_at, case.due_on = None, None
    return {"committee": target.name}


def load(session: Session, mediator_ids: list[int]) -> dict[int, int]:
    """Open cases each mediator presides over."""
    open_states = [s.value for s in CaseState if s not in ENDED_STATES]
    rows = session.execute(
        select(Case.presiding_id, func.count())
        .where(Case.presiding_id.in_(mediator_ids), Case.state.in_(open_states))
        .group_by(Case.presiding_id)
    ).all()
    found = {mid: n for mid, n in rows}
    return {mid: found.get(mid, 0) for mid in mediator_ids}


def _pick(session: Session, case: Case, data: AssignIn, passed_over: set[int]) -> Mediator:
    """The presiding mediator: the one named, else the party's choice when free, else the
    least loaded mediator of the committee with no conflict."""
    parties = parties_of(session, case)
    if data.presiding_id is not None:
        chosen = committee_mediator(session, case, data.presiding_id, "presiding_id")
        found = conflicts.check(session, chosen, parties, exclude_case=case.id)
        conflicts.refuse_if_excluded(session, case, chosen, found)
        if (
            case.chosen_id is not None
            and case.chosen_id != chosen.id
            and case.chosen_id not in passed_over
            and data.reason is None
        ):
            raise Invalid(
                "当事人选择了其他调解员：请指派其所选调解员，或说明理由",
                "A party chose another mediator: assign them, or say why not",
                field="reason",
            )
        return chosen
    candidates = list(
        session.scalars(
            select(Mediator)
            .where(Mediator.committee_id == case.committee_id, Mediator.is_active.is_(True))
            .where(Mediator.id.not_in(passed_over or {0}))
            .order_by(Mediator.id)
        )
    )
    loads = load(session, [m.id for m in candidates])
    free = [
        m
        for m in candidates
        if not conflicts.excluded(conflicts.check(session, m, parties, exclude_case=case.id))
    ]
    if not free:
        raise Conflict("本调解组织暂无可指派的调解员", "No mediator of this committee is free")
    chosen_free = [m for m in free if m.id == case.chosen_id]
    return chosen_free[0] if chosen_free else min(free, key=lambda m: (loads[m.id], m.id))


def _place(session: Session, case: Case, data: AssignIn, passed_over: set[int]) -> Detail:
    presiding = _pick(session, case, data, passed_over)
    others = [committee_mediator(session, case, i, "co_mediator_ids") for i in data.co_mediator_ids]
    if any(o.id == presiding.id or o.id in passed_over for o in others):
        raise Invalid(
            "协助调解员不能是主持调解员或已回避的调解员",
            "Other mediators cannot include the presiding or a recused one",
            field="co_mediator_ids",
        )
    case.presiding_id = presiding.id
    case.co_mediator_ids = [o.id for o in others]
    return {
        "presiding": presiding.name,
        "presiding_id": presiding.id,
        "others": [o.name for o in others],
        "chosen_honoured": case.chosen_id is None or case.chosen_id == presiding.id,
    }


def assign(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: AssignIn) -> Detail:
    return _place(s, case, data, set())


def inform(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: InformIn) -> Detail:
    return {"method": data.method}


def investigate(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: InvestigateIn
) -> Detail:
    return {"findings": data.findings}


def request_recusal(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: RecusalIn
) -> Detail:
    if data.mediator_id not in case_mediators(case):
        raise Invalid(
            "该调解员未承办本案", "That mediator is not on this case", field="mediator_id"
        )
    return {"mediator_id": data.mediator_id}


def recused_ids(session: Session, case: Case) -> set[int]:
    """Every mediator a granted recusal has taken off the case."""
    from fengqiao.mediation.models import CaseEntry

    rows = session.scalars(
        select(CaseEntry.detail).where(CaseEntry.case_id == case.id, CaseEntry.action == "reassign")
    )
    return {int(d["recused_id"]) for d in rows if d.get("recused_id")}


def reassign(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: AssignIn) -> Detail:
    """Grants a pending recusal (the mediator named leaves the case) or changes mediators."""
    from fengqiao.mediation.models import CaseEntry

    passed_over = recused_ids(s, case)
    recused: int | None = None
    if case.pending_action == "request_recusal":
        asked = s.scalar(
            select(CaseEntry.detail)
            .where(CaseEntry.case_id == case.id, CaseEntry.action == "request_recusal")
            .order_by(CaseEntry.id.desc())
            .limit(1)
        )
        recused = int(asked["mediator_id"]) if asked else None
        if recused is not None:
            passed_over.add(recused)
    detail = _place(s, case, data, passed_over)
    return detail | ({"recused_id": recused} if recused else {})


def link_account(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: LinkIn) -> Detail:
    """A party's own account, so that they follow, message and sign online."""
    party = party_of(s, case, data.party_id)
    user_id = s.scalar(select(User.id).where(User.username == data.username))
    if user_id is None:
        raise Invalid("用户 {u} 不存在", "No user {u}", field="username", u=data.username)
    taken = s.scalar(select(Party.id).where(Party.case_id == case.id, Party.user_id == user_id))
    if taken is not None and taken != party.id:
        raise Conflict("该账号已关联本案其他当事人", "That account is another party's of this case")
    party.user_id = user_id
    return {"party": party.name}
