"""The two summarisers behind one protocol, and the rule that picks one.

`OPENCLAW_INFRA_SUMMARIZER`: `anthropic` (needs a key: without one, exit 78), `extractive`,
or `auto` (anthropic when a key is set, else extractive). The pipeline only sees
`Summarizer`; which one ran is written into every section and every file, and `infra health`
reports extractive as a WARNING, so the degraded mode is never silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from openclaw_infra.core.errors import ConfigError
from openclaw_infra.llm.client import LLM, AnthropicClient, ClientConfig, Pricing, UsageMeter
from openclaw_infra.llm.mapreduce import Passage, check_budget, summarize_passages
from openclaw_infra.llm.prompts import HOURLY, PromptSet
from openclaw_infra.pipeline.bullets import Bullet, parse_bullets
from openclaw_infra.pipeline.extractive import EXTRACTIVE_VERSION, summarize_extractive

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings

ANTHROPIC, EXTRACTIVE = "anthropic", "extractive"


@dataclass
class Summary:
    """Bullets for one section, and what producing them took."""

    bullets: list[Bullet]
    summarizer: str
    model: str | None
    prompt_version: str
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    flags: list[str] = field(default_factory=list)


class Summarizer(Protocol):
    name: str

    def summarize(self, passages: Sequence[Passage], context: str) -> Summary: ...


class ExtractiveSummarizer:
    name = EXTRACTIVE

    def summarize(self, passages: Sequence[Passage], context: str) -> Summary:
        return Summary(summarize_extractive(passages), EXTRACTIVE, None, EXTRACTIVE_VERSION)


class LLMSummarizer:
    """Map-reduce over an `LLM`, with output checked for provenance."""

    name = ANTHROPIC

    def __init__(
        self,
        llm: LLM,
        pricing: Pricing,
        *,
        budget_tokens: int,
        max_tokens: int,
        prompts: PromptSet = HOURLY,
    ) -> None:
        check_budget(prompts, "", budget_tokens, max_tokens)  # a bad pair fails before any work
        self.llm = llm
        self.pricing = pricing
        self.budget_tokens = budget_tokens
        self.max_tokens = max_tokens
        self.prompts = prompts

    def summarize(self, passages: Sequence[Passage], context: str) -> Summary:
        result = summarize_passages(
            self.llm,
            self.prompts,
            passages,
            context=context,
            budget_tokens=self.budget_tokens,
            max_tokens=self.max_tokens,
        )
        bullets, dropped = parse_bullets(result.text, {p.ref for p in passages})
        flags = []
        if result.map_chunks > 1:
            flags.append(f"map_reduce:{result.map_chunks}")
        if result.split_passages:
            flags.append(f"split_passages:{result.split_passages}")
        if result.truncated:
            flags.append("output_truncated")
        if dropped:
            flags.append(f"uncited_bullets_dropped:{dropped}")
        summary = Summary(
            bullets,
            ANTHROPIC,
            self.llm.model,
            self.prompts.version,
            result.calls,
            result.tokens_in,
            result.tokens_out,
            self.pricing.cost(result.tokens_in, result.tokens_out),
            flags,
        )
        if not bullets:
            # the model answered but cited nothing we gave it: quote the hour instead, and
            # say so in the section (never an unattributed summary)
            summary.bullets = summarize_extractive(passages)
            summary.summarizer = EXTRACTIVE
            summary.prompt_version = EXTRACTIVE_VERSION
            summary.flags.append("llm_output_unusable")
        return summary


def resolve_mode(settings: Settings) -> str:
    """`anthropic` or `extractive` for these settings; ConfigError (78) when impossible."""
    if settings.summarizer == ANTHROPIC and not settings.api_key:
        raise ConfigError(
            "OPENCLAW_INFRA_SUMMARIZER=anthropic but no API key is set",
            hint="set OPENCLAW_INFRA_ANTHROPIC_API_KEY or ANTHROPIC_API_KEY, or use "
            "OPENCLAW_INFRA_SUMMARIZER=extractive",
        )
    if settings.summarizer == "auto":
        return ANTHROPIC if settings.api_key else EXTRACTIVE
    return settings.summarizer


def build_summarizer(settings: Settings, mode: str, meter: UsageMeter | None = None) -> Summarizer:
    """The summariser for `mode`; the anthropic one loads the SDK (AnthropicClient does)
    and counts every billed call in `meter`, failed hours included."""
    if mode == EXTRACTIVE:
        return ExtractiveSummarizer()
    client = AnthropicClient(ClientConfig.from_settings(settings), meter=meter)
    return LLMSummarizer(
        client,
        Pricing(settings.llm_price_input_per_mtok, settings.llm_price_output_per_mtok),
        budget_tokens=settings.llm_input_budget_tokens,
        max_tokens=settings.llm_max_tokens,
    )
