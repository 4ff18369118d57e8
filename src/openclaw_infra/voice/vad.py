"""Voice activity detection for openai-whisper, with the Silero model faster-whisper ships.

openai-whisper has no VAD of its own: on silence or room noise it decodes every 30 s window
and can invent words. Running the same Silero VAD faster-whisper uses, and decoding only the
stretches with speech, gives both backends the same defence. Without faster-whisper installed
there is no VAD (`None`), and the transcript records that it ran without one.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000


def available() -> bool:
    return importlib.util.find_spec("faster_whisper") is not None


def speech_regions(samples: np.ndarray) -> list[tuple[float, float]] | None:
    """(start, end) seconds of speech, [] for none; None when no VAD is installed."""
    if not available():
        return None
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    # faster-whisper's transcribe() defaults, so both backends cut the audio alike
    found = get_speech_timestamps(samples, VadOptions(), sampling_rate=SAMPLE_RATE)
    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in found]
