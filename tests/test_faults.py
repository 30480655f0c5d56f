"""Faults, with real parts: an unreachable database, a server killed (SIGKILL) in the
middle of intake, the database restarted under load (a private PostgreSQL cluster), and two
servers on one database seeing each other's logouts, deactivations and routing changes.

Each test asserts what callers saw and what the database holds; every loop and wait is
bounded in count and time. The restart and the read whose connection is cut need a
database server, so they exist only on the PostgreSQL run (SQLite has no connection to
lose); the rest run on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.exc import DBAPIError

from fengqiao.api import create_app
from fengqiao.core.config import Settings
from fengqiao.core.database import make_engine, make_sessionmaker, read_retrying, unavailable
from fengqiao.matters import intake, service
from fengqiao.matters.flows import IntakeWriter, OwnConnection
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.notify.models import OutboxMessage
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.conftest import BACKEND, new_database
from tests.faultkit import (
    REPORTERS,
    Callers,
    Outcome,
    Server,
    free_port,
    private_cluster,
    report_body,
    serving,
    until,
    world_in,
)
from tests.world import COMM_A1, TOWN_A, World

REDIS_DB = 11  # the fault tests' own database on the machine's Redis


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, World]]:
    """A new database of the engine under test, migrated, with the test world in it."""
    with new_database(tmp_path) as url:
        yield url, world_in(url, tmp_path / "files")


def _matters(url: str, prefix: str) -> dict[str, tuple[int, int, int]]:
    """Per idempotency key with this prefix: the matter's id, its timeline entries and its
    notifications, as the database holds them."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    Matter.idempotency_key,
                    Matter.id,
                    select(func.count())
                    .where(TimelineEntry.matter_id == Matter.id)
                    .scalar_subquery(),
                    select(func.count())
                    .where(OutboxMessage.matter_id == Matter.id)
                    .scalar_subquery(),
                ).where(Matter.idempotency_key.like(f"{prefix}-%"))
            ).all()
    finally:
        engine.dispose()
    found = {key: (matter, entries, notes) for key, matter, entries, notes in rows}
    assert len(found) == len(rows), "an idempotency key made two matters"
    return found


def _retry_every_key(server: Server, tokens: dict[str, dict[str, str]], outcome: Outcome) -> None:
    """Send every key again, acknowledged or not: each answers with the one matter it made
    (made now when its first try never reached the database)."""
    clients = {name: server.client(headers=h) for name, h in tokens.items()}
    try:
        for key, reporter in sorted(outcome.sent.items()):
            resp = clients[reporter].post(
                "/api/matters", json=report_body(key, REPORTERS[reporter])
            )
            assert resp.status_code in (200, 201), (key, resp.status_code, resp.text)
            if key in outcome.acknowledged:
                # Acknowledged once: found again, the same matter, not a second one.
                assert resp.status_code == 200, (key, resp.text)
                assert resp.json()["id"] == outcome.acknowledged[key], key
    finally:
        for c in clients.values():
            c.close()


def _check_made_once(url: str, prefix: str, outcome: Outcome) -> None:
    """After the retries: every key sent made exactly one matter, whole (its timeline entry
    and its notification went in with it), and each acknowledged matter is the one
    acknowledged."""
    found = _matters(url, prefix)
    assert set(found) == set(outcome.sent)
    for key, (matter, entries, notes) in found.items():
        assert (entries, notes) == (1, 1), key
        if key in outcome.acknowledged:
            assert matter == outcome.acknowledged[key], key


# ---------------------------------------------------------------- an unreachable database


def _unreachable(folder: Path) -> str:
    """A database of the engine under test that cannot be reached: nothing listens on the
    port, or the file's folder does not exist."""
    if BACKEND == "postgresql":
        return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    return f"sqlite:///{folder / 'missing' / 'fengqiao.sqlite3'}"


def test_an_unreachable_database_answers_503_with_retry_after_in_the_callers_language(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=_unreachable(tmp_path), data_dir=tmp_path, background="off")
    app = create_app(settings)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            for lang, word in (("zh", "数据库"), ("en", "database")):
                lookup = client.get(
                    "/api/me", headers={"Authorization": "Bearer abc", "Accept-Language": lang}
                )
                login = client.post(
                    "/api/auth/login",
                    json={"username": "admin", "password": "x" * 12},
                    headers={"Accept-Language": lang},
                )
                for resp in (lookup, login):
                    assert resp.status_code == 503, resp.text
                    assert resp.headers["Retry-After"].isdigit()
                    error = resp.json()["error"]
                    assert error["code"] == "unavailable" and word in error["message"], error
    finally:
        app.state.engine.dispose()


