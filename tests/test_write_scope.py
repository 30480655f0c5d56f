"""The write-scope matrix: every write endpoint, tried by callers of a township against
objects inside, above and beside their township.

Every POST, PUT, PATCH and DELETE route under /api must appear in WRITES or NOT_SCOPED
(with the reason); `test_every_write_endpoint_is_in_the_matrix` fails for a new one until
it is added here. A refused write must change nothing: every business table is compared
row by row before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.calendar.service import build_calendar
from fengqiao.matters import intake
from fengqiao.matters import service as matters_service
from fengqiao.matters.models import RoutingRule
from fengqiao.mediation import cases as mediation_cases
from fengqiao.mediation.schemas import CaseCreate, PartyIn
from fengqiao.models import Base
from fengqiao.notify.models import OutboxMessage
from fengqiao.people import service as people
from fengqiao.people.models import User
from tests.world import (
    COMM_A1,
    COMM_B1,
    COUNTY,
    TOWN_A,
    TOWN_B,
    World,
    png,
)

# Failed logins and sessions are recorded on purpose; the audit log records the attempt.
SECURITY_TABLES = {"audit_log", "login_throttle", "auth_session", "revision"}
STRONG = "Fengqiao@2026x"


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    session.expire_all()
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in SECURITY_TABLES:
            continue
        rows[table.name] = sorted(
            (tuple(str(v) for v in r) for r in session.execute(select(table)).all()),
        )
    return rows


def box(west: float, south: float, size: float = 0.01) -> dict[str, Any]:
    ring = [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


Setup = Callable[[TestClient, World, Session], dict[str, Any]]


def fill(body: Any, values: dict[str, Any]) -> Any:
    """The body with each string "{name}" replaced by that value of the setup (as is: an
    id stays a number)."""
    if isinstance(body, dict):
        return {k: fill(v, values) for k, v in body.items()}
    if isinstance(body, list):
        return [fill(v, values) for v in body]
    if isinstance(body, str) and body.startswith("{") and body.endswith("}"):
        return values.get(body[1:-1], body)
    return body


def _no_setup(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class WriteCase:
    """`caller` sends `method path` with `body` (both may name values that `setup`
    returns, as {name}); `status` is the answer. `where`: the object is inside, above
    or beside the caller's township (or `own` for the installation-wide settings)."""

    name: str
    caller: str
    where: str
    path: str
    status: int
    body: Any = None
    setup: Setup = _no_setup
    check: Callable[[Any], None] | None = None
    files: dict[str, Any] | None = field(default=None, hash=False)


def _user(**extra: Any) -> dict[str, Any]:
    return {
        "username": "new_user",
        "display_name": "新用户",
        "password": STRONG,
        "roles": ["unit_handler"],
        **extra,
    }


def _unit_stored(body: Any) -> None:
    assert body["unit"]["code"] == "A-ZZGZ", body  # the response shows what was stored


