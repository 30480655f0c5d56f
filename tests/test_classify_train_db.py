"""`fengqiao classify train --from-db`: the text model learns from the county's own closed
matters (their final category as the label, title and description as the text), is saved
where the server loads it, and intake uses it afterwards."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fengqiao.api import create_app
from fengqiao.classify import service as classify
from fengqiao.cli import app as cli
from fengqiao.core import clock
from fengqiao.core.config import Settings, get_settings
from fengqiao.demo.texts import KINDS, words_for
from fengqiao.geo.models import Grid
from fengqiao.matters import intake
from fengqiao.matters.models import Matter
from fengqiao.matters.training import MIN_ROWS, training_rows, training_set
from fengqiao.people import service as people
from fengqiao.people.models import User
from tests.world import GRID_A1_1, World

# Categories of the test world with a route: the bureau takes street matters (its
# categories), township platforms neighbour disputes (a routing rule) and other disputes.
NAMES = {"urban_management": "市容环境", "dispute_family": "婚姻家庭邻里纠纷"}
TOPICS = {code: topics for code, _, _, topics in KINDS if code in NAMES}
PER_CATEGORY = 40
PLACE = {"lon": 120.05, "lat": 30.05}  # inside grid A1-1


def _message(rng: random.Random, code: str) -> tuple[str, str]:
    return words_for(rng, rng.choice(TOPICS[code]), "web", "社区0101")


def _add(session: Session, title: str, text: str, code: str | None, state: str) -> int:
    """A matter reported in grid A1-1, then put straight into `state` (closed matters
    are all this test needs of the loop)."""
    reporter = session.scalars(select(User).where(User.username == "worker_a")).one()
    grid = session.scalars(select(Grid).where(Grid.code == GRID_A1_1)).one()
    made, _ = intake.report(
        session,
        people.principal_of(reporter),
        intake.Report(title=title, description=text, category_code=code),
        grid=(grid.id, grid.path),
    )
    closed = {"closed_at": clock.now()} if state in ("closed", "evaluated") else {}
    session.execute(update(Matter).where(Matter.id == made.id).values(state=state, **closed))
    session.commit()
    return made.id


def _history(session: Session, per_category: int = PER_CATEGORY, seed: int = 1) -> None:
    """Closed matters of two categories, and some that must not be learnt from: open ones
    of a third category, rejected and merged ones, and a closed one without a category."""
    rng = random.Random(seed)
    for i in range(per_category * len(NAMES)):
        code = list(NAMES)[i % len(NAMES)]
        _add(session, *_message(rng, code), code, "closed" if i % 3 else "evaluated")
    for state in ("reported", "dispatched", "in_progress", "rejected", "merged"):
        for _ in range(2):
            _add(session, "公交站牌损坏", "公交站牌被车撞倒了，乘客找不到车站", "transport", state)
    _add(session, "咨询", "请问这个怎么办理？", None, "closed")


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, settings: Settings
) -> Iterator[None]:
    """The command line on the test database, with the test's data folder."""
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("FENGQIAO_CLASSIFIER_DIR", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _train(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["classify", "train", *args])
    return result.exit_code, result.output


def test_only_closed_matters_with_a_category_are_learnt_from(
    world: World, session: Session
) -> None:
    _history(session, per_category=6)
    rows = training_rows(session)
    assert len(rows) == 12
    assert {label for _, _, label in rows} == set(NAMES.values())
    assert all(title and text for title, text, _ in rows)
    assert len(training_rows(session, limit=5)) == 5
    # Too few in all to train on.
    with pytest.raises(classify.TrainingDataError) as refused:
        training_set(session)
    assert f"至少需要 {MIN_ROWS} 条" in refused.value.zh and "at least" in refused.value.en


def test_train_from_db_learns_the_countys_categories_and_intake_uses_it(
    world: World, session: Session, settings: Settings, cli_env: None
) -> None:
    _history(session)
    code, output = _train("--from-db", "--target-precision", "0.9")
    assert code == 0, output
    flat = "".join(output.split())
    assert f"{PER_CATEGORY * len(NAMES)}closedmatters" in flat
    # The same report as `classify train --csv` gives, of a model saved where the server
    # loads it from (data_dir/classifier unless FENGQIAO_CLASSIFIER_DIR says otherwise).
    assert "模型model" in flat and "self-routingthreshold" in flat
    folder = settings.data_dir / "classifier"
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["training_size"] == PER_CATEGORY * len(NAMES)
    assert sorted(meta["labels"]) == sorted(NAMES.values())
    assert meta["threshold"] < 1.0, "a model that is never sure tests nothing"

    # It predicts the categories of messages it has not seen.
    model = classify.load_model(folder)
    rng = random.Random(99)
    unseen = [(code, _message(rng, code)) for code in NAMES for _ in range(15)]
    right = sum(model.suggest(*m)[0].label == NAMES[code] for code, m in unseen)
    assert right >= 0.9 * len(unseen), right

    # The server loads it, and a report without a category is categorised and, as the
    # model is sure and a unit takes the category, routed by itself.
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        h = world.login(client, "town_a")
        expected = {
            "urban_management": world.units["bureau"],
            "dispute_family": world.units["platform_a"],
        }
        texts = {
            "urban_management": ("路灯坏了", "我家楼下的路灯不亮了好几天，晚上走路看不见。"),
            "dispute_family": ("邻居太吵", "楼上邻居每天半夜很吵，沟通了好几次也没用，希望调解。"),
        }
        for n, (code, (title, text)) in enumerate(texts.items()):
            body = {"title": title, "description": text, "idempotency_key": f"db-model-{n:04d}"}
            resp = client.post("/api/matters", json=body | PLACE, headers=h)
            assert resp.status_code == 201, resp.text
            made = resp.json()
            suggested = made["category_suggestions"]
            assert suggested["model"] == meta["version"]
            top = suggested["items"][0]
            assert (top["code"], top["label"]) == (code, NAMES[code])
            assert top["p"] >= suggested["threshold"]
            assert made["category_code"] == code and made["state"] == "dispatched", made
            assert made["unit_id"] == expected[code]
    app.state.engine.dispose()


def test_train_from_db_refuses_too_little_history_clearly(
    world: World, session: Session, settings: Settings, cli_env: None
) -> None:
    _history(session, per_category=5)  # 10 closed matters
    code, output = _train("--from-db")
    flat = "".join(output.split())
    assert code == 2, output
    assert "至少需要" in flat and "trainingneedsatleast" in flat, output
    assert "Traceback" not in output
    assert not (settings.data_dir / "classifier").exists()


def test_train_from_db_needs_two_categories(
    world: World, session: Session, settings: Settings, cli_env: None
) -> None:
    rng = random.Random(3)
    for _ in range(MIN_ROWS):
        _add(session, *_message(rng, "urban_management"), "urban_management", "closed")
    # A second category with too few matters to learn does not count.
    for _ in range(2):
        _add(session, *_message(rng, "dispute_family"), "dispute_family", "closed")
    code, output = _train("--from-db")
    flat = "".join(output.split())
    assert code == 2, output
    assert "类别不足两个" in flat and "fewerthantwocategories" in flat, output
    assert not (settings.data_dir / "classifier").exists()


def test_train_takes_a_csv_or_the_database_and_a_csv_needs_its_folder(
    tmp_path: Path, cli_env: None
) -> None:
    path = tmp_path / "some.csv"
    path.write_text("title,text,label\n", encoding="utf-8")
    for args in ([], ["--csv", str(path), "--from-db", "--out", str(tmp_path / "m")]):
        code, output = _train(*args)
        assert code == 2 and "--from-db" in output and "Traceback" not in output, output
    code, output = _train("--csv", str(path))
    assert code == 2 and "--out" in output and "Traceback" not in output, output
    assert not (tmp_path / "m").exists()
