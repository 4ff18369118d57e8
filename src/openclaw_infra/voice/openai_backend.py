"""openai-whisper (PyTorch, fp32 on the CPU): the reference implementation as a backend.

Slower and larger than faster-whisper, kept because it is Whisper's own code and loads the
original `.pt` checkpoints. It only decodes the stretches the VAD marks as speech
(`clip_timestamps`), so silence never reaches the decoder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_infra.core.errors import UnavailableError
from openclaw_infra.voice import vad
from openclaw_infra.voice.backends import (
    BEST_OF,
    COMPRESSION_RATIO_THRESHOLD,
    LOG_PROB_THRESHOLD,
    NO_SPEECH_THRESHOLD,
    TEMPERATURES,
)
from openclaw_infra.voice.transcript import Decoded, Segment

if TYPE_CHECKING:
    import numpy as np


HOP = 160  # samples per mel frame: whisper seeks in 10 ms frames


def clip_timestamps(regions: list[tuple[float, float]], n_samples: int) -> list[float]:
    """Speech regions as openai-whisper `clip_timestamps`, every end inside the audio.

    openai-whisper (20250625) never finishes when a clip ends past the last mel frame (it
    keeps seeking by a zero-length segment), and the VAD's padded last region often ends
    exactly at the end of the file, a fraction of a frame too far once rounded. So ends are
    clamped to whole frames that exist, and regions left empty are dropped.
    """
    last = n_samples // HOP
    clips: list[float] = []
    for start, end in regions:
        first, stop = round(start * 100), min(round(end * 100), last)
        if stop > first:
            clips.extend((first / 100, stop / 100))
    return clips


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
        self.vad = vad.available()

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

        regions = vad.speech_regions(samples)
        clips: list[float] | str = "0"  # no VAD installed: the whole recording
        if regions is not None:
            clips = clip_timestamps(regions, samples.size)
            if not clips:
                return Decoded([], "", 0.0)
        start = int(float(clips[0]) * vad.SAMPLE_RATE) if isinstance(clips, list) else 0
        language, probability = self._language(samples[start:])
        result = whisper.transcribe(
            self._model,
            samples,
            language=language,
            temperature=TEMPERATURES,
            compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD,
            logprob_threshold=LOG_PROB_THRESHOLD,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            condition_on_previous_text=False,
            clip_timestamps=clips,
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
