"""Where infra's data lives, from the environment alone (stdlib only).

Settings use these defaults, and so does the `infra recall` fast path, which must find the
service's socket before (and without) importing pydantic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PREFIX = "OPENCLAW_INFRA_"
CONFIG_FILE = "config.env"


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """OpenClaw's state dir: OPENCLAW_STATE_DIR, else ~/.openclaw(-PROFILE)."""
    env = os.environ if environ is None else environ
    if env.get("OPENCLAW_STATE_DIR"):
        return Path(env["OPENCLAW_STATE_DIR"]).expanduser()
    profile = env.get("OPENCLAW_PROFILE")
    name = f".openclaw-{profile}" if profile else ".openclaw"
    return Path.home() / name


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """infra's data dir (which holds config.env): OPENCLAW_INFRA_DATA_DIR, else <state>/infra."""
    env = os.environ if environ is None else environ
    if env.get(PREFIX + "DATA_DIR"):
        return Path(env[PREFIX + "DATA_DIR"]).expanduser()
    return default_state_dir(env) / "infra"
