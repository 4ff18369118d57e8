"""infra against what the real OpenClaw 2026.9.6 writes (issue 9, deliverables 2, 3 and 5).

The fixtures (conftest.py) drive three real agent turns in two conversations against the fake
model, then run `infra index`, `infra recall` and `infra summarize` on the state dir. The
first test pins the storage format this suite was written against, so a newer OpenClaw that
changes it fails here first, by name, before the behavioural tests below.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import scenario
from .conftest import Conversations, Recalled, Summaries
from .harness import (
    OPENCLAW_VERSION,
    OpenClawState,
    infra_bin_dir,
    run_infra,
    table_info,
    user_version,
)

pytestmark = pytest.mark.timeout(1800)  # the first test pays for install, onboarding, turns

SCHEMA_VERSION = 23
TRANSCRIPT_COLUMNS = [
    ("session_id", "TEXT"),
    ("seq", "INTEGER"),
    ("event_json", "TEXT"),
    ("created_at", "INTEGER"),
    ("event_zstd", "BLOB"),
    ("event_utf8_bytes", "INTEGER"),
    ("navigation_json", "TEXT"),
]
_CITATION = re.compile(r"\[([0-9A-Za-z_-]{8,})#([0-9A-Za-z_:.-]+)\]")
_PART_PREFIX = re.compile(r"^(?:\[[^\]\n]*\]\n)?(?:user|assistant)(?: \(part \d+/\d+\))?: ", re.M)


def _flat(text: str) -> str:
    """Whitespace-normalised text without infra's `role:` / `role (part k/n):` prefixes."""
    return " ".join(_PART_PREFIX.sub("", text).split())


def _session_texts(answer: dict[str, Any], session_id: str) -> list[str]:
    return [_flat(r["text"]) for r in answer["results"] if r.get("session_id") == session_id]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@pytest.mark.openclaw
def test_openclaw_storage_format_is_the_one_this_suite_knows(
    conversations: Conversations,
) -> None:
    """Pins OpenClaw 2026.9.6's transcript storage as seen live (docs/openclaw-integration.md).

    SQLite only (no JSONL), schema 23, the seven-column `transcript_events`, a version 4
    header, UUID entry ids, raw user text (no envelope), zstd for the large events (the long
    pasted message, the long answer, the long exec output; never the header), and the
    `custom` entries and nested tool record a reader must step over.
    """
    state = conversations.state
    version = state.openclaw("--version").stdout
    assert OPENCLAW_VERSION in version
    assert user_version(state.agent_db) == SCHEMA_VERSION
    assert list(table_info(state.agent_db)) == TRANSCRIPT_COLUMNS
    sessions_dir = state.state / "agents" / "main" / "sessions"
    assert not list(sessions_dir.glob("*.jsonl")), "2026.9.6 writes transcripts to SQLite only"

    alpha, beta = conversations.session_of("alpha"), conversations.session_of("beta")
    assert alpha != beta
    headers = [e for e in conversations.events if e.event.get("type") == "session"]
    assert {h.session_id for h in headers} == {alpha, beta}
    assert all(h.event.get("version") == 4 and h.seq == 0 for h in headers)
    ids = [e.entry_id for e in conversations.events if e.event.get("type") != "session"]
    assert ids and all(_is_uuid(i) for i in ids)

    users = conversations.messages("user")
    assert [u.texts[0] for u in users if u.session_id == alpha] == [
        scenario.ALPHA_1,
        scenario.ALPHA_2,
    ]
    compressed = {
        (e.role or e.event.get("type"), e.message.get("toolName") or e.message.get("customType"))
        for e in conversations.events
        if e.compressed
    }
    assert ("user", None) in compressed
    assert ("assistant", None) in compressed
    assert ("toolResult", "exec") in compressed
    assert all(e.event.get("type") != "session" for e in conversations.events if e.compressed)
    custom_types = {
        (e.session_id, e.event.get("customType"))
        for e in conversations.events
        if e.event.get("type") == "custom"
    }
    assert {(alpha, "model-snapshot"), (beta, "model-snapshot")} <= custom_types
    assert {(alpha, "openclaw.cache-ttl"), (beta, "openclaw.cache-ttl")} <= custom_types
    # the first turn after onboarding ran in full-bootstrap mode and says so
    assert (alpha, "openclaw:bootstrap-context:full") in custom_types
    keys = {t.session_key for t in conversations.turns.values()}
    assert keys == {"agent:main:main", "agent:main:explicit:beta"}
    nested = [e for e in conversations.messages("custom") if e.message.get("customType")]
    assert {e.message["customType"] for e in nested} == {"openclaw.nested-tool.v1"}
    assert nested[0].message["details"]["toolName"] == "memory_search"


