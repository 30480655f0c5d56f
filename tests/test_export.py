"""Excel exports: the matter list's (GET /api/matters/export) and the dashboard ranking's
(GET /api/dashboard/ranking/export). Each workbook, read back with openpyxl, holds the rows
the JSON endpoint answers for the same parameters, masked as it masks them, with headers in
the caller's language; each export is audited, and a refused one (bad input, outside the
jurisdiction, too many rows) writes no workbook and no audit entry."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.models import AuditLog
from fengqiao.core.spreadsheet import XLSX
from fengqiao.matters import export as matter_export
from tests.world import COMM_A1, COMM_A2, TOWN_A, TOWN_B, World

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=SH)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=SH)
PHONES = {"A1": "13912345678", "A2": "13987654321", "B1": "13711112222"}
HEADERS_ZH = [
    "编号", "标题", "类别", "状态", "紧急程度", "当前期限", "剩余时限",
    "网格", "承办单位", "上报时间", "上报人", "联系电话",
]  # fmt: skip
HEADERS_EN = [
    "Number", "Title", "Category", "State", "Urgency", "Due", "Time left",
    "Grid", "Unit", "Reported", "Reporter", "Phone",
]  # fmt: skip
RANK_KEYS = [
    "code", "name", "reported", "accepted", "closed", "closure_rate",
    "closed_on_time", "on_time_closure_rate", "overdue",
]  # fmt: skip
URGENCY_ZH = {"normal": "一般", "urgent": "紧急", "critical": "特急"}


class Desk:
    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world = client, world
        self.tokens: dict[tuple[str, datetime], dict[str, str]] = {}
        self.numbers: dict[str, str] = {}

    def h(self, user: str, lang: str = "zh") -> dict[str, str]:
        key = (user, clock.now())  # logged in again whenever the frozen clock has moved
        if key not in self.tokens:
            self.tokens[key] = self.world.login(self.client, user)
        return {**self.tokens[key], "Accept-Language": lang}

    def get(self, user: str, url: str, lang: str = "zh", **params: Any) -> Any:
        return self.client.get(url, params=params, headers=self.h(user, lang))

    def report(self, key: str, user: str, lon: float, lat: float, urgency: str) -> int:
        body = {
            "title": f"占道经营{key}",
            "lon": lon,
            "lat": lat,
            "channel": "hotline",
            "urgency": urgency,
            "category_code": "urban_management",
            "reporter_name": f"张{key}",
            "reporter_phone": PHONES[key],
        }
        resp = self.client.post("/api/matters", json=body, headers=self.h(user))
        assert resp.status_code == 201, resp.text
        self.numbers[key] = resp.json()["number"]
        return int(resp.json()["id"])

    def do(self, user: str, matter_id: int, action: str, **body: Any) -> None:
        resp = self.client.post(
            f"/api/matters/{matter_id}/actions/{action}", json=body, headers=self.h(user)
        )
        assert resp.status_code == 200, (action, resp.text)


@pytest.fixture
def desk(client: TestClient, world: World) -> Desk:
    """Beside the world's a (grid A1-1) and b (B1-1): A1 (A1-1, urgent, dispatched to the
    county's enforcement bureau), A2 (A2-1) and B1 (B1-1), each with a reporter's phone."""
    d = Desk(client, world)
    with clock.frozen(MONDAY):
        a1 = d.report("A1", "town_a", 120.05, 30.05, "urgent")
        d.report("A2", "town_a", 120.15, 30.15, "normal")
        d.report("B1", "town_b", 120.25, 30.05, "critical")
        d.do("town_a", a1, "accept")
        d.do("town_a", a1, "dispatch", unit_code="C-ZHZF")
    return d


def exports(session: Session) -> list[AuditLog]:
    session.expire_all()
    return list(
        session.scalars(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id))
    )


def sheet(content: bytes) -> list[list[Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    ws = book.active
    assert ws is not None and ws.freeze_panes == "A2"  # the header stays in view
    return [list(row) for row in ws.iter_rows(values_only=True)]


def local(value: str | None) -> datetime | None:
    """An API moment as the workbook holds it: local time of the installation, to the second."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(SH)
    return moment.replace(tzinfo=None, microsecond=0)


def to_second(value: Any) -> Any:
    """A moment read back from Excel's fractional days, to the nearest second."""
    if isinstance(value, datetime):
        return (value + timedelta(milliseconds=500)).replace(microsecond=0)
    return value


