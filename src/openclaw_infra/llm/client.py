"""The Claude client: one `complete(system, user)` call over the real `anthropic` SDK.

Why our own retry loop instead of the SDK's: the SDK cannot retry a 200 whose body is not
JSON, its backoff is fixed, and we want every retry logged and counted per run. So the SDK
runs with `max_retries=0` and this module retries 408/409/429/5xx/529, timeouts, connection
errors and malformed bodies, honouring `retry-after`. When the retries are spent the run
fails with exit 75 (TempFailError): nothing is written and the work stays owed.

`stop_reason: max_tokens` is handled by asking the model to continue (a normal follow-up
turn, which every model accepts, unlike an assistant prefill); if it is still cut after
`MAX_CONTINUATIONS`, the completion keeps its complete lines and says `truncated=True`, and
callers flag that in their output. The input budget is checked before every request, so a
caller that forgot to split fails loudly instead of being truncated by the API.

Temperature: SDK 2.x speaks API version 2026-10-21, which refuses sampling parameters, so
none is sent unless the operator sets one (for an endpoint that accepts it).

`ChatClient` holds what every endpoint shares (budget check, the one retry loop,
continuation, metering); `AnthropicClient` here and `OpenAICompatibleClient`
(llm/openai_compat.py) only send one request and read one response. Each SDK is imported
inside its client's `__init__` only: `infra --help` and `infra health` never load it.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import structlog

from openclaw_infra.core.errors import ConfigError, DataError, TempFailError
from openclaw_infra.core.logging import redact_text, register_secret
from openclaw_infra.llm.retry import (
    RetryPolicy,
    is_retryable_status,
    parse_retry_after,
    wait_before_retry,
)
from openclaw_infra.llm.tokens import REQUEST_OVERHEAD_TOKENS, estimate_tokens

log = structlog.get_logger("infra.llm")

MAX_CONTINUATIONS = 2
CONTINUE_PROMPT = (
    "Your answer was cut off by the output limit. Continue exactly where it stopped, "
    "starting on a new line; do not repeat lines you already wrote."
)


@dataclass(frozen=True)
class Completion:
    """What one logical request produced (continuations included)."""

    text: str
    tokens_in: int
    tokens_out: int
    stop_reason: str  # the last response's: end_turn, max_tokens, stop_sequence, refusal…
    calls: int = 1  # API responses that make up `text`
    truncated: bool = False  # still cut at max_tokens after every continuation


class LLM(Protocol):
    """A text-completion model. The pipeline depends on this, never on the SDK."""

    @property
    def model(self) -> str: ...

    def complete(self, system: str, user: str, max_tokens: int | None = None) -> Completion: ...


@dataclass(frozen=True)
class Pricing:
    """USD per million tokens, from settings (prices change; the code does not guess)."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) / 1e6


@dataclass
class UsageMeter:
    """Calls, tokens, retries and waits of one run, for the ledger and the frontmatter."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    retries: int = 0
    waited_s: float = 0.0
    elapsed_s: float = 0.0  # wall time inside API requests, retries and waits included
    errors: dict[str, int] = field(default_factory=dict)

    def count_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class BudgetExceededError(DataError):
    """A request larger than the input budget: the caller must split it first."""


class LLMUnavailableError(TempFailError):
    """The API kept failing after every retry (exit 75; the work stays owed)."""


class RetryableFailure(Exception):
    """One failed attempt that may succeed if repeated."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        detail = redact_text(detail)  # it reaches the log, the error line and the ledger
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


