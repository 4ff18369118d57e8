"""The daily brief after daily-sync: one short message of the day's decisions and open action
items with ✅ / ❌ / ✏️ buttons whose values are real signed tokens; sent once, only when
enabled with a target; a failed send is recorded, reported and retried, never a failed
digest. `openclaw` is a stand-in program on PATH (the process boundary), recording its argv
and failing when told to; the real CLI's acceptance is in tests/openclaw_it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_daily import MON, MONDAY_DIGEST, TUE, two_agents_monday

from digest_env import DAILY, daily_path, daily_sync, local
from openclaw_infra.core.ledger import last_runs
from openclaw_infra.feedback import intake
from openclaw_infra.feedback.tokens import MAX_BYTES
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.pipeline.daily.brief import MAX_AGE_DAYS, MAX_ATTEMPTS, pending
from openclaw_infra.pipeline.digest_records import load_items
from summarize_env import SummarizeEnv, make_env

from conftest import OpenClawHome

CHAT = "4242"


@pytest.fixture
def env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SummarizeEnv]:
    yield from make_env(oc_home, monkeypatch)


class FakeOpenClaw:
    """An `openclaw` program first on PATH: appends its argv to a file; exits 1 with
    OpenClaw's `Reason:` line while `fail` is set."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        bin_dir = root / "fake-bin"
        bin_dir.mkdir()
        self.calls_file = root / "openclaw-calls.jsonl"
        self.fail_file = root / "openclaw-fail"
        script = bin_dir / "openclaw"
        script.write_text(
            f"#!{sys.executable}\n"
            "import json, pathlib, sys\n"
            f"pathlib.Path({str(self.calls_file)!r}).open('a').write("
            "json.dumps(sys.argv[1:]) + '\\n')\n"
            f"if pathlib.Path({str(self.fail_file)!r}).exists():\n"
            "    sys.stderr.write('[openclaw] Reason: gateway closed (1006)\\n')\n"
            "    sys.exit(1)\n"
        )
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def fail(self, on: bool = True) -> None:
        if on:
            self.fail_file.touch()
        else:
            self.fail_file.unlink(missing_ok=True)

    def calls(self) -> list[list[str]]:
        if not self.calls_file.exists():
            return []
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()]


@pytest.fixture
def openclaw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeOpenClaw:
    return FakeOpenClaw(tmp_path, monkeypatch)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def brief_on(env: SummarizeEnv, **extra: Any) -> Any:
    return env.settings(daily_brief_enabled=True, alert_target=CHAT, **extra)


def test_brief_lists_decisions_and_actions_with_signed_buttons_and_is_sent_once(
    env: SummarizeEnv, openclaw: FakeOpenClaw
) -> None:
    """Monday's digest is followed by one `openclaw message send` to the alert target (the
    brief's default): the decision and the open action item, numbered, each with a ✅ / ❌
    / ✏️ row whose values are tokens of at most 64 bytes that infra's own feedback intake
    accepts for the right target and verdict (the decision by its first transcript
    citation, the action by its tracked id). A rerun sends nothing more."""
    two_agents_monday(env)
    env.fake.reply_when(DAILY, MONDAY_DIGEST)
    settings = brief_on(env)
    report = daily_sync(settings, now=local(MON, 21, 30), embedder=HashEmbedder)
    assert report.brief.status == "sent" and report.brief.day == "2026-03-02"
    assert report.as_dict()["brief"] == {"status": "sent", "day": "2026-03-02", "error": None}
    (argv,) = openclaw.calls()
    assert argv[:2] == ["message", "send"]
    assert option(argv, "--channel") == "telegram" and option(argv, "--target") == CHAT
    message = option(argv, "--message")
    assert message.startswith("Daily brief · Monday 2026-03-02")
    assert "1. Paint the shed green on Saturday" in message
    assert "2. Send the invoice (Alice, due 2026-03-06)" in message
    assert "Ship the API" not in message  # priorities are not asked about
    rows = json.loads(option(argv, "--presentation"))["blocks"]
    assert [[b["label"] for b in row["buttons"]] for row in rows] == [
        ["1 ✅", "1 ❌", "1 ✏️"],
        ["2 ✅", "2 ❌", "2 ✏️"],
    ]
    conn = env.db()
    (invoice,) = [i for i in load_items(conn) if i.kind == "action"]
    conn.close()
    seen = []
    for row in rows:
        for button in row["buttons"]:
            assert button["action"]["type"] == "callback"
            value = button["action"]["value"]
            assert value.startswith("ifb") and len(value.encode()) <= MAX_BYTES
            pressed = local(TUE, 8, 0).timestamp()
            record = intake.record_value(settings, f"callback_data: {value}", now=pressed).record
            seen.append((record.target, record.verdict))
    decision_target = seen[0][0]
    assert decision_target.startswith("s1#")  # the decision's first source (ref 1)
    assert seen == [
        (decision_target, "good"),
        (decision_target, "bad"),
        (decision_target, "fix"),
        (invoice.id, "good"),
        (invoice.id, "bad"),
        (invoice.id, "fix"),
    ]
    again = daily_sync(settings, now=local(MON, 22, 0), embedder=HashEmbedder)
    assert again.brief.status == "none" and len(openclaw.calls()) == 1
    conn = env.db()
    details = json.loads(last_runs(conn, "daily-sync", 2)[1]["details"])
    conn.close()
    assert details["brief"] == {"status": "sent", "day": "2026-03-02", "error": None}


