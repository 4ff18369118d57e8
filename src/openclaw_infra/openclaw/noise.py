"""Noise filter for OpenClaw transcript text (OPENCLAW.md "Noise", DESIGN.md "Summaries").

Drops heartbeat turns, `HEARTBEAT_OK` / `NO_REPLY` replies, memory-flush prompts and reset
greetings; strips the metadata OpenClaw prepends to channel turns ("(untrusted metadata)"
blocks with their fenced JSON, `[Telegram Alice id:123 … PST]` envelopes, `System: [...]`
lines) and `[[reply_to_current]]` tags, keeping the message itself. `[Audio] … Transcript:`
blocks are ordinary user text and stay.

Every pattern is linear: bounded repeats, no nested quantifiers, and fenced blocks are cut
with `str.find`, so hostile input (megabytes of brackets or backticks) cannot make it
backtrack catastrophically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- patterns ------------------------------------------------------------------------------

# "Conversation info (untrusted metadata):", "Sender (untrusted metadata):",
# "Replied message (untrusted, for context):", … alone on their line.
_UNTRUSTED_HEADER = re.compile(r"^[^\n(]{0,120}\(untrusted[^\n()]{0,80}\):[ \t]*$", re.M)

_CHANNELS = (
    "telegram",
    "whatsapp",
    "discord",
    "slack",
    "signal",
    "imessage",
    "bluebubbles",
    "googlechat",
    "google chat",
    "msteams",
    "teams",
    "matrix",
    "webchat",
    "line",
    "zalo",
    "mattermost",
    "nextcloud",
    "irc",
    "feishu",
    "lark",
    "twitch",
    "nostr",
    "sms",
    "email",
    "gmail",
    "voice",
    "tlon",
    "synology",
)
# A bracketed group at the start of a line: an envelope when it names a channel or a date.
_BRACKET_AT_LINE_START = re.compile(r"^[ \t]{0,8}\[([^\[\]\n]{1,300})\][ \t]{0,8}", re.M)
_ENVELOPE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ENVELOPE_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
_ENVELOPE_DETAIL = re.compile(r"\bid:|\+\d|\b\d{1,2}:\d{2}\b")
_ENVELOPE_CHANNEL = re.compile(
    r"^(?:" + "|".join(re.escape(c) for c in _CHANNELS) + r")(?:[ :]|$)", re.I
)
_SYSTEM_LINE = re.compile(r"^System:[ \t]{0,8}\[[^\n]{0,2000}(?:\n|$)", re.M)
_REPLY_TAG = re.compile(
    r"\[\[[ \t]{0,4}(?:reply_to_current|reply_to[ \t]{0,4}:[^\[\]\n]{1,200}|audio_as_voice)"
    r"[ \t]{0,4}\]\]"
)
_HEARTBEAT_TOKEN = re.compile(r"[*_`]{0,3}HEARTBEAT_OK[*_`]{0,3}")
_HEARTBEAT_TAIL = re.compile(r"[*_`]{0,3}HEARTBEAT_OK[*_`]{0,3}\Z")
_SILENT_PUNCT = re.compile(r"[\s.!,;:*_`~\-]{0,64}")
_BLANK_RUNS = re.compile(r"\n{3,}")

HEARTBEAT_PROMPT = "Read HEARTBEAT.md if it exists"
MEMORY_FLUSH_PROMPT = "Pre-compaction memory flush"
RESET_PROMPT = "A new session was started via /new or /reset"
HEARTBEAT_ACK_MAX_CHARS = 300  # OpenClaw drops a HEARTBEAT_OK reply with at most this much else

BACKGROUND_KINDS = frozenset({"cron", "hook", "subagent", "sub-agent"})


@dataclass(frozen=True, slots=True)
class Cleaned:
    """A verdict on one text: `noise` names why it is dropped, else `text` is what to keep."""

    text: str
    noise: str | None = None


# --- stripping ----------------------------------------------------------------------------


def strip_untrusted_blocks(text: str) -> str:
    """Remove every "(untrusted …):" header followed by a fenced block, fence included."""
    if "(untrusted" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        match = _UNTRUSTED_HEADER.search(text, pos)
        if match is None:
            break
        after = match.end()
        body = after
        # the fence may follow after blank lines
        while body < len(text) and text[body] in " \t\r\n":
            body += 1
        if not text.startswith("```", body):
            out.append(text[pos:after])
            pos = after
            continue
        first_nl = text.find("\n", body)
        close = -1 if first_nl < 0 else text.find("\n```", first_nl)
        if close < 0:
            # unterminated fence: everything after the header is metadata
            out.append(text[pos : match.start()])
            pos = len(text)
            break
        end_line = text.find("\n", close + 4)
        end = len(text) if end_line < 0 else end_line + 1
        out.append(text[pos : match.start()])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _strip_envelopes(text: str) -> str:
    if "[" not in text:
        return text

    def repl(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        # "[Telegram Alice id:42 +2m Sun 2026-01-18 00:19 PST]": a channel name plus an id, a
        # phone number or a clock time, or a date with a time; "[Email draft]", "[Line 3]"
        # and a diary's "[2026-01-18] …" stay
        if _ENVELOPE_CHANNEL.match(inner) and _ENVELOPE_DETAIL.search(inner):
            return ""
        if _ENVELOPE_DATE.search(inner) and _ENVELOPE_TIME.search(inner):
            return ""
        return match.group(0)

    return _BRACKET_AT_LINE_START.sub(repl, text)


def strip_preambles(text: str) -> str:
    """The user's own words: metadata blocks, envelopes, `System: [...]` lines and reply tags
    removed, surrounding whitespace trimmed."""
    text = text.replace("\r\n", "\n")
    text = strip_untrusted_blocks(text)
    if "System:" in text:
        text = _SYSTEM_LINE.sub("", text)
    text = _strip_envelopes(text)
    if "[[" in text:
        text = _REPLY_TAG.sub("", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


# --- verdicts -----------------------------------------------------------------------------


def clean_user_text(raw: str) -> Cleaned:
    text = strip_preambles(raw)
    if not text:
        return Cleaned("", "empty")
    if text.startswith(HEARTBEAT_PROMPT):
        return Cleaned("", "heartbeat")
    if text.startswith(MEMORY_FLUSH_PROMPT):
        return Cleaned("", "memory_flush")
    if text.startswith(RESET_PROMPT):
        return Cleaned("", "reset_prompt")
    return Cleaned(text)


def _only_punct(text: str) -> bool:
    return _SILENT_PUNCT.fullmatch(text) is not None


def clean_assistant_text(raw: str) -> Cleaned:
    text = raw.replace("\r\n", "\n")
    if "[[" in text:
        text = _REPLY_TAG.sub("", text)
    text = text.strip()
    if not text:
        return Cleaned("", "empty")
    if "NO_REPLY" in text and _only_punct(text.replace("NO_REPLY", "", 1)):
        return Cleaned("", "no_reply")
    if "HEARTBEAT_OK" in text:
        rest = text
        head = _HEARTBEAT_TOKEN.match(rest)
        if head:
            rest = rest[head.end() :]
        rest = rest.rstrip(" \t\n.!")
        tail = _HEARTBEAT_TAIL.search(rest)
        if tail:
            rest = rest[: tail.start()]
        if head or tail:
            # OpenClaw itself drops such a reply when little else is left (an ack, not a message)
            rest = rest.strip()
            if len(rest) <= HEARTBEAT_ACK_MAX_CHARS:
                return Cleaned("", "heartbeat_ok")
            text = rest
    return Cleaned(text)


def background_kind(
    session_key: str | None, session_id: str | None = None, spawned_by: str | None = None
) -> str | None:
    """ "cron", "hook" or "subagent" when the session is not the user's conversation.

    Keys look like `agent:<agent>:cron:<job>[:run:<id>]`, `agent:<agent>:subagent:<uuid>`,
    `hook:<…>`; a session spawned by another one is a sub-agent run.
    """
    if spawned_by:
        return "subagent"
    for value in (session_key, session_id):
        if not value or ":" not in value:
            continue
        parts = value.lower().split(":")
        rest = parts[2:] if parts[0] == "agent" and len(parts) >= 3 else parts
        if rest and rest[0] in BACKGROUND_KINDS:
            return "subagent" if rest[0] == "sub-agent" else rest[0]
    return None
