"""`fengqiao demo` trains the text model once on the demo county's history, so that a
newcomer's first report is categorised and, when the model is sure and a unit takes the
category, routed by itself."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from fengqiao.api import create_app
from fengqiao.core import clock
from fengqiao.core.config import Settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.demo.build import DEMO_PASSWORD, DEMO_TRAINING, train_model
from fengqiao.geo.models import Grid
from fengqiao.people.models import Unit, User
from tests.conftest import DEMO_BUILT, DemoCopy

BUILT = DEMO_BUILT


def test_the_demo_routes_a_newcomers_typical_report_by_itself(
    demo: DemoCopy, tmp_path: Path
) -> None:
    folder = demo.model_dir
    settings = Settings(database_url=demo.url, data_dir=folder.parent, background="off")
    engine = make_engine(demo.url)
    session = make_sessionmaker(engine)()
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["training_size"] == DEMO_TRAINING
    assert len(meta["labels"]) == 17  # every category of the demo's history
    assert meta["threshold"] < 1.0 and meta["out_of_fold"]["auto_route_coverage"] > 0.5
    assert not train_model(session, folder), "a model already there is kept"

    resident = session.scalars(select(User).where(User.username == "resident")).one()
    grid = session.scalars(select(Grid).where(Grid.path == resident.region_path)).one()
    place = {"lon": grid.centroid_lon, "lat": grid.centroid_lat}
    # (title, description, category, the platform of the grid's township that takes it)
    reports = [
        ("路灯坏了", "我家楼下的路灯不亮了好几天，晚上走路看不见。", "urban_management", "JGZF"),
        (
            "邻居太吵",
            "楼上邻居每天半夜很吵，沟通了好几次也没用，希望调解。",
            "dispute_family",
            "ZZGZ",
        ),
    ]
    app = create_app(settings)
    # A week after the history ends: its matters are no possible duplicates of these.
    with clock.frozen(BUILT + timedelta(days=8)), TestClient(app) as client:
        resp = client.post(
            "/api/auth/login", json={"username": "resident", "password": DEMO_PASSWORD}
        )
        assert resp.status_code == 200, resp.text
        h = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        for n, (title, text, code, platform) in enumerate(reports):
            body = {"title": title, "description": text, "idempotency_key": f"demo-first-{n:03d}"}
            resp = client.post("/api/matters", json=body | place, headers=h)
            assert resp.status_code == 201, resp.text
            made = resp.json()
            suggested = made["category_suggestions"]
            assert suggested["model"] == meta["version"]
            top = suggested["items"][0]
            assert top["code"] == code and top["p"] >= suggested["threshold"], suggested
            assert made["possible_duplicates"] == []
            assert made["category_code"] == code and made["state"] == "dispatched", made
            unit = session.get(Unit, made["unit_id"])
            assert unit is not None and unit.code.endswith(f"-{platform}"), unit
            assert grid.path.startswith(unit.region_path)
    app.state.engine.dispose()
    session.close()
    engine.dispose()
