"""Client side of the resident recall service (`infra serve`): stdlib only, on purpose.

`infra recall` is called mid-conversation, so its client path imports only the stdlib. The
console script tries `answer_argv` first: it finds the socket from the environment alone,
hands the service the command line, and prints the service's reply, so a recall costs a bare
Python start, not the CLI's imports. When no service answers within the timeout, the full
CLI searches in-process with identical results; when the service declines (help, usage
errors, --batch), the full CLI runs and may still ask it for answers. The wire format is one
JSON object per line each way, one request per connection.
"""

from __future__ import annotations

import os
import sys

# Every module imported here is paid on each `infra recall`: typing, pathlib, dataclasses
# (through core.layout) and the error table are left to type checkers and to the full CLI's
# functions below, which import them when called. So are `socket` and `json`: they import
# enum, re and selectors, about 10 ms of a 45 ms recall (benchmarks/recall_service.py), so
# the wire uses their C halves, `_socket` and `_json`, and falls back to the public modules
# where an interpreter lacks those.
try:
    from _socket import AF_UNIX, SOCK_STREAM
    from _socket import socket as _Socket
except ImportError:  # pragma: no cover - CPython has it
    from socket import AF_UNIX, SOCK_STREAM
    from socket import socket as _Socket  # type: ignore[assignment]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path
    from typing import Any

    from openclaw_infra.core.config import Settings
    from openclaw_infra.memory.query import RecallQuery

MAX_REQUEST_BYTES = 1 << 20  # a batch of a few thousand queries; more is refused
MAX_RESPONSE_BYTES = 256 << 20
PROTOCOL = 1
PREFIX = "OPENCLAW_INFRA_"  # core.layout.PREFIX (a test keeps them equal)
TIMEOUT_ENV = PREFIX + "RECALL_SERVICE_TIMEOUT_S"
CONFIG_FILE = "config.env"  # core.layout.CONFIG_FILE
SOCKET_FILE = "recall.sock"  # core.layout.DataPaths.socket
DEFAULT_TIMEOUT_S = 2.0  # Settings.recall_service_timeout_s's default (a test keeps them equal)


class _ScanContext:
    """What `_json.make_scanner` reads from `json.JSONDecoder`: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None


def _unencodable(obj: object) -> object:
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _codec() -> tuple[Callable[[Any], str], Callable[[str], Any]]:
    """(dumps, loads): json's own C encoder and scanner with json.dumps/loads's defaults
    (compact separators, non-ASCII kept), or the json module where `_json` is missing."""
    try:
        import _json

        encode = _json.make_encoder(
            None, _unencodable, _json.encode_basestring, None, ":", ",", False, False, True
        )
        scan = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]  # duck-typed
        # private API: prove it on one value now rather than fail on the agent's query
        if scan('{"a":[1,"é"]}', 0) != ({"a": [1, "é"]}, 13):
            raise TypeError("unexpected _json scanner")
        if "".join(encode({"a": [1, "é"]}, 0)) != '{"a":[1,"é"]}':
            raise TypeError("unexpected _json encoder")
    except (ImportError, AttributeError, TypeError, ValueError):  # pragma: no cover
        import json

        return (lambda obj: json.dumps(obj, ensure_ascii=False, separators=(",", ":"))), json.loads

    def loads(text: str) -> Any:
        text = text.strip()
        try:
            obj, end = scan(text, 0)
        except StopIteration:
            raise ValueError("not JSON") from None
        if end != len(text):
            raise ValueError("extra data after JSON")
        return obj

    return (lambda obj: "".join(encode(obj, 0))), loads


_dumps, _loads = _codec()


def _read_line(sock: _Socket, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        block = sock.recv(65536)
        if not block:
            break
        chunks.append(block)
        size += len(block)
        if b"\n" in block or size > limit:
            break
    return b"".join(chunks).split(b"\n", 1)[0]


def request(path: Path | str, payload: dict[str, Any], timeout_s: float) -> dict[str, Any] | None:
    """Send one request to the socket at `path`; the reply, or None when none came in time."""
    if not os.path.exists(path):
        return None
    data = _dumps({"v": PROTOCOL, **payload}).encode("utf-8") + b"\n"
    sock = _Socket(AF_UNIX, SOCK_STREAM)
    try:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(data)
        raw = _read_line(sock, MAX_RESPONSE_BYTES)
    except (OSError, TimeoutError):
        return None  # down, stale socket, or too slow: the caller falls back
    finally:
        sock.close()
    try:
        reply = _loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return None
    return reply if isinstance(reply, dict) else None


def raise_for_reply(reply: dict[str, Any]) -> None:
    """Re-raise a service-side InfraError as the same class, so exit codes match in-process."""
    from openclaw_infra.core.errors import ERROR_CLASSES, EXIT_CODES, InfraError, InternalError

    if reply.get("ok"):
        return
    code = int(reply.get("exit_code", 1))
    cls = next((c for c in ERROR_CLASSES if c.exit_code == code), InternalError)
    message = str(reply.get("error", "recall service error"))
    err: InfraError = cls(message)
    if code not in EXIT_CODES:
        err = InternalError(message)
    raise err


def recall(settings: Settings, query: RecallQuery, texts: list[str]) -> list[dict[str, Any]] | None:
    """Answers from the service, one per text in order, each with `query`'s options; None
    means search in-process."""
    reply = request(
        settings.socket_path,
        {"op": "recall", "queries": texts, "options": query.to_wire()},
        settings.recall_service_timeout_s,
    )
    if reply is None:
        return None
    raise_for_reply(reply)
    answers = reply.get("answers")
    return answers if isinstance(answers, list) and len(answers) == len(texts) else None


def ping(settings: Settings, timeout_s: float = 1.0) -> dict[str, Any] | None:
    reply = request(settings.socket_path, {"op": "ping"}, timeout_s)
    return reply if reply and reply.get("ok") else None


def embed(settings: Settings, texts: list[str], timeout_s: float) -> dict[str, Any] | None:
    """The service's `embed` reply (model, shape, base64 little-endian float32), or None."""
    reply = request(settings.socket_path, {"op": "embed", "texts": texts}, timeout_s)
    return reply if reply and reply.get("ok") else None


