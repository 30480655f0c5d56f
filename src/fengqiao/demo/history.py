"""A year of matters for the demo county (about 15,000), in every state of the loop.

Each matter follows one of the loop's paths (`paths.py`) with plausible durations, and is
told in words of its own (`texts.py`). A path that would run past `end` stops where `end`
finds it, so the newest matters are open in every state. Routing and deadlines come from the
matters service; the rows are written in bulk because replaying a year through the service
one request at a time would take minutes. `tests/loopcheck.py` (run by `tests/test_demo.py`)
checks every matter against the transition table and its kept facts against those replayed
from its timeline.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from fengqiao.core import audit, clock
from fengqiao.core.levels import Level, ancestor_at, path_level
from fengqiao.demo.county import Actor, History
from fengqiao.demo.paths import Simulated, Stop, walk
from fengqiao.demo.texts import KINDS, place_of, words_for
from fengqiao.geo.cells import cell_of
from fengqiao.matters import service
from fengqiao.matters.enums import MatterState as S
from fengqiao.matters.models import Matter

CHANNELS = [("grid_app", 60), ("hotline", 20), ("web", 12), ("letter", 3), ("video", 5)]
URGENCIES = [("normal", 88), ("urgent", 10), ("critical", 2)]
RISKS = [("green", 70), ("blue", 15), ("yellow", 10), ("orange", 4), ("red", 1)]


def _pick(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def build_history(session: Session, end: datetime, count: int = 15_000, seed: int = 2026) -> int:
    """Write `count` matters reported over the year before `end`; returns how many."""
    rng = random.Random(seed)
    wording = random.Random(f"{seed}:wording")  # its own stream: paths do not depend on it
    world = History(session, rng)
    first_id = (session.scalar(select(func.max(Matter.id))) or 0) + 1
    start = end - timedelta(days=365)
    # Reports arrive evenly through the year, a third busier at the height of summer
    # (the tourist and fishing season) than in winter.
    seconds: list[float] = []
    while len(seconds) < count:
        offset = rng.uniform(0, 365 * 86400)
        day = (start + timedelta(seconds=offset)).timetuple().tm_yday
        if rng.random() * 1.35 < 1 + 0.35 * math.cos(2 * math.pi * (day - 200) / 365):
            seconds.append(offset)
    seconds.sort()
    rows: list[dict[str, Any]] = []
    timeline: list[dict[str, Any]] = []
    recent_by_community: dict[str, list[Simulated]] = defaultdict(list)
    for n, offset in enumerate(seconds):
        at = start + timedelta(seconds=offset)
        matter = _simulate(world, wording, first_id + n, at, end, recent_by_community)
        rows.append(matter.row)
    for row in rows:
        timeline.extend(row.pop("_entries"))
    # Plain executemany through Core: the ORM's bulk path would send a statement per row.
    connection = session.connection()
    tables = Matter.metadata.tables
    for table, records in ((tables["event"], rows), (tables["event_timeline"], timeline)):
        for chunk in range(0, len(records), 5000):
            connection.execute(insert(table), records[chunk : chunk + 5000])
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":  # ids were given explicitly
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('event', 'id'), (SELECT max(id) FROM event))"
            )
        )
    audit.record(session, "demo_history", "event", str(count), detail={"matters": count})
    session.commit()
    return count


def _simulate(
    world: History,
    wording: random.Random,
    matter_id: int,
    reported_at: datetime,
    end: datetime,
    recent: dict[str, list[Simulated]],
) -> Simulated:
    rng = world.rng
    kind = rng.choices(KINDS, weights=[k[1] for k in KINDS])[0]
    category, _, on_the_spot, titles = kind
    candidates = world.sea_grids if category == "maritime_fishery" else world.land_grids
    grid = candidates[rng.randrange(len(candidates))]
    lon, lat = world.position(grid)
    channel = _pick(rng, CHANNELS)
    reporter: Actor
    row: dict[str, Any] = {
        "id": matter_id,
        "number": f"FQ{reported_at.astimezone(clock.zone()):%Y%m%d}{matter_id:07d}",
        "idempotency_key": None,
        "title": rng.choice(titles),
        "description": "",
        "category_code": category,
        "channel": channel,
        "urgency": _pick(rng, URGENCIES),
        "risk_colour": _pick(rng, RISKS),
        "state": S.reported.value,
        "level": min(max(path_level(grid.path), Level.township), Level.county),
        "version": 1,
        "lon": lon,
        "lat": lat,
        "address": f"{grid.name}附近",
        "grid_id": grid.id,
        "region_path": grid.path,
        "cell": cell_of(lon, lat),
        "unit_id": None,
        "merged_into_id": None,
        "due_flagged": False,
        "supervision": 0,
        "next_sweep_at": None,
        "extension_until": None,
        "reported_at": reported_at,
        "created_at": reported_at,
        "dispatch_count": 0,
        "return_count": 0,
        "rework_count": 0,
        "reopen_count": 0,
        "self_resolved": False,
        "rating": None,
        "reporter_phone": None,
        **dict.fromkeys(service.DUE_FIELDS),
        **dict.fromkeys(
            (
                "accepted_at",
                "dispatched_at",
                "first_dispatched_at",
                "signed_at",
                "handled_at",
                "closed_at",
                "handled_on_time",
                "closed_on_time",
                "closed_level",
            )
        ),
    }
    if channel == "grid_app":
        reporter = world.grid_worker(row)
    else:
        reporter = Actor(None, rng.choice(["陈先生", "林女士", "王大伯", "郑阿姨", "市民"]))
        row["reporter_phone"] = f"139{rng.randrange(10**8):08d}"
    row["reporter_id"], row["reporter_name"] = reporter.id, reporter.name
    row["title"], row["description"] = words_for(
        wording, row["title"], channel, place_of(grid.name, grid.kind)
    )
    row["suggestion"] = world.route(row)
    m = Simulated(row, reported_at, end)
    m.entries.append(
        {
            "at": reported_at,
            "actor_id": reporter.id,
            "actor_name": reporter.name,
            "action": "report",
            "from_state": None,
            "to_state": S.reported.value,
            "reason": None,
            "detail": {"channel": channel, "route": row["suggestion"]},
        }
    )
    with contextlib.suppress(Stop):  # the path ran past `end`: the matter stays open
        walk(world, m, on_the_spot, recent)
    if m.state == S.dispatched:
        row["next_sweep_at"] = row["sign_due_at"]
    elif m.state == S.in_progress:
        row["next_sweep_at"] = row["resolve_due_at"]
    row["updated_at"] = m.t
    for entry in m.entries:
        entry["matter_id"] = matter_id
    row["_entries"] = m.entries
    if m.state not in (S.merged, S.rejected):
        recent[ancestor_at(grid.path, 2)].append(m)
    return m
