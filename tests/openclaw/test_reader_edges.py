"""Transcript reader on bad and huge input: malformed lines, invalid UTF-8, multi-MB lines."""

from __future__ import annotations

import json
import tracemalloc

from structlog.testing import capture_logs

from openclaw_infra.openclaw.lines import MAX_TEXT_CHARS
from openclaw_infra.openclaw.reader import discover_sources, read_all, read_new

from conftest import OpenClawHome
from openclaw_fixtures import append_jsonl, write_jsonl_session


def _read(oc_home: OpenClawHome, **kw: object):  # type: ignore[no-untyped-def]
    settings = oc_home.settings()
    return read_all(settings, discover_sources(settings)[0], **kw)  # type: ignore[arg-type]


def test_malformed_lines_are_skipped_counted_and_logged(oc_home: OpenClawHome) -> None:
    """Broken JSON, non-object JSON and blank lines do not stop the read; each skipped line
    is logged with its file and line number."""
    path = write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [
            ("user", "before"),
            b'{"type":"message","message":{"role":"user","content":"unterminated',
            b"[1,2,3]",
            b"",
            b"   ",
            ("user", "after"),
        ],
    )
    with capture_logs() as logs:
        batch = _read(oc_home)
    assert [(e.text, e.position) for e in batch.entries] == [("before", 2), ("after", 7)]
    assert batch.stats.malformed == 2 and batch.stats.noise_by.get("blank") == 2
    skipped = [
        (r["file"], r["line"], r["reason"]) for r in logs if r["event"] == "transcript line skipped"
    ]
    assert skipped == [(str(path), 3, "not JSON"), (str(path), 4, "not a JSON object")]


def test_problem_log_is_capped_and_the_rest_counted(oc_home: OpenClawHome) -> None:
    """A badly damaged file logs its first 20 skipped lines, then one line counting the
    rest; the read's stats still count every one."""
    from openclaw_infra.openclaw.problems import MAX_LOGGED_PROBLEMS

    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "ok"), *([b"{broken"] * 25)])
    with capture_logs() as logs:
        batch = _read(oc_home)
    assert batch.stats.malformed == 25 and [e.text for e in batch.entries] == ["ok"]
    skipped = [r for r in logs if r["event"] == "transcript line skipped"]
    assert len(skipped) == MAX_LOGGED_PROBLEMS == 20
    assert [r["line"] for r in skipped] == list(range(3, 23))
    more = [r for r in logs if r["event"] == "more transcript lines skipped"]
    assert more == [
        {
            "event": "more transcript lines skipped",
            "log_level": "warning",
            "file": str(path),
            "not_logged": 5,
        }
    ]


def test_invalid_utf8_is_replaced_and_counted(oc_home: OpenClawHome) -> None:
    """A line with invalid UTF-8 keeps its valid JSON, with U+FFFD for the bad bytes;
    lone surrogate escapes are replaced too, so downstream UTF-8 writers never fail."""
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [
            b'{"type":"message","id":"a1","message":{"role":"user","content":"na\xefve \xff"}}',
            '{"type":"message","id":"a2","message":{"role":"user","content":"x\\ud800y"}}',
        ],
    )
    with capture_logs() as logs:
        batch = _read(oc_home)
    assert [e.text for e in batch.entries] == ["na\ufffdve \ufffd", "x\ufffdy"]
    assert batch.stats.invalid_utf8 == 1
    for entry in batch.entries:
        entry.text.encode("utf-8")
    assert any(r["event"] == "invalid UTF-8 replaced" and r["line"] == 2 for r in logs)


def test_five_megabyte_tool_result_is_dropped(oc_home: OpenClawHome) -> None:
    """A 5 MB tool result is read past like any noise line."""
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [("user", "show me the log"), ("tool", "x" * 5_000_000), ("assistant", "It is long.")],
    )
    batch = _read(oc_home)
    assert [e.text for e in batch.entries] == ["show me the log", "It is long."]
    assert batch.stats.noise_by["role:toolResult"] == 1 and batch.stats.oversized == 0


def test_oversized_line_streams_in_bounded_memory(oc_home: OpenClawHome) -> None:
    """A line over the limit is hashed and skipped without being held: reading a 40 MB
    line with a 1 MB limit peaks far below the line's size."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "before")])
    with path.open("ab") as f:
        f.write(
            b'{"type":"message","message":{"role":"toolResult","content":[{"type":"text","text":"'
        )
        chunk = b"z" * 1_000_000
        for _ in range(40):
            f.write(chunk)
        f.write(b'"}]}}\n')
    append_jsonl(path, [("user", "after")])
    tracemalloc.start()
    try:
        with capture_logs() as logs:
            batch = _read(oc_home, max_line_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.text for e in batch.entries] == ["before", "after"]
    assert batch.stats.oversized == 1 and batch.end.offset == path.stat().st_size
    assert peak < 12_000_000, peak
    oversized = [r for r in logs if r.get("reason") == "oversized"]
    assert oversized and oversized[0]["line"] == 3 and oversized[0]["bytes"] > 40_000_000


def test_cursor_after_an_oversized_last_line(oc_home: OpenClawHome) -> None:
    """The cursor can end on an oversized line and still verify it on the next read."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("tool", "q" * 3_000_000)])
    settings = oc_home.settings()
    source = discover_sources(settings)[0]
    first = read_new(settings, source, None, max_line_bytes=1_000_000)
    append_jsonl(path, [("user", "next")])
    second = read_new(settings, source, first.end, max_line_bytes=1_000_000)
    assert not second.rewritten and [e.text for e in second.entries] == ["next"]


def test_multi_megabyte_user_text_is_capped(oc_home: OpenClawHome) -> None:
    """A pasted multi-MB user message is kept, cut to the text limit, and counted."""
    write_jsonl_session(oc_home.state, "main", "s1", [("user", "w" * 3_000_000)])
    batch = _read(oc_home)
    (entry,) = batch.entries
    assert entry.text.startswith("w" * MAX_TEXT_CHARS) and len(entry.text) < MAX_TEXT_CHARS + 100
    assert batch.stats.truncated == 1


def test_odd_but_valid_shapes(oc_home: OpenClawHome) -> None:
    """Content blocks of unknown types, images, null content, bare messages without `type`
    and numbers for timestamps in seconds are all handled."""
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [
            {
                "type": "message",
                "id": "i1",
                "timestamp": "2026-03-02T09:00:00Z",
                "message": {
                    "role": "user",
                    "content": [
                        {"type": "image", "data": "AAAA", "mimeType": "image/png"},
                        {"type": "text", "text": "look at this"},
                        {"type": "video"},
                        "stray",
                    ],
                },
            },
            {"type": "message", "id": "i2", "message": {"role": "user", "content": None}},
            {
                "message": {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "bare"}],
                    "timestamp": 1772442000,
                }
            },
            {"role": "user", "content": "very old shape"},
            {"type": "message", "message": "not an object"},
            {"type": 7},
        ],
    )
    batch = _read(oc_home)
    assert [e.text for e in batch.entries] == ["look at this", "bare", "very old shape"]
    assert batch.entries[1].timestamp is not None
    assert batch.entries[1].timestamp.year == 2026
    assert batch.stats.malformed == 0


def test_line_numbers_match_the_file(oc_home: OpenClawHome) -> None:
    """Entry positions are the 1-based line numbers a person sees in the file."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", f"n{i}") for i in range(5)])
    lines = path.read_text().splitlines()
    for entry in _read(oc_home).entries:
        assert json.loads(lines[entry.position - 1])["message"]["content"][0]["text"] == entry.text
