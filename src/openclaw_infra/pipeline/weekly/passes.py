"""What a weekly synthesis asks of the summariser: three LLM passes (draft, critique,
refine), or extractive.

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

from collections.abc import Collection, Sequence
from datetime import date

from openclaw_infra.core.errors import ConfigError
from openclaw_infra.llm.mapreduce import Passage, pack, passage_blocks
from openclaw_infra.llm.prompts import escape
from openclaw_infra.llm.tokens import REQUEST_OVERHEAD_TOKENS, estimate_tokens
from openclaw_infra.pipeline.daily.answered import is_answered, overlap
from openclaw_infra.pipeline.extractive import summarize_extractive
from openclaw_infra.pipeline.items import (
    DECISION,
    FLAGGED,
    NEXT,
    OPEN_ITEM,
    QUESTION,
    SUMMARY,
    Item,
    parse_items,
    screened,
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
from openclaw_infra.pipeline.summarizer import LLMSummarizer, PassUsage, Summary, SummaryKind

WEEKLY_SECTIONS = (SUMMARY, DECISION, OPEN_ITEM, NEXT)
WEEKLY_EXTRACTIVE_VERSION = "weekly-extractive-v2"
MAX_CRITIQUE_ROUNDS = 6
_CRITIQUE_KINDS = ("UNSUPPORTED", "MISSING", "CONTRADICTION")


def critique_counts(critique: Sequence[str]) -> dict[str, int]:
    """How many critique notes of each kind (unsupported, missing, contradiction)."""
    counts = {kind.lower(): 0 for kind in _CRITIQUE_KINDS}
    for line in critique:
        for kind in _CRITIQUE_KINDS:
            if line.removeprefix("- ").upper().startswith(kind):
                counts[kind.lower()] += 1
    return counts


def _distinct(passages: Sequence[Passage]) -> list[Passage]:
    """Each line once: a later day's restatement of a line already kept is left out."""
    kept: list[Passage] = []
    for passage in passages:
        if not any(overlap(passage.text, k.text) for k in kept):
            kept.append(passage)
    return kept


def _still_open(passages: Sequence[Passage]) -> list[Passage]:
    """The week's questions that no later line of the week answers, each once."""
    questions = [p for p in passages if p.attrs.get("section") == QUESTION]
    statements = [p for p in passages if p.attrs.get("section") != QUESTION]
    return [
        q
        for q in _distinct(questions)
        if not is_answered(q.text, [s.text for s in statements if s.ref > q.ref])
    ]


def extract_week(passages: Sequence[Passage], monday: date) -> list[Item]:
    """One pass, no LLM: the week's most salient summary lines, its decisions and the
    questions still open at its end, quoted from the dailies, each said once."""

    def of(section: str) -> list[Passage]:
        return _distinct([p for p in passages if p.attrs.get("section") == section])

    decisions = of(DECISION)
    # questions go to the open section (or nowhere, once answered); decisions are listed once
    summary = [
        p
        for p in of(SUMMARY)
        if not p.text.rstrip().endswith("?") and not any(overlap(p.text, d.text) for d in decisions)
    ]
    items = [Item(SUMMARY, b.text, b.refs) for b in summarize_extractive(summary, 10)]
    items += [Item(DECISION, b.text, b.refs) for b in summarize_extractive(decisions, 8)]
    items += [
        Item(OPEN_ITEM, b.text, b.refs) for b in summarize_extractive(_still_open(passages), 6)
    ]
    return screened(items)


def _parse(text: str, refs: Collection[int]) -> tuple[list[Item], int]:
    return parse_items(text, refs, WEEKLY_SECTIONS)


def _room(system: str, frame: str, budget: int) -> int:
    """Tokens left in a request for its variable part."""
    return budget - REQUEST_OVERHEAD_TOKENS - estimate_tokens(system) - estimate_tokens(frame) - 8


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("- ")]


