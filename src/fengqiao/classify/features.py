"""Character n-gram TF-IDF in numpy, for a whole batch at once.

sklearn's vectorisers build every n-gram as a Python string (~1 µs each, ~2,000 per
message), which caps prediction near 600 messages a second. Here a chunk of texts is one
array of character indices; an n-gram is the integer made of its (up to four) 13-bit
character indices, looked up in a sorted key array. Same numbers as
`TfidfVectorizer(analyzer="char", sublinear_tf=True)` (smooth idf, L2 rows), several times
faster, and the model is plain arrays (no pickle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]
F32 = NDArray[np.float32]
Codes = NDArray[np.uint16]
BITS = 13  # per character index; 4 characters take 52 bits of a uint64 ...
DOC_BITS = 64 - 4 * BITS  # ... leaving 12 for the text's place in its chunk
CHUNK = 1 << DOC_BITS  # texts per chunk
MAX_CHARS = (1 << BITS) - 1  # index 0 means "not in the alphabet" and breaks n-grams
MAX_N = 4
_SEPARATOR = "\x00"  # between texts of a chunk; never in the alphabet


class Alphabet:
    """Characters seen in training, numbered 1.. by frequency; others map to 0."""

    def __init__(self, codepoints: NDArray[np.uint32]) -> None:
        self.codepoints = np.asarray(codepoints, dtype=np.uint32)
        self._index = np.zeros(0x110000, dtype=np.uint16)
        self._index[self.codepoints] = np.arange(1, len(self.codepoints) + 1, dtype=np.uint16)

    @classmethod
    def fit(cls, texts: Sequence[str]) -> Alphabet:
        points = _codepoints(_SEPARATOR.join(texts))
        values, counts = np.unique(points, return_counts=True)
        keep = values != ord(_SEPARATOR)
        values, counts = values[keep], counts[keep]
        order = np.argsort(-counts, kind="stable")[:MAX_CHARS]
        return cls(values[order])

    def encode(self, texts: Sequence[str]) -> tuple[Codes, I64]:
        """Character indices of the texts joined by separators, and each position's text."""
        lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
        joined = _SEPARATOR.join(texts) + _SEPARATOR
        codes = self._index[_codepoints(joined)]
        docs = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        return codes, docs

    def keys_of(self, words: Sequence[str]) -> U64:
        """Keys of whole words (all characters known, 1–4 long); the others are dropped."""
        found: list[int] = []
        for word in words:
            if not 1 <= len(word) <= MAX_N:
                continue
            key = 0
            for ch in word:
                index = int(self._index[ord(ch)])
                if index == 0:
                    break
                key = (key << BITS) | index
            else:
                found.append(key)
        return np.unique(np.array(found, dtype=np.uint64))


def _codepoints(text: str) -> NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def ngrams(codes: Codes, docs: I64, n: int) -> tuple[U64, I64]:
    """Keys and texts of every n-gram of known characters (none spans two texts)."""
    m = len(codes) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    unknown = np.concatenate(([0], np.cumsum(codes == 0)))
    ok = unknown[n : n + m] == unknown[:m]
    key = np.zeros(m, dtype=np.uint64)
    for j in range(n):
        key = (key << np.uint64(BITS)) | codes[j : j + m].astype(np.uint64)
    return key[ok], docs[:m][ok]


def _chunks(texts: Sequence[str]) -> list[Sequence[str]]:
    return [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)] or [texts]


@dataclass
class NgramBlock:
    """One TF-IDF block: n-grams of lengths lo..hi with a sorted key vocabulary."""

    lo: int
    hi: int
    keys: U64  # sorted; keys of longer n-grams are larger, as their first index is >= 1
    idf: F32

    @property
    def size(self) -> int:
        return len(self.keys)

    def _counts(self, codes: Codes, docs: I64, n_docs: int) -> sp.csr_matrix:
        """n-gram counts of one chunk (n_docs <= CHUNK)."""
        doc_mask = np.uint64(CHUNK - 1)
        texts: list[I64] = []
        features: list[I64] = []
        counts: list[I64] = []
        for n in range(self.lo, self.hi + 1):
            key, doc = ngrams(codes, docs, n)
            if not len(key) or not self.size:
                continue
            # Sorting (n-gram, text) pairs groups repeats and makes the lookups below
            # walk the vocabulary in order (3x faster than unsorted searches).
            packed = np.sort((key << np.uint64(DOC_BITS)) | doc.astype(np.uint64))
            starts = np.flatnonzero(np.concatenate(([True], packed[1:] != packed[:-1])))
            repeats = np.diff(np.append(starts, len(packed)))
            packed = packed[starts]
            key = packed >> np.uint64(DOC_BITS)
            at = np.searchsorted(self.keys, key)
            at[at == self.size] = 0
            hit = self.keys[at] == key
            texts.append((packed[hit] & doc_mask).astype(np.int64))
            features.append(at[hit])
            counts.append(repeats[hit])
        if not texts:
            return sp.csr_matrix((n_docs, self.size), dtype=np.float32)
        # Pairs come ordered by feature, so each row's columns come out sorted (canonical
        # CSR, nothing left to sort); building it costs O(pairs + rows), not O(features).
        values = np.concatenate(counts).astype(np.float32)
        coordinates = (np.concatenate(texts), np.concatenate(features))
        return sp.coo_matrix((values, coordinates), shape=(n_docs, self.size)).tocsr()

    def counts(self, texts: Sequence[str], alphabet: Alphabet) -> sp.csr_matrix:
        parts = [self._counts(*alphabet.encode(c), len(c)) for c in _chunks(texts)]
        return parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")

    def transform(self, texts: Sequence[str], alphabet: Alphabet) -> sp.csr_matrix:
        """Sublinear-tf TF-IDF rows, L2-normalised (an empty row stays zero)."""
        matrix = self.counts(texts, alphabet)
        matrix.data = (1.0 + np.log(matrix.data)) * self.idf[matrix.indices]
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        norms = np.sqrt(np.bincount(rows, weights=matrix.data**2, minlength=matrix.shape[0]))
        norms[norms == 0] = 1.0
        matrix.data /= norms[rows].astype(np.float32)
        return matrix

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        alphabet: Alphabet,
        lo: int,
        hi: int,
        min_df: int = 1,
        vocabulary: U64 | None = None,
    ) -> NgramBlock:
        if not 1 <= lo <= hi <= MAX_N:
            raise ValueError(f"n-gram lengths must be within 1..{MAX_N}")
        if vocabulary is None:
            found = [np.zeros(0, dtype=np.uint64)]
            for chunk in _chunks(texts):
                codes, docs = alphabet.encode(chunk)
                found.extend(np.unique(ngrams(codes, docs, n)[0]) for n in range(lo, hi + 1))
            vocabulary = np.unique(np.concatenate(found))
        block = cls(lo, hi, np.sort(vocabulary), np.ones(len(vocabulary), dtype=np.float32))
        df = np.bincount(block.counts(texts, alphabet).indices, minlength=block.size)
        keep = df >= max(min_df, 1)  # n-grams no training text has are dead weight
        block.keys, df = block.keys[keep], df[keep]
        n_docs = len(texts)
        block.idf = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
        return block
