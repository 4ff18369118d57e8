"""The grounding check: a synthesis bullet stays only if a source it cites exists and says it.

A citation is `memory/daily/D.md#Ln` or `memory/hourly/D.md#La-Lb`. It *exists* when the
file is there, inside the workspace's memory folder, and the lines are in range; the cited
lines are re-read from disk at check time, so a bullet citing a digest that was since
deleted or shortened is dropped too. A bullet is *supported* when
- every number it states (dates, amounts, counts) appears in the cited text, and
- at least half of its content words appear there (stemmed, stop words ignored), or, for a
  paraphrase, it shares a content word and its embedding is close to the cited text's.
This is a guard against invented or misattributed claims, not a proof: a claim made of the
source's own words in a false combination can pass, which is why the critique pass exists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openclaw_infra.pipeline.daily.inputs import split_links
from openclaw_infra.pipeline.daily.priorities import Embed, content_words

MIN_COVERAGE = 0.5
MIN_SIMILARITY = 0.6
_LINK = re.compile(r"^(memory/(?:daily|hourly)/[\w.-]{1,64}\.md)#L(\d{1,7})(?:-L(\d{1,7}))?$")
_NUMBER = re.compile(r"\d+")

OK = "ok"
NO_CITATION = "no_citation"
MISSING_SOURCE = "missing_source"
NUMBER_NOT_IN_SOURCE = "number_not_in_source"
UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Verdict:
    supported: bool
    reason: str
    coverage: float = 0.0


def _numbers(text: str) -> set[int]:
    return {int(n) for n in _NUMBER.findall(text)}


class Grounder:
    """Checks bullets against the files under `workspace` (read once per check run)."""

    def __init__(
        self,
        workspace: Path,
        embed: Embed | None = None,
        *,
        min_coverage: float = MIN_COVERAGE,
        min_similarity: float = MIN_SIMILARITY,
    ) -> None:
        self.workspace = workspace
        self.memory = (workspace / "memory").resolve()
        self.embed = embed
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity
        self._files: dict[str, list[str] | None] = {}

    def _lines(self, rel: str) -> list[str] | None:
        if rel not in self._files:
            path = Path(os.path.realpath(self.workspace / rel))  # a link loop must not raise
            lines: list[str] | None = None
            if path.is_relative_to(self.memory) and path.is_file():
                try:
                    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    lines = None
            self._files[rel] = lines
        return self._files[rel]

    def source_text(self, link: str) -> str | None:
        """The cited lines without their own links, or None when they do not exist."""
        match = _LINK.match(link)
        if not match:
            return None
        lines = self._lines(match.group(1))
        first = int(match.group(2))
        last = int(match.group(3) or first)
        if lines is None or not 1 <= first <= last <= len(lines):
            return None
        return " ".join(split_links(line)[0] for line in lines[first - 1 : last])

    def check(self, claim: str, links: Sequence[str]) -> Verdict:
        if not links:
            return Verdict(False, NO_CITATION)
        texts = [t for t in (self.source_text(link) for link in links) if t]
        if not texts:
            return Verdict(False, MISSING_SOURCE)
        source = " ".join(texts)
        if not _numbers(claim) <= _numbers(source):
            return Verdict(False, NUMBER_NOT_IN_SOURCE)
        words = content_words(claim)
        if not words:
            return Verdict(False, UNSUPPORTED)
        coverage = len(words & content_words(source)) / len(words)
        if coverage >= self.min_coverage:
            return Verdict(True, OK, coverage)
        if coverage > 0 and self.embed is not None:
            claim_row, source_row = self.embed([claim, source])
            if float(claim_row @ source_row) >= self.min_similarity:
                return Verdict(True, OK, coverage)
        return Verdict(False, UNSUPPORTED, coverage)
