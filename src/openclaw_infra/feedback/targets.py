"""What feedback points at: a digest item id or a citation, checked once at the edge.

Targets are what a person can open: a digest item id as the digest files write it
(`A-1b2c3d4e`, `P-…-2`, `D-…`) or a citation (`<session>#<entry>` from the hourly notes,
`memory/daily/2026-03-01.md#L12` from recall). A button carries the target itself when it
fits the 64-byte value; a longer one (a session UUID and an entry UUID are 73 characters)
travels as a short digest that `feedback_targets` maps back to its full form.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
import time
import unicodedata
from pathlib import Path

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import DataError, UsageError

MAX_TARGET_CHARS = 200
ITEM_ID = re.compile(r"[A-Z]{1,3}-[0-9A-Za-z]{4,32}(?:-\d{1,4})?")
# a target written into a button as itself: starts with a letter or digit, no separator
LITERAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
DIGEST_MARK = "_"
DIGEST_BYTES = 12  # 96 bits: 16 base64url characters
_NOT_IN_TARGET = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cs"})
# how far back `describe` looks for the line that wrote an item id
DESCRIBE_FILES = 60
DESCRIBE_MAX_BYTES = 2 << 20


def check_target(value: str, *, option: str = "--target") -> str:
    """`value` when it is an item id or a citation; UsageError (2) naming it otherwise."""
    target = value.strip()
    hint = "a digest item id such as A-1b2c3d4e, or a citation such as <session>#<entry>"
    if not target:
        raise UsageError(f"{option}: empty target", hint=hint)
    if len(target) > MAX_TARGET_CHARS:
        raise UsageError(f"{option}: target longer than {MAX_TARGET_CHARS} characters", hint=hint)
    if any(unicodedata.category(c) in _NOT_IN_TARGET for c in target):
        raise UsageError(f"{option} {target!r}: spaces or control characters", hint=hint)
    head, sep, tail = target.partition("#")
    if ITEM_ID.fullmatch(target) or (sep and head and tail):
        return target
    raise UsageError(f"{option} {target!r}: not an item id or a citation", hint=hint)


def is_item_id(target: str) -> bool:
    return ITEM_ID.fullmatch(target) is not None


def digest(target: str) -> str:
    """The stable short form of a target that does not fit a button."""
    raw = hashlib.sha256(b"infra-feedback-target\n" + target.encode("utf-8")).digest()
    return DIGEST_MARK + base64.urlsafe_b64encode(raw[:DIGEST_BYTES]).decode("ascii").rstrip("=")


def button_field(conn: sqlite3.Connection | None, target: str, room: int) -> str:
    """What a button carries for `target` in `room` characters: the target itself, or its
    digest, whose full form is recorded first (so the button can be resolved)."""
    if len(target) <= room and LITERAL.fullmatch(target):
        return target
    short = digest(target)
    if conn is None:
        raise RuntimeError("a digest target needs the database")
    conn.execute(
        "INSERT OR IGNORE INTO feedback_targets(digest, target, created_at) VALUES (?,?,?)",
        (short, target, time.time()),
    )
    row = conn.execute("SELECT target FROM feedback_targets WHERE digest=?", (short,)).fetchone()
    if row is None or row[0] != target:  # 96 bits: a collision means a damaged table
        raise DataError(f"feedback target digest {short} already names another target")
    return short


def needs_table(target: str, room: int) -> bool:
    return not (len(target) <= room and LITERAL.fullmatch(target))


def resolve_field(conn: sqlite3.Connection, field: str) -> str | None:
    """The full target a button's field names; None for a digest this install never issued
    (the database was restored from before the button was made)."""
    if not field.startswith(DIGEST_MARK):
        return field
    row = conn.execute("SELECT target FROM feedback_targets WHERE digest=?", (field,)).fetchone()
    return None if row is None else str(row[0])


def _item_text(line: str, target: str) -> str:
    """The words of a digest line after its `` `id` ``: up to the first ` · ` field and
    without its trailing citations."""
    rest = line.split(f"`{target}`", 1)[1].strip()
    rest = rest.split(" · ", 1)[0]
    return re.sub(r"(?:\s\[[^\]\n]{1,300}\])+\s*$", "", rest).strip()


def describe(settings: Settings, target: str) -> tuple[str | None, str | None]:
    """(what the digest said about an item id, where: `memory/daily/X.md#L<n>`) from the
    newest digest that writes it; (None, None) for a citation or an id no digest holds."""
    if not is_item_id(target):
        return None, None
    needle = f"`{target}`"
    candidates: list[Path] = []
    try:
        candidates = sorted(settings.daily_dir.glob("*.md"), reverse=True)[:DESCRIBE_FILES]
    except OSError:
        candidates = []
    candidates.append(settings.priorities_path)
    for path in candidates:
        try:
            if not path.is_file() or path.stat().st_size > DESCRIBE_MAX_BYTES:
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            if needle in line:
                rel = path.relative_to(settings.workspace).as_posix()
                return _item_text(line, target) or None, f"{rel}#L{number}"
    return None, None
