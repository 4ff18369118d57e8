"""Summary bullets: parsed from model output, rendered with their provenance links.

A bullet is one line of text plus the refs of the input passages it came from. Model output
is untrusted in its shape: refs that name no input are discarded (a bullet citing nothing
real is dropped and counted, never kept with invented provenance), and the text is made
inert for Markdown so that only our own citation brackets remain brackets: one line, no
heading or code fence at its start. Citations pass through `core.mdsafe.identifier`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from openclaw_infra.core.mdsafe import identifier, markdown_text

# `[3]`, `[3, 7]`, `[3; 7]`: bounded repetitions of unambiguous pieces (no nested
# quantifiers that overlap), so matching stays linear on any input
_REF_GROUP = re.compile(r"\[\s*(\d{1,6}(?:\s{0,3}[,;]\s{0,3}\d{1,6}){0,200})\s*\]")
_BULLET_MARK = re.compile(r"^\s{0,8}(?:[-*•]|\d{1,3}[.)])\s+")
_SPACES = re.compile(r"\s+")
MAX_CITATIONS = 3


@dataclass(frozen=True)
class Bullet:
    text: str
    refs: tuple[int, ...]


def parse_bullets(text: str, valid_refs: Collection[int]) -> tuple[list[Bullet], int]:
    """The bullets of `text` that cite at least one valid ref, and how many were dropped."""
    bullets: list[Bullet] = []
    dropped = 0
    for line in text.splitlines():
        mark = _BULLET_MARK.match(line)
        if not mark:
            continue
        body = line[mark.end() :]
        refs: list[int] = []
        for group in _REF_GROUP.findall(body):
            for number in re.split(r"[,;]", group):
                ref = int(number.strip())
                if ref in valid_refs and ref not in refs:
                    refs.append(ref)
        clean = _SPACES.sub(" ", _REF_GROUP.sub(" ", html.unescape(body))).strip()
        clean = clean.rstrip(" ;,")
        if not clean:
            continue
        if not refs:
            dropped += 1
            continue
        bullets.append(Bullet(clean, tuple(refs)))
    return bullets, dropped


def render_bullet(bullet: Bullet, citations: Sequence[str]) -> str:
    """`- text [session#entry] [session#entry]` (the first MAX_CITATIONS distinct sources)."""
    seen: list[str] = []
    for citation in citations:
        if citation not in seen:
            seen.append(citation)
    links = " ".join(f"[{identifier(c)}]" for c in seen[:MAX_CITATIONS])
    return f"- {markdown_text(bullet.text)} {links}"
