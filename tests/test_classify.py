"""The text classifier core: a small model trained on real citizen messages, its model
folder, the self-routing threshold, bad training data, grouped splits, the numpy TF-IDF, and
duplicate scoring."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from fengqiao.classify import service as classify
from fengqiao.classify.duplicates import (
    DEFAULT_DUPLICATE_THRESHOLD,
    DuplicateCandidate,
    NewMessage,
    duplicate_groups,
    duplicate_score,
    find_duplicates,
)
from fengqiao.classify.features import Alphabet, NgramBlock
from fengqiao.classify.model import (
    NEVER,
    ModelLoadError,
    Settings,
    TrainingDataError,
    choose_threshold,
)
from fengqiao.classify.text import normalise
from tests.shared_data import SHARED_DATA, shared_file

DATA = SHARED_DATA / "complaints" / "tipdm2020c.csv"
PER_LABEL = 90
FAST = Settings(folds=3)


@pytest.fixture(autouse=True, scope="module")
def complaints() -> Path:
    """Every test here reads the messages (fails in CI when they are missing)."""
    return shared_file("complaints", "tipdm2020c.csv")


def _rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _sample(per_label: int, offset: int = 0) -> tuple[list[tuple[str, str]], list[str]]:
    """Evenly spaced messages with a body from each label (the file is sorted by label)."""
    by_label: dict[str, list[tuple[str, str]]] = {}
    for row in _rows():
        if row["text"]:
            by_label.setdefault(row["label"], []).append((row["title"], row["text"]))
    pairs: list[tuple[str, str]] = []
    labels: list[str] = []
    for label, found in sorted(by_label.items()):
        step = len(found) // per_label
        for pair in found[offset::step][:per_label]:
            pairs.append(pair)
            labels.append(label)
    return pairs, labels


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, classify.TextClassifier]:
    pairs, labels = _sample(PER_LABEL)
    model = classify.train(pairs, labels)
    return model.save(tmp_path_factory.mktemp("model") / "classifier"), model


# Written for this test, not taken from the data: one clear case per label.
CLEAR = [
    (
        "孩子上小学报名难",
        "我家孩子今年该上一年级了，学区内的小学说学位已满不给报名，老师也不解释。",
        "教育文体",
    ),
    (
        "养老保险缴费年限问题",
        "我在企业工作了十五年，养老保险断缴了两年，退休后养老金怎么计算？社保局不给答复。",
        "劳动和社会保障",
    ),
    (
        "工厂偷排废水污染河道",
        "村旁化工厂夜里偷排废水，河水发黑发臭，鱼都死了，空气里也是刺鼻的气味。",
        "环境保护",
    ),
    (
        "医院乱收费",
        "在县人民医院住院，医生开了大量不必要的检查和药品，医保报销后自付还是很多。",
        "卫生计生",
    ),
]


def test_suggests_sensible_labels(trained: tuple[Path, classify.TextClassifier]) -> None:
    _, model = trained
    assert len(model.labels) == 7
    for title, text, label in CLEAR:
        suggestions = model.suggest(title, text, k=3)
        assert suggestions[0].label == label, (title, suggestions)
        probabilities = [s.probability for s in suggestions]
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-9
    everything = model.suggest(CLEAR[0][0], CLEAR[0][1], k=10)
    assert len(everything) == 7
    assert sum(s.probability for s in everything) == pytest.approx(1.0, abs=1e-4)
    many = model.suggest_many([(t, x) for t, x, _ in CLEAR], k=1)
    assert [m[0].label for m in many] == [label for _, _, label in CLEAR]
    assert model.suggest_many([]) == []


def test_traditional_and_full_width_input_reads_the_same(
    trained: tuple[Path, classify.TextClassifier],
) -> None:
    _, model = trained
    simplified = model.suggest("养老保险缴费年限问题", "退休后养老金怎么计算？社保局不给答复。")
    traditional = model.suggest("養老保險繳費年限問題", "退休後養老金怎麼計算？社保局不給答覆。")
    assert [s.label for s in traditional] == [s.label for s in simplified]
    assert traditional[0].probability == pytest.approx(simplified[0].probability, abs=1e-6)
    assert normalise("ＡＢＣ１２３，Ａ市") == "abc123,a市"


def test_save_and_load_give_identical_probabilities(
    trained: tuple[Path, classify.TextClassifier], tmp_path: Path
) -> None:
    folder, model = trained
    loaded = classify.load_model(folder)
    assert (loaded.version, loaded.threshold, loaded.labels) == (
        model.version,
        model.threshold,
        model.labels,
    )
    pairs, _ = _sample(10, offset=3)  # not training messages
    assert np.array_equal(loaded.probabilities(pairs), model.probabilities(pairs))
    meta = json.loads((folder / "meta.json").read_text("utf-8"))
    assert meta["training_size"] == 7 * PER_LABEL
    assert meta["target_precision"] == 0.97
    assert meta["version"].endswith(meta["sha256"][:10])
    assert {"scikit-learn", "numpy", "jieba", "opencc"} <= set(meta["libraries"])
    assert set(meta["out_of_fold"]) >= {"macro_f1", "auto_route_precision"}

    # A changed model file no longer matches its meta data.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text((folder / "meta.json").read_text("utf-8"), "utf-8")
    other = classify.train(*_sample(8, offset=1), settings=FAST)
    other.save(tmp_path / "other")
    (broken / "model.npz").write_bytes((tmp_path / "other" / "model.npz").read_bytes())
    with pytest.raises(ModelLoadError, match="sha256"):
        classify.load_model(broken)
    with pytest.raises(ModelLoadError, match="not a model folder"):
        classify.load_model(tmp_path / "nowhere")


def test_threshold_comes_from_out_of_fold_training_predictions(
    trained: tuple[Path, classify.TextClassifier],
) -> None:
    _, model = trained
    oof = model.meta["out_of_fold"]
    assert 0.0 < model.threshold <= 1.0
    assert oof["auto_route_precision"] >= model.target_precision
    assert 0.0 < oof["auto_route_coverage"] < 1.0
    # On its own training messages the model is surer than out of fold: the threshold was
    # not set on in-sample predictions, where it would route (nearly) all of them.
    pairs, labels = _sample(PER_LABEL)
    in_sample = classify.evaluate_pairs(model, pairs, labels)
    assert in_sample["auto_route_coverage"] > oof["auto_route_coverage"]

    pairs, labels = _sample(40, offset=1)
    lenient = classify.train(pairs, labels, target_precision=0.8, settings=FAST)
    strict = classify.train(pairs, labels, target_precision=0.99, settings=FAST)
    assert lenient.threshold <= strict.threshold
    # Same data, same model (training is deterministic); only the threshold differs.
    assert lenient.meta["sha256"] == strict.meta["sha256"]
    assert (
        lenient.meta["out_of_fold"]["auto_route_coverage"]
        >= (strict.meta["out_of_fold"]["auto_route_coverage"])
    )
    suggestions = strict.suggest(*pairs[0])
    assert strict.is_sure(suggestions) == (suggestions[0].probability >= strict.threshold)
    assert not strict.is_sure([])


def test_choose_threshold() -> None:
    top = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, True, True, True, False, False])
    assert choose_threshold(top, correct, 0.8, confidence=0.5) == 0.7  # 4 of 5 right
    assert choose_threshold(top, correct, 0.9, confidence=0.5) == 0.8
    # Asking for confidence in the precision means a higher threshold on few samples.
    assert choose_threshold(top, correct, 0.8, confidence=0.95) > 0.7
    assert choose_threshold(top, ~correct, 0.5, confidence=0.5) == NEVER
    # Ties are cut as a whole: two 0.9s, one wrong.
    tied = np.array([0.95, 0.9, 0.9])
    assert choose_threshold(tied, np.array([True, True, False]), 0.9, confidence=0.5) == 0.95


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_bad_training_data_is_refused_clearly(tmp_path: Path) -> None:
    cases = {
        "empty": (_write(tmp_path / "empty.csv", ""), "CSV 文件为空.*empty"),
        "header only": (
            _write(tmp_path / "header.csv", "title,text,label\n"),
            "没有数据行.*no data rows",
        ),
        "missing column": (
            _write(tmp_path / "cols.csv", "title,body,label\n路灯不亮,晚上很黑,城乡建设\n"),
            "缺少列：text.*lacks column\\(s\\) text; it has: title, body, label",
        ),
        "single class": (
            _write(
                tmp_path / "one.csv",
                "title,text,label\n"
                + "".join(f"路灯{i}不亮,晚上很黑,城乡建设\n" for i in range(20)),
            ),
            "只有一个类别（城乡建设）.*single label \\(城乡建设\\)",
        ),
        "not utf-8": (
            _write(
                tmp_path / "gbk.csv",
                "title,text,label\n路灯不亮,晚上很黑,城乡建设\n学校收费,乱收费,教育文体\n",
                "gbk",
            ),
            "不是 UTF-8 编码.*not UTF-8",
        ),
    }
    for name, (path, message) in cases.items():
        with pytest.raises(TrainingDataError, match=message) as caught:
            classify.train_from_csv(path, ["title", "text"], "label")
        assert caught.value.zh and caught.value.en, name
        assert isinstance(caught.value, ValueError)
    rare = "title,text,label\n" + "".join(f"路灯{i}不亮,很黑,城乡建设\n" for i in range(9))
    with pytest.raises(TrainingDataError, match="少于 5 条：教育文体"):
        classify.train_from_csv(_write(tmp_path / "rare.csv", rare + "学校收费,乱收费,教育文体\n"))


def test_evaluate_reads_a_csv(
    trained: tuple[Path, classify.TextClassifier], tmp_path: Path
) -> None:
    _, model = trained
    pairs, labels = _sample(12, offset=5)
    path = tmp_path / "held.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["标题", "内容", "类别"])
        writer.writerows([t, x, label] for (t, x), label in zip(pairs, labels, strict=True))
    scores = classify.evaluate(model, path, ["标题", "内容"], "类别")
    assert scores["n"] == len(pairs)
    assert scores["macro_f1"] > 0.6
    assert scores["accuracy"] <= scores["top3_accuracy"] <= 1.0
    assert 0.0 <= scores["auto_route_coverage"] <= 1.0
    assert scores["predict_per_s"] > 0


def test_split_keeps_duplicate_groups_on_one_side() -> None:
    rows = _rows()[:3000]
    train, test = classify.split_by_groups(rows, test_share=0.25, seed=7)
    assert not set(train) & set(test)
    assert (train, test) == classify.split_by_groups(rows, test_share=0.25, seed=7)
    kept = sorted(train + test)
    keys = [(normalise(rows[i]["title"]), normalise(rows[i]["text"])) for i in kept]
    assert len(set(keys)) == len(keys)  # exact repeats dropped
    assert len(kept) < len(rows)
    side = {i: "train" for i in train} | {i: "test" for i in test}
    by_title: dict[str, set[str]] = {}
    by_body: dict[str, set[str]] = {}
    for i in kept:
        by_title.setdefault(normalise(rows[i]["title"]), set()).add(side[i])
        if rows[i]["text"]:
            by_body.setdefault(normalise(rows[i]["text"]), set()).add(side[i])
    assert all(len(sides) == 1 for sides in [*by_title.values(), *by_body.values()])
    assert 0.2 < len(test) / len(kept) < 0.3


def test_numpy_tfidf_matches_sklearn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [
        normalise(t)
        for t in ["路灯不亮，晚上很黑", "小区路灯坏了", "学校乱收费", "", "a市a3区路灯"]
    ]
    alphabet = Alphabet.fit(texts)
    ours = NgramBlock.fit(texts, alphabet, 1, 3).transform(texts, alphabet).toarray()
    reference = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    theirs = reference.fit_transform(texts)
    # Column order differs (keys vs. strings): compare each text's sorted weights.
    for row, other in zip(ours, theirs.toarray(), strict=True):
        assert np.allclose(np.sort(row[row > 0]), np.sort(other[other > 0]), atol=1e-6)
    unseen = NgramBlock.fit(texts, alphabet, 1, 3).transform(["从未见过的字", "路灯"], alphabet)
    assert unseen[0].nnz == 0 and unseen[1].nnz == 3  # 路, 灯, 路灯


def test_duplicate_scores_a_repost_above_an_unrelated_message() -> None:
    original = NewMessage(
        "A市西湖路夜间施工噪音扰民",
        "尊敬的王局长：您好！西湖路某工地每天晚上十一点以后还在打桩施工，噪音极大，附近居民无法入睡，请尽快处理。",
    )
    repost = DuplicateCandidate(
        1,
        "2026-000101",
        "西湖路工地深夜施工严重扰民",
        "尊敬的李书记：您好！西湖路某工地每天晚上十一点以后还在打桩施工，噪音极大，附近居民无法入睡，请尽快处理！",
    )
    unrelated = DuplicateCandidate(
        2,
        "2026-000102",
        "咨询养老保险转移接续",
        "您好，我从外省调回本市工作，原来缴纳的养老保险如何转移接续？需要准备哪些材料？",
    )
    same_topic = DuplicateCandidate(
        3,
        "2026-000103",
        "东湖路施工噪音",
        "东湖路修路白天噪音大，希望合理安排施工时间。",
    )
    assert duplicate_score(original, repost) > DEFAULT_DUPLICATE_THRESHOLD
    assert duplicate_score(original, unrelated) < 0.2
    assert duplicate_score(original, repost) > duplicate_score(original, same_topic)
    assert duplicate_score(original, original) == pytest.approx(1.0)
    found = find_duplicates(original, [unrelated, same_topic, repost])
    assert [m.candidate.number for m in found] == ["2026-000101"]
    assert found[0].describe("en").startswith("possible duplicate of #2026-000101")
    assert "疑似与 #2026-000101 重复" in found[0].describe()
    # Equal scores: the nearer matter first.
    near = DuplicateCandidate(4, "N", repost.title, repost.text, lon=120.0, lat=30.0)
    far = DuplicateCandidate(5, "F", repost.title, repost.text, lon=120.1, lat=30.0)
    here = NewMessage(original.title, original.text, lon=120.0, lat=30.001)
    ranked = find_duplicates(here, [far, near])
    assert [m.candidate.number for m in ranked] == ["N", "F"]
    assert ranked[0].distance_m == pytest.approx(111.2, abs=1)


def test_duplicate_groups() -> None:
    titles = ["路灯不亮", "路灯不亮", "学校收费", "食堂卫生差", "噪音扰民"]
    body = "西湖路某工地每天晚上十一点以后还在打桩施工，噪音极大，附近居民无法入睡，请尽快处理。"
    texts = ["晚上很黑", "一直没人修", "乱收费", body, body.replace("十一点", "十二点")]
    assert duplicate_groups(titles, texts) == [0, 0, 2, 3, 3]
