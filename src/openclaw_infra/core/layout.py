"""Every path infra owns, in one place (stdlib only).

`Settings` exposes these paths as properties; the `infra recall` fast path uses them directly,
since it must find the service's socket before (and without) importing pydantic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "OPENCLAW_INFRA_"
CONFIG_FILE = "config.env"
DB_FILE = "infra.sqlite"
FAISS_FILE = "memory.faiss"
LOG_FILE = "infra.log"

# infra's summaries inside `<workspace>/memory/`; OpenClaw indexes that tree by itself
MEMORY_DIR = "memory"
HOURLY_DIR = "hourly"
DAILY_DIR = "daily"
WEEKLY_DIR = "weekly"
VOICE_DIR = "voice"
PRIORITIES_FILE = "priorities.md"
# a MEMORY.md basename: OpenClaw's bundled bootstrap-extra-files hook loads only the bootstrap
# basenames (AGENTS.md, MEMORY.md, ...), so this is how lessons reach every prompt
LESSONS_FILE = "lessons/MEMORY.md"
SUMMARY_DIRS = (HOURLY_DIR, DAILY_DIR, WEEKLY_DIR)
PRIORITIES_REL = f"{MEMORY_DIR}/{PRIORITIES_FILE}"


def output_rel(folder: str, name: str) -> str:
    """The workspace-relative path infra records an output under, `memory/<folder>/<name>`."""
    return f"{MEMORY_DIR}/{folder}/{name}"


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """OpenClaw's state dir: OPENCLAW_STATE_DIR, else ~/.openclaw(-PROFILE)."""
    env = os.environ if environ is None else environ
    if env.get("OPENCLAW_STATE_DIR"):
        return Path(env["OPENCLAW_STATE_DIR"]).expanduser()
    profile = env.get("OPENCLAW_PROFILE")
    name = f".openclaw-{profile}" if profile else ".openclaw"
    return Path.home() / name


def data_dir_of(state_dir: Path) -> Path:
    """infra's data dir when OPENCLAW_INFRA_DATA_DIR is not set."""
    return state_dir / "infra"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """infra's data dir (which holds config.env): OPENCLAW_INFRA_DATA_DIR, else <state>/infra."""
    env = os.environ if environ is None else environ
    if env.get(PREFIX + "DATA_DIR"):
        return Path(env[PREFIX + "DATA_DIR"]).expanduser()
    return data_dir_of(default_state_dir(env))


@dataclass(frozen=True)
class DataPaths:
    """infra's own state under the data dir: dirs 0700, files 0600."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / DB_FILE

    @property
    def faiss(self) -> Path:
        return self.root / FAISS_FILE

    @property
    def socket(self) -> Path:
        return self.root / "recall.sock"

    @property
    def config_env(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def backups(self) -> Path:
        """The default snapshot folder (`backup_dir` may put it elsewhere)."""
        return self.root / "backups"

    @property
    def voice_quarantine(self) -> Path:
        return self.root / "quarantine" / "voice"

    @property
    def eval_set(self) -> Path:
        """The private evaluation set `infra eval` builds from the user's own memory."""
        return self.root / "eval" / "set.json"

    @property
    def eval_scores(self) -> Path:
        """The last scores on that set (health reads it; the rebuild guard compares to it)."""
        return self.root / "eval" / "scores.json"

    @property
    def models(self) -> Path:
        """Derived model files: the embedding model exported to ONNX, with its manifest."""
        return self.root / "models"

    @property
    def feedback_key(self) -> Path:
        """The per-install HMAC key that signs feedback buttons (a secret: never in a
        snapshot in plain text)."""
        return self.root / "feedback.key"


@dataclass(frozen=True)
class MemoryPaths:
    """The folders and file infra writes in the workspace's `memory/` tree."""

    root: Path  # <workspace>/memory

    @property
    def hourly(self) -> Path:
        return self.root / HOURLY_DIR

    @property
    def daily(self) -> Path:
        return self.root / DAILY_DIR

    @property
    def weekly(self) -> Path:
        return self.root / WEEKLY_DIR

    @property
    def voice(self) -> Path:
        return self.root / VOICE_DIR

    @property
    def lessons(self) -> Path:
        return self.root / LESSONS_FILE

    @property
    def priorities(self) -> Path:
        return self.root / PRIORITIES_FILE
