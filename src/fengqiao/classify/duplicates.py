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
import threading
from collections import OrderedDict
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


@dataclass(frozen=True, slots=True)
class _Vector:
    """Character bigrams as sorted integer keys with their weights: a few KB per message, so
    that many recent matters' fingerprints can stay cached."""

    keys: NDArray[np.int64]
    weights: NDArray[np.float64]
    norm: float

    @classmethod
    def of(cls, text: str) -> _Vector:
        compact = "".join(text.split())
        codes = np.frombuffer(compact.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        # Two code points (each < 2**21) packed into one integer; a single one stands alone.
        grams = (codes[:-1] << 21) | codes[1:] if len(codes) >= 2 else codes
        keys, counts = np.unique(grams, return_counts=True)  # sorted
        weights = 1.0 + np.log(counts)
        return cls(keys, weights, float(np.sqrt(weights @ weights)))

    def cosines(self, others: Sequence[_Vector]) -> NDArray[np.float64]:
        """Cosine to each of `others` at once: their keys looked up in this vector's sorted
        keys, the products summed per vector."""
        n = len(others)
        if not self.norm or n == 0:
            return np.zeros(n)
        keys = np.concatenate([o.keys for o in others])
        weights = np.concatenate([o.weights for o in others])
        owner = np.repeat(np.arange(n), [len(o.keys) for o in others])
        at = np.searchsorted(self.keys, keys)
        at[at == len(self.keys)] = 0
        hit = self.keys[at] == keys
        dots = np.bincount(owner[hit], weights[hit] * self.weights[at[hit]], minlength=n)
        norms = np.array([o.norm for o in others]) * self.norm
        safe = np.where(norms > 0, norms, 1.0)
        return np.where(norms > 0, np.minimum(1.0, dots / safe), 0.0)

    def cosine(self, other: _Vector) -> float:
        if not self.norm or not other.norm:
            return 0.0
        _, mine, theirs = np.intersect1d(
            self.keys, other.keys, assume_unique=True, return_indices=True
        )
        dot = float(self.weights[mine] @ other.weights[theirs])
        return min(1.0, dot / (self.norm * other.norm))


@dataclass(frozen=True, slots=True)
class Fingerprint:
    title: _Vector
    body: _Vector | None
    whole: _Vector

    @classmethod
    def of(cls, title: str, text: str) -> Fingerprint:
        t, x = normalise(title), normalise(text)
        return cls(_Vector.of(t), _Vector.of(x) if x else None, _Vector.of(t + x))

    def similarity(self, other: Fingerprint) -> float:
        whole = self.whole.cosine(other.whole)
        if self.body is None or other.body is None:
            return whole
        parts = 0.5 * self.title.cosine(other.title) + 0.5 * self.body.cosine(other.body)
        return max(whole, parts)

    def similarities(self, others: Sequence[Fingerprint]) -> NDArray[np.float64]:
        """`similarity` to each of `others`, computed together (one pass of array work
        instead of three per candidate)."""
        whole = self.whole.cosines([o.whole for o in others])
        if self.body is None:
            return whole
        with_body = [i for i, o in enumerate(others) if o.body is not None]
        if not with_body:
            return whole
        chosen = [others[i] for i in with_body]
        titles = self.title.cosines([o.title for o in chosen])
        bodies = self.body.cosines([o.body for o in chosen if o.body is not None])
        result = whole.copy()
        result[with_body] = np.maximum(whole[with_body], 0.5 * titles + 0.5 * bodies)
        return result


@lru_cache(maxsize=2048)
def fingerprint(title: str, text: str) -> Fingerprint:
    """Cached: intake scores each new report against the same recent matters nearby, so
    the fingerprints of those matters are reused from one report to the next."""
    return Fingerprint.of(title, text)


class MatterPrints:
    """Fingerprints of recent matters by id, so that intake reads only the ids of the
    candidates nearby and fetches the text of those it has not seen (least recently used
    dropped first; shared by the threads of a process)."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._prints: OrderedDict[int, Fingerprint] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, matter_id: int) -> Fingerprint | None:
        with self._lock:
            found = self._prints.get(matter_id)
            if found is not None:
                self._prints.move_to_end(matter_id)
            return found

    def clear(self) -> None:
        """Forget every matter (after matters were deleted and their ids may be reused)."""
        with self._lock:
            self._prints.clear()

    def put(self, matter_id: int, title: str, text: str) -> Fingerprint:
        found = fingerprint(title, text)
        with self._lock:
            self._prints[matter_id] = found
            self._prints.move_to_end(matter_id)
            while len(self._prints) > self.size:
                self._prints.popitem(last=False)
        return found


MATTER_PRINTS = MatterPrints()


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
        matches = [
            DuplicateMatch(candidate, round(score, 4), _distance_m(new, candidate))
            for candidate, score in zip(self.candidates, self.scores(new), strict=True)
            if score >= threshold
        ]

        def rank(m: DuplicateMatch) -> tuple[float, float, float]:
            when = m.candidate.reported_at
            return (
                -m.score,
                m.distance_m if m.distance_m is not None else math.inf,
                -when.timestamp() if when is not None else math.inf,
            )

        return sorted(matches, key=rank)[:limit]


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