def test_a_wrong_statement_is_not_taken_for_an_unreachable_database(
    migrated_engine: Engine,
) -> None:
    with migrated_engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text("SELECT * FROM no_such_table"))  # SQLite calls it "operational"
    assert not unavailable(caught.value)


def test_a_batch_the_database_cannot_take_fails_every_caller_at_once(
    database: tuple[str, World], tmp_path: Path
) -> None:
    """Not tried again report by report: each would wait for the same database."""
    url, _ = database
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            user = session.scalar(select(User).where(User.username == "worker_a"))
            assert user is not None
            items = [
                intake.prepare(
                    session,
                    principal_of(user),
                    intake.Report(title=f"井盖松动{n}", region_code=COMM_A1),
                    grid=None,
                    routing=service.load_routing(session),
                    reader=None,
                    ip=None,
                )
                for n in range(3)
            ]
    finally:
        engine.dispose()
    down = make_engine(_unreachable(tmp_path))
    attempts: list[int] = []
    event.listen(down, "do_connect", lambda *_: attempts.append(1))
    batch: list[tuple[intake.Intake, Future[intake.Written]]] = [(i, Future()) for i in items]
    own = OwnConnection(down)
    try:
        IntakeWriter(down).write(batch, own)
    finally:
        own.close()
        down.dispose()
    errors = [answer.exception(timeout=0) for _, answer in batch]
    assert all(e is not None and unavailable(e) for e in errors), errors
    assert len(attempts) == 1


# ---------------------------------------------------------------- SIGKILL mid-intake


def test_a_server_killed_in_the_middle_of_intake_loses_no_acknowledged_matter(
    database: tuple[str, World], tmp_path: Path
) -> None:
    url, _ = database
    server = Server(url, tmp_path / "server")
    try:
        server.start()
        tokens = {name: server.login(name) for name in REPORTERS}
        # Each caller has far more reports than are sent before the kill: it is cut off
        # in the middle of its load.
        with Callers(server, tokens, "kill", per_caller=2000, stop_on_error=True) as callers:
            assert until(lambda: callers.acknowledged() >= 90, 45), server.log
            server.kill()
        outcome = callers.outcome
        assert outcome.refused == [], [r.text for r in outcome.refused[:3]]
        # Every caller was cut off: its last report has no answer (and may or may not
        # have been committed).
        assert len(outcome.unanswered) == len(REPORTERS)
        assert len(outcome.acknowledged) >= 90

        # Before anyone retries: every acknowledged matter is in the database, whole.
        found = _matters(url, "kill")
        for key, matter in outcome.acknowledged.items():
            assert key in found and found[key][0] == matter, key
            assert found[key][1:] == (1, 1), key

        server.start()
        _retry_every_key(server, tokens, outcome)
    finally:
        server.stop()
    _check_made_once(url, "kill", outcome)


# ---------------------------------------------------------------- two servers, one database


def _me(server: Server, headers: dict[str, str]) -> int:
    with server.client(headers=headers) as c:
        return c.get("/api/me").status_code


def _refused_within(server: Server, headers: dict[str, str], seconds: float = 8) -> bool:
    return until(lambda: _me(server, headers) == 401, seconds, 0.05)


def test_two_servers_on_one_database_see_each_others_logouts_deactivations_and_routing(
    database: tuple[str, World], tmp_path: Path
) -> None:
    url, world = database
    redis = f"redis://127.0.0.1:6379/{REDIS_DB}"
    a = Server(url, tmp_path / "a", redis_url=redis)
    b = Server(url, tmp_path / "b", redis_url=redis)
    try:
        a.launch()
        a.ready()  # it migrates first; then the second starts on the migrated database
        b.start()

        # A logout through A: refused by A at once, by B within its cache's second.
        worker = a.login("worker_a")
        assert [_me(b, worker) for _ in range(3)] == [200, 200, 200]  # B knows the caller
        with a.client(headers=worker) as c:
            assert c.post("/api/auth/logout").status_code == 204
        assert _me(a, worker) == 401
        assert _refused_within(b, worker), "B still accepts a token logged out through A"

        # A deactivation through A: B refuses the user's token.
        admin = a.login("admin")
        dispatcher = a.login("comm_a1")
        assert [_me(b, dispatcher) for _ in range(3)] == [200, 200, 200]
        with a.client(headers=admin) as c:
            user = world.users["comm_a1"]
            resp = c.patch(f"/api/users/{user}", json={"is_active": False})
            assert resp.status_code == 200, resp.text
        assert _refused_within(b, dispatcher), "B still accepts a deactivated user's token"

        # A routing rule added through A: a report through B routes by it; removed
        # through A: B routes as before.
        reporter = b.login("head_a")
        bureau, platform = world.units["bureau"], world.units["platform_a"]

        def routed_to(unit: int) -> bool:
            key = f"route-{uuid.uuid4().hex[:12]}"
            with b.client(headers=reporter) as c:
                resp = c.post("/api/matters", json=report_body(key, REPORTERS["head_a"]))
            assert resp.status_code == 201, resp.text
            return bool((resp.json()["suggestion"] or {}).get("unit_id") == unit)

        assert routed_to(bureau)  # the territorial default: the county's department
        rule = {"category_code": "urban_management", "region_code": TOWN_A}
        with a.client(headers=admin) as c:
            resp = c.post("/api/routing-rules", json={**rule, "unit_code": "A-ZZGZ", "level": 3})
            assert resp.status_code == 201, resp.text
            rule_id = resp.json()["id"]
        assert until(lambda: routed_to(platform), 8, 0.2), "B does not route by A's new rule"
        with a.client(headers=admin) as c:
            assert c.delete(f"/api/routing-rules/{rule_id}").status_code == 204
        assert until(lambda: routed_to(bureau), 8, 0.2), "B still routes by A's removed rule"
    finally:
        a.stop()
        b.stop()


