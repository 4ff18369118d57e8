"""A local HTTP server that speaks enough of the Anthropic Messages API for the real SDK.

Tests and benchmarks point the real `anthropic` client at it with `base_url`, so requests go
through the SDK's own serialisation, headers, timeouts and error classes. It can be scripted
to fail: 429 with retry-after, 500, 529 overloaded, a response slower than the client's
timeout, a 200 with a malformed JSON body, `stop_reason: max_tokens`, and an error whose
message echoes the key it was sent (`echo_key`, as a careless proxy does). It counts calls
and tokens, and keeps every request body for assertions.

Its answers are deterministic and built from the prompt: for a `<transcript>` it writes one
bullet per group of passages citing their refs; for `<notes>` it merges bullets and keeps
their refs. So tests can check that every bullet's provenance points at a real input entry.
Like the API version the SDK 2.x sends (2026-10-21), it refuses sampling parameters.
"""

from __future__ import annotations

import html
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-ant-test-fake-key-0123456789"
MAX_BULLETS = 8
MAX_MERGED = 10

_PASSAGE = re.compile(r'<passage ref="(\d+)"([^>]*)>\n(.*?)\n</passage>', re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_REFS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]\s*$")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour for the next request."""

    kind: str  # "429", "500", "529", "slow", "malformed", "max_tokens", "echo_key"
    retry_after: float | None = None  # 429: the retry-after header (seconds)
    delay_s: float = 2.0  # slow: how long to sit on the request
    status: int = 401  # echo_key: the error's HTTP status


