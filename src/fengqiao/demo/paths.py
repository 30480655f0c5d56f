"""The paths a demo matter takes through the closed loop, one step at a time: self-resolved
in the grid, rejected, merged, dispatched and handled, returned and re-dispatched, extended,
escalated and sent down, reworked after a failed verification, reopened after a
dissatisfied rating, each with plausible durations. A step that would fall after the end
of the history raises `Stop`: the matter stays where it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fengqiao.core.levels import Level, ancestor_at, path_level
from fengqiao.demo.county import Actor, History
from fengqiao.matters import service
from fengqiao.matters.enums import MatterState as S
from fengqiao.matters.lifecycle import TRANSITIONS
from fengqiao.matters.reasons import AS_SUGGESTED, CHOSEN


class Stop(Exception):
    """The path ran past the end of the history: the matter stays where it is."""


@dataclass
class Simulated:
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
            raise Stop
        self.t = at
        if to is None:
            target = TRANSITIONS[action].target
            to = str(target) if target is not None else self.state
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


def walk(
    world: History, m: Simulated, on_the_spot: float, recent: dict[str, list[Simulated]]
) -> None:
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
                detail={"from_level": row["level"], "to_level": Level.township},
            )
            row["level"] = Level.township
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


def _merge(world: History, m: Simulated, recent: dict[str, list[Simulated]]) -> bool:
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
                "matter_id": target.row["id"],
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


def _escalate(world: History, m: Simulated, actor: Actor, reason: str) -> None:
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


def _dispatch(world: History, m: Simulated, unit_id: int | None = None) -> int:
    row = m.row
    suggestion = row["suggestion"] or {}
    if unit_id is None:
        unit_id = suggestion.get("unit_id") if row["level"] < Level.county else None
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
        "route_reason": AS_SUGGESTED.zh.format(reason=suggestion.get("reason"))
        if suggestion.get("unit_id") == unit_id
        else CHOSEN.zh,
        "sign_due_at": _iso(row["sign_due_at"]),
        "resolve_due_at": _iso(row["resolve_due_at"]),
        "due_flagged": row["due_flagged"],
    }
    return unit_id


def _handle(world: History, m: Simulated, unit_id: int) -> None:
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


def _verify_ok(world: History, m: Simulated, grid_worker: Actor) -> None:
    row = m.row
    at = m.step("verify_ok", grid_worker, world.rng.uniform(1, 36))
    on_time = row["resolve_due_at"] is None or (row["handled_at"] or at) <= row["resolve_due_at"]
    level = path_level(world.units[row["unit_id"]].region_path) if row["unit_id"] else row["level"]
    row.update(closed_at=at, closed_on_time=on_time, closed_level=level)
    m.entries[-1]["detail"] = {"on_time": on_time, "closed_level": level}


def _rate(world: History, m: Simulated, rater: Actor, rating: str | None = None) -> str:
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
