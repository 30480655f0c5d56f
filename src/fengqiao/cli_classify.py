"""`fengqiao classify`: train the text model from a CSV or the county's own past matters,
and evaluate it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fengqiao.cli_common import console, open_session
from fengqiao.core.config import get_settings

classify_app = typer.Typer(help="Text model 事件智能分类", no_args_is_help=True)


CsvOption = Annotated[Path, typer.Option("--csv", help="UTF-8 CSV with a header row")]
TextOption = Annotated[
    str, typer.Option("--text", help="text columns, the title first: title,text")
]
LabelOption = Annotated[str, typer.Option("--label", help="the label column")]


def _train_and_save(
    pairs: list[tuple[str, str]],
    labels: list[str],
    out: Path,
    target_precision: float,
    taxonomy: Path | None,
    words: list[str] | None = None,
) -> None:
    """Train, save and say so; `words` (the categories' names) go to the segmenter with
    the taxonomy's."""
    from fengqiao.classify import service as classify
    from fengqiao.classify.model import TrainingDataError

    started = time.perf_counter()
    try:
        extra = classify.taxonomy_words_from_csv(taxonomy) if taxonomy else []
        extra = sorted({*extra, *(words or [])})
        model = classify.train(pairs, labels, target_precision=target_precision, extra_words=extra)
    except (TrainingDataError, OSError) as exc:
        console.print(f"[red]错误 error:[/red] {exc}")
        raise typer.Exit(2) from None
    model.save(out)
    console.print(
        f"模型 model {model.version}: {len(pairs)} messages, {len(model.labels)} labels, "
        f"self-routing threshold {model.threshold:.3f} for precision {target_precision}, "
        f"trained in {time.perf_counter() - started:.1f} s → {out}"
    )


def _read(csv_path: Path, text: str, label: str) -> tuple[list[tuple[str, str]], list[str]]:
    from fengqiao.classify import service as classify
    from fengqiao.classify.model import TrainingDataError

    try:
        return classify.read_labelled_csv(csv_path, [c.strip() for c in text.split(",")], label)
    except (TrainingDataError, OSError) as exc:
        console.print(f"[red]错误 error:[/red] {exc}")
        raise typer.Exit(2) from None


@classify_app.command("train")
def classify_train(
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="UTF-8 CSV with a header row")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="the model folder to write (with --from-db, by default the server's: "
            "FENGQIAO_CLASSIFIER_DIR, else data_dir/classifier)",
        ),
    ] = None,
    text: TextOption = "title,text",
    label: LabelOption = "label",
    target_precision: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.97,
    taxonomy: Annotated[Path | None, typer.Option(help="category names CSV (segmenter)")] = None,
    from_db: Annotated[
        bool,
        typer.Option(
            "--from-db", help="train on the closed matters in the database, not on a CSV file"
        ),
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, help="with --from-db: the newest this many at most")
    ] = None,
) -> None:
    """Train a text model from past matters; the server loads it from FENGQIAO_CLASSIFIER_DIR."""
    if (csv_path is None) != from_db:
        console.print(
            "[red]错误 error:[/red] 给出 --csv 文件或 --from-db（二者选一） / "
            "give a --csv file or --from-db (one of them)"
        )
        raise typer.Exit(2)
    if from_db:
        _train_from_db(out, target_precision, taxonomy, limit)
        return
    if out is None:
        console.print(
            "[red]错误 error:[/red] 请用 --out 指定模型目录 / give the model folder: --out"
        )
        raise typer.Exit(2)
    assert csv_path is not None
    pairs, labels = _read(csv_path, text, label)
    _train_and_save(pairs, labels, out, target_precision, taxonomy)


def _train_from_db(
    out: Path | None, target_precision: float, taxonomy: Path | None, limit: int | None
) -> None:
    """`classify train --from-db`: the closed matters, each labelled with its category."""
    from fengqiao.classify.model import TrainingDataError
    from fengqiao.matters.training import training_set

    settings = get_settings()
    folder = out or settings.classifier_dir or settings.data_dir / "classifier"
    with open_session(settings) as session:
        try:
            data = training_set(session, limit=limit)
        except TrainingDataError as exc:
            console.print(f"[red]错误 error:[/red] {exc}")
            raise typer.Exit(2) from None
    console.print(f"{len(data.pairs)} closed matters 条已结案事件 from the database")
    if data.left_out:
        few = ", ".join(f"{name} ({n})" for name, n in data.left_out.items())
        console.print(f"left out, too few matters 条数过少未参与训练的类别: {few}")
    _train_and_save(data.pairs, data.labels, folder, target_precision, taxonomy, data.words)
    console.print("the server loads it when it starts 服务重启后生效")


@classify_app.command("retrain")
def classify_retrain(
    csv_path: CsvOption,
    out: Annotated[Path, typer.Option("--out", help="the model folder to write")],
    text: TextOption = "title,text",
    label: LabelOption = "label",
    target_precision: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.97,
    taxonomy: Annotated[Path | None, typer.Option(help="category names CSV (segmenter)")] = None,
) -> None:
    """Train again on the CSV plus every dispatcher's correction kept in the database."""
    from fengqiao.classify.flows import corrections

    pairs, labels = _read(csv_path, text, label)
    with open_session(get_settings()) as session:
        kept = corrections(session)
    pairs += [(title, body) for title, body, _ in kept]
    labels += [name for _, _, name in kept]
    console.print(f"{len(kept)} corrections by dispatchers added to {csv_path}")
    _train_and_save(pairs, labels, out, target_precision, taxonomy)


@classify_app.command("evaluate")
def classify_evaluate(
    model_dir: Annotated[Path, typer.Option("--model", help="a model folder")],
    csv_path: CsvOption,
    text: TextOption = "title,text",
    label: LabelOption = "label",
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Scores of a model on labelled messages it was not trained on."""
    from fengqiao.classify import service as classify
    from fengqiao.classify.model import ModelLoadError

    try:
        model = classify.load_model(model_dir)
    except (ModelLoadError, OSError) as exc:
        console.print(f"[red]错误 error:[/red] {exc}")
        raise typer.Exit(2) from None
    pairs, labels = _read(csv_path, text, label)
    scores = classify.evaluate_pairs(model, pairs, labels) | {"model": model.version}
    if as_json:
        print(json.dumps(scores, ensure_ascii=False))
        return
    table = Table("figure 指标", "value 值")
    for key, value in scores.items():
        table.add_row(key, str(value))
    console.print(table)
