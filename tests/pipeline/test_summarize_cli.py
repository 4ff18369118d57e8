"""`infra summarize` and its health checks as the operator and cron see them: the real CLI
in a subprocess, exit codes, stdout/stderr, the index, against the local fake API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from summarize_env import SummarizeEnv, at, headings, make_env, split_file

from conftest import OpenClawHome
from fake_anthropic import API_KEY
from openclaw_fixtures import write_jsonl_session


@pytest.fixture
def env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SummarizeEnv]:
    yield from make_env(oc_home, monkeypatch)


def conversation(env: SummarizeEnv) -> None:
    write_jsonl_session(
        env.state,
        "main",
        "s1",
        [
            ("user", "We decided the tomatoes go on the balcony in April.", at(5)),
            ("assistant", "Noted: tomatoes on the balcony in April.", at(6)),
        ],
    )


def health(env: SummarizeEnv, **extra: str) -> dict[str, dict[str, object]]:
    proc = env.home.run("health", "--json", extra_env=env.cli_env(**extra))
    return {c["name"]: c for c in json.loads(proc.stdout)["checks"]}


def test_summarize_then_nothing_new_then_recall(env: SummarizeEnv) -> None:
    """First run writes and indexes the hour (exit 0, a one-line report); the second says
    nothing new and writes nothing; `infra recall` finds the summary in the store."""
    conversation(env)
    first = env.home.run("summarize", extra_env=env.cli_env())
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(
        "summarised 1 hour(s), 2 entries, 1 section(s) with anthropic (1 LLM calls"
    )
    assert "memory/hourly/2026-03-02.md" in first.stdout
    before = env.hourly().read_bytes()
    second = env.home.run("summarize", "--json", extra_env=env.cli_env())
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["sections"] == 0
    assert env.hourly().read_bytes() == before
    found = env.home.run(
        "recall", "tomatoes balcony", "--json", "--source", "summary", extra_env=env.cli_env()
    )
    assert found.returncode == 0, found.stderr
    paths = {r["path"] for r in json.loads(found.stdout)["results"]}
    assert "memory/hourly/2026-03-02.md" in paths


def test_api_down_exits_75_and_health_reports_it(env: SummarizeEnv) -> None:
    """API failing on every attempt: exit 75 with one stderr line, no file; health shows an
    owed hour and an LLM failure; the next run succeeds with one section and health
    clears."""
    conversation(env)
    env.fake.fail_always("500")
    failed = env.home.run("summarize", extra_env=env.cli_env())
    assert failed.returncode == 75
    assert (
        failed.stderr.strip().splitlines()[-1].startswith("infra: error: Anthropic API unavailable")
    )
    assert not env.hourly().exists()
    checks = health(env)
    assert checks["summarize:llm"]["state"] == "WARNING"
    assert checks["summarize:owed"]["state"] == "CRITICAL"  # owed since March
    assert checks["summarize:owed"]["perf"] == {"summarize_owed_hours": 1}
    env.fake.fail_always(None)
    done = env.home.run("summarize", extra_env=env.cli_env())
    assert done.returncode == 0, done.stderr
    assert headings(split_file(env.hourly().read_text())[1]) == ["09:00–10:00 UTC · main"]
    checks = health(env)
    assert checks["summarize:llm"]["state"] == "OK"
    assert checks["summarize:owed"]["state"] == "OK"
    assert checks["summarize:last"]["state"] == "OK"
    assert checks["summarize:mode"]["state"] == "OK"


def test_anthropic_without_key_exits_78(env: SummarizeEnv) -> None:
    """summarizer=anthropic and no key: exit 78 naming the setting; health is CRITICAL."""
    conversation(env)
    extra = {"OPENCLAW_INFRA_SUMMARIZER": "anthropic", "OPENCLAW_INFRA_ANTHROPIC_API_KEY": ""}
    proc = env.home.run("summarize", extra_env=env.cli_env(**extra))
    assert proc.returncode == 78
    assert "OPENCLAW_INFRA_SUMMARIZER=anthropic" in proc.stderr
    assert API_KEY not in proc.stderr and not env.hourly().exists()
    assert health(env, **extra)["summarize:mode"]["state"] == "CRITICAL"


def test_auto_without_key_is_extractive_and_a_warning(env: SummarizeEnv) -> None:
    """auto with no key: extractive summaries, labelled in the file, WARNING in health."""
    conversation(env)
    extra = {"OPENCLAW_INFRA_ANTHROPIC_API_KEY": ""}
    proc = env.home.run("summarize", extra_env=env.cli_env(**extra))
    assert proc.returncode == 0, proc.stderr
    assert "with extractive" in proc.stdout and env.fake.stats.calls == 0
    assert split_file(env.hourly().read_text())[0]["summarizer"] == "extractive"
    mode = health(env, **extra)["summarize:mode"]
    assert mode["state"] == "WARNING" and "extractive" in str(mode["summary"])
