"""structlog set-up: JSON lines to `<data>/logs/infra.log` (rotated), readable on a TTY.

Every module logs through `structlog.get_logger("infra.<area>")` (job, reader, memory, …).

Stdlib loggers are routed through the same processors, and a redaction processor keeps
secrets out: values under secret-looking keys and any occurrence of the configured API key.
`redact_text` is the same redaction for every other way text leaves infra (the stderr
line, the run ledger, notifications, LLM error messages): an endpoint that echoes the key
in an error body must not put it anywhere.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from openclaw_infra.core.fsio import ensure_private_dir
from openclaw_infra.core.layout import LOG_FILE

_SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password|authorization)", re.I)
_secrets: set[str] = set()
REDACTED = "[redacted]"
# The safety net for a key infra was never told about (another process's, a second key):
# the Anthropic key shape, and the value after a header that carries a key. Literals and
# bounded repetitions of one character class only, so matching stays linear on any input.
_ANTHROPIC_KEY = re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,400}")
_CARRIED_KEY = re.compile(
    r"((?i:x-api-key|authorization)[\"']?\s{0,3}[:=]\s{0,3}[\"']?(?:Bearer\s{1,3})?"
    r"|\bBearer\s{1,3})[^\s\"',;}&]{6,400}"
)
_TOKEN_KEYS = ("tokens_in", "tokens_out", "tokens")


def register_secret(value: str | None) -> None:
    """Any later log line or redacted text containing `value` has it replaced by [redacted]."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact_text(text: str) -> str:
    """`text` without any registered secret or anything shaped like an API key."""
    for secret in sorted(_secrets, key=len, reverse=True):  # a longer one may hold a shorter
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _ANTHROPIC_KEY.sub(REDACTED, text)
    return _CARRIED_KEY.sub(lambda m: m.group(1) + REDACTED, text)


def redact_value(value: Any) -> Any:
    """`value` with every string in it (dict values, list and tuple items) redacted."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_value(v) for v in value)
    return value


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if _SECRET_KEY.search(key) and key not in _TOKEN_KEYS:
            event[key] = REDACTED
        else:
            event[key] = redact_value(event[key])
    return event


_configured = False


def configure_logging(
    logs_dir: Any | None,
    *,
    level: str = "info",
    max_bytes: int = 5_000_000,
    backups: int = 5,
    console: bool | None = None,
) -> None:
    """Configure once per process; `logs_dir=None` logs to stderr only (tests, --help)."""
    global _configured  # noqa: PLW0603 - one process-wide logging set-up
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(getattr(logging, level.upper(), logging.INFO))

    if logs_dir is not None:
        ensure_private_dir(logs_dir)
        path = logs_dir / LOG_FILE
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        path.chmod(0o600)
        file_handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=shared,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    redact,  # again: a traceback's text may quote the key
                    structlog.processors.JSONRenderer(sort_keys=True),
                ],
            )
        )
        root.addHandler(file_handler)

    if console is None:
        console = sys.stderr.isatty()
    if console:
        console_handler = logging.StreamHandler(sys.stderr)
        console_handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=shared,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    redact,
                    structlog.dev.ConsoleRenderer(colors=False),
                ],
            )
        )
        root.addHandler(console_handler)
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    for noisy in ("httpx", "httpcore", "urllib3", "filelock", "faiss", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    _configured = True


def is_configured() -> bool:
    return _configured
