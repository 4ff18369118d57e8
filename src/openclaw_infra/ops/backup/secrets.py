"""Secrets in snapshots: left out, or sealed to an age recipient (docs/backup.md "Secrets").

What counts as a secret:
- in `config.env`, the value of every `SecretStr` setting (found from `Settings.model_fields`,
  so a new secret setting is covered without a change here) and of any name that looks like
  one (`…KEY`, `…TOKEN`, `…SECRET`, `…PASSWORD`), whether infra knows it or not; a name
  ending in `_FILE`, `_PATH` or `_DIR` holds a path, not a secret, and is kept;
- files in the data dir: the feedback HMAC key and whatever a secret-named path setting (the
  restic password file) points at.

A snapshot's `config.env` keeps every other line, and each secret line stays, commented,
with a marker saying it was left out, so the file still shows what to re-enter. With
`backup_age_recipient` set, the original `config.env` and the secret files also go into the
snapshot as one member, `data/secrets.age`: a plain tar encrypted with age, which opens
without infra (`age -d -i KEY secrets.age | tar -x`). `pyrage` is imported only then.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv.parser import parse_stream
from pydantic import AliasChoices, SecretBytes, SecretStr

from openclaw_infra.core.config import Settings, env_name
from openclaw_infra.core.errors import ConfigError, DataError, NoInputError
from openclaw_infra.core.layout import CONFIG_FILE

CONFIG_ARCNAME = f"data/{CONFIG_FILE}"
SECRETS_ARCNAME = "data/secrets.age"
MARKER = "<left out of the backup: re-enter after restore>"
COMMENTED_MARKER = "<commented-out value left out of the backup>"
RECIPIENT_SETTING = env_name("backup_age_recipient")
IDENTITY_SETTING = env_name("backup_age_identity_file")
SECRET_FILE_MAX_BYTES = 1 << 20

_SECRET_WORD = re.compile(
    r"(?:^|_)[A-Z0-9]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)(?:_|$)"
)
_PATH_SUFFIXES = ("_FILE", "_PATH", "_DIR")
_LEFT_OUT = re.compile(r"^# (?P<name>[A-Za-z_][A-Za-z0-9_.]*)=" + re.escape(MARKER) + r"$", re.M)
_COMMENTED = re.compile(r"^(?P<head>\s*#\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_.]*)\s*=)")


def _is_secret_type(annotation: Any) -> bool:
    kinds = (SecretStr, SecretBytes)
    return annotation in kinds or any(a in kinds for a in typing.get_args(annotation))


def secret_setting_names() -> frozenset[str]:
    """The env names (upper case) of every secret setting, aliases included."""
    names: set[str] = set()
    for name, info in Settings.model_fields.items():
        if _is_secret_type(info.annotation):
            names.add(env_name(name))
            if isinstance(info.validation_alias, AliasChoices):
                names.update(c for c in info.validation_alias.choices if isinstance(c, str))
    return frozenset(n.upper() for n in names)


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    if upper in secret_setting_names():
        return True
    return bool(_SECRET_WORD.search(upper)) and not upper.endswith(_PATH_SUFFIXES)


@dataclass(frozen=True)
class Redacted:
    text: str
    names: list[str]  # the settings whose values were removed, in file order


def redact_env(text: str) -> Redacted:
    """`config.env` without secret values, parsed as pydantic-settings reads it (python-dotenv),
    so a quoted multi-line value is removed whole."""
    out: list[str] = []
    names: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        lead = original[: len(original) - len(original.lstrip())]
        if binding.error or (binding.key is not None and binding.value is None):
            # unreadable, or a name without `=`: it sets nothing, but may be a pasted key
            out.append(f"{lead}# <a line that sets no value was left out of the backup>\n")
        elif binding.key is None:
            out.append(_redact_comment(original))
        elif is_secret_name(binding.key):
            names.append(binding.key)
            out.append(f"{lead}# {binding.key}={MARKER}\n")
        else:
            out.append(original)
    return Redacted("".join(out), names)


def _redact_comment(original: str) -> str:
    """A commented-out assignment of a secret (an old key) loses its value too."""
    lines = original.splitlines(keepends=True)
    for i, line in enumerate(lines):
        match = _COMMENTED.match(line)
        if match and is_secret_name(match["name"]) and not _LEFT_OUT.match(line.rstrip("\n")):
            lines[i] = f"{match['head']}{COMMENTED_MARKER}\n"
    return "".join(lines)


def fill_left_out(snapshot_text: str, live_text: str) -> tuple[str, list[str], list[str]]:
    """Put this machine's current values back into a snapshot's `config.env` (restore in
    place: the snapshot must not wipe a key it never held). Returns the text, the names
    filled from the live file, and the names still to re-enter."""
    live: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(live_text)):
        if binding.key and binding.value is not None and not binding.error:
            live[binding.key.upper()] = binding.original.string.strip("\n")
    kept: list[str] = []
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        found = live.get(match["name"].upper())
        if found is None:
            missing.append(match["name"])
            return match[0]
        kept.append(match["name"])
        return found

    return _LEFT_OUT.sub(fill, snapshot_text), kept, missing


def left_out_names(snapshot_text: str) -> list[str]:
    return [m["name"] for m in _LEFT_OUT.finditer(snapshot_text)]


def secret_files(settings: Settings) -> list[tuple[str, Path]]:
    """(archive path, live path) of the secret files in the data dir that exist now."""
    candidates = [settings.feedback_key_path]
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, Path) and _SECRET_WORD.search(name.upper()):
            candidates.append(value)
    data = settings.data.expanduser().absolute()
    found: dict[str, Path] = {}
    for candidate in candidates:
        path = candidate.expanduser().absolute()
        if path.is_relative_to(data) and path.is_file() and not path.is_symlink():
            found.setdefault(f"data/{path.relative_to(data).as_posix()}", path)
    return sorted(found.items())


def _pyrage(setting: str) -> Any:
    try:
        import pyrage
    except ImportError as exc:
        raise ConfigError(
            f"{setting} is set but pyrage, which age encryption needs, is not installed",
            hint="pip install 'openclaw-infra[age]', or unset the setting",
        ) from exc
    return pyrage


def recipients(settings: Settings) -> list[Any]:
    """The age recipients secrets are sealed to; [] when none is configured."""
    items = [r for r in re.split(r"[\s,]+", settings.backup_age_recipient.strip()) if r]
    if not items:
        return []
    pyrage = _pyrage(RECIPIENT_SETTING)
    out = []
    for item in items:
        try:
            out.append(pyrage.x25519.Recipient.from_str(item))
        except pyrage.RecipientError as exc:
            raise ConfigError(
                f"{RECIPIENT_SETTING}: {item!r} is not an age public key ({exc})",
                hint="an age recipient starts with age1 (`age-keygen -y KEYFILE` prints it)",
            ) from None
    return out


def load_identities(path: Path) -> list[Any]:
    """The age identities in an identity file (`age-keygen` output); never echoes a key."""
    pyrage = _pyrage(IDENTITY_SETTING)
    path = path.expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not text"
        raise NoInputError(f"cannot read the age identity file {path}: {why}") from None
    keys = [s for s in (line.strip() for line in text.splitlines()) if s.startswith("AGE-SECRET")]
    if not keys:
        raise ConfigError(f"{path}: no AGE-SECRET-KEY- line; not an age identity file")
    try:
        return [pyrage.x25519.Identity.from_str(k) for k in keys]
    except pyrage.IdentityError:
        raise ConfigError(f"{path}: an AGE-SECRET-KEY- line is not a valid age identity") from None


def _tar_info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


def seal(members: list[tuple[str, bytes, float]], to: list[Any]) -> bytes:
    """A tar of (archive path, bytes, mtime), encrypted to the recipients `to`."""
    pyrage = _pyrage(RECIPIENT_SETTING)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mtime in members:
            tar.addfile(_tar_info(name, len(data), mtime), io.BytesIO(data))
    return bytes(pyrage.encrypt(buf.getvalue(), to))


def unseal(blob: bytes, identities: list[Any], label: str) -> dict[str, tuple[bytes, float]]:
    """The members of a sealed tar by archive path; only plain files under `data/`."""
    pyrage = _pyrage(IDENTITY_SETTING)
    try:
        plain = bytes(pyrage.decrypt(blob, identities))
    except pyrage.DecryptError as exc:
        raise ConfigError(
            f"{label}: {SECRETS_ARCNAME} does not decrypt with the age identity given ({exc})",
            hint="use the identity whose public key the snapshot lists in its manifest",
        ) from None
    out: dict[str, tuple[bytes, float]] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
            for info in tar:
                parts = info.name.split("/")
                unsafe = any(p in ("", ".", "..") for p in parts) or len(parts) < 2
                if not info.isfile() or parts[0] != "data" or unsafe or info.name in out:
                    raise DataError(f"{label}: {SECRETS_ARCNAME} holds {info.name!r}")
                handle = tar.extractfile(info)
                assert handle is not None  # a regular file always has a stream
                out[info.name] = (handle.read(), float(info.mtime))
    except tarfile.TarError as exc:
        raise DataError(f"{label}: {SECRETS_ARCNAME} is not a readable tar: {exc}") from exc
    return out


@dataclass
class Protected:
    """What `stage` decided for one snapshot: files to archive in place of the live ones,
    live files to keep out, and the manifest's `secrets` section."""

    config: Path | None = None  # the redacted config.env, when it differs from the live one
    sealed: Path | None = None  # data/secrets.age
    exclude: set[Path] = field(default_factory=set)
    section: dict[str, Any] = field(default_factory=dict)


