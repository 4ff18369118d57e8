"""Hostile OpenClaw homes for the fuzz suite: transcripts in both containers, `memory/` trees
with every file type, canaries outside the workspace, and the real CLI under a hang guard.

A home lives in its own temporary root: `home/.openclaw` (state, workspace, infra's data)
and, beside it, `outside/` with the canaries that links in the tree point at.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzz_inputs import CANARY, MdFile, encode_good, good_object, short

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import EXIT_CODES

from openclaw_fixtures import create_store, insert_events, sqlite_path

TEST_EMBEDDER_ENV = {
    "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
    "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
}
MEMORY_LIMIT = 4 << 30  # address space per CLI run: /dev/zero must fail, not eat the machine
# exits a job may end with on hostile input: documented, and never an internal error
DELIBERATE_EXITS = frozenset(EXIT_CODES) - {1}

# odd entries a home can hold; SAFE ones cannot block or exhaust an in-process reader
SPECIALS_SAFE = (
    "socket",
    "dangling_link",
    "link_loop",
    "unreadable",
    "link_inside",
    "dir_named_md",
    "canary_link",
    "canary_dir_link",
    "canary_memory_md",
    "sessions_canary_link",
    "sessions_dir_named_jsonl",
    "store_canary_link",
    "store_garbage",
)
SPECIALS_BLOCKING = ("fifo", "dev_zero_link", "huge_md", "sessions_fifo", "sessions_dev_zero")
HUGE_MD_BYTES = 10 << 20


@dataclass
class Home:
    root: Path
    state: Path
    workspace: Path
    data: Path
    outside: Path
    tokens: list[str] = field(default_factory=list)  # good items that must come through

    @property
    def memory(self) -> Path:
        return self.workspace / "memory"

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {"embedding_model": "test-hash-embedder", "timezone": "UTC"}
        values.update(overrides)
        return Settings(
            state_dir=self.state, workspace_dir=self.workspace, data_dir=self.data, **values
        )

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCLAW_", "ANTHROPIC_"))}
        env.update(
            {
                "HOME": str(self.root / "home"),
                "OPENCLAW_STATE_DIR": str(self.state),
                "OPENCLAW_INFRA_TIMEZONE": "UTC",
                "OPENCLAW_INFRA_SUMMARIZER": "extractive",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                **TEST_EMBEDDER_ENV,
            }
        )
        return env


def new_home(root: Path) -> Home:
    state = root / "home" / ".openclaw"
    workspace = state / "workspace"
    (workspace / "memory").mkdir(parents=True)
    outside = root / "outside"
    outside.mkdir()
    return Home(root, state, workspace, state / "infra", outside)


@dataclass(frozen=True)
class Finished:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"infra {' '.join(self.args)[:200]} exited {self.code}: {self.stderr[-2000:]}"


class Hang(AssertionError):
    """An in-process job ran past its time or memory limit."""


@contextmanager
def bounded(seconds: float, memory: int = 1 << 30) -> Iterator[None]:
    """Run an in-process job with a time limit (SIGALRM raises `Hang` in it) and at most
    `memory` more bytes of address space (past that, MemoryError), so a hostile input that
    loops or balloons fails the example instead of the machine."""

    def expire(_signum: int, _frame: object) -> None:
        raise Hang(f"still running after {seconds}s")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        used = int(statm.read().split()[0]) * resource.getpagesize()
    cap = used + memory if hard == resource.RLIM_INFINITY else min(hard, used + memory)
    previous = signal.signal(signal.SIGALRM, expire)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except (Hang, MemoryError) as exc:
        # the frames hold what ballooned: drop them, or every retried example keeps its share
        where = traceback.extract_tb(exc.__traceback__)[-1]
        traceback.clear_frames(exc.__traceback__)
        raise Hang(f"{exc!r} at {where.filename}:{where.lineno} in {where.name}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(home: Home, *args: str, stdin: str | None = None, timeout: float = 60) -> Finished:
    """The real `infra` in its own session and address-space limit; a run past `timeout` is
    killed with its whole process group and fails the property as a hang."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw_infra", *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=home.env(),
        cwd=home.root,
        start_new_session=True,
        preexec_fn=_limit_memory,
    )
    try:
        out, err = proc.communicate(
            None if stdin is None else stdin.encode("utf-8", "surrogatepass"), timeout=timeout
        )
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(
            f"infra {' '.join(args)[:200]} still running after {timeout}s"
        ) from None
    return Finished(
        args, proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )


