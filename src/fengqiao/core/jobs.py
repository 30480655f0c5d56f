"""A job queue on Redis Streams for work that leaves the request (deadline sweeps,
notification delivery): a scheduler adds jobs, any number of worker processes take them
through one consumer group, and a job whose worker died is claimed by another. Each kind
of job may have a lane of its own (`lane`), so that one kind never waits behind another.

Redis may go away and come back (emptied, when it keeps nothing on disk): every call may
raise `redis.RedisError`; workers wait (`Backoff`), report it once (`RedisHealth`) and go
on, and a group that vanished is made again."""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

log = logging.getLogger("fengqiao.jobs")

STREAM = "fengqiao:jobs"
GROUP = "fengqiao-workers"
# A blocking read lasts at most BLOCK_MS; an answer that takes longer than SOCKET_TIMEOUT
# means Redis hangs. Connecting gives up after CONNECT_TIMEOUT.
BLOCK_MS = 1000
SOCKET_TIMEOUT = 10.0
CONNECT_TIMEOUT = 3.0


def where(url: str) -> str:
    """Redis's address for a log line, without its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


class JobQueue:
    def __init__(
        self,
        url: str,
        stream: str = STREAM,
        group: str = GROUP,
        consumer: str | None = None,
        *,
        client: Any = None,
    ) -> None:
        self.url = url
        # One quick retry for a blip; an outage is the caller's to wait out.
        self.redis: Any = client or redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.1), 1),
        )
        self.stream, self.group = stream, group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._lanes: dict[str, JobQueue] = {}
        with suppress(redis.ConnectionError, redis.TimeoutError):  # made once Redis answers
            self.ensure_group()

    def lane(self, kind: str) -> JobQueue:
        """The queue of one kind of job: a stream of its own, on the same connection."""
        if kind not in self._lanes:
            self._lanes[kind] = JobQueue(
                self.url, f"{self.stream}:{kind}", self.group, self.consumer, client=self.redis
            )
        return self._lanes[kind]

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:  # the group exists already
            if "BUSYGROUP" not in str(exc):
                raise

    def add(self, kind: str, **fields: str) -> str:
        """Queue a job; the stream is trimmed so it never grows without bound."""
        return str(
            self.redis.xadd(self.stream, {"kind": kind, **fields}, maxlen=10_000, approximate=True)
        )

    def work(
        self,
        handlers: Mapping[str, Callable[[dict[str, str]], object]],
        block_ms: int | None = BLOCK_MS,
        count: int = 10,
        stale_ms: int = 60_000,
    ) -> int:
        """Run the jobs that are waiting (and ones abandoned by dead workers); returns how
        many finished. A job is acknowledged only after its handler returned. `block_ms`:
        how long to wait for a job when none waits (None: not at all)."""
        try:
            return self._work(handlers, block_ms, count, stale_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis was emptied (restarted without its data): the group is made again,
            # and the scheduler's next round queues the jobs again.
            log.info("job group %s of %s made again", self.group, self.stream)
            self.ensure_group()
            return 0

    def _work(
        self,
        handlers: Mapping[str, Callable[[dict[str, str]], object]],
        block_ms: int | None,
        count: int,
        stale_ms: int,
    ) -> int:
        done = 0
        _, claimed, _ = self.redis.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=stale_ms,
            start_id="0-0",
            count=count,
        )
        batches = [(self.stream, claimed)] if claimed else []
        block = None if claimed or block_ms is None else min(block_ms, 2 * BLOCK_MS)
        fresh = self.redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=count, block=block
        )
        batches += fresh or []
        for _, entries in batches:
            for job_id, fields in entries:
                if fields is None:  # trimmed away while it was pending
                    self.redis.xack(self.stream, self.group, job_id)
                    continue
                handler = handlers.get(fields.get("kind", ""))
                if handler is None:
                    log.warning("no handler for job %s %s", job_id, fields)
                    self.redis.xack(self.stream, self.group, job_id)
                    continue
                try:
                    handler(fields)
                except Exception:  # left pending: another worker claims it later
                    log.exception("job %s (%s) failed", job_id, fields.get("kind"))
                    continue
                self.redis.xack(self.stream, self.group, job_id)
                done += 1
        return done

    def pending(self) -> int:
        """Jobs taken and not yet acknowledged, on this stream and its lanes."""
        total = 0
        for queue in (self, *self._lanes.values()):
            try:
                total += int(queue.redis.xpending(queue.stream, queue.group)["pending"])
            except redis.ResponseError as exc:  # no such stream or group: none
                if "NOGROUP" not in str(exc):
                    raise
        return total

    def info(self) -> dict[str, Any]:
        """The stream's length, jobs not yet taken (`waiting`), jobs taken and not done
        (`running`) and the group's consumers."""
        try:
            groups = self.redis.xinfo_groups(self.stream)
        except redis.ResponseError:  # no stream yet
            return {"length": 0, "waiting": 0, "running": 0, "consumers": 0}
        group = next((g for g in groups if g["name"] == self.group), None)
        return {
            "length": int(self.redis.xlen(self.stream)),
            "waiting": int((group or {}).get("lag") or 0),
            "running": int((group or {}).get("pending") or 0),
            "consumers": int((group or {}).get("consumers") or 0),
        }

    def remove_dead_consumers(self, idle_ms: int, alive: set[str]) -> list[str]:
        """Delete the group's consumers that hold no job, were idle for `idle_ms` and are not
        `alive`: dead workers' names (each start takes a new one). One holding jobs stays
        until others claimed them (deleting it would drop them)."""
        removed = []
        for consumer in self.redis.xinfo_consumers(self.stream, self.group):
            name = consumer["name"]
            if consumer["pending"] == 0 and consumer["idle"] >= idle_ms and name not in alive:
                self.redis.xgroup_delconsumer(self.stream, self.group, name)
                removed.append(name)
        return removed

    # ------------------------------------------------------------ what workers report

    def beat(self, **facts: Any) -> None:
        """This worker's heartbeat: when, and what it says of itself."""
        value = json.dumps({"at": time.time(), **facts})
        self.redis.hset(f"{self.stream}:workers", self.consumer, value)

    def heartbeats(self) -> dict[str, dict[str, Any]]:
        raw = self.redis.hgetall(f"{self.stream}:workers")
        return {name: json.loads(value) for name, value in raw.items()}

    def forget_workers(self, older_than_s: float) -> None:
        now = time.time()
        for name, facts in self.heartbeats().items():
            if now - float(facts.get("at", 0)) > older_than_s:
                self.redis.hdel(f"{self.stream}:workers", name)

    def note(self, what: str, facts: Mapping[str, Any], keep: int = 50) -> None:
        """Record a finished run of `what` (a sweep, a delivery): the newest `keep`."""
        key = f"{self.stream}:runs:{what}"
        value = json.dumps({"at": time.time(), "worker": self.consumer, **facts})
        pipe = self.redis.pipeline()
        pipe.lpush(key, value)
        pipe.ltrim(key, 0, keep - 1)
        pipe.execute()

    def runs(self, what: str, n: int = 50) -> list[dict[str, Any]]:
        """The newest recorded runs of `what`, newest first."""
        return [json.loads(v) for v in self.redis.lrange(f"{self.stream}:runs:{what}", 0, n - 1)]


