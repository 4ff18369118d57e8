"""What keeps `infra recall`'s fast path cheap: it imports only what it needs to talk to the
service, and its stdlib copy of the data-dir rules agrees with `core.layout`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw_infra.core import layout
from openclaw_infra.serve import client


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OPENCLAW_STATE_DIR": "/srv/oc"},
        {"OPENCLAW_STATE_DIR": "~/oc"},
        {"OPENCLAW_PROFILE": "work"},
        {"OPENCLAW_INFRA_DATA_DIR": "~/infra-data", "OPENCLAW_STATE_DIR": "/srv/oc"},
        {"OPENCLAW_STATE_DIR": "", "OPENCLAW_PROFILE": ""},
    ],
)
def test_data_dir_matches_layout(env: dict[str, str]) -> None:
    """The fast path finds the socket and config.env where `core.layout` puts them."""
    data = Path(client.data_dir(env))
    assert data == layout.default_data_dir(env)
    paths = layout.DataPaths(data)
    assert data / client.SOCKET_FILE == paths.socket
    assert data / client.CONFIG_FILE == paths.config_env
    assert client.PREFIX == layout.PREFIX


def test_fast_path_imports_only_what_it_needs(tmp_path: Path) -> None:
    """With no service up, answer_argv's imports stay minimal: no typing, pathlib,
    dataclasses, and no dotenv parser for a config.env that does not set the timeout."""
    data = tmp_path / "infra"
    data.mkdir()
    (data / "config.env").write_text("OPENCLAW_INFRA_TIMEZONE=UTC\n")
    probe = """
import json, sys
from openclaw_infra.serve.client import answer_argv
print(answer_argv(["anything", "--json"]).value)
print(json.dumps(sorted(sys.modules)))
"""
    env = {"OPENCLAW_INFRA_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    outcome, modules = out.stdout.splitlines()
    assert outcome == "unavailable"  # no socket: the full CLI searches in-process
    loaded = set(json.loads(modules))
    assert not loaded & {"typing", "pathlib", "dataclasses", "dotenv", "openclaw_infra.core"}


def test_config_env_that_sets_the_timeout_is_still_read(tmp_path: Path) -> None:
    """Skipping the parser never skips a config.env that sets the timeout (any case)."""
    (tmp_path / "config.env").write_text("export openclaw_infra_RECALL_service_timeout_s=3\n")
    assert client._timeout({}, tmp_path) == 3.0
    (tmp_path / "config.env").write_text("OPENCLAW_INFRA_TIMEZONE=UTC\n")
    assert client._timeout({}, tmp_path) == client.DEFAULT_TIMEOUT_S
