"""A report that came without an idempotency key is never written twice: the server gives
it a key before its first write, so the intake writer's retry after a connection lost
between the commit and its answer finds the matter the commit made."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.engine import ExceptionContext

from fengqiao.calendar.service import calendar_cache
from fengqiao.core.database import make_sessionmaker
from fengqiao.geo.service import GridLocator
from fengqiao.matters import intake, service
from fengqiao.matters.flows import IntakeWriter, OwnConnection
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.notify.models import OutboxMessage
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.world import COMM_A1, World

LOST = "connection lost after the commit (test)"


@contextmanager
def answer_lost_after_commit(engine: Engine) -> Iterator[list[int]]:
    """The next commit on `engine` is made, then its connection is ended before the answer
    reaches the writer: the server's backend is terminated (PostgreSQL) or the connection
    closed (SQLite), and the writer sees the error a dropped connection raises. Yields the
    number of commits dropped so far."""
    dialect = engine.dialect
    real_commit = dialect.do_commit
    dropped: list[int] = []

    def commit_then_drop(dbapi_connection: Any) -> None:
        real_commit(dbapi_connection)
        if dropped:
            return
        dropped.append(1)
        if engine.dialect.name == "postgresql":
            # the pool's wrapper, or psycopg's connection itself
            raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
            pid = raw.info.backend_pid
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        else:
            dbapi_connection.close()
        raise dialect.loaded_dbapi.OperationalError(LOST)

    def lost(context: ExceptionContext) -> None:
        if LOST in str(context.original_exception):
            context.is_disconnect = True

    dialect.do_commit = commit_then_drop  # type: ignore[method-assign]
    event.listen(engine, "handle_error", lost)
    try:
        yield dropped
    finally:
        dialect.do_commit = real_commit  # type: ignore[method-assign]
        event.remove(engine, "handle_error", lost)


def _prepare(engine: Engine, report: intake.Report) -> intake.Intake:
    with make_sessionmaker(engine)() as session:
        user = session.scalar(select(User).where(User.username == "worker_a"))
        assert user is not None
        grid = None
        if report.lon is not None and report.lat is not None:
            ref = GridLocator().locate(session, report.lon, report.lat)
            assert ref is not None
            grid = (ref.id, ref.path)
        return intake.prepare(
            session,
            principal_of(user),
            report,
            grid=grid,
            routing=service.load_routing(session),
            # No text model; the duplicate search runs, and must not find the matter itself.
            reader=intake.Reader(None, 0.5, calendar_cache().get),
            ip=None,
        )


def _count(engine: Engine, model: Any, **where: Any) -> int:
    with make_sessionmaker(engine)() as session:
        q = select(func.count()).select_from(model)
        for key, value in where.items():
            q = q.where(getattr(model, key) == value)
        return int(session.scalar(q) or 0)


def test_a_keyless_report_retried_after_its_commit_makes_one_matter(
    engine: Engine, world: World
) -> None:
    writer, own = IntakeWriter(engine), OwnConnection(engine)
    answer: Future[intake.Written] = Future()
    report = intake.Report(title="桥下积水无人处理", region_code=COMM_A1)
    assert report.idempotency_key is None
    try:
        with answer_lost_after_commit(engine) as dropped:
            writer.write([(_prepare(engine, report), answer)], own)
        assert dropped, "the commit's answer was never lost: the test proved nothing"
    finally:
        own.close()
    written = answer.result(timeout=10)
    # One matter, with one first timeline entry and one notification per recipient, and
    # the caller is told it is new: to them it is.
    assert _count(engine, Matter, title="桥下积水无人处理") == 1
    assert written.created
    with make_sessionmaker(engine)() as session:
        matter = session.get(Matter, written.id)
        assert matter is not None and matter.title == "桥下积水无人处理"
        assert matter.idempotency_key and matter.idempotency_key.startswith("server-")
        assert matter.possible_duplicates == []
    assert _count(engine, TimelineEntry, matter_id=written.id, action="report") == 1
    recipients = select(OutboxMessage.recipient).where(OutboxMessage.matter_id == written.id)
    with make_sessionmaker(engine)() as session:
        sent = list(session.scalars(recipients))
    assert sent and len(sent) == len(set(sent))


def test_two_keyless_reports_alike_are_two_matters(engine: Engine, world: World) -> None:
    """The key the server makes is the report's own: the same words twice, without a key,
    are two reports (the duplicate search, not the key, tells of the likeness)."""
    writer = IntakeWriter(engine)
    answers: list[Future[intake.Written]] = [Future(), Future()]
    for answer in answers:
        writer.write(
            [(_prepare(engine, intake.Report(title="路灯又坏了", region_code=COMM_A1)), answer)]
        )
    first, second = (a.result(timeout=10) for a in answers)
    assert first.created and second.created and first.id != second.id
    assert _count(engine, Matter, title="路灯又坏了") == 2
