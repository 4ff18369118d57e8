"""The feedback log: replays, words, rate limits, the newest verdict, 8 writer processes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from openclaw_infra.core.db import connect
from openclaw_infra.core.errors import UsageError
from openclaw_infra.feedback import intake, store, tokens
from openclaw_infra.feedback.records import RATE_LIMITED, RateLimitedError

NOW = 1_780_000_000.0


def test_replay_is_stored_once(oc_home) -> None:
    settings = oc_home.settings()
    value = tokens.issue(settings, "A-1b2c3d4e", "good", now=NOW)
    first = intake.record_value(settings, value, channel="telegram", now=NOW)
    second = intake.record_value(settings, f"callback_data: {value}", now=NOW + 5)
    assert not first.already and second.already
    assert second.record == first.record
    assert intake.answer(second).startswith("already recorded: good on A-1b2c3d4e")
    rec = first.record
    assert (rec.channel, rec.target, rec.verdict, rec.note) == (
        "telegram",
        "A-1b2c3d4e",
        "good",
        None,
    )
    assert rec.token_id == tokens.token_id(value) and value not in rec.token_id
    assert len(store.list_records(connect(settings.db_path))) == 1


def test_words_with_a_note_and_an_agent_retry(oc_home) -> None:
    settings = oc_home.settings()
    note = "that's wrong, the dentist is Dr. X"
    one = intake.record_words(settings, "A-1b2c3d4e", "fix", note=note, now=NOW)
    retry = intake.record_words(settings, "A-1b2c3d4e", "FIX", note=f"  {note} ", now=NOW + 30)
    later = intake.record_words(settings, "A-1b2c3d4e", "fix", note=note, now=NOW + 3600)
    assert retry.already and retry.record.id == one.record.id
    assert not later.already
    assert [r.note for r in store.list_records(connect(settings.db_path))] == [note, note]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"verdict": "approvedd"}, "unknown verdict"),
        ({"note": "x" * 1001}, "more than 1000"),
        ({"note": "a\x00b"}, "NUL"),
        ({"channel": "tele gram"}, "channel"),
        ({"target": "no target here"}, "spaces"),
    ],
)
def test_words_bad_input(oc_home, kwargs: dict[str, str], match: str) -> None:
    args = {"target": "A-1b2c3d4e", "verdict": "bad", **kwargs}
    with pytest.raises(UsageError, match=match):
        intake.record_words(
            oc_home.settings(),
            args.pop("target"),
            args.pop("verdict"),
            now=NOW,
            **args,  # type: ignore[arg-type]
        )
    assert not oc_home.settings().db_path.exists()


def test_rate_limit_per_target_and_per_day(oc_home) -> None:
    settings = oc_home.settings(feedback_max_per_target_per_day=3, feedback_max_per_day=5)
    for i in range(3):
        intake.record_words(settings, "A-1b2c3d4e", "bad", note=f"n{i}", now=NOW + i)
    with pytest.raises(RateLimitedError) as err:
        intake.record_words(settings, "A-1b2c3d4e", "bad", note="n3", now=NOW + 10)
    assert err.value.exit_code == 75 and "A-1b2c3d4e" in str(err.value)
    button = tokens.issue(settings, "A-1b2c3d4e", "good", now=NOW)
    with pytest.raises(RateLimitedError):
        intake.record_value(settings, button, now=NOW + 11)
    # other targets until the day's limit
    intake.record_words(settings, "P-1b2c3d4e", "bad", now=NOW + 12)
    intake.record_words(settings, "s1#e1", "bad", now=NOW + 13)
    with pytest.raises(RateLimitedError, match="limit 5"):
        intake.record_words(settings, "s1#e2", "bad", now=NOW + 14)
    conn = connect(settings.db_path)
    assert len(store.list_records(conn)) == 5
    assert store.refusals_since(conn, "2000-01-01") == {RATE_LIMITED: 3}
    # 24 hours after the first ones, the window has moved on
    assert not intake.record_value(settings, button, now=NOW + 86400 + 5).already


def test_latest_verdicts(oc_home) -> None:
    settings = oc_home.settings()
    intake.record_words(settings, "A-1b2c3d4e", "bad", now=NOW)
    intake.record_words(settings, "A-1b2c3d4e", "good", now=NOW + 1)
    intake.record_words(settings, "P-1b2c3d4e", "fix", now=NOW + 2)
    conn = connect(settings.db_path)
    wanted = ["A-1b2c3d4e", "P-1b2c3d4e", "A-ffffffff", *(f"A-{i:08x}" for i in range(1200))]
    assert store.latest_verdicts(conn, wanted) == {"A-1b2c3d4e": "good", "P-1b2c3d4e": "fix"}
    assert store.latest_verdicts(conn, []) == {}


WRITER = """
import sys
from openclaw_infra.core.config import Settings
from openclaw_infra.core.logging import configure_logging
from openclaw_infra.feedback import intake
configure_logging(None)  # log lines to stderr, the answer alone on stdout
s = Settings(timezone="UTC")
n, k = int(sys.argv[1]), int(sys.argv[2])
for i in range(k):
    intake.record_words(s, f"A-{n:04x}{i:04x}", "bad", note=f"writer {n} note {i}")
    for value in sys.argv[3:]:
        intake.record_value(s, value, channel="telegram")
print("ok")
"""


@pytest.mark.slow
def test_eight_writer_processes_lose_nothing(oc_home) -> None:
    settings = oc_home.settings()
    shared = [tokens.issue(settings, f"B-{i:08x}", "good") for i in range(3)]
    per_writer = 12
    env = {**oc_home.env, "OPENCLAW_INFRA_FEEDBACK_MAX_PER_DAY": "100000"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(n), str(per_writer), *shared],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    rows = store.list_records(connect(settings.db_path))
    words = [r for r in rows if r.token_id is None]
    buttons = [r for r in rows if r.token_id is not None]
    assert len(words) == 8 * per_writer
    assert len({r.target for r in words}) == 8 * per_writer
    assert sorted(r.target for r in buttons) == [f"B-{i:08x}" for i in range(3)]
    assert len({r.id for r in rows}) == len(rows)
