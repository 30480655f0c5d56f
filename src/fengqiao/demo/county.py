"""What the demo history's simulation knows of the county, read once: its grids and their
shapes, its units, who acts (grid staff, dispatchers, handlers), and what the matters
service would decide (routes and deadlines)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.calendar.service import build_calendar
from fengqiao.core.levels import Level, ancestor_at, path_level
from fengqiao.core.models import Category
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.geo.models import Grid, Region
from fengqiao.matters import service
from fengqiao.matters.models import Matter
from fengqiao.people.models import GridMember, Unit, User, UserRole

GRID_STAFF_ROLES = ("grid_worker_fulltime", "grid_worker_parttime", "grid_head")


@dataclass
class Actor:
    id: int | None
    name: str


class History:
    """What the simulation needs to know of the county, read once."""

    def __init__(self, session: Session, rng: random.Random) -> None:
        self.session, self.rng = session, rng
        self.cal: WorkCalendar = build_calendar(session)
        self.grids = list(session.scalars(select(Grid).order_by(Grid.code)))
        self.sea_grids = [g for g in self.grids if g.kind == "sea"] or self.grids
        self.land_grids = [g for g in self.grids if g.kind != "sea"] or self.grids
        self.towns = {
            r.path: r.name
            for r in session.scalars(select(Region).where(func.length(Region.code) == 9))
        }
        self.units = {u.id: u for u in session.scalars(select(Unit))}
        self.parents = {
            c: p for c, p in session.execute(select(Category.code, Category.parent_code))
        }
        staff: dict[int, list[Actor]] = defaultdict(list)
        for grid_id, user_id, name in session.execute(
            select(GridMember.grid_id, User.id, User.display_name)
            .join(User, User.id == GridMember.user_id)
            .where(GridMember.team_role.in_(GRID_STAFF_ROLES))
            .order_by(GridMember.id)
        ):
            staff[grid_id].append(Actor(user_id, name))
        self.staff = staff
        self.handlers: dict[int, Actor] = {}
        self.dispatchers: dict[str, Actor] = {}
        for user in session.scalars(
            select(User).join(UserRole).where(UserRole.role.in_(["unit_handler", "dispatcher"]))
        ):
            if user.unit_id is None:
                continue
            unit = self.units[user.unit_id]
            if unit.kind == "centre":
                self.dispatchers.setdefault(unit.region_path, Actor(user.id, user.display_name))
            else:
                self.handlers.setdefault(unit.id, Actor(user.id, user.display_name))
        self.routing = service.load_routing(session)
        self.policies: dict[tuple[str | None, str], Any] = {}
        self.shapes = {g.id: shapely.from_wkb(g.geometry_wkb) for g in self.grids}
        for shape in self.shapes.values():
            shapely.prepare(shape)

    # -- who acts

    def dispatcher(self, row: dict[str, Any]) -> Actor:
        path = ancestor_at(row["region_path"], row["level"])
        if path in self.dispatchers:
            return self.dispatchers[path]
        town = self.towns.get(path)
        return Actor(None, f"{town}综合信息指挥室" if town else "区社会治理中心")

    def grid_worker(self, row: dict[str, Any]) -> Actor:
        team = self.staff.get(int(row["grid_id"])) or [Actor(None, "网格员")]
        return team[int(row["id"]) % len(team)]

    def handler(self, unit_id: int) -> Actor:
        return self.handlers.get(unit_id) or Actor(None, f"{self.units[unit_id].name}经办人")

    # -- what the service would decide

    def route(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """The routing rule or territorial default, as at intake."""
        probe = Matter(
            category_code=row["category_code"],
            urgency=row["urgency"],
            region_path=row["region_path"],
        )
        return service.suggest_route(self.routing, probe)

    def county_unit(self, category: str) -> int | None:
        wanted = {category, self.parents.get(category)}
        for unit in sorted(self.units.values(), key=lambda u: u.code):
            county = path_level(unit.region_path) == Level.county and unit.kind == "department"
            if county and wanted & set(unit.categories):
                return unit.id
        return None

    def deadlines(self, row: dict[str, Any], start: datetime) -> dict[str, Any]:
        key = (row["category_code"], row["urgency"])
        if key not in self.policies:
            self.policies[key] = service.policy_for(self.session, *key)
        return service.deadlines(self.cal, self.policies[key], start)

    def position(self, grid: Grid) -> tuple[float, float]:
        shape = self.shapes[grid.id]
        x0, y0, x1, y1 = shape.bounds
        for _ in range(50):
            xs = np.array([self.rng.uniform(x0, x1) for _ in range(8)])
            ys = np.array([self.rng.uniform(y0, y1) for _ in range(8)])
            inside = shapely.contains_xy(shape, xs, ys)
            if inside.any():
                i = int(np.argmax(inside))
                return round(float(xs[i]), 6), round(float(ys[i]), 6)
        return grid.centroid_lon, grid.centroid_lat
