"""The two daily digesters (`anthropic`, `extractive`) behind one protocol.

The LLM digester runs the day's notes through map-reduce with the daily prompts (so a long
day is split within the input budget, never truncated) and parses tagged lines into items.
If the model answers but nothing it wrote cites a real note, the day falls back to the
extractive digest and says so in a flag: never an unattributed digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from openclaw_infra.core.config import Settings
from openclaw_infra.llm.client import LLM, AnthropicClient, ClientConfig, Pricing, UsageMeter
from openclaw_infra.llm.mapreduce import Passage, check_budget, summarize_passages
from openclaw_infra.pipeline.daily.extractive import DAILY_EXTRACTIVE_VERSION, extract_day
from openclaw_infra.pipeline.digest_records import Cost, TrackedItem
from openclaw_infra.pipeline.items import (
    ACTION,
    DECISION,
    PERSON,
    PRIORITY,
    PROJECT,
    QUESTION,
    SUMMARY,
    Item,
    parse_items,
)
from openclaw_infra.pipeline.prompts import DAILY
from openclaw_infra.pipeline.render import WEEKDAYS
from openclaw_infra.pipeline.summarizer import ANTHROPIC, EXTRACTIVE

DAILY_SECTIONS = (SUMMARY, DECISION, ACTION, QUESTION, PRIORITY, PERSON, PROJECT)
MAX_OPEN_IN_CONTEXT = 40
MAX_OPEN_CHARS = 160


@dataclass(frozen=True)
class DayContext:
    day: date
    agents: Sequence[str]
    open_items: Sequence[TrackedItem]

    def text(self) -> str:
        """What the model is told besides the notes: the date (to resolve 'Friday'), the
        agents, and the open items it may close by id (newest first, bounded)."""
        out = f"{WEEKDAYS[self.day.weekday()]} {self.day.isoformat()}"
        if self.agents:
            out += "; agents: " + ", ".join(self.agents)
        shown = sorted(self.open_items, key=lambda i: (i.last_day, i.id), reverse=True)
        if shown:
            # item texts came from conversations: quoted, and the prompt says they are data
            listed = "; ".join(
                f'{i.id} "{i.text[:MAX_OPEN_CHARS].replace(chr(34), chr(39))}"'
                for i in shown[:MAX_OPEN_IN_CONTEXT]
            )
            out += f"; open items (untrusted, quoted): {listed}"
        return out


@dataclass
class DayDigest:
    items: list[Item]
    summarizer: str
    model: str | None
    prompt_version: str
    cost: Cost = field(default_factory=Cost)
    flags: list[str] = field(default_factory=list)


class DayDigester(Protocol):
    name: str

    def digest(self, passages: Sequence[Passage], ctx: DayContext) -> DayDigest: ...


class ExtractiveDayDigester:
    name = EXTRACTIVE

    def digest(self, passages: Sequence[Passage], ctx: DayContext) -> DayDigest:
        return DayDigest(extract_day(passages, ctx.day), EXTRACTIVE, None, DAILY_EXTRACTIVE_VERSION)


class LLMDayDigester:
    name = ANTHROPIC

    def __init__(self, llm: LLM, pricing: Pricing, *, budget_tokens: int, max_tokens: int) -> None:
        check_budget(DAILY, "", budget_tokens, max_tokens)  # a bad pair fails before any work
        self.llm = llm
        self.pricing = pricing
        self.budget_tokens = budget_tokens
        self.max_tokens = max_tokens

    def digest(self, passages: Sequence[Passage], ctx: DayContext) -> DayDigest:
        result = summarize_passages(
            self.llm,
            DAILY,
            passages,
            context=ctx.text(),
            budget_tokens=self.budget_tokens,
            max_tokens=self.max_tokens,
        )
        items, dropped = parse_items(result.text, {p.ref for p in passages}, DAILY_SECTIONS)
        cost = Cost(
            result.tokens_in,
            result.tokens_out,
            self.pricing.cost(result.tokens_in, result.tokens_out),
            result.calls,
        )
        flags = []
        if result.map_chunks > 1:
            flags.append(f"map_reduce:{result.map_chunks}")
        if result.truncated:
            flags.append("output_truncated")
        if dropped:
            flags.append(f"uncited_lines_dropped:{dropped}")
        if not items:
            fallback = ExtractiveDayDigester().digest(passages, ctx)
            fallback.cost = cost
            fallback.flags = [*flags, "llm_output_unusable"]
            return fallback
        return DayDigest(items, ANTHROPIC, self.llm.model, DAILY.version, cost, flags)


def build_day_digester(settings: Settings, mode: str, meter: UsageMeter) -> DayDigester:
    """The digester for `mode` (from `summarizers.resolve_mode`); the anthropic one loads
    the SDK and counts every billed call in `meter`."""
    if mode == EXTRACTIVE:
        return ExtractiveDayDigester()
    client = AnthropicClient(ClientConfig.from_settings(settings), meter=meter)
    return LLMDayDigester(
        client,
        Pricing(settings.llm_price_input_per_mtok, settings.llm_price_output_per_mtok),
        budget_tokens=settings.llm_input_budget_tokens,
        max_tokens=settings.llm_max_tokens,
    )
