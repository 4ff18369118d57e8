"""The Claude client against a real local HTTP server through the real anthropic SDK:
retries, backoff, retry-after, timeouts, malformed bodies, max_tokens, budget, errors."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from openclaw_infra.core.errors import ConfigError, DataError, TempFailError
from openclaw_infra.llm.client import (
    AnthropicClient,
    BudgetExceededError,
    ClientConfig,
    LLMUnavailableError,
    Pricing,
)
from openclaw_infra.llm.prompts import map_user_message, passage_block
from openclaw_infra.llm.retry import RetryPolicy, parse_retry_after, wait_before_retry
from openclaw_infra.pipeline.prompts import HOURLY

from fake_anthropic import API_KEY, FakeAnthropic, Fault

FAST = RetryPolicy(max_retries=3, base_s=0.01)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def client(fake: FakeAnthropic, **overrides: object) -> AnthropicClient:
    config = ClientConfig(
        api_key=API_KEY, model="claude-sonnet-4-6", base_url=fake.url, timeout_s=2.0, retry=FAST
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return AnthropicClient(config)


def hour_prompt(n: int = 3) -> str:
    blocks = [
        passage_block(i, {"role": "user"}, f"Decision number {i} was taken. More text.")
        for i in range(1, n + 1)
    ]
    return map_user_message(HOURLY, "14:00–15:00 UTC on 2026-03-02, agent main", blocks)


def test_completion_through_the_real_sdk(fake: FakeAnthropic) -> None:
    """A plain call returns the text, usage and stop reason the server sent, with the key
    sent as a bearer token and the SDK's API version header."""
    c = client(fake)
    done = c.complete(HOURLY.map_system, hour_prompt())
    assert done.text.splitlines()[0] == "- user: Decision number 1 was taken. [1]"
    assert (done.tokens_in, done.tokens_out) == (fake.stats.tokens_in, fake.stats.tokens_out)
    assert done.stop_reason == "end_turn" and done.calls == 1 and not done.truncated
    headers = fake.stats.headers[0]
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["anthropic-version"] >= "2026-10-21"
    body = fake.stats.requests[0]
    assert body["model"] == "claude-sonnet-4-6" and body["max_tokens"] == 1500
    assert "temperature" not in body  # the API version refuses sampling parameters
    assert c.meter.calls == 1 and c.meter.tokens_in == done.tokens_in


@pytest.mark.parametrize(
    "fault", ["500", "529", "malformed", Fault("slow", delay_s=1.5), Fault("429")]
)
def test_transient_faults_are_retried(fake: FakeAnthropic, fault: Fault | str) -> None:
    """500, 529 overloaded, a malformed 200 body, a response slower than the timeout and a
    429 without retry-after each cost one retry, then the call succeeds."""
    c = client(fake, timeout_s=0.5)
    fake.script(fault, fault)
    done = c.complete(HOURLY.map_system, hour_prompt())
    assert done.text.startswith("- user:")
    assert fake.stats.calls == 3 and fake.stats.ok_calls >= 1
    assert c.meter.retries == 2 and sum(c.meter.errors.values()) == 2


def test_retry_after_is_honoured(fake: FakeAnthropic) -> None:
    """A 429 with retry-after: 1 makes the client wait at least that long, not its own short
    backoff."""
    c = client(fake)
    fake.script(Fault("429", retry_after=1))
    started = time.monotonic()
    c.complete(HOURLY.map_system, hour_prompt())
    assert time.monotonic() - started >= 1.0
    assert c.meter.waited_s == pytest.approx(1.0)
    assert c.meter.errors == {"rate_limited": 1}


def test_retry_after_beyond_the_limit_gives_up_at_once(fake: FakeAnthropic) -> None:
    """A server asking for a longer wait than we hold the run for ends it with exit 75 now
    (the hour stays owed) instead of sleeping for minutes."""
    c = client(fake)
    fake.script(Fault("429", retry_after=3600))
    with pytest.raises(LLMUnavailableError) as info:
        c.complete(HOURLY.map_system, hour_prompt())
    assert info.value.exit_code == 75 and "3600" in str(info.value)
    assert fake.stats.calls == 1


def test_retries_spent_is_tempfail(fake: FakeAnthropic) -> None:
    """After max_retries + 1 attempts of 529 the error is TempFailError (exit 75) naming the
    last failure; the number of requests is exactly the policy's."""
    c = client(fake)
    fake.fail_always("529")
    with pytest.raises(TempFailError) as info:
        c.complete(HOURLY.map_system, hour_prompt())
    assert info.value.exit_code == 75
    assert "529" in str(info.value) and "4 attempt(s)" in str(info.value)
    assert fake.stats.calls == FAST.max_retries + 1


