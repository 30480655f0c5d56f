"""Deadlines and the supervision ladder across the 2026 National Day holiday."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from fengqiao.calendar.service import build_calendar
from fengqiao.core import clock
from fengqiao.core.database import make_sessionmaker
from fengqiao.core.models import AuditLog
from fengqiao.matters import intake, service
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.notify.models import OutboxMessage
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.world import World

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def test_deadlines_and_ladder_across_national_day(
    engine: Engine, world: World, client: TestClient
) -> None:
    factory = make_sessionmaker(engine)
    with factory() as session:
        cal = build_calendar(session)
        town_a = principal_of(session.scalars(select(User).where(User.username == "town_a")).one())
        with clock.frozen(at(2026, 9, 30, 10, 0)):
            matter, _ = intake.report(
                session,
                town_a,
                intake.Report(
                    title="节前派遣的事件",
                    category_code="urban_management",
                    region_code="330305001",
                ),
                grid=None,
            )
            service.act(session, town_a, cal, matter.id, "accept", {})
            service.act(session, town_a, cal, matter.id, "dispatch", {"unit_code": "C-ZHZF"})
            session.refresh(matter)
        # One working day to sign: 1–7 October are holidays.
        assert matter.sign_due_at == at(2026, 10, 8, 10, 0)
        assert matter.resolve_due_at == at(2026, 10, 13, 10, 0)  # 8, 9, 10 (Sat), 12, 13
        assert matter.due_flagged is False and matter.next_sweep_at == matter.sign_due_at

        def sweep(now: datetime) -> int:
            with clock.frozen(now):
                return service.sweep(session, cal)

        assert sweep(at(2026, 10, 5, 12, 0)) == 0  # the holiday: nothing is overdue yet
        with clock.frozen(at(2026, 10, 8, 10, 30)):
            headers = world.login(client, "town_a")
            overdue = client.get("/api/matters", params={"overdue": "true"}, headers=headers)
            assert [i["title"] for i in overdue.json()["items"]] == ["节前派遣的事件"]
            assert overdue.json()["items"][0]["overdue"] is True
        steps = [
            (at(2026, 10, 8, 10, 30), "remind", 1),
            (at(2026, 10, 8, 16, 1), "supervise", 2),
            (at(2026, 10, 9, 11, 2), "yellow_card", 3),
            (at(2026, 10, 9, 16, 33), "red_card", 4),
        ]
        for now, action, level in steps:
            assert sweep(now) == 1, action
            session.refresh(matter)
            assert matter.supervision == level and matter.state == "dispatched"
            # The next step comes after four more working hours.
            assert matter.next_sweep_at == cal.add_working_hours(now, 4).at
            assert sweep(now) == 0  # not twice for the same step
        # Four working hours after 16:33 on Friday 9 October: the working Saturday.
        assert matter.next_sweep_at == at(2026, 10, 10, 11, 33)
        assert sweep(at(2026, 10, 10, 11, 34)) == 1
        session.refresh(matter)
        assert matter.state == "accepted" and matter.level == 4 and matter.unit_id is None
        assert matter.next_sweep_at is None
        actions = session.scalars(
            select(TimelineEntry.action)
            .where(TimelineEntry.matter_id == matter.id)
            .order_by(TimelineEntry.id)
        ).all()
        assert actions == [
            "report",
            "accept",
            "dispatch",
            "remind",
            "supervise",
            "yellow_card",
            "red_card",
            "overdue_escalate",
        ]
        topics = session.scalars(
            select(OutboxMessage.topic).where(OutboxMessage.matter_id == matter.id)
        ).all()
        for action in ("remind", "supervise", "yellow_card", "red_card", "overdue_escalate"):
            assert f"matter.{action}" in topics
        escalated = session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == "matter.overdue_escalate")
        ).one()
        assert escalated.recipient == "dispatchers:330305/"
        assert escalated.payload["text"].endswith("：超期上报")
        # Each step is an audited write by the system, with what it changed.
        trail = session.scalars(
            select(AuditLog)
            .where(AuditLog.entity == "event", AuditLog.entity_id == str(matter.id))
            .where(AuditLog.actor_name == "system")
            .order_by(AuditLog.id)
        ).all()[-5:]
        assert [a.detail["changes"].get("supervision") for a in trail] == [1, 2, 3, 4, 0]
        assert trail[-1].detail["changes"]["level"] == 4
        assert trail[-1].detail["changes"]["state"] == "accepted"


def test_signing_stops_the_ladder_and_a_2027_deadline_is_flagged(
    engine: Engine, world: World
) -> None:
    factory = make_sessionmaker(engine)
    with factory() as session:
        cal = build_calendar(session)
        users = {u.username: principal_of(u) for u in session.scalars(select(User))}
        with clock.frozen(at(2026, 12, 30, 10, 0)):
            matter, _ = intake.report(
                session,
                users["town_a"],
                intake.Report(
                    title="跨年事件", category_code="urban_management", region_code="330305001"
                ),
                grid=None,
            )
            service.act(session, users["town_a"], cal, matter.id, "accept", {})
            service.act(
                session, users["town_a"], cal, matter.id, "dispatch", {"unit_code": "C-ZHZF"}
            )
            session.refresh(matter)
        # 2027 has no holiday data yet: the deadline falls back to weekends and says so.
        assert matter.due_flagged is True
        assert matter.resolve_due_at == at(2027, 1, 6, 10, 0)
        with clock.frozen(at(2026, 12, 31, 11, 0)):
            assert service.sweep(session, cal) == 1  # sign overdue: reminded
            service.act(session, users["handler"], cal, matter.id, "sign", {})
            session.refresh(matter)
        assert matter.supervision == 0 and matter.next_sweep_at == matter.resolve_due_at
        with clock.frozen(at(2027, 1, 5, 10, 0)):
            assert service.sweep(session, cal) == 0
        stored = session.get(Matter, matter.id)
        assert stored is not None and stored.state == "in_progress"
