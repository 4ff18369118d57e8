"""When to retry an LLM request and how long to wait first.

Pure functions, so the policy is tested without a server: exponential backoff with jitter,
and a server's `retry-after` (or `retry-after-ms`) always wins over our own schedule. A
server asking for more than `max_retry_after_s` is not waited for: the run ends with exit 75
and cron tries again within the hour, which is cheaper than holding the job lock that long.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# 408 request timeout, 409 lock conflict, 429 rate limit, 5xx (529 = overloaded)
RETRYABLE_STATUS = frozenset({408, 409, 429})
MAX_BACKOFF_S = 60.0
MAX_RETRY_AFTER_S = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """How many retries and how long between them."""

    max_retries: int = 4
    base_s: float = 2.0
    cap_s: float = MAX_BACKOFF_S
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    jitter: Callable[[], float] = random.random  # in [0, 1): spreads clients apart

    def backoff(self, attempt: int) -> float:
        """Wait before retry number `attempt` (1-based) when the server gave no retry-after."""
        raw = min(self.cap_s, self.base_s * (2 ** (attempt - 1)))
        return raw * (0.75 + 0.25 * self.jitter())


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `retry-after` (seconds or
    an HTTP date); None when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, float(email.utils.mktime_tz(parsed)) - current)


def wait_before_retry(policy: RetryPolicy, attempt: int, retry_after: float | None) -> float | None:
    """Seconds to sleep before retry `attempt`, or None when the server's retry-after is longer
    than we are willing to hold the run for (give up now, the work stays owed)."""
    if retry_after is not None:
        if retry_after > policy.max_retry_after_s:
            return None
        return retry_after
    return policy.backoff(attempt)
