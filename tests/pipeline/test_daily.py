"""`daily-sync` end to end in-process: real transcripts, the real `summarize` for the hourly
notes, the real anthropic SDK against the fake Messages API with scripted answers, real
SQLite and files. Sections and provenance, tracked items, catch-up, crash safety."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date

import pytest

from digest_env import (
    DAILY,
    HOURLY,
    daily_path,
    daily_sync,
    local,
    memory_files,
    priorities_path,
    sections,
    summarize_until,
    talk,
)
from openclaw_infra.core.errors import TempFailError
from openclaw_infra.core.jobs import run_job
from openclaw_infra.core.ledger import get_watermark, last_runs
from openclaw_infra.llm.client import LLM, AnthropicClient, Completion, Pricing
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.pipeline.daily.digest import DAILY_DIGEST
from openclaw_infra.pipeline.daily.run import DailyRun
from openclaw_infra.pipeline.digest_records import load_items
from openclaw_infra.pipeline.summarizer import LLMSummarizer
from openclaw_infra.services import llm_client
from summarize_env import SummarizeEnv, bullets, citations, ids, make_env, split_file

from conftest import OpenClawHome
from fake_anthropic import FakeAnthropic
from openclaw_fixtures import write_jsonl_session

MON, TUE, WED, THU, FRI = (date(2026, 3, d) for d in range(2, 7))
ID = re.compile(r"^- `(A|P)-[0-9a-f]{6}` ")


@pytest.fixture
def env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SummarizeEnv]:
    yield from make_env(oc_home, monkeypatch)


def two_agents_monday(env: SummarizeEnv) -> None:
    """Monday 09:00 with agent main (s1, and a compaction) and 10:00 with agent work (w1);
    the hourly notes are scripted so the daily's refs are known: 1-3 main, 4-5 work, then
    the compaction summary itself as ref 6."""
    talk(
        env,
        "s1",
        MON,
        [
            "We decided to paint the shed green on Saturday.",
            "Alice will send the invoice by Friday.",
            ("compaction", "## Decisions\n- Ship the API first.\n## Open TODOs\n- Book flights."),
        ],
    )
    talk(
        env,
        "w1",
        MON,
        ["Alice reviewed the API design with the team.", "The team will paint the shed green."],
        agent="work",
        hour=10,
    )
    env.fake.reply_when(
        HOURLY,
        "- The user decided to paint the shed green on Saturday. [1]\n"
        "- Alice will send the invoice by Friday. [2]\n"
        "- Shipping the API comes first. [3]",
        "- Alice reviewed the API design with the team. [1]\n"
        "- The team will paint the shed green too. [2]",
    )
    summarize_until(env, local(MON, 21, 30))


MONDAY_DIGEST = "\n".join(
    [
        "- SUMMARY: The shed gets painted green on Saturday and the API ships first. [1, 3]",
        "- DECISION: Paint the shed green on Saturday. [1, 5]",
        "- ACTION: Send the invoice | owner: Alice | due: 2026-03-06 | status: open [2]",
        "- QUESTION: Which green for the shed? [1]",
        "- PRIORITY: Ship the API | status: open [3, 6]",
        "- PERSON: Alice: sends the invoice and reviewed the API design [2, 4]",
        "- SUMMARY: The moon is made of cheese.",
    ]
)


def test_day_sections_provenance_frontmatter_and_cross_agent(env: SummarizeEnv) -> None:
    """A day with two agents becomes one daily with every section in order; every bullet
    ends with links to real transcript entries (an uncited model line is dropped and
    flagged); the action item has an id, owner, due date and status; items that span both
    agents appear under "Across agents"; the notes reach the model as delimited data with
    the date and agents; priorities.md tracks the item; the file is indexed."""
    two_agents_monday(env)
    env.fake.reply_when(DAILY, MONDAY_DIGEST)
    before = env.fake.stats.tokens_in, env.fake.stats.tokens_out
    report = daily_sync(env.settings(), now=local(MON, 21, 30), embedder=HashEmbedder)
    assert report.days == ["2026-03-02"] and report.files == ["memory/daily/2026-03-02.md"]
    text = daily_path(env, MON).read_text()
    front, body = split_file(text)
    got = sections(text)
    assert list(got) == [
        "Summary",
        "Decisions",
        "Action items",
        "Open questions",
        "Priorities",
        "People and projects",
        "Across agents",
    ]
    real = ids("s1", 3) | ids("w1", 2)
    for line in bullets(body):
        assert citations(line) and set(citations(line)) <= real, line
    assert "cheese" not in text and front["flags"] == ["uncited_lines_dropped:1"]
    (action,) = got["Action items"]
    assert ID.match(action) and "owner: Alice · due: 2026-03-06 · status: open" in action
    (priority,) = got["Priorities"]
    assert "Ship the API" in priority and "s1#" in priority
    cross = "\n".join(got["Across agents"])
    assert "Decision: Paint the shed green on Saturday. (main, work)" in cross
    assert "Person: Alice" in cross
    assert front["kind"] == "daily" and front["summarizer"] == "anthropic"
    assert front["agents"] == ["main", "work"] and front["llm_calls"] == 1
    assert front["tokens"] == {
        "input": env.fake.stats.tokens_in - before[0],
        "output": env.fake.stats.tokens_out - before[1],
    }
    assert front["period"] == {
        "start": "2026-03-02T00:00:00+00:00",
        "end": "2026-03-03T00:00:00+00:00",
    }
    kinds = {s["kind"] for s in front["sources"]}
    assert kinds == {"hourly", "compaction"} and all(s["sha256"] for s in front["sources"])
    request = env.fake.stats.requests[-1]
    assert "untrusted data" in request["system"]
    user = request["messages"][0]["content"]
    assert "Monday 2026-03-02; agents: main, work" in user
    assert user.count("<passage ") == 6 and 'role="compaction"' in user
    prio = priorities_path(env).read_text()
    assert "Ship the API" in prio and "Send the invoice" in prio
    conn = env.db()
    indexed = dict(
        conn.execute(
            "SELECT path, indexed_sha256 IS NOT NULL FROM owned_files "
            "WHERE kind IN ('daily', 'priorities')"
        )
    )
    conn.close()
    assert indexed == {"memory/daily/2026-03-02.md": 1, "memory/priorities.md": 1}


def test_items_carry_forward_close_with_link_and_merge(env: SummarizeEnv) -> None:
    """Next day: the invoice is reported done (by id) and is marked done with a link to
    where that was said; "ship the api." is the same priority as "Ship the API" (same id),
    "Build API tests" is a new one; open items not mentioned are carried into the daily."""
    two_agents_monday(env)
    env.fake.reply_when(DAILY, MONDAY_DIGEST)
    daily_sync(env.settings(), now=local(MON, 21, 30), embedder=HashEmbedder)
    conn = env.db()
    (invoice,) = [i for i in load_items(conn) if i.kind == "action"]
    conn.close()
    talk(env, "s2", TUE, ["Alice sent the invoice this morning.", "ship the api. Then tests."])
    talk(env, "s3", TUE, ["Remember to renew the passport."], hour=11)
    summarize_until(env, local(TUE, 21, 30))
    env.fake.reply_when(
        DAILY,
        f"- ACTION: id: {invoice.id} | Send the invoice | status: done [1]\n"
        "- PRIORITY: ship the api. | status: open [2]\n"
        "- PRIORITY: Build API tests | status: open [2]\n"
        "- ACTION: Renew the passport | owner: user | due: none | status: open [3]",
    )
    daily_sync(env.settings(), now=local(TUE, 21, 30), embedder=HashEmbedder)
    got = sections(daily_path(env, TUE).read_text())
    (closed,) = [line for line in got["Action items"] if invoice.id in line]
    assert "status: done (2026-03-03) · closed today" in closed and "[s2#" in closed
    passport = [line for line in got["Action items"] if "passport" in line]
    assert passport and "due: none" in passport[0]
    conn = env.db()
    items = {i.text: i for i in load_items(conn)}
    conn.close()
    assert items["Send the invoice"].status == "done"
    assert items["Send the invoice"].closed_link is not None
    assert items["Send the invoice"].closed_link.startswith("s2#")
    assert set(items) == {
        "Send the invoice",
        "Ship the API",
        "Build API tests",
        "Renew the passport",
    }
    prio = sections(priorities_path(env).read_text())
    assert len(prio["Priorities"]) == 2
    assert any(items["Ship the API"].id in line for line in prio["Priorities"])
    assert [invoice.id in line for line in prio["Done in the last 30 days"]] == [True]
    # Wednesday nothing is said: no file, and Thursday's digest still carries what is open
    talk(env, "s4", THU, ["Lunch with Bob went well.", "Bob says hi."])
    summarize_until(env, local(THU, 21, 30))
    daily_sync(env.settings(), now=local(THU, 21, 30), embedder=HashEmbedder)
    assert not daily_path(env, WED).exists()
    thursday = sections(daily_path(env, THU).read_text())
    carried = thursday["Priorities"] + thursday["Action items"]
    assert len(carried) == 3 and all("carried from" in line for line in carried)


def test_catch_up_over_missing_days_late_notes_and_byte_identical_rerun(
    env: SummarizeEnv,
) -> None:
    """Days are owed from the watermark once their 21:00 has passed: a run at Friday 20:00
    digests Monday to Thursday oldest first (days without input are done, with no file),
    Friday waits until 21:00. Monday's 22:30 talk, summarised after Monday's digest, goes
    into Tuesday's. A rerun calls no LLM and changes no byte."""
    talk(env, "s1", MON, ["We decided to paint the shed green.", "Green it is."])
    summarize_until(env, local(MON, 21, 30))
    daily_sync(env.settings(), now=local(MON, 21, 30), embedder=HashEmbedder)
    talk(env, "late", MON, ["Late thought: buy a ladder.", "Added to the list."], hour=22)
    talk(env, "s2", THU, ["The ladder arrived.", "Great, the shed can start."])
    summarize_until(env, local(FRI, 20, 0))
    report = daily_sync(env.settings(), now=local(FRI, 20, 0), embedder=HashEmbedder)
    assert report.days == ["2026-03-03", "2026-03-04", "2026-03-05"]
    assert report.files == ["memory/daily/2026-03-03.md", "memory/daily/2026-03-05.md"]
    assert report.empty_days == 1 and not daily_path(env, WED).exists()
    tuesday = daily_path(env, TUE).read_text()
    front, _ = split_file(tuesday)
    assert [s["day"] for s in front["sources"]] == ["2026-03-02"] and "late#" in tuesday
    conn = env.db()
    assert get_watermark(conn, "daily-sync", "day") == "2026-03-05"
    conn.close()
    report = daily_sync(env.settings(), now=local(FRI, 21, 30), embedder=HashEmbedder)
    assert report.days == ["2026-03-06"] and report.files == []
    before = memory_files(env)
    calls = env.fake.stats.calls
    report = daily_sync(env.settings(), now=local(FRI, 23, 0), embedder=HashEmbedder)
    assert report.days == [] and env.fake.stats.calls == calls
    assert memory_files(env) == before


