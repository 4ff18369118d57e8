"""A local (or any) OpenAI-compatible chat endpoint as an `LLM`: Ollama, LM Studio,
llama.cpp's server, vLLM. One `/v1/chat/completions` request per attempt over the real
`openai` SDK; budget checks, retries, continuation and metering are `ChatClient`'s, the same
as for Claude (llm/client.py), so both modes behave alike under failure.

What differs from the Messages API, and why:
- `finish_reason: length` is the cut-off answer (`max_tokens` for the shared loop).
- A missing `usage` (some servers omit it) is estimated from the text, so the ledger
  never counts a call as free tokens; a present one is taken as sent.
- A leading `<think>…</think>` block (reasoning models served raw) is dropped: it is not
  the answer, and its lines would be parsed as notes.
- No key is needed by a local server, but the SDK insists on one and would otherwise read
  OPENAI_API_KEY from the environment and send it to whatever the base URL names; a fixed
  placeholder goes instead (what Ollama's own docs tell clients to send).
- A refused connection is retried like a timeout (a local server restarting), and the
  error when the retries are spent names the URL so "is it running?" is the obvious check.

`openai` is imported in `__init__` only: `infra --help` and `infra health` never load it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import structlog

from openclaw_infra.core.errors import ConfigError, DataError
from openclaw_infra.llm.client import (
    ChatClient,
    ClientConfig,
    LLMUnavailableError,
    RetryableFailure,
    UsageMeter,
    error_message,
)
from openclaw_infra.llm.retry import is_retryable_status, parse_retry_after
from openclaw_infra.llm.tokens import REQUEST_OVERHEAD_TOKENS, estimate_tokens

log = structlog.get_logger("infra.llm")

NO_KEY = "no-key"  # sent when none is configured: local servers ignore it
OLLAMA_URL = "http://localhost:11434/v1"
LM_STUDIO_URL = "http://localhost:1234/v1"
LLAMA_CPP_URL = "http://localhost:8080/v1"
_THINK = re.compile(r"\A\s*<think>.*?</think>\s*", re.S)
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}


class OpenAICompatibleClient(ChatClient):
    """`LLM` over an OpenAI-compatible Chat Completions endpoint."""

    mode = "openai-compatible"
    budget_setting = "OPENCLAW_INFRA_OPENAI_INPUT_BUDGET_TOKENS"

    def __init__(
        self,
        config: ClientConfig,
        *,
        meter: UsageMeter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import openai

        if not config.base_url:
            raise ConfigError(
                "the openai-compatible summariser needs a base URL",
                hint="set OPENCLAW_INFRA_OPENAI_BASE_URL (Ollama: " + OLLAMA_URL + ")",
            )
        super().__init__(config, meter=meter, sleep=sleep)
        self._openai = openai
        self._sdk = openai.OpenAI(
            api_key=config.api_key or NO_KEY,
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=0,  # ChatClient retries, per the one policy
        )
        # the SDK filled these from OPENAI_ORG_ID / OPENAI_PROJECT_ID: not for this endpoint
        self._sdk.organization = self._sdk.project = None

    def close(self) -> None:
        self._sdk.close()

    def _unavailable(self, why: str, detail: str) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"OpenAI-compatible endpoint {self.config.base_url} unavailable "
            f"({why}; last error: {detail})",
            hint="is the model server running there? The work stays owed; the next run retries it",
        )

    def _attempt(
        self, system: str, messages: list[dict[str, str]], max_tokens: int
    ) -> tuple[str, int, int, str]:
        extra: dict[str, Any] = {}
        if self.config.temperature is not None:
            extra["temperature"] = self.config.temperature
        with self._sdk_errors(self._openai):
            response = self._sdk.chat.completions.create(
                model=self.config.model,
                messages=[{"role": "system", "content": system}, *messages],  # type: ignore[list-item]
                max_tokens=max_tokens,  # what every local server reads (not max_completion_tokens)
                **extra,
            )
        return self._read(response, system, messages)

    def _status_error(self, exc: Any) -> Exception:
        status = int(exc.status_code)
        detail = f"HTTP {status}: {error_message(exc)}"
        if is_retryable_status(status):
            kind = {429: "rate_limited"}.get(status, f"http_{status}")
            return RetryableFailure(kind, detail, parse_retry_after(dict(exc.response.headers)))
        if status in (401, 403):
            return ConfigError(
                f"the endpoint {self.config.base_url} refused the key ({detail})",
                hint="check OPENCLAW_INFRA_OPENAI_API_KEY",
            )
        if status == 404:
            return ConfigError(
                f"model {self.config.model!r} not found at {self.config.base_url} ({detail})",
                hint="check OPENCLAW_INFRA_OPENAI_MODEL (Ollama: `ollama pull` it first) and "
                "that OPENCLAW_INFRA_OPENAI_BASE_URL ends in /v1",
            )
        return DataError(f"the endpoint {self.config.base_url} rejected the request ({detail})")

    def _read(
        self, response: Any, system: str, messages: list[dict[str, str]]
    ) -> tuple[str, int, int, str]:
        try:
            choice = response.choices[0]
            text = choice.message.content or ""
            finish = str(choice.finish_reason or "stop")
        except (AttributeError, IndexError, TypeError) as exc:
            raise RetryableFailure("malformed", f"response without choices: {exc}") from exc
        text = _THINK.sub("", text)
        usage: Any = getattr(response, "usage", None)
        try:
            used_in = int(usage.prompt_tokens or 0)
            used_out = int(usage.completion_tokens or 0)
        except (AttributeError, TypeError, ValueError):
            used_in = REQUEST_OVERHEAD_TOKENS + sum(
                estimate_tokens(m) for m in (system, *(m["content"] for m in messages))
            )
            used_out = estimate_tokens(text)
            log.warning("llm.usage_estimated", model=self.model, tokens_in=used_in)
        if not text.strip():
            log.warning("llm.empty_answer", model=self.model, finish_reason=finish)
        self._metered(used_in, used_out)
        return text, used_in, used_out, _STOP_REASONS.get(finish, finish)
