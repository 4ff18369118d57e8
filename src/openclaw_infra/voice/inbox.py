"""`infra transcribe --inbox`: every new voice note in the inbox dirs becomes a memory note.

For each audio file, oldest first: leave it if it is still being written (changed less than
`voice_settle_s` ago, or its size moved while it was hashed); skip it if the ledger has it
(same path, size and mtime) or the same content (SHA-256) was transcribed under another
name; refuse symlinks that lead outside the inbox dirs; quarantine what cannot be read as
audio, with a reason file; otherwise transcribe it, write the note, record it. OpenClaw's
files stay where they are; drop-folder files move to `processed/` once recorded.

Each note is recorded in `owned_files` as pending; `infra transcribe --inbox` indexes the
pending files once this pass is done, as every writer does (pipeline/outputs.py), through
`infra serve`'s model when it is up. Without the service the embedder loads here, after
the command has released Whisper's model: `benchmarks/transcribe.py` measured the run's peak
RSS at 368 MB for Whisper alone (the service embedding), 855 MB with the embedder loaded here
(907 MB before the release).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import DataError, NoInputError
from openclaw_infra.core.fsio import (
    ensure_private_dir,
    fsync_dir,
    quarantine,
    sha256_file,
)
from openclaw_infra.voice import records
from openclaw_infra.voice.audio import check_file
from openclaw_infra.voice.backends import Backend
from openclaw_infra.voice.notes import write_note
from openclaw_infra.voice.scan import PROCESSED, Candidate, scan
from openclaw_infra.voice.transcriber import transcribe_path

log = structlog.get_logger("infra.voice")


@dataclass
class InboxStats:
    """What one inbox run did (printed with --json, kept in the run ledger)."""

    transcribed: int = 0
    no_speech: int = 0
    duplicates: int = 0
    quarantined: int = 0
    refused: int = 0
    pending: int = 0  # still being written: left for the next run
    seen: int = 0  # handled by an earlier run
    indexed: int = 0  # files the memory index was given at the end of the run
    audio_s: float = 0.0
    transcribe_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["audio_s"] = round(self.audio_s, 2)
        data["transcribe_s"] = round(self.transcribe_s, 3)
        return data


def _unique_target(directory: Path, name: str) -> Path:
    target = directory / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while target.exists() or target.is_symlink():
        target = directory / f"{stem}.{n}{suffix}"
        n += 1
    return target


def _move(src: Path, target: Path) -> None:
    ensure_private_dir(target.parent)
    os.replace(src, target)
    fsync_dir(target.parent)
    fsync_dir(src.parent)


class _Run:
    """One pass over the inbox; holds the ledger connection and counters."""

    def __init__(
        self, settings: Settings, conn: sqlite3.Connection, backend: Backend | None
    ) -> None:
        self.settings = settings
        self.conn = conn
        self.backend = backend
        self.stats = InboxStats()
        self.tz = settings.tz

    def _settled(self, cand: Candidate, now: float) -> bool:
        return now - cand.changed_at >= self.settings.voice_settle_s

    def _record(self, cand: Candidate, status: str, **fields: Any) -> None:
        records.record(
            self.conn,
            records.FileRecord(str(cand.path), cand.size, cand.mtime_ns, status, **fields),
        )

    def _quarantine(self, cand: Candidate, sha: str | None, reason: str) -> None:
        moved = quarantine(cand.path, self.settings.voice_quarantine_dir, reason)
        self._record(cand, "quarantined", sha256=sha, moved_to=str(moved), reason=reason)
        self.stats.quarantined += 1
        log.warning("voice.quarantined", path=str(cand.path), reason=reason, to=str(moved))

    def _finish_drop(self, cand: Candidate) -> None:
        """A drop-folder file the ledger already has, left behind by a crash: move it now."""
        row = records.handled(self.conn, cand.key)
        if row is not None and row["moved_to"] and cand.path.exists():
            target = Path(row["moved_to"])
            if not target.exists():
                _move(cand.path, target)

    def handle(self, cand: Candidate, now: float) -> None:
        if cand.refused:
            if records.handled(self.conn, cand.key) is None:
                self._record(cand, "refused", reason=cand.refused)
                log.warning("voice.refused", path=str(cand.path), reason=cand.refused)
            self.stats.refused += 1
            return
        if records.handled(self.conn, cand.key) is not None:
            if cand.root.drop:
                self._finish_drop(cand)
            self.stats.seen += 1
            return
        if not self._settled(cand, now):
            self.stats.pending += 1
            return
        try:  # size and readability first: never hash a file the probe would refuse anyway
            check_file(cand.path, max_bytes=self.settings.voice_max_bytes)
        except (DataError, NoInputError) as exc:
            if cand.path.exists():
                self._quarantine(cand, None, exc.message)
            return
        try:
            sha = sha256_file(cand.path)
        except FileNotFoundError:
            return  # removed since the scan: nothing to do
        except OSError as exc:
            self._quarantine(cand, None, f"unreadable: {exc.strerror or exc}")
            return
        try:
            st = cand.path.stat()
        except FileNotFoundError:
            return
        if (st.st_size, st.st_mtime_ns) != (cand.size, cand.mtime_ns):
            self.stats.pending += 1  # still being written
            return
        self._transcribe(cand, sha)

    def _drop_target(self, cand: Candidate) -> Path | None:
        if not cand.root.drop:
            return None
        return _unique_target(cand.root.path / PROCESSED, cand.path.name)

    def _transcribe(self, cand: Candidate, sha: str) -> None:
        moved_to = self._drop_target(cand)
        earlier = records.transcribed_copy(self.conn, sha)
        if earlier is not None:
            self._record(
                cand,
                "duplicate",
                sha256=sha,
                output=earlier["output"],
                moved_to=str(moved_to) if moved_to else None,
                reason=f"same content as {earlier['path']}",
            )
            self.stats.duplicates += 1
        else:
            try:
                transcript = transcribe_path(self.settings, cand.path, backend=self.backend)
            except (DataError, NoInputError) as exc:
                if not cand.path.exists():
                    return
                self._quarantine(cand, sha, exc.message)
                return
            note = write_note(
                self.settings,
                self.conn,
                transcript,
                sha256=sha,
                recorded=datetime.fromtimestamp(cand.mtime_ns / 1e9, tz=self.tz),
                source=moved_to or cand.path,
            )
            status = "no_speech" if transcript.no_speech else "transcribed"
            self._record(
                cand,
                status,
                sha256=sha,
                output=str(note),
                moved_to=str(moved_to) if moved_to else None,
                duration_s=round(transcript.duration_s, 3),
                backend=transcript.backend,
                model=transcript.model,
            )
            self.stats.audio_s += transcript.duration_s
            self.stats.transcribe_s += transcript.took_s
            self.stats.notes.append(str(note))
            if transcript.no_speech:
                self.stats.no_speech += 1
            else:
                self.stats.transcribed += 1
        if moved_to is not None:
            _move(cand.path, moved_to)


def run_inbox(
    settings: Settings, conn: sqlite3.Connection, *, backend: Backend | None = None
) -> InboxStats:
    """Process every new audio file in the inbox dirs; returns what was done."""
    run = _Run(settings, conn, backend)
    now = time.time()
    for cand in scan(settings):
        run.handle(cand, now)
    return run.stats
