"""Notification delivery on PostgreSQL and Redis: `fengqiao worker` processes sending
webhooks to a receiver on loopback, beside a bare loop of the same HTTP client posting
the same bodies to the same receiver, in the same run.

1. Builds the demo county's map and people (no history) in a new PostgreSQL database and
   starts a receiver in a process of its own (uvicorn, a bare ASGI app answering 200 at
   once and noting when each message arrived).
2. Reference: the bare loop, one kept httpx.Client (what the webhook channel holds)
   posting signed bodies one after another: messages/s.
3. A burst: N messages written to the outbox in one transaction while W workers wait;
   messages/s from the first arrival to the last, and how many arrived twice.
4. Reports at 100/s through `fengqiao serve` (background off) for S seconds, each writing
   a notification for its dispatchers in the report's transaction: the time from that
   commit (the row's created_at) to the message's arrival, p50/p99.

    uv run python bench/notify.py [--messages 6000] [--workers 2] [--seconds 20]

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (database 14, a stream
of the run's own). Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
import redis
from sqlalchemy import Table, create_engine, insert, select

from fengqiao.geo.models import Grid
from fengqiao.notify.models import OutboxMessage
from fengqiao.notify.service import outbox_rows

PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/14"
SECRET = "bench-secret"
USER, PASSWORD = "dispatcher", "Fengqiao@2026"  # the county's hotline desk
TARGET_SHARE_OF_BARE = 0.5
TARGET_P99_S = 5.0
REPORT_RATE = 100.0  # reports per second


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- the receiver


def serve_receiver(port: int) -> None:
    """The receiver's process: POST anything → 200 at once, noting (key, arrival time);
    GET /count → how many arrived; GET /arrivals → every [key, time]."""
    import uvicorn

    arrivals: list[tuple[str, float]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:  # the body, read whole
            message = await receive()
            more = message.get("more_body", False)
        if scope["method"] == "POST":
            key = dict(scope["headers"]).get(b"idempotency-key", b"").decode()
            arrivals.append((key, time.time()))
            body = b""
        elif scope["path"] == "/count":
            body = str(len(arrivals)).encode()
        else:
            body = json.dumps(arrivals).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--receiver", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                httpx.get(f"{self.url}/count", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        sys.exit("the receiver did not start")

    def count(self) -> int:
        return int(httpx.get(f"{self.url}/count", timeout=10).text)

    def arrivals(self) -> list[tuple[str, float]]:
        return [(k, t) for k, t in httpx.get(f"{self.url}/arrivals", timeout=60).json()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def signed(key: str, i: int) -> tuple[bytes, dict[str, str]]:
    """A body and headers as the webhook channel sends them."""
    body = json.dumps(
        {
            "id": key,
            "topic": "bench.bare",
            "recipient": f"unit:{i}",
            "payload": {"text": f"【枫桥】测试 {i}"},
        },
        ensure_ascii=False,
    ).encode()
    return body, {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "X-Fengqiao-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }


def bare_loop(url: str, n: int) -> float:
    """messages/s of one kept client posting one message after another."""
    bodies = [signed(f"bare-{uuid.uuid4().hex[:8]}-{i}", i) for i in range(n)]
    with httpx.Client(timeout=5) as client:
        for body, headers in bodies[:200]:  # warm up
            client.post(f"{url}/hook", content=body, headers=headers).raise_for_status()
        t0 = time.perf_counter()
        for body, headers in bodies[200:]:
            client.post(f"{url}/hook", content=body, headers=headers).raise_for_status()
        return (n - 200) / (time.perf_counter() - t0)


# ---------------------------------------------------------------- the run


def wait_for(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.1)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def report_at_rate(
    base: str, token: str, points: list[tuple[float, float]], rate: float, seconds: float
) -> tuple[int, int]:
    """Reports at `rate`/s for `seconds` from 4 threads, each on its own schedule;
    returns (accepted, refused)."""
    threads, per_thread = 4, rate / 4
    counts = [[0, 0] for _ in range(threads)]
    run = uuid.uuid4().hex[:6]

    def caller(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as c:
            start = time.perf_counter() + n / rate  # the threads interleave
            for i in range(int(per_thread * seconds)):
                pause = start + i / per_thread - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                lon, lat = rng.choice(points)
                resp = c.post(
                    "/api/matters",
                    json={
                        "title": "路灯不亮",
                        "description": "市民来电反映路灯不亮，夜间通行不便。",
                        "category_code": "urban_management",
                        "channel": "hotline",
                        "lon": lon,
                        "lat": lat,
                        "idempotency_key": f"{run}-{n}-{i}",
                    },
                )
                counts[n][0 if resp.status_code == 201 else 1] += 1

    pool = [threading.Thread(target=caller, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=6000, help="the burst")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--seconds", type=float, default=20, help="of reports at 100/s")
    parser.add_argument("--bare", type=int, default=5000, help="posts of the bare loop")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        serve_receiver(args.receiver)
        return

    db = f"fengqiao_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {db}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
    stream = f"fengqiao:bench:{uuid.uuid4().hex[:8]}"
    receiver = Receiver()
    env = {
        **os.environ,
        "FENGQIAO_DATABASE_URL": url,
        "FENGQIAO_DATA_DIR": tempfile.mkdtemp(prefix="fengqiao-bench-"),
        "FENGQIAO_BACKGROUND": "off",
        "FENGQIAO_ACCESS_LOG": "false",
        "FENGQIAO_SECRET_KEY": "bench",
        "FENGQIAO_REDIS_URL": REDIS,
        "FENGQIAO_JOBS_STREAM": stream,
        "FENGQIAO_NOTIFY_CHANNEL": "webhook",
        "FENGQIAO_WEBHOOK_URL": f"{receiver.url}/hook",
        "FENGQIAO_WEBHOOK_SECRET": SECRET,
    }
    processes: list[subprocess.Popen[bytes]] = []
    engine = create_engine(url)
    try:
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fengqiao.cli", "demo", "--no-serve", "--matters", "0"],
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"demo county (no history) built in {time.perf_counter() - t0:.1f} s")

        bare = bare_loop(receiver.url, args.bare)
        print(f"reference, bare loop of one kept httpx client: {bare:.0f} messages/s")
        seen = receiver.count()

        logs = Path(env["FENGQIAO_DATA_DIR"])
        for n in range(args.workers):
            out = (logs / f"worker-{n}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "fengqiao.cli", "worker"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        wait_for(
            lambda: all(
                "jobs on Redis" in (logs / f"worker-{n}.log").read_text(errors="replace")
                for n in range(args.workers)
            ),
            60,
            "the workers",
        )

        # The burst.
        prefix = f"burst-{uuid.uuid4().hex[:6]}"
        rows = []
        for i in range(args.messages):
            rows += outbox_rows(
                topic="bench.burst",
                key=f"{prefix}-{i}",
                recipients=[f"unit:{i}"],
                payload={"text": f"【枫桥】测试 {i}"},
            )
        with engine.begin() as conn:
            conn.execute(insert(cast(Table, OutboxMessage.__table__)), rows)
        wait_for(lambda: receiver.count() >= seen + args.messages, 600, "the burst")
        burst = [t for k, t in receiver.arrivals() if k.startswith(prefix)]
        keys = [k for k, _ in receiver.arrivals() if k.startswith(prefix)]
        rate = (len(burst) - 1) / (max(burst) - min(burst))
        duplicates = len(keys) - len(set(keys))
        print(
            f"burst of {args.messages} messages, {args.workers} workers: {rate:.0f} messages/s "
            f"({rate / bare:.0%} of the bare loop), {duplicates} sent twice"
        )

        # Reports at 100/s through the server.
        port = free_port()
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "fengqiao.cli", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/api/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 60, "the server")
        token = httpx.post(
            f"{base}/api/auth/login", json={"username": USER, "password": PASSWORD}
        ).json()["access_token"]
        with engine.connect() as c:
            points = [
                (lon, lat)
                for lon, lat in c.execute(
                    select(Grid.centroid_lon, Grid.centroid_lat).where(Grid.kind == "base")
                )
            ]
        started = datetime.now(UTC)
        before = receiver.count()
        accepted, refused = report_at_rate(base, token, points, REPORT_RATE, args.seconds)
        with engine.connect() as c:
            written = {
                key: created.timestamp()
                for key, created in c.execute(
                    select(OutboxMessage.dedupe_key, OutboxMessage.created_at).where(
                        OutboxMessage.topic == "matter.reported",
                        OutboxMessage.created_at >= started,
                    )
                )
            }
        wait_for(lambda: receiver.count() >= before + len(written), 120, "the notifications")
        first_arrival: dict[str, float] = {}
        for key, at in receiver.arrivals():
            if key in written:
                first_arrival.setdefault(key, at)
        latency = [first_arrival[k] - written[k] for k in written]
        p50, p99 = statistics.median(latency), percentile(latency, 0.99)
        print(
            f"{accepted} reports at {REPORT_RATE:.0f}/s ({refused} refused): change to delivery "
            f"p50 {p50:.3f} s, p99 {p99:.3f} s, max {max(latency):.3f} s"
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        receiver.stop()
        engine.dispose()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{stream}*"):
            client.delete(key)
        client.close()

    result = {
        "bench": "notify",
        "workers": args.workers,
        "burst_messages": args.messages,
        "messages_per_s": round(rate, 1),
        "bare_messages_per_s": round(bare, 1),
        "ratio_to_bare": round(rate / bare, 3),
        "duplicates": duplicates,
        "reports": accepted,
        "report_rate": REPORT_RATE,
        "p50_s": round(p50, 3),
        "p99_s": round(p99, 3),
        "max_s": round(max(latency), 3),
        "targets": {"share_of_bare": TARGET_SHARE_OF_BARE, "p99_s": TARGET_P99_S},
        "met": {
            "rate": rate >= TARGET_SHARE_OF_BARE * bare,
            "p99": p99 < TARGET_P99_S,
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
