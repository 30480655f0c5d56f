"""The outbox: notifications are written in the same transaction as the change they
announce, then delivered at least once by `deliver_pending`; each message carries a
de-duplication key so receivers can drop repeats. A message that keeps failing is tried
again with growing pauses until it has failed for a time span (24 hours by default), then
marked failed and shown to administrators, who may send it again."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from queue import Empty, SimpleQueue
from typing import Any, cast

import httpx
from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from fengqiao.core import audit, clock
from fengqiao.core.errors import Conflict, NotFound
from fengqiao.core.permissions import Action, Principal, within
from fengqiao.geo.service import root_paths
from fengqiao.notify.channels import Channel
from fengqiao.notify.models import OutboxMessage
from fengqiao.notify.schemas import NotificationOut, NotificationPage

log = logging.getLogger("fengqiao.notify")

GIVE_UP_AFTER = timedelta(hours=24)
MAX_PAUSE_S = 600  # the longest pause between two attempts: a receiver back is used soon
STATUSES = ("pending", "delivered", "failed")
OUTBOX = cast(Table, OutboxMessage.__table__)


def enqueue(
    session: Session,
    *,
    topic: str,
    key: str,
    recipients: Iterable[str],
    payload: dict[str, Any],
    matter_id: int | None = None,
    region_path: str | None = None,
    channel: str = "default",
) -> None:
    """Queue one message per recipient. `key` names the change (e.g. a timeline entry);
    the same key and recipient are never queued twice. `region_path`: the place of the
    matter it is about (None: the whole installation's), which decides who sees it."""
    for row in outbox_rows(
        topic=topic,
        key=key,
        recipients=recipients,
        payload=payload,
        matter_id=matter_id,
        region_path=region_path,
        channel=channel,
    ):
        session.add(OutboxMessage(**row))


def outbox_rows(
    *,
    topic: str,
    key: str,
    recipients: Iterable[str],
    payload: dict[str, Any],
    matter_id: int | None = None,
    region_path: str | None = None,
    channel: str = "default",
) -> list[dict[str, Any]]:
    """The outbox rows `enqueue` adds, for writers that insert many in one statement."""
    now = clock.now()
    return [
        {
            "dedupe_key": f"{key}:{recipient}:{channel}"[:128],
            "created_at": now,
            "topic": topic,
            "matter_id": matter_id,
            "region_path": region_path,
            "recipient": recipient,
            "channel": channel,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for recipient in sorted(set(recipients))
    ]


def describe(exc: BaseException) -> str:
    """A failure in a few words, for the log and the message's `last_error`."""
    if isinstance(exc, httpx.HTTPStatusError):
        answer = exc.response
        return f"HTTP {answer.status_code} {answer.reason_phrase}".strip()
    return f"{type(exc).__name__}: {exc}"[:500]


def pause_after(attempts: int) -> float:
    """Seconds before the next attempt of a message that failed `attempts` times."""
    return float(min(2**attempts, MAX_PAUSE_S))


# ---------------------------------------------------------------- delivery


@dataclass(frozen=True)
class Claimed:
    """A message a worker holds under its lease. `lease` is the next_attempt_at its claim
    wrote: only that claim's marks match it, so a worker whose lease ran out (and whose
    message another worker took) changes nothing."""

    id: int
    dedupe_key: str
    topic: str
    recipient: str
    channel: str
    payload: dict[str, Any]
    attempts: int
    failing_since: datetime | None
    lease: datetime


def deliver_pending(
    factory: sessionmaker[Session],
    channels: Mapping[str, Channel],
    limit: int = 200,
    *,
    budget: float | None = None,
    give_up_after: timedelta = GIVE_UP_AFTER,
) -> tuple[int, int]:
    """Send what is due; returns (delivered, failed attempts). Several workers may run
    it at once, on either engine.

    The due messages are claimed with a lease (their next_attempt_at moved past the
    batch's end) in a transaction committed before anything is sent: no row stays locked
    while a receiver takes its time, and other workers pass them by. They are then sent,
    each channel's on its one client, at most its `concurrency` at a time, until the
    batch's time budget (`budget` seconds; twice the slowest channel's timeout by default)
    is spent; what was not begun by then is handed back at once. What finished is marked
    as soon as the previous mark committed, so a worker killed mid-batch sends again only
    the few messages in flight or not yet marked."""
    slowest = max((c.timeout for c in channels.values()), default=5.0)
    budget = max(2 * slowest, 1.0) if budget is None else budget
    claimed = claim(factory, limit, timedelta(seconds=budget + slowest + 2))
    if not claimed:
        return 0, 0
    batch = _Batch(factory, channels, give_up_after)
    started = time.monotonic()
    batch.run(claimed, started + budget, started + budget + slowest + 1)
    return batch.delivered, batch.failed


def claim(factory: sessionmaker[Session], limit: int, lease: timedelta) -> list[Claimed]:
    """Take up to `limit` due messages for `lease`, committed. One statement, so that on
    SQLite it takes the write lock at once; on PostgreSQL rows another claim holds are
    skipped."""
    t = OUTBOX
    with factory() as session:
        now = clock.now()
        until = now + lease
        due = (
            select(t.c.id)
            .where(t.c.status == "pending", t.c.next_attempt_at <= now)
            .order_by(t.c.next_attempt_at, t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = session.execute(
            update(t)
            .where(t.c.id.in_(due))
            .values(next_attempt_at=until)
            .returning(
                t.c.id,
                t.c.dedupe_key,
                t.c.topic,
                t.c.recipient,
                t.c.channel,
                t.c.payload,
                t.c.attempts,
                t.c.failing_since,
            )
        ).all()
        session.commit()
    claimed = [
        Claimed(
            r.id,
            r.dedupe_key,
            r.topic,
            r.recipient,
            r.channel,
            r.payload,
            r.attempts,
            r.failing_since,
            until,
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda m: m.id)


def _drain(
    finished: SimpleQueue[tuple[Claimed, str | None]], wait_s: float
) -> list[tuple[Claimed, str | None]]:
    """What finished: waiting up to `wait_s` for the first, then all that are there."""
    done = []
    try:
        done.append(finished.get(timeout=wait_s) if wait_s else finished.get_nowait())
        while True:
            done.append(finished.get_nowait())
    except Empty:
        return done


def _send(channel: Channel, message: Claimed) -> str | None:
    """None once delivered, else what went wrong."""
    try:
        channel.send(message)
    except Exception as exc:  # any failure: tried again after a pause
        return describe(exc)
    return None


class _Batch:
    """One claimed batch: each channel's messages taken by `concurrency` sender threads,
    each sending one after another; meanwhile this thread marks what they finished, all
    that finished since the last mark in one transaction on a connection kept for the
    batch (group commit), so that no sender waits for the database."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        channels: Mapping[str, Channel],
        give_up_after: timedelta,
    ) -> None:
        self.factory, self.channels, self.give_up_after = factory, channels, give_up_after
        self.delivered = self.failed = 0
        self.failures: Counter[str] = Counter()  # per channel, for the batch's warning
        self.errors: dict[str, list[str]] = {}
        self.connection: Connection | None = None

    def run(self, claimed: list[Claimed], deadline: float, ends_by: float) -> None:
        """Send until `deadline` (monotonic), and mark; every send begun by then ends by
        `ends_by`, within the lease (else it is left to the lease's end)."""
        queues: dict[str, deque[Claimed]] = {}
        for message in claimed:
            queues.setdefault(message.channel, deque()).append(message)
        finished: SimpleQueue[tuple[Claimed, str | None]] = SimpleQueue()
        for name in [n for n in queues if n not in self.channels]:
            for message in queues.pop(name):
                finished.put((message, f"no channel {name!r} is configured"))
        lock = threading.Lock()
        in_a_row: Counter[str] = Counter()  # failures in a row, per channel
        stopped: set[str] = set()  # channels that failed every send of late
        abort = threading.Event()  # the marks failed: what is left waits for the lease

        def sender(name: str) -> None:
            channel, waiting = self.channels[name], queues[name]
            while time.monotonic() < deadline and name not in stopped and not abort.is_set():
                try:
                    message = waiting.popleft()
                except IndexError:
                    return
                error = _send(channel, message)
                with lock:
                    in_a_row[name] = 0 if error is None else in_a_row[name] + 1
                    if in_a_row[name] >= max(5, channel.concurrency):
                        stopped.add(name)
                finished.put((message, error))

        senders = [
            threading.Thread(target=sender, args=(name,), name="fengqiao-send", daemon=True)
            for name, waiting in queues.items()
            for _ in range(min(self.channels[name].concurrency, len(waiting)))
        ]
        for thread in senders:
            thread.start()
        try:
            while True:
                running = any(thread.is_alive() for thread in senders)
                done = _drain(finished, 0.05 if running else 0)
                if done:
                    self._mark(done)
                elif not running:
                    break
                if running and time.monotonic() > ends_by:  # their lease ends
                    log.error("notify: sends did not end within their timeout")
                    break
        finally:
            abort.set()
            if self.connection is not None:
                self.connection.close()
            self._warn()
        # Not begun: due again at once; behind a channel that failed every send of late,
        # after a short pause, so that a receiver that is down is not hammered.
        self._release([m for name, q in queues.items() if name not in stopped for m in q], 0)
        self._release([m for name, q in queues.items() if name in stopped for m in q], 5)

    def _mark(self, finished: list[tuple[Claimed, str | None]]) -> None:
        t = OUTBOX
        now = clock.now()
        sent = [m.id for m, error in finished if error is None]
        failures: list[dict[str, Any]] = []
        given_up: list[tuple[Claimed, str, datetime]] = []
        for m, error in finished:
            if error is None:
                continue
            since = m.failing_since or now
            give_up = now - since >= self.give_up_after
            failures.append(
                {
                    "b_id": m.id,
                    "b_lease": m.lease,
                    "attempts": m.attempts + 1,
                    "last_error": error[:500],
                    "failing_since": since,
                    "status": "failed" if give_up else "pending",
                    "failed_at": now if give_up else None,
                    "next_attempt_at": now + timedelta(seconds=pause_after(m.attempts + 1)),
                }
            )
            self.failures[m.channel] += 1
            seen = self.errors.setdefault(m.channel, [])
            if error not in seen and len(seen) < 3:
                seen.append(error)
            if give_up:
                given_up.append((m, error, since))
        if self.connection is None:
            with self.factory() as session:
                self.connection = session.get_bind().engine.connect()
        with self.connection.begin():
            if sent:
                self.connection.execute(
                    update(t)
                    .where(t.c.id.in_(sent), t.c.status == "pending")
                    .values(
                        status="delivered",
                        delivered_at=now,
                        attempts=t.c.attempts + 1,
                        failing_since=None,
                    )
                )
            if failures:
                self.connection.execute(
                    update(t).where(
                        t.c.id == bindparam("b_id"),
                        t.c.next_attempt_at == bindparam("b_lease"),
                        t.c.status == "pending",
                    ),
                    failures,
                )
        self.delivered += len(sent)
        self.failed += len(failures)
        for m, error, since in given_up:
            log.error(
                "notify: gave up message %d (%s → %s, key %s) after failing for %.1f h and "
                "%d attempts, last: %s. Administrators see it among the failed notifications "
                "and may send it again (console, or `fengqiao notify resend %d`)",
                m.id,
                m.topic,
                m.recipient,
                m.dedupe_key,
                (now - since).total_seconds() / 3600,
                m.attempts + 1,
                error,
                m.id,
            )

    def _warn(self) -> None:
        for name, count in self.failures.items():
            log.warning(
                "notify: %d messages on channel %r failed (%s); each is tried again after a "
                "pause, and given up after failing for %.1f h",
                count,
                name,
                "; ".join(self.errors.get(name, [])),
                self.give_up_after.total_seconds() / 3600,
            )

    def _release(self, messages: Sequence[Claimed], pause: float) -> None:
        if not messages:
            return
        t = OUTBOX
        due = clock.now() + timedelta(seconds=pause)
        with self.factory() as session:
            session.execute(
                update(t)
                .where(
                    t.c.id == bindparam("b_id"),
                    t.c.next_attempt_at == bindparam("b_lease"),
                    t.c.status == "pending",
                )
                .values(next_attempt_at=bindparam("due")),
                [{"b_id": m.id, "b_lease": m.lease, "due": due} for m in messages],
            )
            session.commit()


# ---------------------------------------------------------------- administration


def _visible(principal: Principal | None, roots: Sequence[str]) -> ColumnElement[bool]:
    """The messages a caller may see: those placed in their jurisdiction, and those of
    no place (the whole installation's) only with a jurisdiction over all of it. None:
    the operator at the command line, who sees everything."""
    if principal is None:
        return true()
    path = OutboxMessage.region_path
    placed = and_(path.is_not(None), principal.scope(path))
    if principal.covers_installation(roots):
        return or_(placed, path.is_(None))
    return placed


def _out(message: OutboxMessage) -> NotificationOut:
    return NotificationOut(
        id=message.id,
        topic=message.topic,
        recipient=message.recipient,
        channel=message.channel,
        status=message.status,
        attempts=message.attempts,
        created_at=message.created_at,
        next_attempt_at=message.next_attempt_at,
        delivered_at=message.delivered_at,
        failing_since=message.failing_since,
        failed_at=message.failed_at,
        last_error=message.last_error,
        dedupe_key=message.dedupe_key,
        matter_id=message.matter_id,
        matter_number=message.payload.get("number"),
        matter_title=message.payload.get("title"),
        region_path=message.region_path,
    )


def read_messages(
    session: Session,
    principal: Principal | None,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> NotificationPage:
    """The notifications a caller may see, newest first, with how many wait and have
    failed (under the same jurisdiction) and since when the oldest has waited."""
    if principal is not None:
        principal.require(Action.notify_manage)
    visible = _visible(principal, root_paths(session))
    joined = select(OutboxMessage)
    query = joined.where(visible)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    total = session.scalar(query.with_only_columns(func.count()).order_by(None)) or 0
    rows = session.scalars(
        query.order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)
    ).all()
    counts = dict.fromkeys(STATUSES, 0)
    waiting = joined.where(visible, OutboxMessage.status.in_(("pending", "failed")))
    for name, count in session.execute(
        waiting.with_only_columns(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all():
        counts[name] = count
    del counts["delivered"]  # a year of them: not counted on every look
    oldest = session.scalar(
        joined.where(visible, OutboxMessage.status == "pending").with_only_columns(
            func.min(OutboxMessage.created_at)
        )
    )
    return NotificationPage(
        total=total,
        items=[_out(m) for m in rows],
        counts=counts,
        oldest_pending_at=oldest,
    )


def resend(
    session: Session,
    principal: Principal | None,
    ids: Sequence[int] | None = None,
    *,
    region_path: str | None = None,
) -> list[int]:
    """Send failed messages again, each due at once with a new time limit: those of `ids`
    (one the caller cannot see is 404, one that has not failed 409, and then nothing
    changes), else every failed one the caller sees (of the matters under
    `region_path`, when given). Each is audited."""
    if principal is not None:
        principal.require(Action.notify_manage)
    visible = _visible(principal, root_paths(session))
    query = select(OutboxMessage).where(visible).order_by(OutboxMessage.id).with_for_update()
    if ids is None:
        query = query.where(OutboxMessage.status == "failed")
        if region_path is not None:
            query = query.where(within(OutboxMessage.region_path, region_path))
        rows = list(session.scalars(query))
    else:
        wanted = sorted(set(ids))
        rows = list(session.scalars(query.where(OutboxMessage.id.in_(wanted))))
        if len(rows) != len(wanted):
            raise NotFound("通知", "Notification")
        not_failed = [str(m.id) for m in rows if m.status != "failed"]
        if not_failed:
            raise Conflict(
                "通知 {ids} 并非投递失败，无需重发",
                "Notifications {ids} have not failed: there is nothing to send again",
                ids=", ".join(not_failed),
            )
    now = clock.now()
    for message in rows:
        audit.record(
            session,
            "resend",
            "outbox",
            message.id,
            region_path=message.region_path,
            detail={
                "topic": message.topic,
                "recipient": message.recipient,
                "attempts": message.attempts,
                "last_error": message.last_error,
                "failing_since": message.failing_since.isoformat()
                if message.failing_since
                else None,
            },
        )
        message.status, message.attempts, message.next_attempt_at = "pending", 0, now
        message.failing_since = message.failed_at = None
    session.commit()
    return [message.id for message in rows]


def outbox_status(session: Session) -> dict[str, Any]:
    """For operators: messages waiting (and how many are due now), failed, and since when
    the oldest has waited."""
    now = clock.now()
    counts = dict(
        session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_(("pending", "failed")))
            .group_by(OutboxMessage.status)
        ).all()
    )
    due = session.scalar(
        select(func.count()).where(
            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now
        )
    )
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
    )
    return {
        "pending": int(counts.get("pending", 0)),
        "due": int(due or 0),
        "failed": int(counts.get("failed", 0)),
        "oldest_pending_at": oldest.isoformat() if oldest else None,
        "oldest_pending_s": round((now - oldest).total_seconds(), 1) if oldest else None,
    }
