"""What intake and dispatch do with the text model: category suggestions mapped onto the
installation's categories, the decision to route by itself, possible duplicates, and the
dispatchers' corrections kept as training data."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

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
from sqlalchemy.orm import Session

from fengqiao.classify import duplicates
from fengqiao.classify.duplicates import DuplicateCandidate, NewMessage
from fengqiao.classify.models import CategoryCorrection
from fengqiao.core import clock
from fengqiao.events.models import Event
from fengqiao.geo.cells import box_around, cells_near

# Duplicates: a matter reported within this window and radius, with similar text.
DUPLICATE_WINDOW = timedelta(days=7)
DUPLICATE_RADIUS_M = 500.0
DUPLICATE_CANDIDATES = 50  # the newest ones looked at (about 20 µs of scoring each)
DUPLICATE_SHOWN = 3


class Suggested(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def probability(self) -> float: ...


class CategoryModel(Protocol):
    """A loaded text classifier (fengqiao.classify.service.TextClassifier)."""

    @property
    def version(self) -> str: ...

    @property
    def threshold(self) -> float: ...

    def suggest(self, title: str, text: str, k: int = 3) -> Sequence[Suggested]: ...


@dataclass(frozen=True)
class CategorySuggestions:
    model: str
    threshold: float
    items: list[dict[str, Any]]  # [{code, label, p}], best first; codes of known categories

    @property
    def sure(self) -> str | None:
        """The category to route by itself, when the model is sure of it (and the
        installation has that category)."""
        if self.items and self.items[0]["code"] and self.items[0]["p"] >= self.threshold:
            return str(self.items[0]["code"])
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "threshold": self.threshold, "items": self.items}


def suggest_categories(
    model: CategoryModel, names: Mapping[str, str], title: str, text: str
) -> CategorySuggestions:
    """The model's top three, each label matched to the category of that name or code
    (labels the installation has no category for are shown without a code)."""
    by_label = {name: code for code, name in names.items()} | {code: code for code in names}
    items = [
        {"code": by_label.get(s.label), "label": s.label, "p": round(float(s.probability), 4)}
        for s in model.suggest(title, text, k=3)
    ]
    return CategorySuggestions(model.version, float(model.threshold), items)


def record_correction(
    session: Session, event: Event, category_code: str, name: str, actor_id: int | None
) -> None:
    """Keeps the message with the dispatcher's category when it differs from the model's
    first suggestion."""
    suggested = event.category_suggestions or {}
    items = suggested.get("items") or []
    if not items or items[0].get("code") == category_code:
        return
    session.add(
        CategoryCorrection(
            event_id=event.id,
            title=event.title,
            text=event.description,
            predicted=str(items[0]["label"]),
            probability=float(items[0]["p"]),
            model_version=str(suggested.get("model", "")),
            category_code=category_code,
            label=name,
            actor_id=actor_id,
            at=clock.now(),
        )
    )


def corrections(session: Session) -> list[tuple[str, str, str]]:
    """(title, text, label) of every correction, oldest first, for retraining."""
    rows = session.execute(
        select(
            CategoryCorrection.title, CategoryCorrection.text, CategoryCorrection.label
        ).order_by(CategoryCorrection.id)
    )
    return [(t, x, label) for t, x, label in rows]


# What intake keeps of a recent matter (RecentMatter).
_KEPT = (
    Event.id,
    Event.number,
    Event.title,
    Event.description,
    Event.lon,
    Event.lat,
    Event.reported_at,
    Event.region_path,
    Event.reporter_id,
)
_OPEN = Event.state.not_in(("merged", "rejected"))


def _candidates(query: DuplicateQuery, since: datetime) -> Select[int]:
    """The newest matters that may repeat the query's: reported since `since`, not closed
    as merged or rejected, in the cells around its point and a box a little larger than
    the radius (the finder measures the true distance); else in its grid, or its region."""
    statement = (
        select(Event.id)
        .where(Event.reported_at >= since, _OPEN)
        .order_by(Event.reported_at.desc())
        .limit(DUPLICATE_CANDIDATES)
    )
    if query.box is not None:
        lon0, lon1, lat0, lat1 = query.box
        return statement.where(
            Event.cell.in_(query.cells),
            Event.lon.between(lon0, lon1),
            Event.lat.between(lat0, lat1),
        )
    event = query.event
    if event.grid_id is not None:
        return statement.where(Event.grid_id == event.grid_id)
    return statement.where(Event.region_path == event.region_path)


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
        select(Event.id, Event.reported_at)
        .where(
            Event.cell == cells.c.cell,
            Event.reported_at >= bindparam("since"),
            _OPEN,
            Event.lon.between(cells.c.lon0, cells.c.lon1),
            Event.lat.between(cells.c.lat0, cells.c.lat1),
        )
        .order_by(Event.reported_at.desc())
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


@dataclass(frozen=True)
class DuplicateQuery:
    """A new matter to look for possible duplicates of, with the similarity from which a
    candidate counts; made when the report is read (before the writer), with its text's
    fingerprint and, for a position, the box and cells its candidates lie in."""

    event: Event
    threshold: float
    fingerprint: duplicates.Fingerprint = field(init=False)
    box: tuple[float, float, float, float] | None = field(init=False)  # lon0, lon1, lat0, lat1
    cells: list[int] = field(init=False)

    def __post_init__(self) -> None:
        event = self.event
        made = duplicates.fingerprint(event.title, event.description)
        object.__setattr__(self, "fingerprint", made)
        box, cells = None, []
        if event.lon is not None and event.lat is not None:
            box = box_around(event.lon, event.lat, DUPLICATE_RADIUS_M)
            cells = cells_near(event.lon, event.lat, DUPLICATE_RADIUS_M)
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "cells", cells)


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


@dataclass(frozen=True, slots=True)
class RecentMatter:
    """What intake keeps of a recent matter: its text's fingerprint, what is shown of it as
    a possible duplicate, and the place and reporter that decide who may see it (its unit
    is not kept: it changes)."""

    id: int
    number: str
    title: str
    lon: float | None
    lat: float | None
    reported_at: datetime
    region_path: str
    reporter_id: int | None
    fingerprint: duplicates.Fingerprint

    @classmethod
    def of(cls, event: Any) -> RecentMatter:
        """Of a matter, or of a row of its columns in `_KEPT`."""
        return cls(
            event.id,
            event.number,
            event.title,
            event.lon,
            event.lat,
            event.reported_at,
            event.region_path,
            event.reporter_id,
            duplicates.fingerprint(event.title, event.description or ""),
        )


class RecentMatters:
    """The recent matters of a process by id, so that the duplicate search reads only the
    ids of the candidates nearby and fetches the rest of those it has not kept (least
    recently used dropped first; shared by the threads of a process)."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._kept: OrderedDict[int, RecentMatter] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, matter_ids: Iterable[int]) -> dict[int, RecentMatter]:
        """Those of these matters that are kept."""
        with self._lock:
            found = {m: r for m in matter_ids if (r := self._kept.get(m)) is not None}
            for m in found:
                self._kept.move_to_end(m)
        return found

    def put(self, matter: RecentMatter) -> None:
        with self._lock:
            self._kept[matter.id] = matter
            self._kept.move_to_end(matter.id)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        """Forget every matter (after matters were deleted and their ids may be reused)."""
        with self._lock:
            self._kept.clear()


