"""Probing and decoding audio: every bad kind of file fails before a model is involved."""

from __future__ import annotations

from pathlib import Path

import pytest

from openclaw_infra.core.errors import DataError, NoInputError
from openclaw_infra.voice.audio import SAMPLE_RATE, decode, is_digital_silence, probe

AUDIO = Path(__file__).resolve().parents[1] / "data" / "audio"
LIMITS = {"max_bytes": 20_000_000, "max_duration_s": 1800.0}


@pytest.mark.parametrize(
    ("name", "container", "codec", "rate", "duration"),
    [
        ("synthetic/s05.ogg", "ogg", "opus", 48000, 5.3),
        ("synthetic/s05.m4a", "mov,mp4,m4a,3gp,3g2,mj2", "aac", 16000, 5.29),
        ("synthetic/s05.mp3", "mp3", "mp3float", 16000, 5.29),
        ("real/librivox-sas-0870.wav", "wav", "pcm_s16le", 16000, 7.1),
        ("bad/silence-10min-8k.flac", "flac", "flac", 8000, 600.0),
    ],
)
def test_probe_reads_container_codec_and_duration(
    name: str, container: str, codec: str, rate: int, duration: float
) -> None:
    """The probe names the container and codec and reads the duration from the header."""
    info = probe(AUDIO / name, **LIMITS)
    assert (info.container, info.codec, info.sample_rate, info.channels) == (
        container,
        codec,
        rate,
        1,
    )
    assert info.duration_s == pytest.approx(duration, abs=0.02)
    assert info.size_bytes == (AUDIO / name).stat().st_size


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("bad/empty.ogg", DataError, "empty file (0 bytes)"),
        ("bad/truncated.ogg", DataError, "truncated or empty audio (End of file)"),
        ("bad/not-audio.mp3", DataError, "not an audio file (Invalid data found"),
        ("bad/missing.ogg", NoInputError, "no such file"),
        ("bad", NoInputError, "not a regular file"),
    ],
)
def test_bad_files_fail_the_probe_with_a_clear_reason(
    name: str, error: type[Exception], words: str
) -> None:
    """Zero-byte, truncated, non-audio and missing input each get their own message, naming
    the file (exit 65 for bad data, 66 for no input)."""
    with pytest.raises(error) as caught:
        probe(AUDIO / name, **LIMITS)
    assert words in str(caught.value)
    assert str(AUDIO / name) in str(caught.value)


def test_size_and_duration_limits_are_enforced_before_decoding() -> None:
    """Files over the byte or duration limit are refused, naming the setting to change."""
    with pytest.raises(DataError, match="OPENCLAW_INFRA_VOICE_MAX_BYTES"):
        probe(AUDIO / "synthetic/s05.ogg", max_bytes=1000, max_duration_s=1800)
    with pytest.raises(DataError, match="600 s of audio is over the limit of 60 s"):
        probe(AUDIO / "bad/silence-10min-8k.flac", max_bytes=10**8, max_duration_s=60)


