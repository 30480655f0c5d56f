"""The map's counts per grid and the leaders' dashboard: the figures equal what the
matter list shows for the same scope, each user sees only their own places, and a
region outside the caller's jurisdiction (or no region at all) is refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from fengqiao.core import clock
from tests.world import (
    COMM_A1,
    COMM_A2,
    COMM_B1,
    COMM_B2,
    GRID_A1_1,
    GRID_A1_2,
    GRID_B1_1,
    TOWN_A,
    TOWN_B,
    World,
)

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=SH)
# Thursday 00:30 in China is still Wednesday in UTC: the trend must count it on Thursday.
NOW = datetime(2026, 11, 26, 0, 30, tzinfo=SH)
GRID_A2_1 = f"{COMM_A2}01"
OPEN = ["reported", "accepted", "dispatched", "in_progress", "handled", "verifying"]
USERS = ("admin", "leader", "dispatcher", "town_a", "town_b", "comm_a1", "worker_a", "handler")


class Caller:
    """Acts as the world's users; logs in again whenever the frozen clock has moved."""

    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world = client, world
        self.tokens: dict[tuple[str, datetime], dict[str, str]] = {}

    def h(self, user: str) -> dict[str, str]:
        key = (user, clock.now())
        if key not in self.tokens:
            self.tokens[key] = self.world.login(self.client, user)
        return self.tokens[key]

    def get(self, user: str, url: str, status: int = 200, **params: Any) -> Any:
        resp = self.client.get(url, params=params, headers=self.h(user))
        assert resp.status_code == status, (user, url, params, resp.text)
        return resp.json()

    def total(self, user: str, **params: Any) -> int:
        return int(self.get(user, "/api/matters", limit=1, **params)["total"])

    def report(self, user: str, title: str, lon: float, lat: float) -> int:
        body = {
            "title": title,
            "lon": lon,
            "lat": lat,
            "channel": "hotline",
            "category_code": "urban_management",
        }
        resp = self.client.post("/api/matters", json=body, headers=self.h(user))
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])

    def do(self, user: str, matter_id: int, action: str, **body: Any) -> None:
        resp = self.client.post(
            f"/api/matters/{matter_id}/actions/{action}", json=body, headers=self.h(user)
        )
        assert resp.status_code == 200, (action, resp.text)


@pytest.fixture
def caller(client: TestClient, world: World) -> Caller:
    """The world's two matters (a in grid A1-1, b in B1-1, reported on Friday) and:
    Monday: e1 in A1-1 accepted and dispatched (unsigned: overdue by Thursday), e2 in
    A1-2 rejected, e3 in A2-1 reported; b resolved by its grid worker.
    Thursday 00:30: e4 reported in B1-1."""
    c = Caller(client, world)
    with clock.frozen(MONDAY):
        e1 = c.report("dispatcher", "占道经营", 120.05, 30.05)
        e2 = c.report("dispatcher", "重复来电", 120.05, 30.15)
        c.report("dispatcher", "井盖缺失", 120.15, 30.05)
        c.do("town_a", e1, "accept")
        c.do("town_a", e1, "dispatch")
        c.do("town_a", e2, "reject", reason="无效来电")
        c.do("worker_b", world.matters["b"], "self_resolve", note="已劝离")
    with clock.frozen(NOW):
        c.report("dispatcher", "夜间噪音", 120.25, 30.05)
    return c


def counts_of(c: Caller, user: str) -> dict[str, tuple[int, int]]:
    rows = c.get(user, "/api/matters/grid-counts")
    return {r["grid_code"]: (r["open"], r["overdue"]) for r in rows}


def test_grid_counts_equal_the_list(caller: Caller) -> None:
    with clock.frozen(NOW):
        assert counts_of(caller, "admin") == {
            GRID_A1_1: (2, 1),  # a (reported) and e1 (dispatched, unsigned since Monday)
            GRID_A2_1: (1, 0),
            GRID_B1_1: (1, 0),  # b was resolved; e4 is new
        }
        for user in USERS:
            counts = counts_of(caller, user)
            grids = {g["code"] for g in caller.get(user, "/api/grids", limit=5000)}
            assert set(counts) <= grids, user
            for code in grids:
                shown = (
                    caller.total(user, region=code, state=OPEN),
                    caller.total(user, region=code, overdue=True),
                )
                assert counts.get(code, (0, 0)) == shown, (user, code)
            # Every open matter in view lies in some grid here, so nothing is lost.
            assert sum(n for n, _ in counts.values()) == caller.total(user, state=OPEN), user


