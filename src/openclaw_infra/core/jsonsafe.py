"""The one bounded JSON decode for text infra did not write (transcript lines, events).

`json.loads` recurses once per nesting level: a single line nested a few thousand levels
deep (a tool result can carry one) raises RecursionError, which is not a ValueError, and
walking such an object later recurses again. Depth is checked before decoding, so a hostile
line is one malformed line, skipped and counted like any other.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 128  # OpenClaw's entries nest about 6 deep; tool payloads rarely pass 20
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


class JSONTooDeep(ValueError):
    """Nested deeper than MAX_DEPTH: treated as malformed input."""


def _depth(text: str, limit: int) -> int:
    """The deepest bracket nesting outside strings, counted up to `limit + 1`."""
    depth = deepest = 0
    for ch in _STRING.sub('""', text):
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif ch in "]}":
            depth -= 1
    return deepest


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` that raises ValueError (JSONTooDeep) instead of recursing without bound."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8", "surrogatepass")
    # cheap test first: a text with few brackets cannot nest deep
    if text.count("[") + text.count("{") > max_depth and _depth(text, max_depth) > max_depth:
        raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:  # a JSON library built with a lower limit than ours
        raise JSONTooDeep("JSON nested too deep to decode") from None
