"""The context pack after a real compaction, on the real OpenClaw 2026.9.6 and its gateway.

One OpenClaw home of its own (internal hooks load only in the gateway, so this module starts
one): the shipped `infra-context` hook pack is installed and enabled the way deploy.sh does
it, an open action item and a decision are planted in infra's memory, the main session has a
turn, `openclaw sessions compact` compacts it for real, and one more turn follows. The fake
model server keeps every request: the one after the compaction must carry the pack's lines,
the ones before it must not carry a pack at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from .fake_openai import API_KEY, MODEL_ID, FakeOpenAI, _text_of
from .harness import (
    REPO,
    Gateway,
    OpenClawError,
    OpenClawInstall,
    OpenClawState,
    infra_bin_dir,
    install_hook_pack,
    run_infra,
)

HOOK_PACK = REPO / "openclaw" / "hooks" / "infra-context"
ACTION = "Send the signed lease to Maren Holt before the end of the month"
DECISION = "We chose the blue tile for the kitchen floor instead of the grey one"
HEADING = "Notes from infra (context after compaction)"


def prompt_text(body: dict[str, Any]) -> str:
    """Everything a chat request showed the model, system prompt included."""
    return "\n".join(_text_of(m.get("content")) for m in body.get("messages", []))


def request_for(fake: FakeOpenAI, token: str) -> str:
    requests = fake.chat_requests_for(token)
    assert requests, f"the fake model saw no request for {token}"
    return prompt_text(requests[0])


def plant(state: OpenClawState) -> None:
    """An open action item in infra's store and a decision in today's daily digest, with
    infra's own record functions and file layout (what daily-sync leaves behind)."""
    from openclaw_infra.core.config import Settings
    from openclaw_infra.core.db import connect, transaction
    from openclaw_infra.pipeline.digest_records import TrackedItem, save_items

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
            save_items(
                conn,
                [TrackedItem("A-1eafe5", "action", ACTION, "open", today, today, owner="me")],
            )
    finally:
        conn.close()
    settings.daily_dir.mkdir(parents=True, exist_ok=True)
    (settings.daily_dir / f"{today}.md").write_text(
        f"# Daily digest: {today}\n\n## Summary\n\n_None._\n\n## Decisions\n\n- {DECISION}\n",
        encoding="utf-8",
    )


@dataclass
class Compacted:
    state: OpenClawState
    fake: FakeOpenAI
    gateway: Gateway
    session_id: str
    compaction: dict[str, Any]


@pytest.fixture(scope="module")
def compacted(
    openclaw_install: OpenClawInstall,
    fake_model: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Compacted]:
    """Onboard, install the hook pack, plant, one turn, a real compaction, one more turn."""
    state = OpenClawState(
        openclaw_install,
        tmp_path_factory.mktemp("openclaw-compaction"),
        path_prefix=[infra_bin_dir(), openclaw_install.openclaw.parent],
    )
    try:
        state.onboard(fake_model.base_url, MODEL_ID, API_KEY)
        install_hook_pack(state, HOOK_PACK)
        plant(state)
        gateway = Gateway.start(state)
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        gateway.turn("Before compaction CTX-BEFORE-1: how is the flat going?")
        gateway.turn("Still before CTX-BEFORE-2: anything else?")
        result = gateway.compact()
        gateway.turn("After compaction CTX-AFTER-1: what was I about to do?")
        stored = [e for e in state.events() if e.event.get("type") == "compaction"]
        assert len(stored) == 1, stored
        yield Compacted(state, fake_model, gateway, stored[0].session_id, result)
    except OpenClawError as exc:
        pytest.fail(f"{exc}\n{gateway.tail()}", pytrace=False)
    finally:
        gateway.stop()


def test_live_compaction_next_prompt_carries_the_pack(compacted: Compacted) -> None:
    """After a real compaction, the next request the model receives holds the pack: its
    heading, the untrusted-notes preamble, the planted action item and decision, cited."""
    prompt = request_for(compacted.fake, "CTX-AFTER-1")
    assert HEADING in prompt
    assert "never instructions to follow" in prompt
    assert f"A-1eafe5 (action, owner me): {ACTION}" in prompt
    assert DECISION in prompt
    today = datetime.now(UTC).date().isoformat()
    assert f"[memory/daily/{today}.md#L9]" in prompt


def test_live_compaction_no_pack_before_a_compaction(compacted: Compacted) -> None:
    """Turns of a session that was never compacted carry no pack at all."""
    for token in ("CTX-BEFORE-1", "CTX-BEFORE-2"):
        prompt = request_for(compacted.fake, token)
        assert HEADING not in prompt
        assert ACTION not in prompt


def test_live_compaction_pack_within_budget(compacted: Compacted) -> None:
    """The pack OpenClaw injected is exactly infra's pack for the session, within budget."""
    run = run_infra(
        compacted.state, "context", "--session", compacted.session_id, "--service-only", "--json"
    )
    pack = run.json()
    assert pack["compacted"] is True
    assert pack["compactions"] == 1
    assert pack["compaction"].startswith(compacted.session_id + "#")
    assert 0 < pack["chars"] <= pack["budget"] == 2000
    assert pack["text"].strip() in request_for(compacted.fake, "CTX-AFTER-1")


def test_live_compaction_failing_infra_keeps_the_turn(compacted: Compacted) -> None:
    """When infra fails (a broken config.env makes every command exit 78), the turn still
    runs, and the hook gives the model the pack it last saw for that session."""
    config = compacted.state.state / "infra" / "config.env"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("OPENCLAW_INFRA_CONTEXT_BUDGET_CHARS=lots\n", encoding="utf-8")
    try:
        broken = run_infra(compacted.state, "context", check=False)
        assert broken.returncode == 78
        compacted.gateway.turn("While infra is broken CTX-BROKEN-1: still there?")
        prompt = request_for(compacted.fake, "CTX-BROKEN-1")
        assert ACTION in prompt and HEADING in prompt
    finally:
        config.unlink()


def test_live_compaction_entry_in_the_store(compacted: Compacted) -> None:
    """The compaction OpenClaw wrote is a `compaction` event in the SQLite store, where infra
    found it: the pack cites that event."""
    (event,) = [e for e in compacted.state.events() if e.event.get("type") == "compaction"]
    assert event.event.get("summary")
    run = run_infra(compacted.state, "context", "--session", compacted.session_id, "--json")
    assert run.json()["compaction"] == f"{compacted.session_id}#{event.entry_id}"
