"""The per-install key that signs feedback buttons: `<data>/feedback.key`, 0600.

Created on first use under a lock, so two processes that both find no key agree on one (the
second reads what the first wrote). Rotation keeps the previous key: a button it signed
still verifies until its own signed expiry, which is at most MAX_TTL_DAYS after the
rotation; `revoke` drops it at once (a leaked key). A lost key only invalidates the buttons
not yet answered: the next use creates a new one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import ConfigError, os_error_to_infra
from openclaw_infra.core.fsio import FILE_MODE, atomic_write_text
from openclaw_infra.core.locking import wait_lock

FORMAT = "infra-feedback-key/1"
KEY_BYTES = 32
MAX_TTL_DAYS = 90  # the longest a button may live (`infra feedback token --ttl-days`)
LOCK = "feedback-key"
LOCK_WAIT_S = 30.0


@dataclass(frozen=True)
class Keys:
    current: bytes
    created_at: float
    previous: bytes | None = None
    retired_at: float | None = None  # when `previous` stopped signing

    def verifying(self) -> tuple[bytes, ...]:
        """Every key a button may have been signed with, newest first."""
        return (self.current,) if self.previous is None else (self.current, self.previous)


def _encode(keys: Keys) -> str:
    previous = None
    if keys.previous is not None:
        previous = {"key": keys.previous.hex(), "retired_at": keys.retired_at}
    data = {
        "format": FORMAT,
        "current": {"key": keys.current.hex(), "created_at": keys.created_at},
        "previous": previous,
    }
    return json.dumps(data, indent=2) + "\n"


def _hex_key(value: object, path: Path) -> bytes:
    try:
        key = bytes.fromhex(str(value))
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"{path}: not a feedback key file (a key is not {KEY_BYTES} bytes of hex)",
            hint="`infra feedback rotate-key --revoke` writes a new one; unanswered buttons "
            "then stop working",
        )
    return key


def _decode(text: str, path: Path) -> Keys:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(
            f"{path}: not a feedback key file (expected {FORMAT} JSON)",
            hint="`infra feedback rotate-key --revoke` writes a new one; unanswered buttons "
            "then stop working",
        )
    current = data.get("current") or {}
    previous = data.get("previous")
    keys = Keys(
        current=_hex_key(current.get("key"), path),
        created_at=float(current.get("created_at") or 0.0),
    )
    if isinstance(previous, dict):
        keys = Keys(
            keys.current,
            keys.created_at,
            _hex_key(previous.get("key"), path),
            float(previous.get("retired_at") or 0.0),
        )
    return keys


def _read(path: Path) -> Keys | None:
    try:
        text = path.read_text(encoding="utf-8")
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)  # a copy restored by hand: a secret stays private
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise os_error_to_infra(exc, path) from exc
    return _decode(text, path)


def _fresh(now: float) -> Keys:
    return Keys(secrets.token_bytes(KEY_BYTES), now)


def load_keys(settings: Settings, *, now: float | None = None) -> Keys:
    """The install's keys, creating the file on first use (under the lock, so concurrent
    first uses all end with the same key)."""
    path = settings.feedback_key_path
    keys = _read(path)
    if keys is not None:
        return keys
    with wait_lock(settings.locks_dir, LOCK, LOCK_WAIT_S):
        keys = _read(path)  # another process may have created it while we waited
        if keys is None:
            keys = _fresh(time.time() if now is None else now)
            atomic_write_text(path, _encode(keys))
    return keys


def rotate(settings: Settings, *, revoke: bool = False, now: float | None = None) -> Keys:
    """A new signing key. The old one keeps verifying the buttons it signed (each expires
    within MAX_TTL_DAYS) unless `revoke`. One previous key is kept: rotating twice within
    that time ends the older key's buttons. With `revoke` an unreadable file is replaced."""
    moment = time.time() if now is None else now
    path = settings.feedback_key_path
    with wait_lock(settings.locks_dir, LOCK, LOCK_WAIT_S):
        try:
            old = _read(path)
        except ConfigError:
            if not revoke:
                raise
            old = None
        fresh = _fresh(moment)
        if old is not None and not revoke:
            fresh = Keys(fresh.current, moment, old.current, moment)
        atomic_write_text(path, _encode(fresh))
    return fresh


def fingerprint(key: bytes) -> str:
    """A short public name for a key (in `rotate-key`'s answer): never the key itself."""
    return hashlib.sha256(b"infra-feedback-key-id\n" + key).hexdigest()[:12]