def critique_and_refine(
    writer: LLMSummarizer[Item], draft: Summary[Item], passages: Sequence[Passage], context: str
) -> Summary[Item]:
    """Passes 2 and 3 over the draft: critique it against the week's items, then refine.
    Flagged lines (instruction-like) are not reviewed: they stay as the draft quoted them."""
    flagged = [item for item in draft.items if item.section == FLAGGED]
    lines = [tagged_line(item) for item in draft.items if item.section != FLAGGED]
    critique_pass, refine_pass = PassUsage("critique"), PassUsage("refine")
    critique = _critique(writer, lines, passages, context, critique_pass)
    completion = writer.llm.complete(
        REFINE_SYSTEM, refine_user_message(context, lines, critique), writer.max_tokens
    )
    refine_pass.add(completion, writer.pricing)
    final, _ = _parse(completion.text, {p.ref for p in passages})
    flags = list(draft.flags)
    if completion.truncated and "output_truncated" not in flags:
        flags.append("output_truncated")
    if not final:
        final = draft.items
        flags.append("refine_unusable")
    final = [*final, *(item for item in flagged if item not in final)]
    passes = [*draft.passes, critique_pass, refine_pass]
    return Summary(
        final, draft.summarizer, draft.model, draft.prompt_version, passes, critique, flags
    )


def _critique(
    writer: LLMSummarizer[Item],
    draft: list[str],
    passages: Sequence[Passage],
    context: str,
    usage: PassUsage,
) -> list[str]:
    room = _room(CRITIQUE_SYSTEM, critique_user_message(context, draft, []), writer.budget_tokens)
    if room < writer.max_tokens:
        raise ConfigError(
            f"an input budget of {writer.budget_tokens} tokens leaves no room to critique the "
            "draft",
            hint="raise OPENCLAW_INFRA_LLM_INPUT_BUDGET_TOKENS or lower "
            "OPENCLAW_INFRA_LLM_MAX_TOKENS",
        )
    blocks, _ = passage_blocks(passages, room)
    notes: list[str] = []
    for chunk in pack(blocks, room):
        completion = writer.llm.complete(
            CRITIQUE_SYSTEM, critique_user_message(context, draft, chunk), writer.max_tokens
        )
        usage.add(completion, writer.pricing)
        notes.extend(_lines(completion.text))
    return _fit_refine(writer, draft, notes, context, usage)


def _fit_refine(
    writer: LLMSummarizer[Item], draft: list[str], notes: list[str], context: str, usage: PassUsage
) -> list[str]:
    """Merge critique notes until the refine request holds them (never cut them)."""
    room = _room(REFINE_SYSTEM, refine_user_message(context, draft, []), writer.budget_tokens)
    reduce_room = _room(
        CRITIQUE_REDUCE_SYSTEM, critique_reduce_message(context, []), writer.budget_tokens
    )
    for _ in range(MAX_CRITIQUE_ROUNDS + 1):
        size = sum(estimate_tokens(escape(n)) + 1 for n in notes)
        if size <= room:
            return notes
        merged: list[str] = []
        for group in pack(notes, reduce_room):
            completion = writer.llm.complete(
                CRITIQUE_REDUCE_SYSTEM, critique_reduce_message(context, group), writer.max_tokens
            )
            usage.add(completion, writer.pricing)
            merged.extend(_lines(completion.text))
        if sum(estimate_tokens(escape(n)) + 1 for n in merged) >= size:
            break  # merging stopped shrinking the notes
        notes = merged
    raise ConfigError(
        "the weekly critique does not shrink to fit the refine request",
        hint="raise OPENCLAW_INFRA_LLM_INPUT_BUDGET_TOKENS",
    )


WEEKLY_SYNTHESIS = SummaryKind(
    prompts=WEEKLY_DRAFT,
    parse=_parse,
    extract=extract_week,
    extractive_version=WEEKLY_EXTRACTIVE_VERSION,
    dropped_flag=None,
    first_step="draft",
    review=critique_and_refine,
)
