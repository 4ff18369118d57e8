"""Exporting a sentence-transformers model to ONNX, once, so that queries never import torch.

The exported graph is the whole sentence pipeline (transformer, mean pooling over the
attention mask, L2 normalisation), so the runtime feeds token ids and reads unit vectors.
The legacy TorchScript exporter traces the eager attention (the fused BERT attention of
onnxruntime's optimizer needs that pattern); the optional int8 step is onnxruntime's dynamic
quantisation with one scale per output channel (per tensor lost too much: cosine to torch
0.89 against 0.97). This module imports torch, transformers, onnx and sentence-transformers,
so it runs as a process of its own (`python -m openclaw_infra.memory.model_export`, started by
`onnx_runtime.Export` under its lock): the process that needed the export, the recall service
above all, never holds torch (a service that exported in-process kept ~1 GB resident).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

OPSET = 17
MISSING = 3  # the exit status when torch, transformers or onnx is not installed
# What the export is checked on against sentence-transformers: short, long (past the
# 256-token cut), punctuation, non-ASCII, and the chunk shape recall stores.
PROBES = (
    "what did we decide about the backup schedule?",
    "user: can you remind me when the dentist appointment is?\nassistant: Tuesday at 9:30.",
    "[2026-01-18 09:12 UTC]\nuser: Caroline went to the LGBTQ support group yesterday.",
    "Übermorgen fliege ich nach Zürich — 東京 next month, ¿y tú?",
    "",
    " ".join(f"word{i} and some more filler text about gardening" for i in range(120)),
)


def export(source: Path, target: Path, *, int8: bool) -> np.ndarray:
    """Write the ONNX model of `source` to `target` (a temp name the caller moves into place)
    and return sentence-transformers' vectors of `PROBES`, the reference to check it by."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # stderr may be the agent's JSON (see embedder.py)
    with warnings.catch_warnings():
        # the tracer's notes on shapes it fixes; the probes below check the result instead
        warnings.simplefilter("ignore")
        return _export(source, target, int8=int8)


def _export(source: Path, target: Path, *, int8: bool) -> np.ndarray:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(
        str(source), device="cpu", model_kwargs={"attn_implementation": "eager"}
    )
    reference = model.encode(
        list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    transformer: torch.nn.Module = model[0].auto_model  # type: ignore[assignment]
    transformer.eval()

    class Sentence(torch.nn.Module):
        """Transformer, mean pooling over real tokens, L2 normalisation: as the model card."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dynamic = {n: {0: "batch", 1: "tokens"} for n in names}
    dynamic["sentence_embedding"] = {0: "batch"}
    ids = torch.ones((2, 16), dtype=torch.long)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        with torch.no_grad():
            torch.onnx.export(
                Sentence().eval(),
                (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                str(raw),
                input_names=names,
                output_names=["sentence_embedding"],
                dynamic_axes=dynamic,
                opset_version=OPSET,
                dynamo=False,
            )
        done = _optimise(raw, Path(tmp) / "fused.onnx", source)
        if int8:
            done = _quantise(done, Path(tmp) / "int8.onnx")
        shutil.copyfile(done, target)
    return reference


def _optimise(raw: Path, out: Path, source: Path) -> Path:
    """Fuse attention, GELU and layer norms (BERT-type models only; others stay as traced)."""
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert":
        return raw
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(
        str(raw),
        model_type="bert",
        num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]),
        opt_level=1,
    )
    fused.save_model_to_file(str(out))
    return out


def _quantise(model: Path, out: Path) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # its advice to pre-process, on the root logger
    try:
        quantize_dynamic(
            str(model),
            str(out),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # the fused ops come from onnxruntime's own domain, which shape inference cannot type
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m openclaw_infra.memory.model_export SOURCE TARGET PROBES [--int8]`: writes the
    ONNX model to TARGET and the reference vectors of `PROBES` to PROBES (.npy, no pickle);
    exit 0, MISSING, or 1 with the reason as stderr's last line."""
    parser = argparse.ArgumentParser(prog="model_export")
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("probes", type=Path)
    parser.add_argument("--int8", action="store_true")
    args = parser.parse_args(argv)
    try:
        import numpy as np

        reference = export(args.source, args.target, int8=args.int8)
        with args.probes.open("wb") as fh:
            np.save(fh, reference, allow_pickle=False)
    except ImportError as exc:
        print(f"{exc}", file=sys.stderr)
        return MISSING
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