def _write_private(path: Path, data: bytes, mtime: float | None = None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def stage(settings: Settings, staging: Callable[[], Path]) -> Protected:
    """Write the redacted `config.env` (and `secrets.age`) into the private dir `staging()`
    (called only when there is something to write)."""
    to = recipients(settings)  # a bad recipient fails the run before anything is written
    files = secret_files(settings)
    result = Protected(exclude={path for _, path in files})
    config = settings.config_file
    sealed: list[tuple[str, bytes, float]] = []
    names: list[str] = []
    if config.is_file() and not config.is_symlink():
        raw = config.read_bytes()
        mtime = config.stat().st_mtime
        redacted = redact_env(raw.decode("utf-8", errors="surrogateescape"))
        names = redacted.names
        text = redacted.text.encode("utf-8", errors="surrogateescape")
        if text != raw:
            result.config = staging() / CONFIG_FILE
            _write_private(result.config, text, mtime)
            sealed.append((CONFIG_ARCNAME, raw, mtime))
    for arcname, path in files:
        if path.stat().st_size > SECRET_FILE_MAX_BYTES:
            raise DataError(f"{path}: a secret file over 1 MiB; not a key, refusing to back it up")
        sealed.append((arcname, path.read_bytes(), path.stat().st_mtime))
    result.section = {
        "policy": "age" if to else "left-out",
        "settings": names,
        "files": [arcname for arcname, _ in files],
        "recipients": [str(r) for r in to] if to else [],
    }
    if to and sealed:
        result.sealed = staging() / "secrets.age"
        _write_private(result.sealed, seal(sealed, to))
        result.section["member"] = SECRETS_ARCNAME
    return result
