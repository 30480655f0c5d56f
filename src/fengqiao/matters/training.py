"""The county's own past matters as training data for the text model: every closed matter
(closed or evaluated) with the category it was closed under as its label, its title and
description as the text (as the CSV training reads a title and a body)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.classify.model import MIN_PER_LABEL, TrainingDataError
from fengqiao.classify.text import taxonomy_words
from fengqiao.core.models import Category
from fengqiao.matters.enums import MatterState
from fengqiao.matters.models import Matter

CLOSED = (MatterState.closed.value, MatterState.evaluated.value)
MIN_ROWS = 50  # fewer closed matters say too little about a county's categories


def training_rows(session: Session, *, limit: int | None = None) -> list[tuple[str, str, str]]:
    """(title, description, label) of the closed matters that have a category, newest
    first (at most `limit`); the label is the category's name, as dispatchers' corrections
    and CSV files label messages."""
    statement = (
        select(Matter.title, Matter.description, Category.name)
        .join(Category, Category.code == Matter.category_code)
        .where(Matter.state.in_(CLOSED))
        .order_by(Matter.closed_at.desc(), Matter.id.desc())
        .limit(limit)
    )
    return [
        (title, description or "", name) for title, description, name in session.execute(statement)
    ]


@dataclass(frozen=True)
class TrainingSet:
    """Messages and labels to train on, the categories' words for the segmenter, and the
    categories left out for having too few closed matters (name → how many)."""

    pairs: list[tuple[str, str]]
    labels: list[str]
    words: list[str]
    left_out: dict[str, int] = field(default_factory=dict)


def training_set(session: Session, *, limit: int | None = None) -> TrainingSet:
    """The closed matters to train on. Categories with fewer than MIN_PER_LABEL of them are
    left out (the model cannot learn them, and would refuse the whole set); raises
    TrainingDataError when too few matters or fewer than two categories remain."""
    rows = training_rows(session, limit=limit)
    if len(rows) < MIN_ROWS:
        raise TrainingDataError(
            f"已结案的事件只有 {len(rows)} 条（带类别），至少需要 {MIN_ROWS} 条才能训练模型",
            f"only {len(rows)} closed matters with a category; training needs at least {MIN_ROWS}",
        )
    counts = Counter(label for _, _, label in rows)
    left_out = {label: n for label, n in sorted(counts.items()) if n < MIN_PER_LABEL}
    kept = [row for row in rows if row[2] not in left_out]
    if len(counts) - len(left_out) < 2:
        raise TrainingDataError(
            f"已结案的事件中，条数不少于 {MIN_PER_LABEL} 条的类别不足两个"
            f"（共 {len(counts)} 个类别），无法训练分类模型",
            f"fewer than two categories have at least {MIN_PER_LABEL} closed matters "
            f"({len(counts)} categories in all); a model cannot be trained",
        )
    names = session.scalars(select(Category.name)).all()
    return TrainingSet(
        [(title, text) for title, text, _ in kept],
        [label for _, _, label in kept],
        taxonomy_words(names),
        left_out,
    )
