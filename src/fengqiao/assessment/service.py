"""Indicators of the closed loop (reference §1.4), per region, unit and period.

Each matter keeps facts as it moves (accepted_at, handled_on_time, rework_count, …); the
indicators are sums over those facts in SQL. `facts_from_timeline` derives the same facts
from scratch by replaying a matter's timeline, so the two can be checked against each other.

Definitions (立案 = accepted; matters merged or rejected are not cases):
- 结案率 closure_rate = closed / accepted; 按期结案率 = closed on time / accepted
- 处置率 disposal_rate = handled / dispatched; 按期处置率 = handled on time / dispatched
- 返工率 rework_rate = reworked / handled (返工 = sent back after failed verification)
- 准确派遣率 accurate_dispatch_rate = (dispatched − reworked) / dispatched
- 退单率 return_rate = returned / dispatched
- level shares: closed at each level / closed (grid 1, community 2, township 3, county 4)
- satisfaction = (满意 + 基本满意) / rated
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, Select, and_, case, cast, func, select
from sqlalchemy.orm import Session

from fengqiao.assessment import drill
from fengqiao.core import clock
from fengqiao.core.errors import NotFound
from fengqiao.core.permissions import Action, Principal, within
from fengqiao.geo.models import Grid, Region
from fengqiao.geo.service import Place, find_place_unscoped
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.matters.service import overdue_clause, scoped_matters


@dataclass
class Facts:
    """What the indicators need to know of one matter."""

    accepted: bool = False
    merged_or_rejected: bool = False
    dispatched: bool = False
    handled: bool = False
    handled_on_time: bool = False
    closed: bool = False
    closed_on_time: bool = False
    closed_level: int | None = None
    reworked: bool = False
    returned: bool = False
    self_resolved: bool = False
    rating: str | None = None


def facts_of(matter: Matter) -> Facts:
    """The facts as kept on the row (incrementally)."""
    return Facts(
        accepted=matter.accepted_at is not None and matter.state not in ("merged", "rejected"),
        merged_or_rejected=matter.state in ("merged", "rejected"),
        dispatched=matter.first_dispatched_at is not None,
        handled=matter.handled_at is not None,
        handled_on_time=bool(matter.handled_on_time),
        closed=matter.closed_at is not None,
        closed_on_time=bool(matter.closed_on_time) and matter.closed_at is not None,
        closed_level=matter.closed_level if matter.closed_at is not None else None,
        reworked=matter.rework_count > 0,
        returned=matter.return_count > 0,
        self_resolved=matter.self_resolved,
        rating=matter.rating,
    )


def facts_from_timeline(entries: list[TimelineEntry]) -> Facts:
    """The same facts, from scratch: replay what happened."""
    f = Facts()
    for e in entries:
        a, d = e.action, e.detail or {}
        if a in ("accept", "escalate", "overdue_escalate"):
            f.accepted = True
        elif a in ("merge", "reject"):
            f.merged_or_rejected = True
        elif a == "dispatch":
            f.dispatched = True
        elif a == "feedback":
            if not f.handled:
                f.handled_on_time = bool(d.get("on_time"))
            f.handled = True
        elif a == "verify_fail":
            f.reworked = True
        elif a == "return":
            f.returned = True
        elif a == "self_resolve":
            f.accepted = f.closed = f.closed_on_time = f.self_resolved = True
            f.closed_level = 1
        elif a in ("verify_ok", "mediated"):
            f.closed, f.closed_on_time = True, bool(d.get("on_time"))
            f.closed_level = d.get("closed_level")
        elif a == "rate":
            f.rating = d.get("rating")
        elif a == "reopen":
            f.closed, f.closed_on_time, f.closed_level = False, False, None
            f.self_resolved = False
    if f.merged_or_rejected:
        f.accepted = False
    return f


@dataclass
class Indicators:
    reported: int = 0
    accepted: int = 0
    closed: int = 0
    closed_on_time: int = 0
    dispatched: int = 0
    handled: int = 0
    handled_on_time: int = 0
    reworked: int = 0
    returned: int = 0
    self_resolved: int = 0
    rated: int = 0
    satisfied: int = 0
    closed_by_level: dict[int, int] = field(default_factory=dict)
    avg_seconds: dict[str, float | None] = field(default_factory=dict)

    def rates(self) -> dict[str, float | None]:
        def r(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "closure_rate": r(self.closed, self.accepted),
            "on_time_closure_rate": r(self.closed_on_time, self.accepted),
            "disposal_rate": r(self.handled, self.dispatched),
            "on_time_disposal_rate": r(self.handled_on_time, self.dispatched),
            "rework_rate": r(self.reworked, self.handled),
            "accurate_dispatch_rate": r(self.dispatched - self.reworked, self.dispatched),
            "return_rate": r(self.returned, self.dispatched),
            "satisfaction": r(self.satisfied, self.rated),
            **{
                f"closed_share_level_{lvl}": r(n, self.closed)
                for lvl, n in sorted(self.closed_by_level.items())
            },
        }

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rates"] = self.rates()
        return out


def sum_facts(all_facts: list[Facts]) -> Indicators:
    """Indicators from a list of facts, in Python (the from-scratch side)."""
    ind = Indicators(reported=len(all_facts))
    for f in all_facts:
        ind.accepted += f.accepted
        ind.closed += f.closed
        ind.closed_on_time += f.closed and f.closed_on_time
        ind.dispatched += f.dispatched
        ind.handled += f.handled
        ind.handled_on_time += f.handled and f.handled_on_time
        ind.reworked += f.reworked
        ind.returned += f.returned
        ind.self_resolved += f.self_resolved
        ind.rated += f.rating is not None
        ind.satisfied += f.rating in ("satisfied", "basically")
        if f.closed and f.closed_level is not None:
            ind.closed_by_level[f.closed_level] = ind.closed_by_level.get(f.closed_level, 0) + 1
    return ind


COUNT_FIELDS = (
    "reported",
    "accepted",
    "closed",
    "closed_on_time",
    "dispatched",
    "handled",
    "handled_on_time",
    "reworked",
    "returned",
    "self_resolved",
    "rated",
    "satisfied",
)


def _seconds(session: Session, later: Any, earlier: Any) -> Any:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def read_region_path(session: Session, principal: Principal, code: str) -> str:
    """The path of a region or grid the caller's figures may be narrowed to: one within
    their jurisdiction, or one above it (whose figures are then theirs)."""
    place = find_place_unscoped(session, code=code)
    if place is None or not (
        principal.covers(place.path) or (principal.scope_path or "").startswith(place.path)
    ):
        raise NotFound("行政区划", "region")
    return place.path


def read_indicators(
    session: Session,
    principal: Principal,
    *,
    region_path: str | None = None,
    unit_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Indicators:
    """Sums over the facts kept on each matter, in one query, within the caller's scope."""
    base = scoped_matters(principal)
    if region_path:
        base = base.where(within(Matter.region_path, region_path))
    if unit_id is not None:
        base = base.where(Matter.unit_id == unit_id)
    if start:
        base = base.where(Matter.reported_at >= start)
    if end:
        base = base.where(Matter.reported_at < end)
    e = base.subquery()
    not_mr = e.c.state.not_in(("merged", "rejected"))
    closed = e.c.closed_at.is_not(None)
    handled = e.c.handled_at.is_not(None)

    def count(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    def avg(later: Any, earlier: Any) -> Any:
        return func.avg(cast(_seconds(session, later, earlier), Float))

    row = session.execute(
        select(
            func.count(),
            count(and_(e.c.accepted_at.is_not(None), not_mr)),
            count(closed),
            count(and_(closed, e.c.closed_on_time.is_(True))),
            count(e.c.first_dispatched_at.is_not(None)),
            count(handled),
            count(and_(handled, e.c.handled_on_time.is_(True))),
            count(e.c.rework_count > 0),
            count(e.c.return_count > 0),
            count(e.c.self_resolved.is_(True)),
            count(e.c.rating.is_not(None)),
            count(e.c.rating.in_(("satisfied", "basically"))),
            avg(e.c.accepted_at, e.c.reported_at),
            avg(e.c.first_dispatched_at, e.c.accepted_at),
            avg(e.c.signed_at, e.c.dispatched_at),
            avg(e.c.handled_at, e.c.signed_at),
            avg(e.c.closed_at, e.c.reported_at),
        ).select_from(e)
    ).one()
    levels = session.execute(
        select(e.c.closed_level, func.count())
        .select_from(e)
        .where(closed, e.c.closed_level.is_not(None))
        .group_by(e.c.closed_level)
    ).all()
    ind = Indicators()
    for name, value in zip(COUNT_FIELDS, row[:12], strict=True):
        setattr(ind, name, int(value))
    ind.closed_by_level = {int(lvl): int(n) for lvl, n in levels}
    names = ("accept", "dispatch", "sign", "handle", "close")
    ind.avg_seconds = {
        n: (round(float(v), 1) if v is not None else None)
        for n, v in zip(names, row[12:], strict=True)
    }
    return ind


# ---------------------------------------------------------------- the leaders' dashboard

TREND_DAYS = 30


@dataclass
class Rank:
    code: str
    name: str
    reported: int = 0
    accepted: int = 0
    closed: int = 0
    closed_on_time: int = 0
    overdue: int = 0
    closure_rate: float | None = None
    on_time_closure_rate: float | None = None
    # The matter list behind each count (drill.py): reported, closed, overdue.
    lists: dict[str, drill.ListQuery | None] = field(default_factory=dict)


@dataclass
class Day:
    day: str  # YYYY-MM-DD in the installation's zone
    reported: int = 0
    closed: int = 0
    # reported: that day's reports; closed: None (the list has no closing-time filter).
    lists: dict[str, drill.ListQuery | None] = field(default_factory=dict)


@dataclass
class Dashboard:
    region: Place | None  # whose children are ranked (None: no jurisdiction to rank within)
    today: str  # YYYY-MM-DD in the installation's zone
    today_reported: int
    open: int
    overdue: int
    closed: int
    indicators: dict[str, Any]
    ranking: list[Rank]
    trend: list[Day]
    # The matter list behind each card: today_reported, open, overdue, closed.
    lists: dict[str, drill.ListQuery | None]
    trail: list[drill.Step]  # the breadcrumb from the caller's jurisdiction down to here

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.region is not None:
            out["region"] = {"code": self.region.code, "name": self.region.name}
        return out


def _rate(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _children(session: Session, place: Place | None, everything: bool) -> list[Place]:
    """The places one level below: a county's townships, a township's villages and
    communities, a community's grids; the top regions for an installation-wide scope."""
    if place is None:
        if not everything:
            return []
        rows = session.execute(
            select(Region.code, Region.name, Region.path)
            .where(Region.parent_id.is_(None))
            .order_by(Region.code)
        ).all()
        return [Place(*r) for r in rows]
    region_id = session.scalar(select(Region.id).where(Region.path == place.path))
    if region_id is None:  # a grid: nothing below it
        return []
    rows = session.execute(
        select(Region.code, Region.name, Region.path)
        .where(Region.parent_id == region_id)
        .order_by(Region.code)
    ).all()
    if not rows:
        rows = session.execute(
            select(Grid.code, Grid.name, Grid.path)
            .where(Grid.region_id == region_id)
            .order_by(Grid.code)
        ).all()
    return [Place(*r) for r in rows]


def _local_day(column: Any, first: date, days: int) -> Any:
    """The day (YYYY-MM-DD) in the installation's zone of a timestamp column from `first`
    on, NULL after the last of `days` days. Compared with each day's bounds (moments, so
    any offset and its changes hold) rather than converted: SQLite knows no zones."""
    zone = clock.zone()
    whens = []
    for i in range(days):
        day, end = first + timedelta(days=i), first + timedelta(days=i + 1)
        whens.append((column < datetime.combine(end, time(), zone), day.isoformat()))
    return case(*whens, else_=None)


def _ranking(
    session: Session, base: Select[Matter], children: list[Place], now: datetime
) -> list[Rank]:
    if not children:
        return []
    # Which child each matter lies in; grouped on a subquery's column (PostgreSQL
    # would not match the bound parameters of the same CASE in SELECT and GROUP BY).
    child = case(
        *[(within(Matter.region_path, c.path), c.code) for c in children], else_=None
    ).label("child")
    accepted = and_(Matter.accepted_at.is_not(None), Matter.state.not_in(("merged", "rejected")))
    closed = Matter.closed_at.is_not(None)
    flags = base.with_only_columns(
        child,
        case((accepted, 1), else_=0).label("accepted"),
        case((closed, 1), else_=0).label("closed"),
        case((and_(closed, Matter.closed_on_time.is_(True)), 1), else_=0).label("on_time"),
        case((overdue_clause(now), 1), else_=0).label("overdue"),
    ).subquery()
    rows = session.execute(
        select(
            flags.c.child,
            func.count(),
            func.sum(flags.c.accepted),
            func.sum(flags.c.closed),
            func.sum(flags.c.on_time),
            func.sum(flags.c.overdue),
        )
        .where(flags.c.child.is_not(None))
        .group_by(flags.c.child)
    ).all()
    ranks = {c.code: Rank(c.code, c.name) for c in children}
    for code, reported, n_accepted, n_closed, n_on_time, n_overdue in rows:
        r = ranks[str(code)]
        r.reported, r.accepted, r.closed = int(reported), int(n_accepted), int(n_closed)
        r.closed_on_time, r.overdue = int(n_on_time), int(n_overdue)
    for r in ranks.values():
        r.closure_rate = _rate(r.closed, r.accepted)
        r.on_time_closure_rate = _rate(r.closed_on_time, r.accepted)
        r.lists = {
            "reported": drill.matters_in(r.code),
            "closed": drill.closed_in(r.code),
            "overdue": drill.overdue_in(r.code),
        }
    # Best closure rate first; places with nothing accepted last; then by code.
    return sorted(
        ranks.values(),
        key=lambda r: (r.closure_rate is None, -(r.closure_rate or 0.0), r.code),
    )


def _trend(
    session: Session, base: Select[Matter], place: str | None, first: date, days: int
) -> list[Day]:
    start = datetime.combine(first, time(), clock.zone())
    out: dict[str, Day] = {}
    for i in range(days):
        day = first + timedelta(days=i)
        lists = {"reported": drill.reported(place, day), "closed": None}
        out[day.isoformat()] = Day(day.isoformat(), lists=lists)
    for column, name in ((Matter.reported_at, "reported"), (Matter.closed_at, "closed")):
        sub = (
            base.with_only_columns(_local_day(column, first, days).label("day"))
            .where(column >= start)
            .subquery()
        )
        rows = session.execute(select(sub.c.day, func.count()).group_by(sub.c.day)).all()
        for day, n in rows:
            if str(day) in out:
                setattr(out[str(day)], name, int(n))
    return list(out.values())


def _dashboard_place(
    session: Session, principal: Principal, region_code: str | None
) -> tuple[Place | None, bool]:
    """The place a dashboard is about (a region or grid within the caller's jurisdiction,
    else the jurisdiction itself), and whether it is the whole installation."""
    principal.require(Action.geo_read)  # it names regions; residents have none to see
    if region_code:
        place = find_place_unscoped(session, code=region_code)
        if place is None or not principal.covers(place.path):
            raise NotFound("行政区划", "region")
        return place, False
    if principal.scope_path and principal.scope_path != "/":
        return find_place_unscoped(session, path=principal.scope_path), False
    return None, principal.scope_path == "/"


def _matters_within(principal: Principal, place: Place | None) -> Select[Matter]:
    base = scoped_matters(principal)
    return base.where(within(Matter.region_path, place.path)) if place else base


def read_ranking(
    session: Session, principal: Principal, region_code: str | None = None
) -> tuple[Place | None, list[Rank]]:
    """The dashboard's ranking alone (for its export): the places one level below the
    region (or the caller's jurisdiction), best closure rate first."""
    place, everything = _dashboard_place(session, principal, region_code)
    children = _children(session, place, everything)
    return place, _ranking(session, _matters_within(principal, place), children, clock.now())


def read_dashboard(
    session: Session, principal: Principal, region_code: str | None = None
) -> Dashboard:
    """The leaders' screen over the caller's scope, or a region or grid within it: today's
    intake, open, overdue and closed matters, the indicators, the places one level below
    ranked by closure rate, and reports and closures of the last 30 days (days counted in
    the installation's zone); with each count the matter list that shows its matters."""
    place, everything = _dashboard_place(session, principal, region_code)
    code = place.code if place else None
    base = _matters_within(principal, place)
    now = clock.now()
    today = now.astimezone(clock.zone()).date()
    midnight = datetime.combine(today, time(), clock.zone())
    tomorrow = datetime.combine(today + timedelta(days=1), time(), clock.zone())
    today_reported = and_(Matter.reported_at >= midnight, Matter.reported_at < tomorrow)
    totals = session.execute(
        base.with_only_columns(
            func.coalesce(func.sum(case((today_reported, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Matter.state.in_(drill.OPEN), 1), else_=0)), 0),
            func.coalesce(func.sum(case((overdue_clause(now), 1), else_=0)), 0),
        )
    ).one()
    indicators = read_indicators(session, principal, region_path=place.path if place else None)
    return Dashboard(
        region=place,
        today=today.isoformat(),
        today_reported=int(totals[0]),
        open=int(totals[1]),
        overdue=int(totals[2]),
        closed=indicators.closed,
        indicators=indicators.as_dict(),
        ranking=_ranking(session, base, _children(session, place, everything), now),
        trend=_trend(session, base, code, today - timedelta(days=TREND_DAYS - 1), TREND_DAYS),
        lists={
            "today_reported": drill.reported(code, today),
            "open": drill.open_in(code),
            "overdue": drill.overdue_in(code),
            "closed": drill.closed_in(code),
        },
        trail=drill.trail_of(session, principal, place.path if place else None),
    )
