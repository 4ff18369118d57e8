"""The one wrapper around the `restic` program: its argv, environment, JSON, time limit and
failures (docs/backup.md "Off-site copies").

- The repository and password reach restic only through its environment
  (`RESTIC_REPOSITORY`, `RESTIC_PASSWORD_FILE` or `RESTIC_PASSWORD_COMMAND`), never argv,
  which `ps` shows to every user; any `RESTIC_*` credential inherited from the caller is
  dropped first, so the configured repository is the one used.
- `TZ` is the user's zone, so restic's daily/weekly/monthly retention and its times agree
  with infra's own.
- restic 0.14 exits 1 for every fatal error, so its `Fatal:` line says which: a wrong
  password or unreadable password file is a ConfigError (78), a repository that is not
  there or not reachable UnavailableError (69), a repository locked by a live process
  TempFailError (75), a full disk CantCreateError (73).
- restic runs in its own process group with stdin closed (it never waits for a password
  prompt); past the time limit, or when infra is interrupted, the group is killed.
- A lock left by a killed restic blocks the next exclusive command (forget, prune, check).
  On "already locked", `restic unlock` is run once, which removes only locks restic calls
  stale (this host and a dead pid, or not refreshed for 30 minutes), then the command is
  retried; a live holder's lock stays and the run exits 75.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw_infra.core.config import Settings, env_name
from openclaw_infra.core.errors import (
    CantCreateError,
    ConfigError,
    InfraError,
    TempFailError,
    UnavailableError,
)
from openclaw_infra.core.logging import redact_text

INSTALL_HINT = "install restic: `brew install restic` (macOS) or `apt-get install restic` (Debian)"
# every variable that could point restic at another repository or password
_CREDENTIAL_VARS = (
    "RESTIC_REPOSITORY",
    "RESTIC_REPOSITORY_FILE",
    "RESTIC_PASSWORD",
    "RESTIC_PASSWORD_FILE",
    "RESTIC_PASSWORD_COMMAND",
    "RESTIC_KEY_HINT",
)
_USERINFO = re.compile(r"(//[^/:@\s]+):[^@/\s]+@")  # rest:https://user:pass@host/


class RepositoryMissing(UnavailableError):
    """restic found no repository at the location (absent, or the drive not mounted)."""


class RepositoryLocked(TempFailError):
    """Another restic process holds a lock restic does not consider stale."""


class CheckFailed(InfraError):
    """`restic check` ran and found damage (the caller decides the exit code)."""


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: list[str]
    stderr: str


def display(location: str) -> str:
    """The repository location as it may be printed and logged: no password in a URL."""
    return _USERINFO.sub(r"\1:***@", location)


def find_binary(name: str) -> str:
    """The restic program's path; UnavailableError (69) with the install hint when absent."""
    found = shutil.which(name)
    if found is None:
        raise UnavailableError(f"restic not found ({name!r} is not on PATH)", hint=INSTALL_HINT)
    return found


