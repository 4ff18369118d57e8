"""Cheap to start: `infra --help` and `infra health` import no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import OpenClawHome

HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "faiss",
    "whisper",
    "faster_whisper",
    "ctranslate2",
    "anthropic",
    "numpy",
    "av",
)

PROBE = """
import json, sys
from openclaw_infra.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["health"],
        ["health", "--json"],
        ["--version"],
        ["backup", "--help"],
        ["recall", "--help"],
    ],
)
def test_no_heavy_imports(oc_home: OpenClawHome, args: list[str]) -> None:
    """The start-up path of these commands never loads a heavy module."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=oc_home.env,
        check=False,
    )
    loaded = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_building_the_cli_loads_no_settings_or_store() -> None:
    """`infra --help` builds every command, recall's from its option table: that must not
    import pydantic or the memory store (it once cost 160 ms of a 250 ms --help)."""
    probe = "import sys, openclaw_infra.cli; print(' '.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(proc.stdout.split())
    assert not {"pydantic", "pydantic_settings", "openclaw_infra.memory.store"} & loaded
