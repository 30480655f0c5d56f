"""Every figure of the dashboard leads to its matters, and back up again.

A figure carries the query of the console's matter list (the inbox's URL parameters:
`place`, `state`, `overdue=1`, `from`, `to`, days in the installation's zone and both
inclusive) that lists exactly the matters it counts. The list answers those parameters
through GET /api/matters (place → region, overdue=1 → overdue=true, from/to → reported_from
and reported_to at the zone's midnights), with the same `scoped_matters` and
`overdue_clause` as the dashboard, so figure and list count the same matters.

A figure whose definition the list's filters cannot express has no query (None), never an
approximate one: matters closed on a day (the list has no closing-time range) and matters
closed at a level (the list's `level` is where a matter is handled now, not where it was
closed: a grid worker's own resolution closes at the grid while the matter stays at the
township).

The trail is the breadcrumb: the places from the caller's jurisdiction down to the one
shown, each a dashboard of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core.errors import NotFound
from fengqiao.core.permissions import Action, Principal
from fengqiao.geo.models import Grid, Region
from fengqiao.geo.service import find_place_unscoped
from fengqiao.matters.enums import OPEN_STATES, MatterState

ListQuery = dict[str, str | list[str]]

OPEN = [s.value for s in MatterState if s in OPEN_STATES]
# A matter's closing time is set on entering 已结案 and cleared only by reopening
# (已评价 → 已受理, matters/lifecycle.py): the matters with one are those in these states.
CLOSED = [MatterState.closed.value, MatterState.evaluated.value]


def matters_in(place: str | None, **filters: str | list[str]) -> ListQuery:
    """The list of matters within `place` (a region or grid code; None: all in view)."""
    return {**({"place": place} if place else {}), **filters}


def reported(place: str | None, first: date, last: date | None = None) -> ListQuery:
    """Reported from the first day to the last (the same day when no last), inclusive."""
    return matters_in(place, **{"from": first.isoformat(), "to": (last or first).isoformat()})


def open_in(place: str | None) -> ListQuery:
    return matters_in(place, state=OPEN)


def overdue_in(place: str | None) -> ListQuery:
    return matters_in(place, overdue="1")


def closed_in(place: str | None) -> ListQuery:
    return matters_in(place, state=CLOSED)


@dataclass
class Step:
    """One level of the breadcrumb: a region or a grid."""

    code: str
    name: str
    kind: str  # "region" or "grid"


def trail_of(session: Session, principal: Principal, path: str | None) -> list[Step]:
    """The places along `path` that lie within the caller's jurisdiction, widest first
    (the ones above it are not theirs to open)."""
    if not path:
        return []
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    mine = [p for p in prefixes if principal.covers(p)]
    found: dict[str, Step] = {}
    for model, kind in ((Region, "region"), (Grid, "grid")):
        rows = session.execute(
            select(model.path, model.code, model.name).where(model.path.in_(mine))
        ).all()
        found.update({str(p): Step(str(code), str(name), kind) for p, code, name in rows})
    return [found[p] for p in mine if p in found]


def read_trail(session: Session, principal: Principal, code: str) -> list[Step]:
    """The breadcrumb down to a region or grid within the caller's jurisdiction."""
    principal.require(Action.geo_read)
    place = find_place_unscoped(session, code=code)
    if place is None or not principal.covers(place.path):
        raise NotFound("行政区划", "region")
    return trail_of(session, principal, place.path)