@dataclass(frozen=True)
class Restic:
    """One configured repository, and the way every restic command is run against it."""

    binary: str
    repository: str
    password_file: Path | None
    password_command: str
    timeout_s: float
    tz: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Restic:
        """ConfigError (78) when the repository has no password source, or two of them;
        UnavailableError (69) when the restic program is missing."""
        repo = settings.restic_repository.strip()
        if not repo:
            raise ConfigError(f"no off-site repository: {env_name('restic_repository')} is unset")
        pw_file, pw_cmd = settings.restic_password_file, settings.restic_password_command.strip()
        file_var, cmd_var = env_name("restic_password_file"), env_name("restic_password_command")
        if (pw_file is None) == (not pw_cmd):
            raise ConfigError(
                f"the off-site repository needs exactly one of {file_var} and {cmd_var}"
            )
        if pw_file is not None and not pw_file.expanduser().is_file():
            raise ConfigError(f"{file_var}: {pw_file} does not exist or is not a file")
        return cls(
            binary=find_binary(settings.restic_binary),
            repository=repo,
            password_file=pw_file.expanduser().absolute() if pw_file is not None else None,
            password_command=pw_cmd,
            timeout_s=settings.restic_timeout_s,
            tz=settings.tz.key,
        )

    @property
    def where(self) -> str:
        return display(self.repository)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_VARS}
        env["RESTIC_REPOSITORY"] = self.repository
        if self.password_file is not None:
            env["RESTIC_PASSWORD_FILE"] = str(self.password_file)
        else:
            env["RESTIC_PASSWORD_COMMAND"] = self.password_command
        env["TZ"] = self.tz
        env["RESTIC_PROGRESS_FPS"] = "1"  # --json status lines: one a second is plenty
        return env

    def raw(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        on_status: Callable[[dict[str, Any]], None] | None = None,
    ) -> Completed:
        """Run `restic ARGS`; stdout lines are kept except JSON status lines, which go to
        `on_status`. Raises TempFailError past the time limit."""
        argv = [self.binary, *args]
        timed_out = threading.Event()
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    env=self.env(),
                    cwd=cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise UnavailableError(
                    f"cannot run {self.binary}: {exc}", hint=INSTALL_HINT
                ) from exc

            def expire() -> None:
                timed_out.set()
                _kill_group(proc)

            timer = threading.Timer(self.timeout_s, expire)
            timer.start()
            kept: list[str] = []
            try:
                assert proc.stdout is not None
                for raw in proc.stdout:
                    line = raw.decode("utf-8", errors="replace").rstrip("\n")
                    status = _status(line)
                    if status is None:
                        kept.append(line)
                    elif on_status is not None:
                        on_status(status)
                proc.wait()
            except BaseException:
                _kill_group(proc)  # Ctrl-C, or an error in on_status: restic stops with us
                proc.wait()
                raise
            finally:
                timer.cancel()
                if proc.stdout is not None:
                    proc.stdout.close()
            err.seek(0)
            stderr = err.read().decode("utf-8", errors="replace")
        if timed_out.is_set():
            raise TempFailError(
                f"restic {args[0]} ran over {self.timeout_s:.0f}s and was stopped "
                f"({env_name('restic_timeout_s')})"
            )
        return Completed(proc.returncode, kept, stderr)

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        on_status: Callable[[dict[str, Any]], None] | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> Completed:
        """`raw`, with failures mapped to infra's errors, and one `restic unlock` (stale
        locks only) then a retry when the repository is locked."""
        for attempt in (1, 2):
            done = self.raw(args, cwd=cwd, on_status=on_status)
            if done.returncode in ok_codes:
                return done
            error = self.error(args[0], done)
            if not isinstance(error, RepositoryLocked) or attempt == 2:
                raise error
            self.raw(["unlock"])  # removes stale locks only; a live holder's lock stays
        raise AssertionError("unreachable")

    def json(self, args: Sequence[str]) -> Any:
        """Run a `--json` command and decode its answer (the last JSON line)."""
        done = self.run([*args, "--json"])
        for line in reversed(done.stdout):
            if line.startswith(("[", "{")):
                try:
                    return json.loads(line)
                except ValueError:
                    break
        raise UnavailableError(f"restic {args[0]} printed no JSON answer")

    def error(self, command: str, done: Completed) -> InfraError:
        """The infra error for a failed restic command, from its `Fatal:` line."""
        text = done.stderr
        line = redact_text(_fatal_line(text))
        where = self.where
        if "wrong password or no key found" in text:
            return ConfigError(
                f"wrong password for the off-site repository {where}",
                hint=f"check {env_name('restic_password_file')} or "
                f"{env_name('restic_password_command')}",
            )
        if "Resolving password failed" in text or "password command" in text:
            return ConfigError(f"cannot read the off-site repository's password: {line}")
        if "Is there a repository at the following location?" in text:
            return RepositoryMissing(
                f"no restic repository reachable at {where} ({line})",
                hint="is the drive mounted / the server reachable?",
            )
        if "already locked" in text or "unable to create lock" in text:
            return RepositoryLocked(
                f"the off-site repository {where} is locked by another restic process: {line}"
            )
        if "no space left on device" in text.lower():
            return CantCreateError(f"the off-site repository {where} is full: {line}")
        return UnavailableError(
            f"restic {command} failed on {where} (exit {done.returncode}): {line}"
        )


def _status(line: str) -> dict[str, Any] | None:
    if not line.startswith('{"message_type":"status"'):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _fatal_line(stderr: str) -> str:
    lines = [s.strip() for s in stderr.splitlines() if s.strip()]
    for s in lines:
        if s.startswith("Fatal:"):
            return s.removeprefix("Fatal:").strip()
    return lines[-1] if lines else "no message"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def terminal_progress(label: str) -> Callable[[dict[str, Any]], None] | None:
    """A status-line printer for restic's progress when stderr is a terminal, else None."""
    if not sys.stderr.isatty():
        return None

    def show(status: dict[str, Any]) -> None:
        done, total = int(status.get("bytes_done", 0)), int(status.get("total_bytes", 0))
        pct = float(status.get("percent_done", 0.0)) * 100
        sys.stderr.write(f"\r{label}: {pct:5.1f}%  {done >> 20}/{total >> 20} MiB ")
        sys.stderr.flush()

    return show
