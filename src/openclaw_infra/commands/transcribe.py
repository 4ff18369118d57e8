"""`infra transcribe`: voice notes to text, one file at a time or the whole inbox (cron)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

FILE_SLOT_WAIT_S = 120.0  # a live call waits this long for a running transcription
BACKENDS = ("auto", "faster", "openai")


def register(app: typer.Typer) -> None:
    app.command("transcribe")(transcribe)


def transcribe(
    ctx: typer.Context,
    *,
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Audio files to transcribe (OGG/Opus, M4A, MP3, WAV, FLAC, …).",
            metavar="FILE…",
            show_default=False,
        ),
    ] = None,
    inbox: Annotated[
        bool,
        typer.Option(
            "--inbox",
            help="Process every new audio file in the inbox dirs "
            "(OPENCLAW_INFRA_VOICE_INBOX_DIRS, default <state>/media/inbound) and "
            "the drop folder into memory/voice/ notes (the cron job).",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="FILE mode: one JSON object per file with segments and "
            "timestamps. --inbox: the run's figures.",
        ),
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="auto, faster or openai: override OPENCLAW_INFRA_WHISPER_BACKEND.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Override OPENCLAW_INFRA_WHISPER_MODEL (name or path).",
            show_default=False,
        ),
    ] = None,
    beam_size: Annotated[
        int | None,
        typer.Option(
            "--beam-size",
            min=1,
            max=10,
            help="Override OPENCLAW_INFRA_WHISPER_BEAM_SIZE.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Transcribe voice notes with Whisper (faster-whisper or openai-whisper, on the CPU).

    With FILE…, print the plain transcript on stdout and exit 0 (OpenClaw's `cli`
    transcriber: args ["transcribe", "{{MediaPath}}"]); nothing is written. Silence prints
    nothing. Bad audio exits 65, a missing or unreadable file 66, no usable model 69.

    With --inbox, write each new voice note to memory/voice/YYYY-MM-DD-HHMMSS-<hash8>.md and
    index it; bad files are quarantined with a reason, files still being written wait for the
    next run, content already transcribed is skipped.
    """
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.core.errors import UsageError

    if inbox == bool(files):
        raise UsageError("give audio FILE… or --inbox (not both)", hint="infra transcribe --help")
    if backend is not None and backend not in BACKENDS:
        raise UsageError(f"--backend {backend!r} is not one of {', '.join(BACKENDS)}")
    settings = settings_of(
        ctx, whisper_backend=backend, whisper_model=model, whisper_beam_size=beam_size
    )
    if inbox:
        _inbox(settings, as_json)
    else:
        _files(settings, files or [], as_json)


def _inbox(settings: Any, as_json: bool) -> None:
    from functools import partial

    from openclaw_infra.core.jobs import run_job
    from openclaw_infra.pipeline.outputs import index_pending
    from openclaw_infra.services import writer_embedder
    from openclaw_infra.voice.backends import release_backends
    from openclaw_infra.voice.inbox import run_inbox

    with run_job(settings, "transcribe") as job:
        stats = run_inbox(settings, job.conn)
        release_backends()  # Whisper's memory goes before the embedder's comes
        stats.indexed = index_pending(settings, job.conn, partial(writer_embedder, settings))
        job.run.items = stats.transcribed + stats.no_speech
        job.run.details = {k: v for k, v in stats.as_dict().items() if k != "notes"}
    if as_json:
        typer.echo(json.dumps(stats.as_dict(), sort_keys=True))
        return
    typer.echo(
        f"transcribed {stats.transcribed}, no speech {stats.no_speech}, duplicates "
        f"{stats.duplicates}, quarantined {stats.quarantined}, refused {stats.refused}, "
        f"still being written {stats.pending}, already done {stats.seen} "
        f"({stats.audio_s:.1f} s of audio in {stats.transcribe_s:.1f} s)"
    )


def _files(settings: Any, files: list[Path], as_json: bool) -> None:
    from openclaw_infra.core.errors import InfraError
    from openclaw_infra.voice.transcriber import transcribe_path

    failures: list[InfraError] = []
    for path in files:
        try:
            transcript = transcribe_path(settings, path, slot_wait_s=FILE_SLOT_WAIT_S)
        except InfraError as exc:
            if len(files) == 1:
                raise
            failures.append(exc)
            sys.stderr.write(f"infra: error: {exc}\n")
            continue
        if as_json:
            typer.echo(json.dumps(transcript.as_dict(), ensure_ascii=False))
        elif transcript.no_speech:
            sys.stderr.write(f"infra: {path}: no speech detected\n")
        elif len(files) > 1:
            typer.echo(f"{path}: {transcript.text}")
        else:
            typer.echo(transcript.text)
    if failures:
        first = failures[0]
        raise type(first)(
            f"{len(failures)} of {len(files)} file(s) could not be transcribed; "
            f"first: {first.message}"
        )
