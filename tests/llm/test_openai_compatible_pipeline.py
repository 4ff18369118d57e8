"""OPENCLAW_INFRA_SUMMARIZER=openai-compatible end to end: hourly notes, the daily digest,
the weekly synthesis and lessons through the real `openai` SDK against a local fake
OpenAI-compatible server, with the same prompts, budgets, grounding check and run ledger
as the Claude path; the real CLI for exit codes, health and start-up imports.

The fake Messages API runs too, with a key configured, to show that an explicit
openai-compatible mode never sends a request to Anthropic."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from digest_env import (
    CRITIQUE,
    DAILY,
    DRAFT,
    HOURLY,
    REFINE,
    daily_path,
    daily_sync,
    local,
    sections,
    summarize_until,
    talk,
    weekly_path,
    weekly_synthesis,
)
from openclaw_infra.core.config import Settings
from openclaw_infra.core.ledger import last_runs
from openclaw_infra.feedback.lesson_text import SYSTEM as LESSON_SYSTEM
from openclaw_infra.llm.tokens import REQUEST_OVERHEAD_TOKENS, estimate_tokens
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.pipeline.daily.digest import DAILY_DIGEST
from openclaw_infra.pipeline.hourly import HOURLY_NOTES
from openclaw_infra.pipeline.weekly.passes import WEEKLY_SYNTHESIS
from summarize_env import SummarizeEnv, at, bullets, citations, ids, split_file, summarize

from conftest import OpenClawHome
from fake_anthropic import FakeAnthropic
from fake_openai import MODEL, FakeOpenAI, Fault
from openclaw_fixtures import write_jsonl_session

MON, WED, SUN = date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 8)
WEEK = "2026-W10"
MODE = "openai-compatible"


@dataclass
class LocalEnv(SummarizeEnv):
    """`fake` is the local OpenAI-compatible server; `claude` the Messages API, which holds
    a key but must see no request."""

    claude: FakeAnthropic | None = None

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "summarizer": MODE,
            "openai_base_url": self.fake.url,
            "openai_model": MODEL,
            "openai_timeout_s": 5.0,
        }
        values.update(overrides)
        assert self.claude is not None
        return self.home.settings(
            **{
                "embedding_model": "test-hash-embedder",
                "anthropic_api_key": "sk-ant-test-fake-key-0123456789",
                "anthropic_base_url": self.claude.url,
                "llm_retry_base_s": 0.01,
                "llm_max_retries": 2,
                **values,
            }
        )

    def cli_env(self, **extra: str) -> dict[str, str]:
        assert self.claude is not None
        env = {
            "OPENCLAW_INFRA_ANTHROPIC_API_KEY": "sk-ant-test-fake-key-0123456789",
            "OPENCLAW_INFRA_ANTHROPIC_BASE_URL": self.claude.url,
            "OPENCLAW_INFRA_SUMMARIZER": MODE,
            "OPENCLAW_INFRA_OPENAI_BASE_URL": self.fake.url,
            "OPENCLAW_INFRA_OPENAI_MODEL": MODEL,
            "OPENCLAW_INFRA_OPENAI_TIMEOUT_S": "5",
            "OPENCLAW_INFRA_LLM_RETRY_BASE_S": "0.01",
            "OPENCLAW_INFRA_LLM_MAX_RETRIES": "2",
            "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
            "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
        }
        env.update(extra)
        return env


@pytest.fixture
def env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalEnv]:
    monkeypatch.setenv("OPENCLAW_INFRA_TEST_EMBEDDER", "1")
    with FakeOpenAI() as server, FakeAnthropic() as claude:
        yield LocalEnv(oc_home, server, claude)  # type: ignore[arg-type]
        assert claude.stats.calls == 0  # the explicit mode never falls back to Claude


def conversation(env: LocalEnv, session: str = "s1", minute: float = 5) -> None:
    write_jsonl_session(
        env.state,
        "main",
        session,
        [
            ("user", "We decided the tomatoes go on the balcony in April.", at(minute)),
            ("assistant", "Noted: tomatoes on the balcony in April.", at(minute + 1)),
        ],
    )


def run_row(env: LocalEnv, job: str) -> dict[str, Any]:
    conn = env.db()
    try:
        row = last_runs(conn, job)[0]
        return {**dict(row), "details": json.loads(row["details"] or "{}")}
    finally:
        conn.close()


def systems(fake: FakeOpenAI) -> list[str]:
    return [str(r["messages"][0]["content"]) for r in fake.stats.requests]


# --- in process: the pipeline entry points --------------------------------------------------


def test_hourly_notes_same_prompts_provenance_and_ledger(env: LocalEnv) -> None:
    """The hour is summarised by the local model with the hourly prompt the Claude path
    sends; the file names the mode and model, every bullet cites a real entry, and the run
    ledger holds the server's own token counts at the local price (0)."""
    conversation(env)
    report = summarize(env.settings(), now=at(120), embedder=HashEmbedder)
    assert report.mode == MODE and report.sections == 1
    assert systems(env.fake) == [HOURLY_NOTES.prompts.map_system]
    front, body = split_file(env.hourly().read_text())
    assert front["summarizer"] == MODE and front["model"] == MODEL
    lines = bullets(body)
    assert lines and all(set(citations(line)) <= ids("s1", 2) for line in lines)
    assert all(citations(line) for line in lines)
    run = run_row(env, "summarize")
    assert (run["tokens_in"], run["tokens_out"]) == (
        env.fake.stats.tokens_in,
        env.fake.stats.tokens_out,
    )
    assert run["cost_usd"] == 0 and run["details"]["summarizer"] == MODE