@dataclass
class ClientConfig:
    """Everything the client needs (services.py fills it from Settings; tests and benchmarks
    build one directly)."""

    api_key: str
    model: str
    max_tokens: int = 1500
    temperature: float | None = None  # None: not sent (API 2026-10-21 refuses it)
    timeout_s: float = 60.0
    input_budget_tokens: int = 30_000
    base_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class ChatClient(ABC):
    """`LLM` over one chat endpoint: budget checks, retries per the one policy (llm/retry.py),
    continuation and metering. A subclass sends one request (`_attempt`) and says how its
    failures read (`mode`, `_unavailable`)."""

    mode: ClassVar[str]  # the summariser mode it serves: written into files and the ledger
    budget_setting: ClassVar[str]  # the setting that holds `input_budget_tokens`

    def __init__(
        self,
        config: ClientConfig,
        *,
        meter: UsageMeter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        register_secret(config.api_key)  # an endpoint may echo it in an error body
        self.config = config
        self.meter = meter or UsageMeter()
        self._sleep = sleep

    @property
    def model(self) -> str:
        return self.config.model

    @abstractmethod
    def close(self) -> None:
        """Release the SDK's connections."""

    @abstractmethod
    def _attempt(
        self, system: str, messages: list[dict[str, str]], max_tokens: int
    ) -> tuple[str, int, int, str]:
        """One request: text, tokens in/out and stop reason (`max_tokens` when cut), or
        `RetryableFailure` for a failure worth repeating."""

    @abstractmethod
    def _unavailable(self, why: str, detail: str) -> LLMUnavailableError:
        """The error that ends the run when the retries are spent."""

    @abstractmethod
    def _status_error(self, exc: Any) -> Exception:
        """What an HTTP error status from the endpoint means: retry, or end the run."""

    @contextmanager
    def _sdk_errors(self, sdk: Any) -> Iterator[None]:
        """The failures of one request, read the same way for both SDKs (Anthropic's and
        OpenAI's share their exception classes' names and meaning)."""
        try:
            yield
        except sdk.APITimeoutError as exc:
            raise RetryableFailure(
                "timeout", f"no response within {self.config.timeout_s}s"
            ) from exc
        except sdk.APIConnectionError as exc:
            raise RetryableFailure("connection", str(exc) or type(exc).__name__) from exc
        except sdk.APIStatusError as exc:
            raise self._status_error(exc) from exc
        except (ValueError, sdk.APIResponseValidationError) as exc:
            # a 200 whose body is not the JSON we expect (proxy hiccup, cut connection)
            detail = redact_text(f"unreadable response body: {exc}")[:300]  # redacted, then cut
            raise RetryableFailure("malformed", detail) from exc

    def _metered(self, used_in: int, used_out: int) -> None:
        self.meter.calls += 1
        self.meter.tokens_in += used_in
        self.meter.tokens_out += used_out

    def check_budget(self, system: str, messages: list[dict[str, str]]) -> int:
        """Estimated input tokens; raises when they exceed the budget (never truncates)."""
        estimate = (
            REQUEST_OVERHEAD_TOKENS
            + estimate_tokens(system)
            + sum(estimate_tokens(m["content"]) + 4 for m in messages)
        )
        if estimate > self.config.input_budget_tokens:
            raise BudgetExceededError(
                f"an LLM request of about {estimate} input tokens exceeds the budget of "
                f"{self.config.input_budget_tokens} ({self.budget_setting}); "
                "it must be split before it is sent"
            )
        return estimate

    def complete(self, system: str, user: str, max_tokens: int | None = None) -> Completion:
        limit = max_tokens or self.config.max_tokens
        messages = [{"role": "user", "content": user}]
        pieces: list[str] = []
        tokens_in = tokens_out = calls = 0
        stop_reason = "end_turn"
        truncated = False
        for continuation in range(MAX_CONTINUATIONS + 1):
            try:
                self.check_budget(system, messages)
            except BudgetExceededError:
                if not continuation:
                    raise  # the caller must split its input first
                # a request packed to the budget has no room to echo the reply so far:
                # keep what came back, flagged, rather than fail the run
                log.warning("llm.continuation_over_budget", model=self.model, calls=calls)
                truncated = True
                break
            text, used_in, used_out, stop_reason = self._create(system, messages, limit)
            tokens_in += used_in
            tokens_out += used_out
            calls += 1
            if stop_reason != "max_tokens":
                pieces.append(text)
                break
            pieces.append(_complete_lines(text))
            if continuation == MAX_CONTINUATIONS:
                log.warning("llm.output_truncated", model=self.model, calls=calls)
                truncated = True
                break
            so_far = "\n".join(p for p in pieces if p).rstrip() or "-"
            messages = [
                {"role": "user", "content": user},
                {"role": "assistant", "content": so_far},
                {"role": "user", "content": CONTINUE_PROMPT},
            ]
        return Completion(
            "\n".join(p for p in pieces if p),
            tokens_in,
            tokens_out,
            stop_reason,
            calls,
            truncated=truncated,
        )

    def _create(
        self, system: str, messages: list[dict[str, str]], max_tokens: int
    ) -> tuple[str, int, int, str]:
        """One request, retried per the policy; returns text, tokens in/out, stop reason."""
        started = time.monotonic()
        try:
            return self._retrying(system, messages, max_tokens)
        finally:
            self.meter.elapsed_s += time.monotonic() - started

    def _retrying(
        self, system: str, messages: list[dict[str, str]], max_tokens: int
    ) -> tuple[str, int, int, str]:
        policy = self.config.retry
        attempt = 0
        while True:
            try:
                return self._attempt(system, messages, max_tokens)
            except RetryableFailure as failure:
                attempt += 1
                self.meter.count_error(failure.kind)
                wait = wait_before_retry(policy, attempt, failure.retry_after)
                if attempt > policy.max_retries or wait is None:
                    why = (
                        f"server asked to wait {failure.retry_after:.0f}s"
                        if wait is None and failure.retry_after is not None
                        else f"{attempt} attempt(s)"
                    )
                    raise self._unavailable(why, failure.detail) from None
                log.warning(
                    "llm.retry",
                    attempt=attempt,
                    kind=failure.kind,
                    detail=failure.detail[:200],
                    wait_s=round(wait, 3),
                )
                self.meter.retries += 1
                self.meter.waited_s += wait
                self._sleep(wait)


class AnthropicClient(ChatClient):
    """`LLM` over the Messages API."""

    mode = "anthropic"
    budget_setting = "OPENCLAW_INFRA_LLM_INPUT_BUDGET_TOKENS"

    def __init__(
        self,
        config: ClientConfig,
        *,
        meter: UsageMeter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import anthropic

        super().__init__(config, meter=meter, sleep=sleep)
        self._anthropic = anthropic
        self._sdk = anthropic.Anthropic(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=0,  # our loop retries (see the module docstring)
        )

    def close(self) -> None:
        self._sdk.close()

    def _unavailable(self, why: str, detail: str) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"Anthropic API unavailable ({why}; last error: {detail})",
            hint="the hour stays owed; the next run retries it",
        )

    def _attempt(
        self, system: str, messages: list[dict[str, str]], max_tokens: int
    ) -> tuple[str, int, int, str]:
        with self._sdk_errors(self._anthropic):
            response = self._sdk.messages.create(
                model=self.config.model,
                max_tokens=max_tokens,
                system=system,
                messages=messages,  # type: ignore[arg-type]
                # SDK 2.x has no sampling parameters; an operator who set one gets it sent
                extra_body=None
                if self.config.temperature is None
                else {"temperature": self.config.temperature},
            )
        return self._read(response)

    def _status_error(self, exc: Any) -> Exception:
        status = int(exc.status_code)
        detail = f"HTTP {status}: {error_message(exc)}"
        if is_retryable_status(status):
            kind = {429: "rate_limited", 529: "overloaded"}.get(status, f"http_{status}")
            return RetryableFailure(kind, detail, parse_retry_after(dict(exc.response.headers)))
        if status in (401, 403):
            return ConfigError(
                f"the Anthropic API refused the key ({detail})",
                hint="check OPENCLAW_INFRA_ANTHROPIC_API_KEY",
            )
        if status == 404:
            return ConfigError(
                f"model {self.config.model!r} not available ({detail})",
                hint="check OPENCLAW_INFRA_LLM_MODEL",
            )
        return DataError(f"the Anthropic API rejected the request ({detail})")

    def _read(self, response: Any) -> tuple[str, int, int, str]:
        try:
            text = "".join(
                block.text for block in response.content if getattr(block, "type", "") == "text"
            )
            usage = response.usage
            used_in = int(usage.input_tokens or 0)
            used_out = int(usage.output_tokens or 0)
        except (AttributeError, TypeError, ValueError) as exc:
            raise RetryableFailure(
                "malformed", f"response without content or usage: {exc}"
            ) from exc
        stop_reason = str(response.stop_reason or "end_turn")
        self._metered(used_in, used_out)
        return text, used_in, used_out, stop_reason


def error_message(exc: Any) -> str:
    """The API's message, redacted before it is cut (a cut key would escape redaction)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return redact_text(str(error["message"]))[:200]
        if body.get("message"):  # the openai SDK unwraps `error` before it keeps the body
            return redact_text(str(body["message"]))[:200]
    if isinstance(body, str):
        return redact_text(body)[:200]
    try:
        text = json.dumps(body) if body is not None else str(exc)
    except (TypeError, ValueError):
        text = str(exc)
    return redact_text(text)[:200]


def _complete_lines(text: str) -> str:
    """`text` without its last, cut-off line (the model stopped mid-line)."""
    if "\n" not in text:
        return text
    return text.rsplit("\n", 1)[0]
