"""What intake and the CLI call: train, load, suggest categories, evaluate, split data.

model = train_from_csv(Path("messages.csv"), ["title", "text"], "label")
model.save(Path("models/classify"))
model = load_model(Path("models/classify"))
suggestions = model.suggest("小区垃圾无人清运", "……")
if model.is_sure(suggestions): ...  # route to suggestions[0].label without a person
"""

from __future__ import annotations

import csv
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fengqiao.classify import model as core
from fengqiao.classify.duplicates import duplicate_groups
from fengqiao.classify.model import Settings, TrainingDataError
from fengqiao.classify.text import normalise, taxonomy_words


@dataclass(frozen=True, slots=True)
class Suggestion:
    label: str
    probability: float


class TextClassifier:
    def __init__(self, model: core.LinearTextModel, meta: dict[str, Any]) -> None:
        self._model = model
        self.meta = meta
        self.version: str = meta["version"]
        self.threshold: float = float(meta["threshold"])
        self.target_precision: float = float(meta["target_precision"])
        self.labels: list[str] = list(model.labels)

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray[Any, Any]:
        """Calibrated probabilities, one row per (title, text), columns in `labels` order."""
        if not pairs:
            return np.zeros((0, len(self.labels)))
        titles = [normalise(title) for title, _ in pairs]
        texts = [normalise(text) for _, text in pairs]
        return self._model.probabilities(titles, texts)

    def suggest_many(self, pairs: Iterable[tuple[str, str]], k: int = 3) -> list[list[Suggestion]]:
        probabilities = self.probabilities(list(pairs))
        k = max(1, min(k, len(self.labels)))
        best = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return [
            [Suggestion(self.labels[j], round(float(row[j]), 6)) for j in order]
            for row, order in zip(probabilities, best, strict=True)
        ]

    def suggest(self, title: str, text: str, k: int = 3) -> list[Suggestion]:
        """The k likeliest categories, most likely first."""
        return self.suggest_many([(title, text)], k)[0]

    def is_sure(self, suggestions: Sequence[Suggestion]) -> bool:
        """Sure enough to route without a person (top probability >= threshold)."""
        return bool(suggestions) and suggestions[0].probability >= self.threshold

    def save(self, folder: Path) -> Path:
        core.save(self._model, self.meta, folder)
        return folder


def load_model(path: Path) -> TextClassifier:
    model, meta = core.load(Path(path))
    return TextClassifier(model, meta)


def train(
    pairs: Sequence[tuple[str, str]],
    labels: Sequence[str],
    *,
    target_precision: float = 0.97,
    extra_words: Sequence[str] = (),
    settings: Settings | None = None,
) -> TextClassifier:
    """Train on (title, text) pairs; the self-routing threshold comes from this data only."""
    titles = [title for title, _ in pairs]
    texts = [text for _, text in pairs]
    model, report = core.fit(
        titles,
        texts,
        labels,
        target_precision=target_precision,
        extra_words=extra_words,
        settings=settings,
    )
    return TextClassifier(model, core.describe(model, report))


# ---------------------------------------------------------------- CSV files


def read_labelled_csv(
    path: Path, text_columns: Sequence[str], label_column: str
) -> tuple[list[tuple[str, str]], list[str]]:
    """(title, text) pairs and labels of a UTF-8 CSV with a header row. The first text column
    is the title; further ones are joined into the body."""
    if not text_columns:
        raise ValueError("text_columns must name at least one column")
    csv.field_size_limit(max(csv.field_size_limit(), 10_000_000))  # bodies can be long
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            if not header:
                raise TrainingDataError(f"CSV 文件为空：{path}", f"the CSV file is empty: {path}")
            missing = [c for c in [*text_columns, label_column] if c not in header]
            if missing:
                raise TrainingDataError(
                    f"CSV 缺少列：{'、'.join(missing)}（现有列：{'、'.join(header)}）",
                    f"the CSV lacks column(s) {', '.join(missing)}; it has: {', '.join(header)}",
                )
            pairs: list[tuple[str, str]] = []
            labels: list[str] = []
            for row in reader:
                title = row[text_columns[0]] or ""
                body = " ".join(row[c] or "" for c in text_columns[1:]).strip()
                pairs.append((title, body))
                labels.append((row[label_column] or "").strip())
    except UnicodeDecodeError as error:
        raise TrainingDataError(
            f"文件不是 UTF-8 编码（第 {error.start} 字节附近），请另存为 UTF-8 后重试：{path}",
            f"the file is not UTF-8 (near byte {error.start}); save it as UTF-8: {path}",
        ) from error
    except csv.Error as error:
        raise TrainingDataError(f"CSV 格式错误：{error}", f"malformed CSV: {error}") from error
    if not pairs:
        raise TrainingDataError(
            f"CSV 文件只有表头，没有数据行：{path}", f"the CSV file has no data rows: {path}"
        )
    return pairs, labels


