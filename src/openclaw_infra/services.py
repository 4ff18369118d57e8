"""Composition root: the one place that builds the things jobs share from Settings.

LLM clients and pricing, the embedder writers use (the resident service's model when it is
up, else this process's own). Commands build them here and pass them into library calls;
nothing below this module constructs them. Everything heavy is built lazily, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings
    from openclaw_infra.llm.client import ChatClient, Pricing, UsageMeter
    from openclaw_infra.memory.embedder import Embedder
    from openclaw_infra.pipeline.summarizer import Summarizer, SummaryKind

T = TypeVar("T")


def writer_embedder(settings: Settings) -> Embedder:
    """The embedder a writing job uses: the service's model when `infra serve` is up with the
    configured model (this process then imports no torch), else this process's own (loaded
    on first use)."""
    from openclaw_infra.memory.embedder import get_embedder
    from openclaw_infra.serve.embedder import service_embedder

    return service_embedder(settings) or get_embedder(settings)


def llm_client(settings: Settings, meter: UsageMeter | None = None) -> ChatClient:
    """The LLM client of the configured mode (loads its SDK), counting every call in `meter`:
    an OpenAI-compatible endpoint's in that mode, else Claude's; ConfigError (78) without
    an Anthropic key. Both retry by the same policy."""
    from openclaw_infra.core.errors import ConfigError
    from openclaw_infra.llm.client import AnthropicClient, ClientConfig
    from openclaw_infra.llm.retry import RetryPolicy
    from openclaw_infra.pipeline.summarizer import OPENAI_COMPATIBLE

    retry = RetryPolicy(max_retries=settings.llm_max_retries, base_s=settings.llm_retry_base_s)
    if summary_mode(settings) == OPENAI_COMPATIBLE:
        from openclaw_infra.llm.openai_compat import OpenAICompatibleClient

        local = ClientConfig(
            api_key=settings.openai_key or "",
            model=settings.openai_model,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            timeout_s=settings.openai_timeout_s,
            input_budget_tokens=settings.openai_input_budget_tokens,
            base_url=settings.openai_base_url,
            retry=retry,
        )
        return OpenAICompatibleClient(local, meter=meter)
    key = settings.api_key
    if not key:
        raise ConfigError(
            "summarizer=anthropic needs an API key",
            hint="set OPENCLAW_INFRA_ANTHROPIC_API_KEY or ANTHROPIC_API_KEY, "
            "or OPENCLAW_INFRA_SUMMARIZER=extractive",
        )
    config = ClientConfig(
        api_key=key,
        model=settings.llm_model,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        timeout_s=settings.llm_timeout_s,
        input_budget_tokens=settings.llm_input_budget_tokens,
        base_url=settings.anthropic_base_url,
        retry=retry,
    )
    return AnthropicClient(config, meter=meter)


def pricing(settings: Settings) -> Pricing:
    """USD per million tokens of the configured mode's model (a local model's: 0 unless set)."""
    from openclaw_infra.llm.client import Pricing
    from openclaw_infra.pipeline.summarizer import OPENAI_COMPATIBLE

    if summary_mode(settings) == OPENAI_COMPATIBLE:
        return Pricing(settings.openai_price_input_per_mtok, settings.openai_price_output_per_mtok)
    return Pricing(settings.llm_price_input_per_mtok, settings.llm_price_output_per_mtok)


def input_budget(settings: Settings) -> int:
    """Input tokens per request for the configured mode (a local model's context is small)."""
    from openclaw_infra.pipeline.summarizer import OPENAI_COMPATIBLE

    if summary_mode(settings) == OPENAI_COMPATIBLE:
        return settings.openai_input_budget_tokens
    return settings.llm_input_budget_tokens


def summary_mode(settings: Settings) -> str:
    """`anthropic`, `openai-compatible` or `extractive` (OPENCLAW_INFRA_SUMMARIZER; `auto`:
    anthropic when a key is set, never a local server); ConfigError (78) when anthropic is
    asked for without a key, or openai-compatible without a model."""
    from openclaw_infra.core.errors import ConfigError
    from openclaw_infra.pipeline.summarizer import ANTHROPIC, EXTRACTIVE, OPENAI_COMPATIBLE

    if settings.summarizer == OPENAI_COMPATIBLE and not settings.openai_model:
        raise ConfigError(
            "OPENCLAW_INFRA_SUMMARIZER=openai-compatible but no model is set",
            hint="set OPENCLAW_INFRA_OPENAI_MODEL to a model the server at "
            f"{settings.openai_base_url} serves (docs/summarisers.md)",
        )
    if settings.summarizer == ANTHROPIC and not settings.api_key:
        raise ConfigError(
            "OPENCLAW_INFRA_SUMMARIZER=anthropic but no API key is set",
            hint="set OPENCLAW_INFRA_ANTHROPIC_API_KEY or ANTHROPIC_API_KEY, or use "
            "OPENCLAW_INFRA_SUMMARIZER=extractive",
        )
    if settings.summarizer == "auto":
        return ANTHROPIC if settings.api_key else EXTRACTIVE
    return str(settings.summarizer)


def summarizer(
    settings: Settings, kind: SummaryKind[T], meter: UsageMeter | None = None
) -> Summarizer[T]:
    """The summariser of `kind` for the configured mode. Config errors surface here, before
    a job takes its lock; the LLM one counts every billed call in `meter` (a fresh one when
    none is given), failed periods included, for the run ledger."""
    from openclaw_infra.llm.client import UsageMeter
    from openclaw_infra.pipeline.summarizer import (
        EXTRACTIVE,
        ExtractiveSummarizer,
        LLMSummarizer,
    )

    mode = summary_mode(settings)
    if mode == EXTRACTIVE:
        return ExtractiveSummarizer(kind)
    meter = meter if meter is not None else UsageMeter()
    return LLMSummarizer(
        kind,
        llm_client(settings, meter),
        pricing(settings),
        budget_tokens=input_budget(settings),
        max_tokens=settings.llm_max_tokens,
        meter=meter,
        mode=mode,
    )
