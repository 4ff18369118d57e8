"""Button values: round trip, the 64-byte limit, tampering, expiry, keys and rotation."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect
from openclaw_infra.core.errors import ConfigError, UsageError
from openclaw_infra.feedback import intake, keys, store, targets, tokens
from openclaw_infra.feedback.records import EXPIRED, FORGED, MALFORMED, UNKNOWN_TARGET, RefusedError

NOW = 1_780_000_000.0
UUID_A = "0b9a3c1e-1234-4567-89ab-0123456789ab"
UUID_B = "fa1b2c3d-1234-4567-89ab-0123456789ab"
# the longest targets infra writes or cites: a tracked id with a large suffix, a future
# three-letter kind, a JSONL citation of two UUIDs, recall's citation of an agent store
LONGEST = [
    "A-1b2c3d4e-9999",
    "DEC-0123456789abcdef0123456789abcdef-9999",
    f"{UUID_A}#{UUID_B}",
    f"{UUID_A}#L123456",
    "agents/some-long-agent-name/agent.sqlite#" + UUID_A + ":seq1000000-1000999",
    "memory/daily/2026-03-01.md#L12-L30",
    "x" * 100 + "#" + "y" * 99,  # MAX_TARGET_CHARS
]


def _keys(settings):  # type: ignore[no-untyped-def]
    return keys.load_keys(settings)


def _other(oc_home, name: str) -> Settings:  # type: ignore[no-untyped-def]
    """Another install's settings (its own data directory, so its own key)."""
    return Settings(state_dir=oc_home.state, data_dir=oc_home.root / name, timezone="UTC")


@pytest.mark.parametrize("target", LONGEST)
@pytest.mark.parametrize("verdict", ["good", "bad", "fix"])
def test_round_trip_within_64_bytes(oc_home, target: str, verdict: str) -> None:
    settings = oc_home.settings()
    value = tokens.issue(settings, target, verdict, now=NOW, ttl_s=90 * 86400)
    assert value.startswith("ifb1.") and len(value.encode()) <= 64
    assert set(value) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    button = tokens.verify(_keys(settings), f"callback_data: {value}")
    conn = connect(settings.db_path)
    assert targets.resolve_field(conn, button.field) == target
    assert button.verdict == verdict
    assert button.expires_at >= NOW + 90 * 86400
    # the same target gives the same digest (stable buttons, one mapping row)
    again = tokens.issue(settings, target, verdict, now=NOW, ttl_s=90 * 86400)
    assert again == value
    assert conn.execute("SELECT count(*) FROM feedback_targets").fetchone()[0] <= 1


def test_short_ids_travel_as_themselves(oc_home) -> None:
    settings = oc_home.settings()
    value = tokens.issue(settings, "A-1b2c3d4e", "bad", now=NOW)
    assert value.split(".")[2] == "A-1b2c3d4e"
    assert not settings.db_path.exists()  # no table needed, no database touched


def test_every_tampered_byte_is_refused(oc_home) -> None:
    settings = oc_home.settings()
    k = _keys(settings)
    for target in ("A-1b2c3d4e", f"{UUID_A}#{UUID_B}"):
        value = tokens.issue(settings, target, "good", now=NOW)
        for i, char in enumerate(value):
            for other in {"a", "Z", "0", "-", ".", "_"} - {char}:
                forged = value[:i] + other + value[i + 1 :]
                with pytest.raises(RefusedError) as err:
                    tokens.verify(k, forged)
                assert err.value.reason in (MALFORMED, FORGED), (i, forged)
        for cut in range(1, len(value)):
            with pytest.raises(RefusedError):
                tokens.verify(k, value[:cut])
        with pytest.raises(RefusedError):
            tokens.verify(k, value + "x")


def test_expired_is_refused_and_stores_nothing(oc_home) -> None:
    settings = oc_home.settings()
    value = tokens.issue(settings, "A-1b2c3d4e", "bad", now=NOW, ttl_s=3600)
    intake.record_value(settings, value, now=NOW + 3599)  # in time
    other = tokens.issue(settings, "A-1b2c3d4f", "bad", now=NOW, ttl_s=3600)
    with pytest.raises(RefusedError) as err:
        intake.record_value(settings, other, now=NOW + 3600 + 60)
    assert err.value.reason == EXPIRED and err.value.exit_code == 65
    conn = connect(settings.db_path)
    assert [r.target for r in store.list_records(conn)] == ["A-1b2c3d4e"]
    assert store.refusals_since(conn, "2000-01-01") == {EXPIRED: 1}
    # a replay of the recorded button after its expiry is still "already recorded"
    assert intake.record_value(settings, value, now=NOW + 10 * 86400).already


