"""The conversations the suite has with the real OpenClaw, and the facts they plant.

Few turns, because each costs 11–60 s of OpenClaw start-up; each turn does several model
steps instead (a `write` into `memory/`, a nested `memory_search`, a long `exec` output), so
the stored transcript has every kind of entry infra must read or drop:

- conversation `alpha` (the main session), turn 1: a family fact stated only here (asked
  for later from `beta`), a dentist note the agent writes into `memory/`, and a
  `memory_search` through OpenClaw's `tool_call` tool (stored as a nested-tool `custom`
  message).
- conversation `alpha`, turn 2: a long pasted itinerary and a long answer (both stored
  zstd-compressed) around an `exec` whose output is long (compressed too).
- conversation `beta` (`--session-key agent:main:explicit:beta`), turn 1: the agent runs
  `infra recall … --json` through `exec`, the way the shipped skill tells it to, and
  answers from the JSON it got back.
"""

from __future__ import annotations

from .fake_openai import FakeOpenAI, Text, tool

# alpha is the agent's main session (key agent:main:main), whose first turn after onboarding
# runs in full-bootstrap mode and stores an `openclaw:bootstrap-context:full` marker; beta is
# an explicit session
ALPHA: str | None = None
BETA = "beta"

# stated in alpha only; beta asks for it
SISTER_FACT = (
    "my sister Alma moved to Tromsø in March and now works as a curator at the Polar Museum"
)
RECALL_QUERY = "where does my sister Alma work"
# written by the agent into memory/ (a Markdown file infra indexes as kind "memory")
DENTIST_FILE = "memory/dentist.md"
DENTIST_NOTE = "Appointment with Dr. Lind on 4 December at 09:30, booked by the user."
# deep inside the long, compressed assistant answer: found only if the whole event was read
FERRY_FACT = "The ferry from Bodø to Moskenes leaves at 06:15 from pier seven"
# the long exec output (a tool result: never summarised)
EXEC_LONG = "seq 1 3000"
# OpenClaw's exec backgrounds a command after yieldMs (default 10 s); infra recall may load
# the embedding model for longer than that on a busy machine, so wait for it
EXEC_WAIT = {"yieldMs": 240_000, "timeoutSeconds": 280}

_PLACES = (
    ("Bodø", "pick up the rental car at the airport desk and drive to the harbour hotel"),
    ("Moskenes", "walk from the ferry terminal to the cabin and buy groceries at the Coop"),
    ("Reine", "hike the Reinebringen stairs early, before the tour buses arrive"),
    ("Hamnøy", "photograph the red fishing cabins at low tide from the old bridge"),
    ("Sakrisøy", "eat fish cakes at Anita's and visit the doll and toy museum"),
    ("Nusfjord", "take the guided tour of the cod liver oil factory and the old store"),
    ("Flakstad", "swim at Ramberg beach if the water is warmer than eleven degrees"),
    ("Vikten", "watch the glassblower and buy a blue bowl for the kitchen shelf"),
    ("Leknes", "refill the car, collect the parcel at the post office and do laundry"),
    ("Borg", "spend the afternoon at the Lofotr Viking museum and its longhouse"),
    ("Eggum", "cycle the coastal road to the radar ruins and look for sea eagles"),
    ("Henningsvær", "climb with the guide from Northern Alpine at nine in the morning"),
    ("Kabelvåg", "visit the aquarium, then the Vågan church, the cathedral of Lofoten"),
    ("Svolvær", "return the car and take the evening coastal ship south to Bodø"),
)


def itinerary() -> str:
    """A long pasted user message (about 4 KB), one line per day, stored compressed."""
    lines = ["Here is the draft itinerary for our Lofoten trip, please check it for me."]
    lines += [
        f"Day {day}: in {place}, {plan}; dinner booked nearby and a rest day kept in reserve."
        for day, (place, plan) in enumerate(_PLACES, 1)
    ]
    lines.append("Tell me if any of the days look too packed. [turn alpha-2]")
    return "\n".join(lines)


def itinerary_review() -> str:
    """A long assistant answer (about 5 KB) with `FERRY_FACT` near its end."""
    lines = ["I went through the itinerary day by day, and it mostly works."]
    lines += [
        f"Day {day} in {place} looks fine: to {plan} you need about half a day, so keep "
        f"the morning free and leave the evening open for the weather."
        for day, (place, plan) in enumerate(_PLACES, 1)
    ]
    lines.append(f"{FERRY_FACT}, so book the cabin on it before Friday.")
    lines.append("Everything else can stay as you planned it.")
    return "\n".join(lines)


ALPHA_1 = (
    f"Some family news: {SISTER_FACT}. Please also put my dentist appointment in memory: "
    "Dr. Lind, 4 December at 09:30. [turn alpha-1]"
)
ALPHA_1_ANSWER = (
    f"I saved the dentist appointment to {DENTIST_FILE}. Good to hear that Alma settled in "
    "Tromsø; I will keep in mind that she is a curator at the Polar Museum."
)
ALPHA_2 = itinerary()
ALPHA_2_ANSWER = itinerary_review()
BETA_1 = "Quick question before I call her: where does my sister work these days? [turn beta-1]"
BETA_1_ANSWER = "According to your notes, Alma works as a curator at the Polar Museum in Tromsø."


def script_turns(fake: FakeOpenAI) -> None:
    """Teach the fake model its part of every turn (matched by the `[turn …]` tokens)."""
    fake.script(
        "[turn alpha-1]",
        tool("write", path=DENTIST_FILE, content=f"# Dentist\n\n{DENTIST_NOTE}\n"),
        tool("tool_call", id="memory_search", args={"query": "Alma Tromsø"}),
        Text(ALPHA_1_ANSWER),
    )
    fake.script(
        "[turn alpha-2]",
        tool("exec", command=EXEC_LONG, **EXEC_WAIT),
        Text(ALPHA_2_ANSWER),
    )
    fake.script(
        "[turn beta-1]",
        tool("exec", command=f'infra recall "{RECALL_QUERY}" --json --limit 3', **EXEC_WAIT),
        Text(BETA_1_ANSWER),
    )
