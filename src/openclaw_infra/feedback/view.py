"""A feedback record as one terminal line: the note is the user's words, so control
characters (a terminal escape, a newline that fakes another record) are shown escaped."""

from __future__ import annotations

import unicodedata

from openclaw_infra.feedback.records import FeedbackRecord

NOTE_SHOWN_CHARS = 160


def printable(text: str, limit: int) -> str:
    """`text` on one line, every control or format character as its `\\u` escape."""
    out = "".join(
        c
        if c == " " or unicodedata.category(c)[0] not in "CZ"
        else c.encode("unicode_escape").decode("ascii")
        for c in text[: limit + 1]
    )
    return out if len(text) <= limit else out[:limit] + "…"


def record_line(rec: FeedbackRecord) -> str:
    """`#12  2026-03-05T10:00:00Z  bad   telegram  A-1b2c3d4e  "note"`."""
    note = f'  "{printable(rec.note, NOTE_SHOWN_CHARS)}"' if rec.note else ""
    source = "button" if rec.token_id else "words"
    channel = printable(rec.channel or "-", 40)
    return (
        f"#{rec.id:<5} {rec.when}  {rec.verdict:<4}  {source:<6}  {channel:<9}  "
        f"{printable(rec.target, 200)}{note}"
    )
