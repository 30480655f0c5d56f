"""What intake and dispatch do with the text model: category suggestions mapped onto the
installation's categories, the decision to route by itself, possible duplicates, and the
dispatchers' corrections kept as training data."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    Float,
    Integer,
    Select,
    any_,
    bindparam,
    column,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session

from fengqiao.classify import duplicates
from fengqiao.classify.duplicates import MATTER_PRINTS, DuplicateCandidate, NewMessage
from fengqiao.classify.models import CategoryCorrection
from fengqiao.core import clock
from fengqiao.events.models import Event

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


_Candidate = Select[int, str, str, float | None, float | None, datetime]
_COLUMNS = (Event.id, Event.number, Event.title, Event.lon, Event.lat, Event.reported_at)
_OPEN = Event.state.not_in(("merged", "rejected"))


def _box(lon: float, lat: float) -> tuple[float, float, float, float]:
    """(lon0, lon1, lat0, lat1) around a point, a little larger than the radius: a range the
    index answers; the finder measures the true distance."""
    dlat = DUPLICATE_RADIUS_M / 111_000.0
    dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
    return lon - dlon, lon + dlon, lat - dlat, lat + dlat


def _candidates(event: Event, since: datetime, near_grids: Sequence[int] | None) -> _Candidate:
    """The newest matters that may repeat `event`: reported since `since`, not closed as
    merged or rejected, in a box around its point, narrowed to the grids that may hold a
    point that near when they are known (the (grid, time) index); else in its grid, or its
    region."""
    statement = (
        select(*_COLUMNS)
        .where(Event.reported_at >= since, _OPEN)
        .order_by(Event.reported_at.desc())
        .limit(DUPLICATE_CANDIDATES)
    )
    if event.lon is not None and event.lat is not None:
        lon0, lon1, lat0, lat1 = _box(event.lon, event.lat)
        statement = statement.where(Event.lon.between(lon0, lon1), Event.lat.between(lat0, lat1))
        if near_grids is not None:
            statement = statement.where(Event.grid_id.in_(list(near_grids)))
    elif event.grid_id is not None:
        statement = statement.where(Event.grid_id == event.grid_id)
    else:
        statement = statement.where(Event.region_path == event.region_path)
    return statement


def _nearby_statement() -> Select[Any]:
    """PostgreSQL: the candidates of many positioned matters whose nearby grids are known,
    in one statement of fixed text (so that it is prepared once per connection): the
    matters come as a JSON array of boxes and grid lists, and each is joined laterally to
    its newest candidates."""
    boxes = (
        func.jsonb_to_recordset(bindparam("queries", type_=JSONB))
        .table_valued(
            column("query", Integer),
            column("lon0", Float),
            column("lon1", Float),
            column("lat0", Float),
            column("lat1", Float),
            column("grids", ARRAY(Integer)),
        )
        .render_derived(name="boxes", with_types=True)
    )
    found = (
        select(*_COLUMNS)
        .where(
            Event.reported_at >= bindparam("since"),
            _OPEN,
            Event.grid_id == any_(boxes.c.grids),
            Event.lon.between(boxes.c.lon0, boxes.c.lon1),
            Event.lat.between(boxes.c.lat0, boxes.c.lat1),
        )
        .order_by(Event.reported_at.desc())
        .limit(DUPLICATE_CANDIDATES)
        .lateral("found")
    )
    return select(boxes.c.query, *found.c).select_from(boxes.join(found, true()))


_NEARBY = _nearby_statement()


@dataclass(frozen=True)
class DuplicateQuery:
    """A new matter to look for possible duplicates of, with the similarity from which a
    candidate counts and the grids that may hold a point within the radius (None: not
    known)."""

    event: Event
    threshold: float
    near_grids: Sequence[int] | None = None


def _candidate_rows(connection: Connection, queries: Sequence[DuplicateQuery]) -> list[Any]:
    """The candidates of every query, each row with the index of its query."""
    since = clock.now() - DUPLICATE_WINDOW
    rows: list[Any] = []
    rest = list(enumerate(queries))
    if connection.dialect.name == "postgresql":
        nearby = []
        for i, q in rest:
            lon, lat = q.event.lon, q.event.lat
            if lon is not None and lat is not None and q.near_grids is not None:
                lon0, lon1, lat0, lat1 = _box(lon, lat)
                box = {"lon0": lon0, "lon1": lon1, "lat0": lat0, "lat1": lat1}
                nearby.append({"query": i, **box, "grids": list(q.near_grids)})
        if nearby:
            rows += connection.execute(_NEARBY, {"queries": nearby, "since": since}).all()
            done = {b["query"] for b in nearby}
            rest = [(i, q) for i, q in rest if i not in done]
    arms = [
        select(literal(i).label("query"), *found.c)
        for i, q in rest
        for found in [_candidates(q.event, since, q.near_grids).subquery()]
    ]
    if arms:
        rows += connection.execute(union_all(*arms) if len(arms) > 1 else arms[0]).all()
    return rows


def find_duplicates(
    connection: Connection, queries: Sequence[DuplicateQuery]
) -> list[list[dict[str, Any]]]:
    """For each new matter, the matters reported in the window before it within the radius
    (or in its grid, or region, when it has no position), not closed as merged or
    rejected, whose text scores at least its threshold; best first. The candidates of all
    the matters come in one query, and texts are read (in one more) only for candidates
    whose fingerprint this process has not kept."""
    if not queries:
        return []
    rows = _candidate_rows(connection, queries)
    prints = {r.id: p for r in rows if (p := MATTER_PRINTS.get(r.id)) is not None}
    unseen = {r.id for r in rows if r.id not in prints}
    if unseen:
        texts = select(Event.id, Event.title, Event.description).where(Event.id.in_(unseen))
        for matter_id, title, text in connection.execute(texts):
            prints[matter_id] = MATTER_PRINTS.put(matter_id, title, text or "")
    by_query: dict[int, list[Any]] = {}
    for row in rows:
        by_query.setdefault(row.query, []).append(row)
    return [_score(q, by_query.get(i, []), prints) for i, q in enumerate(queries)]


def _score(
    query: DuplicateQuery, rows: Sequence[Any], prints: Mapping[int, duplicates.Fingerprint]
) -> list[dict[str, Any]]:
    if not rows:
        return []
    event = query.event
    mine = duplicates.fingerprint(event.title, event.description)
    scores = mine.similarities([prints[r.id] for r in rows])
    # Candidates are built only for the rows that score (most do not).
    hits = [
        (DuplicateCandidate(r.id, r.number, r.title, "", None, r.lon, r.lat, r.reported_at), s)
        for r, s in zip(rows, scores.tolist(), strict=True)
        if s >= query.threshold
    ]
    new = NewMessage(event.title, event.description, None, event.lon, event.lat)
    near = [
        m
        for m in duplicates.rank(new, hits, len(hits))
        if m.distance_m is None or m.distance_m <= DUPLICATE_RADIUS_M
    ]
    return [
        {
            "id": m.candidate.id,
            "number": m.candidate.number,
            "title": m.candidate.title,
            "score": round(m.score, 3),
        }
        for m in near[:DUPLICATE_SHOWN]
    ]
