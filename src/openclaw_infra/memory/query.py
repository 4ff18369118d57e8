"""`infra recall`'s query: its command line read once, checked once, carried to SQL.

`OPTIONS` is the one list of recall's options. The Typer command (commands/recall.py) builds
its signature from it, and `parse_argv`, the resident service's parser of a whole command
line, reads argv by it, so the console script's fast path and the full CLI accept the same
command lines. Values become a `RecallQuery` at that edge: dates are resolved in the user's
zone, the limit defaults to the `recall_limit` setting, kinds are checked; the search, the
service's wire format and the SQL filters all read that one object.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from openclaw_infra.core.errors import UsageError

if TYPE_CHECKING:
    from typing import Self

    from openclaw_infra.core.config import Settings

LIMIT_MAX = 200


def whole_number(text: str) -> int:
    """An integer option's value, ASCII only (int() alone reads other scripts' digits too)."""
    if text.isascii():
        try:
            return int(text)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a whole number")


def number(text: str) -> float:
    """A number option's value (ASCII, as float() reads it)."""
    if text.isascii():
        try:
            return float(text)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a number")


@dataclass(frozen=True)
class Option:
    """One option of `infra recall`: `name` is its parameter (a `RecallQuery` field, or
    as_json, batch, no_service); a `bool` kind is a flag, which takes no value."""

    flag: str
    name: str
    help: str
    kind: type = str
    metavar: str = ""
    repeatable: bool = False

    @property
    def convert(self) -> Callable[[str], Any] | None:
        """The reader of a non-text value (None for text and flags)."""
        return {int: whole_number, float: number}.get(self.kind)

    def read(self, raw: str) -> Any:
        convert = self.convert
        if convert is None:
            return raw
        try:
            return convert(raw)
        except ValueError as exc:
            raise UsageError(f"{self.flag}: {exc}") from None


# What a result can be; the store records it per document. Here, not in the store, so that
# building the CLI (and `infra --help`) imports neither the store nor pydantic.
KINDS = ("session", "memory", "voice", "summary")
OPTIONS = (
    Option(
        "--limit",
        "limit",
        f"Results, 1-{LIMIT_MAX} (default: the OPENCLAW_INFRA_RECALL_LIMIT setting).",
        int,
        "N",
    ),
    Option("--json", "as_json", "Print one JSON object.", bool),
    Option(
        "--since",
        "since",
        "Only notes from this date on: YYYY-MM-DD, ISO time, "
        "today, yesterday, or an age such as 7d.",
        metavar="DATE",
    ),
    Option("--until", "until", "Only notes up to this date (inclusive).", metavar="DATE"),
    Option(
        "--source",
        "sources",
        f"Only this kind: {', '.join(KINDS)} (repeatable).",
        metavar="KIND",
        repeatable=True,
    ),
    Option("--agent", "agent", "Only this agent's sessions.", metavar="ID"),
    Option(
        "--exclude-session",
        "exclude_sessions",
        "Never return chunks of this session (repeatable), e.g. the one searching now.",
        metavar="ID",
        repeatable=True,
    ),
    Option("--min-score", "min_score", "Drop results scoring below this (0-1).", float, "X"),
    Option(
        "--max-chars",
        "max_chars",
        "Cap the total characters of returned texts (later results dropped, the last one cut).",
        int,
        "N",
    ),
    Option(
        "--batch",
        "batch",
        "One query per line; prints one JSON object per line, in order.",
        metavar="FILE|-",
    ),
    Option(
        "--no-service",
        "no_service",
        "Search in this process even when `infra serve` is up (same results, slower).",
        bool,
    ),
)
_BY_FLAG = {option.flag: option for option in OPTIONS}


