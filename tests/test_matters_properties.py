"""Random sequences of actions by random users: the matter never reaches an illegal state,
its timeline always chains, and the indicators kept incrementally equal the ones
recomputed from scratch (by replaying timelines)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from fengqiao.calendar.service import build_calendar
from fengqiao.core import clock
from fengqiao.core.database import make_engine
from fengqiao.core.errors import AppError
from fengqiao.matters import intake, service
from fengqiao.matters.lifecycle import TRANSITIONS
from fengqiao.matters.models import Matter
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.loopcheck import check_loop
from tests.world import World

START = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
USERS = [
    "town_a",
    "dispatcher",
    "comm_a1",
    "handler",
    "handler_a",
    "worker_a",
    "head_a",
    "resident",
    "town_b",
    "worker_b",
    "admin",
]
ACTIONS = [*TRANSITIONS, "report"]

steps = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.sampled_from(ACTIONS),
        st.integers(0, 5),
        st.integers(0, 99),
        st.fixed_dictionaries(
            {
                "reason": st.sampled_from(["原因", None]),
                "note": st.sampled_from(["处理情况", None]),
                "rating": st.sampled_from(["satisfied", "basically", "dissatisfied", None]),
                "level": st.sampled_from([2, 3, None]),
                "unit_code": st.sampled_from(["C-ZHZF", "A-ZZGZ", "B-ZZGZ", None]),
                "until_days": st.integers(1, 20),
                "card": st.sampled_from(["normal", "yellow", "red"]),
                "category_code": st.sampled_from(["urban_management", "dispute_family", None]),
                "minutes": st.integers(1, 60 * 30),
            }
        ),
    ),
    min_size=10,
    max_size=40,
)


def _step(user: str, action: str, **data: Any) -> tuple[str, str, int, int, dict[str, Any]]:
    """A scripted step on the newest matter, taken as written (legal_pick >= 75)."""
    base: dict[str, Any] = {
        "reason": "原因",
        "note": "处理情况",
        "rating": "satisfied",
        "level": None,
        "unit_code": "C-ZHZF",
        "until_days": 3,
        "card": "normal",
        "category_code": "urban_management",
        "minutes": 10,
    }
    return (user, action, 0, 99, base | data)


# The whole loop, once, whatever the generator draws: report, return and re-dispatch,
# handle, verify, rate; then a second matter escalated.
FULL_LOOP = [
    _step("town_a", "report"),
    _step("town_a", "accept"),
    _step("town_a", "dispatch"),
    _step("handler", "sign"),
    _step("handler", "return"),
    _step("town_a", "dispatch"),
    _step("handler", "sign"),
    _step("handler", "feedback", minutes=14),  # a sweep runs after this one
    _step("town_a", "request_verification"),
    _step("town_a", "verify_ok"),
    _step("town_a", "rate"),
    _step("town_a", "report"),
    _step("town_a", "escalate"),
]


@pytest.fixture
def savepoint_engine(engine: Engine) -> Iterator[Engine]:
    """The test database, on an engine whose SAVEPOINTs nest in a real outer transaction
    on SQLite too (pysqlite defers BEGIN, so a released savepoint would commit)."""
    own = make_engine(engine.url.render_as_string(hide_password=False))
    if own.dialect.name == "sqlite":

        @event.listens_for(own, "connect")
        def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(own, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    yield own
    own.dispose()


@contextmanager
def _isolated(bind: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints in one transaction rolled back at the end:
    every example starts from the same world, so a failure shrinks to its own steps."""
    with bind.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


def test_random_sequences_keep_the_loop_consistent(savepoint_engine: Engine, world: World) -> None:
    succeeded: dict[str, int] = {}  # actions that went through, over all examples

    @settings(
        max_examples=80,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(script=steps)
    @example(script=FULL_LOOP)
    def walk(script: list[Any]) -> None:
        with _isolated(savepoint_engine) as session:
            _run(session, world, script, succeeded)

    walk()
    # The scripted example and the drawn walks must have exercised the lifecycle, or the
    # property test proves little.
    expected = {
        "accept",
        "dispatch",
        "sign",
        "feedback",
        "request_verification",
        "verify_ok",
        "rate",
        "return",
        "escalate",
    }
    assert expected <= set(succeeded), succeeded


def _run(session: Session, world: World, script: list[Any], succeeded: dict[str, int]) -> None:
    users = {u.username: principal_of(u) for u in session.scalars(select(User))}
    cal = build_calendar(session)
    matters = list(world.matters.values())
    now = START
    for username, action, pick, legal_pick, data in script:
        now += timedelta(minutes=data["minutes"])
        matter_id = matters[-1 - pick % min(len(matters), 3)]  # the newest few: walks go deep
        # Mostly a move some user may legally make, so walks go deep into the loop; the
        # rest are arbitrary users trying arbitrary actions, which must be refused cleanly.
        target = session.get(Matter, matter_id)
        assert target is not None
        legal: dict[str, list[str]] = {}
        for u in USERS:
            for a in service.allowed_actions(users[u], target):
                if a not in ("remind", "supervise"):  # they never move a matter on
                    legal.setdefault(a, []).append(u)
        if legal and legal_pick < 75:  # an action first, then one of those who may take it
            action = sorted(legal)[legal_pick % len(legal)]
            username = legal[action][legal_pick % len(legal[action])]
        principal = users[username]
        with clock.frozen(now):
            if action == "report":
                matter, _ = intake.report(
                    session,
                    principal,
                    intake.Report(
                        title="随机事件",
                        category_code=data["category_code"],
                        region_code="330305001",
                    ),
                    grid=None,
                )
                matters.append(matter.id)
                continue
            payload = {
                k: v
                for k, v in data.items()
                if k in ("reason", "note", "rating", "level", "unit_code", "card", "category_code")
                and v is not None
            }
            payload["target_id"] = matters[(pick + 1) % len(matters)]
            payload["until"] = (now + timedelta(days=data["until_days"] + 10)).isoformat()
            try:
                service.act(session, principal, cal, matter_id, action, payload)
                succeeded[action] = succeeded.get(action, 0) + 1
            except AppError as exc:
                assert exc.status in (403, 404, 409, 422), exc
                session.rollback()
            if action in ("remind", "supervise") or data["minutes"] % 7 == 0:
                service.sweep(session, cal)
    check_loop(session)
