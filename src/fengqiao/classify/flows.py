"""What intake and dispatch do with the text model: category suggestions mapped onto the
installation's categories, the decision to route by itself, the scoring of possible
duplicates, and the dispatchers' corrections kept as training data.

This package knows no matter model: callers hand it plain values (fengqiao.matters.duplicates
runs the candidate query over recent matters and scores them here)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.classify import duplicates
from fengqiao.classify.duplicates import DuplicateCandidate, NewMessage
from fengqiao.classify.models import CategoryCorrection
from fengqiao.core import clock

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
    session: Session,
    *,
    matter_id: int,
    title: str,
    text: str,
    suggested: Mapping[str, Any] | None,
    category_code: str,
    name: str,
    actor_id: int | None,
) -> None:
    """Keeps the message with the dispatcher's category when it differs from the model's
    first suggestion (`suggested`: the matter's category suggestions, as kept)."""
    suggested = suggested or {}
    items = suggested.get("items") or []
    if not items or items[0].get("code") == category_code:
        return
    session.add(
        CategoryCorrection(
            matter_id=matter_id,
            title=title,
            text=text,
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


class MatterFacts(Protocol):
    """What is kept of a matter: a matter, or a row of these columns of it."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def reported_at(self) -> datetime: ...
    @property
    def region_path(self) -> str: ...
    @property
    def reporter_id(self) -> int | None: ...


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
    def of(cls, matter: MatterFacts) -> RecentMatter:
        return cls(
            matter.id,
            matter.number,
            matter.title,
            matter.lon,
            matter.lat,
            matter.reported_at,
            matter.region_path,
            matter.reporter_id,
            duplicates.fingerprint(matter.title, matter.description or ""),
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


def closest(
    new: NewMessage,
    fingerprint: duplicates.Fingerprint,
    candidates: Sequence[RecentMatter],
    threshold: float,
) -> list[FoundDuplicate]:
    """The possible duplicates of a new message among recent matters near it in place and
    time (`fingerprint` is the new message's): those whose text scores at least
    `threshold` and that lie within the radius, best first."""
    if not candidates:
        return []
    scores = fingerprint.similarities([c.fingerprint for c in candidates])
    # Ranked (and measured) are only the candidates that score; most do not.
    scored = {
        c.id: (c, s) for c, s in zip(candidates, scores.tolist(), strict=True) if s >= threshold
    }
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
