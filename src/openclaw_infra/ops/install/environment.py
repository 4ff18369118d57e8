"""The environment scheduled jobs run with: the `OPENCLAW_*` variables deploy was run with.

cron starts jobs with a bare environment, so a profile, state dir or setting given to
`./deploy.sh` in the environment must be written into the crontab block (and the
LaunchAgents), or every job would look at the default `~/.openclaw`. Secrets are never
copied (they stay in config.env, 0600); a variable equal to its default is left out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from openclaw_infra.core.config import Settings, env_name
from openclaw_infra.core.errors import UsageError

PREFIX = "OPENCLAW_"
# a variable with one of these words in its name is a secret, whoever reads it
SECRET_WORDS = frozenset({"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSPHRASE", "CREDENTIALS"})


@dataclass(frozen=True)
class JobEnvironment:
    values: dict[str, str]  # name -> value, sorted by name
    withheld: tuple[str, ...]  # secret names seen in the environment and not copied


def _fields_by_env() -> dict[str, str]:
    names: dict[str, str] = {}
    for field, info in Settings.model_fields.items():
        names[env_name(field).upper()] = field
        alias = info.validation_alias
        for choice in getattr(alias, "choices", ()):
            if isinstance(choice, str) and choice.upper().startswith(PREFIX):
                names[choice.upper()] = field
    return names


def _is_secret(name: str, field: str | None) -> bool:
    if field is not None and "SecretStr" in str(Settings.model_fields[field].annotation):
        return True
    return bool(SECRET_WORDS & set(name.upper().split("_")))


def _is_default(field: str, value: str) -> bool:
    info = Settings.model_fields[field]
    if info.default_factory is not None:
        return False
    default = info.get_default()
    if default is None:
        return value == ""
    if isinstance(default, bool):
        return value.strip().lower() == str(default).lower()
    return value.strip() == str(default)


def _is_path(field: str) -> bool:
    return "Path" in str(Settings.model_fields[field].annotation)


def job_environment(environ: Mapping[str, str] | None = None) -> JobEnvironment:
    """Every non-empty `OPENCLAW_*` variable of `environ` (default: this process's) that
    differs from its default, paths made absolute (cron starts in $HOME); secrets withheld.
    A value a crontab line cannot carry (a line break) is a UsageError naming it."""
    env = os.environ if environ is None else environ
    fields = _fields_by_env()
    values: dict[str, str] = {}
    withheld: list[str] = []
    for name in sorted(env):
        value = env[name]
        if not name.upper().startswith(PREFIX) or value == "":
            continue
        field = fields.get(name.upper())
        if _is_secret(name, field):
            withheld.append(name)
            continue
        if field is not None and _is_default(field, value):
            continue
        if "\n" in value or "\r" in value or "\0" in value:
            raise UsageError(f"{name} holds a line break: a scheduled job cannot be given it")
        if field is not None and _is_path(field):
            value = os.path.abspath(Path(value).expanduser())
        values[name] = value
    return JobEnvironment(values, tuple(withheld))


def crontab_assignment(name: str, value: str) -> str:
    """`NAME=value` as cron reads it: it trims spaces and strips one pair of matching quotes,
    so a value with spaces, quotes or `#` is quoted."""
    if value.strip() == value and not any(c in value for c in " \t\"'#"):
        return f"{name}={value}"
    if '"' not in value:
        return f'{name}="{value}"'
    if "'" not in value:
        return f"{name}='{value}'"
    raise UsageError(f"{name} holds both kinds of quote: a crontab line cannot carry it")