def test_a_file_without_an_audio_stream_is_refused(tmp_path: Path) -> None:
    """A picture named .ogg opens in FFmpeg but has no audio stream: bad data, not a crash."""
    import av
    import numpy as np

    path = tmp_path / "picture.ogg"
    with av.open(str(tmp_path / "p.png"), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width = stream.height = 8
        stream.pix_fmt = "rgb24"
        frame = av.VideoFrame.from_ndarray(np.zeros((8, 8, 3), dtype=np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            out.mux(packet)
    (tmp_path / "p.png").rename(path)
    with pytest.raises(DataError, match="no audio stream"):
        probe(path, **LIMITS)


def test_decode_gives_16k_mono_float32_of_the_right_length() -> None:
    """Every format decodes to the one shape both backends take, stereo or 48 kHz included."""
    for name, seconds in [("synthetic/s05.ogg", 5.3), ("real/librivox-sas-0930.wav", 3.29)]:
        samples = decode(AUDIO / name, max_duration_s=1800)
        assert samples.dtype.name == "float32"
        assert samples.ndim == 1
        assert samples.size / SAMPLE_RATE == pytest.approx(seconds, abs=0.05)
        assert 0.05 < float(abs(samples).max()) <= 1.0
        assert not is_digital_silence(samples)


def test_digital_silence_is_recognised() -> None:
    """All-zero recordings are silence whatever their length or rate."""
    for name in ("bad/silence-3s.wav", "bad/silence-10min-8k.flac"):
        assert is_digital_silence(decode(AUDIO / name, max_duration_s=1800))


def test_audio_cut_off_midway_keeps_what_was_recorded(tmp_path: Path) -> None:
    """An OGG that breaks off part-way decodes up to the break instead of failing."""
    path = tmp_path / "half.ogg"
    path.write_bytes((AUDIO / "synthetic/s10.ogg").read_bytes()[:12_000])
    samples = decode(path, max_duration_s=1800)
    assert 1.0 < samples.size / SAMPLE_RATE < 8.0


def test_decode_enforces_the_duration_limit_when_the_header_lies(tmp_path: Path) -> None:
    """The decoded length is checked too, so a header claiming less cannot sneak past."""
    with pytest.raises(DataError, match="over the limit of 2 s"):
        decode(AUDIO / "synthetic/s05.ogg", max_duration_s=2)


def test_speech_cut_by_a_vad_window_edge_is_one_region() -> None:
    """The VAD runs in 30 s windows to bound its memory; speech that straddles a window
    edge still comes back as one region, and silence before it is not speech."""
    pytest.importorskip("faster_whisper")
    import numpy as np

    from openclaw_infra.voice.vad import WINDOW_S, speech_regions

    speech = decode(AUDIO / "synthetic/s05.ogg", max_duration_s=1800)
    lead = (WINDOW_S - 3) * SAMPLE_RATE
    samples = np.concatenate([np.zeros(lead, dtype=np.float32), speech])
    regions = speech_regions(samples)
    assert regions is not None and len(regions) == 1
    start, end = regions[0]
    assert lead - 0.6 * SAMPLE_RATE < start < lead + 1.0 * SAMPLE_RATE
    assert end > WINDOW_S * SAMPLE_RATE + 1.5 * SAMPLE_RATE


def test_speech_times_map_back_to_the_recording() -> None:
    """Segments decoded from the glued speech get their times in the original recording;
    an end exactly at a seam stays in the earlier region."""
    import numpy as np

    from openclaw_infra.voice.speech import SpeechMap
    from openclaw_infra.voice.vad import join_close

    assert join_close([(0, 10), (40, 50), (12, 20)], gap=5) == [(0, 20), (40, 50)]
    speech = SpeechMap([(16_000, 32_000), (160_000, 192_000)])  # 1-2 s and 10-12 s
    glued = speech.collect(np.arange(200_000, dtype=np.float32))
    assert glued.size == 48_000
    assert glued[0] == 16_000 and glued[16_000] == 160_000
    assert speech.original_time(0.0) == 1.0
    assert speech.original_time(0.5) == 1.5
    assert speech.original_time(1.0) == 10.0
    assert speech.original_time(1.0, is_end=True) == 2.0
    assert speech.original_time(2.5) == 11.5
    assert speech.original_time(9.0, is_end=True) == 12.0


def test_long_speech_goes_to_the_model_in_bounded_pieces() -> None:
    """Speech is handed over in pieces of at most PIECE_S (backends hold features for all
    they are given, about 0.75 MB per second): short regions are grouped, and a long one is
    cut at its quietest moment near the limit, not mid-word."""
    import numpy as np

    from openclaw_infra.voice.speech import PIECE_S, pieces

    rate = SAMPLE_RATE
    loud = np.full(200 * rate, 0.5, dtype=np.float32)
    pause = PIECE_S * rate - 4 * rate  # a quiet 200 ms, 4 s before the limit
    loud[pause : pause + rate // 5] = 0.0
    split = pieces(loud, [(0, 200 * rate)])
    assert all(sum(e - s for s, e in p.regions) <= PIECE_S * rate for p in split)
    first_cut = split[0].regions[-1][1]
    assert pause <= first_cut <= pause + rate // 5
    assert [r for p in split for r in p.regions][-1][1] == 200 * rate
    short = [(0, 10 * rate), (20 * rate, 40 * rate), (50 * rate, 90 * rate)]
    assert [p.regions for p in pieces(loud, short)] == [short[:2], short[2:]]
    assert pieces(loud, []) == []
