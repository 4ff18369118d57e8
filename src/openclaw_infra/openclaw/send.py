"""`openclaw message send`: the one way infra talks to the user (alerts, the daily brief).

The argv is built here and nowhere else, so the real-OpenClaw suite can check the exact
command infra runs (`--dry-run --json`). The command runs without a shell, in its own
process group with a timeout; the whole group is killed when the time is up (OpenClaw's CLI
is a Node process with children).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Mapping
from typing import Any

OPENCLAW_BIN = "openclaw"
SEND_TIMEOUT_S = 30.0


def send_argv(
    channel: str,
    target: str,
    message: str,
    *,
    presentation: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    openclaw_bin: str = OPENCLAW_BIN,
) -> list[str]:
    """The argv of `openclaw message send` for one message (and optional buttons/card).
    An empty `channel` is left out: OpenClaw then uses its only configured channel (it
    rejects an empty `--channel`)."""
    argv = [openclaw_bin, "message", "send"]
    if channel:
        argv += ["--channel", channel]
    argv += ["--target", target, "--message", message]
    if presentation is not None:
        argv += ["--presentation", json.dumps(presentation, ensure_ascii=False)]
    if dry_run:
        argv += ["--dry-run", "--json"]
    return argv


def run_command(argv: list[str], timeout_s: float = SEND_TIMEOUT_S) -> str | None:
    """Run a sender; None when it succeeded, else why it did not (one line)."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        return f"cannot run {argv[0]!r}: {exc.strerror or exc}"
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"timed out after {timeout_s:g}s"
    if proc.returncode != 0:
        return f"exit {proc.returncode}: {why_failed(err)}"
    return None


def why_failed(stderr: str) -> str:
    """The line of a sender's stderr that says why: OpenClaw's `Reason:` line, else its first
    line (what follows are `Fix:`/`Help:` hints), or the last of a Python traceback."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "no message"
    for line in lines:
        if "Reason:" in line:
            return line.split("Reason:", 1)[1].strip()[:300]
    return (lines[-1] if lines[0].startswith("Traceback") else lines[0])[:300]