# ---------------------------------------------------------------- PostgreSQL restarted

if BACKEND == "postgresql":  # not collected on the SQLite run: there it has no equivalent

    def test_a_read_whose_connection_was_lost_runs_once_more_on_a_new_one(
        migrated_engine: Engine,
    ) -> None:
        """The pool's pre-ping replaces a connection that died in the pool; one that dies
        after it was handed out fails its statement, and a read runs once more."""
        factory = make_sessionmaker(migrated_engine)
        with factory() as session:
            backend = session.scalar(text("SELECT pg_backend_pid()"))  # its connection
            with migrated_engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend})
            runs: list[int] = []

            def read() -> Any:
                runs.append(1)
                return session.scalar(text("SELECT pg_backend_pid()"))

            assert read_retrying(session, read) != backend
            assert len(runs) == 2

    def test_postgresql_restarted_under_load_answers_503_then_recovers_by_itself(
        tmp_path: Path,
    ) -> None:
        with private_cluster() as cluster:
            admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text('CREATE DATABASE "faults"'))
            admin.dispose()
            url = cluster.url("faults")
            world_in(url, tmp_path / "files")
            with serving(url, tmp_path / "server") as server:
                tokens = {name: server.login(name) for name in REPORTERS}
                reader = server.login("dispatcher")
                probes: list[httpx.Response] = []
                callers = Callers(
                    server, tokens, "restart", per_caller=3000, stop_on_error=False, pause=0.02
                )
                with callers:
                    assert until(lambda: callers.acknowledged() >= 30, 30), server.log
                    cluster.stop("immediate")  # every backend ends at once, as in a crash

                    def outage_seen() -> bool:
                        # Reads too, in both languages, while the database is down.
                        with server.client(headers=reader) as c:
                            for path in ("/api/me", "/api/matters?limit=5"):
                                for lang in ("zh", "en"):
                                    probes.append(c.get(path, headers={"Accept-Language": lang}))
                        refused = sum(1 for s, _ in callers.outcome.statuses if s == 503)
                        return refused >= 10 and all(p.status_code == 503 for p in probes[-4:])

                    assert until(outage_seen, 30, 0.1), server.log
                    down = len(callers.outcome.acknowledged)
                    cluster.start()
                    # It recovers by itself: acknowledged reports again, no restart.
                    assert until(lambda: callers.acknowledged() >= down + 30, 30), server.log
                outcome = callers.outcome
                statuses = {s for s, _ in outcome.statuses} | {p.status_code for p in probes}
                assert statuses <= {200, 201, 503}, (statuses, server.log)
                assert outcome.unanswered == set()  # the server never dropped a connection
                for resp in [*outcome.refused, *probes]:
                    if resp.status_code == 503:
                        assert resp.headers.get("Retry-After", "").isdigit(), resp.headers
                        error = resp.json()["error"]
                        assert error["code"] == "unavailable"
                        english = resp.request.headers.get("Accept-Language") == "en"
                        assert ("database" in error["message"]) is english, error
                        assert ("数据库" in error["message"]) is not english, error
                assert {p.status_code for p in probes[-4:]} == {503}
                _retry_every_key(server, tokens, outcome)
                with server.client(headers=reader) as c:
                    assert c.get("/api/matters?limit=5").status_code == 200
            _check_made_once(url, "restart", outcome)
