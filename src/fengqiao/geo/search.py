"""Places by name: the regions and grids of the caller's jurisdiction whose name holds the
words typed (or whose code begins with them), for the pickers of a jurisdiction or a place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session, aliased

from fengqiao.core.levels import Level
from fengqiao.core.permissions import Action, Principal
from fengqiao.geo.models import Grid, Region

PlaceKind = Literal["region", "grid"]


@dataclass(frozen=True)
class FoundPlace:
    kind: PlaceKind
    code: str
    name: str
    path: str
    level: int
    grid_kind: str | None  # base, enterprise, sea: for a grid
    region_name: str | None  # the region a grid lies in, or the region above a region


def _rank(name: Any, words: str) -> Any:
    """0 the name itself, 1 a name that begins with the words, 2 the rest (a name holding
    them, a code beginning with them); all 2 with no words."""
    if not words:
        return literal(2)
    lowered = func.lower(name)
    return case(
        (lowered == words, 0),
        (lowered.startswith(words, autoescape=True), 1),
        else_=2,
    )


def _matches(name: Any, code: Any, words: str) -> Any:
    return func.lower(name).contains(words, autoescape=True) | code.startswith(
        words, autoescape=True
    )


def read_places(
    session: Session,
    principal: Principal,
    q: str = "",
    *,
    kind: PlaceKind | None = None,
    limit: int = 20,
) -> list[FoundPlace]:
    """The places of the caller's jurisdiction that match `q`, best first: the name itself,
    then names that begin with it, then the rest; at each rank the higher place first (a
    township before its villages, regions before grids). With no words, the top of the
    jurisdiction's tree."""
    principal.require(Action.geo_read)
    words = q.strip().lower()
    found: list[tuple[tuple[int, int, str], FoundPlace]] = []
    if kind in (None, "region"):
        parent = aliased(Region)
        rank = _rank(Region.name, words)
        stmt = (
            select(Region, parent.name, rank)
            .outerjoin(parent, parent.id == Region.parent_id)
            .where(principal.scope(Region.path))
        )
        if words:
            stmt = stmt.where(_matches(Region.name, Region.code, words)).order_by(rank)
        stmt = stmt.order_by(func.length(Region.path), Region.path).limit(limit)
        for region, above, r in session.execute(stmt):
            place = FoundPlace(
                "region", region.code, region.name, region.path, region.level, None, above
            )
            found.append(((r, -region.level, region.path), place))
    if kind in (None, "grid"):
        rank = _rank(Grid.name, words)
        stmt = (
            select(Grid, Region.name, rank)
            .join(Region, Region.id == Grid.region_id)
            .where(principal.scope(Grid.path))
        )
        if words:
            stmt = stmt.where(_matches(Grid.name, Grid.code, words)).order_by(rank)
        stmt = stmt.order_by(Grid.path).limit(limit)
        for grid, region_name, r in session.execute(stmt):
            place = FoundPlace(
                "grid", grid.code, grid.name, grid.path, Level.grid.value, grid.kind, region_name
            )
            found.append(((r, -Level.grid.value, grid.path), place))
    found.sort(key=lambda pair: pair[0])
    return [place for _, place in found[:limit]]
