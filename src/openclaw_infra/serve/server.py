"""`infra serve`: a resident process holding the embedding model and the index.

A fresh process spends seconds importing torch and loading the model before a millisecond
search; the service pays that once. It answers on a Unix socket in the data dir (0600, peers
of another uid refused where the OS tells), serves clients on threads with searches
serialised (each takes milliseconds), follows chunks written by other processes through
`Searcher`'s catch-up, and removes its socket on SIGTERM. The job lock `serve` makes a
second start say "already running (pid N)" and exit 0; a socket file left by a crash is
replaced, one that something else listens on is refused (exit 73). Each start is recorded
(`serve.supervise`) so health can count restarts.

Ops: `ping` (pid, model, counters; for health and for writers choosing a model),
`recall` (texts and a `RecallQuery`'s wire options, for the full CLI and --batch),
`recall_argv` (a whole `infra recall` command line, for the console script's stdlib-only fast
path) and `embed` (vectors for writers, so they load no model of their own).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

from openclaw_infra import __version__
from openclaw_infra.core import jsonsafe
from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import CantCreateError, InfraError, LockHeldError, UsageError
from openclaw_infra.core.fsio import ensure_private_dir
from openclaw_infra.core.locking import job_lock
from openclaw_infra.memory.embedder import Embedder
from openclaw_infra.memory.query import RecallQuery, parse_argv, query_of
from openclaw_infra.memory.render import output
from openclaw_infra.serve.client import MAX_REQUEST_BYTES, PROTOCOL

log = structlog.get_logger("infra.serve")

MAX_EMBED_TEXTS = 4096
READ_TIMEOUT_S = 10.0
DRAIN_LIMIT_BYTES = 64 << 20
# macOS: getsockopt(SOL_LOCAL=0, LOCAL_PEERCRED=1) gives struct xucred {version, uid, …}
_SOL_LOCAL, _LOCAL_PEERCRED, _XUCRED_SIZE = 0, 1, 76


def peer_uid(sock: socket.socket) -> int | None:
    """The connecting process's uid where the platform tells, else None."""
    try:
        if hasattr(socket, "SO_PEERCRED"):
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            return int(struct.unpack("3i", raw)[1])
        if sys.platform == "darwin":
            raw = sock.getsockopt(_SOL_LOCAL, _LOCAL_PEERCRED, _XUCRED_SIZE)
            return int(struct.unpack_from("=II", raw)[1])
    except OSError:
        return None
    return None


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class RecallService:
    """The request handler's state: one Searcher, one lock."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        from openclaw_infra.memory.search import Searcher

        self.settings = settings
        self._embedder = embedder
        self._lock = threading.Lock()
        self._store_id = _file_id(settings.db_path)
        self.searcher = Searcher(settings, embedder)
        self.started = time.time()
        self.served = 0
        self.embedded = 0

    def warm(self) -> None:
        """Load the model and the vectors now, not on the first client's clock."""
        with self._lock:
            self._embedder = self.searcher.embedder
            self._embedder.encode(["warm up"])
            if self.searcher.gen is not None:
                _ = self.searcher.vectors

    def _live_searcher(self) -> Any:
        """The searcher, reopened when the store file was created or replaced since it was
        opened (a first index; a store deleted and rebuilt): an open connection would keep
        reading the old file."""
        store_id = _file_id(self.settings.db_path)
        if self.searcher.conn is None or store_id != self._store_id:
            from openclaw_infra.memory.search import Searcher

            self.searcher.close()
            self._store_id = store_id
            self.searcher = Searcher(self.settings, self._embedder)
        return self.searcher

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if op == "ping":
            return {
                "ok": True,
                "pid": os.getpid(),
                "version": __version__,
                "model": str(self._embedder.identity) if self._embedder else None,
                "uptime_s": round(time.time() - self.started, 1),
                "served": self.served,
                "embedded": self.embedded,
            }
        if op == "recall":
            return self._recall(req)
        if op == "recall_argv":
            return self._recall_argv(req)
        if op == "embed":
            return self._embed(req)
        raise UsageError(f"unknown op {op!r}")

    def _answers(self, query: RecallQuery, texts: list[str]) -> list[dict[str, Any]]:
        from openclaw_infra.memory.search import answer_batch

        with self._lock:
            searcher = self._live_searcher()
            searcher._refresh()  # follow other writers before the index info is read
            answers = list(answer_batch(searcher, query, texts))
            self.served += len(texts)
        return answers

    def _recall(self, req: dict[str, Any]) -> dict[str, Any]:
        texts = req.get("queries")
        if not isinstance(texts, list) or not all(isinstance(q, str) for q in texts):
            raise UsageError("'queries' must be a list of strings")
        query = RecallQuery.from_wire("", req.get("options"))
        return {"ok": True, "answers": self._answers(query, texts)}

    def _recall_argv(self, req: dict[str, Any]) -> dict[str, Any]:
        """A whole `infra recall ARGV` read by the parser built from the CLI's option table
        and rendered by the CLI's own output function, so the fast path prints what the CLI
        would. Only a single plain query is answered; anything else (help, a usage error,
        --batch, --no-service) is a UsageError, and the client runs the full CLI, which
        reports it."""
        argv = req.get("argv")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise UsageError("'argv' must be a list of strings")
        params = parse_argv(argv)
        if params["query"] is None or params["batch"] is not None or params["no_service"]:
            raise UsageError("not a plain query")
        query = query_of(self.settings, params)
        answer = self._answers(query, [query.text])[0]
        out, err = output(answer, params["as_json"])
        return {"ok": True, "stdout": out, "stderr": err}

    def _embed(self, req: dict[str, Any]) -> dict[str, Any]:
        texts = req.get("texts")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise UsageError("'texts' must be a list of strings")
        if len(texts) > MAX_EMBED_TEXTS:
            raise UsageError(f"at most {MAX_EMBED_TEXTS} texts per request")
        with self._lock:
            embedder = self._live_searcher().embedder
            vectors = embedder.encode(texts)
            self.embedded += len(texts)
        import numpy as np

        array = np.ascontiguousarray(vectors, dtype="<f4")
        return {
            "ok": True,
            "model": str(embedder.identity),
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }


