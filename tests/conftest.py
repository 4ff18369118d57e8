"""Shared fixtures: an isolated OpenClaw home per test and a real `infra` subprocess runner."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"

# Hypothesis profiles: `ci` (the default) keeps Hypothesis's example count and drops the
# per-example deadline, which a loaded CI machine trips at random; `long` is the benchmark
# run (benchmarks/fuzz.py). The fuzz suite sizes its properties as shares of the profile.
hypothesis_settings.register_profile("ci", max_examples=100, deadline=None)
hypothesis_settings.register_profile("long", max_examples=2000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@dataclass
class OpenClawHome:
    """A temporary ~/.openclaw with infra's data dir inside it."""

    root: Path
    state: Path
    workspace: Path
    data: Path
    env: dict[str, str]

    def run(
        self,
        *args: str,
        input: str | None = None,
        timeout: float = 300,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `infra` CLI in a subprocess against this home."""
        env = {**self.env, **(extra_env or {})}
        return subprocess.run(
            [sys.executable, "-m", "openclaw_infra", *args],
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
            env=env,
            cwd=self.root,
            check=False,
        )

    def settings(self, **overrides: object):  # type: ignore[no-untyped-def]
        from openclaw_infra.core.config import Settings

        return Settings(
            state_dir=self.state,
            workspace_dir=self.workspace,
            data_dir=self.data,
            timezone=overrides.pop("timezone", "UTC"),
            **overrides,
        )


# One folder for the embedding model's ONNX export, shared by every test home and live
# harness (`EXPORT_ENV`, passed on by name): the export takes about 20 s, so it is made once
# per session instead of once per home. tests/memory/test_onnx_runtime.py tests the export
# itself in private folders.
EXPORT_ENV = "INFRA_TEST_EXPORT_DIR"


def pytest_configure(config: pytest.Config) -> None:
    if EXPORT_ENV not in os.environ:
        folder = tempfile.mkdtemp(prefix="infra-onnx-export-")
        os.environ[EXPORT_ENV] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["OPENCLAW_INFRA_EMBEDDING_EXPORT_DIR"] = os.environ[EXPORT_ENV]


@pytest.fixture
def oc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenClawHome]:
    shared_export = os.environ[EXPORT_ENV]
    state = tmp_path / "home" / ".openclaw"
    workspace = state / "workspace"
    data = state / "infra"
    (workspace / "memory").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCLAW_", "ANTHROPIC_"))}
    env.update(
        {
            "HOME": str(tmp_path / "home"),
            "OPENCLAW_STATE_DIR": str(state),
            "OPENCLAW_INFRA_TIMEZONE": "UTC",
            "OPENCLAW_INFRA_EMBEDDING_EXPORT_DIR": shared_export,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for key in list(os.environ):
        if key.startswith(("OPENCLAW_", "ANTHROPIC_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    monkeypatch.setenv("OPENCLAW_INFRA_TIMEZONE", "UTC")
    monkeypatch.setenv("OPENCLAW_INFRA_EMBEDDING_EXPORT_DIR", shared_export)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield OpenClawHome(tmp_path, state, workspace, data, env)