def data_dir(environ: Mapping[str, str]) -> str:
    """`core.layout.default_data_dir` with os.path (a test keeps the two equal)."""
    if environ.get(PREFIX + "DATA_DIR"):
        return os.path.expanduser(environ[PREFIX + "DATA_DIR"])
    if environ.get("OPENCLAW_STATE_DIR"):
        state = os.path.expanduser(environ["OPENCLAW_STATE_DIR"])
    else:
        profile = environ.get("OPENCLAW_PROFILE")
        home = os.path.expanduser("~")
        state = os.path.join(home, f".openclaw-{profile}" if profile else ".openclaw")
    return os.path.join(state, "infra")


def _timeout(environ: Mapping[str, str], data: Path | str) -> float | None:
    """The recall timeout as Settings would read it (environment, then config.env); None
    when it is not a valid number, so the full CLI reports it."""
    raw = environ.get(TIMEOUT_ENV)
    config_env = os.path.join(data, CONFIG_FILE)
    if raw is None and _mentions(config_env, TIMEOUT_ENV):
        from dotenv import dotenv_values  # the parser pydantic-settings reads config.env with

        try:
            values = dotenv_values(config_env, encoding="utf-8")
        except (OSError, ValueError):
            return None
        raw = next((v for k, v in values.items() if k.upper() == TIMEOUT_ENV), None)
    if raw is None:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 < value <= 60 else None


def _mentions(path: str, name: str) -> bool:
    """True when the file may set `name` (its text holds it, any case): a config.env that
    does not is not parsed, which spares each recall importing the dotenv parser."""
    try:
        with open(path, "rb") as fh:
            text = fh.read(1 << 20)
    except OSError:
        return False
    return name.encode().lower() in text.lower()


# Why `answer_argv` printed nothing, which tells the full CLI what to do (plain strings: an
# Enum would import enum, which this path otherwise avoids)
DECLINED = "declined"  # help, a usage error, --batch: the full CLI may still ask the service
UNAVAILABLE = "unavailable"  # no service, or no answer in time: do not wait for it twice


def answer_argv(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int | str:
    """`infra recall ARGV` answered whole by the service: prints its output and returns the
    exit code (0); otherwise prints nothing and returns DECLINED or UNAVAILABLE, and the full
    CLI runs."""
    env = os.environ if environ is None else environ
    data = data_dir(env)
    timeout = _timeout(env, data)
    if timeout is None or "--no-service" in argv:
        return DECLINED
    sock = os.path.join(data, SOCKET_FILE)
    reply = request(sock, {"op": "recall_argv", "argv": list(argv)}, timeout)
    if reply is None:
        return UNAVAILABLE
    out, err = reply.get("stdout"), reply.get("stderr")
    if not reply.get("ok") or not isinstance(out, str) or not isinstance(err, str):
        return DECLINED
    try:
        sys.stderr.write(err)
        sys.stderr.flush()
        sys.stdout.write(out)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away: not an error (as in the CLI); keep exit's flush quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
