"""Notifications leave through the outbox: at least once, de-duplicated, retried; and the
worker runs sweeps and deliveries as jobs from a real Redis stream."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, update

from fengqiao.calendar.service import build_calendar, calendar_cache
from fengqiao.core import clock
from fengqiao.core.database import make_sessionmaker
from fengqiao.core.jobs import JobQueue
from fengqiao.matters import intake, service
from fengqiao.matters.flows import run_worker
from fengqiao.matters.models import Matter
from fengqiao.notify.channels import LogChannel, WebhookChannel
from fengqiao.notify.models import OutboxMessage
from fengqiao.notify.service import deliver_pending
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.world import World

SH = ZoneInfo("Asia/Shanghai")


class Receiver:
    """A real HTTP endpoint on loopback that fails its first `fail` requests."""

    def __init__(self, fail: int = 0) -> None:
        self.fail, self.received = fail, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(503)
                else:
                    receiver.received.append((dict(self.headers), json.loads(body)))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=1)
    yield r
    r.close()


def _dispatch_one(engine: Engine, when: datetime) -> int:
    with make_sessionmaker(engine)() as session:
        # The world was built on the real clock; its own messages are not under test.
        session.execute(update(OutboxMessage).values(status="delivered"))
        cal = build_calendar(session)
        town_a = principal_of(session.scalars(select(User).where(User.username == "town_a")).one())
        with clock.frozen(when):
            matter, _ = intake.report(
                session,
                town_a,
                intake.Report(
                    title="通知测试", category_code="urban_management", region_code="330305001"
                ),
                grid=None,
            )
            service.act(session, town_a, cal, matter.id, "accept", {})
            service.act(session, town_a, cal, matter.id, "dispatch", {"unit_code": "C-ZHZF"})
        return matter.id


def test_webhook_delivery_is_at_least_once_and_deduplicable(
    engine: Engine, world: World, receiver: Receiver
) -> None:
    factory = make_sessionmaker(engine)
    start = datetime(2026, 11, 23, 9, 0, tzinfo=SH)
    matter_id = _dispatch_one(engine, start)
    channels = {"default": WebhookChannel(receiver.url, "s3cret")}
    with clock.frozen(start):
        delivered, failed = deliver_pending(factory, channels)
    # The receiver refused the first message once; it stays pending with a back-off.
    assert failed == 1 and receiver.received
    with factory() as session:
        waiting = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "pending")
        ).all()
        assert len(waiting) == 1 and waiting[0].attempts == 1 and waiting[0].last_error
    with clock.frozen(start + timedelta(seconds=1)):
        assert deliver_pending(factory, channels) == (0, 0)  # not yet due again
    with clock.frozen(start + timedelta(seconds=5)):
        assert deliver_pending(factory, channels)[0] == 1
        assert deliver_pending(factory, channels) == (0, 0)  # nothing sent twice
    keys = [h["Idempotency-Key"] for h, _ in receiver.received]
    assert len(keys) == len(set(keys)) == delivered + 1
    dispatch = [b for _, b in receiver.received if b["topic"] == "matter.dispatch"]
    assert dispatch[0]["recipient"] == f"unit:{world.units['bureau']}"
    assert dispatch[0]["payload"]["matter_id"] == matter_id
    assert all(len(h["X-Fengqiao-Signature"]) == 64 for h, _ in receiver.received)


def test_worker_runs_sweeps_and_deliveries_from_the_redis_queue(
    engine: Engine, world: World
) -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=SH)
    matter_id = _dispatch_one(engine, start)
    queue = JobQueue("redis://127.0.0.1:6379/15", stream=f"fengqiao:test:{uuid.uuid4().hex}")
    try:
        factory = make_sessionmaker(engine)
        with clock.frozen(start + timedelta(days=2)):  # the signing deadline has passed
            done = run_worker(
                factory, calendar_cache(), {"default": LogChannel()}, queue, interval=3600, rounds=2
            )
        assert done == 2 and queue.pending() == 0
        with factory() as session:
            matter = session.get(Matter, matter_id)
            assert matter is not None and matter.supervision == 1  # 催办
            statuses = set(session.scalars(select(OutboxMessage.status)))
            assert statuses == {"delivered"}
        # A job whose worker died (never acknowledged) is taken over by another worker.
        queue.add("sweep")
        queue.redis.xreadgroup(queue.group, "dead-worker", {queue.stream: ">"}, count=1)
        assert queue.pending() == 1
        other = JobQueue("redis://127.0.0.1:6379/15", stream=queue.stream, consumer="other")
        ran: list[str] = []
        assert other.work({"sweep": lambda f: ran.append(f["kind"])}, block_ms=10, stale_ms=0) == 1
        assert ran == ["sweep"] and queue.pending() == 0
    finally:
        queue.redis.delete(queue.stream)
        for key in queue.redis.scan_iter(f"{queue.stream}:*"):
            queue.redis.delete(key)