class FailAfterFirst:
    """The real client, which turns the fake API into "overloaded" after its first answer:
    the second day of the run meets a real 529 storm through the real SDK."""

    def __init__(self, client: AnthropicClient, fake: FakeAnthropic) -> None:
        self.client = client
        self.fake = fake

    @property
    def model(self) -> str:
        return self.client.model

    def complete(self, system: str, user: str, max_tokens: int | None = None) -> Completion:
        completion = self.client.complete(system, user, max_tokens)
        self.fake.fail_always("529")
        return completion


def test_failure_mid_run_leaves_the_day_owed_with_nothing_half_written(
    env: SummarizeEnv,
) -> None:
    """Two owed days, the API fails for good on the second: the first day is done and
    committed, the second has no file, priorities.md is the first day's, the watermark
    stays on the first day (exit 75). The next run completes the second day once."""
    talk(env, "s1", MON, ["Ship the API is the priority.", "Agreed."])
    talk(env, "s2", TUE, ["Alice will send the invoice tomorrow.", "Noted."])
    summarize_until(env, local(TUE, 21, 30))
    settings = env.settings()
    llm: LLM = FailAfterFirst(llm_client(settings), env.fake)
    digester = LLMSummarizer(
        DAILY_DIGEST, llm, Pricing(3, 15), budget_tokens=30_000, max_tokens=1500
    )
    with pytest.raises(TempFailError), run_job(settings, "daily-sync") as job:
        DailyRun(settings, job.conn, digester, now=local(TUE, 21, 30), embedder=HashEmbedder).run()
    assert daily_path(env, MON).exists() and not daily_path(env, TUE).exists()
    monday_priorities = priorities_path(env).read_bytes()
    assert b"as_of: '2026-03-02'" in monday_priorities
    conn = env.db()
    assert get_watermark(conn, "daily-sync", "day") == "2026-03-02"
    assert last_runs(conn, "daily-sync")[0]["status"] == "failed"
    conn.close()
    env.fake.fail_always(None)
    report = daily_sync(settings, now=local(TUE, 21, 45), embedder=HashEmbedder)
    assert report.days == ["2026-03-03"]
    assert daily_path(env, TUE).exists()
    assert priorities_path(env).read_bytes() != monday_priorities


