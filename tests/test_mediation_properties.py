"""Random actions by random users on mediation cases: a case never reaches an illegal
state, its timeline chains from its first step through allowed transitions to the state
it is in, and what its row says agrees with its timeline and its agreement (the same
invariants as the closed loop's)."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fengqiao.calendar.service import build_calendar
from fengqiao.core import clock
from fengqiao.core.errors import AppError
from fengqiao.core.permissions import Principal
from fengqiao.mediation import cases
from fengqiao.mediation.enums import ENDED_STATES, CaseState, Outcome
from fengqiao.mediation.flows import CASE, TRANSITIONS
from fengqiao.mediation.models import (
    Agreement,
    Case,
    CaseEntry,
    Document,
    Mediator,
    Party,
    Signature,
    Term,
)
from fengqiao.mediation.schemas import CaseCreate, PartyIn
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.test_matters_properties import _isolated, savepoint_engine  # noqa: F401
from tests.world import COMM_A1, World

USERS = ["resident", "resident_b", "mediator_a", "town_a", "admin", "worker_a", "mediator_sea"]
ACTIONS = [*TRANSITIONS, "open"]
CREATION = {t.name for t in CASE.transitions.values() if not t.sources}
# Actions that never move a case on: drawn at random, not preferred as legal moves.
SIDEWAYS = {"set_risk", "transfer", "extend", "link_account", "schedule"}


def _step(user: str, action: str, pick: int = 3) -> tuple[str, str, int, int]:
    """A scripted step on the newest case (pick 3 of the newest three), taken as written
    (legal_pick >= 80)."""
    return (user, action, pick, 99)


# A case through to its agreement, signatures and performance, whatever the generator draws.
FULL_CASE = [
    _step("resident", "open"),
    _step("mediator_a", "accept"),
    _step("mediator_a", "link_account"),
    _step("mediator_a", "assign"),
    _step("mediator_a", "inform"),
    _step("mediator_a", "investigate"),
    _step("mediator_a", "record_session"),
    _step("mediator_a", "draft_agreement"),
    _step("resident", "sign"),
    _step("resident_b", "sign"),
    _step("mediator_a", "sign"),
    _step("mediator_a", "request_confirmation"),
    _step("mediator_a", "court_decision"),
    _step("mediator_a", "follow_up"),
    _step("resident", "open"),
    _step("mediator_a", "refuse"),
]

steps = st.lists(
    st.tuples(
        st.sampled_from(USERS), st.sampled_from(ACTIONS), st.integers(0, 99), st.integers(0, 99)
    ),
    min_size=8,
    max_size=40,
)


def payload(session: Session, case: Case, action: str, pick: int) -> dict[str, Any]:
    """A payload for `action` on `case`, drawn from what the case has (its parties, its
    committee's mediators, its terms), sometimes wrong on purpose."""
    parties = [p.id for p in session.scalars(select(Party).where(Party.case_id == case.id))]
    mediators = [
        m.id
        for m in session.scalars(select(Mediator).where(Mediator.committee_id == case.committee_id))
    ]
    agreement = session.scalar(select(Agreement).where(Agreement.case_id == case.id))
    terms = (
        [t.id for t in session.scalars(select(Term).where(Term.agreement_id == agreement.id))]
        if agreement
        else []
    )
    due = (clock.now() + timedelta(days=5)).date().isoformat()
    mediator = mediators[pick % len(mediators)] if mediators else 1
    term = {"content": "赔偿", "obligor_id": parties[-1], "due_on": due}
    by_action: dict[str, dict[str, Any]] = {
        "evaluate": {},
        "apply_mediation": {},
        "withdraw": {"reason": "不调了"},
        "accept": {"risk_colour": ["green", "yellow", "red"][pick % 3]},
        "refuse": {"ground": "party_refuses"},
        "transfer": {"committee_code": ["A-TWH", "B-TWH", "C-YUSHI"][pick % 3], "reason": "移交"},
        "assign": {"presiding_id": mediator} if pick % 2 else {},
        "request_recusal": {"mediator_id": case.presiding_id or mediator, "reason": "回避"},
        "reassign": {} if pick % 2 else {"presiding_id": mediator},
        "deny_recusal": {"reason": "理由不足"},
        "link_account": {"party_id": parties[-1], "username": "resident_b"},
        "inform": {"method": "oral"},
        "investigate": {"findings": "调查情况"},
        "survey": {"damage": "网具损毁", "assessed_yuan": 100},
        "schedule": {
            "scheduled_at": (clock.now() + timedelta(days=1)).isoformat(),
            "place": "调解室",
        },
        "record_session": {"attendance": parties, "statements": "陈述", "result": "结果"},
        "draft_agreement": {
            "facts": "事实",
            "disputed": "争议",
            "responsibilities": "责任",
            "terms": [term] if pick % 4 else [],
        },
        "sign": {},
        "oral_agreement": {"content": "口头协议", "terms": [term] if pick % 2 else []},
        "compensate": {"amount_yuan": 100, "payer_id": parties[0], "payee_id": parties[-1]},
        "terminate": {"reason": "分歧大", "referral": "litigation"},
        "refer_arbitration": {"body": "仲裁委"},
        "refer_litigation": {"body": "人民法院"},
        "follow_up": {
            "note": "回访",
            "terms": [{"term_id": t, "state": ["performed", "breached"][pick % 2]} for t in terms],
        },
        "request_confirmation": {"court": "人民法院"},
        "court_decision": {"decision": "confirmed", "court_case_number": "(2026)调确1号"},
        "close": {},
        "extend": {"days": 5, "reason": "鉴定", "parties_agreed": True},
        "set_risk": {"risk_colour": "yellow", "reason": "升级"},
    }
    return by_action.get(action, {})


def open_case(session: Session, principal: Principal, pick: int) -> Case:
    kind = "sea" if pick % 4 == 2 else "ordinary"
    data = CaseCreate(
        title="随机纠纷",
        region_code=COMM_A1,
        source="online" if pick % 3 == 1 else "application",
        kind=kind,
        lon=122.1 if kind == "sea" else None,
        lat=30.1 if kind == "sea" else None,
        committee_code=None if kind == "sea" else "A-TWH",
        parties=[PartyIn(role="respondent", name="对方")],
    )
    return cases.create_case(session, principal, build_calendar(session), data)


def check_cases(session: Session) -> None:
    session.expire_all()
    for case in session.scalars(select(Case)):
        timeline = list(
            session.scalars(
                select(CaseEntry).where(CaseEntry.case_id == case.id).order_by(CaseEntry.id)
            )
        )
        assert timeline[0].action in CREATION and timeline[0].from_state is None, case.number
        for before, after in pairwise(timeline):
            assert after.from_state == before.to_state, (case.number, after.action)
            t = CASE.transitions[after.action]
            if t.sources:
                assert after.from_state in t.sources, (case.number, after.action)
            if t.target is not None:
                assert after.to_state == t.target, (case.number, after.action)
            assert after.at >= before.at
        assert timeline[-1].to_state == case.state, case.number
        state = CaseState(case.state)
        assert (case.outcome is not None) == (
            state in ENDED_STATES or state in (CaseState.terminated, CaseState.arbitrating)
        ), (case.number, state, case.outcome)
        agreement = session.scalar(select(Agreement).where(Agreement.case_id == case.id))
        if state in (CaseState.effective, CaseState.confirming):
            assert agreement is not None and case.effective_at is not None
        if state == CaseState.closed and case.outcome == Outcome.agreement:
            assert agreement is not None
            terms = session.scalars(select(Term.state).where(Term.agreement_id == agreement.id))
            assert all(t != "pending" for t in terms), case.number
        if agreement is not None and agreement.kind == "written" and agreement.sealed_at:
            sealed = session.scalar(
                select(Document).where(Document.case_id == case.id, Document.sealed.is_(True))
            )
            assert sealed is not None and sealed.sha256 == agreement.sha256
            # Sealed means every party (not an agent) and a mediator signed.
            signed = set(
                session.scalars(
                    select(Signature.party_id).where(Signature.agreement_id == agreement.id)
                )
            )
            parties = set(
                session.scalars(
                    select(Party.id).where(Party.case_id == case.id, Party.role != "agent")
                )
            )
            assert parties <= signed, case.number
        assert case.pending_action in (None, "request_recusal")
        if case.pending_action:
            assert state in TRANSITIONS["request_recusal"].sources


def test_random_actions_keep_every_case_consistent(savepoint_engine: Engine, world: World) -> None:  # noqa: F811
    succeeded: dict[str, int] = {}

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(script=steps)
    @example(script=FULL_CASE)
    def walk(script: list[Any]) -> None:
        with _isolated(savepoint_engine) as session:
            _run(session, script, succeeded)

    walk()
    expected = {
        "accept",
        "assign",
        "inform",
        "record_session",
        "draft_agreement",
        "sign",
        "refuse",
        "follow_up",
        "court_decision",
    }
    assert expected <= set(succeeded), succeeded


def _run(session: Session, script: list[Any], succeeded: dict[str, int]) -> None:
    users = {u.username: principal_of(u) for u in session.scalars(select(User))}
    cal = build_calendar(session)
    numbers = [c.number for c in session.scalars(select(Case))]
    for username, action, pick, legal_pick in script:
        if action == "open":
            numbers.append(open_case(session, users["resident"], pick).number)
            continue
        case = session.scalar(
            select(Case).where(Case.number == numbers[-1 - pick % min(len(numbers), 3)])
        )
        assert case is not None
        legal: dict[str, list[str]] = {}
        for u in USERS:
            for a in CASE.allowed(users[u], case):
                if a not in SIDEWAYS:
                    legal.setdefault(a, []).append(u)
        if legal and legal_pick < 80:
            action = sorted(legal)[legal_pick % len(legal)]
            username = legal[action][legal_pick % len(legal[action])]
        body = payload(session, case, action, pick)
        try:
            cases.take(session, users[username], cal, case.number, action, body)
            succeeded[action] = succeeded.get(action, 0) + 1
        except AppError as exc:
            assert exc.status in (403, 404, 409, 422), exc
            session.rollback()
    check_cases(session)