def test_long_hour_is_split_within_the_local_budget(env: LocalEnv) -> None:
    """A local model's small context: an hour larger than OPENAI_INPUT_BUDGET_TOKENS is
    map-reduced, every request within that budget (not the Claude one), nothing cut."""
    turns = [
        (
            "user" if i % 2 == 0 else "assistant",
            f"Point {i}: " + "the garden plan grows. " * 60,
            at(1 + i),
        )
        for i in range(24)
    ]
    write_jsonl_session(env.state, "main", "long", turns)
    budget = 4000
    summarize(env.settings(openai_input_budget_tokens=budget), now=at(120), embedder=HashEmbedder)
    assert env.fake.stats.ok_calls > 2  # map chunks, then a reduce
    for request in env.fake.stats.requests:
        size = REQUEST_OVERHEAD_TOKENS + sum(
            estimate_tokens(str(m["content"])) + 4 for m in request["messages"]
        )
        assert size <= budget
    front, _ = split_file(env.hourly().read_text())
    assert any(str(f).startswith("map_reduce:") for s in front["sections"] for f in s["flags"])


def test_uncited_answer_falls_back_to_quotes_flagged(env: LocalEnv) -> None:
    """The same grounding check: a local model that cites nothing it was given gets its
    answer replaced by quoted sentences, flagged, never an unattributed summary."""
    conversation(env)
    env.fake.reply_when(HOURLY, "- Tomatoes are nice.\n- I cannot cite anything.")
    summarize(env.settings(), now=at(120), embedder=HashEmbedder)
    front, body = split_file(env.hourly().read_text())
    assert "llm_output_unusable" in front["sections"][0]["flags"]
    assert "Tomatoes are nice" not in body
    assert all(citations(line) for line in bullets(body))


