"""The message classifier: features, training, calibration, threshold, and the model folder.

Features (all TF-IDF with sublinear tf, L2-normalised per block, then side by side):
  * character 1–2-grams of title + body;
  * character 1–3-grams of the title alone (the title is the densest part of a message);
  * 2–4-character words that jieba found in at least two training messages, counted as
    substrings (so prediction needs no segmenter).
Classifier: one-vs-rest linear SVMs on naive-Bayes-scaled features (NB-SVM, Wang & Manning
2012): each class's features are scaled by their log-count ratio, which suits short texts
with many rare but telling n-grams. Each class's scale is folded into its weights, so the
trained model is one linear map.
Calibration: a multinomial logistic regression on the seven SVM scores, fitted on
out-of-fold scores of the training data (group-aware folds: duplicates stay in one fold).
Threshold: the lowest top probability at which the out-of-fold predictions, with the
calibrator itself cross-fitted, still reach the target precision (by a 95 % lower
confidence bound). No held-out data is used.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from fengqiao.classify.features import Alphabet, NgramBlock
from fengqiao.classify.text import MAX_WORD, MIN_WORD, learn_words, message, normalise

F64 = NDArray[np.float64]
MODEL_FILE, META_FILE = "model.npz", "meta.json"
FORMAT = 1
MIN_PER_LABEL = 5  # fewer cannot be cross-validated for the threshold
NEVER = float(np.nextafter(1.0, 2.0))  # a threshold no probability reaches


class TrainingDataError(ValueError):
    """Training data that cannot make a model; the message is in Chinese and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


class ModelLoadError(ValueError):
    """A model folder that is missing, incomplete or of another format."""


@dataclass(frozen=True)
class Settings:
    whole_ngrams: tuple[int, int] = (1, 2)
    title_ngrams: tuple[int, int] = (1, 3)
    title_weight: float = 1.0
    words_weight: float = 1.0
    word_min_df: int = 2
    svm_c: float = 3.0
    nb_alpha: float = 1.0
    calibration_c: float = 10.0
    precision_confidence: float = 0.95  # of the threshold's precision (0.5: none)
    folds: int = 5
    seed: int = 0


@dataclass
class Featuriser:
    alphabet: Alphabet
    whole: NgramBlock  # char n-grams of title + body
    title: NgramBlock  # char n-grams of the title
    words: NgramBlock  # learnt words, counted as substrings of title + body
    title_weight: float
    words_weight: float

    @classmethod
    def fit(
        cls, titles: Sequence[str], texts: Sequence[str], words: list[str], settings: Settings
    ) -> Featuriser:
        wholes = _wholes(titles, texts)
        alphabet = Alphabet.fit(wholes)
        return cls(
            alphabet,
            NgramBlock.fit(wholes, alphabet, *settings.whole_ngrams),
            NgramBlock.fit(titles, alphabet, *settings.title_ngrams),
            NgramBlock.fit(
                wholes, alphabet, MIN_WORD, MAX_WORD, vocabulary=alphabet.keys_of(words)
            ),
            settings.title_weight,
            settings.words_weight,
        )

    def transform(self, titles: Sequence[str], texts: Sequence[str]) -> sp.csr_matrix:
        wholes = _wholes(titles, texts)
        blocks = [
            self.whole.transform(wholes, self.alphabet),
            self.title.transform(titles, self.alphabet) * np.float32(self.title_weight),
            self.words.transform(wholes, self.alphabet) * np.float32(self.words_weight),
        ]
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    @property
    def size(self) -> int:
        return self.whole.size + self.title.size + self.words.size

    def arrays(self) -> dict[str, NDArray[Any]]:
        out: dict[str, NDArray[Any]] = {
            "alphabet": self.alphabet.codepoints,
            "block_weights": np.array([self.title_weight, self.words_weight]),
        }
        for name in BLOCKS:
            block: NgramBlock = getattr(self, name)
            out[f"{name}_ngrams"] = np.array([block.lo, block.hi])
            out[f"{name}_keys"], out[f"{name}_idf"] = block.keys, block.idf
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> Featuriser:
        def block(name: str) -> NgramBlock:
            lo, hi = (int(n) for n in arrays[f"{name}_ngrams"])
            return NgramBlock(lo, hi, arrays[f"{name}_keys"], arrays[f"{name}_idf"])

        title_weight, words_weight = (float(w) for w in arrays["block_weights"])
        return cls(
            Alphabet(arrays["alphabet"]),
            block("whole"),
            block("title"),
            block("words"),
            title_weight,
            words_weight,
        )


