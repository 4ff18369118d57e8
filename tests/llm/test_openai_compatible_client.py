"""The OpenAI-compatible client against a real local HTTP server through the real `openai`
SDK: the same retry policy, timeouts, continuation and budget as the Claude client, and
what a local server does differently (no key, `finish_reason: length`, empty answers,
`<think>` blocks, missing usage, Ollama's 404 for a model not pulled)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from openclaw_infra.core.errors import ConfigError, TempFailError
from openclaw_infra.llm.client import BudgetExceededError, ClientConfig, LLMUnavailableError
from openclaw_infra.llm.openai_compat import NO_KEY, OpenAICompatibleClient
from openclaw_infra.llm.prompts import map_user_message, passage_block
from openclaw_infra.llm.retry import RetryPolicy
from openclaw_infra.pipeline.prompts import HOURLY

from fake_openai import API_KEY, MODEL, FakeOpenAI, Fault

FAST = RetryPolicy(max_retries=3, base_s=0.01)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def client(fake: FakeOpenAI | None, **overrides: object) -> OpenAICompatibleClient:
    config = ClientConfig(
        api_key="",
        model=MODEL,
        base_url=fake.url if fake else "http://127.0.0.1:9/v1",
        timeout_s=2.0,
        input_budget_tokens=6000,
        retry=FAST,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return OpenAICompatibleClient(config)


def hour_prompt(n: int = 3) -> str:
    blocks = [
        passage_block(i, {"role": "user"}, f"Decision number {i} was taken. More text.")
        for i in range(1, n + 1)
    ]
    return map_user_message(HOURLY, "14:00–15:00 UTC on 2026-03-02, agent main", blocks)


def test_completion_through_the_real_sdk(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain call sends the system prompt as the first message, the model and max_tokens,
    no temperature; it returns the text and the server's usage. With no key configured the
    placeholder goes, never OPENAI_API_KEY or OPENAI_ORG_ID from the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-must-not-leak-000000")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-must-not-leak")
    c = client(fake)
    done = c.complete(HOURLY.map_system, hour_prompt())
    assert done.text.splitlines()[0] == "- user: Decision number 1 was taken. [1]"
    assert (done.tokens_in, done.tokens_out) == (fake.stats.tokens_in, fake.stats.tokens_out)
    assert done.stop_reason == "end_turn" and done.calls == 1 and not done.truncated
    headers = fake.stats.headers[0]
    assert headers["authorization"] == f"Bearer {NO_KEY}"
    assert "openai-organization" not in headers and "openai-project" not in headers
    body = fake.stats.requests[0]
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"] == HOURLY.map_system
    assert body["model"] == MODEL and body["max_tokens"] == 1500
    assert "temperature" not in body and "stream" not in body
    assert c.meter.calls == 1 and c.meter.tokens_in == done.tokens_in
    assert c.mode == "openai-compatible"


def test_key_is_sent_and_temperature_when_set() -> None:
    """A server that wants a key gets it as a bearer token; a configured temperature is
    sent (this API accepts one)."""
    with FakeOpenAI(api_key=API_KEY) as fake:
        c = client(fake, api_key=API_KEY, temperature=0.2)
        c.complete(HOURLY.map_system, hour_prompt())
        assert fake.stats.headers[0]["authorization"] == f"Bearer {API_KEY}"
        assert fake.stats.requests[0]["temperature"] == 0.2


@pytest.mark.parametrize(
    "fault",
    [
        "500",
        "503",
        "malformed",
        "no_choices",
        Fault("slow", delay_s=1.5),
        Fault("429"),
    ],
)
def test_transient_faults_are_retried(fake: FakeOpenAI, fault: Fault | str) -> None:
    """500, 503, a malformed 200 body, a 200 without choices, a response slower than the
    timeout and a 429 without retry-after each cost one retry, then the call succeeds."""
    c = client(fake, timeout_s=0.5)
    fake.script(fault, fault)
    done = c.complete(HOURLY.map_system, hour_prompt())
    assert done.text.startswith("- user:")
    assert fake.stats.calls == 3
    assert c.meter.retries == 2 and sum(c.meter.errors.values()) == 2


def test_retry_after_is_honoured(fake: FakeOpenAI) -> None:
    """A 429 with retry-after: 1 makes the client wait that long, not its own short backoff
    (the one policy of llm/retry.py)."""
    c = client(fake)
    fake.script(Fault("429", retry_after=1))
    started = time.monotonic()
    c.complete(HOURLY.map_system, hour_prompt())
    assert time.monotonic() - started >= 1.0
    assert c.meter.waited_s == pytest.approx(1.0)
    assert c.meter.errors == {"rate_limited": 1}


def test_retries_spent_is_tempfail_naming_the_endpoint(fake: FakeOpenAI) -> None:
    """After max_retries + 1 attempts of 503 the error is exit 75, naming the URL and the
    last failure; exactly the policy's number of requests."""
    c = client(fake)
    fake.fail_always("503")
    with pytest.raises(TempFailError) as info:
        c.complete(HOURLY.map_system, hour_prompt())
    assert info.value.exit_code == 75
    message = str(info.value)
    assert fake.url in message and "503" in message and "4 attempt(s)" in message
    assert fake.stats.calls == FAST.max_retries + 1


