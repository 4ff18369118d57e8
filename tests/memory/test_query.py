"""`RecallQuery`: recall's command line read and checked once (dates, limits, kinds), its wire
form, its SQL, and the service's argv parser agreeing with the Typer command."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import typer.main

from openclaw_infra.cli import app
from openclaw_infra.core.errors import UsageError
from openclaw_infra.memory.query import OPTIONS, RecallQuery, parse_argv, parse_when

from conftest import OpenClawHome


def test_parse_when_forms(oc_home) -> None:  # type: ignore[no-untyped-def]
    """Dates are whole days in the user's zone; ages count back from now; junk is exit 2."""
    tz = oc_home.settings(timezone="Europe/Lisbon").tz
    start = parse_when("2026-07-01", tz)
    end = parse_when("2026-07-01", tz, end=True)
    assert start is not None and end is not None
    assert start.timestamp() == datetime(2026, 6, 30, 23, 0, tzinfo=UTC).timestamp()
    assert 86399 < end.timestamp() - start.timestamp() < 86400
    seven = parse_when("7d", tz)
    assert seven is not None and abs(seven.timestamp() - (time.time() - 7 * 86400)) < 5
    moment = parse_when("2026-07-01T10:00:00Z", tz)
    assert moment is not None
    assert moment.timestamp() == datetime(2026, 7, 1, 10, tzinfo=UTC).timestamp()
    assert parse_when(None, tz) is None
    with pytest.raises(UsageError):
        parse_when("next week", tz)


def test_every_date_form(oc_home) -> None:  # type: ignore[no-untyped-def]
    """today and yesterday are whole local days; a bare ISO time is local; ages take h, d
    and w in any case; blank means no bound."""
    tz = oc_home.settings(timezone="Asia/Tokyo").tz
    today = datetime.now(tz).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=tz)
    assert parse_when("today", tz) == midnight
    assert parse_when(" Yesterday ", tz) == midnight - timedelta(days=1)
    assert parse_when("yesterday", tz, end=True) == midnight - timedelta(microseconds=1)
    assert parse_when("2026-07-01T10:00", tz) == datetime(2026, 7, 1, 1, tzinfo=UTC)
    assert parse_when("2026-07-01T10:00+02:00", tz) == datetime(2026, 7, 1, 8, tzinfo=UTC)
    for text, seconds in (("12h", 12 * 3600), ("2W", 14 * 86400), ("3 d", 3 * 86400)):
        bound = parse_when(text, tz)
        assert bound is not None and abs(bound.timestamp() - (time.time() - seconds)) < 5
    assert parse_when("  ", tz) is None
    with pytest.raises(UsageError, match="--until"):
        parse_when("2026-13-01", tz, end=True)


@pytest.mark.parametrize("text", ["99999999d", "99999999999999999999h", "9999999999w"])
def test_an_absurd_age_is_a_usage_error_naming_the_option(oc_home, text: str) -> None:  # type: ignore[no-untyped-def]
    """An age beyond the calendar is exit 2 naming the option, not an OverflowError."""
    s = oc_home.settings()
    with pytest.raises(UsageError, match="--since") as info:
        RecallQuery.parse(s, "x", since=text)
    assert info.value.exit_code == 2
    with pytest.raises(UsageError, match="--until"):
        RecallQuery.parse(s, "x", until="9999-12-31")  # its end is past the last day


def test_the_cli_says_which_date_is_out_of_range(oc_home: OpenClawHome) -> None:
    """Through the real CLI: exit 2 and the option's name on stderr."""
    done = oc_home.run("recall", "x", "--since", "99999999d")
    assert done.returncode == 2 and "--since" in done.stderr


def test_limits_kinds_and_defaults(oc_home) -> None:  # type: ignore[no-untyped-def]
    """The limit defaults to the setting and must be 1-200; --max-chars at least 1; kinds
    come from the store and repeat once; an empty agent is no filter."""
    s = oc_home.settings(recall_limit=5)
    query = RecallQuery.parse(s, "x", sources=["memory", "voice", "memory"], agent="")
    assert query.limit == 5 and query.sources == ("memory", "voice") and query.agent is None
    assert RecallQuery.parse(oc_home.settings(), "x").limit == 8
    assert RecallQuery.parse(s, "x", limit=200, max_chars=1).limit == 200
    bad: list[tuple[dict[str, Any], str]] = [
        ({"limit": 0}, "--limit"),
        ({"limit": 201}, "--limit"),
        ({"max_chars": 0}, "--max-chars"),
        ({"sources": ["email"]}, "--source"),
    ]
    for options, flag in bad:
        with pytest.raises(UsageError, match=flag) as info:
            RecallQuery.parse(s, "x", **options)
        assert info.value.exit_code == 2


