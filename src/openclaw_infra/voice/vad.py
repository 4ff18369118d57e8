"""Voice activity detection: find where the speech is, so only that reaches the decoder.

On silence or room noise Whisper decodes every 30 s window anyway and can invent words
("you", "Thank you."). So both backends get the same treatment, with the Silero model that
faster-whisper ships: find the speech here, glue it together (as faster-whisper's own VAD
filter does, see `voice/speech.py`), transcribe that, map the times back.

Silero runs on `WINDOW_S` of audio at a time. faster-whisper's helper feeds it the whole
recording in one batch, which costs about 0.6 MB of RAM per second of audio (about 190 MB
for five minutes); windows keep that near 20 MB whatever the length. Speech cut at a window
edge is joined again (`JOIN_GAP_S`, the VAD's own minimum silence).

Without faster-whisper installed there is no VAD (`None`): the whole recording is decoded
and the transcript records `vad: false`.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
WINDOW_S = 30
JOIN_GAP_S = 2.0


def available() -> bool:
    return importlib.util.find_spec("faster_whisper") is not None


def join_close(regions: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Merge sample ranges that overlap or lie less than `gap` samples apart."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(regions):
        if joined and start - joined[-1][1] < gap:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def speech_regions(samples: np.ndarray) -> list[tuple[int, int]] | None:
    """Sample ranges with speech ([] for none); None when no VAD is installed."""
    if not available():
        return None
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions()  # faster-whisper's transcribe() defaults
    window = WINDOW_S * SAMPLE_RATE
    found: list[tuple[int, int]] = []
    for offset in range(0, samples.size, window):
        piece = samples[offset : offset + window]
        for chunk in get_speech_timestamps(piece, options, sampling_rate=SAMPLE_RATE):
            found.append((offset + chunk["start"], offset + chunk["end"]))
    return join_close(found, int(JOIN_GAP_S * SAMPLE_RATE))
