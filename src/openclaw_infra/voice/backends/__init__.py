"""Whisper backends behind one interface, chosen by setting and loaded once per process.

`faster` is faster-whisper (CTranslate2, int8 on CPU), `openai` is openai-whisper (PyTorch,
fp32 on CPU); `auto` takes the fastest installed backend that already has its model, else
the fastest installed one, which then fetches the model its own normal way. Loaded models
are kept per (backend, model) for the life of the process: the inbox job loads once per run.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

from openclaw_infra.core.errors import UnavailableError
from openclaw_infra.voice.backends.base import Backend, faster_model_source

# fastest first (the measurements: faster-whisper int8 about 2x openai-whisper fp32)
ORDER = ("faster", "openai")
MODULES = {"faster": "faster_whisper", "openai": "whisper"}
PACKAGES = {"faster": "faster-whisper", "openai": "openai-whisper"}


def installed(kind: str) -> bool:
    return importlib.util.find_spec(MODULES[kind]) is not None


def has_model(kind: str, model: str) -> bool:
    """True when `kind` can load `model` without a download."""
    if kind == "faster":
        source = faster_model_source(model)
        if Path(source).is_dir():
            return (Path(source) / "model.bin").is_file()
        from faster_whisper.utils import download_model

        try:
            download_model(source, local_files_only=True)
        except (OSError, ValueError):  # not in the hub cache (or not a known name) yet
            return False
        return True
    if Path(model).expanduser().is_file():
        return True
    import whisper

    url = whisper._MODELS.get(model)
    if url is None:
        return False
    return openai_cache_dir().joinpath(url.rsplit("/", 1)[-1]).is_file()


def openai_cache_dir() -> Path:
    """openai-whisper's download root (its own default: $XDG_CACHE_HOME/whisper)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "whisper"


def choose(setting: str, model: str) -> str:
    """The backend kind to use for `setting` (auto|faster|openai) and `model`."""
    if model.startswith(("/", "~", ".")) and not Path(model).expanduser().exists():
        raise UnavailableError(
            f"Whisper model {model}: no such file or directory",
            hint="OPENCLAW_INFRA_WHISPER_MODEL takes a model name (tiny.en) or an existing path",
        )
    if setting != "auto":
        if not installed(setting):
            raise UnavailableError(
                f"Whisper backend {setting!r} needs the {PACKAGES[setting]} package",
                hint="pip install 'openclaw-infra[voice]' or set OPENCLAW_INFRA_WHISPER_BACKEND",
            )
        return setting
    present = [kind for kind in ORDER if installed(kind)]
    if not present:
        raise UnavailableError(
            "no Whisper backend is installed (faster-whisper or openai-whisper)",
            hint="pip install 'openclaw-infra[voice]'",
        )
    for kind in present:
        if has_model(kind, model):
            return kind
    return present[0]


_cache: dict[tuple[str, str], Backend] = {}
_cache_lock = threading.Lock()


def load_backend(setting: str, model: str) -> Backend:
    """The process-wide backend for (setting, model), loading it on first use."""
    kind = choose(setting, model)
    with _cache_lock:
        backend = _cache.get((kind, model))
        if backend is None:
            backend = _build(kind, model)
            _cache[(kind, model)] = backend
        return backend


def _build(kind: str, model: str) -> Backend:
    if kind == "faster":
        from openclaw_infra.voice.backends.faster import FasterWhisperBackend

        return FasterWhisperBackend(model)
    from openclaw_infra.voice.backends.openai import OpenAIWhisperBackend

    return OpenAIWhisperBackend(model)


def release_backends() -> None:
    """Drop the loaded models before a next step of the same run (indexing the notes) loads
    the embedder; what the allocator returns lowers that step's peak (about 50 MB measured)."""
    with _cache_lock:
        _cache.clear()
    import gc

    gc.collect()