@pytest.mark.openclaw
def test_every_stored_user_and_assistant_text_is_recalled(
    conversations: Conversations, recalled: Recalled
) -> None:
    """Each user and assistant text OpenClaw stored comes back from `infra recall`.

    Probed by its first line (and, for a long text, its last lines), asked as the query;
    a result from the same session must contain the line. Compressed events included.
    """
    assert recalled.probes, "the scenario stored no user or assistant text"
    missing = [
        probe.query
        for probe, answer in zip(recalled.probes, recalled.answers, strict=True)
        if not any(_flat(probe.query) in t for t in _session_texts(answer, probe.session_id))
    ]
    assert not missing, f"{len(missing)} stored text(s) not recalled: {missing}"
    texts = {t for e in conversations.messages("user", "assistant") for t in e.texts}
    assert {scenario.ALPHA_1, scenario.ALPHA_2, scenario.ALPHA_2_ANSWER} <= texts
    assert {scenario.ALPHA_1_ANSWER, scenario.BETA_1, scenario.BETA_1_ANSWER} <= texts


@pytest.mark.openclaw
def test_compressed_events_are_read_whole(conversations: Conversations, recalled: Recalled) -> None:
    """Text that exists only inside zstd-compressed rows is indexed, to its last line.

    The ferry fact sits near the end of the long answer, whose row has `event_json` NULL;
    infra can only find it by decompressing `event_zstd`.
    """
    holders = [
        e
        for e in conversations.messages("assistant")
        if any(scenario.FERRY_FACT in t for t in e.texts)
    ]
    assert holders and all(e.compressed for e in holders)
    compressed_probes = [p for p in recalled.probes if p.compressed]
    assert {p.entry_id for p in compressed_probes} >= {e.entry_id for e in holders}
    assert any(scenario.FERRY_FACT in p.query for p in compressed_probes)


@pytest.mark.openclaw
def test_recall_finds_a_fact_from_the_other_conversation(
    conversations: Conversations, recalled: Recalled
) -> None:
    """Asked without naming a conversation, recall answers from alpha, where it was said."""
    alpha = conversations.session_of("alpha")
    top = recalled.cross["results"][:3]
    assert any(r["session_id"] == alpha and "Polar Museum" in r["text"] for r in top), top


@pytest.mark.openclaw
def test_agent_note_in_memory_is_recalled_as_memory(
    conversations: Conversations, openclaw_home: OpenClawState
) -> None:
    """The note OpenClaw's `write` tool put in memory/ is indexed as a memory file."""
    note = openclaw_home.workspace / scenario.DENTIST_FILE
    assert scenario.DENTIST_NOTE in note.read_text(encoding="utf-8")
    answer = run_infra(
        openclaw_home, "recall", "when is the dentist appointment", "--json", "--source", "memory"
    ).json()
    assert answer["results"], answer
    best = answer["results"][0]
    assert best["kind"] == "memory"
    assert best["path"].endswith(scenario.DENTIST_FILE)
    assert "Dr. Lind" in best["text"]


@pytest.mark.openclaw
def test_exec_of_infra_recall_puts_json_in_the_stored_tool_result(
    conversations: Conversations,
) -> None:
    """beta's `exec infra recall … --json` stored a toolResult holding recall's JSON answer.

    infra ran inside OpenClaw's exec tool (PATH and state dir inherited), found alpha's fact
    while beta was not yet indexed, and OpenClaw handed the JSON back to the model.
    """
    beta, alpha = conversations.session_of("beta"), conversations.session_of("alpha")
    results = [
        e
        for e in conversations.messages("toolResult")
        if e.session_id == beta and e.message.get("toolName") == "exec"
    ]
    assert len(results) == 1, [e.message for e in results]
    stored = results[0]
    # exec stores stdout and stderr together, and isError stays false on a non-zero exit
    assert stored.message["details"]["exitCode"] == 0, stored.texts
    output = "\n".join(stored.texts)
    try:
        answer = json.loads(output)
    except json.JSONDecodeError:
        pytest.fail(f"the agent got more than recall's JSON back from exec:\n{output[:2000]}")
    assert answer["query"] == scenario.RECALL_QUERY
    assert answer["index"]["chunks"] > 0
    hits = answer["results"]
    assert hits and hits[0]["session_id"] == alpha and "Polar Museum" in hits[0]["text"]
    # the model's next request carried that JSON back as the tool message
    requests = conversations.fake.chat_requests_for("[turn beta-1]")
    tool_messages = [m for r in requests for m in r["messages"] if m.get("role") == "tool"]
    assert any(scenario.RECALL_QUERY in str(m.get("content")) for m in tool_messages)
    assert conversations.turns["beta-1"].text == scenario.BETA_1_ANSWER


