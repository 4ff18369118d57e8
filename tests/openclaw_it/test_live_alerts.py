"""Alerts against the real OpenClaw 2026.9.6: the argv infra builds is the one OpenClaw takes.

Two proofs. `openclaw message send --dry-run --json` accepts the exact argv of an alert
(`ops.notify.alert_argv`, so `openclaw.send.send_argv`) and its payload names our channel
and target; that payload carries no text in this version, so the second test delivers for
real: `infra health --notify` with the default sender, through a running gateway, to a
fake Telegram Bot API (`channels.telegram.apiRoot`) that records what the bot was asked to
send. A first run without the gateway fails, is recorded, and the next run delivers it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from openclaw_infra.core.checks import CRITICAL, WARNING, Check
from openclaw_infra.core.config import Settings
from openclaw_infra.ops.health import Report
from openclaw_infra.ops.notify import alert_argv, message_for

from .harness import (
    CLI_TIMEOUT_S,
    Gateway,
    OpenClawError,
    OpenClawInstall,
    OpenClawState,
    infra_bin_dir,
    run_infra,
)

pytestmark = pytest.mark.timeout(1800)  # install (cached), gateway start, cold CLI runs
BOT_TOKEN = "123456:fake-token-for-tests"  # never reaches Telegram: apiRoot is ours


class FakeTelegram:
    """Just enough of the Bot API for OpenClaw's Telegram channel; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size).decode("utf-8", "replace")
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"raw": raw}
                method = self.path.rsplit("/", 1)[-1].split("?", 1)[0]
                calls.append((method, body))
                result: Any = True
                if method == "getMe":
                    result = {"id": 1, "is_bot": True, "first_name": "infra", "username": "i_bot"}
                elif method == "getUpdates":
                    time.sleep(0.5)  # a short long-poll: OpenClaw polls in a loop
                    result = []
                elif method == "sendMessage":
                    chat = {"id": body.get("chat_id"), "type": "private"}
                    result = {"message_id": len(calls), "date": 0, "chat": chat, "text": ""}
                out = json.dumps({"ok": True, "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent(self) -> list[dict[str, Any]]:
        return [body for method, body in self.calls if method == "sendMessage"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def alert_home(
    openclaw_install: OpenClawInstall,
    telegram: FakeTelegram,
    tmp_path_factory: pytest.TempPathFactory,
) -> OpenClawState:
    """An OpenClaw home with a Telegram channel whose Bot API is the fake, and a gateway
    token (the gateway refuses message actions without one)."""
    state = OpenClawState(
        openclaw_install,
        tmp_path_factory.mktemp("openclaw-alerts"),
        path_prefix=[infra_bin_dir(), openclaw_install.openclaw.parent],
    )
    try:
        state.config_set(
            "channels.telegram",
            {
                "enabled": True,
                "botToken": BOT_TOKEN,
                "dmPolicy": "pairing",
                "apiRoot": telegram.url,
            },
        )
        state.config_set("gateway", {"mode": "local", "auth": {"mode": "token", "token": "t" * 32}})
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)
    return state


@pytest.mark.parametrize("target", ["42", "-1001234567890:topic:7"])
def test_live_alert_argv_is_accepted_in_dry_run(alert_home: OpenClawState, target: str) -> None:
    """The exact argv of an alert with a hostile message (quotes, `$(...)`, a line that looks
    like an option), run with send_argv's `--dry-run --json`: accepted, for our channel and
    target (OpenClaw writes it `telegram:<target>`), and the message did not move the target."""
    settings = Settings(timezone="UTC", alert_target=target)
    report = Report(
        CRITICAL,
        [
            Check("disk", CRITICAL, "it's 'full' $(touch pwned) `id`\n--target 99 --dry-run"),
            Check("job:index", WARNING, "last success 3h ago"),
        ],
        0.0,
    )
    argv = alert_argv(settings, message_for(report, "OK", settings), "CRITICAL", "OK", dry_run=True)
    assert argv[:3] == ["openclaw", "message", "send"] and argv[-2:] == ["--dry-run", "--json"]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=alert_home.env(),
        cwd=alert_home.home,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "action": "send",
        "channel": "telegram",
        "dryRun": True,
        "handledBy": "core",
        "payload": {
            "channel": "telegram",
            "to": f"telegram:{target}",
            "via": "direct",
            "mediaUrl": None,
            "dryRun": True,
        },
    }
    assert not (alert_home.home / "pwned").exists()


def test_live_alert_failure_is_retried_and_then_reaches_telegram(
    alert_home: OpenClawState, telegram: FakeTelegram
) -> None:
    """`infra health --notify` with the default sender: without a gateway the send fails and
    is recorded with OpenClaw's reason; with one, the next run delivers the change, and the
    Bot API is asked to send our text to our chat."""
    alert_home.extra_env["OPENCLAW_INFRA_ALERT_TARGET"] = "42"
    first = run_infra(alert_home, "health", "--notify", "--json", check=False)
    assert first.returncode in (1, 2), first.stderr
    note = first.json()["notification"]
    assert note["status"] == "failed" and note["command"] == "openclaw", note
    assert note["error"].startswith("exit 1: ") and note["failures"] == 1
    assert telegram.sent() == []

    gateway = Gateway.start(alert_home)
    try:
        second = run_infra(alert_home, "health", "--notify", "--json", check=False)
    finally:
        gateway.stop()
    report = second.json()
    assert report["notification"] == {"status": "sent", "previous": "OK", "command": "openclaw"}
    (sent,) = telegram.sent()
    assert str(sent["chat_id"]) == "42"
    text = sent["text"]
    assert text.startswith(f"infra {report['state']} (was OK) on {socket.gethostname()}:")
    problems = [c for c in report["checks"] if c["state"] != "OK"]
    shown = [c["name"] for c in problems if f"{c['name']}: " in text]
    assert len(shown) == min(len(problems), 4), (shown, text)
    assert "Run: infra" in text
