"""Intake reads each report: a model trained on real citizen messages suggests categories,
routes the matter by itself when sure (saying which model and how sure), leaves it to a
dispatcher otherwise, flags a repeat as a possible duplicate, and keeps a dispatcher's
correction as training data that `classify retrain` uses."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fengqiao.api import create_app
from fengqiao.classify import service as classify
from fengqiao.classify.flows import corrections
from fengqiao.classify.models import CategoryCorrection
from fengqiao.cli import app as cli
from fengqiao.core.config import Settings, get_settings
from tests.shared_data import SHARED_DATA, shared_file
from tests.world import World

DATA = SHARED_DATA / "complaints" / "tipdm2020c.csv"
PER_LABEL = 60
PLACE = {"lon": 120.05, "lat": 30.05}  # inside grid A1-1 of the test world


def _sample(per_label: int) -> tuple[list[tuple[str, str]], list[str]]:
    """Every k-th message of each label (the file is sorted by label), bodies present."""
    pairs, labels = classify.read_labelled_csv(DATA, ["title", "text"], "label")
    by_label: dict[str, list[tuple[str, str]]] = {}
    for pair, label in zip(pairs, labels, strict=True):
        if pair[1]:
            by_label.setdefault(label, []).append(pair)
    out_pairs, out_labels = [], []
    for label, rows in sorted(by_label.items()):
        step = len(rows) // per_label
        for pair in rows[::step][:per_label]:
            out_pairs.append(pair)
            out_labels.append(label)
    return out_pairs, out_labels


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, classify.TextClassifier]:
    shared_file("complaints", "tipdm2020c.csv")  # fails in CI when it is missing
    pairs, labels = _sample(PER_LABEL)
    model = classify.train(pairs, labels, target_precision=0.9)
    folder = model.save(tmp_path_factory.mktemp("model") / "classifier")
    return folder, model


@pytest.fixture
def reading_client(
    trained: tuple[Path, classify.TextClassifier], settings: Settings, world: World
) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"classifier_dir": trained[0]}))
    with TestClient(app, raise_server_exceptions=False) as client:
        admin = world.login(client, "admin")
        for category in ("education_culture", "environment", "transport"):
            rule = {"category_code": category, "unit_code": "C-ZHZF", "level": 4}
            resp = client.post("/api/routing-rules", json=rule, headers=admin)
            assert resp.status_code == 201, resp.text
        yield client
    app.state.engine.dispose()


def _surest(model: classify.TextClassifier, label: str) -> tuple[str, str]:
    """The message of `label` the model is surest of."""
    pairs, labels = _sample(PER_LABEL)
    mine = [p for p, lab in zip(pairs, labels, strict=True) if lab == label]
    scored = [(model.suggest(*p)[0], p) for p in mine]
    return max((s.probability, p) for s, p in scored if s.label == label)[1]


def _report(client: TestClient, h: dict[str, str], title: str, text: str, key: str) -> Any:
    body = {"title": title, "description": text, "idempotency_key": key, **PLACE}
    resp = client.post("/api/matters", json=body, headers=h)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_a_sure_report_routes_itself_and_says_which_model(
    reading_client: TestClient, world: World, trained: tuple[Path, classify.TextClassifier]
) -> None:
    _, model = trained
    assert model.threshold < 1.0, "a model that is never sure tests nothing"
    h = world.login(reading_client, "town_a")
    title, text = _surest(model, "教育文体")
    made = _report(reading_client, h, title, text, "classify-sure-0001")
    suggested = made["category_suggestions"]
    assert suggested["model"] == model.version and len(suggested["items"]) == 3
    top = suggested["items"][0]
    assert top["label"] == "教育文体" and top["code"] == "education_culture"
    assert top["p"] >= model.threshold
    assert made["category_code"] == "education_culture" and made["state"] == "dispatched"
    detail = reading_client.get(f"/api/matters/{made['id']}", headers=h).json()
    accept, dispatch = detail["timeline"][1:]
    for entry in (accept, dispatch):
        assert entry["actor_name"] == "系统"
        assert entry["detail"]["model"] == model.version
        assert entry["detail"]["probability"] == top["p"]
    assert dispatch["detail"]["unit_id"] == made["unit_id"] is not None
    assert made["sign_due_at"] is not None  # deadlines run as for a dispatcher's dispatch


def test_an_unsure_report_waits_and_a_correction_is_kept_for_retraining(
    reading_client: TestClient,
    world: World,
    session: Session,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = world.login(reading_client, "town_a")
    made = _report(
        reading_client, h, "咨询一下", "请问这个怎么办理？谢谢。", "classify-unsure-0001"
    )
    items = made["category_suggestions"]["items"]
    assert made["state"] == "reported" and made["category_code"] is None
    assert items[0]["p"] < made["category_suggestions"]["threshold"]
    # The dispatcher files it under another category than the model's first guess.
    chosen, name = ("environment", "环境保护")
    if items[0]["code"] == chosen:
        chosen, name = ("transport", "交通运输")
    resp = reading_client.post(
        f"/api/matters/{made['id']}/actions/accept", json={"category_code": chosen}, headers=h
    )
    assert resp.status_code == 200, resp.text
    kept = session.scalars(select(CategoryCorrection)).one()
    assert (kept.matter_id, kept.category_code, kept.label) == (made["id"], chosen, name)
    assert (
        kept.predicted == items[0]["label"]
        and kept.model_version == made["category_suggestions"]["model"]
    )
    assert corrections(session) == [("咨询一下", "请问这个怎么办理？谢谢。", name)]

    # `classify retrain` trains on a CSV plus the corrections.
    pairs, labels = _sample(8)
    base = tmp_path / "base.csv"
    with base.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["title", "text", "label"])
        w.writerows([(t, x, lab) for (t, x), lab in zip(pairs, labels, strict=True)])
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        out = tmp_path / "retrained"
        result = CliRunner().invoke(
            cli, ["classify", "retrain", "--csv", str(base), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
    finally:
        get_settings.cache_clear()
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["training_size"] == len(pairs) + 1


def test_a_repeat_is_flagged_as_a_possible_duplicate_and_does_not_route_itself(
    reading_client: TestClient, world: World, trained: tuple[Path, classify.TextClassifier]
) -> None:
    _, model = trained
    h = world.login(reading_client, "town_a")
    title, text = _surest(model, "环境保护")
    first = _report(reading_client, h, title, text, "classify-dup-00001")
    assert first["possible_duplicates"] == []
    again = _report(reading_client, h, title + "（再次反映）", text, "classify-dup-00002")
    [dup] = again["possible_duplicates"]
    assert dup["id"] == first["id"] and dup["number"] == first["number"]
    assert dup["score"] >= 0.9
    # Sure of the category, but a probable repeat waits for a dispatcher, who merges it.
    assert again["category_code"] == "environment" and again["state"] == "reported"
    merged = reading_client.post(
        f"/api/matters/{again['id']}/actions/merge", json={"target_id": first["id"]}, headers=h
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["state"] == "merged"
    # Unrelated text at the same place is no duplicate.
    other = _report(reading_client, h, *_surest(model, "交通运输"), "classify-dup-00003")
    assert other["possible_duplicates"] == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "空"),
        ("title,text\n标题,正文\n", "label"),
        ("title,text,label\n" + "标题,正文,教育文体\n" * 6, "类别"),
    ],
)
def test_bad_training_data_is_refused_clearly(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["classify", "train", "--csv", str(path), "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_non_utf8_training_data_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("title,text,label\n标题,正文,教育文体\n".encode("gbk"))
    result = CliRunner().invoke(
        cli, ["classify", "train", "--csv", str(path), "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "UTF-8" in result.output


def test_a_repeat_across_a_grid_edge_is_found_and_a_far_one_is_not(
    client: TestClient, world: World
) -> None:
    """Without a text model: duplicates are looked for within 500 m, in the neighbouring
    grid too (A1-1 ends at lat 30.1, A1-2 begins there)."""
    h = world.login(client, "town_a")
    title, text = "小区门口路灯不亮", "幸福路与和平路口的路灯已经坏了一周，晚上行人看不清路面。"

    def report(key: str, lat: float) -> Any:
        body = {"title": title, "description": text, "idempotency_key": key, "lon": 120.05}
        resp = client.post("/api/matters", json=body | {"lat": lat}, headers=h)
        assert resp.status_code == 201, resp.text
        return resp.json()

    first = report("edge-dup-00001", 30.0995)
    across = report("edge-dup-00002", 30.1005)  # about 110 m north, in the next grid
    assert first["grid_code"] != across["grid_code"]
    assert [d["id"] for d in across["possible_duplicates"]] == [first["id"]]
    far = report("edge-dup-00003", 30.15)  # 5 km on
    assert far["possible_duplicates"] == []
