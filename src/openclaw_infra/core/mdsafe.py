"""Identifiers made inert before they reach Markdown: the one sanitiser for every id infra
writes into a file or prints (session, entry and agent ids, file names, paths, citations).

An id comes from outside (a transcript's file name, a JSON line's `id`, a database row), so
it may hold a newline followed by `## SYSTEM`, a `]` that closes a citation early, a
backtick that ends a code span, or a bidi override. Each such character is written as its
UTF-8 bytes in `%XX` form, which keeps the id on its line and inside its brackets and
still says what it was. Ordinary ids (hex, UUIDs, `L12`, relative paths, `path#L3-L9`)
contain none of them and come out byte-identical, so existing files do not change.
"""

from __future__ import annotations

import re
import unicodedata

MAX_IDENTIFIER_CHARS = 300
# link and image brackets, HTML, code spans, escapes
_STRUCTURE = frozenset("[]<>`\\")
# control, format (zero-width, bidi), line/paragraph separators, private use, surrogates
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})


def _encoded(char: str) -> str:
    return "".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))


def identifier(value: str) -> str:
    """`value` on one line with no Markdown structure, at most MAX_IDENTIFIER_CHARS long."""
    if len(value) > MAX_IDENTIFIER_CHARS:
        value = value[: MAX_IDENTIFIER_CHARS - 1] + "…"
    return "".join(
        _encoded(c) if c in _STRUCTURE or unicodedata.category(c) in _INVISIBLE else c
        for c in value
    )


_SPACES = re.compile(r"\s+")
# what would open a block inside a list item: a heading or a code fence
_BLOCK_START = re.compile(r"^(?:#|```|~~~)")
# strict: also a quote, a list marker, a rule or a table row
_STRICT_BLOCK_START = re.compile(r"^(?:#|>|[-*+]\s|\d+[.)]\s|```|~~~|---|===|\|)")
MAX_BULLET_CHARS = 600


def markdown_text(text: str, limit: int = MAX_BULLET_CHARS, *, strict: bool = False) -> str:
    """The one sanitiser for free text in a bullet: one line, brackets and HTML escaped, no
    heading or code fence at its start, at most `limit` characters. `strict` (text a user
    typed, quoted in a file the agent reads every turn) also drops invisible characters and
    escapes emphasis and code spans."""
    line = _SPACES.sub(" ", text).strip()
    if strict:
        line = "".join(c for c in line if c.isprintable())
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    line = (
        line.replace("\\", "\\\\")
        .replace("[", "\\[")
        .replace("]", "\\]")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )
    if strict:
        line = line.replace("`", "'").replace("*", "\\*").replace("_", "\\_")
    block = _STRICT_BLOCK_START if strict else _BLOCK_START
    return "\\" + line if block.match(line) else line
