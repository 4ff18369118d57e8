"""Settings salvaged from a configuration that does not validate, so health can still alert.

A mistyped value (`OPENCLAW_INFRA_TIMEZONE=Mars/Base`) stops every job with exit 78; the
scheduled health run must still say so. It takes what can be read, field by field: the
environment first, then the lines of `config.env` that parse; a value that does not validate
is dropped (the next source's, else the default, takes its place). The data dir, the alert
settings and the ledger that remembers what was sent all come from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from openclaw_infra.core.config import Settings, env_name
from openclaw_infra.core.layout import DataPaths, default_data_dir


class _GivenOnly(Settings):
    """Settings validated from the values given, never from the environment or a file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def _env_names(field: str) -> list[str]:
    """Every variable that sets `field` (upper case: pydantic-settings ignores case)."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(c).upper() for c in alias.choices if isinstance(c, str) and c != field]
    return [env_name(field).upper()]


def _file_values() -> dict[str, str]:
    """The lines of config.env that parse (python-dotenv skips the others)."""
    from dotenv import dotenv_values

    path = DataPaths(default_data_dir()).config_env
    try:
        if not path.is_file():
            return {}
        parsed = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError):
        return {}
    return {k.upper(): v for k, v in parsed.items() if v is not None}


def candidates(environ: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """For each field, the values given for it: the environment's before config.env's."""
    env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}
    from_file = _file_values()
    found: dict[str, list[str]] = {}
    for field in Settings.model_fields:
        for source in (env, from_file):
            found.setdefault(field, []).extend(
                source[name] for name in _env_names(field) if name in source
            )
    return {field: values for field, values in found.items() if values}


def salvage_settings(environ: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
    """Settings from every value that validates, and the variables whose value was dropped."""
    given = candidates(environ)
    dropped: list[str] = []
    for _ in range(sum(len(v) for v in given.values()) + 1):
        values: dict[str, Any] = {field: options[0] for field, options in given.items()}
        try:
            salvaged = _GivenOnly(**values)
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]} & set(given)
            if not bad:  # a failure no single value explains: keep only the defaults
                dropped.extend(env_name(f) for f in given)
                given = {}
                continue
            for field in sorted(bad):
                dropped.append(env_name(field))
                given[field] = given[field][1:]
                if not given[field]:
                    del given[field]
            continue
        # every field given explicitly: the environment is not read again
        return Settings.model_validate(salvaged.model_dump()), sorted(set(dropped))
    return Settings.model_validate(_GivenOnly().model_dump()), sorted(set(dropped))


def alert_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Salvaged Settings with the timezone resolved (OpenClaw's, else the host's, when the
    configured one was dropped): what a health run records and alerts with."""
    from openclaw_infra.openclaw.timezone import with_user_timezone

    return with_user_timezone(salvage_settings(environ)[0])
