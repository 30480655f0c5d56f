"""Routing: which unit a matter goes to, by the rule table or by territory (属地管理).

What routing reads (categories, active rules and units) is cached per process and read
again when an administrator changes any of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core.errors import Invalid
from fengqiao.core.levels import COUNTY, TOWNSHIP, ancestor_at
from fengqiao.core.models import Category
from fengqiao.core.revision import RevisionCache, watch
from fengqiao.matters.models import Matter, RoutingRule
from fengqiao.matters.reasons import BY_RULE, TERRITORIAL
from fengqiao.people.models import Unit

ROUTING_REVISION = "routing"
watch(ROUTING_REVISION, Category, RoutingRule, Unit)


@dataclass(frozen=True)
class RoutingUnit:
    id: int
    code: str
    name: str
    region_path: str
    categories: frozenset[str]


@dataclass(frozen=True)
class Routing:
    """What routing needs, read in three queries and cached per process (it changes when
    an administrator edits categories, rules or units)."""

    categories: dict[str, str | None]  # every category → its parent
    names: dict[str, str]  # every category → its name
    rules: tuple[RoutingRule, ...]  # the active ones, detached
    units: dict[int, RoutingUnit]  # the active ones


def load_routing(session: Session) -> Routing:
    rules = tuple(session.scalars(select(RoutingRule).where(RoutingRule.is_active.is_(True))))
    for rule in rules:
        session.expunge(rule)
    categories = session.execute(select(Category.code, Category.parent_code, Category.name)).all()
    return Routing(
        categories={code: parent for code, parent, _ in categories},
        names={code: name for code, _, name in categories},
        rules=rules,
        units={
            u.id: RoutingUnit(u.id, u.code, u.name, u.region_path, frozenset(u.categories))
            for u in session.scalars(select(Unit).where(Unit.is_active.is_(True)))
        },
    )


def routing_cache() -> RevisionCache[Routing]:
    return RevisionCache(ROUTING_REVISION, load_routing)


def suggest_route(routing: Routing, matter: Matter) -> dict[str, Any] | None:
    """The responsible unit by the rule table (most specific rule first), else the
    territorial default: the township platform or county department whose categories
    include the matter's ("谁主管谁负责、属地管理")."""
    if matter.category_code is None:
        return None
    categories = {matter.category_code}
    parent = routing.categories.get(matter.category_code)
    if parent:
        categories.add(parent)
    best: tuple[tuple[int, int, int], RoutingRule] | None = None
    for rule in routing.rules:
        if rule.category_code not in categories:
            continue
        if rule.urgency and rule.urgency != matter.urgency:
            continue
        if rule.region_path and not matter.region_path.startswith(rule.region_path):
            continue
        score = (
            int(rule.category_code == matter.category_code),
            len(rule.region_path or ""),
            int(rule.urgency is not None),
        )
        if best is None or score > best[0]:
            best = (score, rule)
    if best is not None and best[1].unit_id in routing.units:
        rule = best[1]
        return {
            "unit_id": rule.unit_id,
            "unit_name": routing.units[rule.unit_id].name,
            "level": rule.level,
            "reason": BY_RULE.zh.format(id=rule.id),
            "rule_id": rule.id,
        }
    # Territorial default: the nearest unit above the place that owns the category.
    for level in (TOWNSHIP, COUNTY):
        path = ancestor_at(matter.region_path, level)
        for unit in sorted(routing.units.values(), key=lambda u: u.code):
            if unit.region_path == path and categories & unit.categories:
                return {
                    "unit_id": unit.id,
                    "unit_name": unit.name,
                    "level": level,
                    "reason": TERRITORIAL.zh,
                    "rule_id": None,
                }
    return None


def check_category(routing: Routing, code: str | None) -> None:
    if code is not None and code not in routing.categories:
        raise Invalid("事件类别 {c} 不存在", "Unknown category {c}", c=code)