def parse_argv(argv: Sequence[str]) -> dict[str, Any]:
    """`infra recall ARGV` read as the Typer command reads it: long options only, as
    `--opt VALUE` or `--opt=VALUE` (a value may start with `-`), `--` ending the options, at
    most one QUERY (`query`, None when absent). Anything else is a UsageError, `--help`
    among them: the service never prints help."""
    params: dict[str, Any] = {
        o.name: [] if o.repeatable else False if o.kind is bool else None for o in OPTIONS
    }
    words: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":
            words.extend(args)
        elif arg.startswith("-") and arg != "-":
            flag, has_value, inline = arg.partition("=")
            option = _BY_FLAG.get(flag)
            if option is None:
                raise UsageError(f"no such option: {flag}")
            if option.kind is bool:
                if has_value:
                    raise UsageError(f"{flag} takes no value")
                params[option.name] = True
                continue
            raw = inline if has_value else next(args, None)
            if raw is None:
                raise UsageError(f"{flag} needs a value")
            if option.repeatable:
                params[option.name].append(option.read(raw))
            else:
                params[option.name] = option.read(raw)
        else:
            words.append(arg)
    if len(words) > 1:
        raise UsageError(f"one QUERY only, got {len(words)}")
    params["query"] = words[0] if words else None
    return params


