"""Find audio files in the inbox directories: shared by the inbox job and `infra health`.

Standard library only, because `infra health` calls it. OpenClaw's `media/inbound` also holds
photos and documents, so only audio file names count; dot-files and partial downloads are
not voice notes yet. Symlinks that lead outside the allowed roots are marked, never followed
into the file (a link to ~/.ssh/id_rsa named `x.ogg` must not be read).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import NoInputError

AUDIO_SUFFIXES = frozenset(
    {
        ".aac",
        ".aif",
        ".aiff",
        ".amr",
        ".caf",
        ".flac",
        ".m4a",
        ".mka",
        ".mp3",
        ".oga",
        ".ogg",
        ".opus",
        ".wav",
        ".weba",
        ".webm",
        ".wma",
    }
)
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp")
PROCESSED = "processed"


@dataclass(frozen=True)
class Root:
    """An inbox directory; `drop` ones are infra's to tidy, the others OpenClaw's."""

    path: Path
    drop: bool


@dataclass(frozen=True)
class Candidate:
    path: Path
    root: Root
    size: int
    mtime_ns: int
    changed_at: float  # latest of mtime and ctime: when it was last written or moved here
    refused: str | None  # why it must not be read (a symlink escaping the roots, a FIFO…)

    @property
    def key(self) -> tuple[str, int, int]:
        """How the ledger recognises a file it has already handled, without hashing it."""
        return (str(self.path), self.size, self.mtime_ns)


def inbox_roots(settings: Settings) -> list[Root]:
    """The configured inbox dirs (default OpenClaw's media/inbound) and the drop folder."""
    raw = [p for p in settings.voice_inbox_dirs.split(":") if p.strip()]
    dirs = [Path(p).expanduser() for p in raw] or [settings.state_dir / "media" / "inbound"]
    roots: list[Root] = []
    seen: set[Path] = set()
    if settings.voice_drop_dir is not None:
        drop = settings.voice_drop_dir.expanduser()
        roots.append(Root(drop, drop=True))
        seen.add(drop.resolve())
    for d in dirs:
        if d.resolve() not in seen:
            seen.add(d.resolve())
            roots.append(Root(d, drop=False))
    return roots


def is_audio_name(name: str) -> bool:
    if name.startswith(".") or name.lower().endswith(PARTIAL_SUFFIXES):
        return False
    return Path(name).suffix.lower() in AUDIO_SUFFIXES


def _within(path: Path, roots: list[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def _candidate(entry: os.DirEntry[str], root: Root, allowed: list[Path]) -> Candidate | None:
    path = Path(entry.path)
    refused: str | None = None
    try:
        if entry.is_symlink():
            target = Path(os.path.realpath(path))  # a link loop must not raise
            if not _within(target, allowed):
                refused = f"symlink to {target}, outside the inbox directories"
        st = path.lstat() if refused else path.stat()
    except FileNotFoundError:
        if not path.is_symlink():
            return None  # gone between listing and stat
        st, refused = path.lstat(), "dangling symlink"
    except OSError as exc:
        st, refused = path.lstat(), f"cannot stat: {exc.strerror or exc}"
    if refused is None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            return None
        refused = "not a regular file"
    changed = max(st.st_mtime, st.st_ctime)
    return Candidate(path, root, st.st_size, st.st_mtime_ns, changed, refused)


def scan(settings: Settings) -> list[Candidate]:
    """Audio files directly inside each root, oldest first (missing roots are skipped)."""
    roots = inbox_roots(settings)
    allowed = [r.path.resolve() for r in roots]
    found: list[Candidate] = []
    for root in roots:
        try:
            entries = list(os.scandir(root.path))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError:
            raise NoInputError(f"inbox {root.path}: permission denied") from None
        for entry in entries:
            if not is_audio_name(entry.name):
                continue
            candidate = _candidate(entry, root, allowed)
            if candidate is not None:
                found.append(candidate)
    found.sort(key=lambda c: (c.changed_at, str(c.path)))
    return found
