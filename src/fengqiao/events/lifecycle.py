"""The closed loop's transitions: from which states each action may start, where it leads,
who may take it and what it needs. The service applies them; this table is the rule."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fengqiao.core.permissions import GRID_STAFF, Role
from fengqiao.events.enums import EventState as S


class Actor(StrEnum):
    """Who, relative to the matter, may act."""

    dispatcher = "dispatcher"  # a dispatcher whose jurisdiction covers it (or a leader)
    unit = "unit"  # a handler of the unit it is assigned to
    grid = "grid"  # grid staff of its grid (or above it)
    reporter = "reporter"  # whoever reported it


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[S]
    target: S | None  # None: stays where it is
    actors: frozenset[Actor]
    needs: frozenset[str] = frozenset()  # fields of the request that must be given
    zh: str = ""


def _t(
    action: str,
    sources: set[S],
    target: S | None,
    actors: set[Actor],
    needs: set[str] | None = None,
    zh: str = "",
) -> Transition:
    return Transition(
        action, frozenset(sources), target, frozenset(actors), frozenset(needs or ()), zh
    )


OPEN = {S.reported, S.accepted, S.dispatched, S.in_progress, S.handled, S.verifying}
D, U, G, R = Actor.dispatcher, Actor.unit, Actor.grid, Actor.reporter

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("accept", {S.reported}, S.accepted, {D}, zh="受理"),
        _t("reject", {S.reported}, S.rejected, {D}, {"reason"}, "不予受理"),
        _t("merge", {S.reported, S.accepted}, S.merged, {D}, {"target_id"}, "合并"),
        _t("dispatch", {S.accepted}, S.dispatched, {D}, zh="分流交办"),
        _t("sign", {S.dispatched}, S.in_progress, {U}, zh="签收"),
        _t("return", {S.dispatched, S.in_progress}, S.accepted, {U}, {"reason"}, "退单"),
        _t("request_extension", {S.in_progress}, None, {U}, {"reason", "until"}, "申请延期"),
        _t("approve_extension", {S.in_progress}, None, {D}, zh="同意延期"),
        _t("deny_extension", {S.in_progress}, None, {D}, {"reason"}, "不同意延期"),
        _t(
            "escalate",
            {S.reported, S.accepted, S.dispatched, S.in_progress},
            S.accepted,
            {D, G},
            {"reason"},
            "上报",
        ),
        _t("send_down", {S.accepted}, S.accepted, {D}, {"level"}, "下派"),
        _t("self_resolve", {S.reported}, S.closed, {G}, {"note"}, "自行处置"),
        _t("feedback", {S.in_progress}, S.handled, {U}, {"note"}, "反馈"),
        _t("request_verification", {S.handled}, S.verifying, {D}, zh="发起核查"),
        _t("verify_ok", {S.verifying}, S.closed, {G, D}, zh="核查通过，结案"),
        _t("verify_fail", {S.verifying}, S.dispatched, {G, D}, {"reason"}, "核查未通过，返工"),
        _t("rate", {S.closed}, S.evaluated, {R, D}, {"rating"}, "评价"),
        _t("reopen", {S.evaluated}, S.accepted, {D}, {"reason"}, "重新办理"),
        _t("remind", OPEN - {S.reported}, None, {D}, zh="催办"),
        _t("supervise", OPEN - {S.reported}, None, {D}, zh="督办"),
    )
}

# Roles behind each kind of actor.
ACTOR_ROLES: dict[Actor, frozenset[Role]] = {
    Actor.dispatcher: frozenset({Role.dispatcher, Role.leader, Role.admin}),
    Actor.unit: frozenset({Role.unit_handler}),
    Actor.grid: GRID_STAFF,
    Actor.reporter: frozenset(Role),
}
