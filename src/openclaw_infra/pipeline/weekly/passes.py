"""The weekly synthesis writers: three LLM passes (draft, critique, refine), or extractive.

Each pass keeps every request within the input budget (OPENCLAW_INFRA_LLM_INPUT_BUDGET_TOKENS):
- draft: map-reduce over the week's daily items (llm/mapreduce.py), as for any long input;
- critique: the draft plus as many daily items as fit beside it, in as many requests as the
  week needs (each judges the draft against its share), the notes merged when they would
  not fit the refine request;
- refine: the draft and the critique in one request (both are bounded by the output limit
  or merged down to fit).
Usage is counted per pass and goes into the frontmatter. Lines citing no input ref are
dropped as in every summary; if the refine pass returns nothing usable the draft stands and
a flag says so. The grounding check (grounding.py) runs on whatever comes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import ConfigError
from openclaw_infra.llm.client import (
    LLM,
    AnthropicClient,
    ClientConfig,
    Completion,
    Pricing,
    UsageMeter,
)
from openclaw_infra.llm.mapreduce import (
    Passage,
    check_budget,
    pack,
    passage_blocks,
    summarize_passages,
)
from openclaw_infra.llm.prompts import escape
from openclaw_infra.llm.tokens import REQUEST_OVERHEAD_TOKENS, estimate_tokens
from openclaw_infra.pipeline.extractive import summarize_extractive
from openclaw_infra.pipeline.items import (
    DECISION,
    NEXT,
    OPEN_ITEM,
    QUESTION,
    SUMMARY,
    Item,
    parse_items,
    tagged_line,
)
from openclaw_infra.pipeline.prompts import (
    CRITIQUE_REDUCE_SYSTEM,
    CRITIQUE_SYSTEM,
    REFINE_SYSTEM,
    WEEKLY_DRAFT,
    critique_reduce_message,
    critique_user_message,
    refine_user_message,
)
from openclaw_infra.pipeline.summarizer import ANTHROPIC, EXTRACTIVE

WEEKLY_SECTIONS = (SUMMARY, DECISION, OPEN_ITEM, NEXT)
WEEKLY_EXTRACTIVE_VERSION = "weekly-extractive-v1"
MAX_CRITIQUE_ROUNDS = 6
_CRITIQUE_KINDS = ("UNSUPPORTED", "MISSING", "CONTRADICTION")


@dataclass
class PassUsage:
    """What one pass cost."""

    name: str
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    requests: int = 0  # logical requests (map chunks, critique shares, reduce groups)

    def add(self, completion: Completion, pricing: Pricing) -> None:
        self.calls += completion.calls
        self.tokens_in += completion.tokens_in
        self.tokens_out += completion.tokens_out
        self.cost_usd += pricing.cost(completion.tokens_in, completion.tokens_out)
        self.requests += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "pass": self.name,
            "llm_calls": self.calls,
            "requests": self.requests,
            "tokens": {"input": self.tokens_in, "output": self.tokens_out},
            "cost_usd": round(self.cost_usd, 6),
        }


@dataclass
class WeekDraft:
    """The synthesis before grounding, and how it was made."""

    items: list[Item]
    summarizer: str
    model: str | None
    prompt_version: str
    passes: list[PassUsage] = field(default_factory=list)
    critique: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def critique_counts(self) -> dict[str, int]:
        counts = {kind.lower(): 0 for kind in _CRITIQUE_KINDS}
        for line in self.critique:
            for kind in _CRITIQUE_KINDS:
                if line.removeprefix("- ").upper().startswith(kind):
                    counts[kind.lower()] += 1
        return counts


class WeekWriter(Protocol):
    name: str

    def write(self, passages: Sequence[Passage], context: str) -> WeekDraft: ...


class ExtractiveWeekWriter:
    """One pass, no LLM: the week's most salient summary lines, its decisions and its open
    questions, quoted from the dailies."""

    name = EXTRACTIVE

    def write(self, passages: Sequence[Passage], context: str) -> WeekDraft:
        def of(section: str) -> list[Passage]:
            return [p for p in passages if p.attrs.get("section") == section]

        items = [Item(SUMMARY, b.text, b.refs) for b in summarize_extractive(of(SUMMARY), 10)]
        items += [Item(DECISION, b.text, b.refs) for b in summarize_extractive(of(DECISION), 8)]
        items += [Item(OPEN_ITEM, b.text, b.refs) for b in summarize_extractive(of(QUESTION), 6)]
        return WeekDraft(
            items, EXTRACTIVE, None, WEEKLY_EXTRACTIVE_VERSION, [PassUsage("extract", requests=1)]
        )


def _room(system: str, frame: str, budget: int) -> int:
    """Tokens left in a request for its variable part."""
    return budget - REQUEST_OVERHEAD_TOKENS - estimate_tokens(system) - estimate_tokens(frame) - 8


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("- ")]


class ThreePassWriter:
    """Draft, critique, refine over an `LLM`."""

    name = ANTHROPIC

    def __init__(self, llm: LLM, pricing: Pricing, *, budget_tokens: int, max_tokens: int) -> None:
        check_budget(WEEKLY_DRAFT, "", budget_tokens, max_tokens)
        self.llm = llm
        self.pricing = pricing
        self.budget = budget_tokens
        self.max_tokens = max_tokens

    def write(self, passages: Sequence[Passage], context: str) -> WeekDraft:
        refs = {p.ref for p in passages}
        draft_pass = PassUsage("draft")
        result = summarize_passages(
            self.llm,
            WEEKLY_DRAFT,
            passages,
            context=context,
            budget_tokens=self.budget,
            max_tokens=self.max_tokens,
        )
        draft_pass.calls, draft_pass.tokens_in, draft_pass.tokens_out = (
            result.calls,
            result.tokens_in,
            result.tokens_out,
        )
        draft_pass.cost_usd = self.pricing.cost(result.tokens_in, result.tokens_out)
        draft_pass.requests = result.map_chunks + result.reduce_rounds
        draft_items, _ = parse_items(result.text, refs, WEEKLY_SECTIONS)
        flags = [f"map_reduce:{result.map_chunks}"] if result.map_chunks > 1 else []
        if not draft_items:
            fallback = ExtractiveWeekWriter().write(passages, context)
            fallback.passes = [draft_pass]
            fallback.flags = [*flags, "llm_output_unusable"]
            return fallback
        draft = [tagged_line(item) for item in draft_items]
        critique_pass, refine_pass = PassUsage("critique"), PassUsage("refine")
        critique = self._critique(draft, passages, context, critique_pass)
        completion = self.llm.complete(
            REFINE_SYSTEM, refine_user_message(context, draft, critique), self.max_tokens
        )
        refine_pass.add(completion, self.pricing)
        final, _ = parse_items(completion.text, refs, WEEKLY_SECTIONS)
        if completion.truncated or result.truncated:
            flags.append("output_truncated")
        if not final:
            final = draft_items
            flags.append("refine_unusable")
        return WeekDraft(
            final,
            ANTHROPIC,
            self.llm.model,
            WEEKLY_DRAFT.version,
            [draft_pass, critique_pass, refine_pass],
            critique,
            flags,
        )

    def _critique(
        self, draft: list[str], passages: Sequence[Passage], context: str, usage: PassUsage
    ) -> list[str]:
        room = _room(CRITIQUE_SYSTEM, critique_user_message(context, draft, []), self.budget)
        if room < self.max_tokens:
            raise ConfigError(
                f"an input budget of {self.budget} tokens leaves no room to critique the draft",
                hint="raise OPENCLAW_INFRA_LLM_INPUT_BUDGET_TOKENS or lower "
                "OPENCLAW_INFRA_LLM_MAX_TOKENS",
            )
        blocks, _ = passage_blocks(passages, room)
        notes: list[str] = []
        for chunk in pack(blocks, room):
            completion = self.llm.complete(
                CRITIQUE_SYSTEM, critique_user_message(context, draft, chunk), self.max_tokens
            )
            usage.add(completion, self.pricing)
            notes.extend(_lines(completion.text))
        return self._fit_refine(draft, notes, context, usage)

    def _fit_refine(
        self, draft: list[str], notes: list[str], context: str, usage: PassUsage
    ) -> list[str]:
        """Merge critique notes until the refine request holds them (never cut them)."""
        room = _room(REFINE_SYSTEM, refine_user_message(context, draft, []), self.budget)
        reduce_room = _room(
            CRITIQUE_REDUCE_SYSTEM, critique_reduce_message(context, []), self.budget
        )
        for _ in range(MAX_CRITIQUE_ROUNDS + 1):
            size = sum(estimate_tokens(escape(n)) + 1 for n in notes)
            if size <= room:
                return notes
            merged: list[str] = []
            for group in pack(notes, reduce_room):
                completion = self.llm.complete(
                    CRITIQUE_REDUCE_SYSTEM, critique_reduce_message(context, group), self.max_tokens
                )
                usage.add(completion, self.pricing)
                merged.extend(_lines(completion.text))
            if sum(estimate_tokens(escape(n)) + 1 for n in merged) >= size:
                break  # merging stopped shrinking the notes
            notes = merged
        raise ConfigError(
            "the weekly critique does not shrink to fit the refine request",
            hint="raise OPENCLAW_INFRA_LLM_INPUT_BUDGET_TOKENS",
        )


def build_week_writer(settings: Settings, mode: str, meter: UsageMeter) -> WeekWriter:
    if mode == EXTRACTIVE:
        return ExtractiveWeekWriter()
    client = AnthropicClient(ClientConfig.from_settings(settings), meter=meter)
    return ThreePassWriter(
        client,
        Pricing(settings.llm_price_input_per_mtok, settings.llm_price_output_per_mtok),
        budget_tokens=settings.llm_input_budget_tokens,
        max_tokens=settings.llm_max_tokens,
    )
