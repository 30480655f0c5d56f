"""The audit log: every write (recorded automatically at flush) and every read of
personal data (recorded by the service that unmasks it)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from fengqiao.core import clock
from fengqiao.core.database import Base
from fengqiao.core.models import AuditLog
from fengqiao.core.permissions import Principal

SYSTEM = "system"


def set_actor(session: Session, principal: Principal | None, ip: str | None = None) -> None:
    session.info["principal"] = principal
    session.info["ip"] = ip


Actor = tuple[int | None, str, str | None]  # user id, user name, address


def actor(principal: Principal | None, ip: str | None, name: str = SYSTEM) -> Actor:
    if principal is None:
        return None, name, ip
    return principal.user_id, principal.username, ip


def _actor(session: Session) -> Actor:
    return actor(
        session.info.get("principal"),
        session.info.get("ip"),
        str(session.info.get("actor_name", SYSTEM)),
    )


# An entry says what changed, not everything a value held: each value is cut to this many
# characters (with a marker saying how long it was), and the whole detail to the second.
MAX_VALUE_CHARS = 1000
MAX_DETAIL_CHARS = 16_000


def _cut(text: str) -> str:
    return f"{text[:MAX_VALUE_CHARS]}…[truncated: {len(text)} characters]"


def _bounded(value: Any) -> Any:
    """`value` (plain) as stored: text, or a list or mapping written as JSON, longer than
    MAX_VALUE_CHARS is cut with a marker."""
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE_CHARS else _cut(value)
    if isinstance(value, list | tuple | dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return value if len(text) <= MAX_VALUE_CHARS else _cut(text)
    return value


def bounded_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """`detail` with each value bounded (those under "changes" one by one) and, past
    MAX_DETAIL_CHARS in all, only the values that fit, with a marker saying how many were
    left out."""

    def size(key: str, value: Any) -> int:
        return len(json.dumps({key: value}, ensure_ascii=False, default=str))

    out: dict[str, Any] = {}
    for key, value in detail.items():
        if key == "changes" and isinstance(value, dict):
            out[key] = {k: _bounded(v) for k, v in value.items()}
        else:
            out[key] = _bounded(value)
    if len(json.dumps(out, ensure_ascii=False, default=str)) <= MAX_DETAIL_CHARS:
        return out
    room, left_out = MAX_DETAIL_CHARS - 100, 0  # room for the marker
    kept: dict[str, Any] = {}
    for key, value in out.items():
        if key == "changes" and isinstance(value, dict):
            changes = kept.setdefault("changes", {})
            for name, change in value.items():
                if (cost := size(name, change)) <= room:
                    room -= cost
                    changes[name] = change
                else:
                    left_out += 1
        elif (cost := size(key, value)) <= room:
            room -= cost
            kept[key] = value
        else:
            left_out += 1
    kept["truncated"] = f"{left_out} values left out"
    return kept


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _row(session: Session, action: str, obj: Any) -> dict[str, Any] | None:
    cls = type(obj)
    if not getattr(cls, "__audited__", True):
        return None
    state = inspect(obj)
    secret: set[str] = set(getattr(cls, "__secret_fields__", ())) | set(
        getattr(cls, "__personal_fields__", ())
    )
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in ("created_at", "updated_at"):
            continue
        hist = state.attrs[key].history
        if action == "update" and not hist.has_changes():
            continue
        if action == "delete":
            continue
        value = hist.added[0] if hist.added else getattr(obj, key, None)
        changes[key] = "***" if key in secret and value is not None else _plain(value)
    if action == "update" and not changes:
        return None
    # New rows have no identity key yet at this point; their primary key values are set.
    ident = state.identity or tuple(state.mapper.primary_key_from_instance(obj))
    path = getattr(obj, "region_path", None) or getattr(obj, "path", None)
    return entry(
        _actor(session),
        action,
        cls.__tablename__,
        "/".join(str(i) for i in ident) if ident and None not in ident else None,
        path if isinstance(path, str) else None,
        changes,
    )


def created(
    who: Actor,
    model: type[Base],
    entity_id: int,
    region_path: str | None,
    values: dict[str, Any],
) -> dict[str, Any]:
    """The entry of a row inserted by a Core statement (which the flush hook does not
    see), for the writer to insert with its rows: the same shape the hook records."""
    secret = set(getattr(model, "__secret_fields__", ())) | set(
        getattr(model, "__personal_fields__", ())
    )
    changes = {
        k: "***" if k in secret and v is not None else _plain(v)
        for k, v in values.items()
        if k not in ("created_at", "updated_at")
    }
    return entry(who, "create", model.__tablename__, str(entity_id), region_path, changes)


def entry(
    who: Actor,
    action: str,
    entity: str,
    entity_id: str | None,
    region_path: str | None,
    changes: dict[str, Any],
) -> dict[str, Any]:
    actor_id, actor_name, ip = who
    return {
        "at": clock.now(),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "region_path": region_path,
        "detail": bounded_detail({"changes": changes}) if changes else {},
        "ip": ip,
    }


def _collect(session: Session, row: dict[str, Any], key: tuple[str, str], update: bool) -> None:
    pending: dict[tuple[str, str], dict[str, Any]] = session.info.setdefault("audit_rows", {})
    earlier = pending.get(key)
    if earlier is not None and update:
        earlier["detail"].setdefault("changes", {}).update(row["detail"].get("changes", {}))
        earlier["detail"] = bounded_detail(earlier["detail"])
    else:
        pending[key] = row


def bulk_updated(
    session: Session, entity: str, entity_id: int, region_path: str, changes: dict[str, Any]
) -> None:
    """A write made by a bulk UPDATE, which the flush hook does not see: written at commit
    with the others."""
    if session.info.get("audit") is False:
        return
    plain = {k: _plain(v) for k, v in changes.items() if k not in ("created_at", "updated_at")}
    row = entry(_actor(session), "update", entity, str(entity_id), region_path, plain)
    _collect(session, row, (entity, str(entity_id)), update=True)


@event.listens_for(Session, "after_flush")
def _audit_writes(session: Session, _ctx: UOWTransaction) -> None:
    """Collects one entry per record written; several flushes of the same record in one
    transaction (created, then given its number) make one entry with the final values."""
    if session.info.get("audit") is False:
        return
    for action, objs in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objs:
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            row = _row(session, action, obj)
            if row is None:
                continue
            key = (row["entity"], row["entity_id"] or f"object-{id(obj)}")
            _collect(session, row, key, update=action == "update")


@event.listens_for(Session, "before_commit")
def _write_audit(session: Session) -> None:
    session.flush()  # the last changes, collected above
    rows = list(session.info.pop("audit_rows", {}).values())
    if rows:
        session.connection().execute(insert(AuditLog), rows)


@event.listens_for(Session, "after_soft_rollback")
def _drop_audit(session: Session, _previous: Any) -> None:
    session.info.pop("audit_rows", None)


def record(
    session: Session,
    action: str,
    entity: str,
    entity_id: str | int | None,
    *,
    region_path: str | None = None,
    detail: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> None:
    """An explicit entry (reads of personal data, logins, commands)."""
    actor_id, name, ip = _actor(session)
    session.add(
        AuditLog(
            at=clock.now(),
            actor_id=actor_id,
            actor_name=actor_name or name,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            region_path=region_path,
            detail=bounded_detail(detail) if detail else {},
            ip=ip,
        )
    )
