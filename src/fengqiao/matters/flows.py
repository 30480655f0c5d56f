"""Work on matters that runs outside requests: the deadline sweep and the delivery of
notifications. In the embedded mode threads in the server run them; in production
`fengqiao worker` processes run them as jobs from the queue (core/jobs.py). Sweeps and
deliveries run in threads of their own, so that neither waits for the other."""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from contextlib import contextmanager, suppress
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from fengqiao.core.config import Settings, check_settings
from fengqiao.core.database import unavailable
from fengqiao.core.jobs import Backoff, JobQueue, RedisHealth, where
from fengqiao.core.revision import RevisionCache
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.matters import intake
from fengqiao.matters.sweep import sweep
from fengqiao.notify import service as notify
from fengqiao.notify.channels import Channel, LogChannel, SmsGatewayChannel, WebhookChannel

log = logging.getLogger("fengqiao.flows")


def channels_from(settings: Settings) -> dict[str, Channel]:
    """The configured delivery channel serves every message ("default"). Settings it
    cannot deliver with (a webhook without its URL, an unknown channel) raise
    SettingsError: falling back to the log would mark messages delivered while nothing
    is sent."""
    check_settings(settings)
    chosen: Channel = LogChannel()
    timeout, concurrency = settings.notify_timeout, settings.notify_concurrency
    if settings.notify_channel == "webhook":
        chosen = WebhookChannel(settings.webhook_url, settings.webhook_secret, timeout, concurrency)
    elif settings.notify_channel == "sms":
        chosen = SmsGatewayChannel(settings.sms_url, settings.sms_token, timeout, concurrency)
    return {"default": chosen, "log": LogChannel()}


def reader_from(settings: Settings, calendar: Callable[[Session], WorkCalendar]) -> intake.Reader:
    """Intake's reader: the installed text model, if any."""
    model = None
    folder = settings.effective_classifier_dir
    if folder is not None:
        from fengqiao.classify.service import load_model  # scikit-learn: only when used

        model = load_model(folder)
        log.info("text model %s loaded from %s", model.version, folder)
    return intake.Reader(model, settings.duplicate_threshold, calendar)


# A job runs for at most this long before it is acknowledged (what is left is the next
# job's): well under the time after which another worker takes over an unfinished job.
JOB_BUDGET_S = 30.0
# A worker whose heartbeat is older than this is dead: its name leaves the job groups.
DEAD_AFTER_S = 60.0
LANES = ("sweep", "deliver")


# A sweep of one domain's deadlines: moves at most a batch, returns how many it moved.
Sweep = Callable[[Session, WorkCalendar], int]


def sweep_all(
    factory: sessionmaker[Session],
    calendar: RevisionCache[WorkCalendar],
    budget: float | None = None,
    sweeps: Sequence[Sweep] = (sweep,),
) -> int:
    """Sweep until nothing more is due (each pass of each sweep moves at most a batch),
    or until `budget` seconds have passed."""
    total, started = 0, time.monotonic()
    while True:
        moved = 0
        for one in sweeps:
            with factory() as session:
                moved += one(session, calendar.get(session))
        total += moved
        if moved == 0 or (budget is not None and time.monotonic() - started >= budget):
            return total


def deliver_all(
    factory: sessionmaker[Session],
    channels: Mapping[str, Channel],
    budget: float | None = None,
    give_up_after: timedelta = notify.GIVE_UP_AFTER,
) -> tuple[int, int]:
    """Deliver batch after batch while they deliver something, or until `budget` seconds
    have passed; returns (delivered, failed attempts)."""
    delivered = failed = 0
    started = time.monotonic()
    while True:
        sent, lost = notify.deliver_pending(factory, channels, give_up_after=give_up_after)
        delivered, failed = delivered + sent, failed + lost
        if sent == 0 or (budget is not None and time.monotonic() - started >= budget):
            return delivered, failed


def _close(channels: Mapping[str, Channel]) -> None:
    for channel in channels.values():
        close = getattr(channel, "close", None)
        if close is not None:
            close()


