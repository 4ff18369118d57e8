"""The learning loop against the real OpenClaw 2026.9.6: the daily brief's buttons, a pressed
button recorded by the agent through the shipped skill, and a lesson in the next prompt.

One OpenClaw home of its own (onboarded against the session's fake model), so the hook and
skills configured here never touch the scenario the other live tests read.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from openclaw_infra.core.config import Settings
from openclaw_infra.feedback.tokens import MAX_BYTES, issue
from openclaw_infra.openclaw.send import send_argv
from openclaw_infra.pipeline.daily.brief import BUTTONS, brief_items, compose
from openclaw_infra.pipeline.digest_records import TrackedItem
from openclaw_infra.pipeline.items import ACTION, DECISION, OPEN, Item

from .conftest import timed
from .fake_openai import API_KEY, MODEL_ID, FakeOpenAI, Text, tool
from .harness import (
    BOOTSTRAP_BASENAMES,
    FEEDBACK_SKILL,
    Gateway,
    OpenClawError,
    OpenClawInstall,
    OpenClawState,
    enable_bootstrap_files,
    infra_bin_dir,
    request_text,
    run_infra,
)
from .scenario import EXEC_WAIT

CHAT = "123456789"
ACTION_ID = "A-1b2c3d"
DECISION_CITE = "5f0c2a9e-7d1b-4c3a-9e8f-2b6d4a1c0e9f#0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CORRECTION = "The dentist is Dr. Berg at Parkveien 12, not Dr. Lind"


@pytest.fixture(scope="module")
def home(
    openclaw_install: OpenClawInstall,
    fake_model: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> OpenClawState:
    """An onboarded home with `infra` on PATH and the feedback skill installed."""
    state = OpenClawState(
        openclaw_install,
        tmp_path_factory.mktemp("openclaw-feedback"),
        path_prefix=[infra_bin_dir(), openclaw_install.openclaw.parent],
    )
    try:
        with timed("feedback onboard"):
            state.onboard(fake_model.base_url, MODEL_ID, API_KEY)
        state.install_skill(FEEDBACK_SKILL)
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)
    return state


def settings_of(state: OpenClawState) -> Settings:
    return Settings(
        state_dir=state.state,
        workspace_dir=state.workspace,
        data_dir=state.state / "infra",
        timezone="UTC",
    )


def test_brief_payload_is_accepted_by_the_real_cli(home: OpenClawState) -> None:
    """The brief infra builds (a decision and an action item, three signed buttons each, in
    the `{label, action: {type: callback, value}}` form) goes through the real `openclaw
    message send --dry-run --json`, which answers with the channel and target infra asked
    for; the same command with a broken payload is refused, so acceptance means something."""
    settings = settings_of(home)
    decision = Item(DECISION, "Paint the shed green on Saturday", (1,))
    action = TrackedItem(ACTION_ID, ACTION, "Send the invoice", OPEN, "2026-03-02", "2026-03-02")
    items, more = brief_items([(decision, [DECISION_CITE])], [(action, [], "new")], 8)
    brief = compose(
        date(2026, 3, 2),
        items,
        more,
        "memory/daily/2026-03-02.md",
        lambda target, verdict: issue(settings, target, verdict),
    )
    buttons = [b for row in brief.presentation["blocks"] for b in row["buttons"]]
    assert len(buttons) == 2 * len(BUTTONS)
    assert all(b["action"]["type"] == "callback" for b in buttons)
    assert all(len(b["action"]["value"].encode()) <= MAX_BYTES for b in buttons)

    argv = send_argv("telegram", CHAT, brief.message, presentation=brief.presentation, dry_run=True)
    assert argv[0] == "openclaw"
    done = home.openclaw(*argv[1:])
    answer: dict[str, Any] = json.loads(done.stdout)
    assert answer["action"] == "send" and answer["dryRun"] is True
    assert answer["channel"] == "telegram"
    assert answer["payload"]["to"] == f"telegram:{CHAT}"
    sent = json.loads(argv[argv.index("--presentation") + 1])
    assert sent == brief.presentation  # the argv carries the payload whole, not re-encoded

    broken = [*argv]
    broken[broken.index("--presentation") + 1] = "{not json"
    refused = home.openclaw(*broken[1:], check=False)
    assert refused.returncode != 0 and "presentation" in refused.stdout + refused.stderr


def test_pressed_button_in_a_real_turn_ends_in_a_feedback_row(
    home: OpenClawState, fake_model: FakeOpenAI
) -> None:
    """`callback_data: <value>` sent into a real agent turn, with the feedback skill in the
    system prompt: the model runs `infra feedback record '<value>'` (the call the skill
    asks for) through OpenClaw's exec tool, and infra's log holds the verdict."""
    value = run_infra(
        home, "feedback", "token", "--target", ACTION_ID, "--verdict", "good"
    ).stdout.strip()
    assert value.startswith("ifb") and len(value.encode()) <= MAX_BYTES
    fake_model.script(
        value,
        tool("exec", command=f"infra feedback record '{value}'", **EXEC_WAIT),
        Text(f"recorded: good on {ACTION_ID}"),
    )
    with timed("feedback turn"):
        home.turn(f"callback_data: {value}", session="feedback")
    requests = fake_model.chat_requests_for(value)
    assert requests, "the turn never reached the model"
    assert "infra-feedback" in request_text(requests[0])  # the skill was offered
    tool_results = request_text(requests[-1])
    assert f"recorded: good on {ACTION_ID}" in tool_results

    rows = run_infra(home, "feedback", "list", "--json").json()
    records = rows["records"] if isinstance(rows, dict) else rows
    mine = [r for r in records if r["target"] == ACTION_ID]
    assert [r["verdict"] for r in mine] == ["good"]
    again = run_infra(home, "feedback", "record", f"callback_data: {value}")
    assert "already recorded" in again.stdout


def test_lesson_reaches_the_next_prompt_through_bootstrap_extra_files(
    home: OpenClawState, fake_model: FakeOpenAI
) -> None:
    """After a correction and `infra lessons`, with OpenClaw's bundled bootstrap-extra-files
    hook pointing at the lessons file infra writes (as deploy.sh configures it), the next
    prompt the model receives through the gateway (which alone runs internal hooks) carries
    the correction."""
    settings = settings_of(home)
    run_infra(
        home,
        "feedback",
        "record",
        "--target",
        DECISION_CITE,
        "--verdict",
        "fix",
        "--note",
        CORRECTION,
    )
    run_infra(home, "lessons", "--summarizer", "extractive")
    lessons = settings.lessons_path
    rel = lessons.relative_to(home.workspace).as_posix()
    assert CORRECTION in lessons.read_text(encoding="utf-8")
    assert lessons.name in BOOTSTRAP_BASENAMES, (
        f"infra writes the lessons to {rel}, but OpenClaw's bootstrap-extra-files loads only "
        f"files named {sorted(BOOTSTRAP_BASENAMES)}: the agent would never see them"
    )
    enable_bootstrap_files(home, [rel])

    token = "[turn lesson-check]"
    fake_model.script(token, Text("Noted."))
    with timed("gateway and lesson turn"):
        gateway = Gateway.start(home)
        try:
            gateway.turn(f"Who is my dentist again? {token}")
        finally:
            gateway.stop()
    requests = fake_model.chat_requests_for(token)
    assert requests, "the turn never reached the model"
    assert CORRECTION in request_text(requests[0])
