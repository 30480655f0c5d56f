"""Duplicate matters: text similarity of a new message to recent candidates, and duplicate
groups of a data set (so that train/test splits never put a re-post on both sides).

Similarity works on character bigrams of the normalised text with sublinear term weights
(1 + log tf), cosine-compared; it needs no trained model. A re-post usually keeps either the
body (with a new title or a new addressee) or the title (with a re-written body), so the score
of two messages that both have a body is the larger of
  * the cosine of the whole messages, and
  * the mean of the title cosine and the body cosine,
and of messages without a body, the cosine of the whole messages. The caller filters
candidates by place and time (in SQL); this module scores and ranks them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from fengqiao.classify.text import normalise

# Chosen on the duplicate pairs of the training part of the bench split (best F1 there with
# the nearest non-duplicates as negatives); see bench/classify.py.
DEFAULT_DUPLICATE_THRESHOLD = 0.6
NEAR_DUPLICATE_BODY = 0.8  # char-trigram cosine of two bodies that counts as the same body
_EARTH_RADIUS_M = 6_371_008.8


class HasText(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message being reported, before it is a matter."""

    title: str
    text: str
    category: str | None = None
    lon: float | None = None
    lat: float | None = None
    reported_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    """A recent matter near the new message (already filtered by place and time)."""

    id: int
    number: str
    title: str
    text: str
    category: str | None = None
    lon: float | None = None
    lat: float | None = None
    reported_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    candidate: DuplicateCandidate
    score: float
    distance_m: float | None

    def describe(self, lang: str = "zh") -> str:
        number = self.candidate.number
        if lang == "en":
            return f"possible duplicate of #{number} (similarity {self.score:.2f})"
        return f"疑似与 #{number} 重复（相似度 {self.score:.2f}）"


_PART_SHIFT = 42  # a bigram key takes 42 bits; the part (title, body, whole) goes above
_TITLE, _BODY, _WHOLE = 0, 1, 2