# --- transcripts ----------------------------------------------------------------------------


def write_jsonl(
    home: Home, agent: str, name: str, lines: Sequence[bytes], ends: Sequence[bytes]
) -> None:
    """One session file: each line followed by its terminator (b"" ends the file early)."""
    folder = home.state / "agents" / agent / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"".join(line + end for line, end in zip(lines, ends, strict=True)))


@dataclass(frozen=True)
class Row:
    """One `transcript_events` row: an event's bytes, or an odd row `kind`."""

    kind: str  # "event", "null_payload", "bad_zstd", "zstd_bomb", "text_seq", "blob_json"
    data: bytes = b""

    def __repr__(self) -> str:
        return f"Row({self.kind!r}, {short(self.data)})"


def write_store(
    home: Home,
    agent: str,
    schema: str,
    sessions: dict[bytes, list[Row]],
    *,
    compress_over: int | None,
    created_ms: int,
) -> Path:
    """The agent's store with these sessions (ids as bytes: SQLite keeps invalid UTF-8 in a
    TEXT column as it is), rows at seq 1, 2, … in order."""
    path = sqlite_path(home.state, agent)
    if not path.exists():
        create_store(home.state, agent, schema=schema)
    conn = sqlite3.connect(path)
    try:
        strict = any(
            r[1] == "event_zstd" for r in conn.execute("PRAGMA table_info(transcript_events)")
        )
        for session_id, rows in sessions.items():
            for seq, row in enumerate(rows, start=1):
                seq_value, text, blob, size = _row_values(row, seq, strict, compress_over)
                if strict:
                    conn.execute(
                        "INSERT INTO transcript_events (session_id, seq, event_json, created_at, "
                        "event_zstd, event_utf8_bytes) VALUES (CAST(? AS TEXT),?,CAST(? AS TEXT),"
                        "?,?,?)",
                        (session_id, seq_value, text, created_ms, blob, size),
                    )
                else:
                    # a BLOB payload goes in as it is: the 2026.7.2 table is not STRICT
                    payload = "?" if row.kind == "blob_json" else "CAST(? AS TEXT)"
                    conn.execute(
                        f"INSERT INTO transcript_events VALUES (CAST(? AS TEXT),?,{payload},?)",
                        (session_id, seq_value, text, created_ms),
                    )
        conn.commit()
    finally:
        conn.close()
    return path


def _row_values(
    row: Row, seq: int, strict: bool, compress_over: int | None
) -> tuple[Any, Any, Any, Any]:
    """(seq, event_json, event_zstd, event_utf8_bytes) for one row; the 2026.7.2 table only
    takes the first two and, not being STRICT, also holds a text seq or a BLOB payload."""
    import zstandard

    if row.kind == "event":
        if strict and compress_over is not None and len(row.data) > compress_over:
            blob = zstandard.ZstdCompressor().compress(row.data)
            return seq, None, blob, len(row.data)
        return seq, row.data, None, len(row.data)
    if row.kind == "text_seq":
        return (seq if strict else f"seq-{seq}"), b'{"type":"message"}', None, None
    if row.kind == "blob_json" and not strict:
        return seq, row.data, None, None
    if not strict:
        return seq, b"", None, None
    if row.kind == "bad_zstd":
        return seq, None, b"\x28\xb5\x2f\xfd" + row.data, None
    if row.kind == "zstd_bomb":
        # 20 MiB of JSON in a frame that says it holds 10 bytes
        bomb = zstandard.ZstdCompressor().compress(b"[" + b" " * (20 << 20) + b"]")
        return seq, None, bomb, 10
    return seq, None, None, None  # neither payload


def canary_event() -> bytes:
    line = good_object("user", f"{CANARY} came from outside the tree", entry_id="c1", ts_ms=None)
    return encode_good(line, True)


# --- memory/ trees --------------------------------------------------------------------------


def plant_tree(home: Home, files: Iterable[MdFile]) -> list[str]:
    """Write the files (a path taken already, or blocked by a file, is skipped) and return
    the tokens of those infra must index."""
    planted: dict[Path, MdFile] = {}
    for md in files:
        folder = home.memory.joinpath(*md.parts)
        path = folder / md.name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if path.exists() or path in planted:
                continue
            path.write_bytes(md.content())
        except (NotADirectoryError, FileExistsError, IsADirectoryError, OSError):
            continue
        planted[path] = md
    return [md.token for md in planted.values() if md.token and md.indexable]


