"""A local HTTP server that speaks enough of the OpenAI Chat Completions API for the real
`openai` SDK, as Ollama, LM Studio and llama.cpp's server do (`/v1/chat/completions`).

The twin of fake_anthropic.py, with the same deterministic answers (one bullet per group of
passages citing their refs; notes merged keeping their refs) so end-to-end tests can check
provenance, and the same fault matrix in this API's words: 429 with retry-after, 500, 503,
a response slower than the client's timeout, a 200 with a malformed JSON body or without
`choices`, `finish_reason: length` (cut mid-line), empty content, a leading `<think>` block,
no `usage`, a 401, and an error that echoes the key it was sent (`echo_key`). Like a local
server it needs no key unless one is given (then a wrong or missing bearer gets 401), and
an unknown model gets Ollama's 404. It counts calls and tokens and keeps every request.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fake_anthropic import answer_for

MODEL = "llama3.2:3b"
API_KEY = "sk-local-test-key-0123456789"
THINKING = "<think>\n- Plan: cite everything [1]\n</think>\n"


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour for the next request."""

    # "429", "500", "503", "401", "slow", "malformed", "no_choices", "length", "empty",
    # "think", "no_usage", "echo_key"
    kind: str
    retry_after: float | None = None  # 429: the retry-after header (seconds)
    delay_s: float = 2.0  # slow: how long to sit on the request


@dataclass
class Stats:
    calls: int = 0  # every request, failed ones included
    ok_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


class FakeOpenAI:
    """Start with `with FakeOpenAI() as fake:`; point the SDK at `fake.url` (ends in /v1)."""

    def __init__(self, api_key: str | None = None, models: tuple[str, ...] = (MODEL,)) -> None:
        self.api_key = api_key
        self.models = set(models)
        self.stats = Stats()
        self._faults: deque[Fault] = deque()
        self._always: Fault | None = None
        self._replies: list[tuple[str, deque[str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=lambda: self._server.serve_forever(poll_interval=0.05), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *faults: Fault | str) -> None:
        """Queue faults for the next requests, in order; later requests succeed."""
        with self._lock:
            self._faults.extend(f if isinstance(f, Fault) else Fault(f) for f in faults)

    def fail_always(self, fault: Fault | str | None) -> None:
        """Every request gets `fault` (None: back to normal)."""
        with self._lock:
            self._always = fault if fault is None or isinstance(fault, Fault) else Fault(fault)

    def next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            return self._always

    def reply_when(self, marker: str, *texts: str) -> None:
        """The next requests whose system message contains `marker` get `texts`, in order;
        once they are used up the built-in answer returns."""
        with self._lock:
            for known, queue in self._replies:
                if known == marker:
                    queue.extend(texts)
                    return
            self._replies.append((marker, deque(texts)))

    def scripted_reply(self, system: str) -> str | None:
        with self._lock:
            for marker, queue in self._replies:
                if marker in system and queue:
                    return queue.popleft()
        return None

    def passes(self) -> list[str]:
        """The first line of each successful request's system message, in order."""
        return [
            str(r["messages"][0]["content"]).splitlines()[0]
            for r in self.stats.requests
            if r.get("messages") and r["messages"][0].get("role") == "system"
        ]


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: pytest shows failures, not access logs

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            with fake._lock:
                fake.stats.calls += 1
                fake.stats.headers.append({k.lower(): v for k, v in self.headers.items()})
            if self.path.split("?")[0] != "/v1/chat/completions":
                self._error(404, "not_found_error", f"no route {self.path}")
                return
            if fake.api_key is not None and not self._authorised():
                self._error(401, "authentication_error", "Invalid API Key")
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._error(400, "invalid_request_error", "body is not JSON")
                return
            with fake._lock:
                fake.stats.requests.append(body)
            if body.get("model") not in fake.models:
                model = body.get("model")
                self._error(404, "api_error", f'model "{model}" not found, try pulling it first')
                return
            fault = fake.next_fault()
            if fault is not None:
                with fake._lock:
                    fake.stats.faults[fault.kind] = fake.stats.faults.get(fault.kind, 0) + 1
                if self._fail(fault):
                    return
            self._answer(body, fault.kind if fault is not None else None)

        def _authorised(self) -> bool:
            return self.headers.get("authorization", "") == f"Bearer {fake.api_key}"

        def _fail(self, fault: Fault) -> bool:
            """Send the fault's response; False when the request should still be answered."""
            if fault.kind == "429":
                headers = (
                    {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
                )
                self._error(429, "rate_limit_error", "rate limited", headers)
            elif fault.kind in ("500", "503"):
                self._error(
                    int(fault.kind), "server_error", "model runner has unexpectedly stopped"
                )
            elif fault.kind == "401":
                self._error(401, "authentication_error", "Invalid API Key")
            elif fault.kind == "malformed":
                self._send(200, b'{"id": "chatcmpl-1", "object": "chat.completion", "choi')
            elif fault.kind == "no_choices":
                self._send(200, json.dumps({"id": "chatcmpl-1", "object": "error"}).encode())
            elif fault.kind == "echo_key":
                bearer = self.headers.get("authorization", "")
                self._error(401, "authentication_error", f"key {bearer} refused")
            elif fault.kind == "slow":
                time.sleep(fault.delay_s)
                return False
            elif fault.kind in ("length", "empty", "think", "no_usage"):
                return False
            else:
                raise ValueError(f"unknown fault {fault.kind!r}")
            return True

        def _answer(self, body: dict[str, Any], fault: str | None) -> None:
            messages = body.get("messages") or []
            system = "".join(str(m["content"]) for m in messages if m["role"] == "system")
            turns = [m for m in messages if m["role"] != "system"]
            scripted = fake.scripted_reply(system)
            given: list[str] = []
            if scripted is not None:
                full = scripted.splitlines()
            else:
                full, given = answer_for(turns)
            remaining = [line for line in full if line not in given]
            text = "\n".join(remaining)
            finish = "stop"
            limit_chars = int(body.get("max_tokens") or 1024) * 4
            if fault == "length" and len(remaining) > 1:
                # stop mid-line, as a real model does at its output limit
                half = "\n".join(remaining[: len(remaining) // 2])
                cut_line = remaining[len(remaining) // 2]
                text = half + "\n" + cut_line[: max(1, len(cut_line) // 2)]
                finish = "length"
            elif len(text) > limit_chars:
                text = text[:limit_chars]
                finish = "length"
            if fault == "empty":
                text = ""
            if fault == "think":
                text = THINKING + text
            prompt = "".join(str(m["content"]) for m in messages)
            tokens_in, tokens_out = _tokens(prompt), _tokens(text)
            with fake._lock:
                fake.stats.ok_calls += 1
                fake.stats.tokens_in += tokens_in
                fake.stats.tokens_out += tokens_out
            payload: dict[str, Any] = {
                "id": f"chatcmpl-fake-{fake.stats.ok_calls:06d}",
                "object": "chat.completion",
                "created": 1764892800,
                "model": body.get("model"),
                "system_fingerprint": "fp_ollama",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": tokens_in,
                    "completion_tokens": tokens_out,
                    "total_tokens": tokens_in + tokens_out,
                },
            }
            if fault == "no_usage":
                del payload["usage"]
            self._send(200, json.dumps(payload).encode())

        def _error(
            self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
        ) -> None:
            payload = {"error": {"message": message, "type": kind, "param": None, "code": None}}
            self._send(status, json.dumps(payload).encode(), headers)

        def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test): nothing left to tell it

    return Handler