def test_a_township_sees_only_its_own_grids(caller: Caller) -> None:
    with clock.frozen(NOW):
        assert counts_of(caller, "town_a") == {GRID_A1_1: (2, 1), GRID_A2_1: (1, 0)}
        assert counts_of(caller, "town_b") == {GRID_B1_1: (1, 0)}
        assert counts_of(caller, "worker_a") == {GRID_A1_1: (2, 1)}
        assert counts_of(caller, "handler") == {GRID_A1_1: (1, 1)}  # a unit: its task e1
        assert counts_of(caller, "resident") == {}  # only what they reported themselves


def test_dashboard_figures_equal_the_list(caller: Caller) -> None:
    with clock.frozen(NOW):
        midnight = NOW.replace(hour=0, minute=0).isoformat()
        for user in ("leader", "town_a", "town_b", "comm_a1", "worker_a", "handler"):
            d = caller.get(user, "/api/dashboard")
            assert d["today_reported"] == caller.total(user, reported_from=midnight), user
            assert d["open"] == caller.total(user, state=OPEN), user
            assert d["overdue"] == caller.total(user, overdue=True), user
            assert d["indicators"] == caller.get(user, "/api/indicators"), user
            for r in d["ranking"]:
                assert r["reported"] == caller.total(user, region=r["code"]), (user, r)
                assert r["overdue"] == caller.total(user, region=r["code"], overdue=True)
        d = caller.get("leader", "/api/dashboard")
    assert (d["today_reported"], d["open"], d["overdue"]) == (1, 4, 1)
    assert d["region"] == {"code": "330305", "name": "测试区"}
    # Town B closed all it accepted (b); town A none of its one (e1).
    assert [(r["code"], r["closure_rate"], r["on_time_closure_rate"]) for r in d["ranking"]] == [
        (TOWN_B, 1.0, 1.0),
        (TOWN_A, 0.0, 0.0),
    ]
    a = d["ranking"][1]
    assert (a["name"], a["reported"], a["accepted"], a["closed"], a["overdue"]) == (
        "甲街道",
        4,
        1,
        0,
        1,
    )
    trend = d["trend"]
    assert len(trend) == 30
    assert trend[-1]["day"] == "2026-11-26" and trend[0]["day"] == "2026-10-28"
    by_day = {t["day"]: (t["reported"], t["closed"]) for t in trend if t["reported"] or t["closed"]}
    assert by_day == {"2026-11-20": (2, 0), "2026-11-23": (3, 1), "2026-11-26": (1, 0)}


def test_dashboard_ranks_the_places_one_level_down(caller: Caller) -> None:
    def ranked(user: str, **params: Any) -> list[str]:
        return [r["code"] for r in caller.get(user, "/api/dashboard", **params)["ranking"]]

    with clock.frozen(NOW):
        assert set(ranked("leader")) == {TOWN_A, TOWN_B}
        assert set(ranked("town_a")) == {COMM_A1, COMM_A2}
        assert set(ranked("town_b")) == {COMM_B1, COMM_B2}
        assert set(ranked("comm_a1")) == {GRID_A1_1, GRID_A1_2}  # a community: its grids
        assert ranked("worker_a") == []  # a grid has nothing below it
        assert set(ranked("leader", region=TOWN_A)) == {COMM_A1, COMM_A2}
        d = caller.get("town_a", "/api/dashboard", region=COMM_A1)
        assert d["region"]["code"] == COMM_A1 and d["open"] == 2  # a and e1; e2 rejected
        d = caller.get("leader", "/api/dashboard", region=GRID_A1_1)
        assert d["ranking"] == [] and d["indicators"]["reported"] == 2


def test_dashboard_refuses_bad_regions(caller: Caller) -> None:
    with clock.frozen(NOW):
        for user, region in (
            ("town_a", TOWN_B),  # outside the jurisdiction
            ("town_a", "330305"),  # above it
            ("worker_a", GRID_A1_2),  # the neighbouring grid
            ("leader", "999999999"),  # no such place
        ):
            body = caller.get(user, "/api/dashboard", 404, region=region)
            assert "管辖范围" in body["error"]["message"], (user, region)
        body = caller.get("leader", "/api/dashboard", 422, region="33/03")
        assert body["error"]["code"] == "invalid"
        resp = caller.client.get(
            "/api/dashboard",
            params={"region": TOWN_B},
            headers={**caller.h("town_a"), "Accept-Language": "en"},
        )
        assert resp.status_code == 404 and "jurisdiction" in resp.json()["error"]["message"]
        caller.get("resident", "/api/dashboard", 403)
        assert caller.client.get("/api/dashboard").status_code == 401
        assert caller.client.get("/api/matters/grid-counts").status_code == 401
