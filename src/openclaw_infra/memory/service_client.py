"""Client side of the resident recall service (`infra serve`): light on purpose.

`infra recall` is called mid-conversation, so its client path imports only the stdlib: it
asks the service over the Unix socket and, when no service answers within the timeout,
returns None so the caller searches in-process with identical results. The wire format is
one JSON object per line each way, one request per connection.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import ERROR_CLASSES, EXIT_CODES, InfraError, InternalError

SOCKET_NAME = "recall.sock"
MAX_REQUEST_BYTES = 1 << 20  # a batch of a few thousand queries; more is refused
MAX_RESPONSE_BYTES = 256 << 20
PROTOCOL = 1


def socket_path(settings: Settings) -> Path:
    return settings.data / SOCKET_NAME


def _read_line(sock: socket.socket, limit: int) -> bytes:
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


def request(
    settings: Settings, payload: dict[str, Any], *, timeout_s: float | None = None
) -> dict[str, Any] | None:
    """Send one request; the reply object, or None when no service answers in time."""
    path = socket_path(settings)
    if not path.exists():
        return None
    timeout = settings.recall_service_timeout_s if timeout_s is None else timeout_s
    data = json.dumps({"v": PROTOCOL, **payload}, ensure_ascii=False).encode("utf-8") + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(data)
            raw = _read_line(sock, MAX_RESPONSE_BYTES)
    except (OSError, TimeoutError):
        return None  # down, stale socket, or too slow: the caller falls back
    try:
        reply = json.loads(raw)
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None


def raise_for_reply(reply: dict[str, Any]) -> None:
    """Re-raise a service-side InfraError as the same class, so exit codes match in-process."""
    if reply.get("ok"):
        return
    code = int(reply.get("exit_code", 1))
    cls = next((c for c in ERROR_CLASSES if c.exit_code == code), InternalError)
    message = str(reply.get("error", "recall service error"))
    err: InfraError = cls(message)
    if code not in EXIT_CODES:
        err = InternalError(message)
    raise err


def recall(
    settings: Settings, queries: list[str], options: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """Answers from the service, one per query in order; None means search in-process."""
    reply = request(settings, {"op": "recall", "queries": queries, "options": options})
    if reply is None:
        return None
    raise_for_reply(reply)
    answers = reply.get("answers")
    return answers if isinstance(answers, list) and len(answers) == len(queries) else None


def ping(settings: Settings, timeout_s: float = 1.0) -> dict[str, Any] | None:
    reply = request(settings, {"op": "ping"}, timeout_s=timeout_s)
    return reply if reply and reply.get("ok") else None