def test_failed_send_is_reported_and_retried_never_a_failed_digest(
    env: SummarizeEnv, openclaw: FakeOpenClaw
) -> None:
    """The sender fails: the digest is written, the day done and the run ok; the report
    names OpenClaw's reason and the retry. The next run (no day owed) sends the same
    message; a brief that keeps failing is given up after MAX_ATTEMPTS."""
    two_agents_monday(env)
    env.fake.reply_when(DAILY, MONDAY_DIGEST)
    settings = brief_on(env, daily_brief_channel="signal", daily_brief_target="+4711")
    openclaw.fail()
    report = daily_sync(settings, now=local(MON, 21, 30), embedder=HashEmbedder)
    assert report.files == ["memory/daily/2026-03-02.md"] and daily_path(env, MON).exists()
    assert report.brief.status == "failed"
    assert report.brief.error == ("exit 1: gateway closed (1006) (retried by the next daily-sync)")
    conn = env.db()
    assert last_runs(conn, "daily-sync", 1)[0]["status"] == "ok"
    conn.close()
    openclaw.fail(False)
    retried = daily_sync(settings, now=local(TUE, 8, 0), embedder=HashEmbedder)
    assert retried.days == [] and retried.brief.status == "sent"
    first, second = openclaw.calls()
    assert first == second and option(first, "--target") == "+4711"
    assert option(first, "--channel") == "signal"


def test_brief_gives_up_after_max_attempts(env: SummarizeEnv, openclaw: FakeOpenClaw) -> None:
    """Every attempt fails: MAX_ATTEMPTS sends in all, then nothing is owed."""
    two_agents_monday(env)
    env.fake.reply_when(DAILY, MONDAY_DIGEST)
    settings = brief_on(env)
    openclaw.fail()
    daily_sync(settings, now=local(MON, 21, 30), embedder=HashEmbedder)
    for _ in range(MAX_ATTEMPTS):
        report = daily_sync(settings, now=local(TUE, 8, 0), embedder=HashEmbedder)
    assert len(openclaw.calls()) == MAX_ATTEMPTS
    assert report.brief.status == "none"

    conn = env.db()
    assert pending(conn) is None
    conn.close()


def test_stale_brief_is_not_sent(env: SummarizeEnv, openclaw: FakeOpenClaw) -> None:
    """A brief still owed when its day is more than MAX_AGE_DAYS old is not sent."""
    two_agents_monday(env)
    env.fake.reply_when(DAILY, MONDAY_DIGEST)
    settings = brief_on(env)
    openclaw.fail()
    daily_sync(settings, now=local(MON, 21, 30), embedder=HashEmbedder)
    openclaw.fail(False)
    later = local(MON.replace(day=MON.day + MAX_AGE_DAYS + 1), 8, 0)
    report = daily_sync(settings, now=later, embedder=HashEmbedder)
    assert report.brief.status == "stale" and len(openclaw.calls()) == 1


def test_no_brief_unless_enabled_with_a_target(env: SummarizeEnv, openclaw: FakeOpenClaw) -> None:
    """Off by default; enabled without a target (none of its own, no alert target) is off
    too: no message, no token, nothing owed."""
    two_agents_monday(env)
    env.fake.reply_when(DAILY, MONDAY_DIGEST)
    report = daily_sync(
        env.settings(daily_brief_enabled=True), now=local(MON, 21, 30), embedder=HashEmbedder
    )
    assert report.brief.status == "off" and report.files
    assert openclaw.calls() == []
    assert not env.settings().feedback_key_path.exists()
    conn = env.db()
    assert pending(conn) is None
    conn.close()
