"""Signed button values: `ifb1.<v>.<target>.<expiry>.<mac>`, at most 64 bytes.

Telegram limits a button's callback data to 64 bytes, and a pressed button no plugin claims
reaches the agent as the text `callback_data: <value>`, so the value must prove by itself
that infra made it, for which verdict on which target, and until when:

- `ifb1`: the format's version;
- `<v>`: the verdict, `g`ood, `b`ad or `f`ix;
- `<target>`: the target itself when it fits (`A-1b2c3d4e`), else `_` and a 96-bit digest
  that `feedback_targets` maps back to the full target (targets.py);
- `<expiry>`: minutes since the epoch, base 36;
- `<mac>`: HMAC-SHA256 over the rest with the install's key (keys.py), truncated to 96 bits
  (16 base64url characters). Against online guessing, with a per-day rate limit and every
  failure counted in health, 96 bits is far beyond reach; the full 256 would not fit.

Only `[A-Za-z0-9._-]` appear, so the value survives a chat message and a shell word.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import time
from dataclasses import dataclass

from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect, transaction
from openclaw_infra.core.errors import UsageError
from openclaw_infra.feedback import targets
from openclaw_infra.feedback.keys import MAX_TTL_DAYS, Keys, load_keys
from openclaw_infra.feedback.records import (
    EXPIRED,
    FORGED,
    MALFORMED,
    VERDICTS,
    RefusedError,
    check_verdict,
)

VERSION = "ifb1"
MAX_BYTES = 64
MAC_BYTES = 12
MAC_CHARS = 16
EXPIRY_CHARS = 6  # base-36 minutes: six digits last until the year 6000
# version, verdict, expiry, mac and the four dots around them
TARGET_ROOM = MAX_BYTES - (len(VERSION) + 1 + EXPIRY_CHARS + MAC_CHARS + 4)
CODES = {"good": "g", "bad": "b", "fix": "f"}
_VERDICT_OF = {code: verdict for verdict, code in CODES.items()}
PREFIX = "callback_data:"
DAY_S = 86400.0
# what a value may look like at all; anything else is malformed before any MAC is computed
_VALUE = re.compile(
    rf"{VERSION}\.([gbf])\."
    rf"([A-Za-z0-9][A-Za-z0-9_-]{{0,{TARGET_ROOM - 1}}}|_[A-Za-z0-9_-]{{16}})\."
    rf"([0-9a-z]{{1,{EXPIRY_CHARS}}})\.([A-Za-z0-9_-]{{{MAC_CHARS}}})"
)
MAX_RAW_CHARS = 256

assert set(CODES) == set(VERDICTS)


@dataclass(frozen=True)
class Button:
    """A verified button value: what it says and its id in the log."""

    value: str
    verdict: str
    field: str  # the target, or its digest (targets.resolve_field)
    expires_at: float
    token_id: str
    old_key: bool  # signed by the key before the last rotation


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, b"infra-feedback-button\n" + body.encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:MAC_BYTES]).decode("ascii")


def token_id(value: str) -> str:
    """The id a button's record carries: a hash of the value, not the value itself."""
    return hashlib.sha256(value.encode("ascii")).hexdigest()[:16]


def sign(keys: Keys, field: str, verdict: str, expires_at: float) -> str:
    """The value for an already checked target field (`targets.button_field`)."""
    minutes = math.ceil(expires_at / 60)
    body = f"{VERSION}.{CODES[verdict]}.{field}.{_b36(minutes)}"
    value = f"{body}.{_mac(keys.current, body)}"
    if len(value.encode("ascii")) > MAX_BYTES:  # a bug, not an input: TARGET_ROOM is exact
        raise AssertionError(f"feedback button value of {len(value)} bytes")
    return value


def issue(
    settings: Settings,
    target: str,
    verdict: str,
    *,
    now: float | None = None,
    ttl_s: float | None = None,
) -> str:
    """A signed button value (<= 64 bytes) for `verdict` on `target`, valid for `ttl_s`
    (default: the feedback_token_ttl_days setting). A target longer than a button holds is
    recorded with its digest in infra.sqlite first. Usage error (2) for a bad target,
    verdict or lifetime."""
    target = targets.check_target(target)
    verdict = check_verdict(verdict)
    ttl = settings.feedback_token_ttl_days * DAY_S if ttl_s is None else float(ttl_s)
    if not 0 < ttl <= MAX_TTL_DAYS * DAY_S:
        raise UsageError(f"a button lives from a minute to {MAX_TTL_DAYS} days, not {ttl:.0f}s")
    moment = time.time() if now is None else now
    keys = load_keys(settings, now=moment)
    if targets.needs_table(target, TARGET_ROOM):
        conn = connect(settings.db_path)
        try:
            with transaction(conn):
                field = targets.button_field(conn, target, TARGET_ROOM)
        finally:
            conn.close()
    else:
        field = targets.button_field(None, target, TARGET_ROOM)
    return sign(keys, field, verdict, moment + ttl)


def clean(raw: str) -> str:
    """The value as it arrived, without the `callback_data: ` the agent sees it with and
    without surrounding quotes or spaces."""
    value = raw.strip()
    for _ in range(2):  # `'callback_data: X'` as well as `callback_data: 'X'`
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"`":
            value = value[1:-1].strip()
        if value.lower().startswith(PREFIX):
            value = value[len(PREFIX) :].strip()
    return value


def verify(keys: Keys, raw: str) -> Button:
    """The button `raw` carries, if this install signed it (with the current or the
    previous key); RefusedError (65) when malformed or forged. Expiry is the caller's
    check (`Button.expires_at`): a replay of a recorded button is answered as such."""
    value = clean(raw[:MAX_RAW_CHARS])
    if len(raw) > MAX_RAW_CHARS or len(value.encode("utf-8")) > MAX_BYTES:
        raise RefusedError(MALFORMED, f"feedback value refused: longer than {MAX_BYTES} bytes")
    match = _VALUE.fullmatch(value)
    if match is None:
        versioned = value.startswith("ifb") and not value.startswith(VERSION + ".")
        what = "unsupported version" if versioned else "not a feedback button value"
        raise RefusedError(MALFORMED, f"feedback value refused: {what}")
    code, field, expiry, mac = match.groups()
    body = value[: -(MAC_CHARS + 1)]
    for index, key in enumerate(keys.verifying()):
        if hmac.compare_digest(_mac(key, body), mac):
            return Button(
                value,
                _VERDICT_OF[code],
                field,
                int(expiry, 36) * 60.0,
                token_id(value),
                old_key=index > 0,
            )
    raise RefusedError(
        FORGED,
        "feedback value refused: its signature does not match this install's key",
        hint="a button from another install, or from before the key was revoked",
    )


def expired_error(button: Button) -> RefusedError:
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(button.expires_at))
    return RefusedError(
        EXPIRED,
        f"feedback value refused: the button expired at {when} UTC",
        hint="say the feedback in words instead",
    )