class Backoff:
    """Waits after failures in a row: from `first` seconds, doubling up to `most`, each
    with some jitter so that workers do not retry in step."""

    def __init__(self, first: float = 0.5, most: float = 15.0) -> None:
        self.first, self.most = first, most
        self.failures = 0

    def next(self) -> float:
        self.failures += 1
        wait = min(self.first * 2 ** (self.failures - 1), self.most)
        return float(wait * random.uniform(0.8, 1.0))

    def reset(self) -> None:
        self.failures = 0


class RedisHealth:
    """Says once that Redis cannot be reached (and again every `remind` seconds while it
    lasts), and once that it answers again; shared by a worker's threads."""

    def __init__(self, url: str, remind: float = 300.0) -> None:
        self.where, self.remind = where(url), remind
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self._said_at = 0.0

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            if self.down_since is None:
                self.down_since = self._said_at = now
                log.warning(
                    "Redis at %s cannot be reached (%s: %s); the worker goes on and tries "
                    "again with growing pauses (sweeps wait for it; deliveries go on)",
                    self.where,
                    type(exc).__name__,
                    exc,
                )
            elif now - self._said_at >= self.remind:
                self._said_at = now
                log.warning(
                    "Redis at %s still cannot be reached, for %.0f s now (%s)",
                    self.where,
                    now - self.down_since,
                    type(exc).__name__,
                )

    def ok(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is not None:
                log.info(
                    "Redis at %s answers again, after %.0f s",
                    self.where,
                    time.monotonic() - self.down_since,
                )
                self.down_since = None