def _reply(handler: socketserver.StreamRequestHandler, obj: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        handler.wfile.write(json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n")


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.connection.settimeout(READ_TIMEOUT_S)
        uid = peer_uid(self.connection)
        if uid is not None and uid != os.getuid():
            _reply(self, {"ok": False, "exit_code": 2, "error": f"refused: peer uid {uid}"})
            return
        try:
            line = self.rfile.readline(MAX_REQUEST_BYTES + 1)
        except OSError:
            return
        if len(line) > MAX_REQUEST_BYTES:
            # drain the rest of the line (bounded) so the client reads our answer rather
            # than a broken pipe, then refuse
            drained = 0
            with contextlib.suppress(OSError):
                while not line.endswith(b"\n") and drained < DRAIN_LIMIT_BYTES:
                    line = self.rfile.readline(1 << 20)
                    if not line:
                        break
                    drained += len(line)
            error = f"request larger than {MAX_REQUEST_BYTES} bytes"
            _reply(self, {"ok": False, "exit_code": 2, "error": error})
            return
        try:
            req = jsonsafe.loads(line)  # a deep nest is a malformed request
            if not isinstance(req, dict):
                raise ValueError("not an object")
            if req.get("v") != PROTOCOL:
                raise UsageError(f"protocol version {req.get('v')!r}, expected {PROTOCOL}")
            reply = self.server.service.handle(req)
        except InfraError as exc:
            reply = {"ok": False, "exit_code": exc.exit_code, "error": str(exc)}
        except ValueError as exc:
            reply = {"ok": False, "exit_code": 2, "error": f"malformed request: {exc}"}
        except Exception as exc:  # one bad request must not take the service down
            log.exception("serve.request_failed")
            reply = {"ok": False, "exit_code": 1, "error": f"{type(exc).__name__}: {exc}"}
        _reply(self, reply)


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 refuses a burst of concurrent clients
    service: RecallService


def _listened_on(path: Path) -> bool:
    """Something listens on `path`: only a refused connection (or no file) means the socket
    is a dead one's. A connect that times out met a listener whose queue is full."""
    if not path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except OSError:
            return True
    return True


@contextlib.contextmanager
def _bound(settings: Settings, service: RecallService) -> Iterator[_Server]:
    path = settings.socket_path
    ensure_private_dir(path.parent)
    if len(os.fsencode(path)) > 100:
        raise CantCreateError(
            f"socket path too long for the OS ({path})",
            hint="use a shorter OPENCLAW_INFRA_DATA_DIR",
        )
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # we hold the serve lock and nobody answers: a dead service's socket
    old = os.umask(0o177)
    try:
        server = _Server(str(path), _Handler)
    except OSError as exc:
        raise CantCreateError(f"cannot listen on {path}: {exc.strerror}") from exc
    finally:
        os.umask(old)
    path.chmod(0o600)
    server.service = service
    try:
        yield server
    finally:
        server.server_close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _already_running(settings: Settings) -> None:
    from openclaw_infra.serve.supervise import running

    live = running(settings)
    pid = live.pid if live is not None else "?"
    state = "" if live is None or live.reply is not None else ", starting"
    print(f"infra serve: already running (pid {pid}{state})", file=sys.stderr, flush=True)


def serve(
    settings: Settings, *, embedder: Embedder | None = None, ready: threading.Event | None = None
) -> None:
    """Run until SIGTERM/SIGINT; the socket is gone when this returns. When a service
    already runs, say so and return (exit 0: nothing is owed)."""
    from openclaw_infra.serve.supervise import record_start, record_stop

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(job_lock(settings.locks_dir, "serve"))
        except LockHeldError:
            _already_running(settings)
            return
        path = settings.socket_path
        if _listened_on(path):  # before the model loads: fail in a moment, not seconds
            raise CantCreateError(
                f"{path} is in use by a process that is not infra serve (it holds no serve lock)",
                hint="stop that process, or set OPENCLAW_INFRA_DATA_DIR to another folder",
            )
        run = record_start(settings)
        code: int = 1
        error: str | None = "interrupted"
        try:
            _run(settings, embedder, ready)
            code, error = 0, None
        except InfraError as exc:
            code, error = exc.exit_code, str(exc)
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            record_stop(settings, run, code, error)


def _run(settings: Settings, embedder: Embedder | None, ready: threading.Event | None) -> None:
    service = RecallService(settings, embedder)
    service.warm()
    with _bound(settings, service) as server:
        stop = threading.Event()

        def _stop(signum: int, _frame: object) -> None:
            log.info("serve.stopping", signal=signum)
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        log.info("serve.ready", socket=str(settings.socket_path), pid=os.getpid())
        print(
            f"infra serve: listening on {settings.socket_path} (pid {os.getpid()})",
            file=sys.stderr,
            flush=True,
        )
        if ready is not None:
            ready.set()
        server.serve_forever(poll_interval=0.2)
        log.info("serve.stopped", served=service.served)
