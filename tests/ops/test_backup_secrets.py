"""No snapshot holds a secret in plain text: secrets are left out (and named for the user),
or sealed to an age recipient and restored with its identity (docs/backup.md "Secrets")."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyrage
import pytest
import zstandard

from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect
from openclaw_infra.core.errors import ConfigError
from openclaw_infra.ops.backup import catalog
from openclaw_infra.ops.backup.archive import FORMAT, hash_prefix, read_manifest, write_archive
from openclaw_infra.ops.backup.create import create_snapshot, run_backup
from openclaw_infra.ops.backup.restore import restore_in_place, restore_to_target
from openclaw_infra.ops.backup.secrets import (
    COMMENTED_MARKER,
    MARKER,
    is_secret_name,
    redact_env,
)
from openclaw_infra.ops.backup.verify import verify_snapshot

from conftest import OpenClawHome

_RNG = random.SystemRandom()


def _random(n: int) -> str:
    return "".join(_RNG.choice(string.ascii_letters + string.digits) for _ in range(n))


API_KEY = "sk-ant-api03-" + _random(40)
OLD_KEY = "sk-ant-api03-" + _random(40)  # commented out in config.env: a secret all the same
TOKEN = "tok-" + _random(32)  # a setting infra does not know, named like a secret
MULTI = ("mline-" + _random(24), "mline-" + _random(24))  # a quoted two-line value
HMAC_KEY = _random(64).encode()
SECRETS = [API_KEY.encode(), OLD_KEY.encode(), TOKEN.encode(), *(m.encode() for m in MULTI)]
SECRETS.append(HMAC_KEY)
CONFIG = (
    "# infra settings\n"
    "OPENCLAW_INFRA_LOG_LEVEL=info\n"
    f"OPENCLAW_INFRA_ANTHROPIC_API_KEY={API_KEY}\n"
    f"# OPENCLAW_INFRA_ANTHROPIC_API_KEY={OLD_KEY}\n"
    f'export MY_SERVICE_TOKEN="{TOKEN}"\n'
    "OPENCLAW_INFRA_RESTIC_PASSWORD_FILE=/Users/me/.restic-pass\n"
    f'BRIDGE_SECRET="{MULTI[0]}\n{MULTI[1]}"\n'
    "OPENCLAW_INFRA_SUMMARIZER=extractive\n"
)
LEFT_OUT = ["OPENCLAW_INFRA_ANTHROPIC_API_KEY", "MY_SERVICE_TOKEN", "BRIDGE_SECRET"]


def plant(home: OpenClawHome, **overrides: Any) -> Settings:
    """A home whose config.env holds an API key and other secrets, with a feedback key."""
    settings: Settings = home.settings(**overrides)
    connect(settings.db_path).close()
    (home.workspace / "MEMORY.md").write_text("# Memory\n- flat white\n")
    settings.config_file.write_text(CONFIG)
    settings.config_file.chmod(0o600)
    settings.feedback_key_path.write_bytes(HMAC_KEY)
    settings.feedback_key_path.chmod(0o600)
    return settings


def assert_no_secret(data: bytes, where: str) -> None:
    for secret in SECRETS:
        assert secret not in data, f"{secret[:16]!r}… found in {where}"


def grep_snapshot(snap: catalog.Snapshot) -> bytes:
    """Every byte of the archive, compressed and decompressed, checked for every secret."""
    raw = snap.path.read_bytes()
    assert_no_secret(raw, snap.path.name)
    plain = zstandard.ZstdDecompressor().stream_reader(raw).read()
    assert len(plain) > len(CONFIG)
    assert_no_secret(plain, f"{snap.path.name} decompressed")
    return plain


def grep_tree(top: Path) -> None:
    files = [p for p in top.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert_no_secret(path.read_bytes(), str(path))


def age_keys(home: OpenClawHome) -> tuple[str, Path]:
    """A fresh age key pair: the recipient, and an identity file kept outside the home."""
    identity = pyrage.x25519.Identity.generate()
    path = home.root / "age-identity.txt"
    path.write_text(f"# created: by the test\n{identity}\n")
    path.chmod(0o600)
    return str(identity.to_public()), path


def test_secrets_are_left_out_of_a_snapshot_and_named_on_restore(oc_home: OpenClawHome) -> None:
    """Without a recipient: no secret anywhere in the archive or a restored tree; the other
    settings are kept, each secret line stays commented with a marker, the manifest and the
    restore say what to re-enter, and the snapshot verifies."""
    settings = plant(oc_home)
    snap = run_backup(settings).snapshot
    grep_snapshot(snap)
    manifest = read_manifest(snap.path)
    assert manifest["format"] == FORMAT
    assert manifest["secrets"] == {
        "policy": "left-out",
        "settings": LEFT_OUT,
        "files": ["data/feedback.key"],
        "recipients": [],
    }
    paths = [f["path"] for f in manifest["files"]]
    assert "data/config.env" in paths and "data/feedback.key" not in paths
    assert "data/secrets.age" not in paths
    assert verify_snapshot(snap, settings.backups).ok

    target = oc_home.root / "restored"
    result = restore_to_target(snap, target)
    grep_tree(target)
    config = (target / "data" / "config.env").read_text()
    assert "OPENCLAW_INFRA_LOG_LEVEL=info\n" in config
    assert "OPENCLAW_INFRA_RESTIC_PASSWORD_FILE=/Users/me/.restic-pass\n" in config
    assert f"# OPENCLAW_INFRA_ANTHROPIC_API_KEY={MARKER}\n" in config
    assert not (target / "data" / "feedback.key").exists()
    assert result.secrets.reenter == LEFT_OUT
    assert result.secrets.missing_files == ["data/feedback.key"]
    lines = "\n".join(result.secrets.lines())
    assert f"re-enter in {target / 'data' / 'config.env'}: " + ", ".join(LEFT_OUT) in lines
    assert "data/feedback.key" in lines
    # what stays is still a config file infra reads
    restored = Settings(_env_file=target / "data" / "config.env", state_dir=target / "state")  # type: ignore[call-arg]
    assert restored.summarizer == "extractive" and restored.anthropic_api_key is None


def test_secrets_sealed_to_an_age_recipient(oc_home: OpenClawHome) -> None:
    """With a recipient: the secrets are only in `data/secrets.age` (no plain text in the
    archive); a restore without the identity leaves them out and says so; with it,
    config.env and the feedback key come back byte for byte; a wrong identity restores
    nothing."""
    recipient, identity = age_keys(oc_home)
    settings = plant(oc_home, backup_age_recipient=recipient)
    snap = run_backup(settings).snapshot
    plain = grep_snapshot(snap)
    assert b"age-encryption.org/v1" in plain
    manifest = read_manifest(snap.path)
    assert manifest["secrets"]["policy"] == "age"
    assert manifest["secrets"]["recipients"] == [recipient]
    assert manifest["secrets"]["member"] == "data/secrets.age"
    assert "data/secrets.age" in [f["path"] for f in manifest["files"]]
    assert verify_snapshot(snap, settings.backups).ok

    without = oc_home.root / "without"
    result = restore_to_target(snap, without)
    grep_tree(without)
    assert result.secrets.sealed and result.secrets.reenter == LEFT_OUT
    assert not (without / "data" / "secrets.age").exists()
    assert "OPENCLAW_INFRA_BACKUP_AGE_IDENTITY_FILE" in "\n".join(result.secrets.lines())

    other = pyrage.x25519.Identity.generate()
    wrong = oc_home.root / "wrong.txt"
    wrong.write_text(f"{other}\n")
    with pytest.raises(ConfigError, match="does not decrypt"):
        restore_to_target(snap, oc_home.root / "wrong-target", identity=wrong)
    assert not (oc_home.root / "wrong-target").exists()

    with_key = oc_home.root / "with"
    result = restore_to_target(snap, with_key, identity=identity)
    assert (with_key / "data" / "config.env").read_text() == CONFIG
    assert (with_key / "data" / "feedback.key").read_bytes() == HMAC_KEY
    assert result.secrets.restored == [*LEFT_OUT, "data/feedback.key"]
    assert result.secrets.reenter == [] and result.secrets.missing_files == []
    assert "secrets restored from data/secrets.age" in result.secrets.lines()[0]


def test_restore_in_place_keeps_the_live_secrets(oc_home: OpenClawHome) -> None:
    """A snapshot that left the key out must not wipe it: in place, this machine's values
    fill the left-out lines (a commented-out old key stays out), the feedback key stays,
    and the pre-restore snapshot holds no secret either."""
    settings = plant(oc_home)
    snap = create_snapshot(settings).snapshot
    settings.config_file.write_text(CONFIG.replace("=info", "=debug"))
    result = restore_in_place(settings, snap)
    assert settings.config_file.read_text() == CONFIG.replace(OLD_KEY, COMMENTED_MARKER)
    assert settings.feedback_key_path.read_bytes() == HMAC_KEY
    assert result.secrets.kept == [*LEFT_OUT, "data/feedback.key"]
    assert result.secrets.reenter == []
    assert result.pre_restore is not None
    grep_snapshot(catalog.find_snapshot(settings.backups, result.pre_restore))


def test_restore_in_place_with_the_identity_setting(oc_home: OpenClawHome) -> None:
    """`backup_age_identity_file` is what an in-place restore decrypts with."""
    recipient, identity = age_keys(oc_home)
    settings = plant(oc_home, backup_age_recipient=recipient, backup_age_identity_file=identity)
    snap = create_snapshot(settings).snapshot
    settings.config_file.write_text("OPENCLAW_INFRA_LOG_LEVEL=debug\n")
    settings.feedback_key_path.write_bytes(b"a newer key")
    result = restore_in_place(settings, snap)
    assert settings.config_file.read_text() == CONFIG
    assert settings.feedback_key_path.read_bytes() == HMAC_KEY
    assert result.secrets.restored == [*LEFT_OUT, "data/feedback.key"]


def test_the_restic_password_file_in_the_data_dir_is_a_secret_file(
    oc_home: OpenClawHome,
) -> None:
    """A secret-named path setting (the restic password file) that points into the data dir
    is treated like the feedback key: left out, or sealed."""
    password = _random(32).encode()
    pass_file = oc_home.data / "restic.pass"
    recipient, identity = age_keys(oc_home)
    settings = plant(oc_home, restic_password_file=pass_file, backup_age_recipient=recipient)
    pass_file.write_bytes(password)
    pass_file.chmod(0o600)
    snap = create_snapshot(settings).snapshot
    assert password not in zstandard.ZstdDecompressor().stream_reader(snap.path.read_bytes()).read()
    section = read_manifest(snap.path)["secrets"]
    assert section["files"] == ["data/feedback.key", "data/restic.pass"]
    result = restore_to_target(snap, oc_home.root / "r", identity=identity)
    assert (oc_home.root / "r" / "data" / "restic.pass").read_bytes() == password
    assert "data/restic.pass" in result.secrets.restored


def test_a_snapshot_of_the_old_format_with_a_plain_config_still_restores(
    oc_home: OpenClawHome,
) -> None:
    """Snapshots written before secrets were handled hold config.env as it was and no
    `secrets` section: they verify and restore unchanged, with nothing to report."""
    settings = plant(oc_home)
    backups = settings.backups
    backups.mkdir(mode=0o700)
    config = settings.config_file
    entry = {
        "path": "data/config.env",
        "kind": "file",
        "size": config.stat().st_size,
        "mtime": config.stat().st_mtime,
        "sha256": hash_prefix(config, config.stat().st_size),
    }
    manifest = {"format": FORMAT, "id": "20261120T033000Z", "reason": "backup"}
    manifest |= {"created_ts": 1795145400.0, "files": [entry], "skipped": []}
    write_archive(backups / catalog.archive_name("20261120T033000Z"), manifest, [(entry, config)])
    snap = catalog.find_snapshot(backups, "latest")
    assert verify_snapshot(snap, backups).ok
    result = restore_to_target(snap, oc_home.root / "old")
    assert (oc_home.root / "old" / "data" / "config.env").read_text() == CONFIG
    assert result.secrets.lines() == []


def test_a_bad_recipient_fails_before_anything_is_written(oc_home: OpenClawHome) -> None:
    settings = plant(oc_home, backup_age_recipient="age1notakey")
    with pytest.raises(ConfigError, match="OPENCLAW_INFRA_BACKUP_AGE_RECIPIENT"):
        create_snapshot(settings)
    assert catalog.list_snapshots(settings.backups) == []


def test_cli_backup_and_restore_hold_no_secret(oc_home: OpenClawHome) -> None:
    """The real CLI, which reads config.env (the key is a live setting there): `infra backup`
    and `infra backup restore --json`; and a recipient without pyrage is exit 78 naming
    the setting."""
    plant(oc_home)
    made = oc_home.run("backup", "--json")
    assert made.returncode == 0, made.stderr
    assert_no_secret((made.stdout + made.stderr).encode(), "the output")
    snap = catalog.find_snapshot(oc_home.settings().backups, json.loads(made.stdout)["id"])
    grep_snapshot(snap)
    target = oc_home.root / "cli-restore"
    restored = oc_home.run("backup", "restore", snap.id, "--target", str(target), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["secrets"]["reenter"] == LEFT_OUT
    grep_tree(target)

    no_pyrage = (
        "import sys; sys.modules['pyrage'] = None; from openclaw_infra.entry import main; main()"
    )
    env = {**oc_home.env, "OPENCLAW_INFRA_BACKUP_AGE_RECIPIENT": age_keys(oc_home)[0]}
    proc = subprocess.run(
        [sys.executable, "-c", no_pyrage, "backup"],
        capture_output=True,
        text=True,
        env=env,
        cwd=oc_home.root,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 78, proc.stderr
    assert "OPENCLAW_INFRA_BACKUP_AGE_RECIPIENT" in proc.stderr and "pyrage" in proc.stderr


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("OPENCLAW_INFRA_ANTHROPIC_API_KEY", True),
        ("anthropic_api_key", True),
        ("ANTHROPIC_API_KEY", True),
        ("GITHUB_TOKEN", True),
        ("OPENCLAW_INFRA_SOMETHING_SECRET", True),
        ("SMTP_PASSWORD", True),
        ("OPENAI_APIKEY", True),
        ("OPENCLAW_INFRA_RESTIC_PASSWORD_FILE", False),
        ("OPENCLAW_INFRA_LLM_MAX_TOKENS", False),
        ("OPENCLAW_INFRA_BACKUP_KEEP_LAST", False),
        ("OPENCLAW_INFRA_BACKUP_AGE_RECIPIENT", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_redaction_keeps_the_file_shape() -> None:
    """Blank lines and comments stay, secret values go, and a line that sets nothing (a
    pasted key, an unreadable line) goes whole."""
    text = f"A=1\n\n# note\n{API_KEY}\nB_TOKEN='{TOKEN}'\nbad line {OLD_KEY}\nC=3"
    redacted = redact_env(text)
    assert redacted.names == ["B_TOKEN"]
    assert_no_secret(redacted.text.encode(), "the redacted text")
    assert redacted.text.startswith("A=1\n\n# note\n# <a line") and redacted.text.endswith("C=3")
    assert os.linesep not in redacted.text.replace("\n", "")