RECENT_MATTERS = RecentMatters()


@dataclass(frozen=True, slots=True)
class FoundDuplicate:
    """A possible duplicate of a new matter, with its score."""

    matter: RecentMatter
    score: float

    def shown(self) -> dict[str, Any]:
        """As the new matter keeps it."""
        m = self.matter
        return {"id": m.id, "number": m.number, "title": m.title, "score": self.score}


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
        for event in connection.execute(select(*_KEPT).where(Event.id.in_(unseen))):
            kept[event.id] = matter = RecentMatter.of(event)
            RECENT_MATTERS.put(matter)
    return [_found(q, [kept[m] for m in by_query.get(i, [])]) for i, q in enumerate(queries)]


def _found(query: DuplicateQuery, candidates: Sequence[RecentMatter]) -> list[FoundDuplicate]:
    if not candidates:
        return []
    event = query.event
    scores = query.fingerprint.similarities([c.fingerprint for c in candidates])
    # Ranked (and measured) are only the candidates that score; most do not.
    scored = {
        c.id: (c, s)
        for c, s in zip(candidates, scores.tolist(), strict=True)
        if s >= query.threshold
    }
    new = NewMessage(event.title, event.description, None, event.lon, event.lat)
    ranked = duplicates.rank(
        new,
        [
            (DuplicateCandidate(c.id, c.number, c.title, "", None, c.lon, c.lat, c.reported_at), s)
            for c, s in scored.values()
        ],
        len(scored),
    )
    near = [m for m in ranked if m.distance_m is None or m.distance_m <= DUPLICATE_RADIUS_M]
    return [
        FoundDuplicate(scored[m.candidate.id][0], round(m.score, 3)) for m in near[:DUPLICATE_SHOWN]
    ]