@dataclass
class Stats:
    calls: int = 0  # every request, failed ones included
    ok_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _first_sentence(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    match = _SENTENCE_END.search(text)
    sentence = text[: match.end()].strip() if match else text
    if len(sentence) > limit:
        sentence = sentence[:limit].rstrip() + "…"
    return sentence or "(empty)"


def _groups(items: list[Any], count: int) -> list[list[Any]]:
    """`items` cut into at most `count` consecutive groups of near-equal size."""
    if not items:
        return []
    count = min(count, len(items))
    size = math.ceil(len(items) / count)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _cite(refs: list[int]) -> str:
    unique = sorted(set(refs))
    shown = unique if len(unique) <= 3 else [unique[0], unique[len(unique) // 2], unique[-1]]
    return "[" + ", ".join(str(r) for r in shown) + "]"


def summarize_transcript(user: str) -> list[str]:
    """Bullets for a map request: one per group of passages, citing the group's refs."""
    passages: dict[int, tuple[str, str]] = {}
    for ref, attrs, body in _PASSAGE.findall(user):
        role = dict(_ATTR.findall(attrs)).get("role", "entry")
        key = int(ref)
        if key not in passages:
            passages[key] = (role, html.unescape(body))
    lines = []
    for group in _groups(sorted(passages.items()), MAX_BULLETS):
        role, text = group[0][1]
        lines.append(f"- {role}: {_first_sentence(text)} {_cite([r for r, _ in group])}")
    return lines


def merge_notes(user: str) -> list[str]:
    """Bullets for a reduce request: notes merged into at most MAX_MERGED, refs kept."""
    body = user.split("<notes>\n", 1)[-1].rsplit("\n</notes>", 1)[0]
    notes = []
    for raw in body.splitlines():
        line = html.unescape(raw).strip()
        match = _REFS.search(line)
        if not line.startswith("- ") or not match:
            continue
        refs = [int(r) for r in match.group(1).split(",")]
        notes.append((line[2 : match.start()].strip(), refs))
    lines = []
    for group in _groups(notes, MAX_MERGED):
        refs = [r for _, group_refs in group for r in group_refs]
        lines.append(f"- {group[0][0]} {_cite(refs)}")
    return lines


def answer_for(messages: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(full answer lines, lines already given) for a request's messages."""
    first = messages[0]["content"]
    user = first if isinstance(first, str) else "".join(b.get("text", "") for b in first)
    full = summarize_transcript(user) if "<transcript>" in user else merge_notes(user)
    given: list[str] = []
    for message in messages[1:]:
        if message["role"] == "assistant":
            given.extend(str(message["content"]).splitlines())
    return full, given


class FakeAnthropic:
    """Start with `with FakeAnthropic() as fake:`; point the SDK at `fake.url`."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
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
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeAnthropic:
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
        """Script answers per pass: the next requests whose system prompt contains `marker`
        get `texts`, in order; once they are used up the built-in answer returns."""
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

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()


def _handler_for(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: pytest shows failures, not access logs

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            with fake._lock:
                fake.stats.calls += 1
                fake.stats.headers.append({k.lower(): v for k, v in self.headers.items()})
            if self.path.split("?")[0] != "/v1/messages":
                self._error(404, "not_found_error", f"no route {self.path}")
                return
            if not self._authorised():
                self._error(401, "authentication_error", "invalid x-api-key")
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._error(400, "invalid_request_error", "body is not JSON")
                return
            with fake._lock:
                fake.stats.requests.append(body)
            sampling = [k for k in ("temperature", "top_p", "top_k") if k in body]
            if sampling and self.headers.get("anthropic-version", "") >= "2026-10-21":
                self._error(
                    400, "invalid_request_error", f"{sampling[0]}: Extra inputs are not permitted"
                )
                return
            fault = fake.next_fault()
            if fault is not None:
                with fake._lock:
                    fake.stats.faults[fault.kind] = fake.stats.faults.get(fault.kind, 0) + 1
                if self._fail(fault):
                    return
            self._answer(body, forced_cut=fault is not None and fault.kind == "max_tokens")

        def _authorised(self) -> bool:
            bearer = self.headers.get("authorization", "")
            return (
                bearer == f"Bearer {fake.api_key}" or self.headers.get("x-api-key") == fake.api_key
            )

        def _fail(self, fault: Fault) -> bool:
            """Send the fault's response; False when the request should still be answered."""
            if fault.kind == "429":
                headers = (
                    {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
                )
                self._error(429, "rate_limit_error", "rate limited", headers)
            elif fault.kind == "500":
                self._error(500, "api_error", "Internal server error")
            elif fault.kind == "529":
                self._error(529, "overloaded_error", "Overloaded")
            elif fault.kind == "malformed":
                self._send(200, b'{"id": "msg_01", "type": "message", "content": [{"ty')
            elif fault.kind == "echo_key":
                bearer = self.headers.get("authorization", "")
                key = self.headers.get("x-api-key") or bearer.removeprefix("Bearer ")
                message = (
                    f"key {key} refused; request headers: x-api-key: "
                    f"{self.headers.get('x-api-key', '')}, authorization: {bearer}"
                )
                self._error(fault.status, "authentication_error", message)
            elif fault.kind == "slow":
                time.sleep(fault.delay_s)
                return False
            elif fault.kind == "max_tokens":
                return False
            else:
                raise ValueError(f"unknown fault {fault.kind!r}")
            return True

        def _answer(self, body: dict[str, Any], *, forced_cut: bool) -> None:
            messages = body.get("messages") or []
            system = body.get("system") or ""
            scripted = fake.scripted_reply(
                system if isinstance(system, str) else json.dumps(system)
            )
            given: list[str] = []
            if scripted is not None:
                full = scripted.splitlines()
            else:
                full, given = answer_for(messages)
            remaining = [line for line in full if line not in given]
            text = "\n".join(remaining)
            stop_reason = "end_turn"
            limit_chars = int(body.get("max_tokens", 1024)) * 4
            if forced_cut and len(remaining) > 1:
                # stop mid-line, as a real model does at its output limit
                half = "\n".join(remaining[: len(remaining) // 2])
                cut_line = remaining[len(remaining) // 2]
                text = half + "\n" + cut_line[: max(1, len(cut_line) // 2)]
                stop_reason = "max_tokens"
            elif len(text) > limit_chars:
                text = text[:limit_chars]
                stop_reason = "max_tokens"
            prompt = system + "".join(
                m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
                for m in messages
            )
            tokens_in, tokens_out = _tokens(prompt), _tokens(text)
            with fake._lock:
                fake.stats.ok_calls += 1
                fake.stats.tokens_in += tokens_in
                fake.stats.tokens_out += tokens_out
            payload = {
                "id": f"msg_fake_{fake.stats.ok_calls:06d}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "fake"),
                "content": [{"type": "text", "text": text}],
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
            }
            self._send(200, json.dumps(payload).encode())

        def _error(
            self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
        ) -> None:
            payload = {"type": "error", "error": {"type": kind, "message": message}}
            self._send(status, json.dumps(payload).encode(), headers)

        def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", f"req_fake_{fake.stats.calls}")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test): nothing left to tell it

    return Handler
