"""Spaces back into OCR lines that lost them: "thecommitteereviewed" → "the committee reviewed".

RapidOCR's recogniser, trained mostly on Chinese, often drops the spaces of English set in small
or tight type (a scanned page of 9-point text came back as "Line1:thecommitteerevieweditem1of...",
every line one word): useless to the keyword index and poor for meaning. A run of letters that is
no word is split into its likeliest words by their frequency in English (the unigram counts of
the Google web corpus that the ``wordsegment`` package ships), by Viterbi over the run. The split
is kept only when every piece is a known word of two letters or more (or "a", "I"): a German
compound or a name is left whole. Capitals and punctuation stay where they were.
"""

from __future__ import annotations

import math
import re
import threading
from functools import lru_cache
from importlib.resources import files

MIN_RUN = 8  # letters in a run before it is looked at ("segmentation" is a word and is kept whole)
VOCABULARY = 150_000  # most frequent words kept (of 333,333)
MAX_WORD = 24
_RUN = re.compile(rf"[A-Za-z]{{{MIN_RUN},}}")
_PARTS = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")
_SHORT_WORDS = frozenset({"a", "i"})
_lock = threading.Lock()


def respace(line: str) -> str:
    """``line`` with each run-together token split into words where that reads as English."""
    if not _RUN.search(line):
        return line
    return " ".join(_token(token) for token in line.split(" "))


def _token(token: str) -> str:
    if not _RUN.search(token) or any(mark in token for mark in ("/", "@", "\\")):  # a URL, an address, a path
        return token
    out: list[str] = []
    split = False
    for part in _PARTS.findall(token):
        words = _words(part) if part.isalpha() and len(part) >= MIN_RUN else None
        if words is not None:
            split = True
            out += words
        elif out and not part[0].isalnum():
            out[-1] += part  # punctuation stays on the word before it: "spring."
        else:
            out.append(part)
    return " ".join(out) if split else token


def _words(run: str) -> list[str] | None:
    """``run`` cut into known words (original capitals kept), or ``None`` if it is one or does not cut cleanly."""
    counts, total = _vocabulary()
    low = run.lower()
    if low in counts:
        return None
    n = len(low)
    best = [0.0] + [math.inf] * n  # cost of the best cut of low[:i]
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(max(0, end - MAX_WORD), end):
            count = counts.get(low[start:end])
            if count is None or best[start] == math.inf:
                continue
            cost = best[start] + math.log(total / count)
            if cost < best[end]:
                best[end], back[end] = cost, start
    if best[n] == math.inf:
        return None
    cuts, end = [], n
    while end > 0:
        cuts.append((back[end], end))
        end = back[end]
    words = [run[a:b] for a, b in reversed(cuts)]
    if len(words) < 2 or any(len(w) < 2 and w.lower() not in _SHORT_WORDS for w in words):
        return None
    return words


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, int], int]:
    counts: dict[str, int] = {}
    with files("wordsegment").joinpath("unigrams.txt").open(encoding="utf-8") as fp:
        for i, line in enumerate(fp):
            if i >= VOCABULARY:
                break
            word, _, count = line.partition("\t")
            counts[word] = int(count)
    return counts, sum(counts.values())


def _vocabulary() -> tuple[dict[str, int], int]:
    with _lock:  # OCR runs in several threads while indexing; the list is read once
        return _load()
