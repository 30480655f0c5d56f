"""Bad input gets a clear 4xx answer, in Chinese by default and English on request, and
writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from fengqiao.api import create_app
from fengqiao.core import audit
from fengqiao.core.config import Settings
from fengqiao.core.models import AuditLog
from fengqiao.deps import SessionDep
from fengqiao.matters.models import Matter
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
        "/api/matters",
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

# Numbers and moments no column or calendar can hold: refused at the schema, never a 500
# (which also dropped the keep-alive connection). {matter}, {user}, {attachment} are ids
# of the world's.
BIG = 2**63  # past SQLite's and PostgreSQL's 64-bit integers
INT4 = 2**31  # past PostgreSQL's INTEGER ids
ID_BOUND = ("不能大于 2147483647", "less than or equal to 2147483647")
OFFSET_BOUND = ("不能大于 10000000", "less than or equal to 10000000")
YEAR_BOUND = ("年份须在 2000 至 2100 之间", "year must be between 2000 and 2100")
OUT_OF_RANGE: list[tuple[str, str, str, Any, int, str, str]] = [
    ("matter id past 64 bits", "GET", f"/api/matters/{BIG}", None, 422, *ID_BOUND),
    ("matter id past 32 bits", "GET", f"/api/matters/{INT4}", None, 422, *ID_BOUND),
    ("matter id zero", "GET", "/api/matters/0", None, 422, "不能小于 1", "greater than or equal"),
    (
        "action on a matter id past 64 bits",
        "POST",
        f"/api/matters/{BIG}/actions/accept",
        {},
        422,
        *ID_BOUND,
    ),
    ("user id past 64 bits", "GET", f"/api/users/{BIG}", None, 422, *ID_BOUND),
    ("change of a user id past 64 bits", "PATCH", f"/api/users/{BIG}", {}, 422, *ID_BOUND),
    ("attachment id past 64 bits", "GET", f"/api/attachments/{BIG}", None, 422, *ID_BOUND),
    ("routing rule id past 64 bits", "DELETE", f"/api/routing-rules/{BIG}", None, 422, *ID_BOUND),
    ("matters offset past 64 bits", "GET", f"/api/matters?offset={BIG}", None, 422, *OFFSET_BOUND),
    ("users offset past 64 bits", "GET", f"/api/users?offset={BIG}", None, 422, *OFFSET_BOUND),
    ("units offset past 64 bits", "GET", f"/api/units?offset={BIG}", None, 422, *OFFSET_BOUND),
    ("regions offset past 64 bits", "GET", f"/api/regions?offset={BIG}", None, 422, *OFFSET_BOUND),
    ("grids offset past 64 bits", "GET", f"/api/grids?offset={BIG}", None, 422, *OFFSET_BOUND),
    ("unit filter past 64 bits", "GET", f"/api/matters?unit_id={BIG}", None, 422, *ID_BOUND),
    ("indicators unit past 64 bits", "GET", f"/api/indicators?unit_id={BIG}", None, 422, *ID_BOUND),
    (
        "merge into a matter id past 64 bits",
        "POST",
        "/api/matters/{matter}/actions/merge",
        {"target_id": BIG},
        422,
        *ID_BOUND,
    ),
    (
        "deadline from year 9999 with a time zone",
        "GET",
        "/api/calendar/deadline?start=9999-12-31T23:00:00-05:00&working_days=1",
        None,
        422,
        *YEAR_BOUND,
    ),
    (
        "deadline from year 1 with a time zone",
        "GET",
        "/api/calendar/deadline?start=0001-01-01T00:00:00%2B08:00&working_hours=1",
        None,
        422,
        *YEAR_BOUND,
    ),
    (
        "matters reported from year 1",
        "GET",
        "/api/matters?reported_from=0001-01-01T00:00:00%2B08:00",
        None,
        422,
        *YEAR_BOUND,
    ),
    (
        "matters reported to year 9999",
        "GET",
        "/api/matters?reported_to=9999-12-31T23:59:59-05:00",
        None,
        422,
        *YEAR_BOUND,
    ),
    (
        "matters reported from a time with no zone",
        "GET",
        "/api/matters?reported_from=2026-01-01T00:00:00",
        None,
        422,
        "需带时区",
        "timezone",
    ),
    (
        "indicators from year 1",
        "GET",
        "/api/indicators?start=0001-01-01T00:00:00%2B08:00",
        None,
        422,
        *YEAR_BOUND,
    ),
    (
        "extension until year 9999",
        "POST",
        "/api/matters/{matter}/actions/request_extension",
        {"reason": "材料未到", "until": "9999-12-31T23:59:59-05:00"},
        422,
        *YEAR_BOUND,
    ),
    (
        "holiday in year 9999",
        "PUT",
        "/api/calendar/2027",
        {"days": [{"day": "9999-12-31", "kind": "holiday", "name": "元旦"}]},
        422,
        *YEAR_BOUND,
    ),
    ("page of a million users", "GET", "/api/users?limit=1000000", None, 422, "不能大于", "less"),
    (
        "working days past a year",
        "GET",
        "/api/calendar/deadline?start=2026-10-01T09:00:00%2B08:00&working_days=100000",
        None,
        422,
        "不能大于 365",
        "less than or equal to 365",
    ),
]

_LONG = "长" * 6000
_BLANK = "\u200b\u200e\ufeff\u3000 \t"  # spaces, zero-width and direction marks only
_USER = {
    "username": "newbie",
    "display_name": "新人",
    "password": "long-enough-1",
    "roles": ["resident"],
    "region_code": "330305001",
}
_UNIT = {"code": "A-NEW", "name": "新单位", "kind": "station", "region_code": "330305001"}
BLANK_TEXT = ("不能只有空格或不可见字符", "no visible character")
# What the schemas refuse: phones off their pattern, text with nothing visible, text and
# lists past their bounds, booleans that are not true or false, unknown codes.
INVALID: list[tuple[str, str, str, Any, int, str, str]] = [
    (
        "report titled with nothing visible",
        "POST",
        "/api/matters",
        {"title": _BLANK},
        422,
        *BLANK_TEXT,
    ),
    (
        "report title too short once stripped",
        "POST",
        "/api/matters",
        {"title": "  灯\u200b  "},
        422,
        "内容太短",
        "at least 2 characters",
    ),
    (
        "report description too long",
        "POST",
        "/api/matters",
        {"title": "路灯不亮", "description": _LONG},
        422,
        "不能超过 5000 个字符",
        "at most 5000 characters",
    ),
    (
        "reporter phone that is no mobile",
        "POST",
        "/api/matters",
        {"title": "路灯不亮", "reporter_phone": "12345"},
        422,
        "格式不正确",
        "should match pattern",
    ),
    (
        "reporter phone of ten digits",
        "POST",
        "/api/matters",
        {"title": "路灯不亮", "reporter_phone": "1391234567"},
        422,
        "格式不正确",
        "should match pattern",
    ),
    (
        "reporter address of spaces",
        "POST",
        "/api/matters",
        {"title": "路灯不亮", "address": "\u3000\u3000"},
        422,
        *BLANK_TEXT,
    ),
    (
        "reason of nothing visible",
        "POST",
        "/api/matters/{matter}/actions/reject",
        {"reason": "\ufeff\u200f"},
        422,
        *BLANK_TEXT,
    ),
    (
        "user named with spaces",
        "POST",
        "/api/users",
        {**_USER, "display_name": "\u3000 \u200b"},
        422,
        *BLANK_TEXT,
    ),
    (
        "user phone that is a landline",
        "POST",
        "/api/users",
        {**_USER, "phone": "05771234567"},
        422,
        "格式不正确",
        "should match pattern",
    ),
    (
        "user phone with letters",
        "POST",
        "/api/users",
        {**_USER, "phone": "1380013800a"},
        422,
        "格式不正确",
        "should match pattern",
    ),
    (
        "user with a thousand roles",
        "POST",
        "/api/users",
        {**_USER, "roles": ["resident"] * 1000},
        422,
        "最多",
        "at most",
    ),
    (
        "user stopped with the word yes",
        "PATCH",
        "/api/users/{user}",
        {"is_active": "yes"},
        422,
        "应为 true 或 false",
        "valid boolean",
    ),
    (
        "user stopped with the number 0",
        "PATCH",
        "/api/users/{user}",
        {"is_active": 0},
        422,
        "应为 true 或 false",
        "valid boolean",
    ),
    (
        "user stopped with the string false",
        "PATCH",
        "/api/users/{user}",
        {"is_active": "false"},
        422,
        "应为 true 或 false",
        "valid boolean",
    ),
    (
        "personal data unmasked with yes",
        "GET",
        "/api/users/{user}?unmasked=yes",
        None,
        422,
        "应为真或假",
        "true or false",
    ),
    (
        "personal data unmasked with 1",
        "GET",
        "/api/users/{user}?unmasked=1",
        None,
        422,
        "应为真或假",
        "true or false",
    ),
    ("overdue matters with on", "GET", "/api/matters?overdue=on", None, 422, "应为真或假", "true"),
    ("grids with geometry 1", "GET", "/api/grids?geometry=1", None, 422, "应为真或假", "true"),
    (
        "unit phone that is neither mobile nor landline",
        "POST",
        "/api/units",
        {**_UNIT, "phone": "phone me"},
        422,
        "格式不正确",
        "should match pattern",
    ),
    (
        "unit with an unknown category",
        "POST",
        "/api/units",
        {**_UNIT, "categories": ["dispute", "no_such_category"]},
        422,
        "no_such_category",
        "no_such_category",
    ),
    (
        "unit with a hundred categories",
        "POST",
        "/api/units",
        {**_UNIT, "categories": [f"c{i}" for i in range(100)]},
        422,
        "最多",
        "at most",
    ),
    (
        "unit renamed to spaces",
        "PATCH",
        "/api/units/A-ZZGZ",
        {"name": "\u3000"},
        422,
        *BLANK_TEXT,
    ),
    (
        "unit given an unknown category",
        "PATCH",
        "/api/units/A-ZZGZ",
        {"categories": ["no_such_category"]},
        422,
        "no_such_category",
        "no_such_category",
    ),
    (
        "unit stopped with the string true",
        "PATCH",
        "/api/units/A-ZZGZ",
        {"is_active": "true"},
        422,
        "应为 true 或 false",
        "valid boolean",
    ),
    (
        "search text too long",
        "GET",
        "/api/matters?q=" + "长" * 101,
        None,
        422,
        "不能超过 100 个字符",
        "at most 100 characters",
    ),
    (
        "every state twice over",
        "GET",
        "/api/matters?" + "&".join(["state=reported"] * 40),
        None,
        422,
        "最多",
        "at most",
    ),
    (
        "grid named with spaces",
        "POST",
        "/api/grids",
        _grid({"type": "Polygon", "coordinates": [SQUARE]}, name=" \u200b "),
        422,
        *BLANK_TEXT,
    ),
    (
        "holiday named with nothing visible",
        "PUT",
        "/api/calendar/2027",
        {"days": [{"day": "2027-10-01", "kind": "holiday", "name": "\u200e"}]},
        422,
        *BLANK_TEXT,
    ),
]


ALL_BAD = BAD_REQUESTS + OUT_OF_RANGE + INVALID


@pytest.mark.parametrize("case", ALL_BAD, ids=[c[0] for c in ALL_BAD])
def test_bad_requests_get_a_clear_answer_and_write_nothing(
    client: TestClient,
    world: World,
    session: Session,
    case: tuple[str, str, str, Any, int, str, str],
) -> None:
    _, method, path, body, status, zh, en = case
    headers = world.login(client, "admin")
    path = path.format(
        matter=world.matters["a"], user=world.users["worker_a"], attachment=world.attachments["a"]
    )
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


def test_a_body_that_cannot_be_read_is_invalid_input(
    client: TestClient, world: World, session: Session
) -> None:
    """Bytes that are no UTF-8, or a multipart form cut short: 422 in the caller's language,
    like malformed JSON (FastAPI answered 400 in English)."""
    headers = world.login(client, "admin")
    photo = f"/api/matters/{world.matters['a']}/attachments"
    with writes_nothing(session):
        for path, content, kind in (
            ("/api/units", b'{"name": "\xc3\x28"}', "application/json"),
            (photo, b"--cut\r\n['x', {}]--cut--\r\n", "multipart/form-data; boundary=cut"),
        ):
            for lang, fragment in (("zh", "请求内容无法读取"), ("en", "cannot be read")):
                resp = client.post(
                    path,
                    content=content,
                    headers={**headers, "Content-Type": kind, "Accept-Language": lang},
                )
                assert resp.status_code == 422, resp.text
                assert fragment in resp.json()["error"]["message"]


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
        resp = client.get("/api/matters?category=a%00b", headers=headers)
        assert resp.status_code == 422 and "控制字符" in resp.json()["error"]["message"]
        body = '{"title": "路灯\\u0000不亮", "region_code": "330305001"}'
        resp = client.post(
            "/api/matters",
            content=body.encode(),
            headers={**headers, "Content-Type": "application/json", "Accept-Language": "en"},
        )
        assert resp.status_code == 422 and "control character" in resp.json()["error"]["message"]
    resp = client.post(
        "/api/matters",
        content='{"title": "路径 C:\\\\u0000 不是空字符", "region_code": "330305001"}'.encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert resp.status_code == 201 and resp.json()["title"] == "路径 C:\\u0000 不是空字符"


def test_an_overflow_past_the_schema_is_a_422_in_the_callers_language(
    engine: Engine, settings: Settings
) -> None:
    """A value the database cannot hold, or a date past year 9999, that some schema let
    through is still the caller's input: a 422 in their language (not a 500, which also
    dropped the connection), and the next request is served as usual."""
    app = create_app(settings)

    @app.get("/api/test-overflow/{kind}")
    def overflow(kind: str, session: SessionDep) -> None:
        if kind == "date":
            datetime.max.replace(tzinfo=UTC) + timedelta(days=1)
        elif engine.dialect.name == "sqlite":  # "Python int too large to convert"
            session.execute(text("SELECT :v"), {"v": 2**64})
        else:  # NumericValueOutOfRange
            session.execute(text("SELECT CAST(:v AS INTEGER)"), {"v": 2**40})

    with TestClient(app, raise_server_exceptions=False) as client:
        for kind in ("date", "integer"):
            resp = client.get(f"/api/test-overflow/{kind}")
            assert resp.status_code == 422, resp.text
            assert resp.json()["error"] == {
                "code": "out_of_range",
                "message": "数值、日期或文本超出允许的范围",
            }
            resp = client.get(f"/api/test-overflow/{kind}", headers={"Accept-Language": "en"})
            assert resp.status_code == 422
            assert resp.json()["error"]["message"].startswith("A number, date or text is out")
        assert client.get("/api/health").status_code == 200
    app.state.engine.dispose()


def test_text_is_kept_without_the_invisible_characters_at_its_ends(
    client: TestClient, world: World
) -> None:
    headers = world.login(client, "dispatcher")
    resp = client.post(
        "/api/matters",
        json={
            "title": "\ufeff\u200b 路灯\u200b不亮\u3000\u200e",
            "description": " \u3000 ",
            "address": "\t甲街道 1 号 ",
            "region_code": "330305001",
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    # Inside the text a zero-width space stays: it may be meant.
    assert (body["title"], body["description"], body["address"]) == (
        "路灯\u200b不亮",
        "",
        "甲街道 1 号",
    )


def test_a_units_phone_may_be_a_landline_and_its_categories_known_codes(
    client: TestClient, world: World, session: Session
) -> None:
    headers = world.login(client, "admin")
    resp = client.post(
        "/api/units",
        json={**_UNIT, "phone": "0577-12345678", "categories": ["dispute", "dispute"]},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["phone"] == "0577-12345678" and resp.json()["categories"] == ["dispute"]
    for phone in ("13800138000", "010-1234567", "05771234567", "0577-12345678-801"):
        resp = client.patch("/api/units/A-NEW", json={"phone": phone}, headers=headers)
        assert resp.status_code == 200 and resp.json()["phone"] == phone, resp.text
    resp = client.patch(
        "/api/units/A-NEW", json={"categories": ["fire_safety", "security"]}, headers=headers
    )
    assert resp.status_code == 200 and resp.json()["categories"] == ["fire_safety", "security"]


def test_the_audit_log_keeps_no_megabyte_value(session: Session, world: World) -> None:
    """Each value an entry keeps is cut, with a marker saying how long it was; and the
    whole detail is bounded, however many values it was given."""
    matter = session.get(Matter, world.matters["a"])
    assert matter is not None
    matter.description = "长" * 1_000_000
    session.commit()
    entry = session.scalars(
        select(AuditLog)
        .where(AuditLog.entity == "event", AuditLog.action == "update")
        .order_by(AuditLog.id.desc())
    ).first()
    assert entry is not None
    kept = entry.detail["changes"]["description"]
    assert kept.startswith("长" * audit.MAX_VALUE_CHARS)
    assert kept.endswith("…[truncated: 1000000 characters]")

    audit.record(
        session,
        "read",
        "test",
        1,
        detail={f"field{i}": "x" * 900 for i in range(1000)} | {"huge": list(range(100_000))},
    )
    session.commit()
    entry = session.scalars(select(AuditLog).where(AuditLog.entity == "test")).one()
    assert len(json.dumps(entry.detail, ensure_ascii=False)) <= audit.MAX_DETAIL_CHARS
    assert entry.detail["field0"] == "x" * 900
    assert entry.detail["truncated"].endswith("values left out")
