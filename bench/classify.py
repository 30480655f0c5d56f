"""Message classification and duplicate detection on 9,210 real citizen messages.

Data: shared/data/complaints/tipdm2020c.csv beside the work tree (2020 泰迪杯 C, seven
first-level labels; see the README there). The run:

1. Splits the messages with `split_by_groups` (fixed seed): exact repeats dropped, then
   duplicate groups (shared title, shared body, near-identical body) kept on one side;
   20 % of each label's groups are held out.
2. Trains, on the training part only, the baseline (character 1–2-gram TF-IDF + LinearSVC,
   sklearn defaults) and our model (threshold for self-routing chosen on out-of-fold
   predictions of the training part), and scores both on the held-out part.
3. Times training, batch prediction (one thread, BLAS limited to one), and, in a fresh
   subprocess, model loading and the process's RSS before and after loading.
4. Duplicate detection. Re-post pairs are messages that share a normalised title but not the
   body, or a body but not the title (both with a body): one field was kept, the other
   changed. Exact repeats (both equal) are scored separately, as they are trivial. Each pair
   (a, b) is one query: a against a pool of b plus 30 other messages of the same label
   outside a's duplicate group, either the 30 most similar by our own score ("hard") or 30
   at random ("random"). Precision = flagged true re-posts / all flagged, recall = flagged
   true re-posts / pairs, at the default threshold (chosen on training-part pairs).
   Unlabelled re-posts exist among the hard negatives (same complaint, both fields
   rewritten), so hard precision is a lower bound. Figures are for the held-out part, with
   all pairs alongside.

    uv run python bench/classify.py [--seed 0] [--test-share 0.2] [--data PATH]

Prints a table and one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from fengqiao.classify.duplicates import (
    DEFAULT_DUPLICATE_THRESHOLD,
    DuplicateCandidate,
    DuplicateFinder,
    NewMessage,
    duplicate_groups,
    duplicate_score,
)
from fengqiao.classify.service import (
    evaluate_pairs,
    split_by_groups,
    taxonomy_words_from_csv,
    train,
)
from fengqiao.classify.text import normalise

# shared/ sits beside the work tree (as in CI)
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "complaints" / "tipdm2020c.csv"
TARGET_MACRO_F1 = 0.92
TARGET_PRECISION = 0.97
TARGET_COVERAGE = 0.80
TARGET_TRAIN_S = 120.0
TARGET_PREDICT_PER_S = 2000.0
TARGET_LOAD_S = 2.0
NEGATIVES = 30

Row = dict[str, str]

LOAD_PROBE = """
import json, sys, time
from pathlib import Path
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
started = time.perf_counter()
from fengqiao.classify.service import load_model
imported = time.perf_counter()
before = rss()
model = load_model(Path(sys.argv[1]))
loaded = time.perf_counter()
model.suggest("小区垃圾无人清运", "垃圾堆了一个星期没人清理")
print(json.dumps({"import_s": imported - started, "load_s": loaded - imported,
                  "rss_before_mb": before, "rss_after_mb": rss()}))
"""


def baseline(train_rows: list[Row], test_rows: list[Row]) -> dict[str, Any]:
    """Character 1–2-gram TF-IDF + LinearSVC on raw title + body, sklearn defaults."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.svm import LinearSVC

    def joined(rows: list[Row]) -> list[str]:
        return [f"{r['title']} {r['text']}" for r in rows]

    started = time.perf_counter()
    vectoriser = TfidfVectorizer(analyzer="char", ngram_range=(1, 2))
    svm = LinearSVC().fit(vectoriser.fit_transform(joined(train_rows)), _labels(train_rows))
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    with threadpool_limits(1):
        scores = svm.decision_function(vectoriser.transform(joined(test_rows)))
    predict_s = time.perf_counter() - started
    truth = _labels(test_rows)
    predicted = svm.classes_[scores.argmax(axis=1)]
    top3 = svm.classes_[np.argsort(-scores, axis=1)[:, :3]]
    return {
        "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "top3_accuracy": round(
            float(np.mean([t in row for t, row in zip(truth, top3, strict=True)])), 4
        ),
        "train_s": round(train_s, 2),
        "predict_per_s": round(len(test_rows) / predict_s, 1),
    }


