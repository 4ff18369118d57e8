"""`infra transcribe` as OpenClaw and cron see it: exit codes, stdout, stderr, start-up cost.

None of these needs a model: bad and silent input are answered before one would load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

AUDIO = Path(__file__).resolve().parents[1] / "data" / "audio"
HEAVY = {
    "torch",
    "whisper",
    "faster_whisper",
    "ctranslate2",
    "numpy",
    "av",
    "onnxruntime",
    "sentence_transformers",
    "transformers",
}
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
    ("name", "code", "message"),
    [
        ("bad/empty.ogg", 65, "empty file (0 bytes)"),
        ("bad/truncated.ogg", 65, "truncated or empty audio (End of file)"),
        ("bad/not-audio.mp3", 65, "not an audio file (Invalid data found when processing input)"),
        ("bad/no-such-file.ogg", 66, "no such file"),
    ],
)
def test_bad_files_exit_with_one_clear_line(
    oc_home: Any, name: str, code: int, message: str
) -> None:
    """FILE mode: bad audio exits 65 and a missing file 66, with one stderr line naming the
    file and the problem, and nothing on stdout (OpenClaw then knows there is no text)."""
    proc = oc_home.run("transcribe", str(AUDIO / name))
    assert proc.returncode == code
    assert proc.stdout == ""
    assert proc.stderr == f"infra: error: {AUDIO / name}: {message}\n"


def test_silence_prints_nothing_and_exits_0(oc_home: Any) -> None:
    """Ten minutes of silence: exit 0, empty stdout (no invented text), a note on stderr."""
    path = AUDIO / "bad/silence-10min-8k.flac"
    proc = oc_home.run("transcribe", str(path))
    assert (proc.returncode, proc.stdout) == (0, "")
    assert proc.stderr == f"infra: {path}: no speech detected\n"
    data = json.loads(oc_home.run("transcribe", "--json", str(path)).stdout)
    assert (data["text"], data["no_speech"], data["segments"]) == ("", True, [])
    assert data["duration_s"] == 600.0
    assert data["backend"] == "none"


def test_several_files_report_each_failure_and_exit_with_the_first_code(oc_home: Any) -> None:
    """Every file is tried; each failure gets its own line; the exit code is the first
    failure's, with a count."""
    files = [AUDIO / "bad/silence-3s.wav", AUDIO / "bad/not-audio.mp3", AUDIO / "missing.ogg"]
    proc = oc_home.run("transcribe", *map(str, files))
    assert proc.returncode == 65
    lines = proc.stderr.splitlines()
    assert lines[0] == f"infra: {files[0]}: no speech detected"
    assert lines[1].startswith(f"infra: error: {files[1]}: not an audio file")
    assert lines[2] == f"infra: error: {files[2]}: no such file"
    assert lines[3].startswith("infra: error: 2 of 3 file(s) could not be transcribed; first: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give audio FILE… or --inbox (not both)"),
        (("--inbox", "x.ogg"), "give audio FILE… or --inbox (not both)"),
        (("--backend", "cloud", "x.ogg"), "--backend 'cloud' is not one of auto, faster, openai"),
    ],
)
def test_usage_errors_exit_2(oc_home: Any, args: tuple[str, ...], message: str) -> None:
    """Neither or both of FILE and --inbox, or an unknown backend, is a usage error."""
    proc = oc_home.run("transcribe", *args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_a_missing_model_path_exits_69(oc_home: Any) -> None:
    """A model setting that is a path to nothing is 'unavailable' (69), named clearly."""
    proc = oc_home.run(
        "transcribe",
        str(AUDIO / "synthetic/s05.ogg"),
        extra_env={"OPENCLAW_INFRA_WHISPER_MODEL": "/nowhere/tiny.en"},
    )
    assert proc.returncode == 69
    assert "Whisper model /nowhere/tiny.en: no such file or directory" in proc.stderr


@pytest.mark.parametrize("args", [["transcribe", "--help"], ["health", "--json"]])
def test_help_and_health_load_no_audio_library(oc_home: Any, args: list[str]) -> None:
    """`infra transcribe --help` and `infra health` (with its voice checks scanning a
    non-empty inbox) import no Whisper, PyAV, numpy or torch."""
    inbound = oc_home.state / "media" / "inbound"
    inbound.mkdir(parents=True)
    (inbound / "a.ogg").write_bytes((AUDIO / "synthetic/s05.ogg").read_bytes())
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=oc_home.env,
        check=False,
    )
    loaded = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert not loaded & HEAVY, sorted(loaded & HEAVY)
    if args[0] == "health":
        report = json.loads(proc.stdout)
        checks = {c["name"]: c for c in report["checks"]}
        assert checks["voice:inbox"]["perf"]["voice_backlog"] == 1
        assert checks["voice:quarantine"]["state"] == "OK"


def test_the_inbox_job_is_scheduled_every_15_minutes() -> None:
    """The job registry (source of the crontab and of health's freshness check) runs
    `infra transcribe --inbox` every 15 minutes."""
    from openclaw_infra.core.jobs import job

    spec = job("transcribe")
    assert (spec.schedule, spec.args, spec.period_s) == (
        "*/15 * * * *",
        ("transcribe", "--inbox"),
        900,
    )
