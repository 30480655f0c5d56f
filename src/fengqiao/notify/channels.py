"""Where notifications go: the application log (the default), a signed webhook, an HTTP
SMS gateway. An HTTP channel keeps one client for its life and bounds the sends in
flight; the outbox's delivery (notify.service) decides when each message is sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

log = logging.getLogger("fengqiao.notify")


class Message(Protocol):
    """What a channel sends: an outbox row, or a worker's claimed copy of one."""

    @property
    def dedupe_key(self) -> str: ...

    @property
    def topic(self) -> str: ...

    @property
    def recipient(self) -> str: ...

    @property
    def payload(self) -> dict[str, Any]: ...


class Channel(Protocol):
    @property
    def concurrency(self) -> int:
        """How many sends may be in flight at once."""
        ...

    @property
    def timeout(self) -> float:
        """The longest one send takes (seconds) before it fails."""
        ...

    def send(self, message: Message) -> None:
        """Deliver or raise."""


class LogChannel:
    """The default: writes each notification to the application log."""

    concurrency = 1
    timeout = 1.0

    def send(self, message: Message) -> None:
        log.info(
            "notify %s → %s: %s",
            message.topic,
            message.recipient,
            json.dumps(message.payload, ensure_ascii=False),
        )


class HttpChannel:
    """POSTs to one URL on a client kept for the channel's life, so connections stay open
    from one message to the next (a new client per message cost 63 ms each); at most
    `concurrency` sends use it at once."""

    def __init__(self, url: str, *, timeout: float = 5.0, concurrency: int = 8) -> None:
        self.url, self.timeout, self.concurrency = url, timeout, concurrency
        self.client = httpx.Client(
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    def post(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.client.post(self.url, content=body, headers=headers).raise_for_status()

    def close(self) -> None:
        self.client.close()


class WebhookChannel(HttpChannel):
    """POSTs the message as JSON, signed with HMAC-SHA256 in X-Fengqiao-Signature."""

    def __init__(self, url: str, secret: str, timeout: float = 5.0, concurrency: int = 8) -> None:
        super().__init__(url, timeout=timeout, concurrency=concurrency)
        self.secret = secret.encode()

    def send(self, message: Message) -> None:
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
        self.post(
            body,
            {
                "Content-Type": "application/json",
                "Idempotency-Key": message.dedupe_key,
                "X-Fengqiao-Signature": signature,
            },
        )


class SmsGatewayChannel(HttpChannel):
    """An HTTP SMS gateway: POST {phone, text, id}. Recipients must be `phone:…`."""

    def __init__(self, url: str, token: str, timeout: float = 5.0, concurrency: int = 8) -> None:
        super().__init__(url, timeout=timeout, concurrency=concurrency)
        self.token = token

    def send(self, message: Message) -> None:
        if not message.recipient.startswith("phone:"):
            raise ValueError(f"SMS needs a phone recipient, got {message.recipient}")
        text = str(message.payload.get("text", message.topic))
        body = {"phone": message.recipient[6:], "text": text, "id": message.dedupe_key}
        self.post(
            json.dumps(body, ensure_ascii=False).encode(),
            {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": message.dedupe_key,
            },
        )