def plant_specials(home: Home, kinds: Iterable[str], agent: str = "main") -> None:
    """Odd entries in `memory/`, `sessions/` and the agent folders, and the canaries
    outside the workspace that some of them point at."""
    memory, outside = home.memory, home.outside
    sessions = home.state / "agents" / agent / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    canary_md = outside / "canary.md"
    canary_md.write_text(f"# notes\n\n- {CANARY} lives outside the workspace\n")
    (outside / "dir").mkdir(exist_ok=True)
    (outside / "dir" / "inner.md").write_text(f"- {CANARY} in a folder outside\n")
    for kind in kinds:
        if kind == "fifo":
            os.mkfifo(memory / "pipe.md")
        elif kind == "dev_zero_link":
            (memory / "zero.md").symlink_to("/dev/zero")
        elif kind == "huge_md":
            line = b"- " + b"lorem ipsum dolor " * 4 + b"\n"
            (memory / "huge.md").write_bytes(line * (HUGE_MD_BYTES // len(line)))
        elif kind == "socket":
            _socket_file(memory / "socket.md")
        elif kind == "dangling_link":
            (memory / "dangling.md").symlink_to(home.root / "nowhere.md")
        elif kind == "link_loop":
            (memory / "loop-a.md").symlink_to(memory / "loop-b.md")
            (memory / "loop-b.md").symlink_to(memory / "loop-a.md")
        elif kind == "unreadable":
            locked = memory / "locked.md"
            locked.write_text("# locked\n")
            locked.chmod(0)
        elif kind == "link_inside":
            (memory / "inside-link.md").symlink_to(memory / "target-of-link.md")
            (memory / "target-of-link.md").write_text("# linked inside the tree\n")
        elif kind == "dir_named_md":
            (memory / "folder.md").mkdir(exist_ok=True)
        elif kind == "canary_link":
            (memory / "outside-link.md").symlink_to(canary_md)
        elif kind == "canary_dir_link":
            (memory / "outside-dir").symlink_to(outside / "dir")
        elif kind == "canary_memory_md":
            (home.workspace / "MEMORY.md").symlink_to(canary_md)
        elif kind == "sessions_canary_link":
            (outside / "canary.jsonl").write_bytes(canary_event() + b"\n")
            (sessions / "outside-link.jsonl").symlink_to(outside / "canary.jsonl")
        elif kind == "sessions_dir_named_jsonl":
            (sessions / "folder.jsonl").mkdir(exist_ok=True)
        elif kind == "sessions_fifo":
            os.mkfifo(sessions / "pipe.jsonl")
        elif kind == "sessions_dev_zero":
            (sessions / "zero.jsonl").symlink_to("/dev/zero")
        elif kind == "store_canary_link":
            _canary_store(home)
        elif kind == "store_garbage":
            garbage = sqlite_path(home.state, "garbled")
            garbage.parent.mkdir(parents=True, exist_ok=True)
            garbage.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
        else:
            raise ValueError(kind)


def _socket_file(path: Path) -> None:
    """A Unix socket at `path` (bound where the name is short, then moved: sun_path is
    limited to about 100 bytes)."""
    with tempfile.TemporaryDirectory(dir="/tmp") as short:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(os.path.join(short, "s"))
            os.rename(os.path.join(short, "s"), path)
        finally:
            sock.close()


def _canary_store(home: Home) -> None:
    """Agent `spy`'s store is a link to a store outside the state dir."""
    real = home.outside / "store" / ".openclaw"
    create_store(real, "x")
    conn = sqlite3.connect(sqlite_path(real, "x"))
    try:
        insert_events(conn, "canary", [canary_event()], first_seq=1, created=[0])
        conn.commit()
    finally:
        conn.close()
    link = sqlite_path(home.state, "spy")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(sqlite_path(real, "x"))


# --- what infra wrote -----------------------------------------------------------------------


def files_holding(roots: Iterable[Path], needle: bytes) -> list[Path]:
    """Regular files under `roots` (links not followed) whose bytes contain `needle`."""
    found = []
    for root in roots:
        for path in _regular_files(root):
            try:
                if needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def _regular_files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path


def clean_environment(monkeypatch: Any) -> None:
    """No setting leaks in from the developer's environment; the test embedder is allowed."""
    for key in list(os.environ):
        if key.startswith(("OPENCLAW_", "ANTHROPIC_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OPENCLAW_INFRA_TEST_EMBEDDER", "1")