def test_extractive_daily_is_real_and_labelled(env: SummarizeEnv) -> None:
    """Without an LLM the digest quotes the day's notes into its sections: a decision, an
    action item with its owner and 'by Friday' resolved to a date, one from a voice note
    (linked to its lines), an open question and names; it says it is extractive in the
    frontmatter and the body, and calls no API."""
    said = (
        "We decided to paint the shed green on Saturday.",
        "Alice will send the invoice by Friday.",
        "Should we invite Bob to the barbecue?",
        "Shipping the API is the top priority this week.",
    )
    for hour, text in enumerate(said, 9):
        talk(env, f"s{hour}", MON, [text, "Noted."], hour=hour)
    voice = env.home.workspace / "memory" / "voice" / "2026-03-02-183000-0123abcd.md"
    voice.parent.mkdir(parents=True)
    voice.write_text(
        "---\ntype: voice\nno_speech: false\n---\n\n# Voice note 2026-03-02 18:30\n\n"
        "Audio: [a.ogg](../../a.ogg) (0:04)\n\nRemind me to call the plumber tomorrow.\n"
    )
    summarize_until(env, local(MON, 21, 30), summarizer="extractive")
    report = daily_sync(
        env.settings(summarizer="extractive"), now=local(MON, 21, 30), embedder=HashEmbedder
    )
    assert report.mode == "extractive" and env.fake.stats.calls == 0
    text = daily_path(env, MON).read_text()
    front, body = split_file(text)
    assert front["summarizer"] == "extractive" and front["model"] is None
    assert "_Extractive digest" in body
    got = sections(text)
    assert any("decided to paint the shed green" in line for line in got["Decisions"])
    (action,) = [line for line in got["Action items"] if "invoice" in line]
    assert "owner: Alice · due: 2026-03-06" in action
    (plumber,) = [line for line in got["Action items"] if "plumber" in line]
    assert "due: 2026-03-03" in plumber
    assert plumber.endswith("[memory/voice/2026-03-02-183000-0123abcd.md#L10]")
    assert front["inputs"] == {"hourly_sections": 4, "voice_notes": 1}
    assert any("invite Bob" in line for line in got["Open questions"])
    assert any("priority" in line for line in got["Priorities"])
    assert any(line.startswith("- Bob:") for line in got["People and projects"])
    for line in bullets(body):
        assert citations(line), line