def taxonomy_words_from_csv(path: Path) -> list[str]:
    """Words of every category name in a taxonomy CSV (all cells), for the segmenter."""
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        return taxonomy_words(cell for row in csv.reader(handle) for cell in row)


def train_from_csv(
    path: Path,
    text_columns: Sequence[str] = ("title", "text"),
    label_column: str = "label",
    target_precision: float = 0.97,
    *,
    taxonomy: Path | None = None,
    settings: Settings | None = None,
) -> TextClassifier:
    pairs, labels = read_labelled_csv(path, text_columns, label_column)
    extra = taxonomy_words_from_csv(taxonomy) if taxonomy else []
    return train(
        pairs, labels, target_precision=target_precision, extra_words=extra, settings=settings
    )


# ---------------------------------------------------------------- evaluation


def evaluate_pairs(
    model: TextClassifier, pairs: Sequence[tuple[str, str]], labels: Sequence[str]
) -> dict[str, float]:
    """Scores of `model` on labelled messages; labels the model does not know count as
    wrong."""
    started = time.perf_counter()
    probabilities = model.probabilities(pairs)
    seconds = time.perf_counter() - started
    index = {label: j for j, label in enumerate(model.labels)}
    truth = np.array([index.get(label, -1) for label in labels])
    predicted = probabilities.argmax(axis=1)
    correct = predicted == truth
    top3 = np.argsort(-probabilities, axis=1)[:, :3]
    coverage, precision = core.routing(probabilities.max(axis=1), correct, model.threshold)
    known = truth >= 0
    return {
        "n": len(truth),
        "macro_f1": round(
            core.macro_f1(truth[known], predicted[known], len(model.labels))
            if known.any()
            else 0.0,
            4,
        ),
        "accuracy": round(float(correct.mean()), 4),
        "top3_accuracy": round(float((top3 == truth[:, None]).any(axis=1).mean()), 4),
        "auto_route_coverage": round(coverage, 4),
        "auto_route_precision": round(precision, 4),
        "threshold": round(model.threshold, 4),
        "predict_per_s": round(len(truth) / seconds, 1) if seconds > 0 else 0.0,
    }


def evaluate(
    model: TextClassifier,
    csv_path: Path,
    text_columns: Sequence[str] = ("title", "text"),
    label_column: str = "label",
) -> dict[str, float]:
    pairs, labels = read_labelled_csv(csv_path, text_columns, label_column)
    return evaluate_pairs(model, pairs, labels)


# ---------------------------------------------------------------- splitting data


def split_by_groups(
    rows: Sequence[Mapping[str, str]],
    test_share: float = 0.2,
    seed: int = 0,
    *,
    title: str = "title",
    text: str = "text",
    label: str = "label",
) -> tuple[list[int], list[int]]:
    """Row indices (train, test) such that no duplicate group is on both sides.

    Exact repeats (same normalised title and body) are dropped, keeping the first. The other
    rows are grouped by `duplicate_groups` (shared title, shared body, near-identical body);
    groups are shuffled per majority label and `test_share` of each label's groups go to test.
    """
    if not 0.0 < test_share < 1.0:
        raise ValueError("test_share must be between 0 and 1")
    seen: set[tuple[str, str]] = set()
    kept: list[int] = []
    for i, row in enumerate(rows):
        key = (normalise(row[title]), normalise(row[text]))
        if key not in seen:
            seen.add(key)
            kept.append(i)
    groups = duplicate_groups([rows[i][title] for i in kept], [rows[i][text] for i in kept])
    members: dict[int, list[int]] = defaultdict(list)
    for position, group in enumerate(groups):
        members[group].append(kept[position])
    by_label: dict[str, list[int]] = defaultdict(list)
    for group, indices in members.items():
        majority = Counter(rows[i][label] for i in indices).most_common(1)[0][0]
        by_label[majority].append(group)
    shuffler = random.Random(seed)
    train_rows: list[int] = []
    test_rows: list[int] = []
    for name in sorted(by_label):
        chosen = sorted(by_label[name])
        shuffler.shuffle(chosen)
        n_test = round(len(chosen) * test_share)
        for j, group in enumerate(chosen):
            (test_rows if j < n_test else train_rows).extend(members[group])
    return sorted(train_rows), sorted(test_rows)