BLOCKS = ("whole", "title", "words")


def _wholes(titles: Sequence[str], texts: Sequence[str]) -> list[str]:
    return [message(t, x) for t, x in zip(titles, texts, strict=True)]


def _softmax(z: F64) -> F64:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: F64 = e / e.sum(axis=1, keepdims=True)
    return out


@dataclass
class LinearTextModel:
    """What model.npz holds: features, one linear map to class scores, a calibrator."""

    labels: list[str]
    featuriser: Featuriser
    weights: NDArray[np.float32]  # (features, labels)
    bias: F64  # (labels,)
    calibration_weights: F64  # (labels, labels)
    calibration_bias: F64  # (labels,)

    def scores_of(self, x: sp.csr_matrix) -> F64:
        out: F64 = np.asarray(x @ self.weights, dtype=np.float64) + self.bias
        return out

    def probabilities_of_scores(self, scores: F64) -> F64:
        return _softmax(scores @ self.calibration_weights.T + self.calibration_bias)

    def probabilities(self, titles: Sequence[str], texts: Sequence[str]) -> F64:
        """Calibrated class probabilities; titles and texts must be normalised."""
        x = self.featuriser.transform(titles, texts)
        return self.probabilities_of_scores(self.scores_of(x))

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {
            **self.featuriser.arrays(),
            "labels": np.array(self.labels),
            "weights": self.weights,
            "bias": self.bias,
            "calibration_weights": self.calibration_weights,
            "calibration_bias": self.calibration_bias,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> LinearTextModel:
        return cls(
            [str(label) for label in arrays["labels"]],
            Featuriser.from_arrays(arrays),
            arrays["weights"],
            arrays["bias"],
            arrays["calibration_weights"],
            arrays["calibration_bias"],
        )

    def digest(self) -> str:
        """sha256 of the model's arrays (names, types, shapes and contents)."""
        h = hashlib.sha256()
        for name, array in sorted(self.arrays().items()):
            h.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()


# ---------------------------------------------------------------- training


def _nb_svm(
    x: sp.csr_matrix, y: NDArray[np.int64], n_labels: int, settings: Settings
) -> tuple[NDArray[np.float32], F64]:
    """One-vs-rest NB-SVM; returns (features x labels) weights with the NB scale folded in."""
    from sklearn.svm import LinearSVC

    present = x.copy()
    present.data[:] = 1.0
    indicator = sp.csr_matrix(
        (np.ones(len(y), dtype=np.float32), (y, np.arange(len(y)))), shape=(n_labels, len(y))
    )
    per_label = np.asarray((indicator @ present).todense(), dtype=np.float64)
    total = per_label.sum(axis=0)
    weights = np.zeros((x.shape[1], n_labels), dtype=np.float32)
    bias = np.full(n_labels, -1.0)

    # One class after another: liblinear's random generator is process-wide, so fits in
    # threads would make training non-deterministic.
    for c in range(n_labels):
        positive = y == c
        if not positive.any() or positive.all():
            continue  # a label missing from this fold scores -1 everywhere
        p = settings.nb_alpha + per_label[c]
        q = settings.nb_alpha + (total - per_label[c])
        ratio = np.log(p / p.sum()) - np.log(q / q.sum())
        svm = LinearSVC(C=settings.svm_c, max_iter=5000, random_state=settings.seed)
        svm.fit(x @ sp.diags(ratio.astype(np.float32)), positive)
        weights[:, c] = svm.coef_.ravel() * ratio
        bias[c] = float(svm.intercept_[0])
    return weights, bias


def _fit_calibrator(scores: F64, y: NDArray[np.int64], c: float) -> tuple[F64, F64]:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    n_labels = scores.shape[1]
    # One BLAS thread: the arrays are tiny (labels x labels), and on a busy machine threads
    # that wait for each other made each of its ~1,000 gradient steps 20 times slower.
    with threadpool_limits(1, user_api="blas"):
        model = LogisticRegression(C=c, max_iter=2000).fit(scores, y)
    # Spread over all labels; one absent from y keeps a very low bias.
    weights = np.zeros((n_labels, n_labels))
    bias = np.full(n_labels, -30.0)
    classes = [int(label) for label in model.classes_]
    if len(classes) == 2:  # sklearn keeps one row (the second class against the first)
        weights[classes[1]], bias[classes[1]] = model.coef_[0], model.intercept_[0]
        bias[classes[0]] = 0.0
    else:
        for row, label in enumerate(classes):
            weights[label], bias[label] = model.coef_[row], model.intercept_[row]
    return weights, bias


def choose_threshold(
    top: F64, correct: NDArray[np.bool_], target: float, confidence: float = 0.95
) -> float:
    """The lowest top probability whose "at least this sure" set reaches the target
    precision (the largest coverage doing so); `NEVER` when no set does.

    "Reaches" means the one-sided Wilson lower bound at `confidence` (0.5: the plain
    precision): a threshold where the sample precision only just equals the target falls
    short on about half of all new samples.
    """
    order = np.argsort(-top, kind="stable")
    n = np.arange(1, len(order) + 1)
    share = np.cumsum(correct[order]) / n
    z = NormalDist().inv_cdf(confidence) if confidence > 0.5 else 0.0
    centre = share + z * z / (2 * n)
    spread = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    precision = (centre - spread) / (1 + z * z / n)
    sorted_top = top[order]
    # A cut may only fall between different probabilities.
    last_of_run = np.append(sorted_top[1:] < sorted_top[:-1], True)
    good = np.flatnonzero((precision >= target) & last_of_run)
    return float(sorted_top[good[-1]]) if len(good) else NEVER


def routing(top: F64, correct: NDArray[np.bool_], threshold: float) -> tuple[float, float]:
    """(coverage, precision) of self-routing at a threshold; precision is 1.0 when empty."""
    sure = top >= threshold
    coverage = float(sure.mean()) if len(top) else 0.0
    precision = float(correct[sure].mean()) if sure.any() else 1.0
    return coverage, precision


def macro_f1(y: NDArray[np.int64], predicted: NDArray[np.int64], n_labels: int) -> float:
    from sklearn.metrics import f1_score

    return float(
        f1_score(y, predicted, labels=list(range(n_labels)), average="macro", zero_division=0)
    )


@dataclass
class TrainingReport:
    n: int
    labels: list[str]
    threshold: float
    target_precision: float
    oof_macro_f1: float
    oof_accuracy: float
    oof_auto_route_coverage: float
    oof_auto_route_precision: float
    features: int
    seconds: float


def fit(
    titles: Sequence[str],
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    target_precision: float = 0.97,
    extra_words: Sequence[str] = (),
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[LinearTextModel, TrainingReport]:
    """Train on raw (not yet normalised) titles and bodies; validates the data first."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    from fengqiao.classify.duplicates import duplicate_groups

    settings = settings or Settings()
    say = progress or (lambda _: None)
    started = time.perf_counter()
    check_training_data(titles, texts, labels)
    if not 0.5 <= target_precision < 1.0:
        raise ValueError("target_precision must be in [0.5, 1)")
    titles = [normalise(t) for t in titles]
    texts = [normalise(x) for x in texts]
    names = sorted(set(labels))
    y = np.array([names.index(label) for label in labels], dtype=np.int64)
    n_labels = len(names)

    say("words")
    words = learn_words(_wholes(titles, texts), extra_words, settings.word_min_df)
    say("features")
    featuriser = Featuriser.fit(titles, texts, words, settings)
    x = featuriser.transform(titles, texts)

    say("out-of-fold scores")
    groups = np.array(duplicate_groups(titles, texts, normalised=True))
    folds = StratifiedGroupKFold(settings.folds, shuffle=True, random_state=settings.seed)
    oof = np.zeros((len(y), n_labels))
    for train_rows, test_rows in folds.split(x, y, groups):
        w, b = _nb_svm(x[train_rows], y[train_rows], n_labels, settings)
        oof[test_rows] = np.asarray(x[test_rows] @ w, dtype=np.float64) + b

    # Probabilities for the threshold come from calibrators that did not see the row.
    oof_probability = np.zeros_like(oof)
    inner = StratifiedKFold(settings.folds, shuffle=True, random_state=settings.seed + 1)
    for fit_rows, apply_rows in inner.split(oof, y):
        cw, cb = _fit_calibrator(oof[fit_rows], y[fit_rows], settings.calibration_c)
        oof_probability[apply_rows] = _softmax(oof[apply_rows] @ cw.T + cb)
    predicted = oof_probability.argmax(axis=1)
    correct = predicted == y
    top = oof_probability.max(axis=1)
    threshold = choose_threshold(top, correct, target_precision, settings.precision_confidence)
    coverage, precision = routing(top, correct, threshold)

    say("final model")
    calibration_weights, calibration_bias = _fit_calibrator(oof, y, settings.calibration_c)
    weights, bias = _nb_svm(x, y, n_labels, settings)
    model = LinearTextModel(names, featuriser, weights, bias, calibration_weights, calibration_bias)
    report = TrainingReport(
        n=len(y),
        labels=names,
        threshold=threshold,
        target_precision=target_precision,
        oof_macro_f1=round(macro_f1(y, predicted, n_labels), 4),
        oof_accuracy=round(float(correct.mean()), 4),
        oof_auto_route_coverage=round(coverage, 4),
        oof_auto_route_precision=round(precision, 4),
        features=featuriser.size,
        seconds=round(time.perf_counter() - started, 2),
    )
    return model, report


def check_training_data(titles: Sequence[str], texts: Sequence[str], labels: Sequence[str]) -> None:
    if not (len(titles) == len(texts) == len(labels)):
        raise TrainingDataError(
            "标题、正文与类别的条数不一致", "titles, texts and labels differ in length"
        )
    if not labels:
        raise TrainingDataError("训练数据为空", "the training data has no rows")
    blank = sum(1 for t, x in zip(titles, texts, strict=True) if not (t.strip() or x.strip()))
    if blank:
        raise TrainingDataError(
            f"有 {blank} 条留言的标题和正文都为空", f"{blank} rows have neither title nor text"
        )
    if any(not label.strip() for label in labels):
        raise TrainingDataError("有留言缺少类别", "some rows have an empty label")
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    if len(counts) < 2:
        only = next(iter(counts))
        raise TrainingDataError(
            f"训练数据只有一个类别（{only}），至少需要两个",
            f"the training data has a single label ({only}); at least two are needed",
        )
    rare = sorted(label for label, n in counts.items() if n < MIN_PER_LABEL)
    if rare:
        names = "、".join(rare)
        raise TrainingDataError(
            f"以下类别的留言少于 {MIN_PER_LABEL} 条：{names}",
            f"these labels have fewer than {MIN_PER_LABEL} rows: {', '.join(rare)}",
        )


# ---------------------------------------------------------------- the model folder


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("scikit-learn", "numpy", "scipy", "jieba", "opencc"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def describe(model: LinearTextModel, report: TrainingReport) -> dict[str, Any]:
    """meta.json for a freshly trained model; the version is its time and content hash."""
    digest = model.digest()
    trained_at = datetime.now(UTC)
    return {
        "format": FORMAT,
        "version": f"{trained_at:%Y%m%dT%H%M%SZ}-{digest[:10]}",
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "sha256": digest,
        "labels": model.labels,
        "threshold": report.threshold,
        "target_precision": report.target_precision,
        "training_size": report.n,
        "out_of_fold": {
            "macro_f1": report.oof_macro_f1,
            "accuracy": report.oof_accuracy,
            "auto_route_coverage": report.oof_auto_route_coverage,
            "auto_route_precision": report.oof_auto_route_precision,
        },
        "features": report.features,
        "train_seconds": report.seconds,
        "libraries": _versions(),
    }


def save(model: LinearTextModel, meta: dict[str, Any], folder: Path) -> None:
    """Write model.npz (uncompressed: loads fastest) and meta.json into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / MODEL_FILE).open("wb") as handle:
        np.savez(handle, allow_pickle=False, **model.arrays())
    text = json.dumps(meta, ensure_ascii=False, indent=2)
    (folder / META_FILE).write_text(text + "\n", "utf-8")


def load(folder: Path) -> tuple[LinearTextModel, dict[str, Any]]:
    """Read a model folder (plain arrays: no code is unpickled)."""
    meta_path, model_path = folder / META_FILE, folder / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise ModelLoadError(f"{folder} is not a model folder (needs {MODEL_FILE}, {META_FILE})")
    meta: dict[str, Any] = json.loads(meta_path.read_text("utf-8"))
    if meta.get("format") != FORMAT:
        raise ModelLoadError(f"{folder}: model format {meta.get('format')}, expected {FORMAT}")
    try:
        with np.load(model_path, allow_pickle=False) as stored:
            model = LinearTextModel.from_arrays({name: stored[name] for name in stored.files})
    except (KeyError, ValueError, OSError) as error:
        raise ModelLoadError(f"{folder}: unreadable {MODEL_FILE}: {error}") from error
    if model.digest() != meta.get("sha256"):
        raise ModelLoadError(f"{folder}: {MODEL_FILE} does not match meta.json (sha256)")
    return model, meta
