from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from fengqiao.geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from tests.world import GRID_A1_1, GRID_B1_1, World


def _locate(
    client: TestClient, headers: dict[str, str], lon: float, lat: float, crs: str = "wgs84"
) -> dict:  # type: ignore[type-arg]
    resp = client.post(
        "/api/geo/locate", json={"lon": lon, "lat": lat, "crs": crs}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_point_inside_a_grid(client: TestClient, world: World) -> None:
    h = world.login(client, "worker_a")
    body = _locate(client, h, 120.05, 30.05)
    assert body["grid"]["code"] == GRID_A1_1
    assert body["grid"]["region_code"] == "330305001001"
    assert body["grid"]["path"].endswith(f"/{GRID_A1_1}/")
    assert _locate(client, h, 120.25, 30.15)["grid"]["code"] == "33030500200102"


def test_shared_boundary_goes_to_the_smallest_code(client: TestClient, world: World) -> None:
    h = world.login(client, "worker_a")
    # The edge lat 30.1 between grid …01 (south) and …02 (north) of community A1.
    assert _locate(client, h, 120.05, 30.1)["grid"]["code"] == GRID_A1_1
    # The edge lon 120.2 between a grid of township A and one of township B.
    assert _locate(client, h, 120.2, 30.05)["grid"]["code"] == "33030500100201"
    # A corner shared by four grids.
    assert _locate(client, h, 120.1, 30.1)["grid"]["code"] == GRID_A1_1


def test_outside_every_grid(client: TestClient, world: World) -> None:
    h = world.login(client, "worker_a")
    body = _locate(client, h, 121.5, 31.0)
    assert body["grid"] is None and body["message"] == "该位置不在任何网格内"
    resp = client.post(
        "/api/geo/locate", json={"lon": 121.5, "lat": 31.0}, headers={**h, "Accept-Language": "en"}
    )
    assert resp.json()["message"] == "This position is not inside any grid"


def test_gcj02_and_bd09_inputs_land_in_the_same_grid(client: TestClient, world: World) -> None:
    h = world.login(client, "worker_a")
    # 150 m west of the edge between grid A2-1 and grid B1-1. GCJ-02 shifts points here by
    # about 450 m east, so an unconverted GCJ-02 value would land in the wrong grid.
    lon, lat = 120.1985, 30.05
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    for x, y, crs in ((lon, lat, "wgs84"), (g_lon, g_lat, "gcj02"), (b_lon, b_lat, "bd09")):
        body = _locate(client, h, x, y, crs)
        assert body["grid"]["code"] == "33030500100201", crs
        assert abs(body["lon"] - lon) < 1e-6 and abs(body["lat"] - lat) < 1e-6, crs
    assert _locate(client, h, g_lon, g_lat)["grid"]["code"] == GRID_B1_1


def test_locate_many(client: TestClient, world: World) -> None:
    h = world.login(client, "dispatcher")
    resp = client.post(
        "/api/geo/locate-many",
        headers=h,
        json={
            "points": [
                {"lon": 120.05, "lat": 30.05},
                {"lon": 125.0, "lat": 35.0},
                {"lon": 120.05, "lat": 30.1},
            ]
        },
    )
    assert resp.status_code == 200
    codes = [r["grid"]["code"] if r["grid"] else None for r in resp.json()["results"]]
    assert codes == [GRID_A1_1, None, GRID_A1_1]


def test_new_grid_is_found_at_once(client: TestClient, world: World) -> None:
    h = world.login(client, "admin")
    assert _locate(client, h, 120.45, 30.1)["grid"] is None
    polygon = {
        "type": "Polygon",
        "coordinates": [
            [[120.4, 30.0], [120.5, 30.0], [120.5, 30.2], [120.4, 30.2], [120.4, 30.0]]
        ],
    }
    resp = client.post(
        "/api/regions",
        headers=h,
        json={"code": "330305003", "name": "丙乡", "parent_code": "330305"},
    )
    assert resp.status_code == 201, resp.text
    resp = client.post(
        "/api/regions",
        headers=h,
        json={
            "code": "330305003001",
            "name": "丙村",
            "parent_code": "330305003",
            "geometry": polygon,
        },
    )
    assert resp.status_code == 201, resp.text
    resp = client.post(
        "/api/grids",
        headers=h,
        json={
            "code": "33030500300101",
            "name": "丙村网格",
            "kind": "base",
            "region_code": "330305003001",
            "geometry": polygon,
        },
    )
    assert resp.status_code == 201, resp.text
    assert _locate(client, h, 120.45, 30.1)["grid"]["code"] == "33030500300101"


def test_subtree_query_is_an_index_range_scan(session: Session, world: World) -> None:
    sql = "SELECT code FROM grid WHERE path >= '330305/330305001/' AND path < '330305/3303050010'"
    rows = session.execute(text(sql)).scalars().all()
    assert set(rows) == {"33030500100101", "33030500100102", "33030500100201", "33030500100202"}
    if session.bind.dialect.name == "sqlite":  # type: ignore[union-attr]
        plan = " ".join(str(r) for r in session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert "USING INDEX" in plan and "path>? AND path<?" in plan, plan
    else:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(r[0] for r in session.execute(text("EXPLAIN " + sql)))
        assert "Index Cond" in plan and "(path)::text >=" in plan, plan


def test_a_new_grid_overlapping_its_kind_or_leaving_its_region_is_refused(
    client: TestClient, world: World, session: Session
) -> None:
    """One base grid answers for each point: a base grid over another is refused and says
    which; an enterprise grid (专属网格) may lie inside a base grid; a grid must lie within
    its region. A refusal writes nothing."""
    h = world.login(client, "admin")

    def add(code: str, kind: str, west: float, south: float, lang: str = "zh") -> Any:
        ring = [[west, south], [west + 0.02, south], [west + 0.02, south + 0.02]]
        body = {
            "code": code,
            "name": f"网格{code[-2:]}",
            "kind": kind,
            "region_code": "330305001001",  # community A1: lon 120.0–120.1, lat 30.0–30.2
            "geometry": {
                "type": "Polygon",
                "coordinates": [[*ring, [west, south + 0.02], [west, south]]],
            },
        }
        return client.post("/api/grids", json=body, headers={**h, "Accept-Language": lang})

    before = session.scalar(text("SELECT count(*) FROM grid"))
    over = add("33030500100103", "base", 120.07, 30.09)  # across both grids of A1
    assert over.status_code == 409, over.text
    message = over.json()["error"]["message"]
    assert GRID_A1_1 in message and f"{GRID_A1_1[:-1]}2" in message and "重叠" in message
    english = add("33030500100103", "base", 120.07, 30.09, "en").json()["error"]["message"]
    assert english.startswith(f"The grid overlaps {GRID_A1_1}, ")
    outside = add("33030500100103", "base", 120.2, 30.05)  # in community B1
    assert outside.status_code == 422 and "超出所属区划 330305001001" in outside.text
    assert session.scalar(text("SELECT count(*) FROM grid")) == before

    inside = add("33030500100103", "enterprise", 120.02, 30.02)
    assert inside.status_code == 201, inside.text
    assert add("33030500100104", "enterprise", 120.03, 30.03).status_code == 409
