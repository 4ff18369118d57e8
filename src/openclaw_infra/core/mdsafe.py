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
