"""The one summariser family: an LLM and an extractive summariser, each for any kind.

A `SummaryKind` says what hourly notes, a daily digest or a weekly synthesis asks for: its
prompts, the parser that reads the model's answer, the extractive way to the same items,
and (weekly) the review passes that follow the first one. `LLMSummarizer` runs the kind's
prompts through map-reduce (a long period is split within the input budget, never
truncated) over Claude or an OpenAI-compatible endpoint (the same prompts, budget and
grounding check for both; the mode names which); `ExtractiveSummarizer` quotes the period
without a model. Which one ran is written into every section and file, and `infra health`
reports extractive as a WARNING, so the degraded mode is never silent. If the model answers
but nothing it wrote cites a real passage, the extractive items are used instead and a flag
says so: never an unattributed summary. Settings pick and build the summariser in services.py.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, Protocol, TypeVar

from openclaw_infra.llm.client import LLM, Completion, Pricing, UsageMeter
from openclaw_infra.llm.mapreduce import MapReduceResult, Passage, check_budget, summarize_passages
from openclaw_infra.llm.prompts import PromptSet
from openclaw_infra.pipeline.digest_records import Cost

ANTHROPIC, OPENAI_COMPATIBLE, EXTRACTIVE = "anthropic", "openai-compatible", "extractive"
LLM_MODES = (ANTHROPIC, OPENAI_COMPATIBLE)  # the modes `LLMSummarizer` runs in

T = TypeVar("T")


@dataclass
class PassUsage:
    """What one pass (one prompt, in as many requests as it needed) cost."""

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
class Summary(Generic[T]):
    """The items of one period, and what producing them took."""

    items: list[T]
    summarizer: str
    model: str | None
    prompt_version: str
    passes: list[PassUsage] = field(default_factory=list)
    critique: list[str] = field(default_factory=list)  # review notes (weekly)
    flags: list[str] = field(default_factory=list)

    @property
    def cost(self) -> Cost:
        total = Cost()
        for usage in self.passes:
            total.add(Cost(usage.tokens_in, usage.tokens_out, usage.cost_usd, usage.calls))
        return total


Parse = Callable[[str, Collection[int]], tuple[list[T], int]]
Extract = Callable[[Sequence[Passage], date], list[T]]
Review = Callable[["LLMSummarizer[T]", Summary[T], Sequence[Passage], str], Summary[T]]


@dataclass(frozen=True)
class SummaryKind(Generic[T]):
    """What one kind of summary asks for."""

    prompts: PromptSet
    parse: Parse[T]  # model text, valid refs -> items citing them, lines dropped uncited
    extract: Extract[T]  # the same items without a model
    extractive_version: str
    dropped_flag: str | None  # the flag that counts uncited lines (None: not flagged)
    first_step: str = "summarize"  # the first pass's name in the usage
    review: Review[T] | None = None  # passes after the first (weekly: critique, refine)


class Summarizer(Protocol[T]):
    """What a period run calls; `meter` and `pricing` (LLM only) feed the run ledger."""

    @property
    def name(self) -> str: ...
    @property
    def meter(self) -> UsageMeter | None: ...
    @property
    def pricing(self) -> Pricing | None: ...

    def summarize(self, passages: Sequence[Passage], context: str, day: date) -> Summary[T]: ...


class ExtractiveSummarizer(Generic[T]):
    """The kind's items quoted from its passages, without a model."""

    name = EXTRACTIVE
    meter: UsageMeter | None = None
    pricing: Pricing | None = None

    def __init__(self, kind: SummaryKind[T]) -> None:
        self.kind = kind

    def summarize(self, passages: Sequence[Passage], context: str, day: date) -> Summary[T]:
        items = self.kind.extract(passages, day)
        extract = PassUsage("extract", requests=1)
        return Summary(items, EXTRACTIVE, None, self.kind.extractive_version, [extract])


def _mapreduce_flags(result: MapReduceResult) -> list[str]:
    flags = []
    if result.map_chunks > 1:
        flags.append(f"map_reduce:{result.map_chunks}")
    if result.split_passages:
        flags.append(f"split_passages:{result.split_passages}")
    if result.truncated:
        flags.append("output_truncated")
    return flags


class LLMSummarizer(Generic[T]):
    """The kind's prompts over an `LLM`: map-reduce, parse, then the kind's review passes.
    `mode` (one of LLM_MODES) names the endpoint in the files and the ledger."""

    def __init__(
        self,
        kind: SummaryKind[T],
        llm: LLM,
        pricing: Pricing,
        *,
        budget_tokens: int,
        max_tokens: int,
        meter: UsageMeter | None = None,
        mode: str = ANTHROPIC,
    ) -> None:
        # a bad budget/output pair fails here, before any work
        check_budget(kind.prompts, "", budget_tokens, max_tokens)
        self.name = mode
        self.kind = kind
        self.llm = llm
        self.pricing = pricing
        self.budget_tokens = budget_tokens
        self.max_tokens = max_tokens
        self.meter = meter  # the client's meter: every billed call, failed periods included

    def summarize(self, passages: Sequence[Passage], context: str, day: date) -> Summary[T]:
        kind = self.kind
        result = summarize_passages(
            self.llm,
            kind.prompts,
            passages,
            context=context,
            budget_tokens=self.budget_tokens,
            max_tokens=self.max_tokens,
        )
        items, dropped = kind.parse(result.text, {p.ref for p in passages})
        first = PassUsage(
            kind.first_step,
            result.calls,
            result.tokens_in,
            result.tokens_out,
            self.pricing.cost(result.tokens_in, result.tokens_out),
            result.map_chunks + result.reduce_rounds,
        )
        flags = _mapreduce_flags(result)
        if dropped and kind.dropped_flag:
            flags.append(f"{kind.dropped_flag}:{dropped}")
        if not items:
            # the model answered but cited nothing we gave it: quote the period instead
            fallback = ExtractiveSummarizer(kind).summarize(passages, context, day)
            fallback.passes = [first]
            fallback.flags = [*flags, "llm_output_unusable"]
            return fallback
        summary = Summary(items, self.name, self.llm.model, kind.prompts.version, [first])
        summary.flags = flags
        return kind.review(self, summary, passages, context) if kind.review else summary
