"""The user's timezone as OpenClaw knows it (`agents.defaults.userTimezone`), else the host's.

Read once, where Settings are built for a run (`with_user_timezone`), so `Settings.tz` never
reads a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openclaw_infra.core import jsonsafe
from openclaw_infra.core.config import Settings, with_values
from openclaw_infra.core.watched import RefusedFile, read_watched

OPENCLAW_JSON_MAX_BYTES = 8 << 20  # the file is a few KB; more is not a config file
_TZ_RE = re.compile(r"""["']?userTimezone["']?\s*:\s*["']([A-Za-z0-9_+\-/]{1,64})["']""")


def with_user_timezone(settings: Settings) -> Settings:
    """`settings` with `timezone` filled in when the operator set none."""
    if settings.timezone:
        return settings
    return with_values(settings, timezone=detect_timezone(settings.state_dir))


def openclaw_config_path(state_dir: Path) -> Path:
    env = os.environ.get("OPENCLAW_CONFIG_PATH")
    return Path(env).expanduser() if env else state_dir / "openclaw.json"


def detect_timezone(state_dir: Path) -> str:
    """OpenClaw's agents.defaults.userTimezone when readable, else the host's zone."""
    path = openclaw_config_path(state_dir)
    try:
        # read at every start: a FIFO or an endless file here must not hang every command
        text = read_watched(path, None, max_bytes=OPENCLAW_JSON_MAX_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError, RefusedFile):
        text = ""
    if text:
        tz: str | None = None
        try:
            tz = jsonsafe.loads(text).get("agents", {}).get("defaults", {}).get("userTimezone")
        except (ValueError, AttributeError):
            # JSON5 (comments, bare keys): the one value we need is a simple string
            match = _TZ_RE.search(text)
            tz = match.group(1) if match else None
        if isinstance(tz, str) and _zone_ok(tz):
            return tz
    return host_timezone()


def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def host_timezone() -> str:
    """TZ when it names a zone, else the zone /etc/localtime links to, else UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and _zone_ok(tz):
        return tz
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    if marker in target:
        name = target.split(marker, 1)[1]
        if _zone_ok(name):
            return name
    return "UTC"