class _Quiet:
    """A failure said once a minute at most: a database that is away for an hour is one
    line a minute, not one a second."""

    def __init__(self, every: float = 60.0) -> None:
        self.every, self._said = every, -every

    def warn(self, what: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._said >= self.every:
            self._said = now
            log.warning("%s failed (%s: %s); tried again shortly", what, type(exc).__name__, exc)


class InProcessRunner:
    """The embedded mode's background: one thread sweeps every `interval` s, another
    delivers what is due every `poll` s, so that a slow receiver never holds a sweep."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        calendar: RevisionCache[WorkCalendar],
        channels: Mapping[str, Channel],
        interval: float,
        poll: float = 1.0,
        give_up_after: timedelta = notify.GIVE_UP_AFTER,
        sweeps: Sequence[Sweep] = (sweep,),
    ) -> None:
        self.factory, self.calendar, self.channels = factory, calendar, channels
        self.interval, self.poll, self.give_up_after = interval, poll, give_up_after
        self.sweeps = sweeps
        self._stop = threading.Event()
        self._quiet = {"sweep": _Quiet(), "deliver": _Quiet()}
        self._threads = [
            threading.Thread(
                target=self._every, args=(interval, self.sweep), name="fengqiao-sweep", daemon=True
            ),
            threading.Thread(
                target=self._every, args=(poll, self.deliver), name="fengqiao-deliver", daemon=True
            ),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        _close(self.channels)

    def tick(self) -> None:
        """A sweep, then a delivery, on the caller's thread."""
        self.sweep()
        self.deliver()

    def sweep(self) -> None:
        try:
            sweep_all(self.factory, self.calendar, JOB_BUDGET_S, self.sweeps)
        except Exception as exc:  # keep the thread alive; the next round tries again
            self._quiet["sweep"].warn("the deadline sweep", exc)

    def deliver(self) -> None:
        try:
            deliver_all(self.factory, self.channels, JOB_BUDGET_S, self.give_up_after)
        except Exception as exc:
            self._quiet["deliver"].warn("notification delivery", exc)

    def _every(self, seconds: float, run: Callable[[], None]) -> None:
        while not self._stop.wait(seconds):
            run()


class Worker:
    """What a `fengqiao worker` process does, in three threads:

    - the scheduler (the caller's thread): in each `interval` one worker, whichever takes
      the round's key, queues a sweep and a delivery (unless one still waits); every
      round it writes this worker's heartbeat, and once a minute one worker removes dead
      workers from the job groups;
    - a sweep lane and a delivery lane, each taking only its own kind of job, so that a
      receiver that hangs holds no sweep. Between jobs the delivery lane looks for due
      messages every `poll` s itself (in the database: that goes on while Redis is away).

    A Redis failure is said once (RedisHealth) and waited out with growing pauses, in
    each thread; the worker ends only when `stop` is set (or after `rounds`, for tests),
    once the jobs it took are done."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        calendar: RevisionCache[WorkCalendar],
        channels: Mapping[str, Channel],
        queue: JobQueue,
        interval: float,
        *,
        poll: float = 1.0,
        give_up_after: timedelta = notify.GIVE_UP_AFTER,
        longest_pause: float = 15.0,
        sweeps: Sequence[Sweep] = (sweep,),
    ) -> None:
        self.factory, self.calendar, self.channels = factory, calendar, channels
        self.sweeps = sweeps
        self.queue, self.interval, self.poll = queue, interval, poll
        self.give_up_after, self.longest_pause = give_up_after, longest_pause
        self.lanes = {kind: queue.lane(kind) for kind in LANES}
        self.health = RedisHealth(queue.url)
        self.stopping = threading.Event()
        self.done: Counter[str] = Counter()
        self.started = time.time()
        self._cleaned = time.monotonic()
        self._quiet = _Quiet()

    def run(self, rounds: int | None = None, stop: threading.Event | None = None) -> int:
        """Work until `stop` is set (or `rounds` rounds have passed); returns the jobs this
        worker finished."""
        stop = stop or threading.Event()
        threads = [
            threading.Thread(target=self._lane, args=(kind,), name=f"fengqiao-{kind}", daemon=True)
            for kind in LANES
        ]
        for thread in threads:
            thread.start()
        pauses = Backoff(most=self.longest_pause)
        n = 0
        try:
            while rounds is None or n < rounds:
                n += 1
                # Woken just after each round's start, so that no round is skipped.
                next_round = (time.time() // self.interval + 1) * self.interval
                wait = max(min(self.poll, next_round - time.time() + 0.01), 0.01)
                try:
                    self._schedule()
                except redis.RedisError as exc:
                    self.health.failed(exc)
                    wait = pauses.next()
                else:
                    self.health.ok()
                    pauses.reset()
                if (rounds is None or n < rounds) and stop.wait(wait):
                    break
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join()  # each ends once the jobs it took are done
            _close(self.channels)
        return sum(self.done.values())

    def _schedule(self) -> None:
        queue = self.queue
        slot = int(time.time() // self.interval)
        ttl = int(self.interval * 2) + 1
        if queue.redis.set(f"{queue.stream}:tick:{slot}", queue.consumer, nx=True, ex=ttl):
            for kind, lane in self.lanes.items():
                if lane.info()["waiting"] == 0:  # one still waits: busy workers, no pile-up
                    lane.add(kind, slot=str(slot))
        queue.beat(
            host=socket.gethostname(),
            pid=os.getpid(),
            started=self.started,
            done=dict(self.done),
        )
        if time.monotonic() - self._cleaned >= DEAD_AFTER_S:
            self._cleaned = time.monotonic()
            if queue.redis.set(f"{queue.stream}:cleaning", queue.consumer, nx=True, ex=55):
                self.remove_dead_workers()

    def remove_dead_workers(self, dead_after: float = DEAD_AFTER_S) -> list[str]:
        """Remove from every job group the consumers of workers whose heartbeat stopped
        `dead_after` s ago (their unfinished jobs were taken over first); forget
        heartbeats a day old."""
        now = time.time()
        alive = {
            name
            for name, facts in self.queue.heartbeats().items()
            if now - float(facts.get("at", 0)) < dead_after
        }
        removed = []
        for lane in (self.queue, *self.lanes.values()):
            gone = lane.remove_dead_consumers(int(dead_after * 1000), alive)
            if gone:
                log.info("dead workers left the group of %s: %s", lane.stream, ", ".join(gone))
            removed += gone
        self.queue.forget_workers(older_than_s=86_400)
        return removed

    def _lane(self, kind: str) -> None:
        lane = self.lanes[kind]
        handlers = {"sweep": self._sweep_job, "deliver": self._deliver_job}
        pauses = Backoff(most=self.longest_pause)
        retry_at = 0.0
        while True:
            stopping = self.stopping.is_set()
            if not stopping and time.monotonic() < retry_at:  # Redis away: wait it out
                if kind == "deliver":
                    self._poll()
                self.stopping.wait(max(min(self.poll, retry_at - time.monotonic()), 0.01))
                continue
            try:
                ran = lane.work(
                    {kind: handlers[kind]}, block_ms=None if stopping else int(self.poll * 1000)
                )
            except redis.RedisError as exc:
                if stopping:
                    return
                self.health.failed(exc)
                retry_at = time.monotonic() + pauses.next()
                continue
            self.health.ok()
            pauses.reset()
            self.done[kind] += ran
            if stopping:
                if ran == 0:
                    return
            elif kind == "deliver" and ran == 0:
                self._poll()

    def _sweep_job(self, fields: dict[str, str]) -> None:
        started = time.time()
        moved = sweep_all(self.factory, self.calendar, JOB_BUDGET_S, self.sweeps)
        self._note("sweep", started=started, moved=moved, slot=fields.get("slot"))

    def _deliver_job(self, fields: dict[str, str]) -> None:
        started = time.time()
        delivered, failed = deliver_all(
            self.factory, self.channels, JOB_BUDGET_S, self.give_up_after
        )
        self._note("deliver", started=started, delivered=delivered, failed=failed)

    def _poll(self) -> None:
        started = time.time()
        try:
            delivered, failed = deliver_all(
                self.factory, self.channels, JOB_BUDGET_S, self.give_up_after
            )
        except Exception as exc:  # the database away: the next look tries again
            self._quiet.warn("notification delivery", exc)
            return
        if delivered or failed:
            self._note("deliver", started=started, delivered=delivered, failed=failed)

    def _note(self, what: str, **facts: object) -> None:
        with suppress(redis.RedisError):  # only a record for operators; the work is done
            self.queue.note(what, facts)


def run_worker(
    factory: sessionmaker[Session],
    calendar: RevisionCache[WorkCalendar],
    channels: Mapping[str, Channel],
    queue: JobQueue,
    interval: float,
    rounds: int | None = None,
    *,
    stop: threading.Event | None = None,
    poll: float = 1.0,
    give_up_after: timedelta = notify.GIVE_UP_AFTER,
    sweeps: Sequence[Sweep] = (sweep,),
) -> int:
    """A worker process (see `Worker`). Returns the jobs this worker finished (`rounds`
    bounds the loop, for tests)."""
    worker = Worker(
        factory,
        calendar,
        channels,
        queue,
        interval,
        poll=poll,
        give_up_after=give_up_after,
        sweeps=sweeps,
    )
    return worker.run(rounds, stop)


def worker_status(factory: sessionmaker[Session], queue: JobQueue) -> dict[str, Any]:
    """For operators (`fengqiao worker --status`): the messages waiting and failed, the
    job lanes' lengths, the last sweep and delivery, and each worker's last heartbeat."""
    with factory() as session:
        status: dict[str, Any] = {"outbox": notify.outbox_status(session)}
    status["redis"] = {"at": where(queue.url), "reachable": True}
    try:
        now = time.time()
        status["queues"] = {kind: queue.lane(kind).info() for kind in LANES}
        status["last"] = {what: next(iter(queue.runs(what, 1)), None) for what in LANES}
        status["workers"] = {
            name: {
                **facts,
                "age_s": round(now - float(facts.get("at", 0)), 1),
                "alive": now - float(facts.get("at", 0)) < DEAD_AFTER_S,
            }
            for name, facts in sorted(queue.heartbeats().items())
        }
    except redis.RedisError as exc:
        status["redis"] |= {"reachable": False, "error": f"{type(exc).__name__}: {exc}"}
    return status


class OwnConnection:
    """A connection a thread keeps, opened again after it was lost: each transaction on it
    takes no connection from the pool, nor the pool's check that the connection lives."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        if self.connection is None or self.connection.closed or self.connection.invalidated:
            self.close()
            self.connection = self.engine.connect()
        with self.connection.begin():
            yield self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class IntakeWriter:
    """Group commit for intake: one thread per process writes every report waiting at that
    moment in one transaction, so one commit (one flush of the write-ahead log)
    acknowledges them all. Under light load a batch is one report; under heavy load
    batches grow, and the commits per second stay within what the disk does. Each caller
    gets its answer only after the commit. (A second thread was tried: its batches were
    smaller and the two spent their time waiting for each other's turn at the
    interpreter.)"""

    def __init__(self, engine: Engine, max_batch: int = 256) -> None:
        self.engine, self.max_batch = engine, max_batch
        self._queue: queue.SimpleQueue[tuple[intake.Intake, Future[intake.Written]] | None]
        self._queue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __call__(self, item: intake.Intake) -> intake.Written:
        """Write on the caller's thread, waiting there."""
        return self._put(item).result()

    async def submit(self, item: intake.Intake) -> intake.Written:
        """Write while the event loop serves other requests."""
        return await asyncio.wrap_future(self._put(item))

    def _put(self, item: intake.Intake) -> Future[intake.Written]:
        answer: Future[intake.Written] = Future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fengqiao-intake", daemon=True
                )
                self._thread.start()
            self._queue.put((item, answer))
        return answer

    def stop(self) -> None:
        """Write what is waiting, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        own = OwnConnection(self.engine)
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < self.max_batch:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)  # the thread stops once this batch is written
                        break
                    batch.append(more)
                self._write(batch, own)
        finally:
            own.close()

    def write(
        self,
        batch: list[tuple[intake.Intake, Future[intake.Written]]],
        own: OwnConnection | None = None,
    ) -> None:
        """Write one batch now, on the caller's thread, as the writer's thread writes what
        it takes from the queue; each future gets its answer or its error."""
        self._write(batch, own)

    def _write(
        self,
        batch: list[tuple[intake.Intake, Future[intake.Written]]],
        own: OwnConnection | None = None,
        again: bool = False,
    ) -> None:
        """Write a batch in one transaction, on the thread's own connection if it has one
        (else on one from the pool). A batch whose connection was lost is written again
        once, on a new one (the idempotency keys hold what may have been committed). A
        batch the database cannot take now (down, restarting) fails all its callers at
        once, each answered 503 to try again; else one report's fault fails only that one."""
        items = [item for item, _ in batch]
        try:
            with own.begin() if own is not None else self.engine.begin() as connection:
                answers = intake.write(connection, items)
        except Exception as exc:
            # Matter ids taken in a transaction that did not commit may come again from a
            # sequence recovered after a crash (its advance is flushed with a commit).
            intake.MATTER_IDS.clear()
            if isinstance(exc, DBAPIError) and exc.connection_invalidated and not again:
                self._write(batch, own, again=True)
            elif len(batch) > 1 and not unavailable(exc):
                for one in batch:
                    self._write([one], own)
            else:
                for _, future in batch:
                    with suppress(InvalidStateError):  # its caller is gone
                        future.set_exception(exc)
            return
        intake.remember(items, answers)
        for (_, future), answer in zip(batch, answers, strict=True):
            # A caller gone (its request cancelled) is written all the same: its
            # idempotency key holds the matter for the retry.
            with suppress(InvalidStateError):
                future.set_result(answer)
