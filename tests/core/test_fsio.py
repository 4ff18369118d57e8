"""The one atomic writer: complete old or complete new, under SIGKILL and disk full."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from openclaw_infra.core import fsio

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from openclaw_infra.core.fsio import atomic_write_bytes
    target = Path(sys.argv[1])
    size = int(sys.argv[2])
    i = 0
    print("ready", flush=True)
    while True:
        i += 1
        atomic_write_bytes(target, bytes([65 + i % 26]) * size)
""")


def _valid(data: bytes, size: int) -> bool:
    return len(data) == size and data == data[:1] * size


@pytest.mark.slow
def test_sigkill_at_random_moments_never_tears_the_file(tmp_path: Path) -> None:
    """50 writers killed with SIGKILL at random moments: the target always holds one complete
    version, and the temp files they leave are reaped by the next write."""
    target = tmp_path / "out" / "state.bin"
    size = 256 * 1024
    fsio.atomic_write_bytes(target, b"Z" * size)
    rng = random.Random(1234)
    for _ in range(50):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), str(size)], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(rng.uniform(0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _valid(target.read_bytes(), size)
    fsio.atomic_write_bytes(target, b"final")  # the next run
    leftovers = [p.name for p in target.parent.iterdir() if p.name != "state.bin"]
    assert leftovers == []
    assert target.read_bytes() == b"final"
    assert target.stat().st_mode & 0o777 == 0o600


def test_failed_write_keeps_original_and_removes_temp(tmp_path: Path) -> None:
    """An exception mid-write leaves the old content and no temp file."""
    target = tmp_path / "f.txt"
    fsio.atomic_write_text(target, "old")

    with pytest.raises(TypeError):
        fsio.atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_live_writers_temp_is_not_reaped(tmp_path: Path) -> None:
    """Only temps of dead writers are removed: a concurrent live writer keeps its file."""
    live = tmp_path / f"{fsio.TMP_PREFIX}{os.getpid()}-abc.part"
    dead = tmp_path / f"{fsio.TMP_PREFIX}999999999-abc.part"
    live.write_text("x")
    dead.write_text("x")
    assert fsio.reap_dead_temps(tmp_path) == 1
    assert live.exists() and not dead.exists()


DISK_FULL = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    from openclaw_infra.core.errors import InfraError
    from openclaw_infra.core.fsio import atomic_write_bytes
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    try:
        atomic_write_bytes(Path(sys.argv[1]), b"n" * (1024 * 1024))
    except InfraError as exc:
        sys.stderr.write(str(exc) + "\\n")
        sys.exit(exc.exit_code)
""")


def test_disk_full_is_exit_73_and_original_intact(tmp_path: Path) -> None:
    """A write that hits the file-size limit (as on a full disk) maps to exit 73, names the
    file, keeps the original and leaves no temp file."""
    target = tmp_path / "keep.md"
    fsio.atomic_write_text(target, "original")
    proc = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(target)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 73, proc.stderr
    assert "keep.md" in proc.stderr
    assert target.read_text() == "original"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.md"]


def test_private_dirs_and_parents(tmp_path: Path) -> None:
    """ensure_private_dir makes the directory and the parents it creates 0700."""
    leaf = tmp_path / "a" / "b" / "c"
    fsio.ensure_private_dir(leaf)
    for p in (tmp_path / "a", tmp_path / "a" / "b", leaf):
        assert p.stat().st_mode & 0o777 == 0o700


def test_write_if_changed_is_a_no_op_on_same_content(tmp_path: Path) -> None:
    """Reruns are byte-identical and do not touch the file."""
    target = tmp_path / "x.md"
    assert fsio.write_if_changed(target, "a")
    mtime = target.stat().st_mtime_ns
    time.sleep(0.01)
    assert not fsio.write_if_changed(target, "a")
    assert target.stat().st_mtime_ns == mtime


def test_quarantine_keeps_file_with_reason(tmp_path: Path) -> None:
    """A bad input is moved aside with a reason file, never deleted; names never collide."""
    qdir = tmp_path / "q"
    for _ in range(2):
        bad = tmp_path / "bad.ogg"
        bad.write_bytes(b"junk")
        fsio.quarantine(bad, qdir, "truncated: no audio pages")
    names = sorted(p.name for p in qdir.iterdir())
    assert names == ["bad.1.ogg", "bad.1.ogg.reason.txt", "bad.ogg", "bad.ogg.reason.txt"]
    assert (qdir / "bad.ogg.reason.txt").read_text() == "truncated: no audio pages\n"
