"""`fengqiao regions import` and `fengqiao grids import` on real GeoJSON files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fengqiao.cli import app
from fengqiao.core.config import get_settings
from fengqiao.geo.models import Grid, Region


@pytest.fixture
def cli(
    database_url: str, tmp_path: Path, engine: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _fc(*features: tuple[dict[str, Any], dict[str, Any] | None]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
    }


def _write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


REGIONS = _fc(
    ({"code": "330305", "name": "测试区"}, _box(120, 30, 120.2, 30.1)),
    ({"code": "330305001", "name": "甲街道", "parent_code": "330305"}, _box(120, 30, 120.1, 30.1)),
    (
        {"code": "330305001001", "name": "一村", "parent_code": "330305001"},
        _box(120, 30, 120.05, 30.1),
    ),
    (
        {"code": "330305001002", "name": "二村", "parent_code": "330305001"},
        _box(120.05, 30, 120.1, 30.1),
    ),
)


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_regions_then_grids(cli: CliRunner, tmp_path: Path, session: Session) -> None:
    result = cli.invoke(app, ["regions", "import", _write(tmp_path, "r.geojson", REGIONS)])
    assert result.exit_code == 0, result.output
    assert "created 4" in result.output
    assert (
        session.scalar(select(Region.path).where(Region.code == "330305001002"))
        == "330305/330305001/330305001002/"
    )
    grids = _fc(
        (
            {"code": "33030500100101", "name": "一村网格1", "region_code": "330305001001"},
            _box(120, 30, 120.05, 30.05),
        ),
        (
            {"code": "33030500100102", "name": "一村网格2", "region_code": "330305001001"},
            _box(120, 30.05, 120.05, 30.1),
        ),
    )
    result = cli.invoke(app, ["grids", "import", _write(tmp_path, "g.geojson", grids)])
    assert result.exit_code == 0, result.output
    assert "created 2" in result.output and _count(session, Grid) == 2
    # Importing the same file again updates, never duplicates.
    result = cli.invoke(app, ["grids", "import", _write(tmp_path, "g.geojson", grids)])
    assert "created 0, updated 2" in result.output and _count(session, Grid) == 2


def test_invalid_polygons_reject_the_whole_file(
    cli: CliRunner, tmp_path: Path, session: Session
) -> None:
    cli.invoke(app, ["regions", "import", _write(tmp_path, "r.geojson", REGIONS)])
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[120, 30], [120.05, 30.05], [120.05, 30], [120, 30.05], [120, 30]]],
    }
    grids = _fc(
        (
            {"code": "33030500100101", "name": "好网格", "region_code": "330305001001"},
            _box(120, 30, 120.05, 30.05),
        ),
        ({"code": "33030500100102", "name": "坏网格", "region_code": "330305001001"}, bowtie),
        (
            {"code": "33030500900101", "name": "无主网格", "region_code": "330305009001"},
            _box(120, 30, 120.01, 30.01),
        ),
    )
    result = cli.invoke(app, ["grids", "import", _write(tmp_path, "g.geojson", grids)])
    assert result.exit_code == 1
    assert "Self-intersection" in result.output and "330305009001" in result.output
    assert "未写入任何数据" in result.output
    assert _count(session, Grid) == 0


def test_overlaps_and_grids_outside_their_parent_are_reported(
    cli: CliRunner, tmp_path: Path, session: Session
) -> None:
    cli.invoke(app, ["regions", "import", _write(tmp_path, "r.geojson", REGIONS)])
    grids = _fc(
        (
            {"code": "33030500100101", "name": "网格1", "region_code": "330305001001"},
            _box(120, 30, 120.05, 30.06),
        ),
        # Overlaps grid 1 by 0.01° of latitude.
        (
            {"code": "33030500100102", "name": "网格2", "region_code": "330305001001"},
            _box(120, 30.05, 120.05, 30.1),
        ),
        # Sticks out of its community into the neighbouring one (not a sibling overlap).
        (
            {"code": "33030500100201", "name": "二村网格", "region_code": "330305001002"},
            _box(120.04, 30.08, 120.1, 30.1),
        ),
    )
    path = _write(tmp_path, "g.geojson", grids)
    result = cli.invoke(app, ["grids", "import", path, "--strict"])
    assert result.exit_code == 1 and _count(session, Grid) == 0
    assert "33030500100101 与 33030500100102 重叠" in result.output
    assert "33030500100201 超出上级区划 330305001002" in result.output
    assert "33030500100201 与" not in result.output  # different parents: no overlap report
    # Without --strict the problems are reported and the grids stored.
    result = cli.invoke(app, ["grids", "import", path])
    assert result.exit_code == 0 and _count(session, Grid) == 3
    assert "重叠" in result.output


def test_bad_files(cli: CliRunner, tmp_path: Path, session: Session) -> None:
    cases = {
        "not-json.geojson": b"{oops",
        "gbk.geojson": json.dumps(
            {"type": "FeatureCollection", "features": [{"properties": {"name": "测试"}}]},
            ensure_ascii=False,
        ).encode("gbk"),
        "point.geojson": json.dumps({"type": "Point", "coordinates": [1, 2]}).encode(),
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = cli.invoke(app, ["regions", "import", str(path)])
        assert result.exit_code != 0, name
        assert "Traceback" not in result.output
    assert _count(session, Region) == 0
    result = cli.invoke(app, ["regions", "import", str(tmp_path / "missing.geojson")])
    assert result.exit_code != 0 and "无法读取文件" in result.output
