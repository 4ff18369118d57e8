"""Signals across agents on the real OpenClaw 2026.9.6: agent `main` talks through the real
CLI (its turn lands in the SQLite store), agent `work` owns an open item through a JSONL
session (the other container). `infra signals scan` finds main's turn touching work's item,
records it once with both citations, and tries the real `openclaw message send`, whose
failure (no gateway here) is recorded, not lost.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from .fake_openai import API_KEY, MODEL_ID, FakeOpenAI
from .harness import (
    OpenClawError,
    OpenClawInstall,
    OpenClawState,
    infra_bin_dir,
    run_infra,
)

ITEM = "Send the signed lease to Maren Holt"


def plant_work_agent(state: OpenClawState) -> None:
    """Agent `work`: one JSONL session, and an open item citing it in infra's store."""
    from openclaw_infra.core.config import Settings
    from openclaw_infra.core.db import connect, transaction
    from openclaw_infra.pipeline.digest_records import TrackedItem, save_items

    sessions = state.state / "agents" / "work" / "sessions"
    sessions.mkdir(parents=True)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    lines = [
        {"type": "session", "version": 3, "id": "w0", "timestamp": now, "cwd": "/"},
        {
            "type": "message",
            "id": "e1",
            "parentId": None,
            "timestamp": now,
            "message": {"role": "user", "content": "the lease for the flat"},
        },
    ]
    (sessions / "w0.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    settings = Settings(
        state_dir=state.state,
        workspace_dir=state.workspace,
        data_dir=state.state / "infra",
        timezone="UTC",
    )
    today = datetime.now(UTC).date().isoformat()
    conn = connect(settings.db_path)
    try:
        with transaction(conn):
            item = TrackedItem("A-5e1e5e", "action", ITEM, "open", today, today)
            item.sources = ["w0#e1"]
            save_items(conn, [item])
    finally:
        conn.close()


@pytest.fixture(scope="module")
def scanned(
    openclaw_install: OpenClawInstall,
    fake_model: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[OpenClawState, list[dict[str, Any]]]:
    state = OpenClawState(
        openclaw_install,
        tmp_path_factory.mktemp("openclaw-signals"),
        path_prefix=[infra_bin_dir(), openclaw_install.openclaw.parent],
    )
    state.extra_env.update(
        {
            "OPENCLAW_INFRA_ALERT_TARGET": "4242",
            "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
            "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
        }
    )
    try:
        state.onboard(fake_model.base_url, MODEL_ID, API_KEY)
        plant_work_agent(state)
        state.turn("Maren Holt called: SIG-1 she wants the keys on Friday", session="sig")
        first = run_infra(state, "signals", "scan", "--json").json()
        state.turn("Maren Holt again SIG-2, about the keys", session="sig")
        second = run_infra(state, "signals", "scan", "--json").json()
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)
    return state, [first, second]


def test_signals_live_turn_in_the_store_touches_a_jsonl_agents_item(scanned) -> None:  # type: ignore[no-untyped-def]
    """The real turn (SQLite store) names the person in work's item (JSONL): one signal,
    by entity, citing the stored turn and the item's source."""
    state, (first, _) = scanned
    (signal,) = first["recorded"]
    assert signal["agent"] == "main" and signal["target_agents"] == ["work"]
    assert signal["how"] == "entity" and signal["matched"] == "Maren Holt"
    assert signal["target"] == "A-5e1e5e" and signal["target_citation"] == "w0#e1"
    (stored,) = [
        e for e in state.events() if e.role == "user" and any("SIG-1" in t for t in e.texts)
    ]
    assert signal["citation"] == f"{stored.session_id}#{stored.entry_id}"


def test_signals_live_recorded_once_and_failed_send_kept(scanned) -> None:  # type: ignore[no-untyped-def]
    """A second mention the same day adds nothing; the real sender's failure (no gateway)
    is recorded and listed, so health can report it."""
    state, (first, second) = scanned
    assert second["recorded"] == [] and second["turns"] >= 1
    assert first["notified"] == 0 and len(first["notify_errors"]) == 1
    listed = run_infra(state, "signals", "list", "--json").json()
    (row,) = listed["signals"]
    assert row["notify_error"] and row["notified_at"] is None
