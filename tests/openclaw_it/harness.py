"""Drive the real OpenClaw from Python: install, isolate, onboard, run turns, read its SQLite.

Shared by the integration suite (`conftest.py`) and the head-to-head benchmark, so both talk to
OpenClaw the same way. Every OpenClaw call is a subprocess with a timeout; its `HOME` and
`OPENCLAW_STATE_DIR` point into a folder of our own, so the developer's real `~/.openclaw`
is never read or written. The transcript reader here is deliberately independent of infra's
(plain sqlite3 + zstandard, no code from `openclaw_infra`): it is the ground truth the
assertions compare infra's answers with.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / "scripts" / "openclaw-under-test.sh"
SHIPPED_SKILL = REPO / "openclaw" / "skills" / "infra-recall"
OPENCLAW_VERSION = "2026.9.6"
AGENT = "main"
INSTALL_TIMEOUT_S = 1800
TURN_TIMEOUT_S = 300
CLI_TIMEOUT_S = 180
# Environment that must not leak from the developer's shell into the isolated OpenClaw/infra
_FOREIGN_PREFIXES = ("OPENCLAW_", "ANTHROPIC_", "OPENAI_", "NODE_OPTIONS", "npm_config_")


class OpenClawError(RuntimeError):
    """OpenClaw could not be installed or one of its commands failed (message says which)."""


def _tail(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


@dataclass(frozen=True)
class OpenClawInstall:
    """Where the install script put OpenClaw and the Node 24 it runs on."""

    root: Path
    openclaw: Path
    node: Path
    version: str


def install_openclaw(timeout_s: float = INSTALL_TIMEOUT_S) -> OpenClawInstall:
    """Run `scripts/openclaw-under-test.sh` (reuses the cached install) and parse its paths."""
    try:
        done = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OpenClawError(f"{INSTALL_SCRIPT} ran past {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        raise OpenClawError(
            f"cannot install OpenClaw {OPENCLAW_VERSION} with {INSTALL_SCRIPT} "
            f"(exit {done.returncode}); it needs npm and the npm registry:\n{_tail(done.stderr)}"
        )
    paths = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    try:
        return OpenClawInstall(
            root=Path(paths["OPENCLAW_UNDER_TEST_DIR"]),
            openclaw=Path(paths["OPENCLAW_BIN"]),
            node=Path(paths["OPENCLAW_NODE"]),
            version=paths["OPENCLAW_VERSION"],
        )
    except KeyError as exc:
        raise OpenClawError(f"{INSTALL_SCRIPT} printed no {exc}: {done.stdout!r}") from None


def infra_bin_dir() -> Path:
    """The folder holding the `infra` console script of the interpreter running us."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "infra").exists():
        raise OpenClawError(
            f"no `infra` next to {sys.executable}: install the package (pip install -e .)"
        )
    return bin_dir


@dataclass
class Turn:
    """One `openclaw agent --local` run and what it printed."""

    session_key: str
    message: str
    reply: dict[str, Any]
    took_s: float

    @property
    def session_id(self) -> str:
        return str(self.reply["meta"]["agentMeta"]["sessionId"])

    @property
    def text(self) -> str:
        return "\n".join(str(p.get("text") or "") for p in self.reply.get("payloads", []))

    @property
    def tools_used(self) -> list[str]:
        receipt = self.reply["meta"]["agentMeta"].get("terminalReceipt", {})
        return list(receipt.get("successfulToolNames", []))


@dataclass(frozen=True)
class StoredEvent:
    """One row of `transcript_events`, decoded: what OpenClaw really wrote."""

    session_id: str
    seq: int
    compressed: bool  # event_json was NULL and the JSON came from event_zstd
    event: dict[str, Any]

    @property
    def message(self) -> dict[str, Any]:
        message = self.event.get("message")
        return message if isinstance(message, dict) else {}

    @property
    def role(self) -> str:
        return str(self.message.get("role", ""))

    @property
    def entry_id(self) -> str:
        return str(self.event.get("id", ""))

    @property
    def texts(self) -> list[str]:
        """The text blocks of a message (a plain string content counts as one)."""
        content = self.message.get("content")
        if isinstance(content, str):
            return [content] if content else []
        if isinstance(content, list):
            return [
                str(block["text"])
                for block in content
                if isinstance(block, dict) and block.get("type") == "text" and block.get("text")
            ]
        return []


