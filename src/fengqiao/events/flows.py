"""Work on matters that runs outside requests: the deadline sweep and the delivery of
notifications. In the embedded mode a thread in the server runs both; in production
`fengqiao worker` processes run them as jobs from the queue (core/jobs.py)."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, InvalidStateError
from contextlib import contextmanager, suppress

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from fengqiao.core.config import Settings
from fengqiao.core.jobs import JobQueue
from fengqiao.core.revision import RevisionCache
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.events import intake, service
from fengqiao.notify import service as notify

log = logging.getLogger("fengqiao.flows")


def channels_from(settings: Settings) -> dict[str, notify.Channel]:
    """The configured delivery channel serves every message ("default")."""
    chosen: notify.Channel = notify.LogChannel()
    if settings.notify_channel == "webhook" and settings.webhook_url:
        chosen = notify.WebhookChannel(settings.webhook_url, settings.webhook_secret)
    elif settings.notify_channel == "sms" and settings.sms_url:
        chosen = notify.SmsGatewayChannel(settings.sms_url, settings.sms_token)
    return {"default": chosen, "log": notify.LogChannel()}


def reader_from(settings: Settings, calendar: Callable[[Session], WorkCalendar]) -> intake.Reader:
    """Intake's reader: the installed text model, if any."""
    model = None
    folder = settings.effective_classifier_dir
    if folder is not None:
        from fengqiao.classify.service import load_model  # scikit-learn: only when used

        model = load_model(folder)
        log.info("text model %s loaded from %s", model.version, folder)
    return intake.Reader(model, settings.duplicate_threshold, calendar)


def sweep_all(factory: sessionmaker[Session], calendar: RevisionCache[WorkCalendar]) -> int:
    """Sweep until nothing more is due (each pass moves at most a batch)."""
    total = 0
    while True:
        with factory() as session:
            moved = service.sweep(session, calendar.get(session))
        total += moved
        if moved == 0:
            return total


def deliver_all(factory: sessionmaker[Session], channels: Mapping[str, notify.Channel]) -> int:
    total = 0
    while True:
        delivered, failed = notify.deliver_pending(factory, channels)
        total += delivered
        if delivered + failed == 0 or delivered == 0:
            return total


class InProcessRunner:
    """The embedded mode's background thread: sweep and deliver every `interval` s."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        calendar: RevisionCache[WorkCalendar],
        channels: Mapping[str, notify.Channel],
        interval: float,
    ) -> None:
        self.factory, self.calendar, self.channels = factory, calendar, channels
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fengqiao-background", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def tick(self) -> None:
        try:
            sweep_all(self.factory, self.calendar)
            deliver_all(self.factory, self.channels)
        except Exception:  # keep the thread alive; the next tick tries again
            log.exception("background tick failed")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()


def run_worker(
    factory: sessionmaker[Session],
    calendar: RevisionCache[WorkCalendar],
    channels: Mapping[str, notify.Channel],
    queue: JobQueue,
    interval: float,
    rounds: int | None = None,
) -> int:
    """A worker process: in each interval one worker (whichever takes the tick's lock)
    queues a sweep and a delivery; every worker runs whatever jobs are waiting.
    Returns the jobs this worker finished (`rounds` bounds the loop, for tests)."""
    handlers = {
        "sweep": lambda _: sweep_all(factory, calendar),
        "deliver": lambda _: deliver_all(factory, channels),
    }
    done, n = 0, 0
    while rounds is None or n < rounds:
        n += 1
        slot = int(time.time() // interval)
        if queue.redis.set(f"{queue.stream}:tick:{slot}", "1", nx=True, ex=int(interval * 2) + 1):
            queue.add("sweep", slot=str(slot))
            queue.add("deliver", slot=str(slot))
        done += queue.work(handlers, block_ms=int(min(interval, 5) * 1000))
    return done


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

    def _write(
        self,
        batch: list[tuple[intake.Intake, Future[intake.Written]]],
        own: OwnConnection | None = None,
        again: bool = False,
    ) -> None:
        """Write a batch in one transaction, on the thread's own connection if it has one
        (else on one from the pool). A batch whose connection was lost is written again
        once, on a new one (the idempotency keys hold what may have been committed)."""
        items = [item for item, _ in batch]
        try:
            with own.begin() if own is not None else self.engine.begin() as connection:
                answers = intake.write(connection, items)
        except Exception as exc:
            if isinstance(exc, DBAPIError) and exc.connection_invalidated and not again:
                self._write(batch, own, again=True)
            elif len(batch) > 1:  # one report's fault must not fail the others
                for one in batch:
                    self._write([one], own)
            else:
                with suppress(InvalidStateError):  # its caller is gone
                    batch[0][1].set_exception(exc)
            return
        intake.remember(items, answers)
        for (_, future), answer in zip(batch, answers, strict=True):
            # A caller gone (its request cancelled) is written all the same: its
            # idempotency key holds the matter for the retry.
            with suppress(InvalidStateError):
                future.set_result(answer)
