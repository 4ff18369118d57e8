"""A mistyped option names the real one, in Typer's usage-error form, exit 2."""

from __future__ import annotations

import pytest

from openclaw_infra.cli import closest_options, main

from conftest import OpenClawHome


@pytest.mark.parametrize(
    ("argv", "usage", "suggested"),
    [
        # difflib alone offers --json here (the shared dashes score): the first letter wins
        (["backup", "restore", "latest", "--to", "/tmp/x"], "infra backup restore", "--target"),
        (["backup", "restore", "latest", "--in"], "infra backup restore", "--in-place"),
        (["backup", "restore", "latest", "-t", "/tmp/x"], "infra backup restore", "--target"),
        (["health", "--quite"], "infra health", "--quiet"),
        (["recall", "--limt", "3", "what"], "infra recall", "--limit"),
        (["summarize", "--hourz", "3"], "infra summarize", "--max-hours"),
        (["prune", "--dryrun"], "infra prune", "--dry-run"),
        (["--verison"], "infra", "--version"),
    ],
)
def test_a_typo_names_the_real_option(
    oc_home: OpenClawHome,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    usage: str,
    suggested: str,
) -> None:
    """Each command's unknown option gets the closest real option (and nothing else),
    printed as Typer's usage error, exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Usage: {usage} [OPTIONS]")
    typo = next(a for a in argv if a.startswith("-"))
    assert f"Error: No such option: {typo} (Possible options: {suggested})" in err


def test_no_close_option_lists_a_short_command_s_options(
    oc_home: OpenClawHome, capsys: pytest.CaptureFixture[str]
) -> None:
    """With nothing alike, a command with few options lists them all (never --help)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["prune", "--zzz"])
    assert exit_info.value.code == 2
    assert "No such option: --zzz (Possible options: --dry-run, --json)" in capsys.readouterr().err


def test_ranking() -> None:
    """Prefixes first, then spelling, then one word of a name, then the first letter."""
    names = ["--target", "--in-place", "--yes", "--json", "--no-service"]
    assert closest_options("--to", names) == ["--target"]
    assert closest_options("--jsonl", names) == ["--json"]
    assert closest_options("--servce", names) == ["--no-service"]
    assert closest_options("--", names) == []
    assert closest_options("--qqq", [*names, "--a", "--b"]) == []  # too many to list
