"""What a transcription produces: segments, the cleaned text and how it was made.

Plain data with no heavy imports, so the inbox, the note writer and the tests share one shape
whichever backend ran. Transcript text is untrusted data (anyone can send a voice note): it
is cleaned of control characters and never interpreted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw_infra.voice.audio import AudioInfo

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """One line of text: control and bidi-override characters removed, spaces collapsed."""
    return _SPACE.sub(" ", _CONTROL.sub("", text)).strip()


@dataclass(frozen=True)
class Segment:
    """One decoded stretch of speech with Whisper's own confidence figures."""

    start: float
    end: float
    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 2),
            "end": round(self.end, 2),
            "text": self.text,
            "avg_logprob": round(self.avg_logprob, 4),
            "no_speech_prob": round(self.no_speech_prob, 4),
        }


@dataclass(frozen=True)
class Decoded:
    """A backend's raw answer for one clip, before the hallucination guard."""

    segments: list[Segment]
    language: str
    language_probability: float


@dataclass
class Transcript:
    """The finished transcription of one file."""

    source: Path
    info: AudioInfo
    duration_s: float  # of the decoded audio
    segments: list[Segment]
    language: str
    language_probability: float
    backend: str
    model: str
    beam_size: int
    took_s: float  # decoding plus model time, without the model load
    vad: bool
    loops_removed: int = 0

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text).strip()

    @property
    def no_speech(self) -> bool:
        return not self.text

    @property
    def realtime_factor(self) -> float:
        """Processing seconds per second of audio (0.05 means 20x faster than real time)."""
        return self.took_s / self.duration_s if self.duration_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.source),
            "text": self.text,
            "no_speech": self.no_speech,
            "language": self.language,
            "language_probability": round(self.language_probability, 4),
            "duration_s": round(self.duration_s, 3),
            "backend": self.backend,
            "model": self.model,
            "beam_size": self.beam_size,
            "vad": self.vad,
            "took_s": round(self.took_s, 3),
            "realtime_factor": round(self.realtime_factor, 4),
            "loops_removed": self.loops_removed,
            "audio": self.info.as_dict(),
            "segments": [s.as_dict() for s in self.segments],
        }
