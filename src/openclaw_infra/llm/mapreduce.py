"""Summarise any amount of text within a per-request token budget: map, then reduce.

Input is a list of numbered passages. If they fit one request, one call does it. Otherwise
passages are packed into chunks that each fit the budget (a passage larger than a whole
request is cut into labelled parts, `part="2/3"`, all of which are sent), each chunk is
summarised (map), and the partial notes are merged (reduce), in rounds if the notes
themselves exceed one request. Nothing is dropped to make it fit: every character of input
reaches the model in some request.

The notes keep the passages' ref numbers, so the final bullets still cite their sources.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from openclaw_infra.core.errors import ConfigError
from openclaw_infra.llm.client import LLM, Completion
from openclaw_infra.llm.prompts import (
    PromptSet,
    escape,
    map_user_message,
    passage_block,
    reduce_user_message,
)
from openclaw_infra.llm.tokens import REQUEST_OVERHEAD_TOKENS, chars_for_tokens, estimate_tokens

MAX_REDUCE_ROUNDS = 8


@dataclass(frozen=True)
class Passage:
    """One unit of input: a ref the output cites, attributes shown to the model, the text."""

    ref: int
    text: str
    attrs: Mapping[str, str] = field(default_factory=dict)


@dataclass
class MapReduceResult:
    text: str  # the final notes: bullets ending in [refs]
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    map_chunks: int = 0
    reduce_rounds: int = 0
    split_passages: int = 0  # passages larger than a request, sent in parts
    truncated: bool = False  # some response stayed cut at max_tokens after continuing

    def add(self, completion: Completion) -> None:
        self.calls += completion.calls
        self.tokens_in += completion.tokens_in
        self.tokens_out += completion.tokens_out
        self.truncated = self.truncated or completion.truncated


def _cost(text: str) -> int:
    # +1: the newline that joins this block to the next one
    return estimate_tokens(text) + 1


def _room(system: str, frame: str, budget: int) -> int:
    """Tokens left for the body of a request after the system prompt and framing."""
    return budget - REQUEST_OVERHEAD_TOKENS - estimate_tokens(system) - _cost(frame) - 4


def _split_text(text: str, max_chars: int) -> list[str]:
    """Cut `text` into pieces of at most `max_chars`, preferring whitespace boundaries."""
    pieces: list[str] = []
    start = 0
    while len(text) - start > max_chars:
        end = start + max_chars
        cut = text.rfind(" ", start + max_chars * 4 // 5, end)
        newline = text.rfind("\n", start + max_chars * 4 // 5, end)
        cut = max(cut, newline)
        if cut <= start:
            cut = end
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def passage_blocks(passages: Sequence[Passage], room: int) -> tuple[list[str], int]:
    """Every passage as one or more blocks of at most `room` tokens; how many were split."""
    blocks: list[str] = []
    split = 0
    for passage in passages:
        block = passage_block(passage.ref, passage.attrs, passage.text)
        if _cost(block) <= room:
            blocks.append(block)
            continue
        split += 1
        header = _cost(passage_block(passage.ref, {**passage.attrs, "part": "999/999"}, ""))
        size = chars_for_tokens(room - header)
        while True:
            pieces = _split_text(passage.text, size)
            parts = [
                passage_block(passage.ref, {**passage.attrs, "part": f"{i}/{len(pieces)}"}, piece)
                for i, piece in enumerate(pieces, 1)
            ]
            # escaping can grow a piece (`<` becomes `&lt;`): shrink until every part fits
            if all(_cost(part) <= room for part in parts) or size <= 64:
                break
            size = size * 3 // 4
        blocks.extend(parts)
    return blocks, split


def pack(
    blocks: Sequence[str], room: int, cost_of: Callable[[str], int] = _cost
) -> list[list[str]]:
    """Greedy packing of blocks, in order, into chunks of at most `room` tokens."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for block in blocks:
        cost = cost_of(block)
        if current and used + cost > room:
            chunks.append(current)
            current, used = [], 0
        current.append(block)
        used += cost
    if current:
        chunks.append(current)
    return chunks


def _note_cost(line: str) -> int:
    return _cost(escape(line))


def _note_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def check_budget(
    prompts: PromptSet, context: str, budget_tokens: int, max_tokens: int
) -> tuple[int, int]:
    """Room for passages (map) and notes (reduce) per request; ConfigError when a reduce
    request could not hold two full outputs, because merging would then never shrink."""
    map_room = _room(prompts.map_system, map_user_message(prompts, context, []), budget_tokens)
    reduce_room = _room(
        prompts.reduce_system, reduce_user_message(prompts, context, []), budget_tokens
    )
    if min(map_room, reduce_room) < 2 * max_tokens:
        raise ConfigError(
            f"an input budget of {budget_tokens} tokens is too small for outputs of "
            f"{max_tokens} tokens",
            hint="raise OPENCLAW_INFRA_LLM_INPUT_BUDGET_TOKENS (openai-compatible: "
            "OPENCLAW_INFRA_OPENAI_INPUT_BUDGET_TOKENS) or lower OPENCLAW_INFRA_LLM_MAX_TOKENS",
        )
    return map_room, reduce_room


def summarize_passages(
    llm: LLM,
    prompts: PromptSet,
    passages: Sequence[Passage],
    *,
    context: str,
    budget_tokens: int,
    max_tokens: int,
) -> MapReduceResult:
    """Notes for `passages`, in as many requests as the budget needs."""
    result = MapReduceResult(text="")
    if not passages:
        return result
    map_room, reduce_room = check_budget(prompts, context, budget_tokens, max_tokens)
    blocks, result.split_passages = passage_blocks(passages, map_room)
    chunks = pack(blocks, map_room)
    result.map_chunks = len(chunks)
    notes: list[str] = []
    for chunk in chunks:
        completion = llm.complete(
            prompts.map_system, map_user_message(prompts, context, chunk), max_tokens
        )
        result.add(completion)
        notes.extend(_note_lines(completion.text))
    if len(chunks) == 1:
        result.text = "\n".join(notes)
        return result
    while True:
        result.reduce_rounds += 1
        groups = pack(notes, reduce_room, _note_cost)
        merged: list[str] = []
        for group in groups:
            completion = llm.complete(
                prompts.reduce_system, reduce_user_message(prompts, context, group), max_tokens
            )
            result.add(completion)
            merged.extend(_note_lines(completion.text))
        if len(groups) == 1:
            result.text = "\n".join(merged)
            return result
        if result.reduce_rounds >= MAX_REDUCE_ROUNDS or sum(map(_note_cost, merged)) >= sum(
            map(_note_cost, notes)
        ):
            raise ConfigError(
                "partial notes stopped shrinking while merging; the input budget is too "
                "small for this much text",
                hint="raise OPENCLAW_INFRA_LLM_INPUT_BUDGET_TOKENS",
            )
        notes = merged
