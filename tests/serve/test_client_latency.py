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
    dataclasses, no socket, json, re or enum (their C halves suffice), and no dotenv parser
    for a config.env that does not set the timeout."""
    data = tmp_path / "infra"
    data.mkdir()
    (data / "config.env").write_text("OPENCLAW_INFRA_TIMEZONE=UTC\n")
    probe = """
import sys
from openclaw_infra.serve.client import answer_argv
print(answer_argv(["anything", "--json"]))
print(",".join(sorted(sys.modules)))
"""
    env = {"OPENCLAW_INFRA_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    outcome, modules = out.stdout.splitlines()
    assert outcome == "unavailable"  # no socket: the full CLI searches in-process
    loaded = set(modules.split(","))
    assert "openclaw_infra.serve.client" in loaded
    assert not loaded & {
        "typing", "pathlib", "dataclasses", "dotenv", "openclaw_infra.core",
        "socket", "json", "re", "enum", "selectors",
    }  # fmt: skip


WIRE_SAMPLES = [
    {"v": 1, "op": "recall_argv", "argv": ['où est l\'hôtel "Mouros"?\n', "--json"]},
    {"ok": True, "stdout": "line\twith\u2028tab\n", "stderr": "", "n": -3, "x": 1.5e-7},
    {"nested": [[], {}, [None, False, {"deep": ["\U0001f600", 2**40]}]]},
]


@pytest.mark.parametrize("obj", WIRE_SAMPLES)
def test_wire_codec_agrees_with_json(obj: dict[str, object]) -> None:
    """The C-half codec writes what json.dumps writes (compact) and reads back the same."""
    text = client._dumps(obj)
    assert text == json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    assert client._loads(text) == obj == client._loads(json.dumps(obj, indent=2) + "\n")


@pytest.mark.parametrize("bad", ["", "{", '{"a": 1} trailing', "garbage", "[1,]"])
def test_wire_codec_refuses_what_json_refuses(bad: str) -> None:
    with pytest.raises(ValueError):
        json.loads(bad)
    with pytest.raises(ValueError):
        client._loads(bad)


def test_wire_falls_back_to_the_json_module_without_c_halves(tmp_path: Path) -> None:
    """An interpreter without `_json` still talks to the service (the json module)."""
    probe = """
import sys
sys.modules["_json"] = None
from openclaw_infra.serve import client
assert "json" in sys.modules
print(client._dumps({"a": ["é"]}), client._loads('{"b": [1, null]}'))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '{"a":["é"]} {\'b\': [1, None]}'


def test_config_env_that_sets_the_timeout_is_still_read(tmp_path: Path) -> None:
    """Skipping the parser never skips a config.env that sets the timeout (any case)."""
    (tmp_path / "config.env").write_text("export openclaw_infra_RECALL_service_timeout_s=3\n")
    assert client._timeout({}, tmp_path) == 3.0
    (tmp_path / "config.env").write_text("OPENCLAW_INFRA_TIMEZONE=UTC\n")
    assert client._timeout({}, tmp_path) == client.DEFAULT_TIMEOUT_S
