"""Live changes for the console's lists: the matters changed since a moment, read from the
database through the caller's jurisdiction (`scoped_matters`, the rule every list obeys).
Polling the table keeps one source of truth for every server process; a transaction that
committed late is caught by looking back a little and skipping versions already sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.permissions import Principal
from fengqiao.matters.lifecycle import MATTER
from fengqiao.matters.models import Matter
from fengqiao.matters.queries import is_pinned, scoped_matters

POLL = 1.0  # seconds between looks
LOOKBACK = timedelta(seconds=15)  # how late a commit may land and still be seen
LIFETIME = 300.0  # seconds; the console reconnects, with its token renewed meanwhile
KEEPALIVE = 5.0  # seconds of quiet before a comment line keeps the connection open
BATCH = 200


def read_changes(
    session: Session, principal: Principal, since: datetime, lang: str
) -> list[dict[str, Any]]:
    """The matters the caller may see that changed at or after `since`, oldest first."""
    rows = session.execute(
        scoped_matters(principal)
        .with_only_columns(
            Matter.id,
            Matter.number,
            Matter.title,
            Matter.state,
            Matter.urgency,
            Matter.version,
            Matter.updated_at,
        )
        .where(Matter.updated_at >= since)
        .order_by(Matter.updated_at, Matter.id)
        .limit(BATCH)
    ).all()
    return [
        {
            "id": r.id,
            "number": r.number,
            "title": r.title,
            "state": r.state,
            "state_name": MATTER.state_label(r.state, lang),
            "urgency": r.urgency,
            "version": r.version,
            "updated_at": r.updated_at.isoformat(),
            "pinned": is_pinned(r.state, r.urgency),
        }
        for r in rows
    ]


async def watch(
    open_session: Callable[[], Session],
    principal: Principal,
    lang: str,
    since: datetime | None,
    gone: Callable[[], Awaitable[bool]],
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs: `ready` once, then `matter` for each change (and `ping`, with
    no data, after a quiet spell), until the client goes or the stream's lifetime ends."""
    start = clock.now()
    cursor = since or start
    sent: dict[tuple[int, int], datetime] = {}  # (id, version) → its updated_at
    yield "ready", {"at": start.isoformat()}

    def look() -> list[dict[str, Any]]:
        with open_session() as session:
            return read_changes(session, principal, cursor - LOOKBACK, lang)

    loop = asyncio.get_running_loop()
    ends = loop.time() + LIFETIME
    quiet_since = loop.time()
    while loop.time() < ends and not await gone():
        if loop.time() - quiet_since >= KEEPALIVE:
            quiet_since = loop.time()
            yield "ping", {}
        for change in await run_in_threadpool(look):
            key = (change["id"], change["version"])
            if key in sent:
                continue
            at = datetime.fromisoformat(change["updated_at"])
            sent[key] = at
            cursor = max(cursor, at)
            quiet_since = loop.time()
            yield "matter", change
        horizon = cursor - LOOKBACK
        for key in [k for k, at in sent.items() if at < horizon]:
            del sent[key]
        await asyncio.sleep(POLL)
