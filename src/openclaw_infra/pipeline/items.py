"""Digest items: what one line of a daily or weekly digest says, parsed from tagged output.

Model output is untrusted in its shape. A line becomes an item only if it is a bullet that
cites at least one ref we gave (the same rule as hourly bullets, `bullets.parse_bullets`);
its TAG picks the section (an unknown or missing tag is a summary line, never an error),
and ACTION/PRIORITY fields (`| owner: … | due: … | status: …`) are read leniently: a due
date that is not a calendar date is dropped rather than guessed. Whatever its tag, a line
that reads as an instruction to the assistant goes to the FLAGGED section (`screened`,
pipeline/injection.py): shown apart, never promoted into decisions, actions or priorities.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date

from openclaw_infra.pipeline.bullets import parse_bullets
from openclaw_infra.pipeline.injection import looks_like_instruction

SUMMARY, DECISION, ACTION, QUESTION, PRIORITY, PERSON, PROJECT = (
    "summary",
    "decision",
    "action",
    "question",
    "priority",
    "person",
    "project",
)
OPEN_ITEM, NEXT = "open", "next"  # weekly sections
FLAGGED = "flagged"  # instruction-like text: quoted apart, never followed or tracked
TAGS = {
    "SUMMARY": SUMMARY,
    "DECISION": DECISION,
    "ACTION": ACTION,
    "QUESTION": QUESTION,
    "PRIORITY": PRIORITY,
    "PERSON": PERSON,
    "PROJECT": PROJECT,
    "OPEN": OPEN_ITEM,
    "NEXT": NEXT,
}
OPEN, DONE = "open", "done"

_TAG = re.compile(r"^\s{0,4}\**([A-Za-z]{3,10})\**\s{0,3}:\s{0,3}")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_ITEM_ID = re.compile(r"^\s{0,3}(?:id\s{0,3}:\s{0,3})?`?([AP]-[0-9a-f]{6}(?:-\d{1,4})?)`?\s{0,3}$")
_FIELD = re.compile(r"^\s{0,3}(owner|due|status|id)\s{0,3}[:=]\s{0,3}(.{0,200}?)\s{0,3}$", re.I)
_DONE_WORDS = re.compile(
    r"^(?:done|complete|completed|closed|finished|resolved|shipped|sent|dropped|cancelled|"
    r"canceled|abandoned)\b",
    re.I,
)
_NAME_SPLIT = re.compile(r"\s{0,3}(?::|—|–| - )\s{0,3}")


@dataclass(frozen=True)
class Item:
    """One digest line: its section, text and the refs (input passages) it rests on."""

    section: str
    text: str
    refs: tuple[int, ...]
    owner: str | None = None
    due: str | None = None
    status: str = OPEN
    given_id: str | None = None  # the tracked id the model repeated (closing an open item)
    name: str | None = None  # person/project: the name the line is about

    def with_refs(self, refs: tuple[int, ...]) -> Item:
        return replace(self, refs=refs)


def parse_date(text: str) -> str | None:
    match = _ISO_DATE.search(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


def status_of(text: str) -> str:
    return DONE if _DONE_WORDS.match(text.strip()) else OPEN


def _fields(body: str) -> tuple[str, dict[str, str], str | None]:
    """`[id: X |] task | owner: A | due: D | status: S` → (task, fields, id)."""
    parts = [p.strip() for p in body.split("|")]
    task_parts: list[str] = []
    fields: dict[str, str] = {}
    given_id: str | None = None
    for part in parts:
        id_match = _ITEM_ID.match(part)
        if id_match:
            given_id = id_match.group(1)
            continue
        field = _FIELD.match(part)
        if field:
            name, value = field.group(1).lower(), field.group(2).strip()
            if name == "id":
                inner = _ITEM_ID.match(value)
                given_id = inner.group(1) if inner else given_id
            else:
                fields[name] = value
            continue
        if part:
            task_parts.append(part)
    return " — ".join(task_parts), fields, given_id


def to_item(text: str, refs: tuple[int, ...], sections: Collection[str]) -> Item | None:
    """The item a cited line describes; None when it holds no text."""
    match = _TAG.match(text)
    section = TAGS.get(match.group(1).upper()) if match else None
    if match is None or section is None or section not in sections:
        section, body = SUMMARY, text
    else:
        body = text[match.end() :]
    if section in (ACTION, PRIORITY):
        task, fields, given_id = _fields(body)
        if not task:
            return None
        owner = fields.get("owner") or None
        if owner and owner.lower() in ("none", "unknown", "n/a", "-"):
            owner = None
        return Item(
            section,
            task,
            refs,
            owner=owner if section == ACTION else None,
            due=parse_date(fields.get("due", "")) if section == ACTION else None,
            status=status_of(fields.get("status", "")),
            given_id=given_id,
        )
    body = body.strip()
    if not body:
        return None
    if section in (PERSON, PROJECT):
        pieces = _NAME_SPLIT.split(body, maxsplit=1)
        name = pieces[0].strip() if len(pieces) == 2 and 0 < len(pieces[0]) <= 60 else None
        return Item(section, body, refs, name=name)
    return Item(section, body, refs)


def screened(items: Iterable[Item]) -> list[Item]:
    """`items` with each instruction-like one moved to FLAGGED, its text and refs kept."""
    return [
        Item(FLAGGED, item.text, item.refs) if looks_like_instruction(item.text) else item
        for item in items
    ]


def parse_items(
    text: str, valid_refs: Collection[int], sections: Collection[str]
) -> tuple[list[Item], int]:
    """Items of tagged model output (screened), and how many uncited lines were dropped."""
    bullets, dropped = parse_bullets(text, valid_refs)
    items = []
    for bullet in bullets:
        item = to_item(bullet.text, bullet.refs, sections)
        if item is not None:
            items.append(item)
    return screened(items), dropped


def tagged_line(item: Item) -> str:
    """An item back in the model's line form (for the next pass), refs included."""
    tag = next(k for k, v in TAGS.items() if v == item.section)
    refs = ", ".join(str(r) for r in item.refs)
    return f"- {tag}: {item.text} [{refs}]"
