"""Transcribe one file: probe, take the machine's transcription slot, decode, run, guard.

One transcription runs at a time on the machine (the `transcribe-slot` lock), so a live call
from OpenClaw and the inbox job never hold two decoded recordings and two decoders in RAM at
once on an 8 GB Mac mini; each waits its turn for at most `SLOT_WAIT_S`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from openclaw_infra.core.config import Settings
from openclaw_infra.core.locking import wait_lock
from openclaw_infra.voice import speech, vad
from openclaw_infra.voice.audio import SAMPLE_RATE, decode, is_digital_silence, probe
from openclaw_infra.voice.backends import Backend, load_backend
from openclaw_infra.voice.guard import guard
from openclaw_infra.voice.transcript import Decoded, Segment, Transcript

if TYPE_CHECKING:
    import numpy as np

log = structlog.get_logger("infra.voice")

SLOT = "transcribe-slot"
SLOT_WAIT_S = 600.0
NO_BACKEND = "none"  # no speech found before any model ran


def _run(
    backend: Backend, samples: np.ndarray, regions: list[tuple[int, int]] | None, beam_size: int
) -> Decoded:
    """Transcribe the speech only (all of it without a VAD) piece by piece, so memory stays
    bounded whatever the length; segment times are those of the recording."""
    segments: list[Segment] = []
    first: Decoded | None = None
    for piece in speech.pieces(samples, regions if regions is not None else [(0, samples.size)]):
        decoded = backend.transcribe(piece.collect(samples), beam_size=beam_size)
        first = first or decoded  # the language is the one the note starts in
        segments.extend(
            replace(
                s, start=piece.original_time(s.start), end=piece.original_time(s.end, is_end=True)
            )
            for s in decoded.segments
        )
    if first is None:
        return Decoded([], "", 0.0)
    return Decoded(segments, first.language, first.language_probability)


def transcribe_path(
    settings: Settings,
    path: Path,
    *,
    backend: Backend | None = None,
    slot_wait_s: float = SLOT_WAIT_S,
) -> Transcript:
    """The cleaned transcript of `path`; DataError (65) or NoInputError (66) for bad input.

    The model loads only for audio that passed the probe and in which the VAD found speech,
    so bad or silent input never costs a load; `took_s` is decoding, VAD and transcription,
    not loading.
    """
    info = probe(
        path, max_bytes=settings.voice_max_bytes, max_duration_s=settings.voice_max_duration_s
    )
    with wait_lock(settings.locks_dir, SLOT, slot_wait_s):
        started = time.perf_counter()
        samples = decode(path, max_duration_s=settings.voice_max_duration_s)
        # all-zero audio needs no VAD; None: no VAD installed, decode everything
        regions = [] if is_digital_silence(samples) else vad.speech_regions(samples)
        took = time.perf_counter() - started
        if regions == []:
            decoded, name, model = Decoded([], "", 0.0), NO_BACKEND, ""
        else:
            if backend is None:
                backend = load_backend(settings.whisper_backend, settings.whisper_model)
            started = time.perf_counter()
            decoded = _run(backend, samples, regions, settings.whisper_beam_size)
            took += time.perf_counter() - started
            name, model = backend.name, backend.model
    checked = guard(decoded.segments)
    heard = any(s.text for s in checked.segments)
    transcript = Transcript(
        source=path,
        info=info,
        duration_s=samples.size / SAMPLE_RATE,
        segments=checked.segments,
        language=decoded.language if heard else "",  # no speech, no language
        language_probability=decoded.language_probability if heard else 0.0,
        backend=name,
        model=model,
        beam_size=settings.whisper_beam_size,
        took_s=took,
        vad=regions is not None,
        loops_removed=checked.loops_removed,
    )
    if checked.loops_removed:
        log.warning("voice.loops_removed", path=str(path), count=checked.loops_removed)
    log.info(
        "voice.transcribed",
        path=str(path),
        duration_s=round(transcript.duration_s, 2),
        took_s=round(took, 3),
        no_speech=transcript.no_speech,
        backend=name,
    )
    return transcript
