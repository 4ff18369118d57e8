"""Chunking: conversation windows over turns, heading-aware pieces of Markdown files.

A chunk is what one search result returns, so its size trades context against how many
distinct results fit the caller's character budget. The sizes below were chosen with
`benchmarks/recall_quality.py` on the LoCoMo dev split (figures beside the constants), not
by guess. Chunk texts keep who spoke and when ("user:", "[2026-01-18 09:12 UTC]") because the
agent reading a result needs both, and the texts are deterministic so that an unchanged
window hashes the same and is never embedded twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from openclaw_infra.core.fsio import sha256_text

# Sizes chosen with benchmarks/recall_quality.py on the LoCoMo dev split (recall@10, returned
# texts cut to 6,000 characters, hybrid search, neighbouring windows merged):
#   windows of 3/2 (turns/stride) 0.759, 4/2 0.806, 5/2 0.794, 6/2 0.782, 6/3 0.792, 8/4 0.770,
#   4/3 0.778; 4/2 plus single-turn chunks 0.744. Longer windows carry more context per
#   result but fewer fit the caller's budget; shorter ones lose the context that makes a
#   turn findable.
WINDOW_TURNS = 4
WINDOW_STRIDE = 2
# A turn longer than this is shortened inside windows and indexed in pieces of its own.
TURN_MAX_CHARS = 1200
# A new time marker inside a window when turns are further apart than this.
TIME_GAP_S = 30 * 60
# Markdown chunks: at most this many characters (a longer single line is split). The same
# conversations written as dated notes (`--notes`): 600 0.754, 900 0.756, 1200 0.749.
MARKDOWN_MAX_CHARS = 900


@dataclass(frozen=True, slots=True)
class Turn:
    """One kept transcript entry as the store keeps it (see `openclaw.entries.Entry`)."""

    position: int  # JSONL line or SQLite seq
    entry_id: str
    ts: float | None  # epoch seconds, UTC
    role: str
    text: str


@dataclass(frozen=True)
class Chunk:
    """A piece of a document ready to embed: its line/seq range, time and text."""

    start: int
    end: int
    ts: float | None
    text: str

    @cached_property
    def content_hash(self) -> str:
        return sha256_text(self.text)


def format_ts(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_turns(turns: Sequence[Turn], max_chars: int = TURN_MAX_CHARS) -> str:
    """The text of a window: a time marker, then `role: text` lines (long turns shortened)."""
    lines: list[str] = []
    last_ts: float | None = None
    for turn in turns:
        if turn.ts is not None and (last_ts is None or turn.ts - last_ts > TIME_GAP_S):
            lines.append(f"[{format_ts(turn.ts)}]")
        if turn.ts is not None:
            last_ts = turn.ts
        text = turn.text.strip()
        if len(text) > max_chars:
            text = text[:max_chars].rstrip() + " …"
        lines.append(f"{turn.role}: {text}")
    return "\n".join(lines)


def first_open_window(n_turns: int, size: int = WINDOW_TURNS, stride: int = WINDOW_STRIDE) -> int:
    """Index of the first window that more turns appended after `n_turns` could change.

    Windows start at multiples of `stride`; one starting at `i` is final once it holds `size`
    turns, so appending only ever touches the windows from here on.
    """
    if n_turns < size:
        return 0
    return ((n_turns - size) // stride + 1) * stride


def window_chunks(
    turns: Sequence[Turn],
    *,
    first: int = 0,
    offset: int = 0,
    size: int = WINDOW_TURNS,
    stride: int = WINDOW_STRIDE,
) -> list[Chunk]:
    """Windows of `size` turns every `stride` turns, from turn index `first` (a multiple of
    `stride`); a window is emitted only when it adds turns the previous one lacked. A turn
    too long for a window also gets chunks of its own so that all of its text is findable.
    `offset` is the document index of `turns[0]` when only a tail of the turns is passed."""
    out: list[Chunk] = []
    n = len(turns)
    i = first
    while i < n and (i + offset == 0 or i + size - stride < n):
        window = turns[i : i + size]
        out.append(
            Chunk(window[0].position, window[-1].position, window[0].ts, render_turns(window))
        )
        i += stride
    # long turns: their whole text in pieces (chunks starting before `first` stay as they are)
    for turn in turns[first:]:
        if len(turn.text.strip()) > TURN_MAX_CHARS:
            out.extend(_long_turn_pieces(turn))
    return out


def _long_turn_pieces(turn: Turn) -> list[Chunk]:
    pieces = _split_text(turn.text.strip(), TURN_MAX_CHARS)
    head = f"[{format_ts(turn.ts)}]\n" if turn.ts is not None else ""
    return [
        Chunk(
            turn.position,
            turn.position,
            turn.ts,
            f"{head}{turn.role} (part {k}/{len(pieces)}): {piece}",
        )
        for k, piece in enumerate(pieces, 1)
    ]


_NON_SPACE = re.compile(r"\S")  # `\s` is `str.isspace`, so this skips what lstrip() strips


def _split_text(text: str, limit: int) -> list[str]:
    """Split at paragraph, then line, then word boundaries; never loses a character.

    Works on offsets into `text`: slicing off the rest after every piece copied the whole
    remainder each time, quadratic on a multi-MB line."""
    pieces: list[str] = []
    start, n = 0, len(text)
    while n - start > limit:
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = text.rfind(sep, start + limit // 2, start + limit)
            if cut > start:
                break
        if cut <= start:
            cut = start + limit
        pieces.append(text[start:cut].strip())
        follows = _NON_SPACE.search(text, cut)
        start = follows.start() if follows else n
    rest = text[start:].strip()
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]


_HEADING_START = re.compile(r"(#{1,6})\s+")


def _heading(text: str) -> tuple[int, str] | None:
    r"""(level, title) when `text` is an ATX heading, exactly as `^(#{1,6})\s+(.*?)\s*#*\s*$`
    matches it (on a block's text too, across its newlines) but in linear time: that regex
    backtracked cubically on a long run of spaces. The title is what is left before the
    closing `\s*#*\s*`, and it may not run past the first newline."""
    start = _HEADING_START.match(text)
    if start is None:
        return None
    begin = start.end()
    newline = text.find("\n", begin)
    end = max(begin, len(text.rstrip().rstrip("#").rstrip()))
    if newline != -1 and end > newline:
        return None
    return len(start.group(1)), text[begin:end]


_FENCE = re.compile(r"^\s*(```|~~~)")


def _frontmatter_end(lines: Sequence[str]) -> int:
    """Index of the first body line: YAML frontmatter (infra's summaries) is metadata."""
    if lines and lines[0].strip() == "---":
        for k in range(1, min(len(lines), 500)):
            if lines[k].strip() in ("---", "..."):
                return k + 1
    return 0


@dataclass
class _Block:
    rows: tuple[int, ...]  # 0-based indexes of the lines it holds
    heading_path: tuple[str, ...]
    level: int  # heading level that opened this block's section (0 = none)
    starts_section: bool
    text: str

    @property
    def first(self) -> int:
        return self.rows[0]

    @property
    def last(self) -> int:
        return self.rows[-1]


def _blocks(lines: Sequence[str], body_start: int) -> list[_Block]:
    """Paragraph blocks with the heading path they sit under; fenced code stays whole."""
    blocks: list[_Block] = []
    path: list[tuple[int, str]] = []
    cur: list[int] = []
    in_fence = False
    pending_heading = False

    def flush() -> None:
        nonlocal cur, pending_heading
        if cur:
            text = "\n".join(lines[k] for k in cur)
            if text.strip():
                level = path[-1][0] if path else 0
                blocks.append(
                    _Block(tuple(cur), tuple(t for _, t in path), level, pending_heading, text)
                )
                pending_heading = False
        cur = []

    for k in range(body_start, len(lines)):
        line = lines[k]
        if _FENCE.match(line):
            in_fence = not in_fence
            cur.append(k)
            continue
        if in_fence:
            cur.append(k)
            continue
        heading = _heading(line)
        if heading:
            flush()
            level = heading[0]
            while path and path[-1][0] >= level:
                path.pop()
            path.append(heading)
            pending_heading = True
            cur = [k]
            continue
        if not line.strip():
            # a heading line stays glued to the paragraph that follows it
            if cur and not (len(cur) == 1 and _heading(lines[cur[0]])):
                flush()
            continue
        cur.append(k)
    flush()
    return blocks


def _split_oversized(blocks: list[_Block], lines: Sequence[str], max_chars: int) -> list[_Block]:
    """A block longer than a chunk becomes one block per line, so line ranges stay exact."""
    out: list[_Block] = []
    for block in blocks:
        if len(block.text) <= max_chars or len(block.rows) == 1:
            out.append(block)
            continue
        rows = list(block.rows)
        glued: tuple[int, ...] = ()
        if _heading(lines[rows[0]]):
            # the heading line stays with the first line of its section
            glued = (rows.pop(0),)
        for k, row in enumerate(rows):
            if k == 0 and glued:
                out.append(
                    _Block(
                        (*glued, row),
                        block.heading_path,
                        block.level,
                        block.starts_section,
                        lines[glued[0]] + "\n" + lines[row],
                    )
                )
            else:
                out.append(
                    _Block(
                        (row,),
                        block.heading_path,
                        block.level,
                        block.starts_section and k == 0,
                        lines[row],
                    )
                )
    return out


def _path_prefix(heading_path: tuple[str, ...]) -> str:
    return "§ " + " › ".join(heading_path) + "\n" if heading_path else ""


def markdown_chunks(text: str, *, max_chars: int = MARKDOWN_MAX_CHARS) -> list[Chunk]:
    """Heading-aware chunks of a Markdown file with 1-based line ranges (`ts` left to the
    caller). A top-level (`#`/`##`) heading always starts a new chunk; deeper sections and
    paragraphs are packed together up to `max_chars`. A chunk that does not begin at its
    heading is prefixed with the heading path so it reads on its own."""
    lines = text.splitlines()
    blocks = _split_oversized(_blocks(lines, _frontmatter_end(lines)), lines, max_chars)
    chunks: list[Chunk] = []
    group: list[_Block] = []

    def emit() -> None:
        if not group:
            return
        first = group[0]
        body = "\n\n".join(b.text for b in group)
        path = _path_prefix(first.heading_path)
        prefix = "" if first.starts_section else path
        if len(prefix) + len(body) <= max_chars:
            pieces = [prefix + body]
        else:
            # only a single line longer than a chunk gets here; every piece names its section
            cont = _path_prefix(group[-1].heading_path)
            # a heading path about as long as a chunk must still leave room for text (with
            # none left the split never ended)
            room = max(max_chars - max(len(path), len(cont)), max_chars // 2, 1)
            cut = _split_text(body, room) or [body]  # blank: a fence's empty line
            pieces = [prefix + cut[0]] + [cont + piece for piece in cut[1:]]
        for piece in pieces:
            chunks.append(Chunk(first.first + 1, group[-1].last + 1, None, piece))
        group.clear()

    size = 0
    only_headings = True  # of `group`; kept as it grows (rescanning it was quadratic)
    for block in blocks:
        hard_break = block.starts_section and block.level <= 2
        if group and not only_headings and (hard_break or size + len(block.text) + 2 > max_chars):
            emit()
            size = 0
        if not group:
            only_headings = True
            if block.heading_path and not block.starts_section:
                size = len(_path_prefix(block.heading_path))  # the prefix counts against it
        group.append(block)
        only_headings = only_headings and _heading(block.text) is not None
        size += len(block.text) + 2
    emit()
    return chunks
