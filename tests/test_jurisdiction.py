"""The jurisdiction matrix: every list and detail endpoint, and who sees what.

Every GET route under /api must appear in LISTS, DETAILS or NOT_SCOPED (with the reason);
`test_every_endpoint_is_in_the_matrix` fails for a new endpoint until it is added here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core.permissions import Principal, Role
from fengqiao.matters import service as matters
from fengqiao.matters.models import Matter
from fengqiao.people import service as people
from fengqiao.people.models import User
from tests.world import (
    COMM_A1,
    COMM_A2,
    COMM_B1,
    COMM_B2,
    COUNTY,
    GRID_A1_1,
    GRID_A1_2,
    GRID_B1_1,
    TOWN_A,
    TOWN_B,
    World,
)

FORBIDDEN = None  # the role may not use the endpoint at all: 403

ALL_REGIONS = {COUNTY, TOWN_A, TOWN_B, COMM_A1, COMM_A2, COMM_B1, COMM_B2}
A_GRIDS = {f"{c}{s:02d}" for c in (COMM_A1, COMM_A2) for s in (1, 2)}
B_GRIDS = {f"{c}{s:02d}" for c in (COMM_B1, COMM_B2) for s in (1, 2)}
ALL_USERS = {
    "admin",
    "admin_a",
    "leader",
    "dispatcher",
    "town_a",
    "town_b",
    "handler",
    "worker_a",
    "worker_b",
    "head_a",
    "resident",
    "handler_a",
    "comm_a1",
    "mediator_a",
    "mediator_sea",
    "resident_b",
}
GRID_A_USERS = {"worker_a", "head_a", "resident"}
TOWN_A_USERS = {"admin_a", "town_a", "handler_a", "comm_a1", "mediator_a"} | GRID_A_USERS
# The test world's cases ("a" in township A, "b" in B), each applied for by a resident.
CASES = {"a": "a", "b": "b"}
COMMITTEE_OF = {"a": "甲街道人民调解委员会", "b": "乙镇人民调解委员会"}
TITLE_OF = {"a": "a社区邻里漏水纠纷", "b": "b社区邻里漏水纠纷"}
CASE_KEYS = {
    "admin": {"a", "b"},
    "leader": {"a", "b"},
    "admin_a": {"a"},
    "town_a": {"a"},
    "town_b": {"b"},
    "comm_a1": {"a"},
    "mediator_a": {"a"},
    "mediator_sea": set(),
    "resident": {"a"},
    "resident_b": {"b"},
    "worker_a": set(),
    "head_a": set(),
    "handler": set(),
}
CASE_READERS: dict[str, set[str] | None] = {
    user: {TITLE_OF[k] for k in keys} for user, keys in CASE_KEYS.items()
}
# The mediators of the test world: the county's committee serves both townships.
COUNTY_MEDIATORS, A_MEDIATORS, B_MEDIATORS = {"陈海生"}, {"林素珍", "王建国", "周明"}, {"吴德才"}
EVERY_MEDIATOR = COUNTY_MEDIATORS | A_MEDIATORS | B_MEDIATORS


@dataclass(frozen=True)
class ListCase:
    """GET `path` → a JSON list; `key` names each item; `sees[user]` is exactly what
    that user gets (FORBIDDEN for 403). `under`: the list is that field of an object;
    `limit`: a page large enough to hold everything the world has."""

    path: str
    key: str
    sees: dict[str, set[str] | None]
    under: str | None = None
    limit: int = 500


@dataclass(frozen=True)
class DetailCase:
    """GET `template` for each object; `sees[user]` is the objects they may read, the
    rest must be 404 (FORBIDDEN: every object 403)."""

    template: str
    objects: dict[str, str]  # object name -> value put into the path
    sees: dict[str, set[str] | None]
    fixed: dict[str, str] = field(default_factory=dict)  # the path's other parameters


LISTS: dict[str, ListCase] = {
    "/api/regions": ListCase(
        "/api/regions",
        "code",
        {
            "admin": ALL_REGIONS,
            "leader": ALL_REGIONS,
            "dispatcher": ALL_REGIONS,
            "town_a": {TOWN_A, COMM_A1, COMM_A2},
            "town_b": {TOWN_B, COMM_B1, COMM_B2},
            "worker_a": set(),
            "resident": FORBIDDEN,
        },
    ),
    "/api/grids": ListCase(
        "/api/grids",
        "code",
        {
            "admin": A_GRIDS | B_GRIDS,
            "town_a": A_GRIDS,
            "town_b": B_GRIDS,
            "worker_a": {GRID_A1_1},
            "worker_b": {GRID_B1_1},
            "head_a": {GRID_A1_1},
            "handler": A_GRIDS | B_GRIDS,
            "resident": FORBIDDEN,
        },
    ),
    # With no words, every region and grid of the jurisdiction (the world has fewer than 50).
    "/api/places": ListCase(
        "/api/places",
        "code",
        {
            "admin": ALL_REGIONS | A_GRIDS | B_GRIDS,
            "town_a": {TOWN_A, COMM_A1, COMM_A2} | A_GRIDS,
            "town_b": {TOWN_B, COMM_B1, COMM_B2} | B_GRIDS,
            "worker_a": {GRID_A1_1},
            "head_a": {GRID_A1_1},
            "resident": FORBIDDEN,
        },
        limit=50,
    ),
    "/api/users": ListCase(
        "/api/users",
        "username",
        {
            "admin": ALL_USERS,
            "leader": ALL_USERS,
            "town_a": TOWN_A_USERS,
            "town_b": {"town_b", "worker_b", "resident_b"},
            "head_a": GRID_A_USERS,
            "worker_a": FORBIDDEN,
            "handler": FORBIDDEN,
            "resident": FORBIDDEN,
        },
    ),
    "/api/matters": ListCase(
        "/api/matters",
        "title",
        {
            "admin": {"甲网格事件", "乙网格事件"},
            "dispatcher": {"甲网格事件", "乙网格事件"},
            "town_a": {"甲网格事件"},
            "town_b": {"乙网格事件"},
            "comm_a1": {"甲网格事件"},
            "worker_a": {"甲网格事件"},
            "worker_b": {"乙网格事件"},
            "head_a": {"甲网格事件"},
            "handler": set(),
            "handler_a": set(),
            "resident": set(),
        },
    ),
    "/api/matters/grid-counts": ListCase(
        "/api/matters/grid-counts",
        "grid_code",
        {
            "admin": {GRID_A1_1, GRID_B1_1},
            "dispatcher": {GRID_A1_1, GRID_B1_1},
            "town_a": {GRID_A1_1},
            "town_b": {GRID_B1_1},
            "comm_a1": {GRID_A1_1},
            "worker_a": {GRID_A1_1},
            "worker_b": {GRID_B1_1},
            "head_a": {GRID_A1_1},
            "handler": set(),
            "handler_a": set(),
            "resident": set(),
        },
    ),
    # The places ranked one level below the caller's jurisdiction.
    "/api/dashboard": ListCase(
        "/api/dashboard",
        "code",
        {
            "admin": {TOWN_A, TOWN_B},
            "leader": {TOWN_A, TOWN_B},
            "dispatcher": {TOWN_A, TOWN_B},
            "town_a": {COMM_A1, COMM_A2},
            "town_b": {COMM_B1, COMM_B2},
            "comm_a1": {GRID_A1_1, GRID_A1_2},
            "handler_a": {COMM_A1, COMM_A2},
            "worker_a": set(),
            "resident": FORBIDDEN,
        },
        under="ranking",
    ),
    "/api/routing-rules": ListCase(
        "/api/routing-rules",
        "unit_name",
        {
            "admin": {"甲街道综治工作平台", "乙镇综治工作平台"},
            "town_a": {"甲街道综治工作平台"},
            "town_b": {"乙镇综治工作平台"},
            "worker_b": {"乙镇综治工作平台"},
            "resident": FORBIDDEN,
        },
    ),
    # The notifications of the matters in the caller's jurisdiction (each of the world's
    # reports told its dispatchers); installation-wide ones: tests/test_notify_delivery.py.
    "/api/notifications": ListCase(
        "/api/notifications",
        "matter_title",
        {
            # With the world's cases' notices (their title in the same field).
            "admin": {"甲网格事件", "乙网格事件", TITLE_OF["a"], TITLE_OF["b"]},
            "admin_a": {"甲网格事件", TITLE_OF["a"]},
            "leader": FORBIDDEN,
            "dispatcher": FORBIDDEN,
            "town_a": FORBIDDEN,
            "worker_a": FORBIDDEN,
            "resident": FORBIDDEN,
        },
    ),
    "/api/units": ListCase(
        "/api/units",
        "code",
        {
            "admin": {"C-CENTRE", "C-ZHZF", "A-ZZGZ", "B-ZZGZ"},
            "town_a": {"C-CENTRE", "C-ZHZF", "A-ZZGZ"},
            "town_b": {"C-CENTRE", "C-ZHZF", "B-ZZGZ"},
            "worker_a": {"C-CENTRE", "C-ZHZF", "A-ZZGZ"},
            "worker_b": {"C-CENTRE", "C-ZHZF", "B-ZZGZ"},
            "resident": FORBIDDEN,
        },
    ),
    # Committees and mediators serve an area: those inside the jurisdiction and those of the
    # regions above it, as units do.
    "/api/mediation/committees": ListCase(
        "/api/mediation/committees",
        "code",
        {
            "admin": {"C-YUSHI", "A-TWH", "B-TWH"},
            "leader": {"C-YUSHI", "A-TWH", "B-TWH"},
            "town_a": {"C-YUSHI", "A-TWH"},
            "town_b": {"C-YUSHI", "B-TWH"},
            "mediator_a": {"C-YUSHI", "A-TWH"},
            "worker_a": FORBIDDEN,
            "handler": FORBIDDEN,
            "resident": FORBIDDEN,
        },
    ),
    "/api/mediation/mediators": ListCase(
        "/api/mediation/mediators",
        "name",
        {
            "admin": EVERY_MEDIATOR,
            "town_a": COUNTY_MEDIATORS | A_MEDIATORS,
            "town_b": COUNTY_MEDIATORS | B_MEDIATORS,
            "mediator_a": COUNTY_MEDIATORS | A_MEDIATORS,
            "worker_a": FORBIDDEN,
            "resident": FORBIDDEN,
        },
    ),
    # Cases: overseers read those of their jurisdiction, a committee's mediators those of
    # their committee, a party their own; a grid worker none (tests/test_mediation_cases.py).
    "/api/mediation/cases": ListCase("/api/mediation/cases", "title", CASE_READERS),
    "/api/mediation/ledger": ListCase("/api/mediation/ledger", "title", CASE_READERS, limit=1000),
    "/api/mediation/indicators": ListCase(
        "/api/mediation/indicators",
        "name",
        {user: {COMMITTEE_OF[k] for k in keys} for user, keys in CASE_KEYS.items()},
    ),
    # The mediation menu is public: anyone signed in chooses from every mediator (no
    # contacts are shown; tests/test_mediation_api.py).
    "/api/mediation/menu": ListCase(
        "/api/mediation/menu",
        "name",
        {"resident": EVERY_MEDIATOR, "worker_b": EVERY_MEDIATOR, "town_a": EVERY_MEDIATOR},
        limit=100,
    ),
}

DETAILS: dict[str, DetailCase] = {
    "/api/regions/{code}": DetailCase(
        "/api/regions/{code}",
        {
            "town_a": TOWN_A,
            "town_b": TOWN_B,
            "comm_b1": COMM_B1,
        },
        {
            "admin": {"town_a", "town_b", "comm_b1"},
            "town_a": {"town_a"},
            "town_b": {"town_b", "comm_b1"},
            "worker_a": set(),
            "resident": FORBIDDEN,
        },
    ),
    "/api/grids/{code}": DetailCase(
        "/api/grids/{code}",
        {
            "a1": GRID_A1_1,
            "a2": GRID_A1_2,
            "b1": GRID_B1_1,
        },
        {
            "admin": {"a1", "a2", "b1"},
            "town_a": {"a1", "a2"},
            "town_b": {"b1"},
            "worker_a": {"a1"},
            "worker_b": {"b1"},
            "head_a": {"a1"},
            "resident": FORBIDDEN,
        },
    ),
    "/api/users/{user_id}": DetailCase(
        "/api/users/{user_id}",
        {
            "worker_a": "worker_a",
            "worker_b": "worker_b",
            "town_b": "town_b",
        },
        {
            "admin": {"worker_a", "worker_b", "town_b"},
            "town_a": {"worker_a"},
            "town_b": {"worker_b", "town_b"},
            "head_a": {"worker_a"},
            # Anyone may read themselves; nobody else without people.read.
            "worker_b": {"worker_b"},
            "worker_a": {"worker_a"},
        },
    ),
    "/api/matters/{matter_id}": DetailCase(
        "/api/matters/{matter_id}",
        {"a": "a", "b": "b"},
        {
            "admin": {"a", "b"},
            "dispatcher": {"a", "b"},
            "town_a": {"a"},
            "town_b": {"b"},
            "comm_a1": {"a"},
            "worker_a": {"a"},
            "worker_b": {"b"},
            "head_a": {"a"},
            "handler": set(),
            "resident": set(),
        },
    ),
    "/api/attachments/{attachment_id}": DetailCase(
        "/api/attachments/{attachment_id}",
        {"a": "a", "b": "b"},
        {
            "admin": {"a", "b"},
            "town_a": {"a"},
            "town_b": {"b"},
            "worker_a": {"a"},
            "worker_b": {"b"},
            "handler": set(),
            "resident": set(),
        },
    ),
    "/api/units/{code}": DetailCase(
        "/api/units/{code}",
        {
            "a": "A-ZZGZ",
            "b": "B-ZZGZ",
            "bureau": "C-ZHZF",
        },
        {
            "admin": {"a", "b", "bureau"},
            "town_a": {"a", "bureau"},
            "town_b": {"b", "bureau"},
            "worker_b": {"b", "bureau"},
            "resident": FORBIDDEN,
        },
    ),
    "/api/mediation/committees/{code}": DetailCase(
        "/api/mediation/committees/{code}",
        {"a": "A-TWH", "b": "B-TWH", "county": "C-YUSHI"},
        {
            "admin": {"a", "b", "county"},
            "town_a": {"a", "county"},
            "town_b": {"b", "county"},
            "mediator_a": {"a", "county"},
            "worker_a": FORBIDDEN,
            "resident": FORBIDDEN,
        },
    ),
    "/api/mediation/mediators/{mediator_id}": DetailCase(
        "/api/mediation/mediators/{mediator_id}",
        {"a": "a_chair", "b": "b_chair", "county": "yushi"},
        {
            "admin": {"a", "b", "county"},
            "town_a": {"a", "county"},
            "town_b": {"b", "county"},
            "mediator_a": {"a", "county"},
            "worker_a": FORBIDDEN,
            "resident": FORBIDDEN,
        },
    ),
    # A case, and what hangs from it, for those who may read the case (the parties see
    # only their own). Its threads and messages are the parties' and the mediators': an
    # overseer reads that a case moves, not what was said in it.
    "/api/mediation/cases/{number}": DetailCase(
        "/api/mediation/cases/{number}", CASES, {u: k for u, k in CASE_KEYS.items()}
    ),
    "/api/mediation/cases/{number}/candidates": DetailCase(
        "/api/mediation/cases/{number}/candidates",
        CASES,
        {u: k for u, k in CASE_KEYS.items()},
    ),
    "/api/mediation/cases/{number}/threads": DetailCase(
        "/api/mediation/cases/{number}/threads", CASES, {u: k for u, k in CASE_KEYS.items()}
    ),
    "/api/mediation/cases/{number}/messages": DetailCase(
        "/api/mediation/cases/{number}/messages",
        CASES,
        {
            "mediator_a": {"a"},
            "resident": {"a"},
            "resident_b": {"b"},
            "town_a": set(),
            "admin": set(),
            "leader": set(),
            "worker_a": set(),
            "mediator_sea": set(),
        },
    ),
    "/api/mediation/cases/{number}/documents/{kind}": DetailCase(
        "/api/mediation/cases/{number}/documents/{kind}",
        CASES,
        {
            "mediator_a": {"a"},
            "resident": {"a"},
            "resident_b": {"b"},
            "town_a": set(),
            "admin": set(),
            "worker_a": set(),
            "mediator_sea": set(),
        },
        fixed={"kind": "application"},
    ),
}

NOT_SCOPED = {
    "/api/health": "public liveness probe",
    "/api/me": "always the caller's own record",
    "/api/calendar/status": "national calendar reference data, the same for everyone",
    "/api/calendar/deadline": "a computation on the national calendar",
    "/api/calendar/{year}": "national calendar reference data",
    "/api/categories": "the county's category list, the same for everyone",
    "/api/deadline-policies": "the county's time limits, the same for everyone",
    "/api/indicators": "sums computed inside the caller's scope (tests/test_matters.py)",
    "/api/dashboard/trail": "the trail down to a place in the caller's jurisdiction, 404 "
    "outside (tests/test_dashboard_drill_api.py)",
    "/api/matters/export": "the list's own filters through read_matters (tests/test_export.py)",
    "/api/dashboard/ranking/export": "the dashboard's ranking in the caller's scope "
    "(tests/test_export.py)",
    "/api/matters/stream": "a stream of the caller's scoped_matters (tests/test_live.py)",
    "/api/workflows/{name}": "a workflow's table, the same for everyone (tests/test_workflow.py)",
    "/api/notifications/mine": "always what was sent to the caller themselves",
    "/api/mediation/knowledge": "the knowledge base of consultation, the same for everyone",
    "/api/mediation/funnel": "sums over the caller's scoped_cases (tests/test_mediation_odr.py)",
    "/api/mediation/indicators/export": "the indicators list's rows (tests/test_mediation_odr.py)",
    "/api/mediation/ledger/export": "the ledger list's rows (tests/test_mediation_odr.py)",
}


def test_every_endpoint_is_in_the_matrix(app_client: TestClient) -> None:
    schema = app_client.app.openapi()  # type: ignore[attr-defined]
    routes = {path for path, ops in schema["paths"].items() if "get" in ops}
    covered = set(LISTS) | set(DETAILS) | set(NOT_SCOPED)
    missing = routes - covered
    assert not missing, f"add these endpoints to the jurisdiction matrix: {sorted(missing)}"
    stale = covered - routes
    assert not stale, f"the matrix names endpoints that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("case", LISTS.values(), ids=list(LISTS))
def test_lists_are_limited_to_jurisdiction(
    client: TestClient, world: World, case: ListCase
) -> None:
    for username, expected in case.sees.items():
        headers = world.login(client, username)
        resp = client.get(case.path, headers=headers, params={"limit": case.limit})
        if expected is FORBIDDEN:
            assert resp.status_code == 403, (username, resp.text)
            continue
        assert resp.status_code == 200, (username, resp.text)
        body = resp.json()
        if case.under:
            items = body[case.under]
        else:
            items = body["items"] if isinstance(body, dict) else body  # pages or plain lists
        got = {str(item[case.key]) for item in items}
        assert got == expected, f"{case.path} as {username}"


def _object_value(world: World, case: DetailCase, name: str) -> str:
    value = case.objects[name]
    if "{user_id}" in case.template:
        return str(world.users[value])
    if "{matter_id}" in case.template:
        return str(world.matters[value])
    if "{attachment_id}" in case.template:
        return str(world.attachments[value])
    if "{mediator_id}" in case.template:
        return str(world.mediators[value])
    if "{number}" in case.template:
        return world.cases[value]
    return value


@pytest.mark.parametrize("case", DETAILS.values(), ids=list(DETAILS))
def test_details_outside_jurisdiction_are_404(
    client: TestClient, world: World, case: DetailCase
) -> None:
    field = case.template[case.template.index("{") + 1 : case.template.index("}")]
    for username, visible in case.sees.items():
        headers = world.login(client, username)
        for name in case.objects:
            url = case.template.replace("{" + field + "}", _object_value(world, case, name))
            for other, value in case.fixed.items():
                url = url.replace("{" + other + "}", value)
            resp = client.get(url, headers=headers)
            if visible is FORBIDDEN:
                assert resp.status_code == 403, (username, name, resp.text)
            elif name in visible:
                assert resp.status_code == 200, (username, name, resp.text)
            else:
                assert resp.status_code == 404, (username, name, resp.text)
                assert "管辖范围" in resp.json()["error"]["message"]


def test_anonymous_callers_get_401_everywhere(client: TestClient) -> None:
    for path in [*LISTS, "/api/me", "/api/calendar/status"]:
        resp = client.get(path)
        assert resp.status_code == 401, path
        assert resp.json()["error"]["message"] == "请先登录"


def test_the_rule_for_a_matter_in_hand_is_the_rule_of_the_query(
    session: Session, world: World
) -> None:
    """`matters.sees` (used where the matter's place, unit and reporter are already read,
    as for the possible duplicates of a new report) agrees with `scoped_matters` for every
    user and matter, a unit's tasks and a caller of the whole country among them."""
    rows = session.scalars(select(Matter)).all()
    for matter, unit in zip(rows, ("bureau", "platform_a"), strict=False):
        matter.unit_id = world.units[unit]
    session.commit()
    principals = [people.principal_of(user) for user in session.scalars(select(User)).all()] + [
        Principal(0, "root", "root", frozenset({Role.admin}), scope_path="/")
    ]
    for principal in principals:
        visible = set(
            session.scalars(matters.scoped_matters(principal).with_only_columns(Matter.id))
        )
        for matter in rows:
            seen = matters.sees(principal, matter.region_path, matter.unit_id, matter.reporter_id)
            assert seen == (matter.id in visible), (principal.username, matter.number)
    assert visible == {m.id for m in rows}  # the last: everywhere
