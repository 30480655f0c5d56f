"""Intake written in batches: many reports in one transaction, each with its timeline entry,
notification and audit entry; repeated keys answered with the first matter; one bad report
never fails the others in its batch."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from sqlalchemy import Engine, func, select, text

from fengqiao.calendar.service import calendar_cache
from fengqiao.core.database import make_sessionmaker
from fengqiao.core.models import AuditLog
from fengqiao.geo.service import GridLocator
from fengqiao.matters import intake, service
from fengqiao.matters.flows import IntakeWriter, OwnConnection
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.notify.models import OutboxMessage
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.world import COMM_A1, COMM_B1, World


def _prepare(
    engine: Engine, username: str, report: intake.Report, reader: intake.Reader | None = None
) -> intake.Intake:
    with make_sessionmaker(engine)() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        grid = None
        if report.lon is not None and report.lat is not None:
            ref = GridLocator().locate(session, report.lon, report.lat)  # of this world
            assert ref is not None
            grid = (ref.id, ref.path)
        return intake.prepare(
            session,
            principal_of(user),
            report,
            grid=grid,
            routing=service.load_routing(session),
            reader=reader,
            ip="10.0.0.7",
        )


def _count(session: Any, model: type, **where: Any) -> int:
    q = select(func.count()).select_from(model)
    for key, value in where.items():
        q = q.where(getattr(model, key) == value)
    return int(session.scalar(q) or 0)


def test_a_batch_writes_each_matter_once_with_what_goes_with_it(
    engine: Engine, world: World
) -> None:
    region = "330305001"
    first = _prepare(
        engine,
        "worker_a",
        intake.Report(
            title="路灯不亮",
            region_code=region,
            reporter_phone="13812345678",
            idempotency_key="batch-key-1-0123456789",
        ),
    )
    second = _prepare(engine, "worker_a", intake.Report(title="井盖松动", region_code=region))
    again = _prepare(
        engine,
        "worker_a",
        intake.Report(
            title="路灯不亮", region_code=region, idempotency_key="batch-key-1-0123456789"
        ),
    )
    with engine.begin() as connection:
        answers = intake.write(connection, [first, second, again])
    assert [a.created for a in answers] == [True, True, False]
    assert answers[2].id == answers[0].id and answers[2].number == answers[0].number
    assert answers[0].id != answers[1].id

    with make_sessionmaker(engine)() as session:
        for answer in answers[:2]:
            matter = session.get(Matter, answer.id)
            assert matter is not None and matter.number == answer.number
            assert matter.number.startswith("FQ") and matter.number.endswith(f"{answer.id:07d}")
            assert matter.state == "reported" and matter.version == 1
            assert _count(session, TimelineEntry, matter_id=answer.id) == 1
            assert _count(session, OutboxMessage, matter_id=answer.id) == 1
            entries = session.scalars(
                select(AuditLog).where(
                    AuditLog.entity == "event", AuditLog.entity_id == str(answer.id)
                )
            ).all()
            assert len(entries) == 1 and entries[0].action == "create"
            assert entries[0].actor_name == "worker_a" and entries[0].ip == "10.0.0.7"
        # The phone is personal data: the audit entry says it was set, not what it is.
        entry = session.scalar(
            select(AuditLog).where(
                AuditLog.entity == "event", AuditLog.entity_id == str(answers[0].id)
            )
        )
        assert entry is not None and entry.detail["changes"]["reporter_phone"] == "***"
        assert _count(session, Matter, title="路灯不亮") == 1


def test_one_bad_report_does_not_fail_the_others_in_its_batch(engine: Engine, world: World) -> None:
    good = _prepare(engine, "worker_a", intake.Report(title="占道经营", region_code="330305001"))
    bad = _prepare(engine, "worker_a", intake.Report(title="噪音扰民", region_code="330305001"))
    bad.matter.grid_id = 999_999  # no such grid: the foreign key refuses the row
    with make_sessionmaker(engine)() as session:
        entries_before = _count(session, TimelineEntry)
        audit_before = _count(session, AuditLog, entity="event")
    writer = IntakeWriter(engine)
    batch: list[tuple[intake.Intake, Future[intake.Written]]] = [
        (good, Future()),
        (bad, Future()),
    ]
    writer.write(batch)  # the batch the writer's thread would take
    assert batch[0][1].result().created
    assert batch[1][1].exception() is not None
    with make_sessionmaker(engine)() as session:
        assert _count(session, Matter, title="占道经营") == 1
        assert _count(session, Matter, title="噪音扰民") == 0
        # Nothing of the refused report was left behind.
        assert _count(session, TimelineEntry) == entries_before + 1
        assert _count(session, AuditLog, entity="event") == audit_before + 1


def test_the_writer_answers_each_caller_after_its_commit(engine: Engine, world: World) -> None:
    writer = IntakeWriter(engine)
    try:
        made = [
            writer(
                _prepare(engine, "head_a", intake.Report(title=f"积水{i}", region_code="330305001"))
            )
            for i in range(3)
        ]
    finally:
        writer.stop()
    assert all(w.created for w in made) and len({w.id for w in made}) == 3
    with make_sessionmaker(engine)() as session:
        for w in made:
            assert session.get(Matter, w.id) is not None


def test_each_report_of_a_batch_gets_its_own_possible_duplicates(
    engine: Engine, world: World
) -> None:
    """The duplicate search of a whole batch is one query for the reports with a position
    (on PostgreSQL) and one for those with only a region; each report gets the candidates
    of its own place: its region, or within 500 m across grid edges and cells."""
    reader = intake.Reader(None, 0.6, calendar_cache().get)
    light, manhole = "路灯不亮，整条街晚上一片漆黑", "井盖松动，昨晚有行人踩空摔倒"

    def at(title: str, lat: float) -> intake.Report:
        return intake.Report(title=title, lon=120.05, lat=lat)

    with engine.begin() as connection:
        earlier = intake.write(
            connection,
            [
                _prepare(engine, "head_a", intake.Report(title=light, region_code=COMM_A1)),
                _prepare(engine, "head_a", intake.Report(title=manhole, region_code=COMM_B1)),
                _prepare(engine, "head_a", at(manhole, 30.0995)),  # grid A1-1, by its edge
            ],
        )
    batch = [
        _prepare(engine, "head_a", intake.Report(title=light, region_code=COMM_A1), reader),
        _prepare(engine, "head_a", intake.Report(title=manhole, region_code=COMM_B1), reader),
        _prepare(engine, "head_a", intake.Report(title=light, region_code=COMM_B1), reader),
        _prepare(engine, "head_a", at(manhole, 30.1005), reader),  # A1-2, next cell: 110 m on
        _prepare(engine, "head_a", at(light, 30.1005), reader),
        _prepare(engine, "head_a", at(manhole, 30.15), reader),  # 5 km on
    ]
    with engine.begin() as connection:
        intake.write(connection, batch)
    found = [[d["id"] for d in item.matter.possible_duplicates or []] for item in batch]
    assert found == [[earlier[0].id], [earlier[1].id], [], [earlier[2].id], [], []]
    with make_sessionmaker(engine)() as session:
        stored = session.scalars(
            select(Matter.possible_duplicates)
            .where(Matter.title == manhole, Matter.lon.is_(None))
            .order_by(Matter.id)
        ).all()
        assert stored[0] in (None, []) and [d["id"] for d in stored[1]] == [earlier[1].id]


def test_a_caller_gone_before_the_commit_does_not_stop_the_writer(
    engine: Engine, world: World
) -> None:
    gone: Future[intake.Written] = Future()
    gone.cancel()  # its request was cancelled while the report waited
    waiting: Future[intake.Written] = Future()
    writer = IntakeWriter(engine)
    writer.write(
        [
            (
                _prepare(engine, "head_a", intake.Report(title="垃圾满溢", region_code=COMM_A1)),
                gone,
            ),
            (
                _prepare(engine, "head_a", intake.Report(title="路面塌陷", region_code=COMM_A1)),
                waiting,
            ),
        ]
    )
    assert waiting.result().created
    with make_sessionmaker(engine)() as session:
        # Written all the same: a retry with its idempotency key would find it.
        assert _count(session, Matter, title="垃圾满溢") == 1


def test_a_writer_keeps_its_connection_and_writes_again_when_it_was_lost(
    engine: Engine, world: World
) -> None:
    """A writer thread writes every batch on its own connection; when the server ends that
    connection between two batches, the next batch is written on a new one, not failed."""
    writer, own = IntakeWriter(engine), OwnConnection(engine)
    try:
        answers: list[Future[intake.Written]] = [Future(), Future()]
        report = intake.Report(title="路灯不亮", region_code=COMM_A1)
        writer.write([(_prepare(engine, "head_a", report), answers[0])], own)
        kept = own.connection
        assert kept is not None and answers[0].result().created
        if engine.dialect.name == "postgresql":
            backend = kept.connection.driver_connection.info.backend_pid
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend})
        else:
            kept.invalidate()  # SQLite's connection cannot be ended from outside
        report = intake.Report(title="井盖松动", region_code=COMM_A1)
        writer.write([(_prepare(engine, "head_a", report), answers[1])], own)
        assert answers[1].result().created
        assert own.connection is not None and own.connection is not kept
    finally:
        own.close()
    with make_sessionmaker(engine)() as session:
        assert _count(session, Matter, title="路灯不亮") == _count(
            session, Matter, title="井盖松动"
        )
        assert _count(session, Matter, title="井盖松动") == 1
