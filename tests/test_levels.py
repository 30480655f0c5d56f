"""One scale of levels (grid 1 … province 6) for regions, matters and jurisdictions; its
names in the caller's language; revision 0009 moves stored regions onto it and back."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fengqiao.core.database import make_engine
from fengqiao.core.errors import Invalid
from fengqiao.core.levels import Level, ancestor_at, code_level, path_level
from fengqiao.core.migrate import alembic_config, upgrade
from fengqiao.core.regioncodes import is_child_code
from fengqiao.geo import service as geo
from fengqiao.geo.models import Region
from tests.conftest import new_database
from tests.world import COMM_A1, COUNTY, GRID_A1_1, TOWN_A, World


def test_the_scale_counts_up_from_the_grid() -> None:
    assert [int(m) for m in Level] == [1, 2, 3, 4, 5, 6, 9]
    assert Level.grid < Level.community < Level.township < Level.county < Level.city
    assert Level.city < Level.province < Level.everywhere
    for member in Level:
        assert member.label("zh") != member.label("en"), member
        assert member.label("fr") == member.zh  # Chinese unless English is asked for
    assert Level(3).label("zh") == "乡镇街道" and Level(3).label("en") == "Township / street"


def test_a_code_and_a_path_have_a_level_on_it() -> None:
    assert code_level("330000") is Level.province
    assert code_level("330300") is Level.city
    assert code_level("330305") is Level.county
    assert code_level("330305001") is Level.township
    assert code_level("330305001003") is Level.community
    with pytest.raises(Invalid) as bad:
        code_level("3303051")
    assert "3303051" in bad.value.message("zh") and "3303051" in bad.value.message("en")
    path = f"{COUNTY}/{TOWN_A}/{COMM_A1}/{GRID_A1_1}/"
    assert path_level(path) is Level.grid
    assert path_level(f"{COUNTY}/{TOWN_A}/") is Level.township
    assert path_level("/") is Level.everywhere
    assert ancestor_at(path, Level.township) == f"{COUNTY}/{TOWN_A}/"
    assert ancestor_at(path, Level.community) == f"{COUNTY}/{TOWN_A}/{COMM_A1}/"
    # Each code nests in the one a level above it, and in no other.
    assert is_child_code("330000", "330300") and is_child_code("330300", "330305")
    assert is_child_code("330305", "330305001") and is_child_code("330305001", "330305001003")
    assert not is_child_code("330000", "330305")  # two levels apart
    assert not is_child_code("330305001", "330305")  # upside down
    assert not is_child_code("330305", "330306001")  # another county's township


def test_stored_regions_and_the_api_use_the_scale(
    client: TestClient, world: World, session: Session
) -> None:
    stored = {r.code: r.level for r in geo_regions(session)}
    assert stored[COUNTY] == Level.county and stored[TOWN_A] == Level.township
    assert stored[COMM_A1] == Level.community
    admin = world.login(client, "admin")
    for lang, name in (("zh", "乡镇街道"), ("en", "Township / street")):
        resp = client.get(
            "/api/regions", params={"level": 3}, headers={**admin, "Accept-Language": lang}
        )
        assert resp.status_code == 200, resp.text
        rows = resp.json()
        assert rows and all(len(r["code"]) == 9 and r["level"] == 3 for r in rows)
        assert {r["level_name"] for r in rows} == {name}
    en = {**admin, "Accept-Language": "en"}
    county = client.get(f"/api/regions/{COUNTY}", headers=en).json()
    assert (county["level"], county["level_name"]) == (4, "County / district")
    assert client.get("/api/regions", params={"level": 1}, headers=admin).status_code == 422
    grid = client.get(f"/api/grids/{GRID_A1_1}", headers=en).json()
    assert grid["kind_name"] == "Base grid"
    assert {m["team_role_name"] for m in grid["team"]} == {"Grid head", "Full-time grid worker"}
    zh = client.get(f"/api/grids/{GRID_A1_1}", headers=admin).json()
    assert zh["kind_name"] == "基础网格"


def test_role_names_answer_in_the_callers_language(client: TestClient, world: World) -> None:
    headers = world.login(client, "dispatcher")
    me = client.get("/api/me", headers={**headers, "Accept-Language": "en"}).json()
    assert me["role_names"] == ["Dispatcher"]
    me = client.get("/api/me", headers=headers).json()
    assert me["role_names"] == ["指挥中心派遣员"]


def geo_regions(session: Session) -> list[Region]:
    return list(session.scalars(select(Region)))


def test_revision_0009_moves_stored_regions_to_the_scale_and_back(tmp_path: Path) -> None:
    old = {"330000": 0, "330300": 1, "330305": 2, "330305001": 3, "330305001003": 4}
    with new_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            upgrade(engine, "0008")
            with engine.begin() as conn:
                parent = None
                for i, (code, level) in enumerate(old.items(), start=1):
                    conn.execute(
                        text(
                            "INSERT INTO region (id, code, name, level, parent_id, path, "
                            "created_at, updated_at) VALUES (:id, :code, :code, :level, "
                            ":parent, :path, '2026-12-01 00:00:00', '2026-12-01 00:00:00')"
                        ),
                        {"id": i, "code": code, "level": level, "parent": parent, "path": code},
                    )
                    parent = i
            upgrade(engine)
            with engine.connect() as conn:
                now = dict(conn.execute(text("SELECT code, level FROM region")).all())
            assert now == {code: code_level(code) for code in old}
            cfg = alembic_config(url)
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0008")
            with engine.connect() as conn:
                back = dict(conn.execute(text("SELECT code, level FROM region")).all())
            assert back == old
        finally:
            engine.dispose()


def test_an_import_writes_parents_first_on_the_scale(session: Session) -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": None, "properties": p}
            for p in (
                {"code": "330305001003", "name": "村", "parent_code": "330305001"},
                {"code": "330305001", "name": "镇", "parent_code": "330305"},
                {"code": "330305", "name": "区", "parent_code": "330300"},
                {"code": "330300", "name": "市", "parent_code": "330000"},
                {"code": "330000", "name": "省"},
            )
        ],
    }
    result = geo.import_regions(session, collection)
    assert not result.errors and not result.rejected, result.errors
    levels = {r.code: r.level for r in geo_regions(session)}
    assert levels == {
        "330000": Level.province,
        "330300": Level.city,
        "330305": Level.county,
        "330305001": Level.township,
        "330305001003": Level.community,
    }
