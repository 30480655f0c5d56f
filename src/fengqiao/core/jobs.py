"""A job queue on Redis Streams for work that leaves the request (deadline sweeps,
notification delivery): a scheduler adds jobs, any number of worker processes take them
through one consumer group, and a job whose worker died is claimed by another."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any

import redis

log = logging.getLogger("fengqiao.jobs")

STREAM = "fengqiao:jobs"
GROUP = "fengqiao-workers"


class JobQueue:
    def __init__(
        self, url: str, stream: str = STREAM, group: str = GROUP, consumer: str | None = None
    ) -> None:
        # Reads must outlive the longest blocking XREADGROUP (capped in `work`).
        self.redis: Any = redis.Redis.from_url(url, decode_responses=True, socket_timeout=30)
        self.stream, self.group = stream, group
        self.consumer = consumer or f"{socket.gethostname()}-{id(self)}"
        try:
            self.redis.xgroup_create(stream, group, id="0", mkstream=True)
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
        block_ms: int = 1000,
        count: int = 10,
        stale_ms: int = 60_000,
    ) -> int:
        """Run the jobs that are waiting (and ones abandoned by dead workers); returns how
        many finished. A job is acknowledged only after its handler returned."""
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
        fresh = self.redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=count, block=min(block_ms, 10_000)
        )
        batches += fresh or []
        for _, entries in batches:
            for job_id, fields in entries:
                handler = handlers.get(fields.get("kind", ""))
                if handler is None:
                    log.warning("no handler for job %s %s", job_id, fields)
                    self.redis.xack(self.stream, self.group, job_id)
                    continue
                try:
                    handler(fields)
                except Exception:  # left pending: another worker claims it later
                    log.exception("job %s failed", job_id)
                    continue
                self.redis.xack(self.stream, self.group, job_id)
                done += 1
        return done

    def pending(self) -> int:
        info = self.redis.xpending(self.stream, self.group)
        return int(info["pending"])