@pytest.mark.openclaw
def test_shipped_skill_is_eligible_only_with_infra_on_path(
    conversations: Conversations, openclaw_home: OpenClawState
) -> None:
    """`openclaw skills check --json` lists infra-recall as eligible when `infra` is on PATH,
    and as missing the `infra` binary when it is not; the eligible skill reached the model's
    system prompt."""
    eligible = openclaw_home.skills_check()
    assert "infra-recall" in eligible["eligible"], eligible["missingRequirements"]
    assert "infra-recall" in eligible["modelVisible"]
    assert "infra-recall" not in {m["name"] for m in eligible["missingRequirements"]}

    bare_path = [
        Path(d)
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not (Path(d) / "infra").exists() and Path(d) != infra_bin_dir()
    ]
    without = openclaw_home.skills_check(path=[openclaw_home.install.openclaw.parent, *bare_path])
    missing = {m["name"]: m["missing"] for m in without["missingRequirements"]}
    assert "infra-recall" not in without["eligible"]
    assert missing.get("infra-recall", {}).get("bins") == ["infra"]

    requests = conversations.fake.chat_requests_for("[turn beta-1]")
    system = [m for m in requests[0]["messages"] if m.get("role") == "system"]
    assert system and "infra-recall" in str(system[0].get("content"))


def _frontmatter(text: str) -> dict[str, Any]:
    head = text.split("\n---\n", 1)[0].removeprefix("---\n")
    data = yaml.safe_load(head)
    assert isinstance(data, dict), text[:500]
    return data


@pytest.mark.openclaw
def test_extractive_summary_reads_every_message_and_drops_noise(
    conversations: Conversations, summaries: Summaries
) -> None:
    """`infra summarize` (extractive, no API key) takes in exactly the stored user and
    assistant texts of both conversations, compressed ones included, and cites only them:
    no `custom` entries (model-snapshot, bootstrap-context, cache-ttl, nested tool records),
    no tool calls, no tool results."""
    assert summaries.files, summaries.reports
    kept: dict[str, int] = {}
    for event in conversations.messages("user", "assistant"):
        if event.texts:
            kept[event.session_id] = kept.get(event.session_id, 0) + 1
    assert set(kept) == {conversations.session_of("alpha"), conversations.session_of("beta")}

    read: dict[str, int] = {}
    cited: list[tuple[str, str]] = []
    for text in summaries.files.values():
        front = _frontmatter(text)
        assert front["summarizer"] == "extractive"
        for source in front["sources"]:
            read[source["session"]] = read.get(source["session"], 0) + source["entries"]
        cited += _CITATION.findall(text)
    assert read == kept, "summarize read other entries than the stored user/assistant texts"

    by_id = {e.entry_id: e for e in conversations.events}
    assert cited, summaries.files
    for session_id, entry_id in cited:
        entry = by_id.get(entry_id)
        assert entry is not None, f"citation {session_id}#{entry_id} names no stored entry"
        assert entry.session_id == session_id
        assert entry.event.get("type") == "message" and entry.role in ("user", "assistant"), (
            f"summary cites a {entry.role or entry.event.get('type')} entry"
        )
        assert entry.texts, "summary cites an entry with no text (a tool call)"
    # the itinerary's day lines (numbers, places) are what the extractive scorer picks
    assert any(by_id[e].compressed for _, e in cited), "no bullet from a compressed event"
    # the prose alone: frontmatter hashes and citation UUIDs may contain any digits
    prose = _CITATION.sub(
        "", "\n".join(t.split("\n---\n", 1)[-1] for t in summaries.files.values())
    )
    for noise in ("bootstrap-context", "model-snapshot", "nested-tool", "cache-ttl", "2999"):
        assert noise not in prose, f"summary shows noise: {noise}"
