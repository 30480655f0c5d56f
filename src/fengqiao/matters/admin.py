"""Administration of the closed loop: categories, routing rules, deadline policies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core.errors import Invalid, NotFound
from fengqiao.core.labels import Label
from fengqiao.core.models import Category
from fengqiao.core.permissions import Action, Principal
from fengqiao.geo.models import Region
from fengqiao.geo.service import root_paths
from fengqiao.matters import defaults
from fengqiao.matters.models import DeadlinePolicy, RoutingRule
from fengqiao.matters.schemas import PolicyIn, PolicyOut, RuleIn, RuleOut
from fengqiao.people.models import Unit
from fengqiao.people.service import scoped_units


def seed_defaults(session: Session) -> None:
    """Categories and deadline policies for a new installation (only into empty tables)."""
    if session.scalar(select(Category.code).limit(1)) is None:
        session.add_all(
            Category(code=c, name=n, name_en=en, parent_code=p)
            for c, n, en, p in defaults.CATEGORIES
        )
    if session.scalar(select(DeadlinePolicy.id).limit(1)) is None:
        for urgency, (basis, sign, onsite, reply, resolve, ladder) in defaults.DEADLINES.items():
            session.add(
                DeadlinePolicy(
                    category_code=None,
                    urgency=urgency,
                    basis=basis,
                    sign=sign,
                    onsite=onsite,
                    reply=reply,
                    resolve=resolve,
                    ladder_hours=ladder,
                )
            )
    session.commit()


def categories(session: Session, lang: str = "zh") -> list[dict[str, str | None]]:
    """`name` in the caller's language (Chinese where a category has no English name),
    with both names beside it."""
    rows = session.scalars(
        select(Category).where(Category.is_active.is_(True)).order_by(Category.code)
    )
    return [
        {
            "code": c.code,
            "name": Label(c.name, c.name_en or c.name)(lang),
            "name_zh": c.name,
            "name_en": c.name_en,
            "parent_code": c.parent_code,
        }
        for c in rows
    ]


def _rule_out(rule: RoutingRule, unit: Unit) -> RuleOut:
    return RuleOut(
        id=rule.id,
        category_code=rule.category_code,
        urgency=rule.urgency,
        region_path=rule.region_path,
        unit_id=unit.id,
        unit_name=unit.name,
        level=rule.level,
        is_active=rule.is_active,
    )


def read_rules(session: Session, principal: Principal) -> list[RuleOut]:
    principal.require(Action.units_read)
    rows = session.execute(
        select(RoutingRule, Unit)
        .join(Unit, Unit.id == RoutingRule.unit_id)
        .order_by(RoutingRule.category_code, RoutingRule.id)
    ).all()
    return [_rule_out(r, u) for r, u in rows if _visible(principal, r.region_path)]


def _visible(principal: Principal, path: str | None) -> bool:
    """A rule is seen by those whose area it applies to (the rules with no region and
    those above the caller) and by those whose area holds it."""
    return path is None or principal.covers(path) or (principal.scope_path or "").startswith(path)


def create_rule(session: Session, principal: Principal, body: RuleIn) -> RuleOut:
    """A routing rule for the caller's area (a rule with no region binds the whole
    installation), to a unit that serves all of that area."""
    principal.require(Action.units_manage)
    if session.get(Category, body.category_code) is None:
        raise Invalid("事件类别 {c} 不存在", "Unknown category {c}", c=body.category_code)
    unit = session.scalar(scoped_units(principal).where(Unit.code == body.unit_code))
    if unit is None:
        raise NotFound("单位", "unit")
    path = None
    if body.region_code:
        path = session.scalar(select(Region.path).where(Region.code == body.region_code))
        if path is None or not principal.covers(path):
            raise NotFound("行政区划", "region")
    roots = root_paths(session)
    principal.require_write(path, roots)
    if not all(p.startswith(unit.region_path) for p in ([path] if path else roots)):
        raise Invalid("{u} 不负责该区域", "{u} does not serve this place", u=unit.name)
    rule = RoutingRule(
        category_code=body.category_code,
        urgency=body.urgency.value if body.urgency else None,
        region_path=path,
        unit_id=unit.id,
        level=body.level,
        is_active=True,
    )
    session.add(rule)
    session.commit()
    return _rule_out(rule, unit)


def deactivate_rule(session: Session, principal: Principal, rule_id: int) -> None:
    principal.require(Action.units_manage)
    rule = session.get(RoutingRule, rule_id)
    if rule is None or not _visible(principal, rule.region_path):
        raise NotFound("分流规则", "routing rule")
    principal.require_write(rule.region_path, root_paths(session))
    rule.is_active = False
    session.commit()


def read_policies(session: Session, principal: Principal) -> list[PolicyOut]:
    principal.require(Action.units_read)
    rows = session.scalars(select(DeadlinePolicy).order_by(DeadlinePolicy.id))
    return [PolicyOut.model_validate(p, from_attributes=True) for p in rows]


def put_policy(session: Session, principal: Principal, body: PolicyIn) -> PolicyOut:
    """Deadline policies bind the whole installation."""
    principal.require(Action.units_manage)
    principal.require_write(None, root_paths(session))
    if body.category_code and session.get(Category, body.category_code) is None:
        raise Invalid("事件类别 {c} 不存在", "Unknown category {c}", c=body.category_code)
    policy = session.scalar(
        select(DeadlinePolicy).where(
            DeadlinePolicy.category_code.is_(None)
            if body.category_code is None
            else DeadlinePolicy.category_code == body.category_code,
            DeadlinePolicy.urgency == body.urgency.value,
        )
    )
    if policy is None:
        policy = DeadlinePolicy(category_code=body.category_code, urgency=body.urgency.value)
        session.add(policy)
    policy.basis, policy.sign, policy.onsite = body.basis, body.sign, body.onsite
    policy.reply, policy.resolve, policy.ladder_hours = body.reply, body.resolve, body.ladder_hours
    session.commit()
    return PolicyOut.model_validate(policy, from_attributes=True)
