"""A year of matters for the demo county (about 15,000), in every state of the loop.

Each matter follows one of the loop's paths — self-resolved in the grid, rejected, merged,
dispatched and handled, returned and re-dispatched, extended, escalated and sent down,
reworked after a failed verification, reopened after a dissatisfied rating — with plausible
durations. A path that would run past `end` stops where `end` finds it, so the newest matters
are open in every state. Routing and deadlines come from the events service; the rows are
written in bulk because replaying a year through the service one request at a time would
take minutes. `tests/test_demo_history.py` checks every matter against the transition table
and its kept facts against those replayed from its timeline.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from fengqiao.calendar.service import build_calendar
from fengqiao.core import audit
from fengqiao.core.levels import COUNTY, TOWNSHIP, ancestor_at, path_level
from fengqiao.core.models import Category
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.events import service
from fengqiao.events.enums import EventState as S
from fengqiao.events.lifecycle import TRANSITIONS
from fengqiao.events.models import Event
from fengqiao.geo.cells import cell_of
from fengqiao.geo.models import Grid, Region
from fengqiao.people.models import GridMember, Unit, User, UserRole

ZONE = ZoneInfo("Asia/Shanghai")
GRID_STAFF_ROLES = ("grid_worker_fulltime", "grid_worker_parttime", "grid_head")

# (category, weight, share a grid worker settles on the spot, titles)
KINDS: list[tuple[str, int, float, list[str]]] = [
    (
        "urban_management",
        22,
        0.55,
        ["占道经营", "乱堆乱放", "垃圾未及时清运", "路灯损坏", "违规张贴小广告", "油烟扰民"],
    ),
    ("dispute_family", 9, 0.45, ["邻里噪音纠纷", "宅基地界址纠纷", "赡养老人纠纷", "婚姻家庭矛盾"]),
    ("dispute_labour", 4, 0.1, ["工地拖欠农民工工资", "渔船雇工工资纠纷"]),
    ("maritime_fishery", 6, 0.2, ["渔船停靠纠纷", "海上养殖区界址争议", "渔具损坏赔偿纠纷"]),
    ("security", 8, 0.3, ["出租房屋安全隐患", "电动车楼道充电", "可疑人员出没"]),
    ("fire_safety", 5, 0.35, ["消防通道被占用", "楼道堆放杂物", "灭火器过期"]),
    ("safety_production", 4, 0.1, ["小作坊安全隐患", "码头作业安全隐患"]),
    ("food_safety", 3, 0.1, ["无证经营小吃摊", "海鲜排档卫生问题"]),
    ("environment", 6, 0.2, ["海滩垃圾堆积", "养殖尾水直排", "施工扬尘"]),
    ("transport", 5, 0.15, ["道路坑洼", "公交站牌损坏", "轮渡码头护栏松动"]),
    ("urban_construction", 5, 0.1, ["违章搭建", "危旧房屋隐患", "下水道堵塞"]),
    ("livelihood", 7, 0.4, ["独居老人需要帮扶", "低保申请咨询", "停水停电"]),
    ("labour_social", 3, 0.1, ["社保缴费问题", "就业困难求助"]),
    ("health", 3, 0.2, ["疫苗接种咨询", "村卫生室缺药"]),
    ("commerce_tourism", 3, 0.1, ["民宿价格纠纷", "游客投诉宰客"]),
    ("education_culture", 2, 0.1, ["校车安全隐患", "文化礼堂设施损坏"]),
    ("petition", 2, 0.0, ["征地补偿信访", "重复信访事项"]),
]
CHANNELS = [("grid_app", 60), ("hotline", 20), ("web", 12), ("letter", 3), ("video", 5)]
URGENCIES = [("normal", 88), ("urgent", 10), ("critical", 2)]
RISKS = [("green", 70), ("blue", 15), ("yellow", 10), ("orange", 4), ("red", 1)]


class _Stop(Exception):
    """The path ran past the end of the history: the matter stays where it is."""


@dataclass
class Actor:
    id: int | None
    name: str


@dataclass
class _Matter:
    """One matter being simulated: its row and its timeline."""

    row: dict[str, Any]
    t: datetime
    end: datetime
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str:
        return str(self.row["state"])

    def step(
        self,
        action: str,
        actor: Actor,
        hours: float,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
        to: str | None = None,
    ) -> datetime:
        at = self.t + timedelta(hours=hours)
        if at > self.end:
            raise _Stop
        self.t = at
        if to is None:
            target = TRANSITIONS[action].target
            to = target.value if target is not None else self.state
        self.entries.append(
            {
                "at": at,
                "actor_id": actor.id,
                "actor_name": actor.name,
                "action": action,
                "from_state": self.state,
                "to_state": to,
                "reason": reason,
                "detail": detail or {},
            }
        )
        self.row["state"] = to
        return at


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
        probe = Event(
            category_code=row["category_code"],
            urgency=row["urgency"],
            region_path=row["region_path"],
        )
        return service.suggest_route(self.routing, probe)

    def county_unit(self, category: str) -> int | None:
        wanted = {category, self.parents.get(category)}
        for unit in sorted(self.units.values(), key=lambda u: u.code):
            county = path_level(unit.region_path) == COUNTY and unit.kind == "department"
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


def _pick(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def build_history(session: Session, end: datetime, count: int = 15_000, seed: int = 2026) -> int:
    """Write `count` matters reported over the year before `end`; returns how many."""
    rng = random.Random(seed)
    world = History(session, rng)
    first_id = (session.scalar(select(func.max(Event.id))) or 0) + 1
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
    recent_by_community: dict[str, list[_Matter]] = defaultdict(list)
    for n, offset in enumerate(seconds):
        matter = _simulate(
            world, first_id + n, start + timedelta(seconds=offset), end, recent_by_community
        )
        rows.append(matter.row)
    for row in rows:
        timeline.extend(row.pop("_entries"))
    # Plain executemany through Core: the ORM's bulk path would send a statement per row.
    connection = session.connection()
    tables = Event.metadata.tables
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
    event_id: int,
    reported_at: datetime,
    end: datetime,
    recent: dict[str, list[_Matter]],
) -> _Matter:
    rng = world.rng
    kind = rng.choices(KINDS, weights=[k[1] for k in KINDS])[0]
    category, _, on_the_spot, titles = kind
    candidates = world.sea_grids if category == "maritime_fishery" else world.land_grids
    grid = candidates[rng.randrange(len(candidates))]
    lon, lat = world.position(grid)
    channel = _pick(rng, CHANNELS)
    reporter: Actor
    row: dict[str, Any] = {
        "id": event_id,
        "number": f"FQ{reported_at.astimezone(ZONE):%Y%m%d}{event_id:07d}",
        "idempotency_key": None,
        "title": rng.choice(titles),
        "description": "",
        "category_code": category,
        "channel": channel,
        "urgency": _pick(rng, URGENCIES),
        "risk_colour": _pick(rng, RISKS),
        "state": S.reported.value,
        "level": min(max(path_level(grid.path), TOWNSHIP), COUNTY),
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
    row["description"] = f"{row['address']}发现{row['title']}，请尽快处理。"
    row["suggestion"] = world.route(row)
    m = _Matter(row, reported_at, end)
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
    with contextlib.suppress(_Stop):  # the path ran past `end`: the matter stays open
        _walk(world, m, on_the_spot, recent)
    if m.state == S.dispatched:
        row["next_sweep_at"] = row["sign_due_at"]
    elif m.state == S.in_progress:
        row["next_sweep_at"] = row["resolve_due_at"]
    row["updated_at"] = m.t
    for entry in m.entries:
        entry["event_id"] = event_id
    row["_entries"] = m.entries
    if m.state not in (S.merged, S.rejected):
        recent[ancestor_at(grid.path, 2)].append(m)
    return m


def _walk(world: History, m: _Matter, on_the_spot: float, recent: dict[str, list[_Matter]]) -> None:
    rng, row = world.rng, m.row
    grid_worker = world.grid_worker(row)
    if rng.random() < on_the_spot and row["channel"] in ("grid_app", "video"):
        at = m.step("self_resolve", grid_worker, rng.uniform(0.3, 6), "现场劝导，已处理完毕")
        row.update(
            self_resolved=True,
            accepted_at=at,
            closed_at=at,
            closed_on_time=True,
            closed_level=1,
        )
        if rng.random() < 0.5:
            _rate(world, m, _rater(world, row), rng.choice(["satisfied", "basically"]))
        return
    fate = rng.random()
    if fate < 0.03:
        m.step("reject", world.dispatcher(row), rng.uniform(0.5, 8), "不属于受理范围，已告知来电人")
        return
    if fate < 0.06 and _merge(world, m, recent):
        return
    at = m.step("accept", world.dispatcher(row), rng.expovariate(1 / 3))
    row["accepted_at"] = at
    if rng.random() < 0.06:  # beyond the township: up to the county, sometimes back down
        _escalate(world, m, world.dispatcher(row), "涉及多个部门，需区级统筹协调")
        if rng.random() < 0.3:
            m.step(
                "send_down",
                world.dispatcher(row),
                rng.uniform(1, 12),
                detail={"from_level": row["level"], "to_level": TOWNSHIP},
            )
            row["level"] = TOWNSHIP
    unit_id = _dispatch(world, m)
    if rng.random() < 0.05:  # the unit says it is not theirs
        m.step(
            "return",
            world.handler(unit_id),
            rng.uniform(1, 20),
            "不属于本单位职责",
            {"unit_id": unit_id, "grounds": "不属于本单位职责"},
        )
        row.update(unit_id=None, return_count=row["return_count"] + 1, supervision=0)
        row.update(dict.fromkeys(service.DUE_FIELDS))
        county = world.county_unit(row["category_code"])
        unit_id = _dispatch(world, m, county if county != unit_id else None)
    _handle(world, m, unit_id)
    if rng.random() < 0.04:  # verification on site fails: rework
        at = m.step("verify_fail", grid_worker, rng.uniform(2, 48), "现场核查问题依旧存在")
        row["rework_count"] += 1
        row.update(dispatched_at=at, dispatch_count=row["dispatch_count"] + 1, supervision=0)
        row.update(world.deadlines(row, at))
        m.entries[-1]["detail"] = {
            "unit_id": unit_id,
            "resolve_due_at": _iso(row["resolve_due_at"]),
        }
        _handle(world, m, unit_id)
    _verify_ok(world, m, grid_worker)
    rater = _rater(world, row)
    if rng.random() < 0.75 and _rate(world, m, rater) == "dissatisfied":
        unit_id = _dispatch(world, m)
        _handle(world, m, unit_id)
        _verify_ok(world, m, grid_worker)
        _rate(world, m, rater, "satisfied")


def _rater(world: History, row: dict[str, Any]) -> Actor:
    """The reporter rates; for callers without an account the dispatcher records it."""
    if row["reporter_id"] is not None:
        return Actor(row["reporter_id"], row["reporter_name"])
    return world.dispatcher(row)


def _merge(world: History, m: _Matter, recent: dict[str, list[_Matter]]) -> bool:
    """Merge into an open matter of the same community reported in the past three days."""
    row = m.row
    pool = recent.get(ancestor_at(row["region_path"], 2), [])
    for target in reversed(pool[-20:]):
        t_at = m.t + timedelta(hours=1)
        if t_at - target.row["reported_at"] > timedelta(days=3):
            break
        # The target's state at that moment: after its last entry not later than t_at.
        before = [e for e in target.entries if e["at"] <= t_at]
        if before[-1]["to_state"] in (S.merged, S.rejected):
            continue
        at = m.step(
            "merge",
            world.dispatcher(row),
            1,
            f"与 {target.row['number']} 为同一事项",
            {"target_id": target.row["id"], "target_number": target.row["number"]},
        )
        row["merged_into_id"] = target.row["id"]
        state = before[-1]["to_state"]
        target.entries.insert(
            len(before),
            {
                "event_id": target.row["id"],
                "at": at,
                "actor_id": m.entries[-1]["actor_id"],
                "actor_name": m.entries[-1]["actor_name"],
                "action": "merge_in",
                "from_state": state,
                "to_state": state,
                "reason": f"合并 {row['number']}",
                "detail": {"merged_id": row["id"]},
            },
        )
        return True
    return False


def _escalate(world: History, m: _Matter, actor: Actor, reason: str) -> None:
    row = m.row
    old = row["level"]
    at = m.step(
        "escalate",
        actor,
        world.rng.uniform(1, 24),
        reason,
        {"from_level": old, "to_level": old + 1},
    )
    row["level"] = old + 1
    row["accepted_at"] = row["accepted_at"] or at
    row.update(unit_id=None, supervision=0, next_sweep_at=None, extension_until=None)
    row.update(dict.fromkeys(service.DUE_FIELDS))


def _dispatch(world: History, m: _Matter, unit_id: int | None = None) -> int:
    row = m.row
    suggestion = row["suggestion"] or {}
    if unit_id is None:
        unit_id = suggestion.get("unit_id") if row["level"] < COUNTY else None
    if unit_id is None:
        unit_id = world.county_unit(row["category_code"])
    assert unit_id is not None, row["category_code"]
    unit = world.units[unit_id]
    at = m.step("dispatch", world.dispatcher(row), world.rng.expovariate(1 / 4))
    row.update(
        unit_id=unit_id,
        dispatched_at=at,
        first_dispatched_at=row["first_dispatched_at"] or at,
        dispatch_count=row["dispatch_count"] + 1,
        supervision=0,
    )
    row.update(world.deadlines(row, at))
    m.entries[-1]["detail"] = {
        "unit_id": unit_id,
        "unit_name": unit.name,
        "route_reason": "as suggested: " + str(suggestion.get("reason"))
        if suggestion.get("unit_id") == unit_id
        else "chosen by the dispatcher",
        "sign_due_at": _iso(row["sign_due_at"]),
        "resolve_due_at": _iso(row["resolve_due_at"]),
        "due_flagged": row["due_flagged"],
    }
    return unit_id


def _handle(world: History, m: _Matter, unit_id: int) -> None:
    """Sign, perhaps ask for more time, report back, and have it checked."""
    rng, row, handler = world.rng, m.row, world.handler(unit_id)
    # Most units sign within hours; one in ten lets it wait for days (the sweeper's work).
    at = m.step(
        "sign", handler, rng.expovariate(1 / 6) if rng.random() < 0.9 else rng.uniform(24, 150)
    )
    row.update(signed_at=at, supervision=0)
    if rng.random() < 0.04:
        until = (row["resolve_due_at"] or m.t) + timedelta(days=5)
        m.step(
            "request_extension",
            handler,
            rng.uniform(4, 48),
            "需协调多方，申请延期",
            {"until": until.isoformat()},
        )
        row["extension_until"] = until
        if rng.random() < 0.6:
            old = row["resolve_due_at"]
            m.step(
                "approve_extension",
                world.dispatcher(row),
                rng.uniform(1, 12),
                detail={"from": _iso(old), "to": _iso(until)},
            )
            row.update(resolve_due_at=until, extension_until=None, supervision=0)
        else:
            m.step(
                "deny_extension",
                world.dispatcher(row),
                rng.uniform(1, 12),
                "请按原期限办结",
                {"requested": _iso(until)},
            )
            row["extension_until"] = None
    # Most are handled within the time limit; some run late.
    hours = rng.expovariate(1 / 40) if rng.random() < 0.9 else rng.uniform(80, 400)
    at = m.step("feedback", handler, hours, "已处理完毕")
    on_time = row["resolve_due_at"] is None or at <= row["resolve_due_at"]
    if row["handled_at"] is None:
        row["handled_on_time"] = on_time
    row.update(handled_at=at, supervision=0)
    m.entries[-1]["detail"] = {"on_time": on_time}
    m.step("request_verification", world.dispatcher(row), rng.uniform(0.5, 12))


def _verify_ok(world: History, m: _Matter, grid_worker: Actor) -> None:
    row = m.row
    at = m.step("verify_ok", grid_worker, world.rng.uniform(1, 36))
    on_time = row["resolve_due_at"] is None or (row["handled_at"] or at) <= row["resolve_due_at"]
    level = path_level(world.units[row["unit_id"]].region_path) if row["unit_id"] else row["level"]
    row.update(closed_at=at, closed_on_time=on_time, closed_level=level)
    m.entries[-1]["detail"] = {"on_time": on_time, "closed_level": level}


def _rate(world: History, m: _Matter, rater: Actor, rating: str | None = None) -> str:
    row = m.row
    rating = rating or world.rng.choices(["satisfied", "basically", "dissatisfied"], [80, 15, 5])[0]
    m.step("rate", rater, world.rng.uniform(2, 72), detail={"rating": rating})
    row["rating"] = rating
    if rating == "dissatisfied":
        m.step("reopen", rater, 0, "群众评价不满意，重新办理", to=S.accepted.value)
        row.update(
            reopen_count=row["reopen_count"] + 1,
            self_resolved=False,
            closed_at=None,
            closed_on_time=None,
            closed_level=None,
            unit_id=None,
            supervision=0,
            extension_until=None,
        )
        row.update(dict.fromkeys(service.DUE_FIELDS))
    return rating


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