def test_daily_and_weekly_same_passes_grounding_and_cost(env: LocalEnv) -> None:
    """A week through the local model: the daily digest and the three weekly passes (draft,
    critique, refine) send the Claude path's prompts; the critique's flagged claim is
    dropped; files name the mode and model; a configured price is charged in the ledger."""
    priced = {"openai_price_input_per_mtok": 1.0, "openai_price_output_per_mtok": 2.0}
    talk(env, "s1", MON, ["We decided to paint the shed green on Saturday.", "Alice sends it."])
    talk(env, "s2", WED, ["Alice reviewed the API design.", "The API ships before tests."])
    summarize_until(env, local(WED, 21, 30))
    env.fake.reply_when(
        DAILY,
        "- SUMMARY: The user decided to paint the shed green on Saturday. [1]\n"
        "- ACTION: Send the invoice to Acme | owner: Alice | due: 2026-03-06 | status: open [2]",
        "- SUMMARY: Alice reviewed the API design with the team. [1]\n"
        "- DECISION: The API ships before the tests. [2]",
    )
    before = env.fake.stats.tokens_in, env.fake.stats.tokens_out
    daily = daily_sync(env.settings(**priced), now=local(SUN, 21, 30), embedder=HashEmbedder)
    assert daily.files == [f"memory/daily/{MON}.md", f"memory/daily/{WED}.md"]
    assert daily.mode == MODE
    used = env.fake.stats.tokens_in - before[0], env.fake.stats.tokens_out - before[1]
    run = run_row(env, "daily-sync")
    assert (run["tokens_in"], run["tokens_out"]) == used
    assert run["cost_usd"] == pytest.approx((used[0] * 1.0 + used[1] * 2.0) / 1e6)
    assert DAILY_DIGEST.prompts.map_system in systems(env.fake)
    text = daily_path(env, MON).read_text()
    front, _ = split_file(text)
    assert front["summarizer"] == MODE and front["model"] == MODEL
    assert any("Send the invoice to Acme" in line for line in sections(text)["Action items"])

    shed = "The user decided to paint the shed green on Saturday."
    env.fake.reply_when(
        DRAFT,
        f"- SUMMARY: {shed} [1]\n- SUMMARY: The user moved to Berlin. [3]\n"
        "- DECISION: The API ships before the tests. [4]",
    )
    env.fake.reply_when(CRITIQUE, "- UNSUPPORTED: D2: no daily says the user moved to Berlin")
    env.fake.reply_when(
        REFINE, f"- SUMMARY: {shed} [1]\n- DECISION: The API ships before the tests. [4]"
    )
    env.fake.stats.requests.clear()
    weekly = weekly_synthesis(env.settings(), now=local(SUN, 22, 30), embedder=HashEmbedder)
    assert weekly.weeks == [WEEK] and weekly.mode == MODE
    prompts = WEEKLY_SYNTHESIS.prompts
    sent = systems(env.fake)
    assert sent[0] == prompts.map_system and len(sent) == 3
    assert sent[1].startswith(CRITIQUE) and sent[2].startswith(REFINE)
    wtext = weekly_path(env, WEEK).read_text()
    wfront, wbody = split_file(wtext)
    assert wfront["summarizer"] == MODE and wfront["model"] == MODEL
    assert [p["pass"] for p in wfront["passes"]] == ["draft", "critique", "refine"]
    assert wfront["critique"] is not None and wfront["grounding"]["kept"] >= 2
    assert "Berlin" not in wbody and "shed green" in wbody


# --- the real CLI -----------------------------------------------------------------------