def expected_rows(desk: Desk, user: str, lang: str, **params: Any) -> list[list[Any]]:
    """What the list answers for these filters, as the workbook's rows."""
    resp = desk.get(user, "/api/matters", lang, limit=500, **params)
    assert resp.status_code == 200, resp.text
    names = {c["code"]: c["name"] for c in desk.get(user, "/api/categories", lang).json()}
    urgency = URGENCY_ZH if lang == "zh" else {k: k.capitalize() for k in URGENCY_ZH}
    return [
        [
            m["number"],
            m["title"],
            names.get(m["category_code"], m["category_code"]),
            m["state_name"],
            urgency[m["urgency"]],
            local(m["due_at"]),
            m["time_left"],
            m["grid_name"] or m["grid_code"],
            m["unit_name"],
            local(m["reported_at"]),
            m["reporter_name"],
            m["reporter_phone"],
        ]
        for m in resp.json()["items"]
    ]


def exported(desk: Desk, user: str, lang: str, **params: Any) -> tuple[Any, list[list[Any]]]:
    resp = desk.get(user, "/api/matters/export", lang, **params)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == XLSX
    rows = [[to_second(v) for v in row] for row in sheet(resp.content)]
    return resp, rows


def test_the_export_holds_the_rows_the_list_shows(desk: Desk, session: Session) -> None:
    params = {"category": "urban_management", "state": ["reported", "dispatched"]}
    with clock.frozen(NOW):
        resp, rows = exported(desk, "town_a", "zh", **params)
        want = expected_rows(desk, "town_a", "zh", **params)
    assert rows[0] == HEADERS_ZH
    assert rows[1:] == want
    # The township's own three (a, A1, A2); none of town B's.
    numbers = [r[0] for r in rows[1:]]
    assert len(numbers) == 3 and {desk.numbers["A1"], desk.numbers["A2"]} < set(numbers)
    assert desk.numbers["B1"] not in numbers
    a1 = next(r for r in rows[1:] if r[0] == desk.numbers["A1"])
    assert a1[2:5] == ["市容环境", "已派遣", "紧急"]
    assert a1[8] == "区综合行政执法局" and a1[10] == "张A1"
    assert a1[5] is not None and a1[6]  # a deadline runs: its moment and the time left
    # The phone as the list masks it, never in full (a dispatcher may unmask one matter
    # at a time on its page, audited; the list and its export never do).
    assert a1[11] == "*******5678"
    cells = [str(v) for row in rows for v in row]
    assert not any(phone in cell for phone in PHONES.values() for cell in cells)
    day = NOW.strftime("%Y%m%d")
    assert resp.headers["content-disposition"] == (
        f"attachment; filename=\"matters-{day}.xlsx\"; filename*=UTF-8''"
        + quote(f"事件列表-{day}.xlsx")
    )
    assert resp.headers["cache-control"] == "no-store"
    [entry] = exports(session)
    assert entry.actor_name == "town_a" and entry.entity == "event"
    assert entry.detail["rows"] == 3 and entry.detail["format"] == "xlsx"
    assert entry.detail["filter"]["category"] == "urban_management"
    assert entry.detail["filter"]["states"] == ["reported", "dispatched"]


def test_the_export_speaks_english_when_asked(desk: Desk) -> None:
    with clock.frozen(NOW):
        resp, rows = exported(desk, "admin", "en", region=TOWN_A, sort="reported_at")
        want = expected_rows(desk, "admin", "en", region=TOWN_A, sort="reported_at")
    assert rows[0] == HEADERS_EN
    assert rows[1:] == want and len(want) == 3  # a (reported on the 20th) first
    assert {r[0] for r in rows[2:]} == {desk.numbers["A1"], desk.numbers["A2"]}
    a1 = next(r for r in rows[1:] if r[0] == desk.numbers["A1"])
    assert a1[2:5] == ["Street environment", "Dispatched", "Urgent"]
    assert "filename*=UTF-8''matters-20261124.xlsx" in resp.headers["content-disposition"]