def _labels(rows: list[Row]) -> list[str]:
    return [r["label"] for r in rows]


def _pairs(rows: list[Row]) -> list[tuple[str, str]]:
    return [(r["title"], r["text"]) for r in rows]


def load_probe(folder: Path) -> dict[str, float]:
    """Load time and RSS, measured in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", LOAD_PROBE, str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    probe: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return {k: round(v, 3) for k, v in probe.items()}


def server_rss_mb(model_folder: Path | None) -> float:
    """RSS of a running `fengqiao serve` (SQLite, no background work), with the model
    loaded when a folder is given; measured once it answers /api/health."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "FENGQIAO_DATA_DIR": data,
            "FENGQIAO_DATABASE_URL": "",
            "FENGQIAO_BACKGROUND": "off",
            "FENGQIAO_ACCESS_LOG": "false",
            "FENGQIAO_CLASSIFIER_DIR": str(model_folder or Path(data) / "none"),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "fengqiao.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(600):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                sys.exit("the server did not start")
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
            return float("nan")
        finally:
            server.terminate()
            server.wait(timeout=30)


def repost_pairs(rows: list[Row]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(partial re-post pairs, exact repeat pairs) of row indices, a < b."""
    titles = [normalise(r["title"]) for r in rows]
    bodies = [normalise(r["text"]) for r in rows]
    by_title: dict[str, list[int]] = defaultdict(list)
    by_body: dict[str, list[int]] = defaultdict(list)
    for i, (t, x) in enumerate(zip(titles, bodies, strict=True)):
        by_title[t].append(i)
        if x:
            by_body[x].append(i)
    partial: set[tuple[int, int]] = set()
    exact: set[tuple[int, int]] = set()
    for members in [*by_title.values(), *by_body.values()]:
        for j, a in enumerate(members):
            for b in members[j + 1 :]:
                if not (bodies[a] and bodies[b]):
                    continue
                same = titles[a] == titles[b] and bodies[a] == bodies[b]
                (exact if same else partial).add((a, b))
    return sorted(partial), sorted(exact)


def _message(row: Row) -> NewMessage:
    return NewMessage(row["title"], row["text"])


def duplicate_eval(
    rows: list[Row],
    pairs: list[tuple[int, int]],
    groups: list[int],
    threshold: float,
    seed: int,
) -> dict[str, dict[str, float]]:
    """Precision/recall with hard and random negatives, and how often the true re-post is
    the best-scoring candidate of the whole same-label pool."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r["text"]:
            by_label[r["label"]].append(i)
    finders = {
        label: DuplicateFinder(
            DuplicateCandidate(i, str(i), rows[i]["title"], rows[i]["text"]) for i in members
        )
        for label, members in by_label.items()
    }
    shuffler = random.Random(seed)
    tally = {k: {"tp": 0, "fp": 0, "fn": 0} for k in ("hard", "random")}
    best_first = 0
    for a, b in pairs:
        label = rows[a]["label"]
        finder = finders[label]
        scores = np.array(finder.scores(_message(rows[a])))
        pool = np.array(by_label[label])
        outside = np.array([groups[i] != groups[a] for i in pool])
        # b may carry another label than a (label noise): score it directly.
        b_score = duplicate_score(_message(rows[a]), _message(rows[b]))
        best_first += int(b_score >= scores[outside].max(initial=0.0))
        hard = np.sort(scores[outside])[::-1][:NEGATIVES]
        outside_scores = scores[outside].tolist()
        easy = np.array(shuffler.sample(outside_scores, min(NEGATIVES, len(outside_scores))))
        for name, negatives in (("hard", hard), ("random", easy)):
            hit = b_score >= threshold
            tally[name]["tp"] += int(hit)
            tally[name]["fn"] += int(not hit)
            tally[name]["fp"] += int((negatives >= threshold).sum())
    result: dict[str, dict[str, float]] = {}
    for name, t in tally.items():
        flagged = t["tp"] + t["fp"]
        result[name] = {
            "precision": round(t["tp"] / flagged, 4) if flagged else 1.0,
            "recall": round(t["tp"] / len(pairs), 4) if pairs else 0.0,
        }
    result["top1"] = {"rate": round(best_first / len(pairs), 4) if pairs else 0.0}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-share", type=float, default=0.2)
    args = parser.parse_args()
    console = Console(width=110)
    with args.data.open(encoding="utf-8", newline="") as handle:
        rows: list[Row] = list(csv.DictReader(handle))
    taxonomy = args.data.with_name("tipdm2020c_label_taxonomy.csv")
    extra_words = taxonomy_words_from_csv(taxonomy) if taxonomy.is_file() else []

    started = time.perf_counter()
    train_index, test_index = split_by_groups(rows, args.test_share, args.seed)
    split_s = time.perf_counter() - started
    train_rows = [rows[i] for i in train_index]
    test_rows = [rows[i] for i in test_index]
    console.print(
        f"{len(rows):,} messages → {len(train_rows):,} train / {len(test_rows):,} held out "
        f"(grouped split in {split_s:.1f} s, seed {args.seed})"
    )

    base = baseline(train_rows, test_rows)
    started = time.perf_counter()
    model = train(
        _pairs(train_rows),
        _labels(train_rows),
        target_precision=TARGET_PRECISION,
        extra_words=extra_words,
    )
    train_s = time.perf_counter() - started
    with threadpool_limits(1):  # prediction on one core
        evaluate_pairs(model, _pairs(test_rows[:200]), _labels(test_rows[:200]))  # warm up
        ours = evaluate_pairs(model, _pairs(test_rows), _labels(test_rows))
        started = time.perf_counter()
        for title, text in _pairs(test_rows[:300]):
            model.suggest(title, text)
        single_ms = (time.perf_counter() - started) / 300 * 1000
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder))
        model_mb = (Path(folder) / "model.npz").stat().st_size / 2**20
        probe = load_probe(Path(folder))
        probe["server_rss_mb"] = server_rss_mb(Path(folder))
        probe["server_rss_without_model_mb"] = server_rss_mb(None)

    groups = duplicate_groups([r["title"] for r in rows], [r["text"] for r in rows])
    held_out_groups = {groups[i] for i in test_index}
    partial, exact = repost_pairs(rows)
    held_partial = [p for p in partial if groups[p[0]] in held_out_groups]
    dup_held = duplicate_eval(rows, held_partial, groups, DEFAULT_DUPLICATE_THRESHOLD, args.seed)
    dup_all = duplicate_eval(rows, partial, groups, DEFAULT_DUPLICATE_THRESHOLD, args.seed)
    finder_exact = sum(
        1
        for a, b in exact
        if DuplicateFinder([DuplicateCandidate(b, str(b), rows[b]["title"], rows[b]["text"])]).find(
            NewMessage(rows[a]["title"], rows[a]["text"])
        )
    )

    oof = model.meta["out_of_fold"]
    met = {
        "macro_f1": ours["macro_f1"] >= TARGET_MACRO_F1,
        "self_routing": ours["auto_route_precision"] >= TARGET_PRECISION
        and ours["auto_route_coverage"] >= TARGET_COVERAGE,
        "train_time": train_s < TARGET_TRAIN_S,
        "predict_rate": ours["predict_per_s"] >= TARGET_PREDICT_PER_S,
        "load_time": probe["load_s"] < TARGET_LOAD_S,
    }
    table = Table(title="Held-out messages (de-duplicated groups)")
    table.add_column("figure")
    table.add_column("baseline: char TF-IDF + LinearSVC", justify="right")
    table.add_column("ours", justify="right")
    table.add_column("target", justify="right")
    table.add_row("macro-F1", f"{base['macro_f1']:.4f}", f"{ours['macro_f1']:.4f}", "≥ 0.92")
    table.add_row("accuracy", f"{base['accuracy']:.4f}", f"{ours['accuracy']:.4f}", "")
    table.add_row(
        "top-3 accuracy", f"{base['top3_accuracy']:.4f}", f"{ours['top3_accuracy']:.4f}", ""
    )
    table.add_row(
        "self-routing precision",
        "—",
        f"{ours['auto_route_precision']:.4f}",
        f"≥ {TARGET_PRECISION}",
    )
    table.add_row(
        "self-routing coverage", "—", f"{ours['auto_route_coverage']:.4f}", f"≥ {TARGET_COVERAGE}"
    )
    table.add_row("threshold (from training data)", "—", f"{model.threshold:.4f}", "")
    table.add_row(
        "out-of-fold (training) F1 / precision / coverage",
        "—",
        f"{oof['macro_f1']:.3f} / {oof['auto_route_precision']:.3f} / "
        f"{oof['auto_route_coverage']:.3f}",
        "",
    )
    table.add_row("train seconds", f"{base['train_s']:.1f}", f"{train_s:.1f}", "< 120")
    table.add_row(
        "predict messages/s (batch, 1 core)",
        f"{base['predict_per_s']:,.0f}",
        f"{ours['predict_per_s']:,.0f}",
        "≥ 2,000",
    )
    table.add_row("suggest() one message, ms", "—", f"{single_ms:.2f}", "")
    table.add_row("load seconds (fresh process)", "—", f"{probe['load_s']:.3f}", "< 2")
    table.add_row(
        "RSS before → after load, MB",
        "—",
        f"{probe['rss_before_mb']:.0f} → {probe['rss_after_mb']:.0f}",
        "",
    )
    table.add_row(
        "server RSS without → with the model, MB",
        "—",
        f"{probe['server_rss_without_model_mb']:.0f} → {probe['server_rss_mb']:.0f}",
        "",
    )
    table.add_row("model file, MB", "—", f"{model_mb:.1f}", "")
    console.print(table)

    dup = Table(title=f"Duplicate detection (threshold {DEFAULT_DUPLICATE_THRESHOLD})")
    dup.add_column("re-post pairs")
    dup.add_column("n", justify="right")
    dup.add_column("precision (hard negatives)", justify="right")
    dup.add_column("precision (random negatives)", justify="right")
    dup.add_column("recall", justify="right")
    dup.add_column("best of pool", justify="right")
    for name, figures, n in (("held out", dup_held, held_partial), ("all", dup_all, partial)):
        dup.add_row(
            name,
            str(len(n)),
            f"{figures['hard']['precision']:.3f}",
            f"{figures['random']['precision']:.3f}",
            f"{figures['hard']['recall']:.3f}",
            f"{figures['top1']['rate']:.3f}",
        )
    dup.add_row(
        "exact repeats (all)", str(len(exact)), "", "", f"{finder_exact / len(exact):.3f}", ""
    )
    console.print(dup)

    result = {
        "data_rows": len(rows),
        "train_rows": len(train_rows),
        "test_rows": len(test_rows),
        "seed": args.seed,
        "baseline": base,
        "ours": {
            **ours,
            "train_s": round(train_s, 2),
            "suggest_one_ms": round(single_ms, 3),
            "model_mb": round(model_mb, 1),
            "version": model.version,
            "out_of_fold": oof,
            **probe,
        },
        "duplicates": {
            "threshold": DEFAULT_DUPLICATE_THRESHOLD,
            "held_out": {"pairs": len(held_partial), **dup_held},
            "all": {"pairs": len(partial), **dup_all},
            "exact_repeats": {"pairs": len(exact), "recall": round(finder_exact / len(exact), 4)},
        },
        "targets": {
            "macro_f1": TARGET_MACRO_F1,
            "precision": TARGET_PRECISION,
            "coverage": TARGET_COVERAGE,
            "train_s": TARGET_TRAIN_S,
            "predict_per_s": TARGET_PREDICT_PER_S,
            "load_s": TARGET_LOAD_S,
        },
        "met": met,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
