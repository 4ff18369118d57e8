"""Noise filter and preamble stripping (OPENCLAW.md "Noise inside transcripts")."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_infra.openclaw.noise import (
    background_kind,
    clean_assistant_text,
    clean_user_text,
    strip_preambles,
)
from openclaw_infra.openclaw.reader import discover_sources, read_all

from conftest import OpenClawHome
from openclaw_fixtures import write_jsonl_session

TELEGRAM_TURN = """Conversation info (untrusted metadata):
```json
{"message_id": "1234", "chat_id": "telegram:42", "was_mentioned": false}
```

Sender (untrusted metadata):
```json
{"label": "Alice (@alice)", "id": "42"}
```

[Telegram Alice id:42 +2m Sun 2026-01-18 00:19 PST] Book the dentist for Tuesday."""


def test_metadata_preambles_are_stripped() -> None:
    """Untrusted-metadata blocks and the channel envelope go; the message stays."""
    assert clean_user_text(TELEGRAM_TURN).text == "Book the dentist for Tuesday."


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (
            "System: [2026-01-18 00:19:02 PST] Node connected\nSystem: [x] Cron ran\n\nWhat's up?",
            "What's up?",
        ),
        ("[WhatsApp +15550001 2026-02-01 09:00 UTC] hello", "hello"),
        ("[[reply_to_current]] Sure thing", "Sure thing"),
        (
            "[Audio] Voice note (0:12)\nTranscript: buy oat milk",
            "[Audio] Voice note (0:12)\nTranscript: buy oat milk",
        ),
        ("[cron:nightly] run the digest", "[cron:nightly] run the digest"),
        ("[Telegram Alice id:42] no timestamp here", "no timestamp here"),
        ("[Email draft] Dear Bob", "[Email draft] Dear Bob"),
        ("[Line 3] is wrong", "[Line 3] is wrong"),
        ("[2026-01-18] diary: ran 5k", "[2026-01-18] diary: ran 5k"),
        ("[Sun 2026-01-18 00:19 PST] envelope without channel", "envelope without channel"),
        ("[media attached: photo.jpg] look", "[media attached: photo.jpg] look"),
        (
            'Replied message (untrusted, for context):\n```json\n{"body": "old"}\n```\n'
            "Yes, that one",
            "Yes, that one",
        ),
        (
            "Plain text with (untrusted metadata): inline, no fence",
            "Plain text with (untrusted metadata): inline, no fence",
        ),
    ],
)
def test_user_text_cleaning(raw: str, kept: str) -> None:
    """Known wrappers are removed; [Audio] transcripts and other brackets are kept."""
    assert clean_user_text(raw).text == kept


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("Read HEARTBEAT.md if it exists (workspace context). Follow it strictly.", "heartbeat"),
        ("Pre-compaction memory flush. Store durable memories now.", "memory_flush"),
        ("A new session was started via /new or /reset. Greet the user.", "reset_prompt"),
        ("Sender (untrusted metadata):\n```json\n{}\n```\n", "empty"),
        (
            "System: [2026-01-18 09:00] Node connected\n\nRead HEARTBEAT.md if it exists",
            "heartbeat",
        ),
        ("System: [2026-01-18 09:00] Exec finished", "empty"),
    ],
)
def test_user_noise(raw: str, reason: str) -> None:
    assert clean_user_text(raw).noise == reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("HEARTBEAT_OK", "heartbeat_ok"),
        ("**HEARTBEAT_OK**", "heartbeat_ok"),
        ("All quiet. HEARTBEAT_OK", "heartbeat_ok"),
        ("NO_REPLY", "no_reply"),
        (" NO_REPLY. ", "no_reply"),
        ("[[reply_to_current]]", "empty"),
    ],
)
def test_assistant_noise(raw: str, reason: str) -> None:
    assert clean_assistant_text(raw).noise == reason


def test_assistant_text_kept() -> None:
    """A real reply keeps its text; a long alert ending in HEARTBEAT_OK keeps the alert."""
    assert clean_assistant_text("[[reply_to_current]] Done: booked.").text == "Done: booked."
    alert = "Your flight LH123 is delayed by 3 hours. " * 10
    assert clean_assistant_text(alert + "HEARTBEAT_OK").text == alert.strip()
    assert clean_assistant_text("Say NO_REPLY when idle").text == "Say NO_REPLY when idle"


@pytest.mark.parametrize(
    ("key", "session_id", "kind"),
    [
        ("agent:main:cron:nightly", None, "cron"),
        ("agent:main:cron:nightly:run:abc", None, "cron"),
        ("hook:gmail:1", None, "hook"),
        ("agent:work:hook:webhook:2", None, "hook"),
        ("agent:main:subagent:uuid", None, "subagent"),
        (None, "cron:job-7", "cron"),
        ("agent:main:main", None, None),
        ("agent:main:telegram:group:-100:topic:cron", None, None),
        (None, "3f2a", None),
    ],
)
def test_background_kind(key: str | None, session_id: str | None, kind: str | None) -> None:
    assert background_kind(key, session_id) == kind


@pytest.mark.parametrize(
    "hostile",
    [
        "[" * 200_000,
        "[Telegram " * 50_000,
        "(untrusted metadata):\n```" * 20_000,
        "Sender (untrusted metadata):\n" + "`" * 200_000,
        "System: [" * 100_000,
        "[[reply_to:" * 50_000,
        "HEARTBEAT_OK" * 50_000 + "x",
        ("a" * 119 + "(untrusted") * 5_000,
    ],
)
def test_no_catastrophic_backtracking(hostile: str) -> None:
    """Megabytes of adversarial brackets and fences are cleaned in linear time."""
    start = time.monotonic()
    clean_user_text(hostile)
    clean_assistant_text(hostile)
    assert time.monotonic() - start < 5.0


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("[]()`\n :ab1-SystemHEARTBEAT_OKuntrusted")), max_size=300
    )
)
def test_cleaning_never_fails(text: str) -> None:
    """Any text cleans without error, to a stripped string no longer than the input."""
    out = strip_preambles(text)
    assert out == out.strip() and len(out) <= len(text)
    clean_assistant_text(text)


def test_noise_in_a_session_file(oc_home: OpenClawHome) -> None:
    """End to end: heartbeats, flushes, resets and NO_REPLY never reach consumers, and the
    Telegram preamble is gone from the kept user text."""
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [
            ("user", "Read HEARTBEAT.md if it exists (workspace context)."),
            ("assistant", "HEARTBEAT_OK"),
            ("user", "Pre-compaction memory flush. Store durable memories now."),
            ("assistant", "NO_REPLY"),
            ("user", "A new session was started via /new or /reset. Say hi."),
            ("assistant", "[[reply_to_current]] Hi! What's on your mind?"),
            ("user", TELEGRAM_TURN),
            ("assistant", "[[reply_to_current]] Booked for Tuesday."),
        ],
    )
    settings_ = oc_home.settings()
    batch = read_all(settings_, discover_sources(settings_)[0])
    assert [e.text for e in batch.entries] == [
        "Hi! What's on your mind?",
        "Book the dentist for Tuesday.",
        "Booked for Tuesday.",
    ]
    assert batch.stats.noise_by == {
        "session": 1,
        "heartbeat": 1,
        "assistant_heartbeat_ok": 1,
        "memory_flush": 1,
        "assistant_no_reply": 1,
        "reset_prompt": 1,
    }