def test_a_township_exports_only_its_own_matters(desk: Desk) -> None:
    with clock.frozen(NOW):
        _, town_a = exported(desk, "town_a", "zh")
        _, town_b = exported(desk, "town_b", "zh")
        _, outside = exported(desk, "town_a", "zh", region=TOWN_B)
        _, bureau = exported(desk, "handler", "zh")  # a unit: its tasks
        everything = {r[0] for r in exported(desk, "admin", "zh")[1][1:]}
        assert town_a[1:] == expected_rows(desk, "town_a", "zh")
        assert town_b[1:] == expected_rows(desk, "town_b", "zh")
    a = {r[0] for r in town_a[1:]}
    b = {r[0] for r in town_b[1:]}
    assert len(a) == 3 and len(b) == 2 and not a & b and a | b == everything
    assert desk.numbers["B1"] in b and desk.numbers["A1"] in a
    assert outside == [HEADERS_ZH]  # the header alone, as the list is empty
    assert [r[0] for r in bureau[1:]] == [desk.numbers["A1"]]


@pytest.mark.parametrize(
    "params",
    [
        {"urgency": "bogus"},
        {"state": ["nowhere"]},
        {"sort": "-password"},  # refused by the service, before anything is read
        {"reported_from": "yesterday"},
        {"phone": "12345"},
        {"region": "33/03"},
        {"limit": 100_000},
    ],
)
def test_bad_filters_are_refused_and_nothing_is_audited(
    desk: Desk, session: Session, params: dict[str, Any]
) -> None:
    for lang in ("zh", "en"):
        resp = desk.get("town_a", "/api/matters/export", lang, **params)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/json")
        assert resp.json()["error"]["code"] == "invalid"
    assert exports(session) == []


def test_an_export_past_the_cap_is_refused(
    desk: Desk, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matter_export, "EXPORT_CAP", 2)
    resp = desk.get("town_a", "/api/matters/export")
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"]["code"] == "too_many_rows"
    assert "3 件" in resp.json()["error"]["message"] and "2 件" in resp.json()["error"]["message"]
    resp = desk.get("town_a", "/api/matters/export", "en")
    assert "narrow the filters" in resp.json()["error"]["message"]
    assert exports(session) == []
    assert desk.get("town_a", "/api/matters/export", region=COMM_A1).status_code == 200


# ---------------------------------------------------------------- the dashboard's ranking


def ranking_rows(desk: Desk, user: str, **params: Any) -> list[list[Any]]:
    resp = desk.get(user, "/api/dashboard", **params)
    assert resp.status_code == 200, resp.text
    return [[i, *(r[k] for k in RANK_KEYS)] for i, r in enumerate(resp.json()["ranking"], 1)]


def test_the_ranking_export_holds_the_dashboards_ranking(desk: Desk, session: Session) -> None:
    with clock.frozen(NOW):
        for user, params in (("leader", {}), ("leader", {"region": TOWN_A}), ("town_a", {})):
            resp = desk.get(user, "/api/dashboard/ranking/export", **params)
            assert resp.status_code == 200, resp.text
            rows = sheet(resp.content)
            assert rows[0] == [
                "名次", "区划代码", "名称", "上报", "立案", "结案",
                "结案率", "按期结案", "按期结案率", "超期",
            ]  # fmt: skip
            assert rows[1:] == ranking_rows(desk, user, **params), (user, params)
        resp = desk.get("town_a", "/api/dashboard/ranking/export", "en")
    rows = sheet(resp.content)
    assert rows[0][:3] == ["Rank", "Code", "Name"] and rows[0][6] == "Closure rate"
    assert {r[1] for r in rows[1:]} == {COMM_A1, COMM_A2}
    assert "filename*=UTF-8''ranking-20261124.xlsx" in resp.headers["content-disposition"]
    entries = exports(session)
    assert [(e.actor_name, e.entity, e.detail["rows"]) for e in entries] == [
        ("leader", "ranking", 2),
        ("leader", "ranking", 2),
        ("town_a", "ranking", 2),
        ("town_a", "ranking", 2),
    ]
    assert entries[1].detail["filter"] == {"region": TOWN_A}
    assert entries[1].region_path == "330305/330305001/"


def test_the_ranking_export_refuses_what_the_dashboard_refuses(
    desk: Desk, session: Session
) -> None:
    for user, region, status in (
        ("town_a", TOWN_B, 404),  # outside the jurisdiction
        ("leader", "999999999", 404),
        ("leader", "33/03", 422),
    ):
        resp = desk.get(user, "/api/dashboard/ranking/export", region=region)
        assert resp.status_code == status, (user, region, resp.text)
        assert resp.status_code == desk.get(user, "/api/dashboard", region=region).status_code
    assert desk.get("resident", "/api/dashboard/ranking/export").status_code == 403
    assert exports(session) == []
