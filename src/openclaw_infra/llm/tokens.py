"""Token estimates for budgeting, without a network call.

The API's `count_tokens` is a round trip per check; an estimate from character count is
enough to keep each request under the input budget, provided it errs on the high side.
Claude averages about 3.5–4 characters per token on English prose; 3.5 over-counts prose
slightly, so a budget computed with it is respected in practice. Code and non-Latin text
tokenise denser, which is why callers keep a safety margin below the API's hard limit.
"""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 3.5
# role markers, message framing and the like that every request carries
REQUEST_OVERHEAD_TOKENS = 16


def estimate_tokens(text: str) -> int:
    """Upper-leaning estimate of the tokens `text` costs as model input."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def chars_for_tokens(tokens: int) -> int:
    """How many characters fit in `tokens` by the same estimate (for splitting text)."""
    return max(1, int(tokens * CHARS_PER_TOKEN))
