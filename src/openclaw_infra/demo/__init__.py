"""A bundled sample OpenClaw home for `deploy.sh --demo` (no OpenClaw, no API key needed)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from openclaw_infra.core.fsio import ensure_private_dir


def sample_home() -> Path:
    return Path(str(resources.files(__package__) / "openclaw-home"))


def install_demo_home(target: Path) -> bool:
    """Copy the sample home to `target` unless it is already there (idempotent)."""
    if (target / "agents").exists():
        return False
    ensure_private_dir(target)
    shutil.copytree(sample_home(), target, dirs_exist_ok=True)
    return True
