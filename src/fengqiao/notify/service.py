"""The outbox: notifications are written in the same transaction as the change they
announce, then delivered at least once by `deliver_pending`; each message carries a
de-duplication key so receivers can drop repeats."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fengqiao.core import clock
from fengqiao.notify.models import OutboxMessage

log = logging.getLogger("fengqiao.notify")

MAX_ATTEMPTS = 12


def enqueue(
    session: Session,
    *,
    topic: str,
    key: str,
    recipients: Iterable[str],
    payload: dict[str, Any],
    event_id: int | None = None,
    channel: str = "default",
) -> None:
    """Queue one message per recipient. `key` names the change (e.g. a timeline entry);
    the same key and recipient are never queued twice."""
    for row in outbox_rows(
        topic=topic,
        key=key,
        recipients=recipients,
        payload=payload,
        event_id=event_id,
        channel=channel,
    ):
        session.add(OutboxMessage(**row))


def outbox_rows(
    *,
    topic: str,
    key: str,
    recipients: Iterable[str],
    payload: dict[str, Any],
    event_id: int | None = None,
    channel: str = "default",
) -> list[dict[str, Any]]:
    """The outbox rows `enqueue` adds, for writers that insert many in one statement."""
    now = clock.now()
    return [
        {
            "dedupe_key": f"{key}:{recipient}:{channel}"[:128],
            "created_at": now,
            "topic": topic,
            "event_id": event_id,
            "recipient": recipient,
            "channel": channel,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for recipient in sorted(set(recipients))
    ]


class Channel(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Deliver or raise."""


class LogChannel:
    """The default: writes each notification to the application log."""

    def send(self, message: OutboxMessage) -> None:
        log.info(
            "notify %s → %s: %s",
            message.topic,
            message.recipient,
            json.dumps(message.payload, ensure_ascii=False),
        )


class WebhookChannel:
    """POSTs the message as JSON, signed with HMAC-SHA256 in X-Fengqiao-Signature."""

    def __init__(self, url: str, secret: str, timeout: float = 5.0) -> None:
        self.url, self.secret, self.timeout = url, secret.encode(), timeout

    def send(self, message: OutboxMessage) -> None:
        body = json.dumps(
            {
                "id": message.dedupe_key,
                "topic": message.topic,
                "recipient": message.recipient,
                "payload": message.payload,
            },
            ensure_ascii=False,
        ).encode()
        signature = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        resp = httpx.post(
            self.url,
            content=body,
            timeout=self.timeout,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": message.dedupe_key,
                "X-Fengqiao-Signature": signature,
            },
        )
        resp.raise_for_status()


class SmsGatewayChannel:
    """An HTTP SMS gateway: POST {phone, text, id}. Recipients must be `phone:…`."""

    def __init__(self, url: str, token: str, timeout: float = 5.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: OutboxMessage) -> None:
        if not message.recipient.startswith("phone:"):
            raise ValueError(f"SMS needs a phone recipient, got {message.recipient}")
        text = str(message.payload.get("text", message.topic))
        resp = httpx.post(
            self.url,
            timeout=self.timeout,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": message.dedupe_key,
            },
            json={"phone": message.recipient[6:], "text": text, "id": message.dedupe_key},
        )
        resp.raise_for_status()


def deliver_pending(
    factory: sessionmaker[Session], channels: Mapping[str, Channel], limit: int = 200
) -> tuple[int, int]:
    """Send what is due; returns (delivered, failed). Safe to run in several workers at
    once on PostgreSQL (rows are claimed with SKIP LOCKED)."""
    delivered = failed = 0
    with factory() as session:
        now = clock.now()
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        for message in session.scalars(stmt):
            channel = channels.get(message.channel)
            try:
                if channel is None:
                    raise LookupError(f"no channel {message.channel!r}")
                channel.send(message)
            except Exception as exc:  # any failure: retry later with back-off
                message.attempts += 1
                message.last_error = str(exc)[:500]
                message.next_attempt_at = now + timedelta(seconds=min(2**message.attempts, 3600))
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = "failed"
                failed += 1
                continue
            message.status, message.delivered_at = "delivered", now
            message.attempts += 1
            delivered += 1
        session.commit()
    return delivered, failed
