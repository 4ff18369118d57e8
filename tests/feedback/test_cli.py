"""`infra feedback` and `infra lessons` as the agent and the scheduler run them: the real
CLI in a subprocess, one line out, the documented exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest


def _one_error(proc: Any, code: int, text: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("infra: error: ") and proc.stderr.count("\n") == 1
    assert text in proc.stderr


def test_button_round_trip_and_refusals(oc_home: Any) -> None:
    token = oc_home.run("feedback", "token", "--target", "A-1b2c3d4e", "--verdict", "bad")
    assert token.returncode == 0, token.stderr
    value = token.stdout.strip()
    assert token.stdout.count("\n") == 1 and value.startswith("ifb") and len(value) <= 64
    (oc_home.data / "feedback.key").stat()  # created on first use

    first = oc_home.run("feedback", "record", f"callback_data: {value}", "--channel", "telegram")
    assert (first.returncode, first.stdout) == (0, "recorded: bad on A-1b2c3d4e (feedback #1)\n")
    again = oc_home.run("feedback", "record", value)
    assert again.returncode == 0 and again.stdout.startswith("already recorded: bad on A-1b2c3d4e")

    forged = value[:-1] + ("A" if value[-1] != "A" else "B")
    _one_error(oc_home.run("feedback", "record", forged), 65, "signature does not match")
    _one_error(oc_home.run("feedback", "record", "hello"), 65, "not a feedback button value")

    listed = json.loads(oc_home.run("feedback", "list", "--json").stdout)
    assert [(r["target"], r["verdict"], r["channel"]) for r in listed] == [
        ("A-1b2c3d4e", "bad", "telegram")
    ]


def test_words_usage_errors_and_rate_limit(oc_home: Any) -> None:
    ok = oc_home.run(
        "feedback", "record", "--target", "A-1b2c3d4e", "--verdict", "fix",
        "--note", "that's wrong, the dentist is Dr. X",
    )  # fmt: skip
    assert ok.returncode == 0 and ok.stdout.startswith("recorded: fix on A-1b2c3d4e")
    _one_error(
        oc_home.run("feedback", "record", "--target", "A-1b2c3d4e", "--verdict", "approvedd"),
        2,
        "unknown verdict",
    )
    _one_error(oc_home.run("feedback", "record"), 2, "needs a button VALUE")
    _one_error(oc_home.run("feedback", "record", "ifb1.x", "--target", "A-1b2c3d4e"), 2, "not both")
    _one_error(
        oc_home.run("feedback", "token", "--target", "some words", "--verdict", "bad"),
        2,
        "spaces",
    )
    _one_error(oc_home.run("feedback", "list", "--since", "last tuesday"), 2, "--since")
    limited = oc_home.run(
        "feedback", "record", "--target", "A-1b2c3d4e", "--verdict", "bad",
        extra_env={"OPENCLAW_INFRA_FEEDBACK_MAX_PER_TARGET_PER_DAY": "1"},
    )  # fmt: skip
    _one_error(limited, 75, "limit 1")
    text = oc_home.run("feedback", "list", "--since", "1d")
    assert text.returncode == 0 and text.stdout.count("\n") == 1
    assert '"that\'s wrong, the dentist is Dr. X"' in text.stdout


def test_rotate_key_keeps_outstanding_buttons(oc_home: Any) -> None:
    value = oc_home.run(
        "feedback", "token", "--target", "s1#e1", "--verdict", "good", "--ttl-days", "2"
    ).stdout.strip()
    rotated = oc_home.run("feedback", "rotate-key")
    assert rotated.returncode == 0 and "work until they expire" in rotated.stdout
    assert oc_home.run("feedback", "record", value).returncode == 0
    assert "no earlier key" in oc_home.run("feedback", "rotate-key", "--revoke").stdout
    # a revoked key's values are refused, replays of recorded ones included
    _one_error(oc_home.run("feedback", "record", value), 65, "signature")


@pytest.mark.model
def test_lessons_command_writes_and_indexes(oc_home: Any) -> None:
    oc_home.run(
        "feedback", "record", "--target", "A-1b2c3d4e", "--verdict", "fix",
        "--note", "the dentist is Dr. X",
    )  # fmt: skip
    first = oc_home.run("lessons", "--summarizer", "extractive")
    assert first.returncode == 0, first.stderr
    assert "1 new bad/fix feedback; 1 lesson(s)" in first.stdout
    assert "memory/lessons/MEMORY.md written" in first.stdout
    text = oc_home.settings().lessons_path.read_text()
    assert "the dentist is Dr. X" in text
    from openclaw_infra.core import outputs
    from openclaw_infra.core.db import connect

    conn = connect(oc_home.data / "infra.sqlite")
    assert outputs.files_to_index(conn) == []  # recallable as soon as the job exits
    assert outputs.file_state(conn, "memory/lessons/MEMORY.md") is not None
    second = json.loads(oc_home.run("lessons", "--json").stdout)
    assert (second["new_feedback"], second["written"]) == (0, False)
