"""What every command module shares: the Settings the CLI callback built, and option types.

Command modules import this, never `cli.py` (which imports them): the face has no circle.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer

from openclaw_infra.core.errors import InfraError


class Mode(StrEnum):
    """Summariser modes (OPENCLAW_INFRA_SUMMARIZER), as `--summarizer` takes them."""

    auto = "auto"
    anthropic = "anthropic"
    openai_compatible = "openai-compatible"
    extractive = "extractive"


def settings_of(ctx: typer.Context, **overrides: Any) -> Any:
    """The Settings built in the CLI callback (commands call this, never load_settings), with
    the command's options on top (None = not given), validated like every other source; a
    configuration error kept there is raised here, so it exits 78 from the command."""
    from openclaw_infra.core.config import with_values

    obj = ctx.find_root().obj
    if isinstance(obj, InfraError):
        raise obj
    return with_values(obj, **overrides)