_AGE = re.compile(r"(\d+)\s*([hdw])")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str | None, tz: tzinfo, *, end: bool = False) -> datetime | None:
    """`--since`, or with `end` `--until`: YYYY-MM-DD, `today` or `yesterday` (a whole day in
    the user's zone, inclusive), an ISO date-time (in that zone unless it names one) or an age
    such as `7d`, `12h`, `2w`. An aware UTC datetime; None when blank."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    option = "--until" if end else "--since"
    try:
        return _moment(value, tz, end).astimezone(UTC)
    except OverflowError:
        raise UsageError(f"{option}: {value!r} is out of range") from None
    except ValueError:
        raise UsageError(
            f"{option}: cannot read the date {value!r}",
            hint="use YYYY-MM-DD, an ISO date-time, today, yesterday or 7d",
        ) from None


def _moment(value: str, tz: tzinfo, end: bool) -> datetime:
    now = datetime.now(tz)
    age = _AGE.fullmatch(value.lower())
    if age:
        return now - timedelta(**{_UNITS[age[2]]: int(age[1])})
    if value.lower() in ("today", "yesterday"):
        day = now.date() - timedelta(days=1 if value.lower() == "yesterday" else 0)
        return _day_bound(day, tz, end)
    if _DAY.fullmatch(value):
        return _day_bound(date.fromisoformat(value), tz, end)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _day_bound(day: date, tz: tzinfo, end: bool) -> datetime:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    if not end:
        return start
    # the instant before the next midnight, whatever the zone's offsets on the way
    next_day = datetime.fromtimestamp((start + timedelta(days=1)).timestamp(), UTC)
    return next_day - timedelta(microseconds=1)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    """A real number other than NaN and ±inf (float() reads "nan" and "inf" too)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class RecallQuery:
    """One recall, checked when built: the text and every filter.

    `since`/`until` are aware datetimes, both inclusive (a day given on the command line
    spans its first to its last instant in the user's zone)."""

    text: str
    limit: int
    since: datetime | None = None
    until: datetime | None = None
    sources: tuple[str, ...] = ()
    agent: str | None = None
    exclude_sessions: tuple[str, ...] = ()
    min_score: float | None = None
    max_chars: int | None = None

    def __post_init__(self) -> None:
        if not _whole(self.limit) or not 1 <= self.limit <= LIMIT_MAX:
            raise UsageError(f"--limit must be from 1 to {LIMIT_MAX}, not {self.limit!r}")
        if self.max_chars is not None and (not _whole(self.max_chars) or self.max_chars < 1):
            raise UsageError(f"--max-chars must be at least 1, not {self.max_chars!r}")
        if self.min_score is not None and not _finite(self.min_score):
            raise UsageError(f"--min-score must be a finite number, not {self.min_score!r}")
        for flag, moment in (("--since", self.since), ("--until", self.until)):
            if moment is not None and (not isinstance(moment, datetime) or moment.tzinfo is None):
                raise UsageError(f"{flag} must be a date with a time zone, not {moment!r}")
        if self.agent is not None and not isinstance(self.agent, str):
            raise UsageError(f"--agent must be text, not {self.agent!r}")
        if not all(isinstance(s, str) and s for s in self.exclude_sessions):
            raise UsageError(
                f"--exclude-session must be a session id, not {self.exclude_sessions!r}"
            )
        unknown = [kind for kind in self.sources if kind not in KINDS]
        if unknown:
            raise UsageError(
                f"unknown --source {unknown[0]!r}", hint="choose from " + ", ".join(KINDS)
            )

    @classmethod
    def parse(cls, settings: Settings, text: str, **options: Any) -> Self:
        """From command-line values, by field name (None: not given)."""
        given = {name: value for name, value in options.items() if value is not None}
        given.setdefault("limit", settings.recall_limit)
        for name in ("since", "until"):
            if name in given:
                given[name] = parse_when(given[name], settings.tz, end=name == "until")
        for name in ("sources", "exclude_sessions"):
            given[name] = tuple(dict.fromkeys(given.get(name, ())))
        given["agent"] = given.get("agent") or None
        return cls(text, **given)

    def to_wire(self) -> dict[str, Any]:
        """The options as JSON values, for the service's `recall` op (texts travel apart)."""
        wire = {name: getattr(self, name) for name in WIRE_FIELDS}
        for name in ("since", "until"):
            if wire[name] is not None:
                wire[name] = wire[name].isoformat()
        wire["sources"] = list(self.sources)
        wire["exclude_sessions"] = list(self.exclude_sessions)
        return wire

    @classmethod
    def from_wire(cls, text: str, wire: Any) -> Self:
        """`to_wire`'s output read back; anything else is a UsageError."""
        if not isinstance(wire, dict) or not set(wire) <= set(WIRE_FIELDS):
            raise UsageError(f"'options' may only hold {', '.join(WIRE_FIELDS)}")
        values = dict(wire)
        try:
            for name in ("since", "until"):
                if values.get(name) is not None:
                    moment = datetime.fromisoformat(values[name])
                    if moment.tzinfo is None:
                        raise ValueError(f"{name} names no time zone")
                    values[name] = moment.astimezone(UTC)  # as parse_when gives it
            for name in ("sources", "exclude_sessions"):
                listed = values.get(name) or ()
                if not isinstance(listed, list | tuple):
                    raise ValueError(f"{name} must be a list")
                values[name] = tuple(listed)
            return cls(text, **values)
        except (TypeError, ValueError, OverflowError) as exc:
            raise UsageError(f"bad recall options: {exc}") from None

    @property
    def filtered(self) -> bool:
        return bool(
            self.since is not None
            or self.until is not None
            or self.sources
            or self.agent
            or self.exclude_sessions
        )

    def where(self, alias: str = "c") -> tuple[str, list[Any]]:
        """The filters as SQL on the chunks table: ` AND …` conditions and their arguments."""
        parts: list[str] = []
        args: list[Any] = []
        if self.since is not None:
            parts.append(f"{alias}.ts >= ?")
            args.append(self.since.timestamp())
        if self.until is not None:
            parts.append(f"{alias}.ts <= ?")
            args.append(self.until.timestamp())
        if self.sources:
            parts.append(f"{alias}.kind IN ({','.join('?' * len(self.sources))})")
            args.extend(self.sources)
        if self.agent:
            parts.append(f"{alias}.agent = ?")
            args.append(self.agent)
        if self.exclude_sessions:
            marks = ",".join("?" * len(self.exclude_sessions))
            parts.append(f"({alias}.session_id IS NULL OR {alias}.session_id NOT IN ({marks}))")
            args.extend(self.exclude_sessions)
        return "".join(" AND " + p for p in parts), args


WIRE_FIELDS = tuple(f.name for f in fields(RecallQuery) if f.name != "text")


def query_of(settings: Settings, params: Mapping[str, Any]) -> RecallQuery:
    """The query of parsed `infra recall` parameters (the command's or `parse_argv`'s); with
    --batch the text is empty and each line of the batch replaces it."""
    options = {name: params[name] for name in WIRE_FIELDS}
    return RecallQuery.parse(settings, params["query"] or "", **options)
