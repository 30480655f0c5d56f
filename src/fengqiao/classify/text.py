"""Text normalisation and word discovery for citizen messages.

Every message goes through `normalise` before any feature is made, at training and at
prediction alike: NFKC (full-width letters, digits and punctuation to half-width),
traditional → simplified characters, lower case, whitespace runs to one space. Masked place
tokens of the data ("A市", "A3区") are kept: they carry a little signal and cost nothing.

Word segmentation (jieba) is slow (~2 ms a message), so it runs only at training time, to
learn a vocabulary of 2–4 character words; prediction then counts those words as substrings,
which keeps prediction at well over 2,000 messages a second.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import opencc

_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD_SPLIT = re.compile(r"[、/／,，;；()（）\s]+|和|及|与")
MIN_WORD, MAX_WORD = 2, 4


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(value: str) -> str:
    """The canonical form of a piece of message text (idempotent)."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKC", value)
    text = _to_simplified().convert(text)
    return _SPACES.sub(" ", text).strip().lower()


def message(title: str, text: str) -> str:
    """Title and body of a normalised message as one string."""
    return f"{title} {text}".strip()


def taxonomy_words(names: Iterable[str]) -> list[str]:
    """Category names ("城市建设和市政管理", "供水/供电") split into words for the segmenter."""
    words: set[str] = set()
    for name in names:
        for part in _WORD_SPLIT.split(normalise(name)):
            if len(part) >= MIN_WORD and _CJK.search(part):
                words.add(part)
    return sorted(words)


def learn_words(
    texts: Iterable[str], extra_words: Iterable[str] = (), min_df: int = 2
) -> list[str]:
    """Chinese words of 2–4 characters that jieba finds in at least `min_df` texts.

    Uses a private jieba tokenizer so that `extra_words` do not leak into jieba's global
    dictionary (other code in the process may use it).
    """
    with warnings.catch_warnings():  # jieba's regexes trip invalid-escape warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    for word in extra_words:
        tokenizer.add_word(word)
    document_frequency: Counter[str] = Counter()
    for text in texts:
        # HMM off: the vocabulary only needs dictionary words, and it is 2.5x faster.
        words = {w for w in tokenizer.lcut(text, HMM=False) if MIN_WORD <= len(w) <= MAX_WORD}
        document_frequency.update(w for w in words if _CJK.search(w))
    return sorted(w for w, n in document_frequency.items() if n >= min_df)
