"""Taking feedback in: a pressed button's value, or what the user said in words.

Both end in `store.record`. A refused value stores nothing but a count of its reason (for
health); the error says in one line why, and its exit code is the table's: 65 for a value
that is forged, expired, malformed or names a target this install never issued, 75 when a
rate limit is reached, 2 for a bad option.
"""

from __future__ import annotations

import time

import structlog

from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect
from openclaw_infra.feedback import store, targets, tokens
from openclaw_infra.feedback.keys import load_keys
from openclaw_infra.feedback.records import (
    UNKNOWN_TARGET,
    RateLimitedError,
    RefusedError,
    check_channel,
    check_note,
    check_verdict,
)

log = structlog.get_logger("infra.feedback")


def limits_of(settings: Settings) -> store.Limits:
    return store.Limits(settings.feedback_max_per_target_per_day, settings.feedback_max_per_day)


def record_value(
    settings: Settings, raw: str, *, channel: str | None = None, now: float | None = None
) -> store.Recorded:
    """Record the button value `raw` (as it arrived: `callback_data: ` allowed); a replay
    returns the stored record with `already=True`."""
    moment = time.time() if now is None else now
    channel = check_channel(channel)
    conn = connect(settings.db_path)
    try:
        try:
            button = tokens.verify(load_keys(settings, now=moment), raw)
            found = store.find_token(conn, button.token_id)
            if found is not None:
                return store.Recorded(found, already=True)
            if moment >= button.expires_at:
                raise tokens.expired_error(button)
            target = targets.resolve_field(conn, button.field)
            if target is None:
                raise RefusedError(
                    UNKNOWN_TARGET,
                    f"feedback value refused: its target {button.field} is not in this "
                    "install's table of long targets",
                    hint="infra.sqlite was restored from before the button was made",
                )
            recorded = store.record(
                conn,
                target=target,
                verdict=button.verdict,
                limits=limits_of(settings),
                channel=channel,
                token_id=button.token_id,
                now=moment,
            )
        except (RefusedError, RateLimitedError) as exc:
            store.count_refusal(conn, exc.reason, moment)
            log.warning("feedback.refused", reason=exc.reason, channel=channel)
            raise
    finally:
        conn.close()
    _log(recorded, "button", old_key=button.old_key)
    return recorded


def record_words(
    settings: Settings,
    target: str,
    verdict: str,
    *,
    note: str | None = None,
    channel: str | None = None,
    now: float | None = None,
) -> store.Recorded:
    """Record feedback given in words (`--target --verdict [--note]`): the same checks
    and limits as a button, without a token."""
    target = targets.check_target(target)
    verdict = check_verdict(verdict)
    note = check_note(note)
    channel = check_channel(channel)
    moment = time.time() if now is None else now
    conn = connect(settings.db_path)
    try:
        try:
            recorded = store.record(
                conn,
                target=target,
                verdict=verdict,
                limits=limits_of(settings),
                channel=channel,
                note=note,
                now=moment,
            )
        except RateLimitedError as exc:
            store.count_refusal(conn, exc.reason, moment)
            log.warning("feedback.refused", reason=exc.reason, channel=channel)
            raise
    finally:
        conn.close()
    _log(recorded, "words", old_key=False)
    return recorded


def _log(recorded: store.Recorded, source: str, *, old_key: bool) -> None:
    # the note is the user's words: never in the log, only its presence
    rec = recorded.record
    log.info(
        "feedback.recorded",
        id=rec.id,
        target=rec.target,
        verdict=rec.verdict,
        channel=rec.channel,
        source=source,
        has_note=rec.note is not None,
        replay=recorded.already,
        old_key=old_key,
    )


def answer(recorded: store.Recorded) -> str:
    """The one line the agent answers with."""
    rec = recorded.record
    if recorded.already:
        return f"already recorded: {rec.verdict} on {rec.target} (feedback #{rec.id}, {rec.when})"
    return f"recorded: {rec.verdict} on {rec.target} (feedback #{rec.id})"