def test_forged_and_malformed_values(oc_home) -> None:
    settings = oc_home.settings()
    foreign = tokens.issue(_other(oc_home, "other-install"), "A-1b2c3d4e", "good", now=NOW)
    for raw, reason in [
        (foreign, FORGED),
        ("", MALFORMED),
        ("callback_data:", MALFORMED),
        ("ifb2.g.A-1b2c3d4e.hu5jx.AAAAAAAAAAAAAAAA", MALFORMED),
        ("ifb1.x.A-1b2c3d4e.hu5jx.AAAAAAAAAAAAAAAA", MALFORMED),
        ("ifb1.g.A-1b2c3d4e.HU5JX.AAAAAAAAAAAAAAAA", MALFORMED),
        ("ifb1.g.A-1b2c3d4e.hu5jx.AAAAAAAAAAAAAAAA", FORGED),
        ("x" * 10_000, MALFORMED),
        ("ifb1.g.A-1b2c3d4e\n.hu5jx.AAAAAAAAAAAAAAAA", MALFORMED),
        ("ifb1.g.A-1b2c3d4e.hu5jx.AAAAAAAAAAAAAAAA; rm -rf /", MALFORMED),
    ]:
        with pytest.raises(RefusedError) as err:
            intake.record_value(settings, raw, now=NOW)
        assert err.value.reason == reason, raw
        assert "\n" not in str(err.value)
    conn = connect(settings.db_path)
    assert store.list_records(conn) == []
    counts = store.refusals_since(conn, "2000-01-01")
    assert counts[FORGED] == 2 and counts[MALFORMED] == 8


def test_quoted_value_as_an_agent_passes_it(oc_home) -> None:
    settings = oc_home.settings()
    value = tokens.issue(settings, "A-1b2c3d4e", "fix", now=NOW)
    recorded = intake.record_value(settings, f"  'callback_data: {value}'\n", now=NOW)
    assert recorded.record.verdict == "fix" and not recorded.already


def test_unknown_digest_is_refused(oc_home) -> None:
    """A long target's button needs its row in feedback_targets (a database restored
    from before the button was made lacks it)."""
    settings = oc_home.settings()
    value = tokens.issue(settings, f"{UUID_A}#{UUID_B}", "bad", now=NOW)
    conn = connect(settings.db_path)
    conn.execute("DELETE FROM feedback_targets")
    with pytest.raises(RefusedError) as err:
        intake.record_value(settings, value, now=NOW)
    assert err.value.reason == UNKNOWN_TARGET


@pytest.mark.parametrize(
    ("target", "verdict"),
    [
        ("A-1b2c3d4e", "approvedd"),
        ("A-1b2c3d4e", ""),
        ("", "good"),
        ("just words", "good"),
        ("A-1b2c3d4e\n## SYSTEM", "good"),
        ("x" * 201 + "#1", "good"),
        ("#entry", "bad"),
        ("session#", "bad"),
    ],
)
def test_bad_input_is_a_usage_error(oc_home, target: str, verdict: str) -> None:
    with pytest.raises(UsageError):
        tokens.issue(oc_home.settings(), target, verdict, now=NOW)


def test_lifetime_bounds(oc_home) -> None:
    settings = oc_home.settings()
    with pytest.raises(UsageError):
        tokens.issue(settings, "A-1b2c3d4e", "good", ttl_s=91 * 86400)
    with pytest.raises(UsageError):
        tokens.issue(settings, "A-1b2c3d4e", "good", ttl_s=0)


def test_rotation_keeps_old_buttons_until_revoked(oc_home) -> None:
    settings = oc_home.settings()
    old = tokens.issue(settings, "A-1b2c3d4e", "good", now=NOW)
    first = keys.load_keys(settings)
    rotated = keys.rotate(settings, now=NOW + 60)
    assert rotated.current != first.current and rotated.previous == first.current
    new = tokens.issue(settings, "A-1b2c3d4e", "bad", now=NOW + 60)
    assert tokens.verify(keys.load_keys(settings), old).old_key
    assert not tokens.verify(keys.load_keys(settings), new).old_key
    # a second rotation keeps only the key before it
    keys.rotate(settings, now=NOW + 120)
    with pytest.raises(RefusedError):
        tokens.verify(keys.load_keys(settings), old)
    assert tokens.verify(keys.load_keys(settings), new).old_key
    keys.rotate(settings, revoke=True, now=NOW + 180)
    with pytest.raises(RefusedError):
        tokens.verify(keys.load_keys(settings), new)


def test_key_file_is_private_and_checked(oc_home) -> None:
    settings = oc_home.settings()
    tokens.issue(settings, "A-1b2c3d4e", "good")
    path = settings.feedback_key_path
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["format"] == keys.FORMAT
    path.chmod(0o644)
    keys.load_keys(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text("not a key\n")
    with pytest.raises(ConfigError, match=str(path)):
        tokens.issue(settings, "A-1b2c3d4e", "good")
    with pytest.raises(ConfigError):
        keys.rotate(settings)
    keys.rotate(settings, revoke=True)
    tokens.issue(settings, "A-1b2c3d4e", "good")


FIRST_USE = """
import sys
from openclaw_infra.core.config import Settings
from openclaw_infra.feedback import keys
s = Settings(data_dir=sys.argv[1], timezone="UTC")
print(keys.fingerprint(keys.load_keys(s).current))
"""


def test_concurrent_first_uses_agree_on_one_key(oc_home) -> None:
    data = oc_home.root / "fresh"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE, str(data)],
            env=oc_home.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    prints = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(prints) == 1
    assert prints == {keys.fingerprint(keys.load_keys(_other(oc_home, "fresh")).current)}


def test_value_layout_sizes() -> None:
    assert tokens.TARGET_ROOM == 33
    assert tokens.MAC_CHARS * 6 == tokens.MAC_BYTES * 8
    assert time.time() < 36**tokens.EXPIRY_CHARS * 60
