"""What intake and dispatch do with the text model: category suggestions mapped onto the
installation's categories, the decision to route by itself, possible duplicates, and the
dispatchers' corrections kept as training data."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Select, literal, select, union_all
from sqlalchemy.orm import Session

from fengqiao.classify import duplicates
from fengqiao.classify.duplicates import MATTER_PRINTS, DuplicateCandidate, NewMessage
from fengqiao.classify.models import CategoryCorrection
from fengqiao.core import clock
from fengqiao.events.models import Event

# Duplicates: a matter reported within this window and radius, with similar text.
DUPLICATE_WINDOW = timedelta(days=7)
DUPLICATE_RADIUS_M = 500.0
DUPLICATE_CANDIDATES = 50  # the newest ones looked at (about 0.2 ms of scoring each)
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


def _candidates(event: Event, since: datetime, near_grids: Sequence[int] | None) -> _Candidate:
    """The newest matters that may repeat `event`: reported since `since`, not closed as
    merged or rejected, in a box around its point (index-friendly; the finder measures the
    true distance), narrowed to the grids that may hold a point that near when they are
    known (the (grid, time) index); else in its grid, or its region."""
    statement = (
        select(Event.id, Event.number, Event.title, Event.lon, Event.lat, Event.reported_at)
        .where(Event.reported_at >= since, Event.state.not_in(("merged", "rejected")))
        .order_by(Event.reported_at.desc())
        .limit(DUPLICATE_CANDIDATES)
    )
    if event.lon is not None and event.lat is not None:
        dlat = DUPLICATE_RADIUS_M / 111_000.0
        dlon = dlat / max(math.cos(math.radians(event.lat)), 0.1)
        statement = statement.where(
            Event.lon.between(event.lon - dlon, event.lon + dlon),
            Event.lat.between(event.lat - dlat, event.lat + dlat),
        )
        if near_grids is not None:
            statement = statement.where(Event.grid_id.in_(list(near_grids)))
    elif event.grid_id is not None:
        statement = statement.where(Event.grid_id == event.grid_id)
    else:
        statement = statement.where(Event.region_path == event.region_path)
    return statement


@dataclass(frozen=True)
class DuplicateQuery:
    """A new matter to look for possible duplicates of, with the similarity from which a
    candidate counts and the grids that may hold a point within the radius (None: not
    known)."""

    event: Event
    threshold: float
    near_grids: Sequence[int] | None = None


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
    since = clock.now() - DUPLICATE_WINDOW
    arms = [
        select(literal(i).label("query"), *found.c)
        for i, q in enumerate(queries)
        for found in [_candidates(q.event, since, q.near_grids).subquery()]
    ]
    rows = connection.execute(union_all(*arms) if len(arms) > 1 else arms[0]).all()
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
    candidates = [
        DuplicateCandidate(r.id, r.number, r.title, "", None, r.lon, r.lat, r.reported_at)
        for r in rows
    ]
    new = NewMessage(event.title, event.description, None, event.lon, event.lat)
    finder = duplicates.DuplicateFinder(candidates, [prints[r.id] for r in rows])
    near = [
        m
        for m in finder.find(new, query.threshold, limit=len(candidates))
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