def test_auth_failure_is_config_error(fake: FakeAnthropic) -> None:
    """A refused key is not retried: ConfigError (exit 78) naming the setting, one request."""
    c = client(fake, api_key="sk-ant-wrong-key-000000")
    with pytest.raises(ConfigError) as info:
        c.complete(HOURLY.map_system, hour_prompt())
    assert info.value.exit_code == 78 and "401" in str(info.value)
    assert fake.stats.calls == 1


def test_bad_request_is_data_error(fake: FakeAnthropic) -> None:
    """A 400 (here: a temperature the API version refuses) is not retried: exit 65 with the
    API's own message."""
    c = client(fake, temperature=0.2)
    with pytest.raises(DataError) as info:
        c.complete(HOURLY.map_system, hour_prompt())
    assert info.value.exit_code == 65 and "temperature" in str(info.value)
    assert fake.stats.calls == 1


def test_max_tokens_is_continued(fake: FakeAnthropic) -> None:
    """stop_reason max_tokens: the client asks the model to continue and joins the parts;
    the cut-off line is dropped, not kept half-written, and no line is repeated."""
    c = client(fake)
    fake.script("max_tokens")
    done = c.complete(HOURLY.map_system, hour_prompt(6))
    lines = done.text.splitlines()
    assert len(lines) == 6 and len(set(lines)) == 6
    assert all(line.endswith("]") for line in lines)
    assert done.calls == 2 and not done.truncated and done.stop_reason == "end_turn"
    follow_up = fake.stats.requests[1]["messages"]
    assert [m["role"] for m in follow_up] == ["user", "assistant", "user"]


def test_output_still_cut_is_flagged(fake: FakeAnthropic) -> None:
    """When every continuation is cut too, the completion keeps its complete lines and says
    truncated, so the caller can flag the summary."""
    c = client(fake)
    fake.script("max_tokens", "max_tokens", "max_tokens")
    done = c.complete(HOURLY.map_system, hour_prompt(8))
    assert done.truncated and done.stop_reason == "max_tokens" and done.calls == 3
    assert all(line.endswith("]") for line in done.text.splitlines())


def test_continuation_over_budget_is_flagged_not_fatal(fake: FakeAnthropic) -> None:
    """A request packed close to its budget that comes back cut at max_tokens has no room to
    send the reply back for a continuation: the complete lines are kept and the completion
    is flagged truncated instead of failing the run (the bug seen in the weekly map pass)."""
    prompt = hour_prompt(6) + " padding" * 600
    first = client(fake).check_budget(HOURLY.map_system, [{"role": "user", "content": prompt}])
    c = client(fake, input_budget_tokens=first + 5)  # no room for the reply to be echoed
    fake.script("max_tokens")
    done = c.complete(HOURLY.map_system, prompt)
    assert done.truncated and done.calls == 1
    assert all(line.endswith("]") for line in done.text.splitlines())


def test_budget_is_checked_before_sending(fake: FakeAnthropic) -> None:
    """A request above the input budget is refused before any network call (the caller must
    split it); nothing is cut to fit."""
    c = client(fake, input_budget_tokens=1000)
    with pytest.raises(BudgetExceededError):
        c.complete(HOURLY.map_system, "x" * 10_000)
    assert fake.stats.calls == 0


def test_key_never_logged(fake: FakeAnthropic) -> None:
    """Retry logging carries the failure, never the API key."""
    c = client(fake)
    fake.script("500", Fault("429"))
    with capture_logs() as logs:
        c.complete(HOURLY.map_system, hour_prompt())
    assert len([e for e in logs if e["event"] == "llm.retry"]) == 2
    assert API_KEY not in repr(logs)


def test_pricing() -> None:
    """Cost is tokens times the configured USD per million tokens."""
    assert Pricing(3.0, 15.0).cost(1_000_000, 100_000) == pytest.approx(4.5)


def test_retry_after_forms() -> None:
    """retry-after in seconds, as an HTTP date, and retry-after-ms are read; junk is
    ignored; negative waits become zero."""
    now = 1_700_000_000.0
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(30)
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "-5"}) == 0.0


def test_backoff_doubles_with_jitter_and_cap() -> None:
    """Without retry-after the wait doubles per attempt, stays within 75-100% of the
    nominal value, and never exceeds the cap; a server's retry-after wins."""
    policy = RetryPolicy(max_retries=8, base_s=2.0, cap_s=60.0, jitter=lambda: 1.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 6, 8)] == [2.0, 4.0, 8.0, 60.0, 60.0]
    low = RetryPolicy(base_s=2.0, jitter=lambda: 0.0)
    assert low.backoff(1) == 1.5
    assert wait_before_retry(policy, 1, 9.0) == 9.0
    assert wait_before_retry(policy, 1, 10_000.0) is None
