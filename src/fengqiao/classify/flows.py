"""What intake and dispatch do with the text model: category suggestions mapped onto the
installation's categories, the decision to route by itself, possible duplicates, and the
dispatchers' corrections kept as training data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
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
from fengqiao.classify.duplicates import MATTER_PRINTS, DuplicateCandidate, NewMessage
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


# What is shown of a possible duplicate, and what decides who may see it.
_DETAILS = (
    Event.id,
    Event.number,
    Event.title,
    Event.lon,
    Event.lat,
    Event.reported_at,
    Event.region_path,
    Event.unit_id,
    Event.reporter_id,
)
_OPEN = Event.state.not_in(("merged", "rejected"))


def _candidates(event: Event, since: datetime) -> Select[int]:
    """The newest matters that may repeat `event`: reported since `since`, not closed as
    merged or rejected, in the cells around its point and a box a little larger than the
    radius (the finder measures the true distance); else in its grid, or its region."""
    statement = (
        select(Event.id)
        .where(Event.reported_at >= since, _OPEN)
        .order_by(Event.reported_at.desc())
        .limit(DUPLICATE_CANDIDATES)
    )
    if event.lon is not None and event.lat is not None:
        lon0, lon1, lat0, lat1 = box_around(event.lon, event.lat, DUPLICATE_RADIUS_M)
        cells = cells_near(event.lon, event.lat, DUPLICATE_RADIUS_M)
        return statement.where(
            Event.cell.in_(cells), Event.lon.between(lon0, lon1), Event.lat.between(lat0, lat1)
        )
    if event.grid_id is not None:
        return statement.where(Event.grid_id == event.grid_id)
    return statement.where(Event.region_path == event.region_path)


def _nearby_statement() -> Select[tuple[int, int]]:
    """PostgreSQL: the candidates of many positioned matters in one statement of fixed text
    (so that it is prepared once per connection). The matters come as a JSON array of
    (matter, cell, box) rows, one per cell around each; each cell is joined laterally to its
    newest matters in the box (an index scan on (cell, time) that stops at the limit), and
    the newest of each matter's cells are kept."""
    cells = (
        func.jsonb_to_recordset(bindparam("cells", type_=JSONB))
        .table_valued(
            column("query", Integer),
            column("cell", Integer),
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
    candidate counts."""

    event: Event
    threshold: float


def _candidate_rows(connection: Connection, queries: Sequence[DuplicateQuery]) -> list[Any]:
    """(query index, candidate id) of every query's candidates."""
    since = clock.now() - DUPLICATE_WINDOW
    rows: list[Any] = []
    rest = list(enumerate(queries))
    if connection.dialect.name == "postgresql":
        cells = []
        for i, q in rest:
            lon, lat = q.event.lon, q.event.lat
            if lon is not None and lat is not None:
                lon0, lon1, lat0, lat1 = box_around(lon, lat, DUPLICATE_RADIUS_M)
                box = {"query": i, "lon0": lon0, "lon1": lon1, "lat0": lat0, "lat1": lat1}
                cells += [{**box, "cell": c} for c in cells_near(lon, lat, DUPLICATE_RADIUS_M)]
        if cells:
            rows += connection.execute(_NEARBY, {"cells": cells, "since": since}).all()
            done = {c["query"] for c in cells}
            rest = [(i, q) for i, q in rest if i not in done]
    arms = [
        select(literal(i).label("query"), *found.c)
        for i, q in rest
        for found in [_candidates(q.event, since).subquery()]
    ]
    if arms:
        rows += connection.execute(union_all(*arms) if len(arms) > 1 else arms[0]).all()
    return rows


@dataclass(frozen=True, slots=True)
class FoundDuplicate:
    """A possible duplicate of a new matter, with the place, unit and reporter that decide
    who may see it."""

    id: int
    number: str
    title: str
    score: float
    region_path: str
    unit_id: int | None
    reporter_id: int | None

    def shown(self) -> dict[str, Any]:
        """As the matter keeps it."""
        return {"id": self.id, "number": self.number, "title": self.title, "score": self.score}


def find_duplicates(
    connection: Connection, queries: Sequence[DuplicateQuery]
) -> list[list[FoundDuplicate]]:
    """For each new matter, the matters reported in the window before it within the radius
    (or in its grid, or region, when it has no position), not closed as merged or
    rejected, whose text scores at least its threshold; best first. The candidates of all
    the matters come in one query (their ids only); texts are read only for candidates
    whose fingerprint this process has not kept, and the rest only for those that score."""
    if not queries:
        return []
    by_query: dict[int, list[int]] = {}
    for query, matter_id in _candidate_rows(connection, queries):
        by_query.setdefault(query, []).append(matter_id)
    prints = MATTER_PRINTS.get_many({m for ids in by_query.values() for m in ids})
    unseen = {m for ids in by_query.values() for m in ids if m not in prints}
    if unseen:
        texts = select(Event.id, Event.title, Event.description).where(Event.id.in_(unseen))
        for matter_id, title, text in connection.execute(texts):
            prints[matter_id] = MATTER_PRINTS.put(matter_id, title, text or "")
    scored = [_score(q, by_query.get(i, []), prints) for i, q in enumerate(queries)]
    hits = {m for found in scored for m, _ in found}
    if not hits:
        return [[] for _ in queries]
    details = {r.id: r for r in connection.execute(select(*_DETAILS).where(Event.id.in_(hits)))}
    return [_rank(q, found, details) for q, found in zip(queries, scored, strict=True)]


def _score(
    query: DuplicateQuery, ids: Sequence[int], prints: Mapping[int, duplicates.Fingerprint]
) -> list[tuple[int, float]]:
    """The candidates that score at least the threshold, with their scores."""
    if not ids:
        return []
    event = query.event
    mine = duplicates.fingerprint(event.title, event.description)
    scores = mine.similarities([prints[m] for m in ids])
    return [(m, s) for m, s in zip(ids, scores.tolist(), strict=True) if s >= query.threshold]


def _rank(
    query: DuplicateQuery, found: Sequence[tuple[int, float]], details: Mapping[int, Any]
) -> list[FoundDuplicate]:
    event = query.event
    new = NewMessage(event.title, event.description, None, event.lon, event.lat)
    hits = [
        (DuplicateCandidate(r.id, r.number, r.title, "", None, r.lon, r.lat, r.reported_at), s)
        for m, s in found
        if (r := details.get(m)) is not None
    ]
    near = [
        m
        for m in duplicates.rank(new, hits, len(hits))
        if m.distance_m is None or m.distance_m <= DUPLICATE_RADIUS_M
    ]
    return [
        FoundDuplicate(
            m.candidate.id,
            m.candidate.number,
            m.candidate.title,
            round(m.score, 3),
            details[m.candidate.id].region_path,
            details[m.candidate.id].unit_id,
            details[m.candidate.id].reporter_id,
        )
        for m in near[:DUPLICATE_SHOWN]
    ]
