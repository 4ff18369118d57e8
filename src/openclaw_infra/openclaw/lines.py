"""One transcript line (a JSON object, the same in JSONL files and `transcript_events`) to a
normalised `Entry`, or the reason it is dropped.

Kept: user text, assistant text blocks (thinking and tool calls dropped), compaction
summaries. Everything else (session header, tool results, `custom` / `custom_message`,
nested-tool records, model and thinking-level changes, labels, branch summaries…) is noise.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.noise import clean_assistant_text, clean_user_text

MAX_TEXT_CHARS = 200_000  # a kept text longer than this is cut (and counted)
FUTURE_TOLERANCE = timedelta(hours=1)
_MIN_TS = datetime(1990, 1, 1, tzinfo=UTC)
_MAX_TS = datetime(2200, 1, 1, tzinfo=UTC)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class LineContext:
    agent: str
    session_id: str
    source: str  # path relative to the state dir
    container: str
    now: datetime


@dataclass(frozen=True, slots=True)
class Interpreted:
    entry: Entry | None
    noise: str | None = None  # why the line was dropped
    truncated: bool = False
    future: bool = False


def parse_timestamp(value: Any) -> datetime | None:
    """ISO string (`Z` or offset) or epoch number (ms; seconds when small) → aware UTC."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
            if math.isnan(number):
                return None
            seconds = number / 1000.0 if abs(number) >= 1e11 else number
            result = datetime.fromtimestamp(seconds, tz=UTC)
        elif isinstance(value, str):
            text = value.strip()
            if not text or len(text) > 64:
                return None
            if text.isdigit():
                return parse_timestamp(int(text))
            result = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            result = result.replace(tzinfo=UTC) if result.tzinfo is None else result.astimezone(UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    if not _MIN_TS <= result <= _MAX_TS:
        return None
    return result


def pick_timestamp(
    candidates: list[datetime | None], now: datetime
) -> tuple[datetime | None, bool]:
    """The first candidate that is not in the future; when all are, the earliest of them and
    True (so one skewed clock cannot push an entry days ahead if a sane value exists)."""
    present = [c for c in candidates if c is not None]
    if not present:
        return None, False
    limit = now + FUTURE_TOLERANCE
    for candidate in present:
        if candidate <= limit:
            return candidate, False
    return min(present), True


def scrub(text: str) -> str:
    """Lone surrogates (from `\\ud800` escapes) would break every UTF-8 writer downstream."""
    return _SURROGATE.sub("\ufffd", text)


MAX_ID_CHARS = 200


def bounded_id(entry_id: str) -> str:
    """The id as written when it is short and clean; else a readable prefix and a hash of the
    whole id, so that two long ids sharing a prefix (or differing only in lone surrogates)
    stay two entries instead of one silently covering the other."""
    clean = scrub(entry_id)
    if len(entry_id) <= MAX_ID_CHARS and clean == entry_id:
        return entry_id
    digest = hashlib.blake2b(entry_id.encode("utf-8", "surrogatepass"), digest_size=8)
    return clean[: MAX_ID_CHARS - 17] + "~" + digest.hexdigest()


def content_text(content: Any) -> str:
    """Text of a `content` field: a plain string, or the `text` blocks of a block list."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = [
        block["text"]
        for block in content
        if isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    ]
    return "\n".join(p for p in parts if p)


def interpret(
    obj: dict[str, Any], position: int, ctx: LineContext, created_at: datetime | None = None
) -> Interpreted:
    """Turn one line object into an Entry or a noise reason."""
    kind = obj.get("type")
    message = obj.get("message")
    if kind is None:
        # very old lines: a bare message, or a message without its `type`
        if isinstance(message, dict):
            kind = "message"
        elif "role" in obj:
            kind, message = "message", obj
    if kind == "message":
        if not isinstance(message, dict):
            return Interpreted(None, "message_without_body")
        role = message.get("role")
        if role == "user":
            cleaned = clean_user_text(content_text(message.get("content")))
        elif role == "assistant":
            cleaned = clean_assistant_text(content_text(message.get("content")))
        else:
            return Interpreted(None, f"role:{role}" if isinstance(role, str) else "role:?")
        if cleaned.noise:
            reason = cleaned.noise if role == "user" else f"assistant_{cleaned.noise}"
            return Interpreted(None, reason)
        text = cleaned.text
        out_role = str(role)
        msg_ts = message.get("timestamp")
    elif kind == "compaction":
        summary = obj.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            return Interpreted(None, "compaction_empty")
        text, out_role, msg_ts = summary.strip(), "compaction", None
    else:
        return Interpreted(None, str(kind) if isinstance(kind, str) and kind else "unknown_type")

    timestamp, future = pick_timestamp(
        [parse_timestamp(obj.get("timestamp")), parse_timestamp(msg_ts), created_at], ctx.now
    )
    text = scrub(text)
    truncated = len(text) > MAX_TEXT_CHARS
    if truncated:
        text = text[:MAX_TEXT_CHARS] + f"\n[… {len(text) - MAX_TEXT_CHARS} characters cut]"
    raw_id = obj.get("id")
    entry_id = raw_id.strip() if isinstance(raw_id, str) and raw_id.strip() else f"L{position}"
    entry = Entry(
        agent=ctx.agent,
        session_id=ctx.session_id,
        entry_id=bounded_id(entry_id),
        position=position,
        timestamp=timestamp,
        role=out_role,
        text=text,
        source=ctx.source,
        container=ctx.container,
    )
    return Interpreted(entry, truncated=truncated, future=future)
