"""Settings of recall's machinery: the embedding runtime, the vector index's form at scale,
and the private evaluation set that guards an index rebuild. A part of `Settings`
(core/config.py), which inherits these fields; kept apart only to keep each file small."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class RecallSettings(BaseModel):
    """Fields of `Settings` (env names `OPENCLAW_INFRA_<FIELD>`)."""

    # --- embedding runtime -----------------------------------------------------------------
    embedding_runtime: Literal["auto", "onnx", "torch"] = Field(
        default="auto",
        description="How texts are embedded: 'onnx' runs the model exported once to ONNX "
        "(onnxruntime, no torch import: a cold recall in about a second); 'torch' runs "
        "sentence-transformers; 'auto' uses ONNX and falls back to torch, with a logged "
        "reason, where the export or onnxruntime is unavailable.",
    )
    embedding_int8: bool = Field(
        default=False,
        description="Embed with the ONNX model quantised to 8 bits: indexing at about 2.5x "
        "the chunks/s of torch (fp32 ONNX: about 1.2x), recall@10 on the LoCoMo dev set 0.808 "
        "against 0.814, but multi-hop 0.342 against 0.378 (benchmarks/embed_speed.py "
        "--conversations 4 --only index), so it is off by default. Its vectors differ "
        "(cosine to torch's down to 0.97; each text is embedded alone, so its vector never "
        "depends on another's), so the index records "
        "another model identity ('<model>+int8'): switching needs `infra index --rebuild`, "
        "and there is no torch fallback.",
    )
    embedding_threads: int = Field(
        default=0,
        ge=0,
        le=256,
        description="CPU threads one ONNX embedding call uses (0 = one per physical core).",
    )
    embedding_export_dir: Path | None = Field(
        default=None,
        description="Folder of the one-time ONNX export of the embedding model (default "
        "`<data dir>/models`; about 90 MB, never backed up: it is made again from the packaged "
        "weights). Homes on one machine may share one; the export is checked against its "
        "source weights before use.",
    )

    # --- vector index at scale -------------------------------------------------------------
    vector_index_budget_mb: float = Field(
        default=256.0,
        ge=0,
        description="Memory the exact (flat) vector index may take, in MiB (4 bytes a "
        "dimension per chunk: 256 MiB is about 170,000 chunks of 384 dimensions). A bigger "
        "store gets an approximate IVF index with 8-bit vectors, a quarter of the size, whose "
        "hits are rescored exactly (benchmarks/million.py measures the recall it costs).",
    )
    vector_index_nprobe: int = Field(
        default=32,
        ge=1,
        le=65536,
        description="Lists of the approximate vector index one query scans: more finds more "
        "of the exact neighbours and costs more time (ignored while the index is flat).",
    )

    # --- ranking and the private evaluation set --------------------------------------------
    eval_max_queries: int = Field(
        default=200,
        ge=1,
        le=5000,
        description="Most queries in the private evaluation set `infra eval` builds from the "
        "digests and hourly summaries (picked by a hash, so the same memory gives the same set).",
    )
    eval_rebuild_margin: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="`infra index --rebuild` keeps the old index when recall@10 on the "
        "evaluation set would drop by more than this (0.02 = two points); --force overrides.",
    )
