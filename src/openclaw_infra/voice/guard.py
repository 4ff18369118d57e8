"""The last line against invented text: drop empty segments and cut repetition loops.

Whisper's decoder can fall into a loop ("you you you …", one sentence over and over) on
silence, noise or a hard stretch of audio. Decoding settings make that rare (no conditioning
on the previous text, temperature fallback on a high compression ratio, the no-speech
threshold, voice activity detection); this pure function catches what is left, whichever
backend ran:

- a segment with no word characters (".", "♪", "…") is not speech;
- a segment Whisper's own no-speech head rates `SILENT` or more and that decoded without
  confidence (mean log-prob under `UNSURE`) is the silence hallucination: tiny.en writes
  "you" over 30 s of silence at 0.95 / -0.70 (measured, both backends), while the fixture
  speech clips never pass 0.38 (Whisper's own skip rule, 0.6 and -1.0, misses it);
- an n-gram said `MIN_REPEATS` or more times in a row inside a segment is kept once;
- the same text in `SEGMENT_RUN` or more consecutive segments is a loop across windows: kept
  once, or dropped entirely when Whisper itself judged those windows silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from openclaw_infra.voice.transcript import Segment, clean_text

MAX_NGRAM = 12
MIN_REPEATS = 4
SEGMENT_RUN = 3
LOOP_NO_SPEECH = 0.5
SILENT = 0.8
UNSURE = -0.5

_WORD = re.compile(r"\w")
_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class GuardResult:
    segments: list[Segment]
    loops_removed: int  # repetitions cut (words or whole segments)
    dropped: int  # segments without any word, or judged silent


def _key(word: str) -> str:
    return _NON_WORD.sub("", word.lower())


def _repeats(keys: list[str], start: int, n: int) -> int:
    """How many times keys[start:start+n] occurs back to back from `start`."""
    unit = keys[start : start + n]
    count = 1
    while keys[start + count * n : start + (count + 1) * n] == unit:
        count += 1
    return count


def collapse_loops(words: list[str]) -> tuple[list[str], int]:
    """Keep one copy of every n-gram repeated `MIN_REPEATS`+ times in a row; count the cuts."""
    keys = [_key(w) for w in words]
    out: list[str] = []
    removed = 0
    i = 0
    while i < len(words):
        best_n, best_count = 0, 0
        for n in range(1, MAX_NGRAM + 1):
            if i + n * MIN_REPEATS > len(words):
                break
            if not any(keys[i : i + n]):
                continue
            count = _repeats(keys, i, n)
            if count >= MIN_REPEATS and count * n > best_count * best_n:
                best_n, best_count = n, count
        if best_n:
            out.extend(words[i : i + best_n])
            removed += best_count - 1
            i += best_n * best_count
        else:
            out.append(words[i])
            i += 1
    return out, removed


def _segment_key(segment: Segment) -> str:
    return " ".join(_key(w) for w in segment.text.split())


def guard(segments: list[Segment]) -> GuardResult:
    """Clean each segment's text, drop non-speech and cut repetition loops."""
    cleaned: list[Segment] = []
    removed = dropped = 0
    for seg in segments:
        text = clean_text(seg.text)
        silent = seg.no_speech_prob >= SILENT and seg.avg_logprob < UNSURE
        if silent or not _WORD.search(text):
            dropped += 1
            continue
        words, cut = collapse_loops(text.split())
        removed += cut
        cleaned.append(replace(seg, text=" ".join(words)))
    kept: list[Segment] = []
    i = 0
    while i < len(cleaned):
        key = _segment_key(cleaned[i])
        j = i
        while j + 1 < len(cleaned) and _segment_key(cleaned[j + 1]) == key:
            j += 1
        run = cleaned[i : j + 1]
        if len(run) >= SEGMENT_RUN:
            silent = sum(s.no_speech_prob for s in run) / len(run) >= LOOP_NO_SPEECH
            kept.extend([] if silent else run[:1])
            removed += len(run) if silent else len(run) - 1
        else:
            kept.extend(run)
        i = j + 1
    return GuardResult(kept, removed, dropped)
