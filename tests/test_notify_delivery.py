"""Delivery at the receiver's speed and without stalls: one kept client per channel with
bounded sends in flight, batches claimed under a lease and committed before anything is
sent, a time budget per batch, a receiver that refuses everything left alone for a
while; nothing given up silently (a time limit, warnings and errors in the log, the
failed messages shown to administrators in their jurisdiction and sent again by API and
command line); the worker's state for operators; settings that cannot deliver refused.
Real parts: the database under test, the machine's Redis, a receiver on loopback."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, text, update
from typer.testing import CliRunner

from fengqiao.api import create_app
from fengqiao.calendar.service import calendar_cache
from fengqiao.cli import app as cli_app
from fengqiao.core import clock
from fengqiao.core.config import Settings, SettingsError, get_settings, settings_problems
from fengqiao.core.database import make_sessionmaker
from fengqiao.core.jobs import JobQueue
from fengqiao.core.models import AuditLog
from fengqiao.matters.flows import InProcessRunner, Worker, channels_from, run_worker, worker_status
from fengqiao.notify.channels import LogChannel, WebhookChannel
from fengqiao.notify.models import OutboxMessage
from fengqiao.notify.service import deliver_pending
from tests.faultkit import free_port, until
from tests.notifykit import (
    REDIS_DB,
    Receiver,
    add_messages,
    dispatched_matter,
    make_due,
    own_stream,
    statuses,
    supervision,
)
from tests.world import World

MACHINE_REDIS = f"redis://127.0.0.1:6379/{REDIS_DB}"


@pytest.fixture
def quiet_world(engine: Engine, world: World) -> World:
    """The test world with its own notifications delivered: only what a test adds waits."""
    with engine.begin() as conn:
        conn.execute(update(OutboxMessage).values(status="delivered"))
    return world


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def stream() -> Iterator[str]:
    with own_stream() as name:
        yield name


@pytest.fixture
def cli(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stream: str
) -> Iterator[CliRunner]:
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FENGQIAO_REDIS_URL", MACHINE_REDIS)
    monkeypatch.setenv("FENGQIAO_JOBS_STREAM", stream)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _rows(engine: Engine, prefix: str) -> list[OutboxMessage]:
    with make_sessionmaker(engine)() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.dedupe_key.like(f"{prefix}%"))
                .order_by(OutboxMessage.id)
            )
        )


# ---------------------------------------------------------------- sending


def test_one_kept_client_per_channel_with_bounded_sends_in_flight(
    engine: Engine, quiet_world: World
) -> None:
    receiver = Receiver(delay=0.02)
    channel = WebhookChannel(receiver.url, "s3cret", concurrency=3)
    keys = add_messages(engine, 40, "speed")
    try:
        assert deliver_pending(make_sessionmaker(engine), {"default": channel}) == (40, 0)
    finally:
        channel.close()
        receiver.close()
    assert sorted(receiver.keys()) == keys  # each once
    assert 1 < receiver.most_inflight <= 3
    assert len({p.port for p in receiver.posts}) <= 3  # its connections stayed open


def test_a_batch_holds_no_lock_while_it_sends_and_others_pass_its_messages_by(
    engine: Engine, quiet_world: World
) -> None:
    factory = make_sessionmaker(engine)
    seen: list[tuple[tuple[int, int], bool]] = []

    def meanwhile(post: object) -> None:
        # Another worker, while this one sends: nothing for it (all claimed) …
        other = deliver_pending(factory, {"default": LogChannel()})
        # … and the rows are not locked: another transaction changes them at once.
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET lock_timeout = '2s'"))
            else:
                conn.exec_driver_sql("PRAGMA busy_timeout = 2000")
            conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.dedupe_key.like("lease%"))
                .values(last_error=None)
            )
            leased = conn.scalar(
                select(OutboxMessage.next_attempt_at)
                .where(OutboxMessage.dedupe_key.like("lease%"))
                .order_by(OutboxMessage.next_attempt_at)
            )
            conn.commit()
        seen.append((other, leased is not None and leased > clock.now()))

    receiver = Receiver(on_post=meanwhile)
    channel = WebhookChannel(receiver.url, "s3cret", concurrency=1)
    add_messages(engine, 3, "lease")
    try:
        assert deliver_pending(factory, {"default": channel}) == (3, 0)
    finally:
        channel.close()
        receiver.close()
    assert seen[0] == ((0, 0), True)  # the first send: every message under the lease
    assert statuses(engine, "lease") == {"delivered": 3}


def test_a_batch_ends_at_its_budget_and_hands_back_what_it_did_not_begin(
    engine: Engine, quiet_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(hang=10)
    channel = WebhookChannel(receiver.url, "s3cret", timeout=0.5, concurrency=1)
    add_messages(engine, 10, "budget")
    try:
        with caplog.at_level(logging.WARNING, logger="fengqiao.notify"):
            delivered, failed = deliver_pending(
                make_sessionmaker(engine), {"default": channel}, budget=1.2
            )
    finally:
        channel.close()
        receiver.close()
    rows = _rows(engine, "budget")
    tried = [m for m in rows if m.attempts]
    handed_back = [m for m in rows if not m.attempts]
    assert delivered == 0 and failed == len(tried) >= 1 and handed_back
    now = clock.now()
    assert all(m.next_attempt_at <= now for m in handed_back)  # due again at once
    assert all(m.next_attempt_at > now and "ReadTimeout" in (m.last_error or "") for m in tried)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"{failed} messages" in w and "ReadTimeout" in w for w in warnings), warnings


def test_a_receiver_that_refuses_everything_is_left_alone_for_a_while(
    engine: Engine, quiet_world: World
) -> None:
    receiver = Receiver(status=503)
    channel = WebhookChannel(receiver.url, "s3cret", concurrency=2)
    add_messages(engine, 30, "refused")
    try:
        assert deliver_pending(make_sessionmaker(engine), {"default": channel})[1] in (5, 6)
    finally:
        channel.close()
        receiver.close()
    rows = _rows(engine, "refused")
    untried = [m for m in rows if m.attempts == 0]
    assert len(untried) == 30 - len(receiver.posts) >= 24
    assert all(m.next_attempt_at > clock.now() for m in untried)  # a pause, then again


# ---------------------------------------------------------------- given up, shown, sent again


def test_a_message_failing_past_the_time_limit_is_shown_to_administrators_and_sent_again(
    client: TestClient,
    engine: Engine,
    world: World,
    cli: CliRunner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    factory = make_sessionmaker(engine)
    start = clock.now() - timedelta(days=2)
    with factory() as session:
        # The world's two reports told their dispatchers; one notice concerns everyone.
        # (What the world's mediation cases told their parties is not this test's.)
        session.execute(delete(OutboxMessage).where(OutboxMessage.topic.like("case.%")))
        session.execute(update(OutboxMessage).values(next_attempt_at=start, created_at=start))
        session.add(
            OutboxMessage(
                dedupe_key="installation:notice",
                created_at=start,
                topic="system.notice",
                recipient="dispatchers:330305/",
                channel="default",
                payload={"text": "全域通知"},
                next_attempt_at=start,
            )
        )
        session.commit()
        notes = {
            "a" if m.matter_id == world.matters["a"] else "b" if m.matter_id else "wide": m.id
            for m in session.scalars(select(OutboxMessage))
        }
    assert len(notes) == 3
    receiver = Receiver(status=503)
    channels = {"default": WebhookChannel(receiver.url, "s3cret")}
    try:
        with caplog.at_level(logging.WARNING, logger="fengqiao.notify"):
            with clock.frozen(start):
                assert deliver_pending(factory, channels) == (0, 3)
            with clock.frozen(start + timedelta(hours=23)):  # within the limit: tried again
                assert deliver_pending(factory, channels) == (0, 3)
            assert statuses(engine) == {"pending": 3}
            with clock.frozen(start + timedelta(hours=24, minutes=1)):
                assert deliver_pending(factory, channels) == (0, 3)
        assert statuses(engine) == {"failed": 3}
        records = [r for r in caplog.records if r.name == "fengqiao.notify"]
        assert any("HTTP 503" in r.getMessage() for r in records if r.levelno == logging.WARNING)
        given_up = [r.getMessage() for r in records if r.levelno == logging.ERROR]
        assert len(given_up) == 3, given_up
        for note in notes.values():
            assert any(f"`fengqiao notify resend {note}`" in line for line in given_up)

        # Administrators see them, each in their jurisdiction; others may not look.
        admin, admin_a = world.login(client, "admin"), world.login(client, "admin_a")
        page = client.get("/api/notifications?status=failed", headers=admin).json()
        assert {m["id"] for m in page["items"]} == set(notes.values())
        assert page["counts"] == {"pending": 0, "failed": 3} and page["total"] == 3
        shown = next(m for m in page["items"] if m["id"] == notes["a"])
        assert shown["matter_title"] == "甲网格事件" and shown["attempts"] == 3
        assert shown["last_error"] == "HTTP 503 Service Unavailable" and shown["failed_at"]
        page_a = client.get("/api/notifications?status=failed", headers=admin_a).json()
        assert [m["id"] for m in page_a["items"]] == [notes["a"]]
        assert page_a["counts"]["failed"] == 1
        leader = world.login(client, "leader")
        assert client.get("/api/notifications", headers=leader).status_code == 403

        # The township's administrator sends its matter's again, and only that one.
        resend = "/api/notifications/{}/resend"
        resp = client.post(resend.format(notes["a"]), headers=admin_a)
        assert resp.status_code == 200 and resp.json() == {"resent": [notes["a"]]}
        for other in ("b", "wide"):
            resp = client.post(resend.format(notes[other]), headers=admin_a)
            assert resp.status_code == 404 and "管辖范围" in resp.json()["error"]["message"]
        again = client.post(resend.format(notes["a"]), headers={**admin_a, "Accept-Language": "en"})
        assert again.status_code == 409 and "have not failed" in again.json()["error"]["message"]
        receiver.status = 200
        assert deliver_pending(factory, channels) == (1, 0)  # due at once
        sent_a = [p for p in receiver.posts if p.body["payload"].get("matter_id")]
        assert sent_a[-1].key == sent_a[-1].body["id"] and statuses(engine)["delivered"] == 1

        # The command line lists the rest and sends them all again.
        listed = cli.invoke(cli_app, ["notify", "failed", "--json"])
        assert listed.exit_code == 0, listed.output
        assert {m["id"] for m in json.loads(listed.stdout)["items"]} == {
            notes["b"],
            notes["wide"],
        }
        done = cli.invoke(cli_app, ["notify", "resend", "--all"])
        assert done.exit_code == 0 and "2 notifications due again" in done.output, done.output
        assert deliver_pending(factory, channels) == (2, 0)
        assert statuses(engine) == {"delivered": 3}
        none_left = cli.invoke(cli_app, ["notify", "resend", str(notes["b"])])
        assert none_left.exit_code == 2 and "have not failed" in none_left.output
    finally:
        receiver.close()
    with factory() as session:
        audited = session.execute(
            select(AuditLog.entity_id, AuditLog.actor_name).where(
                AuditLog.entity == "outbox", AuditLog.action == "resend"
            )
        ).all()
    assert sorted(audited) == sorted(
        [
            (str(notes["a"]), "admin_a"),
            (str(notes["b"]), "cli:notify-resend"),
            (str(notes["wide"]), "cli:notify-resend"),
        ]
    )


# ---------------------------------------------------------------- the background's own threads


def test_the_embedded_runner_sweeps_while_a_delivery_hangs(
    engine: Engine, quiet_world: World
) -> None:
    receiver = Receiver(hang=20)
    runner = InProcessRunner(
        make_sessionmaker(engine),
        calendar_cache(),
        {"default": WebhookChannel(receiver.url, "s3cret", timeout=30)},
        interval=0.3,
        poll=0.1,
    )
    matter = dispatched_matter(engine)
    add_messages(engine, 3, "hangs")
    runner.start()
    try:
        assert until(lambda: receiver.inflight > 0, 10)
        make_due(engine, matter)
        assert until(lambda: supervision(engine, matter) == 1, 10)
        assert receiver.answered == 0  # the sweep did not wait for the send
    finally:
        receiver.close()
        runner.stop()


def test_the_worker_reports_queues_messages_runs_and_heartbeats(
    engine: Engine,
    quiet_world: World,
    cli: CliRunner,
    stream: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factory = make_sessionmaker(engine)
    add_messages(engine, 2, "later", when=clock.now() + timedelta(hours=1))
    queue = JobQueue(MACHINE_REDIS, stream=stream)
    done = run_worker(factory, calendar_cache(), {"default": LogChannel()}, queue, 3600, rounds=2)
    assert done == 2 and queue.pending() == 0  # a sweep and a delivery, each in its lane
    status = worker_status(factory, queue)
    assert status["redis"]["reachable"] is True
    assert status["outbox"] | {"oldest_pending_s": None} == {
        "pending": 2,
        "due": 0,
        "failed": 0,
        "oldest_pending_at": status["outbox"]["oldest_pending_at"],
        "oldest_pending_s": None,
    }
    assert status["outbox"]["oldest_pending_at"] is not None
    assert set(status["queues"]) == {"sweep", "deliver"}
    assert all(q["waiting"] == q["running"] == 0 for q in status["queues"].values())
    assert status["last"]["sweep"]["worker"] == queue.consumer
    assert status["workers"][queue.consumer]["alive"] is True

    shown = cli.invoke(cli_app, ["worker", "--status", "--json"])
    assert shown.exit_code == 0, shown.output
    assert queue.consumer in json.loads(shown.stdout)["workers"]
    text_form = cli.invoke(cli_app, ["worker", "--status"])
    assert text_form.exit_code == 0, text_form.output
    for part in (
        "queue sweep: 0 waiting",
        "2 waiting 待发 (0 due now)",
        "last sweep",
        queue.consumer,
    ):
        assert part in text_form.output, text_form.output

    monkeypatch.setenv("FENGQIAO_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    away = cli.invoke(cli_app, ["worker", "--status"])
    assert away.exit_code == 1 and "UNREACHABLE" in away.output, away.output
    assert "2 waiting 待发" in away.output  # the database's part all the same


def test_dead_workers_leave_the_job_groups(engine: Engine, stream: str) -> None:
    queue = JobQueue(MACHINE_REDIS, stream=stream)
    worker = Worker(
        make_sessionmaker(engine), calendar_cache(), {"default": LogChannel()}, queue, 3600
    )
    sweeps = worker.lanes["sweep"]
    sweeps.add("sweep")
    queue.redis.xreadgroup(sweeps.group, "dead-busy", {sweeps.stream: ">"}, count=1)
    for name in ("dead-idle", queue.consumer):
        queue.redis.xgroup_createconsumer(sweeps.stream, sweeps.group, name)
    time.sleep(1.2)
    queue.beat()  # this worker lives
    assert worker.remove_dead_workers(dead_after=1.0) == ["dead-idle"]
    # The dead worker's job is taken over; then it leaves too.
    ran: list[str] = []
    assert sweeps.work({"sweep": lambda f: ran.append(f["kind"])}, None, stale_ms=0) == 1
    time.sleep(1.2)
    queue.beat()
    assert worker.remove_dead_workers(dead_after=1.0) == ["dead-busy"]
    consumers = queue.redis.xinfo_consumers(sweeps.stream, sweeps.group)
    assert [c["name"] for c in consumers] == [queue.consumer] and ran == ["sweep"]


# ---------------------------------------------------------------- settings


def test_settings_that_cannot_deliver_are_refused(settings: Settings) -> None:
    def problems(**values: object) -> list[str]:
        return settings_problems(settings.model_copy(update=values))

    assert problems() == []
    webhook = problems(notify_channel="webhook")
    assert len(webhook) == 2
    assert "FENGQIAO_WEBHOOK_URL" in webhook[0] and "FENGQIAO_WEBHOOK_SECRET" in webhook[1]
    assert (
        problems(
            notify_channel="webhook", webhook_url="https://hooks.example/fq", webhook_secret="k"
        )
        == []
    )
    [bad_url] = problems(notify_channel="webhook", webhook_url="hooks.example", webhook_secret="k")
    assert "不是有效地址" in bad_url and "not a valid URL" in bad_url
    [no_token] = problems(notify_channel="sms", sms_url="https://sms.example/send")
    assert "FENGQIAO_SMS_TOKEN" in no_token
    [unknown] = problems(notify_channel="wechat")
    assert "wechat" in unknown
    assert len(problems(background="sometimes", redis_url="http://x", notify_concurrency=0)) == 3
    wrong = settings.model_copy(update={"notify_channel": "webhook"})
    with pytest.raises(SettingsError, match="FENGQIAO_WEBHOOK_URL"):
        channels_from(wrong)
    with pytest.raises(SettingsError, match="FENGQIAO_WEBHOOK_URL"):
        create_app(wrong)  # `uvicorn fengqiao.asgi:app` too