def test_server_not_running_is_tempfail() -> None:
    """Nothing listening at the base URL (Ollama not started): connection errors are retried,
    then exit 75 naming the URL, with a hint to check that the server runs."""
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    c = client(None, base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(LLMUnavailableError) as info:
        c.complete(HOURLY.map_system, hour_prompt())
    assert f"127.0.0.1:{port}" in str(info.value) and "running" in (info.value.hint or "")
    assert c.meter.errors == {"connection": FAST.max_retries + 1}


@pytest.mark.parametrize("fault", ["401", "echo_key"])
def test_auth_failure_is_config_error_without_the_key(fault: str) -> None:
    """A refused key is not retried: exit 78 naming the setting; a key the server echoes
    back in its error is redacted from the message and the log."""
    with FakeOpenAI() as fake:
        c = client(fake, api_key=API_KEY)
        fake.script(fault)
        with capture_logs() as logs, pytest.raises(ConfigError) as info:
            c.complete(HOURLY.map_system, hour_prompt())
        assert info.value.exit_code == 78 and "401" in str(info.value)
        assert "OPENCLAW_INFRA_OPENAI_API_KEY" in (info.value.hint or "")
        assert API_KEY not in str(info.value) and API_KEY not in repr(logs)
        assert fake.stats.calls == 1


def test_unknown_model_names_the_setting(fake: FakeOpenAI) -> None:
    """Ollama answers 404 for a model not pulled: exit 78 naming the model and the setting,
    not retried."""
    c = client(fake, model="mistral:7b")
    with pytest.raises(ConfigError) as info:
        c.complete(HOURLY.map_system, hour_prompt())
    assert "mistral:7b" in str(info.value) and "not found" in str(info.value)
    assert "OPENCLAW_INFRA_OPENAI_MODEL" in (info.value.hint or "")
    assert fake.stats.calls == 1


def test_length_is_continued(fake: FakeOpenAI) -> None:
    """finish_reason length: the client asks the model to continue and joins the parts; the
    cut line is dropped and no line is repeated."""
    c = client(fake)
    fake.script("length")
    done = c.complete(HOURLY.map_system, hour_prompt(6))
    lines = done.text.splitlines()
    assert len(lines) == 6 and len(set(lines)) == 6
    assert all(line.endswith("]") for line in lines)
    assert done.calls == 2 and not done.truncated and done.stop_reason == "end_turn"
    follow_up = fake.stats.requests[1]["messages"]
    assert [m["role"] for m in follow_up] == ["system", "user", "assistant", "user"]


def test_output_still_cut_is_flagged(fake: FakeOpenAI) -> None:
    """Cut at every continuation too: the complete lines are kept and flagged truncated."""
    c = client(fake)
    fake.script("length", "length", "length")
    done = c.complete(HOURLY.map_system, hour_prompt(8))
    assert done.truncated and done.stop_reason == "max_tokens" and done.calls == 3
    assert all(line.endswith("]") for line in done.text.splitlines())


def test_empty_answer_is_returned_and_logged(fake: FakeOpenAI) -> None:
    """Empty content is an answer with nothing in it, not a transport failure: it comes
    back empty (the summariser's grounding check then quotes the period instead) and a
    warning is logged."""
    c = client(fake)
    fake.script("empty")
    with capture_logs() as logs:
        done = c.complete(HOURLY.map_system, hour_prompt())
    assert done.text == "" and fake.stats.calls == 1
    assert any(e["event"] == "llm.empty_answer" for e in logs)


def test_think_block_is_dropped(fake: FakeOpenAI) -> None:
    """A reasoning model served raw starts with <think>…</think>: that is not the answer."""
    c = client(fake)
    fake.script("think")
    done = c.complete(HOURLY.map_system, hour_prompt())
    assert "think" not in done.text and "Plan" not in done.text
    assert done.text.splitlines()[0] == "- user: Decision number 1 was taken. [1]"


def test_missing_usage_is_estimated(fake: FakeOpenAI) -> None:
    """A server that sends no usage: tokens are estimated from the text (never counted as
    zero), and the estimate is logged as one."""
    c = client(fake)
    fake.script("no_usage")
    with capture_logs() as logs:
        done = c.complete(HOURLY.map_system, hour_prompt())
    assert done.tokens_in > 100 and done.tokens_out > 5
    assert any(e["event"] == "llm.usage_estimated" for e in logs)


def test_budget_is_checked_before_sending(fake: FakeOpenAI) -> None:
    """A request above the budget is refused before any network call, naming this mode's
    budget setting."""
    c = client(fake, input_budget_tokens=1000)
    with pytest.raises(BudgetExceededError) as info:
        c.complete(HOURLY.map_system, "x" * 10_000)
    assert "OPENCLAW_INFRA_OPENAI_INPUT_BUDGET_TOKENS" in str(info.value)
    assert fake.stats.calls == 0
