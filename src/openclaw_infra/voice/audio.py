"""Probe and decode audio before any model sees it.

Bad input must fail with a clear reason (exit 65/66), not deep inside a Whisper backend with
an ffmpeg message. So the container and codec are probed first (size, zero bytes, not audio,
no audio stream, too long), then the audio is decoded once, here, to 16 kHz mono float32,
which both backends accept. Decoding with PyAV (FFmpeg's libraries, installed with
faster-whisper) means openai-whisper needs no `ffmpeg` program either.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from openclaw_infra.core.errors import DataError, NoInputError, UnavailableError

if TYPE_CHECKING:
    import numpy as np

log = structlog.get_logger("infra.voice")

SAMPLE_RATE = 16_000
# Digital silence: no sample louder than about -70 dBFS. No recorded voice note is this quiet,
# and skipping the model here is what keeps an all-zero file from "hallucinated" words.
SILENCE_PEAK = 10 / 32768


@dataclass(frozen=True)
class AudioInfo:
    """What the probe learned from the container, before decoding."""

    path: Path
    size_bytes: int
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float | None  # None when the container does not say

    def as_dict(self) -> dict[str, Any]:
        return {
            "size_bytes": self.size_bytes,
            "container": self.container,
            "codec": self.codec,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
        }


def _av() -> Any:
    try:
        import av
    except ImportError as exc:
        raise UnavailableError(
            "PyAV (the `av` package) is needed to read audio",
            hint="pip install 'openclaw-infra[voice]'",
        ) from exc
    return av


def _ffmpeg_reason(exc: Exception) -> str:
    """FFmpeg's own words ("End of file", "Invalid data found…") without the errno noise."""
    return str(getattr(exc, "strerror", None) or exc)


def check_file(path: Path, *, max_bytes: int) -> int:
    """Existence, type, readability and size; returns the size in bytes."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NoInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise NoInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise NoInputError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise NoInputError(f"{path}: permission denied")
    if st.st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    if st.st_size > max_bytes:
        raise DataError(
            f"{path}: {st.st_size} bytes is over the limit of {max_bytes} "
            "(OPENCLAW_INFRA_VOICE_MAX_BYTES)"
        )
    return st.st_size


def probe(path: Path, *, max_bytes: int, max_duration_s: float) -> AudioInfo:
    """Check that `path` is a readable audio file within the limits, without decoding it."""
    size = check_file(path, max_bytes=max_bytes)
    av = _av()
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except PermissionError:
        raise NoInputError(f"{path}: permission denied") from None
    except av.error.EOFError as exc:
        raise DataError(f"{path}: truncated or empty audio ({_ffmpeg_reason(exc)})") from None
    except av.error.FFmpegError as exc:
        raise DataError(f"{path}: not an audio file ({_ffmpeg_reason(exc)})") from None
    with container:
        streams = list(container.streams.audio)
        if not streams:
            raise DataError(f"{path}: no audio stream (container {container.format.name})")
        stream = streams[0]
        codec = stream.codec_context
        duration: float | None = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        info = AudioInfo(
            path=path,
            size_bytes=size,
            container=container.format.name,
            codec=codec.name,
            sample_rate=int(codec.sample_rate or 0),
            channels=int(codec.channels or 0),
            duration_s=duration,
        )
    check_duration(path, info.duration_s, max_duration_s)
    return info


def check_duration(path: Path, duration_s: float | None, max_duration_s: float) -> None:
    if duration_s is not None and duration_s > max_duration_s:
        raise DataError(
            f"{path}: {duration_s:.0f} s of audio is over the limit of {max_duration_s:.0f} s "
            "(OPENCLAW_INFRA_VOICE_MAX_DURATION_S)"
        )


def decode(path: Path, *, max_duration_s: float) -> np.ndarray:
    """The first audio stream as 16 kHz mono float32 in [-1, 1].

    A stream that breaks off part-way keeps what decoded before the damage (logged); a stream
    with no decodable audio at all is bad input.
    """
    import numpy as np

    av = _av()
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    limit = int((max_duration_s + 1) * SAMPLE_RATE)
    decoded = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams.audio[0]
            try:
                for frame in container.decode(stream):
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray().reshape(-1))
                        decoded += out.samples
                    if decoded > limit:
                        break
            except (av.error.InvalidDataError, av.error.EOFError) as exc:
                if not chunks:
                    raise
                log.warning(
                    "voice.decode_cut",
                    path=str(path),
                    at_s=decoded / SAMPLE_RATE,
                    error=_ffmpeg_reason(exc),
                )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except PermissionError:
        raise NoInputError(f"{path}: permission denied") from None
    except av.error.FFmpegError as exc:
        raise DataError(f"{path}: cannot decode audio ({_ffmpeg_reason(exc)})") from None
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    chunks.clear()
    if pcm.size == 0:
        raise DataError(f"{path}: no decodable audio (truncated?)")
    check_duration(path, pcm.size / SAMPLE_RATE, max_duration_s)
    samples = pcm.astype(np.float32)
    del pcm  # one float copy at a time: a long note is tens of MB
    samples *= 1 / 32768
    return samples


def is_digital_silence(samples: np.ndarray) -> bool:
    """True when no sample rises above the silence floor (nothing anyone could have said)."""
    return bool(samples.size == 0 or float(abs(samples).max()) < SILENCE_PEAK)
