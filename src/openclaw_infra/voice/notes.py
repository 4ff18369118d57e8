"""Write a transcript as `memory/voice/YYYY-MM-DD-HHMMSS-<hash8>.md`.

YAML frontmatter says where the audio came from and how the text was made (source, SHA-256,
duration, backend, model, language, no-speech flag, real-time factor); the body is a heading,
a link to the audio and the text. The name is the arrival time in the user's timezone plus
the content hash, so the same recording always lands on the same file. Like every file
infra writes, the note is recorded in `owned_files` (core/outputs.py): pending until the
memory store indexes it as kind `voice`. OpenClaw indexes `memory/**/*.md` itself.
"""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import yaml

from openclaw_infra.core import outputs
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.fsio import sha256_text, write_if_changed
from openclaw_infra.voice.transcript import Transcript, clean_text

# a transcript is data: a line that Markdown would read as a heading, quote, list item,
# rule or table gets a backslash, so the text renders as the plain words that were said
_BLOCK_START = re.compile(r"^(#|>|[-+*=_]|\d+[.)]|\|)")


def note_path(settings: Settings, recorded: datetime, sha256: str) -> Path:
    return settings.voice_dir / f"{recorded:%Y-%m-%d-%H%M%S}-{sha256[:8]}.md"


def _duration(seconds: float) -> str:
    total = round(seconds)
    return f"{total // 60}:{total % 60:02d}"


def _escape(text: str) -> str:
    return "\\" + text if _BLOCK_START.match(text) else text


def render_note(
    transcript: Transcript, *, sha256: str, recorded: datetime, source: Path, note_dir: Path
) -> str:
    """The note's full text (deterministic for a given transcript)."""
    meta = {
        "type": "voice",
        "source": str(source),
        "sha256": sha256,
        "recorded": recorded.isoformat(timespec="seconds"),
        "duration_s": round(transcript.duration_s, 2),
        "backend": transcript.backend,
        "model": transcript.model,
        "beam_size": transcript.beam_size,
        "vad": transcript.vad,
        "language": transcript.language,
        "language_probability": round(transcript.language_probability, 3),
        "no_speech": transcript.no_speech,
        "realtime_factor": round(transcript.realtime_factor, 4),
        "loops_removed": transcript.loops_removed,
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    link = quote(os.path.relpath(source, note_dir), safe="/._-~")
    name = clean_text(source.name).replace("[", "(").replace("]", ")")
    lines = [
        "---",
        front.rstrip("\n"),
        "---",
        "",
        f"# Voice note {recorded:%Y-%m-%d %H:%M}",
        "",
        f"Audio: [{name}]({link}) ({_duration(transcript.duration_s)})",
        "",
        _escape(transcript.text) if transcript.text else "_No speech detected._",
        "",
    ]
    return "\n".join(lines)


def write_note(
    settings: Settings,
    conn: sqlite3.Connection,
    transcript: Transcript,
    *,
    sha256: str,
    recorded: datetime,
    source: Path,
) -> Path:
    """Write (or leave unchanged) the note for this transcript; returns its path.

    A note has no frontmatter marker, so it is claimed before the write: a run that dies
    before recording it still finds the file its own on the rerun."""
    path = note_path(settings, recorded, sha256)
    rel = path.relative_to(settings.workspace).as_posix()
    text = render_note(
        transcript, sha256=sha256, recorded=recorded, source=source, note_dir=path.parent
    )
    digest = sha256_text(text)
    outputs.refuse_foreign(conn, settings.workspace, rel, "voice note")
    with transaction(conn):
        outputs.claim(conn, rel, outputs.VOICE, digest)
    write_if_changed(path, text)
    with transaction(conn):
        outputs.record_write(conn, rel, outputs.VOICE, digest)
    return path
