"""The torch-free embedding path: the real packaged MiniLM exported to ONNX, run by the real
onnxruntime, against sentence-transformers; damaged exports, fallback and identity."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import UnavailableError
from openclaw_infra.core.fsio import sha256_file
from openclaw_infra.memory.embedder import (
    PACKAGED_MODEL,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    _model_source,
)
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.memory.onnx_runtime import Export, ModelSource
from openclaw_infra.memory.query import RecallQuery
from openclaw_infra.memory.search import recall

from conftest import OpenClawHome
from openclaw_fixtures import write_jsonl_session

pytestmark = pytest.mark.model

TEXTS = [
    "[2023-05-08 13:56 UTC]\nuser: Hey Mel! Good to see you! How have you been?\n"
    "assistant: Hey Caroline! Good to see you! I'm swamped with the kids & work.",
    "user: I went to a LGBTQ support group yesterday and it was so powerful.",
    "assistant: Painting is a fun way to express my feelings and get creative.",
    "what did we decide about the backup schedule?",
    "Übermorgen fliege ich nach Zürich — 東京 next month",
    "",
    " ".join(f"filler sentence {i} about the garden and the weather" for i in range(200)),
]
MODELS = "models"


EXPORT_PROBE = """
import sys
from pathlib import Path
from openclaw_infra.core.config import Settings
from openclaw_infra.memory.embedder import PACKAGED_MODEL, OnnxEmbedder
embedder = OnnxEmbedder(
    Settings(data_dir=Path(sys.argv[1]), embedding_model=PACKAGED_MODEL, embedding_export_dir=None)
)
embedder.encode(["export me"])
print(embedder.runtime, sorted({"torch", "sentence_transformers", "onnx"} & set(sys.modules)))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the fp32 export, made once for the module (the export takes ~20 s)
    by a fresh process, which runs the export as a child and so never imports torch itself
    (a recall service that exported in-process kept ~1 GB resident)."""
    data = tmp_path_factory.mktemp("export") / "data"
    done = subprocess.run(
        [sys.executable, "-c", EXPORT_PROBE, str(data)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "onnx []", done.stdout
    return data / MODELS


def _settings(data: Path, **overrides: object) -> Settings:
    overrides.setdefault("embedding_export_dir", None)  # a private export, not the shared one
    return Settings(data_dir=data, embedding_model=PACKAGED_MODEL, timezone="UTC", **overrides)  # type: ignore[arg-type]


def _with_export(data: Path, exported: Path) -> Path:
    shutil.copytree(exported, data / MODELS)
    return data


def test_onnx_vectors_match_torch_and_share_its_identity(tmp_path: Path, exported: Path) -> None:
    """fp32 ONNX vectors are sentence-transformers' within cosine 0.9999 (long, empty and
    non-ASCII texts too), so both carry the one identity an index records."""
    onnx = OnnxEmbedder(_settings(_with_export(tmp_path / "data", exported)))
    torch = SentenceTransformerEmbedder(PACKAGED_MODEL)
    a, b = onnx.encode(TEXTS), torch.encode(TEXTS)
    assert onnx.runtime == "onnx"
    assert str(onnx.identity) == str(torch.identity) == "all-MiniLM-L6-v2:384"
    assert a.shape == b.shape and a.dtype == np.float32
    assert float(np.min(np.sum(a * b, axis=1))) >= 0.9999
    # the ranking of every text against all others is the same
    assert (np.argsort(-(a @ a.T), axis=1) == np.argsort(-(b @ b.T), axis=1))[:, :3].all()
    # batch order and batching by length do not change a row
    assert np.allclose(onnx.encode(TEXTS[::-1])[::-1], a, atol=1e-5)
    assert np.allclose(onnx.encode(TEXTS[:1])[0], a[0], atol=1e-5)


def test_export_is_private_and_tied_to_its_source(exported: Path) -> None:
    """0600 files in a 0700 folder; the manifest names the source weights' checksum and the
    export's, and a changed file no longer counts as the current export."""
    assert exported.stat().st_mode & 0o777 == 0o700
    manifest = json.loads((exported / "all-MiniLM-L6-v2.json").read_text())
    onnx = exported / "all-MiniLM-L6-v2.onnx"
    assert onnx.stat().st_mode & 0o777 == 0o600
    assert manifest["onnx_sha256"] == sha256_file(onnx)
    assert "model.safetensors=" in manifest["source_sha256"]
    assert manifest["min_cos_to_torch"] >= 0.9999 and manifest["dim"] == 384
    source = ModelSource.of(Path(_model_source(PACKAGED_MODEL)))
    export = Export(exported, exported / "locks", "all-MiniLM-L6-v2", source, int8=False)
    assert export.current() == manifest
    assert Export(exported, exported, "all-MiniLM-L6-v2", source, int8=True).current() is None


def test_a_damaged_export_is_made_again_not_run(tmp_path: Path, exported: Path) -> None:
    """An ONNX file that fails to load, even with a manifest that vouches for it, is exported
    again and gives the right vectors; nothing crashes, no torch vectors are mixed in."""
    data = _with_export(tmp_path / "data", exported)
    onnx = data / MODELS / "all-MiniLM-L6-v2.onnx"
    onnx.write_bytes(b"not an onnx model" * 1000)
    manifest_path = data / MODELS / "all-MiniLM-L6-v2.json"
    manifest = json.loads(manifest_path.read_text())
    st = onnx.stat()
    manifest.update(onnx_stamp=[st.st_size, st.st_mtime_ns], onnx_sha256=sha256_file(onnx))
    manifest_path.write_text(json.dumps(manifest))
    embedder = OnnxEmbedder(_settings(data))
    with capture_logs() as logs:
        vectors = embedder.encode(TEXTS[:3])
    assert embedder.runtime == "onnx"
    assert any(e["event"] == "embed.onnx_reexport" for e in logs)
    assert sha256_file(onnx) == json.loads(manifest_path.read_text())["onnx_sha256"]
    reference = SentenceTransformerEmbedder(PACKAGED_MODEL).encode(TEXTS[:3])
    assert float(np.min(np.sum(vectors * reference, axis=1))) >= 0.9999


