"""Real parts for the notification and worker tests: a webhook receiver on loopback, a
private redis-server, `fengqiao worker` as its own process, and outbox rows and overdue
matters to work on. Every wait is bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import redis
from sqlalchemy import Engine, Table, insert, select, update

from fengqiao.calendar.service import build_calendar
from fengqiao.core import clock
from fengqiao.core.database import make_sessionmaker
from fengqiao.matters import intake, service
from fengqiao.matters.models import Matter
from fengqiao.notify.models import OutboxMessage
from fengqiao.notify.service import outbox_rows
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.faultkit import until
from tests.live import Child, free_port

REDIS_DB = 13  # the notification tests' own database on the machine's Redis


@contextmanager
def own_stream() -> Iterator[str]:
    """A job stream of the test's own on the machine's Redis; removed afterwards."""
    name = f"fengqiao:test:{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis(db=REDIS_DB)
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)
    client.close()


@dataclass
class Post:
    at: float
    key: str | None
    body: dict[str, Any]
    headers: dict[str, str]
    port: int  # the sender's port: one per connection


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a sender that gave up waiting: its connection is gone


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 (HTTP/1.1, connections kept open). Records every
    POST as it arrives, then answers `status`, after `delay` s, or after hanging for
    `hang` s (or until closed). `on_post` runs for each POST before it is answered."""

    status: int = 200
    delay: float = 0.0
    hang: float = 0.0
    on_post: Callable[[Post], None] | None = None
    posts: list[Post] = field(default_factory=list)
    inflight: int = 0
    most_inflight: int = 0
    answered: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                post = Post(
                    time.time(),
                    self.headers.get("Idempotency-Key"),
                    json.loads(body),
                    dict(self.headers),
                    self.client_address[1],
                )
                with receiver.lock:
                    receiver.posts.append(post)
                    receiver.inflight += 1
                    receiver.most_inflight = max(receiver.most_inflight, receiver.inflight)
                try:
                    if receiver.on_post is not None:
                        receiver.on_post(post)
                    if receiver.hang:
                        receiver.closing.wait(receiver.hang)
                    elif receiver.delay:
                        time.sleep(receiver.delay)
                finally:
                    with receiver.lock:
                        receiver.inflight -= 1
                        receiver.answered += 1
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keys(self) -> Counter[str | None]:
        with self.lock:
            return Counter(p.key for p in self.posts)

    def close(self) -> None:
        self.closing.set()  # ends every hang
        self.server.shutdown()
        self.server.server_close()


class RedisServer:
    """A redis-server of the test's own (nothing kept on disk: a restart empties it)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        assert until(answers, 10, 0.05), "redis-server did not start"
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class WorkerProcess(Child):
    """`fengqiao worker` as its own process, sending webhooks to `hook`."""

    def __init__(
        self, url: str, folder: Path, *, redis_url: str, stream: str, hook: str, **env: str
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "FENGQIAO_DATABASE_URL": url,
            "FENGQIAO_DATA_DIR": str(folder),
            "FENGQIAO_REDIS_URL": redis_url,
            "FENGQIAO_JOBS_STREAM": stream,
            "FENGQIAO_NOTIFY_CHANNEL": "webhook",
            "FENGQIAO_WEBHOOK_URL": hook,
            "FENGQIAO_WEBHOOK_SECRET": "s3cret",
            **{f"FENGQIAO_{k.upper()}": v for k, v in env.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.folder.glob("worker-*.log"))
        )

    def start(self, interval: float = 1.0) -> WorkerProcess:
        assert self.process is None
        self.starts += 1
        with (self.folder / f"worker-{self.starts}.log").open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fengqiao.cli", "worker", "--interval", str(interval)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        # Running once it said where it takes its jobs from (after migrating).
        assert until(lambda: "jobs on Redis" in self.log or not self.running(), 60, 0.1)
        assert self.running(), f"the worker ended:\n{self.log}"
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def add_messages(engine: Engine, n: int, prefix: str, when: datetime | None = None) -> list[str]:
    """`n` messages due now (or at `when`), each to its own unit; their de-duplication
    keys."""
    rows = []
    for i in range(n):
        rows += outbox_rows(
            topic="test.bulk",
            key=f"{prefix}-{i:05d}",
            recipients=[f"unit:{i}"],
            payload={"text": f"消息 {i}"},
        )
    if when is not None:
        for row in rows:
            row["created_at"] = row["next_attempt_at"] = when
    with engine.begin() as conn:
        conn.execute(insert(cast(Table, OutboxMessage.__table__)), rows)
    return [row["dedupe_key"] for row in rows]


def statuses(engine: Engine, prefix: str = "") -> Counter[str]:
    with engine.connect() as conn:
        return Counter(
            conn.scalars(
                select(OutboxMessage.status).where(OutboxMessage.dedupe_key.like(f"{prefix}%"))
            )
        )


def dispatched_matter(engine: Engine, title: str = "巡查测试") -> int:
    """A matter of town A dispatched to the county's department (its notifications
    marked delivered: only what comes after is under test)."""
    factory = make_sessionmaker(engine)
    with factory() as session:
        cal = build_calendar(session)
        town_a = principal_of(session.scalars(select(User).where(User.username == "town_a")).one())
        matter, _ = intake.report(
            session,
            town_a,
            intake.Report(title=title, category_code="urban_management", region_code="330305001"),
            grid=None,
        )
        service.act(session, town_a, cal, matter.id, "accept", {})
        service.act(session, town_a, cal, matter.id, "dispatch", {"unit_code": "C-ZHZF"})
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.matter_id == matter.id)
            .values(status="delivered", delivered_at=clock.now())
        )
        session.commit()
        return matter.id


def make_due(engine: Engine, matter_id: int, seconds: float = -1.0) -> None:
    """The matter's signing deadline passes `seconds` from now (already, by default)."""
    due = clock.now() + timedelta(seconds=seconds)
    with engine.begin() as conn:
        conn.execute(
            update(Matter).where(Matter.id == matter_id).values(sign_due_at=due, next_sweep_at=due)
        )


def supervision(engine: Engine, matter_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(Matter.supervision).where(Matter.id == matter_id)) or 0)
