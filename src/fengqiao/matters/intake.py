"""Intake: every channel's report becomes a matter here (or finds the one its idempotency
key already made).

A report is read first (its place, its category suggestions, its route and its text's
fingerprint: `prepare`, which writes nothing), then written (`write`): its possible
duplicates are looked for, and the matter goes in with its first timeline entry, the
dispatchers' notification and the audit entry (on PostgreSQL all in one statement).
`write` takes many reports at once, so that the server's intake writer (matters/flows.py)
can acknowledge all the reports waiting at one moment with one transaction.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from fengqiao.classify import flows as classify
from fengqiao.core import audit, clock
from fengqiao.core.database import Linked, insert_linked, insert_many
from fengqiao.core.errors import Conflict, Invalid
from fengqiao.core.levels import Level, ancestor_at, path_level
from fengqiao.core.models import AuditLog
from fengqiao.core.permissions import Principal, Role
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.geo.cells import cell_of
from fengqiao.geo.models import Region
from fengqiao.matters.duplicates import DuplicateQuery, find_duplicates
from fengqiao.matters.enums import MatterState, Urgency
from fengqiao.matters.lifecycle import MATTER, route_by_model
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.matters.queries import sees
from fengqiao.matters.routing import Routing, check_category, load_routing, suggest_route
from fengqiao.matters.timeline import message
from fengqiao.notify import service as notify
from fengqiao.notify.models import OutboxMessage


@dataclass
class Report:
    title: str
    description: str = ""
    category_code: str | None = None
    channel: str = "web"
    urgency: str = Urgency.normal.value
    risk_colour: str = "green"
    lon: float | None = None  # WGS84
    lat: float | None = None
    address: str | None = None
    region_code: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    idempotency_key: str | None = None


@dataclass
class Reader:
    """What intake reads each report with: the text model (None when none is installed),
    the similarity from which a nearby matter is a possible duplicate, and the working
    calendar for routing."""

    model: classify.CategoryModel | None
    duplicate_threshold: float
    calendar: Callable[[Session], WorkCalendar]


@dataclass
class Intake:
    """A report read and ready to write: the matter (every column but its id and number),
    who reported it, how to look for its possible duplicates, and the model's suggestions
    when it is sure of the category and a unit takes it."""

    matter: Matter
    principal: Principal
    ip: str | None
    sure: classify.CategorySuggestions | None = None
    duplicates: DuplicateQuery | None = None
    found: list[classify.FoundDuplicate] = field(default_factory=list)  # once written
    # The key was made here, not by the client: a matter with it can only be this report's,
    # written by an attempt whose answer was lost.
    server_key: bool = False

    @property
    def routes_itself(self) -> classify.CategorySuggestions | None:
        """The suggestions to route by, once written: sure, and not a repeat of a matter
        nearby."""
        return None if self.found else self.sure

    def visible_duplicates(self) -> list[dict[str, Any]] | None:
        """The possible duplicates found when it was written that its reporter may see;
        None when that depends on the units the matters are with now (a unit's handler
        sees its tasks), which intake does not keep."""
        if Role.unit_handler in self.principal.roles:
            return None
        return [
            d.shown()
            for d in self.found
            if sees(self.principal, d.matter.region_path, None, d.matter.reporter_id)
        ]


@dataclass(frozen=True)
class Written:
    id: int
    number: str
    created: bool  # False: the idempotency key had made this matter already
    reporter_id: int | None


def prepare(
    session: Session,
    principal: Principal,
    data: Report,
    *,
    grid: tuple[int, str] | None,
    routing: Routing,
    reader: Reader | None,
    ip: str | None,
) -> Intake:
    """Read a report: its place (`grid` is (grid id, grid path) when the position fell in
    a grid), the model's categories and the route. Reads the database only for a region
    code (or a cache that is due a check); writes nothing. Possible duplicates are looked
    for when it is written."""
    check_category(routing, data.category_code)
    if grid is not None:
        grid_id, path = grid
    elif data.region_code:
        grid_id = None
        found = session.scalar(select(Region.path).where(Region.code == data.region_code))
        if found is None:
            raise Invalid("区划代码 {c} 不存在", "Unknown region code {c}", c=data.region_code)
        path = found
    elif data.lon is not None:
        raise Invalid(
            "该位置不在任何网格内，请填写所属区划", "The position is in no grid; give a region"
        )
    else:
        raise Invalid("请提供位置（经纬度）或所属区划", "Give a position or a region")
    now = clock.now()
    # Every column given, so that many matters go in one INSERT with the same columns.
    # A report without a key gets one before its first write, so that the writer's retry
    # after a lost connection cannot make a second matter.
    key = data.idempotency_key or f"server-{uuid.uuid4().hex}"
    matter = Matter(
        idempotency_key=key,
        title=data.title.strip(),
        description=data.description.strip(),
        category_code=data.category_code,
        channel=data.channel,
        urgency=data.urgency,
        risk_colour=data.risk_colour,
        state=MatterState.reported.value,
        level=min(max(path_level(path), Level.township), Level.county),
        version=1,
        lon=data.lon,
        lat=data.lat,
        address=data.address,
        grid_id=grid_id,
        region_path=path,
        cell=None if data.lon is None or data.lat is None else cell_of(data.lon, data.lat),
        reporter_id=principal.user_id,
        reporter_name=data.reporter_name or principal.display_name,
        reporter_phone=data.reporter_phone,
        reported_at=now,
        due_flagged=False,
        supervision=0,
        dispatch_count=0,
        return_count=0,
        rework_count=0,
        reopen_count=0,
        self_resolved=False,
        created_at=now,
        updated_at=now,
    )
    suggestions = None
    if reader is not None and reader.model is not None and data.category_code is None:
        suggestions = classify.suggest_categories(
            reader.model, routing.names, matter.title, matter.description
        )
        matter.category_suggestions = suggestions.as_dict()
        matter.category_code = suggestions.sure
    matter.suggestion = suggest_route(routing, matter)
    search = None if reader is None else DuplicateQuery(matter, reader.duplicate_threshold)
    sure = suggestions is not None and suggestions.sure and (matter.suggestion or {}).get("unit_id")
    server_key = data.idempotency_key is None
    return Intake(
        matter, principal, ip, suggestions if sure else None, search, server_key=server_key
    )


def _number(matter: Matter, matter_id: int) -> str:
    return f"FQ{matter.reported_at.astimezone(clock.zone()):%Y%m%d}{matter_id:07d}"


class MatterIds:
    """PostgreSQL: matter ids taken from the sequence in blocks, kept per engine, so that a
    batch of intakes is written with its final ids and numbers without asking for them."""

    def __init__(self, block: int = 256) -> None:
        self.block = block
        self._ids: weakref.WeakKeyDictionary[Engine, deque[int]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def take(self, connection: Connection, n: int) -> list[int]:
        with self._lock:
            ids = self._ids.setdefault(connection.engine, deque())
            if len(ids) < n:
                ids.extend(
                    connection.scalars(
                        text(
                            "SELECT nextval(pg_get_serial_sequence('event', 'id'))"
                            " FROM generate_series(1, :n)"
                        ),
                        {"n": max(n, self.block)},
                    )
                )
            return [ids.popleft() for _ in range(n)]

    def clear(self) -> None:
        """Forget the ids taken (after the sequence was reset)."""
        with self._lock:
            self._ids.clear()


MATTER_IDS = MatterIds()
REPORT = MATTER.transitions["report"]


def _insert_sqlite(
    connection: Connection,
    table: Table,
    intakes: Sequence[Intake],
    rows: dict[int, dict[str, Any]],
) -> set[int]:
    """SQLite hands out ids on insert: each row goes in with a placeholder number, then
    gets the real one. The ids inserted (a row whose key is taken is skipped)."""
    for row in rows.values():
        row["number"] = f"tmp-{uuid.uuid4().hex[:28]}"
    inserted = insert_many(
        connection,
        table,
        list(rows.values()),
        skip_conflicts_on="idempotency_key",
        returning=[table.c.number, table.c.id],
    )
    by_placeholder = {row.number: row.id for row in inserted}
    numbered = []
    for i, row in rows.items():
        matter_id = by_placeholder.get(row["number"])
        row["id"] = matter_id
        if matter_id is not None:
            row["number"] = _number(intakes[i].matter, matter_id)
            numbered.append({"b_id": matter_id, "b_number": row["number"]})
    if numbered:
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(number=bindparam("b_number")),
            numbered,
        )
    return {row["id"] for row in rows.values() if row["id"] is not None}


def _linked(intakes: Sequence[Intake], rows: dict[int, dict[str, Any]]) -> list[Linked]:
    """What goes in with each matter: its first timeline entry, the dispatchers'
    notification and the audit entry (each naming the matter's id)."""
    timeline, outbox, audit_rows = [], [], []
    for i, row in rows.items():
        matter, principal = intakes[i].matter, intakes[i].principal
        timeline.append(
            {
                "matter_id": row["id"],
                "at": matter.reported_at,
                "actor_id": principal.user_id,
                "actor_name": principal.display_name,
                "action": "report",
                "from_state": None,
                "to_state": MatterState.reported.value,
                "reason": None,
                "detail": {"channel": matter.channel, "route": matter.suggestion},
            }
        )
        outbox.extend(
            notify.outbox_rows(
                topic="matter.reported",
                key=f"e{row['id']}.1.report",
                recipients=[f"dispatchers:{ancestor_at(matter.region_path, matter.level)}"],
                matter_id=row["id"],
                region_path=matter.region_path,
                payload=message(row["id"], row["number"], matter.title, matter.state, REPORT),
            )
        )
        who = audit.actor(principal, intakes[i].ip)
        audit_rows.append(audit.created(who, Matter, row["id"], matter.region_path, row))
    return [
        (cast(Table, TimelineEntry.__table__), timeline, "matter_id"),
        (cast(Table, OutboxMessage.__table__), outbox, "matter_id"),
        (cast(Table, AuditLog.__table__), audit_rows, "entity_id"),
    ]


def _insert(
    connection: Connection,
    table: Table,
    intakes: Sequence[Intake],
    rows: dict[int, dict[str, Any]],
) -> set[int]:
    """Insert the rows (by intake index), each with its id and number, and what goes with
    each; the ids inserted (a row whose key is taken is skipped, with what goes with it)."""
    if connection.dialect.name == "postgresql":
        ids = MATTER_IDS.take(connection, len(rows))
        for (i, row), matter_id in zip(rows.items(), ids, strict=True):
            row["id"], row["number"] = matter_id, _number(intakes[i].matter, matter_id)
        return insert_linked(
            connection,
            table,
            list(rows.values()),
            key="id",
            skip_conflicts_on="idempotency_key",
            linked=_linked(intakes, rows),
        )
    made = _insert_sqlite(connection, table, intakes, rows)
    for other, other_rows, _ in _linked(
        intakes, {i: r for i, r in rows.items() if r["id"] in made}
    ):
        insert_many(connection, other, other_rows)
    return made


def write(connection: Connection, intakes: Sequence[Intake]) -> list[Written]:
    """Look for the possible duplicates of these intakes, then insert their matters with
    what goes with each, in the caller's transaction; one answer per intake, in order. An
    idempotency key that made a matter already (in an earlier transaction, a concurrent
    one, or earlier in this batch) answers with that matter; the unique index decides."""
    table = cast(Table, Matter.__table__)
    columns = [c.key for c in table.columns if c.key not in ("id", "number")]
    first: dict[str, int] = {}  # idempotency key → the first intake in the batch with it
    leading: list[int] = []  # the intakes whose key is not repeated earlier in the batch
    for i, intake in enumerate(intakes):
        key = intake.matter.idempotency_key
        if key is not None:
            if key in first:
                continue
            first[key] = i
        leading.append(i)
    searched = [(i, q) for i in leading if (q := intakes[i].duplicates) is not None]
    duplicates_of = find_duplicates(connection, [q for _, q in searched])
    for (i, _), duplicates in zip(searched, duplicates_of, strict=True):
        intakes[i].found = duplicates
        intakes[i].matter.possible_duplicates = [d.shown() for d in duplicates]
    # The values as set (reading them through the mapped attributes costs more).
    values = [vars(intakes[i].matter) for i in leading]
    rows: dict[int, dict[str, Any]] = {
        i: {c: v.get(c) for c in columns} for i, v in zip(leading, values, strict=True)
    }
    made = _insert(connection, table, intakes, rows)
    answers: dict[int, Written] = {
        i: Written(row["id"], row["number"], True, row["reporter_id"])
        for i, row in rows.items()
        if row["id"] in made
    }
    taken = {intakes[i].matter.idempotency_key for i in rows if i not in answers}
    earlier = (
        {
            key: Written(matter_id, number, False, reporter_id)
            for key, matter_id, number, reporter_id in connection.execute(
                select(
                    table.c.idempotency_key, table.c.id, table.c.number, table.c.reporter_id
                ).where(table.c.idempotency_key.in_(taken))
            )
        }
        if taken
        else {}
    )
    result: list[Written] = []
    for i, intake in enumerate(intakes):
        if i in answers:
            result.append(answers[i])
            continue
        key = cast(str, intake.matter.idempotency_key)
        leader = answers.get(first[key])
        found = (
            earlier.get(key)
            if leader is None
            else Written(leader.id, leader.number, False, leader.reporter_id)
        )
        if found is None:  # cannot happen: the key's row blocked ours
            raise RuntimeError(f"idempotency key {key} conflicted but no matter has it")
        if intake.server_key and leader is None:
            # Written before this attempt by this very report: new to its caller, and not
            # a duplicate of itself.
            intake.found = [d for d in intake.found if d.matter.id != found.id]
            intake.matter.possible_duplicates = [d.shown() for d in intake.found]
            found = Written(found.id, found.number, True, found.reporter_id)
        result.append(found)

    return result


def remember(intakes: Sequence[Intake], answers: Sequence[Written]) -> None:
    """Keep the matters just committed, so that the duplicate search of the reports after
    them need not read them."""
    for item, answer in zip(intakes, answers, strict=True):
        if answer.created:
            matter = item.matter
            matter.id, matter.number = answer.id, answer.number
            classify.RECENT_MATTERS.put(classify.RecentMatter.of(matter))


def finish(
    session: Session,
    principal: Principal,
    intake: Intake,
    written: Written,
    reader: Reader | None,
    *,
    load: bool = False,
) -> tuple[Matter, bool]:
    """After the write: the matter this idempotency key made earlier (only for its own
    reporter), or the new matter, accepted and dispatched by the system when it routes
    itself. A new matter nothing changed is the values written, not read again, unless
    `load` asks for it loaded in `session`."""
    if not written.created:
        existing = session.get(Matter, written.id)
        assert existing is not None
        if existing.reporter_id != principal.user_id:
            raise Conflict(
                "该幂等键已被其他用户使用", "This idempotency key belongs to another user"
            )
        return existing, False
    routes = intake.routes_itself
    if routes is None or reader is None:
        if load:
            return cast(Matter, session.get(Matter, written.id)), True
        matter = intake.matter
        matter.id, matter.number = written.id, written.number
        return matter, True
    matter = cast(Matter, session.get(Matter, written.id))
    route_by_model(session, reader.calendar(session), matter, routes)
    session.commit()
    return matter, True


def report(
    session: Session,
    principal: Principal,
    data: Report,
    *,
    grid: tuple[int, str] | None,
    routing: Routing | None = None,
    reader: Reader | None = None,
) -> tuple[Matter, bool]:
    """Create a matter in this session's transaction, or return the one this idempotency
    key already made; the matter returned is loaded in `session`. `routing` is the cached
    routing table (read from the database when not given); `reader` reads the text. The
    server's intake endpoint does the same steps with its writer in between."""
    routing = routing or load_routing(session)
    intake = prepare(
        session,
        principal,
        data,
        grid=grid,
        routing=routing,
        reader=reader,
        ip=session.info.get("ip"),
    )
    written = write(session.connection(), [intake])[0]
    session.commit()
    remember([intake], [written])
    return finish(session, principal, intake, written, reader, load=True)
