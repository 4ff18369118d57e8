"""Query analysis: the people and places a query names, and its text without them.

A short query's sentence vector is dominated by the proper names in it: "What do Melanie's
kids like?" lands nearest to every turn that greets Melanie, not to the turn about what her
children enjoy. BM25 keeps the names (a rare name is a strong exact match, weighted by its
IDF); the dense side blends the query's vector with the vector of the same query with its
names masked (`Fusion.name_weight`), so the facts asked about count as much as who they are
about. Names are found the plain way, without a model: capitalised words that do not start
a sentence (months and weekdays stay: they are what a "when" question is about).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from openclaw_infra.core.calendar_words import MONTH_NAMES, WEEKDAY_NAMES

if TYPE_CHECKING:
    import numpy as np

_TOKEN = re.compile(r"\S+")
# a capitalised word with an optional possessive and closing punctuation: "Melanie's", "Porto?"
_NAME = re.compile(r"[A-Z][a-z]+(?:['’]s)?[?!.,;:)\"'’]*")
_SENTENCE_END = re.compile(r"[.?!:][\"'’)]*$")
_TAIL = re.compile(r"(?:['’]s)?[?!.,;:)\"'’]*$")  # what `_NAME` allows after the name itself
_CALENDAR = frozenset((*MONTH_NAMES, *WEEKDAY_NAMES))


def names(text: str) -> list[str]:
    """The capitalised words of `text` that do not start a sentence, as written (bare)."""
    found: list[str] = []
    start = True
    for token in _TOKEN.findall(text):
        if not start and _NAME.fullmatch(token):
            bare = _TAIL.sub("", token)
            if bare.lower() not in _CALENDAR and bare not in found:
                found.append(bare)
        start = bool(_SENTENCE_END.search(token))
    return found


def without_names(text: str) -> str | None:
    """`text` with its names (see `names`) left out; None when it names nobody or would be
    left without words."""
    named = set(names(text))
    if not named:
        return None
    kept: list[str] = []
    start = True
    for token in _TOKEN.findall(text):
        bare = _TAIL.sub("", token)
        if start or bare not in named:
            kept.append(token)
        start = bool(_SENTENCE_END.search(token))
    rest = " ".join(kept)
    return rest if re.search(r"\w", rest) and rest != text.strip() else None


def dense_queries(
    embed: Callable[[list[str]], np.ndarray], texts: Sequence[str], name_weight: float
) -> np.ndarray:
    """One unit vector per query: its own vector blended with `name_weight` of the vector of
    its text without names (queries naming nobody keep their own), embedded in one batch."""
    import numpy as np

    masked = [without_names(t) if name_weight > 0 else None for t in texts]
    vectors = embed([*texts, *(m for m in masked if m is not None)])
    out = np.array(vectors[: len(texts)], dtype=np.float32)
    row = len(texts)
    for k, m in enumerate(masked):
        if m is not None:
            mixed = (1 - name_weight) * out[k] + name_weight * vectors[row]
            out[k] = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
            row += 1
    return out
