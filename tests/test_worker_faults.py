"""`fengqiao worker` under faults, each as a real process on the engine under test: Redis
refusing connections, then emptied by a restart; a webhook receiver that hangs; the
worker killed (SIGKILL) in the middle of a batch; and settings it cannot run with (the
server's too). Every wait is bounded."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from fengqiao.core.database import make_engine
from tests.conftest import new_database
from tests.faultkit import free_port, until, world_in
from tests.notifykit import (
    REDIS_DB,
    Receiver,
    RedisServer,
    WorkerProcess,
    add_messages,
    dispatched_matter,
    make_due,
    own_stream,
    statuses,
    supervision,
)

UNREACHABLE = "cannot be reached"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A database of the engine under test with the test world, the world's own
    notifications delivered (only what a test adds is under test)."""
    with new_database(tmp_path) as url:
        world_in(url, tmp_path / "files")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE outbox SET status = 'delivered'")
        try:
            yield url, engine
        finally:
            engine.dispose()


@pytest.fixture
def stream() -> Iterator[str]:
    with own_stream() as name:
        yield name


MACHINE_REDIS = f"redis://127.0.0.1:6379/{REDIS_DB}"


def test_a_worker_outlives_redis_refusing_then_restarted_empty(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    receiver = Receiver()
    server = RedisServer(tmp_path)  # not started: its port refuses connections
    worker = WorkerProcess(
        url, tmp_path / "worker", redis_url=server.url, stream="fengqiao:jobs", hook=receiver.url
    )
    first = dispatched_matter(engine, "第一件")
    make_due(engine, first)
    keys = add_messages(engine, 3, "no-redis")
    try:
        worker.start()
        assert until(lambda: UNREACHABLE in worker.log, 20), worker.log
        # Deliveries go on without Redis (they are found in the database) …
        assert until(lambda: set(receiver.keys()) >= set(keys), 20), worker.log
        # … sweeps wait for it, and the worker waits with it, saying so once.
        time.sleep(2)
        assert worker.running(), worker.log
        assert supervision(engine, first) == 0
        assert worker.log.count(UNREACHABLE) == 1, worker.log

        server.start()
        assert until(lambda: supervision(engine, first) == 1, 30), worker.log  # 催办
        assert "answers again" in worker.log

        # Restarted without its data: the job groups are gone, and made again.
        server.stop()
        second = dispatched_matter(engine, "第二件")
        make_due(engine, second)
        time.sleep(1.5)
        server.start()
        assert until(lambda: supervision(engine, second) == 1, 30), worker.log
        assert worker.running(), worker.log
        assert worker.log.count(UNREACHABLE) <= 2, worker.log  # at most once per outage
        assert "Traceback" not in worker.log, worker.log
    finally:
        worker.stop()
        server.stop()
        receiver.close()


def test_a_hanging_receiver_delays_no_sweep(
    database: tuple[str, Engine], tmp_path: Path, stream: str
) -> None:
    """Sends that hang (far longer than several sweep intervals; they would wait out a
    60 s hang the same way) hold no sweep: sweeps come every interval while they hang,
    and a matter falling due meanwhile is chased in the next round."""
    url, engine = database
    interval = 1.0
    receiver = Receiver(hang=8)
    worker = WorkerProcess(
        url,
        tmp_path / "worker",
        redis_url=MACHINE_REDIS,
        stream=stream,
        hook=receiver.url,
        notify_timeout="30",  # the sends really hang, for as long as the receiver does
    )
    matter = dispatched_matter(engine)
    add_messages(engine, 20, "hang")
    client = redis.Redis(db=REDIS_DB, decode_responses=True)
    try:
        worker.start(interval)
        assert until(lambda: receiver.inflight > 0, 20), worker.log  # a delivery hangs
        hung_at = time.time()
        make_due(engine, matter, 1.5)
        assert until(lambda: supervision(engine, matter) == 1, 5), worker.log
        assert receiver.answered == 0, "the receiver let go before the sweep came"
        time.sleep(max(hung_at + 5 - time.time(), 0))
        assert receiver.answered == 0 and receiver.inflight > 0
        runs = [json.loads(r) for r in client.lrange(f"{stream}:runs:sweep", 0, -1)]
        started = sorted(r["started"] for r in runs if r["started"] >= hung_at)
        assert len(started) >= 3, runs
        gaps = [b - a for a, b in zip([hung_at, *started], started, strict=False)]
        assert max(gaps) <= 2 * interval + 0.5, gaps  # none later than one interval
    finally:
        receiver.close()
        worker.stop()
        client.close()


def test_a_worker_killed_mid_batch_sends_again_only_a_handful(
    database: tuple[str, Engine], tmp_path: Path, stream: str
) -> None:
    url, engine = database
    concurrency = 4
    receiver = Receiver(delay=0.02)
    settings = {"notify_concurrency": str(concurrency), "notify_timeout": "1"}
    first = WorkerProcess(
        url, tmp_path / "first", redis_url=MACHINE_REDIS, stream=stream, hook=receiver.url,
        **settings,
    )  # fmt: skip
    second = WorkerProcess(
        url, tmp_path / "second", redis_url=MACHINE_REDIS, stream=stream, hook=receiver.url,
        **settings,
    )  # fmt: skip
    keys = add_messages(engine, 300, "kill")
    try:
        first.start()
        assert until(lambda: len(receiver.posts) >= 100, 30), first.log
        first.kill()
        assert len(receiver.posts) < len(keys), "the batch ended before the kill"
        second.start()
        # What the killed worker held comes back when its lease ends.
        assert until(lambda: statuses(engine, "kill") == {"delivered": 300}, 60), second.log
    finally:
        first.stop()
        second.stop()
        receiver.close()
    counts = receiver.keys()
    assert set(keys) <= set(counts)  # at least once
    duplicates = sum(n - 1 for key, n in counts.items() if key in set(keys))
    assert duplicates <= 2 * concurrency, f"{duplicates} posts sent twice"
    for post in receiver.posts:  # each with its de-duplication key
        assert post.key == post.body["id"] and post.headers["X-Fengqiao-Signature"]


def test_a_server_or_worker_with_a_webhook_and_no_url_refuses_to_start(tmp_path: Path) -> None:
    """Each exits at once with status 2 and says what to set; the server listens on
    nothing and neither touched the database."""
    port = free_port()
    env = {
        **os.environ,
        "FENGQIAO_DATA_DIR": str(tmp_path),
        "FENGQIAO_DATABASE_URL": f"sqlite:///{tmp_path / 'never.sqlite3'}",
        "FENGQIAO_NOTIFY_CHANNEL": "webhook",
    }
    env.pop("FENGQIAO_WEBHOOK_URL", None)
    commands = {
        "serve": ["serve", "--port", str(port)],
        "worker": ["worker"],
    }
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "fengqiao.cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    runs["unknown channel"] = subprocess.Popen(
        [sys.executable, "-m", "fengqiao.cli", "worker"],
        env={**env, "FENGQIAO_NOTIFY_CHANNEL": "pigeon"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    answers = {name: (p.wait(timeout=60), *p.communicate()) for name, p in runs.items()}
    for name in ("serve", "worker"):
        status, out, err = answers[name]
        assert status == 2, (name, out, err)
        assert "FENGQIAO_WEBHOOK_URL" in err and "FENGQIAO_WEBHOOK_SECRET" in err, err
        assert "Traceback" not in err + out, err
    status, _, err = answers["unknown channel"]
    assert status == 2 and "FENGQIAO_NOTIFY_CHANNEL" in err and "pigeon" in err, err
    assert not (tmp_path / "never.sqlite3").exists()
    with pytest.raises(OSError):  # refused: nothing listens
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