def _rules(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    """A rule for the whole installation, one for the county, one per township (the
    world's own two, for dispute_family)."""
    ids: dict[str, Any] = {}
    for key, path in (("everywhere", None), ("county", f"{COUNTY}/")):
        rule = RoutingRule(
            category_code="urban_management",
            region_path=path,
            unit_id=world.units["bureau"],
            level=4,
            is_active=True,
        )
        session.add(rule)
        session.flush()
        ids[key] = rule.id
    for key, town in (("town_a", TOWN_A), ("town_b", TOWN_B)):
        ids[key] = session.scalar(
            select(RoutingRule.id).where(RoutingRule.region_path == f"{COUNTY}/{town}/")
        )
    session.commit()
    return ids


def _matters(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    return {"a": world.matters["a"], "b": world.matters["b"]}


def _accepted(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    headers = world.login(client, "town_a")
    resp = client.post(
        f"/api/matters/{world.matters['a']}/actions/accept", json={}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    return _matters(client, world, session)


def _escalated(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    """Matter a sent up from the township to the county: above the township's reach."""
    headers = world.login(client, "town_a")
    resp = client.post(
        f"/api/matters/{world.matters['a']}/actions/escalate",
        json={"reason": "需区级协调"},
        headers=headers,
    )
    assert resp.status_code == 200 and resp.json()["level"] == 4, resp.text
    return _matters(client, world, session)


def _ids(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    return {f"user_{k}": v for k, v in world.users.items()}


def _failed_notes(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    """The notifications of the world's two reports given up, and one of the whole
    installation (it names no matter)."""
    ids: dict[str, Any] = {}
    for key in ("a", "b"):
        note = session.scalars(
            select(OutboxMessage).where(OutboxMessage.matter_id == world.matters[key])
        ).one()
        note.status, note.failed_at, note.last_error = "failed", note.created_at, "HTTP 503"
        ids[f"note_{key}"] = note.id
    wide = OutboxMessage(
        dedupe_key="installation:notice",
        created_at=note.created_at,
        topic="system.notice",
        recipient=f"dispatchers:{COUNTY}/",
        channel="default",
        payload={},
        status="failed",
        attempts=3,
        next_attempt_at=note.created_at,
        failed_at=note.created_at,
    )
    session.add(wide)
    session.commit()
    return ids | {"note_wide": wide.id}


def _resent(count: int) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        assert len(body["resent"]) == count, body

    return check


def _committee(**extra: Any) -> dict[str, Any]:
    return {"code": "NEW-TWH", "name": "新调委会", "kind": "village", **extra}


def _mediator(committee: str) -> dict[str, Any]:
    return {"committee_code": committee, "name": "新调解员", "gender": "female"}


def _mediators(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    return dict(world.mediators)


def _cases(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    """The world's cases; case "a" with mediator_a presiding; a case of the county (a
    court's delegation to its fishery committee); a dispute matter in each township."""
    admin = people.principal_of(session.get(User, world.users["admin"]))
    head = people.principal_of(session.get(User, world.users["mediator_a"]))
    cal = build_calendar(session)
    for action, body in (("accept", {}), ("assign", {"presiding_id": world.mediators["a_chair"]})):
        mediation_cases.take(session, head, cal, world.cases["a"], action, body)
    county = mediation_cases.create_case(
        session,
        admin,
        cal,
        CaseCreate(
            source="court",
            court="测试区人民法院",
            title="渔船碰撞纠纷",
            region_code=COUNTY,
            committee_code="C-YUSHI",
            parties=[PartyIn(role="applicant", name="甲船主")],
        ),
    )
    disputes = {}
    for key, region in (("a", COMM_A1), ("b", COMM_B1)):
        matter, _ = intake.report(
            session,
            admin,
            intake.Report(title="邻里纠纷", category_code="dispute_family", region_code=region),
            grid=None,
        )
        matters_service.act(session, admin, cal, matter.id, "accept", {})
        disputes[f"dispute_{key}"] = matter.id
    session.commit()
    return {
        "case_a": world.cases["a"],
        "case_b": world.cases["b"],
        "case_county": county.number,
        **disputes,
    }


def _dispute(matter: str) -> dict[str, Any]:
    return {
        "source": "matter",
        "matter_id": "{" + matter + "}",
        "title": "邻里纠纷",
        "committee_code": "A-TWH",
        "parties": [{"role": "applicant", "name": "张三"}],
    }


KNOWLEDGE = {"kind": "question", "title": "调解收费吗？", "body": "人民调解不收取任何费用。"}


POLICY = {"urgency": "normal", "basis": "working", "sign": 1, "resolve": 3}
HOLIDAYS = {"days": [{"day": "2027-01-01", "kind": "holiday", "name": "元旦"}]}

WRITES: dict[str, list[WriteCase]] = {
    "POST /api/users": [
        WriteCase(
            "inside, of a unit of the township",
            "admin_a",
            "inside",
            "/api/users",
            201,
            _user(unit_code="A-ZZGZ"),
            check=_unit_stored,
        ),
        WriteCase(
            "inside, in a community",
            "admin_a",
            "inside",
            "/api/users",
            201,
            _user(region_code=COMM_A1, roles=["dispatcher"]),
        ),
        WriteCase("the county", "admin_a", "above", "/api/users", 404, _user(region_code=COUNTY)),
        WriteCase(
            "a county department with a township region",
            "admin_a",
            "above",
            "/api/users",
            404,
            _user(region_code=TOWN_A, unit_code="C-ZHZF"),
        ),
        WriteCase(
            "a county department",
            "admin_a",
            "above",
            "/api/users",
            404,
            _user(unit_code="C-ZHZF"),
        ),
        WriteCase(
            "another township", "admin_a", "beside", "/api/users", 404, _user(region_code=TOWN_B)
        ),
        WriteCase(
            "another township's unit",
            "admin_a",
            "beside",
            "/api/users",
            404,
            _user(unit_code="B-ZZGZ"),
        ),
        WriteCase(
            "a unit's user outside the unit's area",
            "admin",
            "beside",
            "/api/users",
            422,
            _user(unit_code="A-ZZGZ", region_code=TOWN_B),
        ),
    ],
    "PATCH /api/users/{user_id}": [
        WriteCase(
            "a worker of the township",
            "admin_a",
            "inside",
            "/api/users/{user_worker_a}",
            200,
            {"display_name": "改名"},
            _ids,
        ),
        WriteCase(
            "a community dispatcher bound to the township's platform",
            "admin_a",
            "inside",
            "/api/users/{user_comm_a1}",
            200,
            {"unit_code": "A-ZZGZ", "region_code": COMM_A1},
            _ids,
            check=_unit_stored,
        ),
        WriteCase(
            "the county's administrator",
            "admin_a",
            "above",
            "/api/users/{user_admin}",
            404,
            {"is_active": False},
            _ids,
        ),
        WriteCase(
            "a county department's handler",
            "admin_a",
            "above",
            "/api/users/{user_handler}",
            404,
            {"display_name": "改名"},
            _ids,
        ),
        WriteCase(
            "a township user bound to a county department",
            "admin_a",
            "above",
            "/api/users/{user_handler_a}",
            404,
            {"unit_code": "C-ZHZF"},
            _ids,
        ),
        WriteCase(
            "a township user moved to the county",
            "admin_a",
            "above",
            "/api/users/{user_worker_a}",
            404,
            {"region_code": COUNTY},
            _ids,
        ),
        WriteCase(
            "another township's worker",
            "admin_a",
            "beside",
            "/api/users/{user_worker_b}",
            404,
            {"password": STRONG},
            _ids,
        ),
        WriteCase(
            "a township user moved to another township",
            "admin_a",
            "beside",
            "/api/users/{user_worker_a}",
            404,
            {"region_code": TOWN_B},
            _ids,
        ),
    ],
    "POST /api/units": [
        WriteCase(
            "in a community",
            "admin_a",
            "inside",
            "/api/units",
            201,
            {"code": "A1-SQ", "name": "社区工作站", "kind": "station", "region_code": COMM_A1},
        ),
        WriteCase(
            "at the county",
            "admin_a",
            "above",
            "/api/units",
            404,
            {"code": "C-NEW", "name": "区新单位", "kind": "department", "region_code": COUNTY},
        ),
        WriteCase(
            "in another township",
            "admin_a",
            "beside",
            "/api/units",
            404,
            {"code": "B-NEW", "name": "乙镇新单位", "kind": "station", "region_code": TOWN_B},
        ),
    ],
    "PATCH /api/units/{code}": [
        WriteCase(
            "the township's platform",
            "admin_a",
            "inside",
            "/api/units/A-ZZGZ",
            200,
            {"name": "甲街道综治中心"},
        ),
        WriteCase(
            "stop a county department",
            "admin_a",
            "above",
            "/api/units/C-ZHZF",
            403,
            {"is_active": False},
        ),
        WriteCase(
            "rename a county department",
            "admin_a",
            "above",
            "/api/units/C-ZHZF",
            403,
            {"name": "改名"},
        ),
        WriteCase(
            "another township's platform",
            "admin_a",
            "beside",
            "/api/units/B-ZZGZ",
            404,
            {"is_active": False},
        ),
    ],
    "POST /api/routing-rules": [
        WriteCase(
            "the township's matters to its platform",
            "admin_a",
            "inside",
            "/api/routing-rules",
            201,
            {"category_code": "dispute", "region_code": TOWN_A, "unit_code": "A-ZZGZ", "level": 3},
        ),
        WriteCase(
            "the township's matters to a county department (it serves them)",
            "admin_a",
            "inside",
            "/api/routing-rules",
            201,
            {
                "category_code": "urban_management",
                "region_code": COMM_A1,
                "unit_code": "C-ZHZF",
                "level": 4,
            },
        ),
        WriteCase(
            "a rule with no region (installation-wide)",
            "admin_a",
            "above",
            "/api/routing-rules",
            403,
            {"category_code": "dispute", "unit_code": "A-ZZGZ", "level": 3},
        ),
        WriteCase(
            "a rule for the county",
            "admin_a",
            "above",
            "/api/routing-rules",
            404,
            {"category_code": "dispute", "region_code": COUNTY, "unit_code": "C-ZHZF", "level": 4},
        ),
        WriteCase(
            "the township's matters to another township's platform",
            "admin_a",
            "beside",
            "/api/routing-rules",
            404,
            {"category_code": "dispute", "region_code": TOWN_A, "unit_code": "B-ZZGZ", "level": 3},
        ),
        WriteCase(
            "even the county may not send a township's matters to another township",
            "admin",
            "beside",
            "/api/routing-rules",
            422,
            {"category_code": "dispute", "region_code": TOWN_A, "unit_code": "B-ZZGZ", "level": 3},
        ),
        WriteCase(
            "a rule for another township",
            "admin_a",
            "beside",
            "/api/routing-rules",
            404,
            {"category_code": "dispute", "region_code": TOWN_B, "unit_code": "B-ZZGZ", "level": 3},
        ),
    ],
    "DELETE /api/routing-rules/{rule_id}": [
        WriteCase(
            "the township's rule",
            "admin_a",
            "inside",
            "/api/routing-rules/{town_a}",
            204,
            setup=_rules,
        ),
        WriteCase(
            "the installation-wide rule",
            "admin_a",
            "above",
            "/api/routing-rules/{everywhere}",
            403,
            setup=_rules,
        ),
        WriteCase(
            "the county's rule",
            "admin_a",
            "above",
            "/api/routing-rules/{county}",
            403,
            setup=_rules,
        ),
        WriteCase(
            "another township's rule",
            "admin_a",
            "beside",
            "/api/routing-rules/{town_b}",
            404,
            setup=_rules,
        ),
        WriteCase(
            "the county deletes the installation-wide rule",
            "admin",
            "own",
            "/api/routing-rules/{everywhere}",
            204,
            setup=_rules,
        ),
    ],
    "PUT /api/deadline-policies": [
        WriteCase("a township", "admin_a", "above", "/api/deadline-policies", 403, POLICY),
        WriteCase("the whole county", "admin", "own", "/api/deadline-policies", 200, POLICY),
    ],
    "PUT /api/calendar/{year}": [
        WriteCase("a township", "admin_a", "above", "/api/calendar/2027", 403, HOLIDAYS),
        WriteCase("the whole county", "admin", "own", "/api/calendar/2027", 200, HOLIDAYS),
    ],
    "POST /api/regions": [
        WriteCase(
            "a community of the township",
            "admin_a",
            "inside",
            "/api/regions",
            201,
            {"code": "330305001003", "name": "新社区", "parent_code": TOWN_A},
        ),
        WriteCase(
            "a township of the county",
            "admin_a",
            "above",
            "/api/regions",
            404,
            {"code": "330305003", "name": "新镇", "parent_code": COUNTY},
        ),
        WriteCase(
            "a new top-level region",
            "admin_a",
            "above",
            "/api/regions",
            422,
            {"code": "330306", "name": "新区"},
        ),
        WriteCase(
            "a community of another township",
            "admin_a",
            "beside",
            "/api/regions",
            404,
            {"code": "330305002003", "name": "新社区", "parent_code": TOWN_B},
        ),
    ],
    "POST /api/grids": [
        WriteCase(
            "an enterprise grid in a community of the township",
            "admin_a",
            "inside",
            "/api/grids",
            201,
            {
                "code": f"{COMM_A1}03",
                "name": "企业网格",
                "kind": "enterprise",
                "region_code": COMM_A1,
                "geometry": box(120.01, 30.01),
            },
        ),
        WriteCase(
            "a grid of the county",
            "admin_a",
            "above",
            "/api/grids",
            404,
            {
                "code": f"{COUNTY}03",
                "name": "区网格",
                "kind": "enterprise",
                "region_code": COUNTY,
                "geometry": box(120.01, 30.01),
            },
        ),
        WriteCase(
            "a grid in another township",
            "admin_a",
            "beside",
            "/api/grids",
            404,
            {
                "code": f"{COMM_B1}03",
                "name": "企业网格",
                "kind": "enterprise",
                "region_code": COMM_B1,
                "geometry": box(120.21, 30.01),
            },
        ),
    ],
    # Anyone may report about any place; the matter belongs to the place it names and is
    # seen by that place's staff and by its reporter (tests/test_jurisdiction.py).
    "POST /api/matters": [
        WriteCase(
            "in the worker's grid",
            "worker_a",
            "inside",
            "/api/matters",
            201,
            {"title": "路灯不亮", "lon": 120.05, "lat": 30.05},
        ),
        WriteCase(
            "at the county",
            "worker_a",
            "above",
            "/api/matters",
            201,
            {"title": "区里的事", "region_code": COUNTY},
        ),
        WriteCase(
            "in another township",
            "worker_a",
            "beside",
            "/api/matters",
            201,
            {"title": "路过看到", "lon": 120.25, "lat": 30.05},
        ),
    ],
    "POST /api/matters/{matter_id}/actions/{action}": [
        WriteCase(
            "accept a matter of the township",
            "town_a",
            "inside",
            "/api/matters/{a}/actions/accept",
            200,
            setup=_matters,
        ),
        WriteCase(
            "dispatch to the township's platform",
            "town_a",
            "inside",
            "/api/matters/{a}/actions/dispatch",
            200,
            {"unit_code": "A-ZZGZ"},
            _accepted,
        ),
        WriteCase(
            "act on a matter escalated to the county",
            "town_a",
            "above",
            "/api/matters/{a}/actions/dispatch",
            403,
            {"unit_code": "C-ZHZF"},
            _escalated,
        ),
        WriteCase(
            "accept another township's matter",
            "town_a",
            "beside",
            "/api/matters/{b}/actions/accept",
            404,
            setup=_matters,
        ),
        WriteCase(
            "dispatch to another township's platform",
            "town_a",
            "beside",
            "/api/matters/{a}/actions/dispatch",
            422,
            {"unit_code": "B-ZZGZ"},
            _accepted,
        ),
        WriteCase(
            "a county dispatcher, to another township's platform",
            "dispatcher",
            "beside",
            "/api/matters/{a}/actions/dispatch",
            422,
            {"unit_code": "B-ZZGZ"},
            _accepted,
        ),
    ],
    "POST /api/matters/bulk": [
        WriteCase(
            "accept the township's matters at once",
            "town_a",
            "inside",
            "/api/matters/bulk",
            200,
            {"action": "accept", "ids": ["{a}"]},
            _matters,
        ),
        WriteCase(
            "dispatch a matter escalated to the county",
            "town_a",
            "above",
            "/api/matters/bulk",
            403,
            {"action": "dispatch", "ids": ["{a}"], "payload": {"unit_code": "C-ZHZF"}},
            _escalated,
        ),
        WriteCase(
            "accept another township's matter",
            "town_a",
            "beside",
            "/api/matters/bulk",
            404,
            {"action": "accept", "ids": ["{b}"]},
            _matters,
        ),
    ],
    "POST /api/matters/{matter_id}/attachments": [
        WriteCase(
            "a photo for a matter of the worker's grid",
            "worker_a",
            "inside",
            "/api/matters/{a}/attachments",
            201,
            setup=_matters,
            files={"file": ("p.png", png(20, 20), "image/png")},
        ),
        WriteCase(
            "a photo for another township's matter",
            "worker_a",
            "beside",
            "/api/matters/{b}/attachments",
            404,
            setup=_matters,
            files={"file": ("p.png", png(21, 21), "image/png")},
        ),
    ],
    "POST /api/notifications/{message_id}/resend": [
        WriteCase(
            "a matter of the township's",
            "admin_a",
            "inside",
            "/api/notifications/{note_a}/resend",
            200,
            setup=_failed_notes,
        ),
        WriteCase(
            "the installation's (it names no matter)",
            "admin_a",
            "above",
            "/api/notifications/{note_wide}/resend",
            404,
            setup=_failed_notes,
        ),
        WriteCase(
            "another township's matter's",
            "admin_a",
            "beside",
            "/api/notifications/{note_b}/resend",
            404,
            setup=_failed_notes,
        ),
        WriteCase(
            "the county resends the installation's",
            "admin",
            "own",
            "/api/notifications/{note_wide}/resend",
            200,
            setup=_failed_notes,
        ),
    ],
    "POST /api/notifications/resend-failed": [
        WriteCase(
            "every failed one the township sees: its matter's only",
            "admin_a",
            "inside",
            "/api/notifications/resend-failed",
            200,
            {},
            _failed_notes,
            check=_resent(1),
        ),
        WriteCase(
            "those of the township's matters",
            "admin_a",
            "inside",
            "/api/notifications/resend-failed",
            200,
            {"region_code": TOWN_A},
            _failed_notes,
            check=_resent(1),
        ),
        WriteCase(
            "those of the county",
            "admin_a",
            "above",
            "/api/notifications/resend-failed",
            404,
            {"region_code": COUNTY},
            _failed_notes,
        ),
        WriteCase(
            "those of another township",
            "admin_a",
            "beside",
            "/api/notifications/resend-failed",
            404,
            {"region_code": TOWN_B},
            _failed_notes,
        ),
        WriteCase(
            "the county resends all, the installation's too",
            "admin",
            "own",
            "/api/notifications/resend-failed",
            200,
            {},
            _failed_notes,
            check=_resent(3),
        ),
    ],
    "POST /api/mediation/committees": [
        WriteCase("in a community", "admin_a", "inside", "/api/mediation/committees", 201,
                  _committee(region_code=COMM_A1)),
        WriteCase("at the county", "admin_a", "above", "/api/mediation/committees", 404,
                  _committee(region_code=COUNTY)),
        WriteCase("in another township", "admin_a", "beside", "/api/mediation/committees", 404,
                  _committee(region_code=COMM_B1)),
    ],
    "PATCH /api/mediation/committees/{code}": [
        WriteCase("the township's committee", "admin_a", "inside",
                  "/api/mediation/committees/A-TWH", 200, {"venue": "甲街道调解室"}),
        WriteCase("the county's committee, which serves it", "admin_a", "above",
                  "/api/mediation/committees/C-YUSHI", 403, {"is_active": False}),
        WriteCase("another township's committee", "admin_a", "beside",
                  "/api/mediation/committees/B-TWH", 404, {"venue": "乙镇"}),
    ],
    "POST /api/mediation/mediators": [
        WriteCase("to the township's committee", "admin_a", "inside",
                  "/api/mediation/mediators", 201, _mediator("A-TWH")),
        WriteCase("to the county's committee", "admin_a", "above",
                  "/api/mediation/mediators", 403, _mediator("C-YUSHI")),
        WriteCase("to another township's committee", "admin_a", "beside",
                  "/api/mediation/mediators", 404, _mediator("B-TWH")),
    ],
    "PATCH /api/mediation/mediators/{mediator_id}": [
        WriteCase("of the township", "admin_a", "inside", "/api/mediation/mediators/{a_chair}",
                  200, {"profile": "擅长婚姻家庭纠纷"}, _mediators),
        WriteCase("of the county's committee", "admin_a", "above",
                  "/api/mediation/mediators/{yushi}", 403, {"is_active": False}, _mediators),
        WriteCase("of another township", "admin_a", "beside",
                  "/api/mediation/mediators/{b_chair}", 404, {"is_active": False}, _mediators),
    ],
    "POST /api/mediation/cases": [
        WriteCase("a dispute matter of the township", "town_a", "inside",
                  "/api/mediation/cases", 201, _dispute("dispute_a"), _cases),
        WriteCase("a dispute matter of another township", "town_a", "beside",
                  "/api/mediation/cases", 404, _dispute("dispute_b"), _cases),
        WriteCase("a court's delegation at the county", "town_a", "above",
                  "/api/mediation/cases", 403,
                  {"source": "court", "court": "测试区人民法院", "title": "渔船碰撞纠纷",
                   "region_code": COUNTY, "committee_code": "C-YUSHI",
                   "parties": [{"role": "applicant", "name": "甲船主"}]}),
    ],
    "POST /api/mediation/cases/{number}/actions/{action}": [
        WriteCase("the township's case", "town_a", "inside",
                  "/api/mediation/cases/{case_a}/actions/set_risk", 200,
                  {"risk_colour": "yellow", "reason": "当事人情绪激动"}, _cases),
        WriteCase("the county's case", "town_a", "above",
                  "/api/mediation/cases/{case_county}/actions/set_risk", 404,
                  {"risk_colour": "yellow", "reason": "x"}, _cases),
        WriteCase("another township's case", "town_a", "beside",
                  "/api/mediation/cases/{case_b}/actions/set_risk", 404,
                  {"risk_colour": "yellow", "reason": "x"}, _cases),
    ],
    "POST /api/mediation/cases/{number}/messages": [
        WriteCase("in the committee's case", "mediator_a", "inside",
                  "/api/mediation/cases/{case_a}/messages", 201,
                  {"thread": "joint", "body": "请于周五到调解室"}, _cases),
        WriteCase("in another township's case", "mediator_a", "beside",
                  "/api/mediation/cases/{case_b}/messages", 404,
                  {"thread": "joint", "body": "x"}, _cases),
        WriteCase("in the county's case", "mediator_a", "above",
                  "/api/mediation/cases/{case_county}/messages", 404,
                  {"thread": "joint", "body": "x"}, _cases),
    ],
    "POST /api/mediation/cases/{number}/scans": [
        WriteCase("of the case she presides over", "mediator_a", "inside",
                  "/api/mediation/cases/{case_a}/scans", 201, setup=_cases,
                  files={"file": ("scan.png", png(40, 60), "image/png")}),
        WriteCase("of another township's case", "mediator_a", "beside",
                  "/api/mediation/cases/{case_b}/scans", 404, setup=_cases,
                  files={"file": ("scan.png", png(40, 60), "image/png")}),
    ],
    "POST /api/mediation/knowledge": [
        WriteCase("the installation's, by the county", "admin", "own",
                  "/api/mediation/knowledge", 201, KNOWLEDGE),
        WriteCase("the installation's, by a township", "admin_a", "above",
                  "/api/mediation/knowledge", 403, KNOWLEDGE),
    ],
}  # fmt: skip

NOT_SCOPED = {
    "POST /api/auth/login": "opens the caller's own session",
    "POST /api/auth/refresh": "rotates the caller's own session",
    "POST /api/auth/logout": "ends the caller's own session",
    "POST /api/geo/locate": "a computation: writes nothing",
    "POST /api/geo/locate-many": "a computation: writes nothing",
    "POST /api/mediation/verify": "a computation on the copy sent: writes nothing",
}

CASES = [(route, case) for route, cases in WRITES.items() for case in cases]


def test_every_write_endpoint_is_in_the_matrix(app_client: TestClient) -> None:
    schema = app_client.app.openapi()  # type: ignore[attr-defined]
    routes = {
        f"{method.upper()} {path}"
        for path, ops in schema["paths"].items()
        for method in ops
        if method in {"post", "put", "patch", "delete"}
    }
    covered = set(WRITES) | set(NOT_SCOPED)
    assert not routes - covered, f"add to the write matrix: {sorted(routes - covered)}"
    assert not covered - routes, f"the matrix names gone endpoints: {sorted(covered - routes)}"
    for route, cases in WRITES.items():
        kinds = {c.where for c in cases}
        assert "inside" in kinds or "own" in kinds, route  # each has a write that succeeds
        assert kinds & {"above", "beside"}, route


@pytest.mark.parametrize(
    ("route", "case"), CASES, ids=[f"{r} · {c.caller} · {c.name}" for r, c in CASES]
)
def test_writes_are_limited_to_jurisdiction(
    client: TestClient, world: World, session: Session, route: str, case: WriteCase
) -> None:
    values = case.setup(client, world, session)
    path = case.path.format(**values)
    method = route.split(" ", 1)[0]
    headers = world.login(client, case.caller)
    before = snapshot(session)
    if case.files:
        resp = client.post(path, files=case.files, data={"stage": "report"}, headers=headers)
    else:
        body = fill(case.body, values) if case.body is not None or method == "DELETE" else {}
        resp = client.request(method, path, json=body, headers=headers)
    assert resp.status_code == case.status, resp.text
    after = snapshot(session)
    if resp.status_code >= 400:
        assert after == before, "a refused write changed something"
        message = resp.json()["error"]["message"]
        assert message and "Traceback" not in message
    else:
        assert after != before, "an accepted write changed nothing"
        if case.check is not None:
            case.check(resp.json())