@dataclass
class OpenClawState:
    """An isolated OpenClaw home under `root`, driven through the real CLI."""

    install: OpenClawInstall
    root: Path
    path_prefix: Sequence[Path] = ()
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def state(self) -> Path:
        return self.home / ".openclaw"

    @property
    def workspace(self) -> Path:
        return self.state / "workspace"

    @property
    def agent_db(self) -> Path:
        return self.state / "agents" / AGENT / "agent" / "openclaw-agent.sqlite"

    def env(self, *, path: Sequence[Path] | None = None) -> dict[str, str]:
        """The environment of every OpenClaw and infra subprocess: isolated and offline.

        PATH is `path_prefix` before the inherited PATH, or exactly `path` when given.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
        if path is None:
            search = [*(str(p) for p in self.path_prefix), env.get("PATH", "/usr/bin:/bin")]
        else:
            search = [str(p) for p in path]
        env.update(
            {
                "HOME": str(self.home),
                "OPENCLAW_STATE_DIR": str(self.state),
                "OPENCLAW_NO_AUTO_UPDATE": "1",
                "OPENCLAW_INFRA_TIMEZONE": "UTC",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "NO_COLOR": "1",
                "PATH": os.pathsep.join(search),
            }
        )
        env.update(self.extra_env)
        return env

    def openclaw(
        self,
        *args: str,
        timeout_s: float = CLI_TIMEOUT_S,
        path: Sequence[Path] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run `openclaw ARGS` in this home; a non-zero exit raises with its stderr."""
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [str(self.install.openclaw), *args]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=self.env(path=path),
                cwd=self.home,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise OpenClawError(f"openclaw {' '.join(args)} ran past {timeout_s:.0f} s") from exc
        if check and done.returncode != 0:
            raise OpenClawError(
                f"openclaw {' '.join(args)} exited {done.returncode}:\n"
                f"{_tail(done.stderr)}\n{_tail(done.stdout, 1000)}"
            )
        return done

    def openclaw_json(self, *args: str, **kwargs: Any) -> Any:
        """Run an OpenClaw command that prints JSON on stdout and parse it."""
        done = self.openclaw(*args, **kwargs)
        try:
            return json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            raise OpenClawError(
                f"openclaw {' '.join(args)} printed no JSON ({exc}):\n{_tail(done.stdout)}"
            ) from None

    def onboard(self, base_url: str, model_id: str, api_key: str) -> None:
        """Non-interactive onboarding against the fake model server (OPENCLAW.md)."""
        self.openclaw(
            "onboard",
            "--non-interactive",
            "--accept-risk",
            "--skip-health",
            "--auth-choice",
            "custom-api-key",
            "--custom-base-url",
            base_url,
            "--custom-model-id",
            model_id,
            "--custom-api-key",
            api_key,
            "--secret-input-mode",
            "plaintext",
            "--custom-compatibility",
            "openai",
            "--custom-text-input",
        )
        if not (self.state / "openclaw.json").exists():
            raise OpenClawError(f"onboarding wrote no {self.state / 'openclaw.json'}")

    def config_set(self, path: str, value: Any) -> None:
        """`openclaw config set PATH JSON --strict-json`: OpenClaw validates the value."""
        self.openclaw("config", "set", path, json.dumps(value), "--strict-json")

    def install_skill(self, source: Path = SHIPPED_SKILL) -> Path:
        """Copy a skill folder into `<workspace>/skills/` the way deploy.sh does."""
        if not (source / "SKILL.md").is_file():
            raise OpenClawError(f"no skill at {source / 'SKILL.md'}")
        target = self.workspace / "skills" / source.name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "SKILL.md", target / "SKILL.md")
        return target

    def turn(
        self, message: str, *, session: str | None = None, timeout_s: float = TURN_TIMEOUT_S
    ) -> Turn:
        """One agent turn without the gateway; `session` names an explicit conversation."""
        key = f"agent:{AGENT}:explicit:{session}" if session else f"agent:{AGENT}:main"
        args = ["agent", "--local", "--agent", AGENT, "--message", message, "--json"]
        if session:
            args += ["--session-key", key]
        start = time.perf_counter()
        reply = self.openclaw_json(*args, timeout_s=timeout_s)
        return Turn(key, message, reply, time.perf_counter() - start)

    def skills_check(self, *, path: Sequence[Path] | None = None) -> dict[str, Any]:
        """`openclaw skills check --json` under a chosen PATH (eligibility depends on it)."""
        result = self.openclaw_json("skills", "check", "--json", path=path)
        if not isinstance(result, dict):
            raise OpenClawError(f"skills check printed {type(result).__name__}, not an object")
        return result

    def events(self) -> list[StoredEvent]:
        """Every transcript event, in (session, seq) order; see `read_events`."""
        return read_events(self.agent_db)


def read_events(db: Path) -> list[StoredEvent]:
    """Decode `transcript_events` read-only: `event_json`, else zstd-compressed `event_zstd`."""
    import zstandard

    if not db.is_file():
        raise OpenClawError(f"OpenClaw wrote no {db}")
    decompressor = zstandard.ZstdDecompressor()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT session_id, seq, event_json, event_zstd FROM transcript_events "
            "ORDER BY session_id, seq"
        ).fetchall()
    finally:
        conn.close()
    events = []
    for session_id, seq, event_json, event_zstd in rows:
        compressed = event_json is None
        if compressed:
            event_json = decompressor.decompress(event_zstd, max_output_size=64 << 20).decode()
        events.append(StoredEvent(session_id, seq, compressed, json.loads(event_json)))
    return events


def table_info(db: Path) -> Iterator[tuple[str, str]]:
    """(column, declared type) of `transcript_events`, to pin the schema OpenClaw uses."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        yield from (
            (row[1], row[2]) for row in conn.execute("PRAGMA table_info(transcript_events)")
        )
    finally:
        conn.close()


def user_version(db: Path) -> int:
    """SQLite `PRAGMA user_version`: OpenClaw's schema version of the agent database."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@dataclass(frozen=True)
class InfraRun:
    """One `infra` subprocess: its exit code and output."""

    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_infra(
    state: OpenClawState,
    *args: str,
    input_text: str | None = None,
    timeout_s: float = 600,
    check: bool = True,
) -> InfraRun:
    """Run the real `infra` CLI against this OpenClaw home, as cron or the agent would."""
    argv = [str(infra_bin_dir() / "infra"), *args]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            input=input_text,
            timeout=timeout_s,
            env=state.env(),
            cwd=state.home,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OpenClawError(f"infra {' '.join(args)} ran past {timeout_s:.0f} s") from exc
    if check and done.returncode != 0:
        raise OpenClawError(
            f"infra {' '.join(args)} exited {done.returncode}:\n{_tail(done.stderr)}"
        )
    return InfraRun(done.returncode, done.stdout, done.stderr)
