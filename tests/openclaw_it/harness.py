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
                "OPENCLAW_INFRA_EMBEDDING_EXPORT_DIR": os.environ["INFRA_TEST_EXPORT_DIR"],
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


# --- the gateway, for what `openclaw agent --local` does not run (internal hooks, compaction)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gateway:
    """A foreground `openclaw gateway run` on a free loopback port, for one OpenClaw home.

    Internal hooks load only in the gateway, and compaction (`openclaw sessions compact`)
    needs it; turns sent without `--local` go through it. `stop()` ends the process group.
    """

    state: OpenClawState
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, state: OpenClawState, timeout_s: float = 120) -> Gateway:
        import socket

        port = free_port()
        state.extra_env["OPENCLAW_GATEWAY_PORT"] = str(port)
        log = state.root / "gateway.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(state.install.openclaw), "gateway", "run", "--port", str(port)],
                env=state.env(),
                cwd=state.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        gateway = cls(state, port, process, log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise OpenClawError(f"gateway exited {process.returncode}:\n{gateway.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return gateway
            except OSError:
                time.sleep(0.5)
        gateway.stop()
        raise OpenClawError(f"gateway not listening after {timeout_s:.0f} s:\n{gateway.tail()}")

    def tail(self) -> str:
        return _tail(self.log.read_text(encoding="utf-8", errors="replace"))

    def turn(self, message: str, *, timeout_s: float = TURN_TIMEOUT_S) -> Turn:
        """One turn of the agent's main session, through this gateway (its reply JSON is the
        gateway's shape: no `meta.agentMeta`, so read the session from the store)."""
        args = ["agent", "--agent", AGENT, "--message", message, "--json"]
        start = time.perf_counter()
        reply = self.state.openclaw_json(*args, timeout_s=timeout_s)
        return Turn(f"agent:{AGENT}:main", message, reply, time.perf_counter() - start)

    def compact(self, key: str = f"agent:{AGENT}:main") -> dict[str, Any]:
        """`openclaw sessions compact KEY --json`: a real, LLM-summarised compaction."""
        result = self.state.openclaw_json("sessions", "compact", key, "--json")
        if not isinstance(result, dict) or not result.get("compacted"):
            raise OpenClawError(f"sessions compact {key} did not compact: {result!r}")
        return result

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.state.extra_env.pop("OPENCLAW_GATEWAY_PORT", None)


def install_hook_pack(state: OpenClawState, source: Path) -> Path:
    """Copy a hook folder into `<workspace>/hooks/` and enable it, the way deploy.sh does."""
    if not (source / "HOOK.md").is_file():
        raise OpenClawError(f"no hook at {source / 'HOOK.md'}")
    target = state.workspace / "hooks" / source.name
    shutil.copytree(source, target, dirs_exist_ok=True)
    state.openclaw("hooks", "enable", source.name)
    return target


# --- the learning loop (feedback buttons, lessons in every prompt) -------------------------

FEEDBACK_SKILL = REPO / "openclaw" / "skills" / "infra-feedback"


def enable_bootstrap_files(state: OpenClawState, paths: Sequence[str]) -> None:
    """Configure and enable OpenClaw's bundled `bootstrap-extra-files` hook, as deploy.sh
    does: the files at `paths` (relative to the workspace) join every turn's prompt."""
    state.config_set("hooks.internal.entries.bootstrap-extra-files.paths", list(paths))
    state.openclaw("hooks", "enable", "bootstrap-extra-files")


def request_text(body: dict[str, Any]) -> str:
    """Every message text of one chat request (system prompt included), joined."""
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "\n".join(parts)


# OpenClaw loads only these names through bootstrap-extra-files (its workspace policy)
BOOTSTRAP_BASENAMES = frozenset(
    {"AGENTS.md", "SOUL.md", "IDENTITY.md", "USER.md", "BOOTSTRAP.md", "MEMORY.md"}
)