def test_cli_catch_up_health_and_config_error(oc_home: OpenClawHome) -> None:
    """The real `infra` in a subprocess: daily-sync catches up from the first conversation
    to the last ready day and prints one JSON report; weekly-synthesis follows; `infra
    health --json` reports the last daily and weekly and priorities.md; anthropic without
    a key is exit 78 before anything runs."""
    start = local(MON, 9, 5)
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [("user", "We decided to paint the shed green.", start), ("assistant", "Done.", start)],
        start=start,
    )
    env = {
        "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
        "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
    }
    assert oc_home.run("summarize", "--summarizer", "extractive", extra_env=env).returncode == 0
    refused = oc_home.run("daily-sync", "--summarizer", "anthropic", extra_env=env)
    assert refused.returncode == 78 and "no API key" in refused.stderr
    done = oc_home.run("daily-sync", "--json", extra_env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["days"][0] == "2026-03-02" and report["files"] == ["memory/daily/2026-03-02.md"]
    assert report["summarizer"] == "extractive" and report["owed_days"] == 0
    weekly = oc_home.run("weekly-synthesis", extra_env=env)
    assert weekly.returncode == 0 and "memory/weekly/2026-W10.md" in weekly.stdout
    synthesis = (oc_home.workspace / "memory" / "weekly" / "2026-W10.md").read_text()
    assert "summarizer: extractive" in synthesis and "_Extractive synthesis" in synthesis
    assert "paint the shed green" in synthesis
    health = oc_home.run("health", "--json", extra_env=env)
    checks = {c["name"]: c for c in json.loads(health.stdout)["checks"]}
    assert checks["daily:last"]["summary"].startswith("last daily 2026-03-02 written")
    assert checks["weekly:last"]["summary"].startswith("last weekly 2026-W10 written")
    assert checks["priorities"]["state"] == "OK"
    again = oc_home.run("daily-sync", extra_env=env)
    assert (
        again.returncode == 0 and again.stdout.strip() in ("no day owed", "")
    ) or "digested" in again.stdout