def _unexportable_model(tmp_path: Path) -> Path:
    """The packaged model with CLS pooling: a pipeline the export does not reproduce."""
    src = Path(_model_source(PACKAGED_MODEL))
    dst = tmp_path / "cls-model"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors"))
    (dst / "model.safetensors").symlink_to(src / "model.safetensors")
    pooling = json.loads((dst / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (dst / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return dst


def test_fallback_to_torch_is_logged_and_onnx_only_refuses(tmp_path: Path) -> None:
    """'auto' runs a model the export cannot serve with sentence-transformers and says why;
    'onnx' and int8 (which has no torch twin) refuse with exit 69 instead."""
    model = str(_unexportable_model(tmp_path))
    auto = OnnxEmbedder(
        Settings(data_dir=tmp_path / "d", embedding_model=model, embedding_export_dir=None)
    )
    with capture_logs() as logs:
        vectors = auto.encode(["a cat on the mat"])
    assert auto.runtime == "torch" and vectors.shape == (1, 384)
    fallback = [e for e in logs if e["event"] == "embed.onnx_fallback"]
    assert fallback and "pooling" in fallback[0]["reason"]
    for overrides in ({"embedding_runtime": "onnx"}, {"embedding_int8": True}):
        strict = OnnxEmbedder(
            Settings(
                data_dir=tmp_path / "d",
                embedding_model=model,
                embedding_export_dir=None,
                **overrides,
            )  # type: ignore[arg-type]
        )
        with pytest.raises(UnavailableError) as info:
            strict.encode(["x"])
        assert info.value.exit_code == 69 and "pooling" in str(info.value)
    assert not (tmp_path / "d" / MODELS).exists()


def _indexed_home(oc_home: OpenClawHome, exported: Path) -> Settings:
    _with_export(oc_home.data, exported)
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [
            ("user", "My kitten keeps scratching the sofa"),
            ("assistant", "Try a scratching post near the couch."),
            ("user", "Separately, the quarterly tax return is due in April"),
            ("assistant", "I will remind you in March."),
        ],
    )
    settings = oc_home.settings(embedding_model=PACKAGED_MODEL)
    index_all(settings, embedder=OnnxEmbedder(settings))
    return settings


PROBE = """
import json, sys
from openclaw_infra.entry import main
sys.argv = ["infra", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps([code, sorted(m.split(".")[0] for m in sys.modules)]), file=sys.stderr)
"""


def test_a_cold_recall_imports_no_torch(oc_home: OpenClawHome, exported: Path) -> None:
    """`infra recall --json --no-service` embeds its query with onnxruntime: torch,
    transformers and sentence-transformers are never imported, and the answer is right."""
    _indexed_home(oc_home, exported)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "recall", "--json", "--no-service", "feline furniture"],
        capture_output=True,
        text=True,
        env=oc_home.env,
        timeout=300,
        check=False,
    )
    code, loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert code in (0, None), proc.stderr[-2000:]
    assert "onnxruntime" in loaded
    assert not {"torch", "transformers", "sentence_transformers"} & set(loaded)
    answer = json.loads(proc.stdout)
    assert answer["index"]["model"] == "all-MiniLM-L6-v2:384"
    assert "kitten" in answer["results"][0]["text"]


def test_int8_is_another_identity_and_is_refused_by_an_fp32_index(
    oc_home: OpenClawHome, exported: Path
) -> None:
    """An index built with fp32 vectors refuses int8 queries (exit 69), in-process and
    through the CLI, before any model loads; health and --help import no onnxruntime."""
    settings = _indexed_home(oc_home, exported)
    int8 = settings.model_copy(update={"embedding_int8": True})
    with pytest.raises(UnavailableError) as info:
        recall(int8, RecallQuery("kitten", 1))
    assert "all-MiniLM-L6-v2+int8" in str(info.value)
    done = oc_home.run("recall", "kitten", extra_env={"OPENCLAW_INFRA_EMBEDDING_INT8": "1"})
    assert done.returncode == 69, done.stderr
    assert "--rebuild" in done.stderr
    for args in (["health", "--json"], ["--help"]):
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, *args],
            capture_output=True,
            text=True,
            env=oc_home.env,
            timeout=120,
            check=False,
        )
        _, loaded = json.loads(proc.stderr.strip().splitlines()[-1])
        assert not {"onnxruntime", "tokenizers", "torch"} & set(loaded), args


def test_int8_vectors_do_not_depend_on_the_batch(tmp_path: Path) -> None:
    """int8 quantises activations per run, so each text runs alone: its vector is the same
    alone and among others, and still close to torch's (the shared int8 export)."""
    int8 = OnnxEmbedder(
        Settings(data_dir=tmp_path / "d", embedding_model=PACKAGED_MODEL, embedding_int8=True)
    )
    together = int8.encode(TEXTS)
    alone = np.vstack([int8.encode([t]) for t in TEXTS])
    assert int8.runtime == "onnx" and str(int8.identity) == "all-MiniLM-L6-v2+int8:384"
    assert np.array_equal(together, alone)
    assert np.array_equal(int8.encode(TEXTS[::-1])[::-1], together)
    reference = SentenceTransformerEmbedder(PACKAGED_MODEL).encode(TEXTS)
    assert float(np.min(np.sum(together * reference, axis=1))) >= 0.95
