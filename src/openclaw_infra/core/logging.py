"""structlog set-up: JSON lines to `<data>/logs/infra.log` (rotated), readable on a TTY.

Every module logs through `structlog.get_logger("infra.<area>")` (job, reader, memory, …).

Stdlib loggers are routed through the same processors, and a redaction processor keeps
secrets out: values under secret-looking keys and any occurrence of the configured API key.
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


def register_secret(value: str | None) -> None:
    """Any later log line containing `value` has it replaced by [redacted]."""
    if value and len(value) >= 6:
        _secrets.add(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
    return value


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if _SECRET_KEY.search(key) and key not in ("tokens_in", "tokens_out", "tokens"):
            event[key] = REDACTED
        else:
            event[key] = _scrub(event[key])
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
