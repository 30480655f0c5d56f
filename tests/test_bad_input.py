"""Bad input gets a clear 4xx answer, in Chinese by default and English on request, and
writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.models import Base
from tests.world import World

# Failed logins are recorded on purpose (throttling, audit): not business data.
SECURITY_TABLES = {"audit_log", "login_throttle", "auth_session"}


def _counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        t.name: session.scalar(select(func.count()).select_from(t)) or 0
        for t in Base.metadata.sorted_tables
        if t.name not in SECURITY_TABLES
    }


@contextmanager
def writes_nothing(session: Session) -> Iterator[None]:
    before = _counts(session)
    yield
    session.rollback()
    assert _counts(session) == before


SQUARE = [[120.4, 30.0], [120.5, 30.0], [120.5, 30.1], [120.4, 30.1], [120.4, 30.0]]
BOWTIE = [[120.4, 30.0], [120.5, 30.1], [120.5, 30.0], [120.4, 30.1], [120.4, 30.0]]


def _grid(geometry: Any, **extra: Any) -> dict[str, Any]:
    body = {
        "code": "33030500100103",
        "name": "新网格",
        "kind": "base",
        "region_code": "330305001001",
        "geometry": geometry,
    }
    body.update(extra)
    return body


BAD_REQUESTS: list[tuple[str, str, str, Any, int, str, str]] = [
    # (id, method, path, json, status, Chinese fragment, English fragment)
    (
        "self-intersecting polygon",
        "POST",
        "/api/grids",
        _grid({"type": "Polygon", "coordinates": [BOWTIE]}),
        422,
        "多边形无效",
        "Invalid polygon",
    ),
    (
        "not a polygon",
        "POST",
        "/api/grids",
        _grid({"type": "Point", "coordinates": [120, 30]}),
        422,
        "几何类型应为 Polygon",
        "must be a Polygon",
    ),
    (
        "garbage coordinates",
        "POST",
        "/api/grids",
        _grid({"type": "Polygon", "coordinates": [["a", "b"]]}),
        422,
        "坐标结构不正确",
        "Malformed GeoJSON",
    ),
    (
        "too few points",
        "POST",
        "/api/grids",
        _grid({"type": "Polygon", "coordinates": [[[120, 30], [121, 30]]]}),
        422,
        "坐标结构不正确",
        "Malformed GeoJSON",
    ),
    (
        "polygon out of range",
        "POST",
        "/api/grids",
        _grid({"type": "Polygon", "coordinates": [[[190, 30], [191, 30], [191, 31], [190, 30]]]}),
        422,
        "坐标超出经纬度范围",
        "out of range",
    ),
    (
        "unknown region",
        "POST",
        "/api/grids",
        _grid({"type": "Polygon", "coordinates": [SQUARE]}, region_code="330305009009"),
        404,
        "行政区划不存在",
        "region not found",
    ),
    (
        "grid code off scheme",
        "POST",
        "/api/grids",
        _grid({"type": "Polygon", "coordinates": [SQUARE]}, code="99999"),
        422,
        "网格编码",
        "Grid code",
    ),
    (
        "malformed region code",
        "POST",
        "/api/regions",
        {"code": "33A", "name": "x", "parent_code": "330305"},
        422,
        "code",
        "code",
    ),
    (
        "region under a wrong parent",
        "POST",
        "/api/regions",
        {"code": "330306001", "name": "x", "parent_code": "330305"},
        422,
        "不属于上级区划",
        "does not belong",
    ),
    (
        "unknown parent region",
        "POST",
        "/api/regions",
        {"code": "330305009", "name": "x", "parent_code": "330399"},
        404,
        "行政区划不存在",
        "not found",
    ),
    (
        "longitude out of range",
        "POST",
        "/api/geo/locate",
        {"lon": 200, "lat": 30},
        422,
        "不能大于 180",
        "less than or equal to 180",
    ),
    (
        "latitude out of range",
        "POST",
        "/api/geo/locate",
        {"lon": 120, "lat": -91},
        422,
        "不能小于 -90",
        "greater than or equal to -90",
    ),
    (
        "unknown coordinate system",
        "POST",
        "/api/geo/locate",
        {"lon": 120, "lat": 30, "crs": "mars"},
        422,
        "不是允许的取值",
        "Input should be",
    ),
    (
        "missing latitude",
        "POST",
        "/api/geo/locate",
        {"lon": 120},
        422,
        "缺少必填项",
        "Field required",
    ),
    (
        "unknown region filter",
        "GET",
        "/api/grids?region=330305999",
        None,
        404,
        "行政区划不存在",
        "not found",
    ),
    (
        "user with unknown jurisdiction",
        "POST",
        "/api/users",
        {
            "username": "newbie",
            "display_name": "新人",
            "password": "long-enough-1",
            "roles": ["grid_worker_fulltime"],
            "region_code": "330305009",
        },
        422,
        "辖区代码",
        "Unknown region or grid",
    ),
    (
        "user with unknown role",
        "POST",
        "/api/users",
        {
            "username": "newbie",
            "display_name": "新人",
            "password": "long-enough-1",
            "roles": ["king"],
            "region_code": "330305001",
        },
        422,
        "不是允许的取值",
        "Input should be",
    ),
    (
        "duplicate user name",
        "POST",
        "/api/users",
        {
            "username": "worker_a",
            "display_name": "重名",
            "password": "long-enough-1",
            "roles": ["resident"],
            "region_code": "330305001",
        },
        409,
        "已存在",
        "is taken",
    ),
    (
        "report with a NUL character",
        "POST",
        "/api/events",
        {"title": "路灯\u0000不亮", "region_code": "330305001"},
        422,
        "控制字符",
        "control character",
    ),
    (
        "user with a NUL character in the name",
        "POST",
        "/api/users",
        {
            "username": "nul_name",
            "display_name": "用户\u0000",
            "password": "long-enough-1",
            "roles": ["resident"],
            "region_code": "330305001",
        },
        422,
        "控制字符",
        "control character",
    ),
    (
        "calendar workday on a weekday",
        "PUT",
        "/api/calendar/2027",
        {"days": [{"day": "2027-01-04", "kind": "workday", "name": "调休"}]},
        422,
        "无需设为调休",
        "weekday already",
    ),
]


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_get_a_clear_answer_and_write_nothing(
    client: TestClient,
    world: World,
    session: Session,
    case: tuple[str, str, str, Any, int, str, str],
) -> None:
    _, method, path, body, status, zh, en = case
    headers = world.login(client, "admin")
    with writes_nothing(session):
        for lang, fragment in (("zh-CN,zh;q=0.9", zh), ("en", en)):
            resp = client.request(
                method, path, json=body, headers={**headers, "Accept-Language": lang}
            )
            assert resp.status_code == status, resp.text
            error = resp.json()["error"]
            assert fragment in error["message"] or any(
                fragment in d["message"] for d in error.get("details", [])
            ), (lang, error)
            assert "Traceback" not in resp.text


def test_malformed_json_body(client: TestClient, world: World, session: Session) -> None:
    headers = {**world.login(client, "admin"), "Content-Type": "application/json"}
    with writes_nothing(session):
        resp = client.post("/api/grids", content=b"{not json", headers=headers)
        assert resp.status_code == 422
        assert "不是合法的 JSON" in resp.text


def test_oversized_bodies_are_refused(client: TestClient, world: World, session: Session) -> None:
    headers = world.login(client, "admin")
    ring = [[120.4 + i * 1e-6, 30.0] for i in range(20_000)] + [[120.4, 30.1], [120.4, 30.0]]
    with writes_nothing(session):
        resp = client.post(
            "/api/grids", json=_grid({"type": "Polygon", "coordinates": [ring]}), headers=headers
        )
        assert resp.status_code == 413
        assert resp.json()["error"]["message"].startswith("请求内容过大")
        resp = client.post(
            "/api/grids",
            json=_grid({"type": "Polygon", "coordinates": [ring]}),
            headers={**headers, "Accept-Language": "en"},
        )
        assert resp.json()["error"]["message"].startswith("Request body too large")

        # A chunked body without Content-Length is counted as it streams in.
        def chunks() -> Iterator[bytes]:
            for _ in range(100):
                yield b" " * 4096

        resp = client.post(
            "/api/geo/locate",
            content=chunks(),
            headers={**headers, "Content-Type": "application/json"},
        )
        assert resp.status_code == 413


def test_wrong_role_is_403_and_writes_nothing(
    client: TestClient, world: World, session: Session
) -> None:
    headers = world.login(client, "worker_a")
    with writes_nothing(session):
        resp = client.post(
            "/api/grids", json=_grid({"type": "Polygon", "coordinates": [SQUARE]}), headers=headers
        )
        assert resp.status_code == 403
        assert resp.json()["error"]["message"] == "您的角色无权执行此操作"


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    resp = client.get("/api/nothing-here")
    assert resp.status_code == 404 and resp.json()["error"]["message"] == "页面或接口不存在"


def test_a_nul_character_is_refused_wherever_it_comes(
    client: TestClient, world: World, session: Session
) -> None:
    """No text column of PostgreSQL holds a NUL: in the query or a JSON body it is a 422
    before any route, in the caller's language; a backslash written before "u0000" is
    text, not a NUL."""
    headers = world.login(client, "dispatcher")
    with writes_nothing(session):
        resp = client.get("/api/events?category=a%00b", headers=headers)
        assert resp.status_code == 422 and "控制字符" in resp.json()["error"]["message"]
        body = '{"title": "路灯\\u0000不亮", "region_code": "330305001"}'
        resp = client.post(
            "/api/events",
            content=body.encode(),
            headers={**headers, "Content-Type": "application/json", "Accept-Language": "en"},
        )
        assert resp.status_code == 422 and "control character" in resp.json()["error"]["message"]
    resp = client.post(
        "/api/events",
        content='{"title": "路径 C:\\\\u0000 不是空字符", "region_code": "330305001"}'.encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert resp.status_code == 201 and resp.json()["title"] == "路径 C:\\u0000 不是空字符"
