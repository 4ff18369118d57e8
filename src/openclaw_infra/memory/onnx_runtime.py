"""The torch-free embedding path: the model exported once to ONNX, run with onnxruntime.

Importing torch and sentence-transformers is most of a cold `infra recall` (seconds); this
path imports onnxruntime, `tokenizers` and numpy only. The export (`model_export`, which does
need torch) happens at first need under a lock, in a child process (so torch never stays
resident in the process that asked), into `<data>/models/`, beside a manifest that
ties it to the source weights: a changed model, a changed or damaged ONNX file, or another
onnxruntime re-exports instead of running stale weights. An fp32 export is used only when its
vectors match sentence-transformers' within `FP32_MIN_COS` on fixed probes, which is what
lets it share the model identity (and so the index) with the torch path; int8 vectors do not
match that closely and carry their own identity (`<model>+int8`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from openclaw_infra.core.fsio import (
    atomic_write_text,
    atomic_writer,
    ensure_private_dir,
    sha256_file,
)
from openclaw_infra.core.locking import wait_lock

if TYPE_CHECKING:
    import numpy as np

log = structlog.get_logger("infra.embed")

FORMAT = 1
FP32_MIN_COS = 0.9999  # fp32 ONNX shares the torch identity only this close (measured: 0.9999995)
INT8_MIN_COS = 0.95  # a sanity floor for int8 (measured: 0.974 at worst on LoCoMo chunks)
# texts per onnxruntime call: sorted by length, small batches waste least on padding
# (LoCoMo chunks on 2 cores, benchmarks/embed_speed.py: 8-16 best, 32 -8%, 64 -20%)
BATCH = 16
# int8 runs one text at a time: its activations are quantised with one scale per run, so in a
# batch a text's vector depended on its neighbours (cosine down to 0.987 against the same
# text alone); alone it is deterministic, and no slower (103 texts/s against 99 batched)
INT8_BATCH = 1
EXPORT_LOCK = "model-export"
EXPORT_WAIT_S = 900.0  # an export on a busy 2-core machine takes under a minute
EXPORT_TIMEOUT_S = 600.0  # the export process itself
# the files whose bytes make the model; their checksum is recorded with the export
SOURCE_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "config.json",
    "tokenizer.json",
    "sentence_bert_config.json",
    "modules.json",
    "1_Pooling/config.json",
)


class OnnxUnavailable(Exception):
    """Why the ONNX path cannot serve this model here (the caller falls back or refuses)."""


@dataclass(frozen=True)
class ModelSource:
    """A local sentence-transformers folder whose pipeline the exported graph reproduces."""

    path: Path
    max_seq_length: int

    @classmethod
    def of(cls, path: Path) -> ModelSource:
        """The source at `path`, or OnnxUnavailable naming what the export cannot reproduce."""
        try:
            modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
            kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
            pooling = json.loads((path / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
            bert = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise OnnxUnavailable(
                f"{path} is not a readable sentence-transformers folder: {exc}"
            ) from None
        if kinds != ["Transformer", "Pooling", "Normalize"]:
            raise OnnxUnavailable(f"modules {kinds} (only Transformer, Pooling, Normalize export)")
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
        if modes != ["pooling_mode_mean_tokens"]:
            raise OnnxUnavailable(f"pooling {modes} (only mean pooling exports)")
        if not (path / "tokenizer.json").is_file():
            raise OnnxUnavailable(f"{path} has no tokenizer.json")
        return cls(path, int(bert.get("max_seq_length") or 256))

    def files(self) -> list[Path]:
        return [self.path / f for f in SOURCE_FILES if (self.path / f).is_file()]

    def stamp(self) -> dict[str, list[int]]:
        """Sizes and mtimes: a cheap check that the source is unchanged since the export."""
        out = {}
        for f in self.files():
            st = f.stat()
            out[str(f.relative_to(self.path))] = [st.st_size, st.st_mtime_ns]
        return out

    def checksum(self) -> str:
        return ";".join(f"{f.relative_to(self.path)}={sha256_file(f)}" for f in self.files())


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _runtime_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


class Export:
    """One exported model file and its manifest under `<data>/models/`."""

    def __init__(
        self, models_dir: Path, locks_dir: Path, stem: str, source: ModelSource, *, int8: bool
    ) -> None:
        self.models_dir = models_dir
        self.locks_dir = locks_dir
        self.source = source
        self.int8 = int8
        self.onnx = models_dir / f"{stem}{'-int8' if int8 else ''}.onnx"
        self.batch_size = INT8_BATCH if int8 else BATCH
        self.manifest = self.onnx.with_suffix(".json")

    def current(self) -> dict[str, Any] | None:
        """The manifest when the file on disk is the export of the source as it is now."""
        try:
            man = json.loads(self.manifest.read_text(encoding="utf-8"))
            if not isinstance(man, dict) or man.get("format") != FORMAT:
                return None
            if man.get("int8") != self.int8 or man.get("onnxruntime") != _runtime_version():
                return None
            onnx_stamp = _stamp(self.onnx)
            # touched (a reinstall) but the same bytes is still the same model
            if (
                man.get("source_stamp") != self.source.stamp()
                and man.get("source_sha256") != self.source.checksum()
            ):
                return None
            if man.get("onnx_stamp") != onnx_stamp and man.get("onnx_sha256") != sha256_file(
                self.onnx
            ):
                return None
        except (OSError, ValueError):
            return None
        return man

    def ensure(self, *, force: bool = False) -> dict[str, Any]:
        """The manifest of a current export, exporting first (under the lock) if needed."""
        if not force and (man := self.current()) is not None:
            return man
        ensure_private_dir(self.models_dir)
        with wait_lock(self.locks_dir, EXPORT_LOCK, EXPORT_WAIT_S):
            if not force and (man := self.current()) is not None:
                return man  # another process exported while we waited
            return self._export()

    def _export(self) -> dict[str, Any]:
        import numpy as np

        from openclaw_infra.memory import model_export  # its constants; stdlib imports only

        log.info("embed.onnx_export", model=str(self.source.path), int8=self.int8)
        tmp = self.models_dir / f".{self.onnx.name}.{os.getpid()}.tmp"
        probes = self.models_dir / f".{self.onnx.name}.{os.getpid()}.probes.npy"
        try:
            reference = self._run_export(tmp, probes)
            try:
                with atomic_writer(self.onnx) as out, tmp.open("rb") as src:
                    while block := src.read(1 << 20):
                        out.write(block)
            except OSError as exc:
                raise OnnxUnavailable(f"the ONNX export could not be saved: {exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
            probes.unlink(missing_ok=True)
        vectors = OnnxModel(self.onnx, self.source, threads=0, batch_size=self.batch_size).encode(
            list(model_export.PROBES)
        )
        worst = float(np.min(np.sum(vectors * reference, axis=1)))
        floor = INT8_MIN_COS if self.int8 else FP32_MIN_COS
        if worst < floor:
            self.onnx.unlink(missing_ok=True)
            raise OnnxUnavailable(f"ONNX vectors differ from torch's (cosine {worst:.6f})")
        man = {
            "format": FORMAT,
            "int8": self.int8,
            "source": str(self.source.path),
            "source_stamp": self.source.stamp(),
            "source_sha256": self.source.checksum(),
            "onnx_stamp": _stamp(self.onnx),
            "onnx_sha256": sha256_file(self.onnx),
            "onnxruntime": _runtime_version(),
            "dim": int(vectors.shape[1]),
            "max_seq_length": self.source.max_seq_length,
            "min_cos_to_torch": round(worst, 7),
        }
        atomic_write_text(self.manifest, json.dumps(man, indent=1) + "\n")
        log.info(
            "embed.onnx_exported", path=str(self.onnx), min_cos_to_torch=man["min_cos_to_torch"]
        )
        return man

    def _run_export(self, tmp: Path, probes: Path) -> np.ndarray:
        """The export, in a process of its own (see `model_export`); sentence-transformers'
        vectors of its probes, which the new file is checked against."""
        import numpy as np

        from openclaw_infra.memory import model_export

        argv = [sys.executable, "-m", model_export.__name__, str(self.source.path), str(tmp)]
        argv += [str(probes), *(["--int8"] if self.int8 else [])]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise OnnxUnavailable(f"the ONNX export took over {EXPORT_TIMEOUT_S:.0f} s") from None
        except OSError as exc:
            raise OnnxUnavailable(f"the ONNX export could not start: {exc}") from None
        reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        if done.returncode == model_export.MISSING:
            raise OnnxUnavailable(f"the export needs torch and onnx ({reason})")
        if done.returncode != 0:
            raise OnnxUnavailable(f"the ONNX export failed: {reason}")
        try:
            return np.load(probes, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise OnnxUnavailable(f"the ONNX export left no reference vectors: {exc}") from None


class OnnxModel:
    """An onnxruntime session and the model's own tokenizer: texts in, unit vectors out."""

    def __init__(
        self, onnx_path: Path, source: ModelSource, *, threads: int, batch_size: int = BATCH
    ) -> None:
        self.batch_size = batch_size
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise OnnxUnavailable(f"onnxruntime or tokenizers is not installed ({exc})") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # no busy-waiting between ops: cron jobs and the service share a few cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
            self.tokenizer = Tokenizer.from_file(str(source.path / "tokenizer.json"))
        except Exception as exc:  # onnxruntime raises its own classes for a bad file
            raise OnnxUnavailable(f"cannot load {onnx_path}: {exc}") from None
        # as sentence-transformers: cut at the model's max_seq_length, pad per batch
        self.tokenizer.enable_truncation(source.max_seq_length)
        self.tokenizer.no_padding()
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Rows in input order; batches are made of texts of similar token length, so little
        of each batch is padding."""
        import numpy as np

        batch_size = self.batch_size
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        rows: list[np.ndarray] = []
        for start in range(0, len(order), batch_size):
            batch = [encodings[i] for i in order[start : start + batch_size]]
            width = max(len(e.ids) for e in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for row, enc in enumerate(batch):
                n = len(enc.ids)
                ids[row, :n] = enc.ids
                mask[row, :n] = 1
                types[row, :n] = enc.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            with self._lock:  # one run at a time: the service embeds from several threads
                out = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})
            rows.append(out[0])
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        result = np.empty((len(texts), rows[0].shape[1]), dtype=np.float32)
        result[order] = np.vstack(rows)
        return result


def load(
    models_dir: Path, locks_dir: Path, stem: str, source: ModelSource, *, int8: bool, threads: int
) -> tuple[OnnxModel, int]:
    """A ready model and its dimension: the current export, or a fresh one when the file is
    missing, stale or does not load (then once more from scratch, never a third time)."""
    export = Export(models_dir, locks_dir, stem, source, int8=int8)

    def model() -> OnnxModel:
        return OnnxModel(export.onnx, source, threads=threads, batch_size=export.batch_size)

    man = export.ensure()
    try:
        return model(), int(man["dim"])
    except OnnxUnavailable as exc:
        log.warning("embed.onnx_reexport", reason=str(exc))
    man = export.ensure(force=True)
    return model(), int(man["dim"])