def _bigrams(text: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Character bigrams as sorted integer keys with their weights (1 + log tf)."""
    compact = "".join(text.split())
    codes = np.frombuffer(compact.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    # Two code points (each < 2**21) packed into one integer; a single one stands alone.
    grams = (codes[:-1] << 21) | codes[1:] if len(codes) >= 2 else codes
    keys, counts = np.unique(grams, return_counts=True)  # sorted
    return keys, 1.0 + np.log(counts)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The bigram vectors of a message's title, body and whole text in one sorted key array
    (each key tagged with its part), so that one lookup compares all three parts with many
    other messages at once; a few KB each, so that many recent matters' fingerprints can
    stay cached."""

    keys: NDArray[np.int64]
    weights: NDArray[np.float64]
    norms: NDArray[np.float64]  # of the title, the body and the whole
    has_body: bool

    @classmethod
    def of(cls, title: str, text: str) -> Fingerprint:
        t, x = normalise(title), normalise(text)
        parts = [_bigrams(t), _bigrams(x), _bigrams(t + x)]
        keys = np.concatenate([k | (part << _PART_SHIFT) for part, (k, _) in enumerate(parts)])
        weights = np.concatenate([w for _, w in parts])
        norms = np.array([np.sqrt(w @ w) for _, w in parts])
        return cls(keys, weights, norms, bool(x))

    def similarity(self, other: Fingerprint) -> float:
        return float(self.similarities([other])[0])

    def similarities(self, others: Sequence[Fingerprint]) -> NDArray[np.float64]:
        """Similarity in [0, 1] to each of `others`: their keys looked up in this message's
        sorted keys, the products summed per message and part."""
        n = len(others)
        if n == 0:
            return np.zeros(0)
        keys = np.concatenate([o.keys for o in others])
        weights = np.concatenate([o.weights for o in others])
        owner = np.repeat(np.arange(n), [len(o.keys) for o in others])
        at = np.searchsorted(self.keys, keys)
        at[at == len(self.keys)] = 0
        hit = self.keys[at] == keys if len(self.keys) else np.zeros(len(keys), dtype=bool)
        slot = owner[hit] * 3 + (keys[hit] >> _PART_SHIFT)
        products = weights[hit] * self.weights[at[hit]]
        dots = np.bincount(slot, products, minlength=3 * n).reshape(n, 3)
        norms = np.array([o.norms for o in others]) * self.norms
        cosines = np.where(norms > 0, np.minimum(1.0, dots / np.where(norms > 0, norms, 1.0)), 0.0)
        whole = cosines[:, _WHOLE]
        if not self.has_body:
            return whole
        # With a body on both sides, a re-post may keep either the title or the body.
        both = np.array([o.has_body for o in others])
        parts = 0.5 * cosines[:, _TITLE] + 0.5 * cosines[:, _BODY]
        return np.where(both, np.maximum(whole, parts), whole)


@lru_cache(maxsize=2048)
def fingerprint(title: str, text: str) -> Fingerprint:
    """Cached: intake scores each new report against the same recent matters nearby, so
    the fingerprints of those matters are reused from one report to the next."""
    return Fingerprint.of(title, text)


def duplicate_score(a: HasText, b: HasText) -> float:
    """Similarity in [0, 1] of two messages' texts; 1 for the same text."""
    return fingerprint(a.title, a.text).similarity(fingerprint(b.title, b.text))


def _distance_m(a: NewMessage, b: DuplicateCandidate) -> float | None:
    if a.lon is None or a.lat is None or b.lon is None or b.lat is None:
        return None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class DuplicateFinder:
    """Candidates fingerprinted once, for scoring several new messages against them."""

    def __init__(
        self,
        candidates: Iterable[DuplicateCandidate],
        prints: Sequence[Fingerprint] | None = None,
    ) -> None:
        """`prints`, when the caller has them, are the candidates' fingerprints in order
        (their texts are then not needed)."""
        self.candidates = list(candidates)
        self._prints = (
            list(prints)
            if prints is not None
            else [fingerprint(c.title, c.text) for c in self.candidates]
        )

    def scores(self, new: HasText) -> list[float]:
        mine = fingerprint(new.title, new.text)
        return [float(s) for s in mine.similarities(self._prints)]

    def find(
        self,
        new: NewMessage,
        threshold: float = DEFAULT_DUPLICATE_THRESHOLD,
        limit: int = 5,
    ) -> list[DuplicateMatch]:
        """Candidates scoring at least `threshold`, best first; ties go to the nearer, then
        the more recent matter."""
        scored = zip(self.candidates, self.scores(new), strict=True)
        return rank(new, [(c, s) for c, s in scored if s >= threshold], limit)


def rank(
    new: NewMessage, scored: Iterable[tuple[DuplicateCandidate, float]], limit: int
) -> list[DuplicateMatch]:
    """Matches best first; ties go to the nearer, then the more recent matter."""
    matches = [DuplicateMatch(c, round(s, 4), _distance_m(new, c)) for c, s in scored]

    def order(m: DuplicateMatch) -> tuple[float, float, float]:
        when = m.candidate.reported_at
        return (
            -m.score,
            m.distance_m if m.distance_m is not None else math.inf,
            -when.timestamp() if when is not None else math.inf,
        )

    return sorted(matches, key=order)[:limit]


def find_duplicates(
    new: NewMessage,
    candidates: Iterable[DuplicateCandidate],
    threshold: float = DEFAULT_DUPLICATE_THRESHOLD,
    limit: int = 5,
) -> list[DuplicateMatch]:
    return DuplicateFinder(candidates).find(new, threshold, limit)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def duplicate_groups(
    titles: Sequence[str],
    texts: Sequence[str],
    near: float = NEAR_DUPLICATE_BODY,
    *,
    normalised: bool = False,
) -> list[int]:
    """A group number for each message: messages sharing a normalised title, a normalised
    body, or a near-identical body (char-trigram TF-IDF cosine >= `near`) share a group,
    transitively. Group numbers are the smallest member index."""
    from fengqiao.classify.features import Alphabet, NgramBlock

    n = len(titles)
    groups = _UnionFind(n)
    first: dict[tuple[str, str], int] = {}
    bodies: list[tuple[int, str]] = []
    for i, (title, text) in enumerate(zip(titles, texts, strict=True)):
        t, x = (title, text) if normalised else (normalise(title), normalise(text))
        for key in (("t", t), ("x", x)):
            if key[1]:
                groups.union(i, first.setdefault(key, i))
        if len(x) >= 20:  # shorter bodies are too generic to call near-identical
            bodies.append((i, x))
    if len(bodies) > 1:
        texts_only = [x for _, x in bodies]
        alphabet = Alphabet.fit(texts_only)
        matrix = NgramBlock.fit(texts_only, alphabet, 3, 3).transform(texts_only, alphabet)
        index = np.array([i for i, _ in bodies])
        by_column = matrix.T.tocsr()
        # In row chunks: the full similarity matrix of common trigrams is dense-ish.
        for start in range(0, len(bodies), 500):
            block = (matrix[start : start + 500] @ by_column).tocoo()
            keep = (block.data >= near) & (block.row + start < block.col)
            for a, b in zip(block.row[keep] + start, block.col[keep], strict=True):
                groups.union(int(index[a]), int(index[b]))
    roots = [groups.find(i) for i in range(n)]
    smallest: dict[int, int] = {}
    for i, root in enumerate(roots):
        smallest.setdefault(root, i)
    return [smallest[root] for root in roots]