def test_wire_round_trip_and_refusals(oc_home) -> None:  # type: ignore[no-untyped-def]
    """`to_wire` is JSON values that `from_wire` reads back to the same query; unknown keys,
    bad values and zoneless dates are usage errors."""
    s = oc_home.settings(timezone="Europe/Lisbon")
    query = RecallQuery.parse(
        s, "", limit=3, since="7d", until="2026-07-01", sources=["session"], min_score=0.2
    )
    wire = query.to_wire()
    assert all(isinstance(v, str | int | float | list | type(None)) for v in wire.values())
    assert RecallQuery.from_wire("", wire) == query
    bad: list[Any] = [
        None,
        {"limit": 3, "colour": "red"},
        {"limit": 0},
        {"limit": "3"},
        {"limit": 3, "since": "2026-07-01T00:00:00"},
        {"limit": 3, "since": "soon"},
        {"limit": 3, "min_score": "high"},
        {"limit": 3, "sources": "memory"},
        {},
    ]
    for options in bad:
        with pytest.raises(UsageError):
            RecallQuery.from_wire("x", options)


def test_where_binds_every_filter(oc_home) -> None:  # type: ignore[no-untyped-def]
    """The SQL holds placeholders only; the bounds are the days' first and last instants."""
    s = oc_home.settings(timezone="UTC")
    query = RecallQuery.parse(
        s, "x", since="2026-07-01", until="2026-07-01", sources=["memory"], agent="main"
    )
    where, args = query.where("c")
    assert where == " AND c.ts >= ? AND c.ts <= ? AND c.kind IN (?) AND c.agent = ?"
    day = datetime(2026, 7, 1, tzinfo=UTC).timestamp()
    assert args[0] == day and 86399.99 < args[1] - day < 86400 and args[2:] == ["memory", "main"]
    assert query.filtered and not RecallQuery("x", 8).filtered
    assert RecallQuery("x", 8).where() == ("", [])


def _argvs() -> list[list[str]]:
    """Command lines around every option in the table, the awkward ones included."""
    values = ["3", " 7 ", "0", "-2", "3.0", "0.5", "1e2", "abc", "", "٣", "-x", "--", "memory"]
    cases: list[list[str]] = [
        [],
        ["q"],
        ["a", "b"],
        ["--", "-x"],
        ["-"],
        ["-5"],
        ["--help"],
        ["-h"],
        ["q", "--lim", "3"],
        ["q", "--nope"],
        ["q", "--source", "memory", "--source", "voice"],
        ["q", "--limit", "3", "--limit", "4"],
    ]
    for option in OPTIONS:
        if option.kind is bool:
            cases += [["q", option.flag], [option.flag, "q"], ["q", f"{option.flag}=1"]]
            continue
        cases += [["q", option.flag]]
        for value in values:
            cases += [["q", option.flag, value], [f"{option.flag}={value}", "q"]]
    return cases


def _click(argv: list[str]) -> dict[str, Any] | None:
    command = typer.main.get_command(app).commands["recall"]  # type: ignore[attr-defined]
    try:
        params = dict(command.make_context("recall", argv, help_option_names=[]).params)
    except Exception:  # click's usage errors
        return None
    return {k: list(v) if isinstance(v, tuple | list) else v for k, v in params.items()}


def _service(argv: list[str]) -> dict[str, Any] | None:
    try:
        return parse_argv(argv)
    except UsageError:
        return None


@pytest.mark.parametrize("argv", _argvs(), ids=" ".join)
def test_service_and_cli_read_argv_alike(argv: list[str]) -> None:
    """The service's parser and the Typer command, both built from `OPTIONS`, accept the
    same command lines with the same values (help is declined by the service by design, so
    it is compared with help turned off)."""
    assert _service(argv) == _click(argv)


def test_the_table_is_the_command(oc_home) -> None:  # type: ignore[no-untyped-def]
    """Every option in the table is a parameter of the command, and nothing else is."""
    command = typer.main.get_command(app).commands["recall"]  # type: ignore[attr-defined]
    flags = {opt for param in command.params for opt in param.opts if opt.startswith("--")}
    assert flags == {option.flag for option in OPTIONS}
