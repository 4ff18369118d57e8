"""openai-whisper (PyTorch, fp32 on the CPU): the reference implementation as a backend.

Slower and larger than faster-whisper, kept because it is Whisper's own code and loads the
original `.pt` checkpoints. Like faster-whisper it gets only the speech the VAD found
(`voice/vad.py`), so silence never reaches its decoder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_infra.core.errors import UnavailableError
from openclaw_infra.voice.backends.base import (
    BEST_OF,
    COMPRESSION_RATIO_THRESHOLD,
    LOG_PROB_THRESHOLD,
    NO_SPEECH_THRESHOLD,
    TEMPERATURES,
)
from openclaw_infra.voice.transcript import Decoded, Segment

if TYPE_CHECKING:
    import numpy as np


class OpenAIWhisperBackend:
    """An openai-whisper model loaded once, fp32 on the CPU."""

    name = "openai-whisper"

    def __init__(self, model: str) -> None:
        import whisper

        self.model = model
        path = Path(model).expanduser()
        started = time.perf_counter()
        try:
            self._model: Any = whisper.load_model(
                str(path) if path.is_file() else model, device="cpu"
            )
        except Exception as exc:  # download, unpickling and shape errors: not usable
            raise UnavailableError(
                f"cannot load openai-whisper model {model!r}: {type(exc).__name__}: {exc}",
                hint="set OPENCLAW_INFRA_WHISPER_MODEL to a model name or a .pt checkpoint",
            ) from exc
        self.load_s = time.perf_counter() - started

    def _language(self, samples: np.ndarray) -> tuple[str, float]:
        if not self._model.is_multilingual:
            return "en", 1.0
        import whisper

        window = whisper.pad_or_trim(samples)
        mel = whisper.log_mel_spectrogram(window, self._model.dims.n_mels)
        _, probs = self._model.detect_language(mel)
        language = max(probs, key=probs.get)
        return str(language), float(probs[language])

    def transcribe(self, samples: np.ndarray, *, beam_size: int) -> Decoded:
        import whisper

        language, probability = self._language(samples)
        result = whisper.transcribe(
            self._model,
            samples,
            language=language,
            temperature=TEMPERATURES,
            compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD,
            logprob_threshold=LOG_PROB_THRESHOLD,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            condition_on_previous_text=False,
            verbose=None,
            fp16=False,
            beam_size=beam_size if beam_size > 1 else None,
            best_of=BEST_OF,
        )
        found = [
            Segment(
                float(s["start"]),
                float(s["end"]),
                str(s["text"]),
                float(s["avg_logprob"]),
                float(s["no_speech_prob"]),
                float(s["compression_ratio"]),
            )
            for s in result["segments"]
        ]
        return Decoded(found, language, probability)
