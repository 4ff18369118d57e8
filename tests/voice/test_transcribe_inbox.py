"""The inbox job: which files become notes, which wait, which are skipped or quarantined.

The model is replaced at its seam (the `Backend` protocol) by `FakeWhisper`; everything
else is real: files, PyAV probing and decoding, the SQLite ledger, notes, the index.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from openclaw_infra.core.checks import OK, WARNING, HealthContext, open_readonly
from openclaw_infra.core.db import connect
from openclaw_infra.core.fsio import sha256_file
from openclaw_infra.voice.checks import check_voice_inbox, check_voice_quarantine
from openclaw_infra.voice.inbox import InboxStats, run_inbox
from openclaw_infra.voice.transcript import Decoded, Segment

AUDIO = Path(__file__).resolve().parents[1] / "data" / "audio"
ARRIVED = 1_790_000_000  # 2026-09-21 14:13:20 UTC, a fixed arrival time for stable names


class FakeWhisper:
    """A Backend that says the same words for any speech it is given, and counts calls."""

    name = "fake-whisper"
    model = "fake"
    load_s = 0.0

    def __init__(self, text: str = "Water the tomatoes on the back porch.") -> None:
        self.text = text
        self.calls = 0

    def transcribe(self, samples: Any, *, beam_size: int) -> Decoded:
        self.calls += 1
        return Decoded([Segment(0.0, samples.size / 16000, self.text)], "en", 0.99)


@pytest.fixture
def home(oc_home: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OPENCLAW_INFRA_TEST_EMBEDDER", "1")
    (oc_home.state / "media" / "inbound").mkdir(parents=True)
    return oc_home


def settings(home: Any, **overrides: Any) -> Any:
    values = {"voice_settle_s": 0, "embedding_model": "test-hash-embedder", **overrides}
    return home.settings(**values)


def put(directory: Path, source: str, name: str | None = None) -> Path:
    target = directory / (name or Path(source).name)
    shutil.copyfile(AUDIO / source, target)
    os.utime(target, (ARRIVED, ARRIVED))
    return target


def run(s: Any, backend: FakeWhisper | None = None) -> InboxStats:
    conn = connect(s.db_path)
    try:
        return run_inbox(s, conn, backend=backend or FakeWhisper())
    finally:
        conn.close()


def ledger(s: Any) -> list[dict[str, Any]]:
    conn = connect(s.db_path)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM voice_files ORDER BY id")]
    finally:
        conn.close()


def frontmatter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    meta: dict[str, Any] = yaml.safe_load(text.split("---\n")[1])
    return meta


def notes(s: Any) -> dict[str, bytes]:
    folder = s.memory_dir / "voice"
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.md"))} if folder.exists() else {}


def health(s: Any, now: float | None = None) -> dict[str, Any]:
    conn = open_readonly(s)
    ctx = HealthContext(s, conn, now=now or time.time())
    checks = [*check_voice_inbox(ctx), *check_voice_quarantine(ctx)]
    if conn is not None:
        conn.close()
    return {c.name: c for c in checks}


def test_new_voice_notes_become_memory_notes_and_stay_in_place(home: Any) -> None:
    """Each audio file in OpenClaw's inbox becomes memory/voice/<time>-<hash8>.md with the
    frontmatter the issue lists; the audio stays where OpenClaw put it; other media and
    partial downloads are not touched."""
    s = settings(home)
    inbound = s.state_dir / "media" / "inbound"
    a = put(inbound, "synthetic/s05.ogg", "0f1e-voice.ogg")
    put(inbound, "real/librivox-sas-0930.wav")
    (inbound / "photo.jpg").write_bytes(b"\xff\xd8not really a jpeg")
    (inbound / "upload.ogg.part").write_bytes(b"partial")
    fake = FakeWhisper()
    stats = run(s, fake)
    assert (stats.transcribed, stats.quarantined, fake.calls) == (2, 0, 2)
    sha = sha256_file(a)
    expected = sorted(
        f"2026-09-21-141320-{h[:8]}.md"
        for h in (sha, sha256_file(inbound / "librivox-sas-0930.wav"))
    )
    assert sorted(notes(s)) == expected
    note = s.memory_dir / "voice" / f"2026-09-21-141320-{sha[:8]}.md"
    meta = frontmatter(note)
    assert meta == {
        "type": "voice",
        "source": str(a),
        "sha256": sha,
        "recorded": "2026-09-21T14:13:20+00:00",
        "duration_s": pytest.approx(5.3, abs=0.02),
        "backend": "fake-whisper",
        "model": "fake",
        "beam_size": s.whisper_beam_size,
        "vad": True,
        "language": "en",
        "language_probability": 0.99,
        "no_speech": False,
        "realtime_factor": meta["realtime_factor"],
        "loops_removed": 0,
    }
    body = note.read_text()
    assert "\n\nWater the tomatoes on the back porch.\n" in body
    assert "](../../../media/inbound/0f1e-voice.ogg)" in body
    assert sorted(p.name for p in inbound.iterdir()) == [
        "0f1e-voice.ogg",
        "librivox-sas-0930.wav",
        "photo.jpg",
        "upload.ogg.part",
    ]
    assert {r["status"] for r in ledger(s)} == {"transcribed"}


def test_a_rerun_changes_nothing(home: Any) -> None:
    """Idempotent: a second run transcribes nothing, writes nothing, records nothing new."""
    s = settings(home)
    put(s.state_dir / "media" / "inbound", "synthetic/s05.ogg")
    run(s)
    before, rows = notes(s), ledger(s)
    mtimes = {p: p.stat().st_mtime_ns for p in (s.memory_dir / "voice").iterdir()}
    fake = FakeWhisper()
    stats = run(s, fake)
    assert (fake.calls, stats.transcribed, stats.seen) == (0, 0, 1)
    assert notes(s) == before
    assert ledger(s) == rows
    assert {p: p.stat().st_mtime_ns for p in (s.memory_dir / "voice").iterdir()} == mtimes


def test_same_content_under_another_name_is_transcribed_once(home: Any) -> None:
    """A SHA-256 already transcribed is recorded as a duplicate pointing at the first note."""
    s = settings(home)
    inbound = s.state_dir / "media" / "inbound"
    put(inbound, "synthetic/s05.ogg", "a.ogg")
    put(inbound, "synthetic/s05.ogg", "b.ogg")
    fake = FakeWhisper()
    stats = run(s, fake)
    assert (fake.calls, stats.transcribed, stats.duplicates) == (1, 1, 1)
    first, second = ledger(s)
    assert second["status"] == "duplicate"
    assert second["output"] == first["output"]
    assert second["reason"] == f"same content as {inbound / 'a.ogg'}"
    assert len(notes(s)) == 1


def test_bad_files_are_quarantined_with_a_reason_and_silence_is_no_speech(home: Any) -> None:
    """Zero-byte, truncated and non-audio files move to the private quarantine dir with a
    reason file; all-zero audio gives a note flagged no_speech with no invented text and
    never reaches the model."""
    s = settings(home)
    inbound = s.state_dir / "media" / "inbound"
    for name in (
        "empty.ogg",
        "truncated.ogg",
        "not-audio.mp3",
        "silence-3s.wav",
        "silence-10min-8k.flac",
    ):
        put(inbound, f"bad/{name}")
    fake = FakeWhisper()
    stats = run(s, fake)
    assert (stats.quarantined, stats.no_speech, stats.transcribed, fake.calls) == (3, 2, 0, 0)
    qdir = s.data / "quarantine" / "voice"
    reasons = {p.name: p.read_text() for p in qdir.glob("*.reason.txt")}
    why = {
        "empty.ogg": "empty file (0 bytes)",
        "truncated.ogg": "truncated or empty audio (End of file)",
        "not-audio.mp3": "not an audio file (Invalid data found when processing input)",
    }
    assert reasons == {f"{n}.reason.txt": f"{inbound / n}: {r}\n" for n, r in why.items()}
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in qdir.iterdir())
    assert sorted(p.name for p in inbound.iterdir()) == ["silence-10min-8k.flac", "silence-3s.wav"]
    silent = [p for p in (s.memory_dir / "voice").iterdir()]
    assert len(silent) == 2
    for note in silent:
        assert frontmatter(note)["no_speech"] is True
        assert note.read_text().rstrip().endswith("_No speech detected._")
    statuses = sorted(r["status"] for r in ledger(s))
    assert statuses == ["no_speech", "no_speech", "quarantined", "quarantined", "quarantined"]
    checks = health(s)
    assert checks["voice:quarantine"].state == WARNING
    assert checks["voice:quarantine"].perf["voice_quarantined"] == 3
    assert checks["voice:inbox"].state == OK


def test_limits_quarantine_with_the_setting_named(home: Any) -> None:
    """Files over the size or duration limit are quarantined, the reason naming the setting."""
    s = settings(home, voice_max_bytes=20_000, voice_max_duration_s=60)
    inbound = s.state_dir / "media" / "inbound"
    put(inbound, "synthetic/s10.ogg")
    put(inbound, "bad/silence-10min-8k.flac")
    stats = run(s)
    assert stats.quarantined == 2
    reasons = " ".join(r["reason"] for r in ledger(s))
    assert "OPENCLAW_INFRA_VOICE_MAX_BYTES" in reasons
    assert "OPENCLAW_INFRA_VOICE_MAX_DURATION_S" in reasons


def test_a_file_still_being_written_is_left_for_the_next_run(home: Any) -> None:
    """A file changed less than voice_settle_s ago is neither read nor recorded; health
    shows it as backlog, and once settled the next run takes it."""
    s = settings(home, voice_settle_s=3600)
    inbound = s.state_dir / "media" / "inbound"
    put(inbound, "synthetic/s05.ogg")
    stats = run(s)
    assert (stats.pending, stats.transcribed) == (1, 0)
    assert ledger(s) == [] and notes(s) == {}
    backlog = health(s)["voice:inbox"]
    assert backlog.perf["voice_backlog"] == 1
    assert backlog.state == OK  # seconds old
    assert health(s, now=time.time() + 2 * 3600)["voice:inbox"].state == WARNING
    stats = run(settings(home, voice_settle_s=0))
    assert stats.transcribed == 1
    assert health(s)["voice:inbox"].perf["voice_backlog"] == 0


def test_symlinks_outside_the_inbox_are_refused_and_fifos_skipped(
    home: Any, tmp_path: Path
) -> None:
    """A link named like audio but leading outside the allowed roots is never read (refused
    once, in the ledger and health); a link to a file inside another inbox root is fine; a
    FIFO named .ogg is refused instead of blocking the job."""
    drop = tmp_path / "drop"
    drop.mkdir()
    s = settings(home, voice_drop_dir=drop)
    inbound = s.state_dir / "media" / "inbound"
    secret = tmp_path / "secret.wav"
    shutil.copyfile(AUDIO / "real/librivox-sas-0930.wav", secret)
    (inbound / "escape.ogg").symlink_to(secret)
    (inbound / "dangling.ogg").symlink_to(tmp_path / "nowhere.ogg")
    put(inbound, "synthetic/s10.ogg")
    (drop / "alias.ogg").symlink_to(inbound / "s10.ogg")
    os.mkfifo(inbound / "pipe.ogg")
    fake = FakeWhisper()
    stats = run(s, fake)
    assert (stats.refused, stats.transcribed, stats.duplicates, fake.calls) == (3, 1, 1, 1)
    refused = {Path(r["path"]).name: r["reason"] for r in ledger(s) if r["status"] == "refused"}
    assert refused == {
        "escape.ogg": f"symlink to {secret}, outside the inbox directories",
        "dangling.ogg": f"symlink to {tmp_path / 'nowhere.ogg'}, outside the inbox directories",
        "pipe.ogg": "not a regular file",
    }
    assert secret.exists()
    run(s)
    assert sum(r["status"] == "refused" for r in ledger(s)) == 3  # recorded once
    check = health(s)["voice:inbox"]
    assert check.state == WARNING and check.perf["voice_refused"] == 3


def test_drop_folder_files_move_to_processed(home: Any, tmp_path: Path) -> None:
    """Drop-folder audio moves to processed/ once recorded, the note linking to where it now
    is; bad drop-folder files go to quarantine."""
    drop = tmp_path / "drop"
    drop.mkdir()
    s = settings(home, voice_drop_dir=drop)
    put(drop, "synthetic/s05.ogg", "memo 1.ogg")
    put(drop, "bad/not-audio.mp3")
    stats = run(s)
    assert (stats.transcribed, stats.quarantined) == (1, 1)
    assert sorted(p.name for p in drop.iterdir()) == ["processed"]
    assert [p.name for p in (drop / "processed").iterdir()] == ["memo 1.ogg"]
    (note,) = (s.memory_dir / "voice").iterdir()
    assert frontmatter(note)["source"] == str(drop / "processed" / "memo 1.ogg")
    assert "](../../../../../drop/processed/memo%201.ogg)" in note.read_text()
    link = note.read_text().split("](", 1)[1].split(")", 1)[0].replace("%20", " ")
    assert (note.parent / link).resolve() == (drop / "processed" / "memo 1.ogg").resolve()


def test_a_crash_before_the_move_is_finished_on_the_next_run(home: Any, tmp_path: Path) -> None:
    """If the job died after recording a drop file but before moving it, the next run moves
    it without transcribing it again."""
    drop = tmp_path / "drop"
    drop.mkdir()
    s = settings(home, voice_drop_dir=drop)
    put(drop, "synthetic/s05.ogg")
    run(s)
    os.replace(drop / "processed" / "s05.ogg", drop / "s05.ogg")  # as if never moved
    fake = FakeWhisper()
    stats = run(s, fake)
    assert (fake.calls, stats.seen) == (0, 1)
    assert not (drop / "s05.ogg").exists()
    assert (drop / "processed" / "s05.ogg").exists()


def test_the_model_is_not_loaded_when_no_file_needs_it(home: Any) -> None:
    """Bad and silent files never load a model: with an unloadable model configured the run
    still succeeds (a load would fail with exit 69)."""
    s = settings(home, whisper_backend="faster", whisper_model=str(home.root / "no-model"))
    inbound = s.state_dir / "media" / "inbound"
    put(inbound, "bad/empty.ogg")
    put(inbound, "bad/not-audio.mp3")
    conn = connect(s.db_path)
    try:
        stats = run_inbox(s, conn)
    finally:
        conn.close()
    assert stats.quarantined == 2


def test_markdown_in_a_transcript_stays_plain_text(home: Any) -> None:
    """A transcript is data: text that Markdown would read as a heading is escaped, and a
    YAML-looking transcript cannot reach the frontmatter."""
    s = settings(home)
    put(s.state_dir / "media" / "inbound", "synthetic/s05.ogg")
    run(s, FakeWhisper("# no_speech: true\n---\ntype: evil"))
    (note,) = (s.memory_dir / "voice").iterdir()
    assert frontmatter(note)["no_speech"] is False
    assert frontmatter(note)["type"] == "voice"
    assert note.read_text().rstrip().endswith("\\# no_speech: true --- type: evil")
