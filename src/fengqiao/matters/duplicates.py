"""Possible duplicates of new matters: the candidate query over recent matters (which
matters lie near a new one in place and time), scored and ranked by the text similarity of
fengqiao.classify, which knows no matter model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    Integer,
    Select,
    bindparam,
    column,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB

from fengqiao.classify import duplicates
from fengqiao.classify.duplicates import NewMessage
from fengqiao.classify.flows import (
    DUPLICATE_CANDIDATES,
    DUPLICATE_RADIUS_M,
    DUPLICATE_WINDOW,
    RECENT_MATTERS,
    FoundDuplicate,
    RecentMatter,
    closest,
)
from fengqiao.core import clock
from fengqiao.geo.cells import box_around, cells_near
from fengqiao.matters.models import Matter

# What intake keeps of a recent matter (RecentMatter).
_KEPT = (
    Matter.id,
    Matter.number,
    Matter.title,
    Matter.description,
    Matter.lon,
    Matter.lat,
    Matter.reported_at,
    Matter.region_path,
    Matter.reporter_id,
)
_OPEN = Matter.state.not_in(("merged", "rejected"))


@dataclass(frozen=True)
class DuplicateQuery:
    """A new matter to look for possible duplicates of, with the similarity from which a
    candidate counts; made when the report is read (before the writer), with its text's
    fingerprint and, for a position, the box and cells its candidates lie in."""

    matter: Matter
    threshold: float
    fingerprint: duplicates.Fingerprint = field(init=False)
    box: tuple[float, float, float, float] | None = field(init=False)  # lon0, lon1, lat0, lat1
    cells: list[int] = field(init=False)

    def __post_init__(self) -> None:
        matter = self.matter
        made = duplicates.fingerprint(matter.title, matter.description)
        object.__setattr__(self, "fingerprint", made)
        box, cells = None, []
        if matter.lon is not None and matter.lat is not None:
            box = box_around(matter.lon, matter.lat, DUPLICATE_RADIUS_M)
            cells = cells_near(matter.lon, matter.lat, DUPLICATE_RADIUS_M)
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "cells", cells)


def _candidates(query: DuplicateQuery, since: datetime) -> Select[int]:
    """The newest matters that may repeat the query's: reported since `since`, not closed
    as merged or rejected, in the cells around its point and a box a little larger than
    the radius (the finder measures the true distance); else in its grid, or its region."""
    statement = (
        select(Matter.id)
        .where(Matter.reported_at >= since, _OPEN)
        .order_by(Matter.reported_at.desc())
        .limit(DUPLICATE_CANDIDATES)
    )
    if query.box is not None:
        lon0, lon1, lat0, lat1 = query.box
        return statement.where(
            Matter.cell.in_(query.cells),
            Matter.lon.between(lon0, lon1),
            Matter.lat.between(lat0, lat1),
        )
    matter = query.matter
    if matter.grid_id is not None:
        return statement.where(Matter.grid_id == matter.grid_id)
    return statement.where(Matter.region_path == matter.region_path)


def _nearby_statement() -> Select[tuple[int, int]]:
    """PostgreSQL: the candidates of many positioned matters in one statement of fixed text
    (so that it is prepared once per connection). The matters come as a JSON array of
    (matter, cell, box) rows, one per cell around each; each cell is joined laterally to its
    newest matters in the box (on the (cell, time) index), and
    the newest of each matter's cells are kept."""
    cells = (
        func.jsonb_to_recordset(bindparam("cells", type_=JSONB))
        .table_valued(
            column("query", Integer),
            column("cell", BigInteger),
            column("lon0", Float),
            column("lon1", Float),
            column("lat0", Float),
            column("lat1", Float),
        )
        .render_derived(name="cells", with_types=True)
    )
    found = (
        select(Matter.id, Matter.reported_at)
        .where(
            Matter.cell == cells.c.cell,
            Matter.reported_at >= bindparam("since"),
            _OPEN,
            Matter.lon.between(cells.c.lon0, cells.c.lon1),
            Matter.lat.between(cells.c.lat0, cells.c.lat1),
        )
        .order_by(Matter.reported_at.desc())
        .limit(DUPLICATE_CANDIDATES)
        .lateral("found")
    )
    newest = (
        func.row_number()
        .over(partition_by=cells.c.query, order_by=found.c.reported_at.desc())
        .label("newest")
    )
    ranked = select(cells.c.query, found.c.id, newest).select_from(cells.join(found, true()))
    inner = ranked.subquery("ranked")
    return select(inner.c.query, inner.c.id).where(inner.c.newest <= DUPLICATE_CANDIDATES)


_NEARBY = _nearby_statement()


def _candidate_rows(connection: Connection, queries: Sequence[DuplicateQuery]) -> list[Any]:
    """(query index, candidate id) of every query's candidates."""
    since = clock.now() - DUPLICATE_WINDOW
    rows: list[Any] = []
    rest = list(enumerate(queries))
    if connection.dialect.name == "postgresql":
        cells = []
        for i, q in rest:
            if q.box is not None:
                lon0, lon1, lat0, lat1 = q.box
                box = {"query": i, "lon0": lon0, "lon1": lon1, "lat0": lat0, "lat1": lat1}
                cells += [{**box, "cell": c} for c in q.cells]
        if cells:
            rows += connection.execute(_NEARBY, {"cells": cells, "since": since}).all()
            done = {c["query"] for c in cells}
            rest = [(i, q) for i, q in rest if i not in done]
    arms = [
        select(literal(i).label("query"), *found.c)
        for i, q in rest
        for found in [_candidates(q, since).subquery()]
    ]
    if arms:
        rows += connection.execute(union_all(*arms) if len(arms) > 1 else arms[0]).all()
    return rows


def find_duplicates(
    connection: Connection, queries: Sequence[DuplicateQuery]
) -> list[list[FoundDuplicate]]:
    """For each new matter, the matters reported in the window before it within the radius
    (or in its grid, or region, when it has no position), not closed as merged or
    rejected, whose text scores at least its threshold; best first. The candidates of all
    the matters come in one query (their ids only); the rest is read only for candidates
    this process has not kept."""
    if not queries:
        return []
    by_query: dict[int, list[int]] = {}
    for query, matter_id in _candidate_rows(connection, queries):
        by_query.setdefault(query, []).append(matter_id)
    kept = RECENT_MATTERS.get_many({m for ids in by_query.values() for m in ids})
    unseen = {m for ids in by_query.values() for m in ids if m not in kept}
    if unseen:
        for row in connection.execute(select(*_KEPT).where(Matter.id.in_(unseen))):
            kept[row.id] = recent = RecentMatter.of(row)
            RECENT_MATTERS.put(recent)
    found = []
    for i, q in enumerate(queries):
        m = q.matter
        new = NewMessage(m.title, m.description, None, m.lon, m.lat)
        candidates = [kept[c] for c in by_query.get(i, [])]
        found.append(closest(new, q.fingerprint, candidates, q.threshold))
    return found