def health(env: LocalEnv, **extra: str) -> dict[str, dict[str, Any]]:
    proc = env.home.run("health", "--json", extra_env=env.cli_env(**extra))
    return {c["name"]: c for c in json.loads(proc.stdout)["checks"]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_cli_summarize_faults_and_health(env: LocalEnv) -> None:
    """`infra summarize` in openai-compatible mode: a 429 with retry-after is waited out
    and recorded; a server that keeps failing is exit 75 naming the endpoint, the hour
    stays owed; a server not running is exit 75 too and health's mode line says it was
    unreachable; once it is back the owed hour is done. Health names the mode, OK."""
    conversation(env)
    env.fake.script(Fault("429", retry_after=0.05))
    first = env.home.run("summarize", extra_env=env.cli_env())
    assert first.returncode == 0, first.stderr
    assert f"with {MODE} (" in first.stdout
    details = run_row(env, "summarize")["details"]
    assert details["llm_retries"] == 1 and details["llm_errors"] == {"rate_limited": 1}
    mode = health(env)["summarize:mode"]
    assert mode["state"] == "OK" and mode["summary"] == f"{MODE} ({MODEL} at {env.fake.url})"

    conversation(env, "s2", minute=65)
    env.fake.fail_always("503")
    down = env.home.run("summarize", extra_env=env.cli_env())
    assert down.returncode == 75
    assert f"OpenAI-compatible endpoint {env.fake.url} unavailable" in down.stderr
    checks = health(env)
    assert (
        checks["summarize:llm"]["state"] == "WARNING" and checks["summarize:mode"]["state"] == "OK"
    )

    gone = f"http://127.0.0.1:{free_port()}/v1"
    refused = env.home.run("summarize", extra_env=env.cli_env(OPENCLAW_INFRA_OPENAI_BASE_URL=gone))
    assert refused.returncode == 75 and gone in refused.stderr
    mode = health(env, OPENCLAW_INFRA_OPENAI_BASE_URL=gone)["summarize:mode"]
    assert mode["state"] == "WARNING" and "unreachable at the last run" in mode["summary"]

    env.fake.fail_always(None)
    done = env.home.run("summarize", "--json", extra_env=env.cli_env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sections"] == 1
    assert health(env)["summarize:mode"]["state"] == "OK"


def test_cli_config_errors_and_auto(env: LocalEnv) -> None:
    """No model: exit 78 naming the setting, health CRITICAL. A base URL that is not one:
    exit 78 naming the variable. `auto` with only local settings stays extractive (a local
    server is never picked by itself)."""
    conversation(env)
    no_model = env.cli_env(OPENCLAW_INFRA_OPENAI_MODEL="")
    failed = env.home.run("summarize", extra_env=no_model)
    assert failed.returncode == 78 and "OPENCLAW_INFRA_OPENAI_MODEL" in failed.stderr
    assert health(env, OPENCLAW_INFRA_OPENAI_MODEL="")["summarize:mode"]["state"] == "CRITICAL"
    bad_url = env.home.run(
        "summarize", extra_env=env.cli_env(OPENCLAW_INFRA_OPENAI_BASE_URL="localhost:11434")
    )
    assert bad_url.returncode == 78 and "OPENCLAW_INFRA_OPENAI_BASE_URL" in bad_url.stderr
    auto = {**env.cli_env(OPENCLAW_INFRA_SUMMARIZER="auto"), "OPENCLAW_INFRA_ANTHROPIC_API_KEY": ""}
    done = env.home.run("summarize", extra_env=auto)
    assert done.returncode == 0, done.stderr
    assert "with extractive" in done.stdout and env.fake.stats.calls == 0


def test_cli_lessons_worded_by_the_local_model(env: LocalEnv) -> None:
    """`infra lessons` in openai-compatible mode: the lesson prompt goes to the local model,
    its sentence is written, the report names the mode, the run's tokens are ledgered."""
    recorded = env.home.run(
        "feedback", "record", "--target", "A-1b2c3d4e", "--verdict", "fix",
        "--note", "the dentist is Dr. X", extra_env=env.cli_env(),
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    env.fake.reply_when(
        "into one lesson", "About the dentist, I said Dr. Y; the user corrected: it is Dr. X."
    )
    proc = env.home.run("lessons", "--json", extra_env=env.cli_env())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["mode"] == MODE
    assert systems(env.fake) == [LESSON_SYSTEM]
    text = (env.home.workspace / "memory" / "lessons" / "MEMORY.md").read_text()
    assert "About the dentist, I said Dr. Y; the user corrected: it is Dr. X." in text
    assert run_row(env, "lessons")["tokens_in"] == env.fake.stats.tokens_in


PROBE = """
import json, sys
from openclaw_infra.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["health"], ["health", "--json"]])
def test_start_up_imports_no_sdk(env: LocalEnv, args: list[str]) -> None:
    """With openai-compatible configured, `infra --help` and `infra health` load neither
    SDK (health sends no request to the endpoint)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env={**env.home.env, **env.cli_env()},
        check=False,
    )
    loaded = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert not loaded & {"openai", "anthropic", "httpx", "httpx2"}
    assert env.fake.stats.calls == 0
