"""`weekly-synthesis` end to end in-process: dailies made by the real daily-sync, then three
passes through the real SDK against the fake Messages API with a scripted answer per pass,
the grounding check on real files, budgets with map-reduce, DST and ISO week 53."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from digest_env import (
    CRITIQUE,
    DAILY,
    DRAFT,
    REFINE,
    daily_path,
    daily_sync,
    local,
    sections,
    summarize_until,
    talk,
    weekly_path,
    weekly_synthesis,
)
from openclaw_infra.core.checks import WARNING, HealthContext, open_readonly
from openclaw_infra.core.ledger import get_watermark
from openclaw_infra.llm.tokens import REQUEST_OVERHEAD_TOKENS, estimate_tokens
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.pipeline.checks import check_daily, check_weekly
from openclaw_infra.pipeline.weekly.grounding import Grounder
from openclaw_infra.pipeline.weekly.run import DailyLine, read_daily
from summarize_env import SummarizeEnv, bullets, citations, make_env, split_file

from conftest import OpenClawHome

MON, WED, SUN = date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 8)
WEEK = "2026-W10"


@pytest.fixture
def env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SummarizeEnv]:
    yield from make_env(oc_home, monkeypatch)


def week_of_dailies(env: SummarizeEnv) -> dict[str, int]:
    """Dailies for Monday and Wednesday (scripted digests), and the ref each daily line
    gets in the weekly passes, keyed by a word it contains."""
    talk(env, "s1", MON, ["We decided to paint the shed green on Saturday.", "Alice sends it."])
    talk(env, "s2", WED, ["Alice reviewed the API design.", "The API ships before tests."])
    summarize_until(env, local(WED, 21, 30))
    env.fake.reply_when(
        DAILY,
        "- SUMMARY: The user decided to paint the shed green on Saturday. [1]\n"
        "- ACTION: Send the invoice to Acme | owner: Alice | due: 2026-03-06 | status: open [2]",
        "- SUMMARY: Alice reviewed the API design with the team. [1]\n"
        "- DECISION: The API ships before the tests. [2]",
    )
    daily_sync(env.settings(), now=local(SUN, 21, 30), embedder=HashEmbedder)
    lines: list[DailyLine] = []
    for day in (MON, WED):
        rel = f"memory/daily/{day}.md"
        lines += read_daily(rel, daily_path(env, day).read_text(), day.isoformat())
    inputs = [line for line in lines if not line.carried]
    refs = {}
    for word in ("shed", "invoice", "reviewed", "ships"):
        (ref,) = [n for n, line in enumerate(inputs, 1) if word in line.text]
        refs[word] = ref
    return refs


def request_of(env: SummarizeEnv, marker: str) -> str:
    (body,) = [r for r in env.fake.stats.requests if marker in r["system"]]
    return str(body["messages"][0]["content"])


def test_three_passes_critique_flags_a_claim_and_refine_drops_it(env: SummarizeEnv) -> None:
    """Pass 1 drafts a claim no daily supports; pass 2 (critique) flags it, seeing the
    numbered draft and the daily items as delimited data; pass 3 (refine) gets the draft
    and the critique and drops it. The file keeps only linked, supported bullets, carries
    the open action item forward, and its frontmatter lists each pass with its tokens."""
    refs = week_of_dailies(env)
    env.fake.reply_when(
        DRAFT,
        f"- SUMMARY: The shed is to be painted green on Saturday. [{refs['shed']}]\n"
        f"- SUMMARY: The user moved to Berlin. [{refs['reviewed']}]\n"
        f"- DECISION: The API ships before the tests. [{refs['ships']}]",
    )
    env.fake.reply_when(CRITIQUE, "- UNSUPPORTED: D2: no daily says the user moved to Berlin")
    env.fake.reply_when(
        REFINE,
        f"- SUMMARY: The shed is to be painted green on Saturday. [{refs['shed']}]\n"
        f"- DECISION: The API ships before the tests. [{refs['ships']}]\n"
        f"- NEXT: Alice sends the invoice to Acme. [{refs['invoice']}]",
    )
    before = env.fake.stats.tokens_in, env.fake.stats.tokens_out
    report = weekly_synthesis(env.settings(), now=local(SUN, 22, 30), embedder=HashEmbedder)
    assert report.weeks == [WEEK] and (report.kept, report.dropped) == (3, 0)
    critique = request_of(env, "You critique")
    assert "<draft>\nD1. SUMMARY: The shed" in critique
    assert "D2. SUMMARY: The user moved to Berlin." in critique
    assert "<transcript>" in critique
    refine = request_of(env, REFINE)
    assert "<critique>\n- UNSUPPORTED: D2: no daily says the user moved to Berlin" in refine
    text = weekly_path(env, WEEK).read_text()
    front, body = split_file(text)
    assert "Berlin" not in body
    got = sections(text)
    assert got["Summary"][0].startswith("- The shed is to be painted green on Saturday.")
    (shed_link,) = citations(got["Summary"][0])
    path, line = shed_link.split("#L")
    assert "shed green" in (env.home.workspace / path).read_text().splitlines()[int(line) - 1]
    assert got["Decisions"][0].startswith("- The API ships before the tests.")
    assert got["Next week"][0].startswith("- Alice sends the invoice to Acme.")
    (carried,) = got["Open action items"]
    assert "Send the invoice to Acme · owner: Alice · due: 2026-03-06 · status: open" in carried
    assert citations(carried) and citations(carried)[0].startswith("memory/daily/2026-03-04.md")
    for bullet in bullets(body):
        assert citations(bullet), bullet
    assert [p["pass"] for p in front["passes"]] == ["draft", "critique", "refine"]
    assert all(p["llm_calls"] == 1 and p["tokens"]["input"] > 0 for p in front["passes"])
    assert front["tokens"] == {
        "input": env.fake.stats.tokens_in - before[0],
        "output": env.fake.stats.tokens_out - before[1],
    }
    assert front["critique"] == {"unsupported": 1, "missing": 0, "contradiction": 0}
    assert front["dropped_claims"] == 0 and front["grounding"]["kept"] == 3
    assert [s["day"] for s in front["sources"]] == ["2026-03-02", "2026-03-04"]
    assert front["period"] == {
        "start": "2026-03-02T00:00:00+00:00",
        "end": "2026-03-09T00:00:00+00:00",
    }


def health(env: SummarizeEnv, **settings: Any) -> dict[str, tuple[int, str, dict[str, Any]]]:
    s = env.settings(**settings)
    conn = open_readonly(s)
    ctx = HealthContext(s, conn)  # now: the files were written seconds ago, in March 2026
    out = {c.name: (c.state, c.summary, c.perf) for c in (check_daily(ctx), check_weekly(ctx))}
    if conn is not None:
        conn.close()
    return out


def test_grounding_drops_what_the_refine_kept_and_counts_it(env: SummarizeEnv) -> None:
    """If the refine keeps an unsupported claim, the grounding check drops it: a claim its
    cited daily line does not state, and one with a number no cited line holds. Both are
    counted in the frontmatter by reason, and `infra health` reports the count."""
    refs = week_of_dailies(env)
    env.fake.reply_when(DRAFT, f"- SUMMARY: The shed is green. [{refs['shed']}]")
    env.fake.reply_when(CRITIQUE, "NO ISSUES")
    env.fake.reply_when(
        REFINE,
        f"- SUMMARY: The shed is to be painted green on Saturday. [{refs['shed']}]\n"
        f"- SUMMARY: The user moved to Berlin. [{refs['shed']}]\n"
        f"- SUMMARY: The invoice to Acme was 4000 euros. [{refs['invoice']}]",
    )
    report = weekly_synthesis(env.settings(), now=local(SUN, 22, 30), embedder=HashEmbedder)
    assert (report.kept, report.dropped) == (1, 2)
    text = weekly_path(env, WEEK).read_text()
    front, body = split_file(text)
    assert "Berlin" not in body and "4000" not in body
    assert front["dropped_claims"] == 2
    assert front["grounding"]["reasons"] == {"number_not_in_source": 1, "unsupported": 1}
    checks = health(env)
    state, summary, perf = checks["weekly:last"]
    assert state == WARNING and "dropped 2 claim(s)" in summary
    assert perf["weekly_dropped_claims"] == 2 and perf["weekly_last_age_s"] >= 0
    state, summary, perf = checks["daily:last"]
    assert state == WARNING and summary.startswith("last daily 2026-03-04 written ")
    assert perf["daily_owed_days"] > 200  # it is November for the health check
    # a rerun has nothing owed and changes nothing
    before = text
    again = weekly_synthesis(env.settings(), now=local(SUN, 23, 0), embedder=HashEmbedder)
    assert again.weeks == [] and weekly_path(env, WEEK).read_text() == before


def test_long_week_is_map_reduced_within_the_budget_per_pass(env: SummarizeEnv) -> None:
    """With a small input budget every request of every pass stays under it: the draft is
    mapped over several chunks and reduced, the critique sees the week in several shares;
    the frontmatter counts the requests per pass."""
    people = ("Alice", "Bob", "Carla", "Dmitri", "Erin", "Farid", "Gwen", "Hiro")
    things = ("roof", "garden", "taxes", "invoice", "garage", "website", "boat", "piano")
    for offset in range(5):
        day = MON + timedelta(days=offset)
        for hour in range(9, 13):
            said = [
                f"We agreed that {who} handles the {what} for project {offset}{hour}{n}."
                for n, (who, what) in enumerate(
                    zip(people, things[hour % 8 :] + things, strict=False)
                )
            ]
            talk(env, f"s{day.day}-{hour}", day, said, hour=hour)
    summarize_until(env, local(SUN, 21, 30), summarizer="extractive")
    daily_sync(env.settings(summarizer="extractive"), now=local(SUN, 21, 30), embedder=HashEmbedder)
    budget, max_tokens = 1400, 300  # outputs fit max_tokens: no continuation turns
    report = weekly_synthesis(
        env.settings(llm_input_budget_tokens=budget, llm_max_tokens=max_tokens),
        now=local(SUN, 22, 30),
        embedder=HashEmbedder,
    )
    assert report.weeks == [WEEK]
    for request in env.fake.stats.requests:
        sent = REQUEST_OVERHEAD_TOKENS + estimate_tokens(request["system"])
        sent += sum(estimate_tokens(m["content"]) + 4 for m in request["messages"])
        assert sent <= budget
    front, _ = split_file(weekly_path(env, WEEK).read_text())
    passes = {p["pass"]: p for p in front["passes"]}
    assert passes["draft"]["requests"] > 2 and passes["critique"]["requests"] > 1
    assert any(flag.startswith("map_reduce:") for flag in front["flags"])


BERLIN = "Europe/Berlin"


def test_weeks_across_a_dst_change_and_iso_week_53(env: SummarizeEnv) -> None:
    """In Europe/Berlin: 2026-W13 ends on the night clocks go forward (a 167-hour week whose
    Sunday daily is 23 hours), and 2026-W53 runs from 2026-12-28 to 2027-01-03 across the
    new year. A week waits while its Sunday is not digested; weeks between are empty, done
    and write nothing."""
    tz = {"timezone": BERLIN}
    sat, sun = date(2026, 3, 28), date(2026, 3, 29)
    talk(env, "s1", sat, ["We decided to plant tomatoes.", "Good idea."], tz=BERLIN)
    talk(env, "s2", sun, ["Clocks moved; we agreed to water at 8.", "OK."], tz=BERLIN)
    summarize_until(env, local(sun, 21, 30, BERLIN), **tz)
    daily_sync(env.settings(**tz), now=local(sat, 21, 30, BERLIN), embedder=HashEmbedder)
    waiting = weekly_synthesis(
        env.settings(**tz), now=local(sun, 22, 30, BERLIN), embedder=HashEmbedder
    )
    assert waiting.weeks == [] and waiting.waiting == ["2026-W13"]
    daily_sync(env.settings(**tz), now=local(sun, 21, 30, BERLIN), embedder=HashEmbedder)
    front, _ = split_file(daily_path(env, sun).read_text())
    assert front["period"] == {
        "start": "2026-03-29T00:00:00+01:00",
        "end": "2026-03-30T00:00:00+02:00",
    }
    done = weekly_synthesis(
        env.settings(**tz), now=local(sun, 22, 30, BERLIN), embedder=HashEmbedder
    )
    assert done.weeks == ["2026-W13"]
    front, _ = split_file(weekly_path(env, "2026-W13").read_text())
    assert front["period"] == {
        "start": "2026-03-23T00:00:00+01:00",
        "end": "2026-03-30T00:00:00+02:00",
    }
    thu, sat2, sun2 = date(2026, 12, 31), date(2027, 1, 2), date(2027, 1, 3)
    talk(env, "s3", thu, ["We decided to host the party at home.", "Fine."], tz=BERLIN)
    talk(env, "s4", sat2, ["We agreed to take the tree down on Monday.", "OK."], tz=BERLIN)
    summarize_until(env, local(sun2, 21, 30, BERLIN), **tz)
    daily_sync(env.settings(**tz), now=local(sun2, 21, 30, BERLIN), embedder=HashEmbedder)
    report = weekly_synthesis(
        env.settings(**tz), now=local(sun2, 22, 30, BERLIN), embedder=HashEmbedder
    )
    assert report.weeks[0] == "2026-W14" and report.weeks[-1] == "2026-W53"
    assert report.files == ["memory/weekly/2026-W53.md"]
    assert report.empty_weeks == len(report.weeks) - 1
    front, body = split_file(weekly_path(env, "2026-W53").read_text())
    assert front["week"] == "2026-W53"
    assert front["period"] == {
        "start": "2026-12-28T00:00:00+01:00",
        "end": "2027-01-04T00:00:00+01:00",
    }
    assert [s["day"] for s in front["sources"]] == ["2026-12-31", "2027-01-02"]
    assert "(2026-12-28 to 2027-01-03)" in body
    conn = env.db()
    assert get_watermark(conn, "weekly-synthesis", "week") == "2026-W53"
    conn.close()


def test_grounding_rules(tmp_path: Path) -> None:
    """A citation must name an existing daily or hourly line in range; the claim's numbers
    must be in it and half its content words, unless an embedding says it is a paraphrase
    (and it shares a word); a citation outside memory/daily|hourly never counts."""
    import numpy as np

    daily = tmp_path / "memory" / "daily" / "2026-03-02.md"
    daily.parent.mkdir(parents=True)
    daily.write_text("# Daily\n- We agreed to paint the shed green by 2026-03-07. [s1#a]\n")
    link = "memory/daily/2026-03-02.md#L2"
    plain = Grounder(tmp_path)
    assert plain.check("The shed will be painted green.", [link]).supported
    assert plain.check("Shed painted green by 2026-03-07.", [link]).supported
    assert plain.check("Shed painted green by 2026-03-08.", [link]).reason == "number_not_in_source"
    assert plain.check("The user moved to Berlin.", [link]).reason == "unsupported"
    assert plain.check("The shed is green.", ["memory/daily/2026-03-02.md#L9"]).reason == (
        "missing_source"
    )
    assert plain.check("The shed is green.", ["memory/daily/2026-03-03.md#L2"]).reason == (
        "missing_source"
    )
    assert plain.check("The shed is green.", ["../secrets.md#L1"]).reason == "missing_source"
    assert plain.check("The shed is green.", []).reason == "no_citation"

    def close(texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), 2), dtype=np.float32) / np.sqrt(2)

    paraphrase = "A fresh coat for the shed was settled on."
    assert plain.check(paraphrase, [link]).reason == "unsupported"
    assert Grounder(tmp_path, close).check(paraphrase, [link]).supported
    assert not Grounder(tmp_path, close).check("Tax return filed.", [link]).supported
