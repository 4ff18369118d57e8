"""The non-LLM daily digest: sentences of the day's notes, sorted into the digest's sections.

Real, not a stand-in, and labelled `extractive` wherever it appears. Summary lines are the
hourly extractive summariser's pick over the whole day. Every other section reads the
sentences with spaCy's English model (language.py): the tagger and parser find who commits
to what (the subject of "will/need to/promised to", "remind me to…" for the user), the
entity recogniser finds people and projects (names.py) and date phrases, which dates.py
resolves against the day. The headings of compaction summaries ("Decisions", "Open TODOs",
"Pending user asks") already sort their lines. Then the day is settled as a reader would:
- a question answered by a later sentence of the day is not open (answered.py);
- replies ("That is your call; tell me when you decide"), offers ("Want me to…?") and
  conditionals are not action items;
- a line said twice in other words is one line (answered.overlap), its refs merged, the
  owner and due date taken from whichever mention gave them; a priority said twice is
  marked urgent. The tracker (priorities.py) then merges repeats by meaning with the
  embedder.
A sentence that reads as an instruction to the assistant is flagged, never sorted into a
section (`screened`).

Every pattern is an alternation of literals or a single bounded quantifier over a character
class (no nested or overlapping repetition), so matching is linear on any input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.pipeline.daily.answered import is_answered, overlap
from openclaw_infra.pipeline.daily.dates import due_in
from openclaw_infra.pipeline.daily.language import analyse
from openclaw_infra.pipeline.daily.names import NOT_NAMES, names_in
from openclaw_infra.pipeline.daily.priorities import URGENT_MARK
from openclaw_infra.pipeline.extractive import (
    MAX_SENTENCE_CHARS,
    clip,
    sentences,
    summarize_extractive,
)
from openclaw_infra.pipeline.items import (
    ACTION,
    DECISION,
    DONE,
    OPEN,
    PERSON,
    PRIORITY,
    QUESTION,
    SUMMARY,
    Item,
    screened,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

__all__ = ["DAILY_EXTRACTIVE_VERSION", "NOT_NAMES", "extract_day"]

DAILY_EXTRACTIVE_VERSION = "daily-extractive-v2"
MAX_PER_SECTION = 8

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.{0,200})")
_KEY_HEADINGS = (
    (re.compile(r"decision", re.I), DECISION),
    (re.compile(r"todo|to-do|pending|asks|action|next step", re.I), ACTION),
    (re.compile(r"question", re.I), QUESTION),
    (re.compile(r"priorit", re.I), PRIORITY),
)
# "Action item: …", "Open question: …": a label that sorts the rest of the sentence
_MARKER = re.compile(
    r"^(action items?|todo|to-do|to do|follow-up|decision recorded|decision|decided|"
    r"open question|question|priority for [a-z ]{1,20}|top priority|priority|"
    r"reminder)\s{0,2}:\s{0,3}",
    re.I,
)
_MARKER_SECTION = (
    (re.compile(r"^(?:action|todo|to-do|to do|follow|reminder)", re.I), ACTION),
    (re.compile(r"^decisi|^decided", re.I), DECISION),
    (re.compile(r"question", re.I), QUESTION),
    (re.compile(r"priorit", re.I), PRIORITY),
)
_FILLER = re.compile(
    r"^(?:(?:also|and|so|oh|okay|ok|right|well|plus|then|one more thing|by the way|btw|"
    r"got it|noted|great|sure|yes|yeah|no|anyway)\b[,:;.!]?\s{1,3}){1,4}",
    re.I,
)
_DECIDED = re.compile(
    r"\b(?:decided|decide to|agreed on|agreed to|we agreed|settled on|chose|chosen|went with|"
    r"go with|going with|opted|approved|picked|final answer|the plan is)\b",
    re.I,
)
_PRIORITY = re.compile(
    r"\b(?:priority|priorities|top of (?:the|my) list|most important|comes first|first thing|"
    r"urgent|urgently|main goal|matters most|before anything else)\b",
    re.I,
)
_URGENT = re.compile(r"\b(?:urgent|urgently|asap|top priority|most important|right away)\b", re.I)
_VAGUE_PRIORITY = re.compile(
    r"\b(?:make|making|made|track|keep) (?:it|that|this|them) (?:as )?(?:a|the|my|our)\b", re.I
)
_REMIND = re.compile(
    r"^(?:please\s)?(?:remind me to|don't forget to|do not forget to|remember to|"
    r"i need to remember to|note to self:?)\s",
    re.I,
)
_NOT_QUESTION = re.compile(
    r"\b(?:want me to|shall i|should i|do you want|would you like|like me to|can i help|"
    r"anything else|sound good|does that work|is that ok|is that okay|how can i help)\b",
    re.I,
)
_QUESTION_WORDS = re.compile(
    r"\b(?:open question|unsure whether|not sure whether|not sure if|undecided|still unclear|"
    r"wondered whether|wondering whether|wondering if|to be decided|tbd|no idea whether|"
    r"is whether|was whether|remains whether|don't know whether|don't know if)\b",
    re.I,
)
# replies and hand-backs: "your call", "tell me when you decide", "let me know"
_REPLY = re.compile(
    r"\b(?:your call|up to you|tell me when|tell me if|let me know|when you decide|if you want|"
    r"if you like|feel free|happy to help|no rush|whenever you|sounds good|makes sense)\b",
    re.I,
)
_DONE = re.compile(
    r"\b(?:done|finished|completed|sent|shipped|closed|resolved|fixed|delivered|submitted|"
    r"paid|renewed|booked)\b",
    re.I,
)
_MODALS = frozenset({"will", "'ll", "’ll", "shall", "must", "gonna", "wo"})
_NEED_VERBS = frozenset(
    {
        "need",
        "needs",
        "have",
        "has",
        "promise",
        "promised",
        "promises",
        "agree",
        "agreed",
        "plan",
        "plans",
        "commit",
        "committed",
        "intend",
        "intends",
        "want",
        "wants",
    }
)
_REQUEST = re.compile(r"^(?:can you|could you|would you|will you|please)\b", re.I)
_REPLY_VERBS = frozenset(
    {
        "tell",
        "let",
        "say",
        "see",
        "look",
        "feel",
        "think",
        "wait",
        "hold",
        "imagine",
        "keep",
        "thank",
        "note",
        "consider",
        "decide",
        "hope",
        "love",
        "like",
        "know",
        "wonder",
        "guess",
    }
)
_SELF = frozenset({"i", "we"})
_THIRD = frozenset({"he", "she", "they"})
_NON_OWNERS = frozenset({"it", "this", "that", "there", "which", "what", "who", "everything"})


@dataclass
class _Sentence:
    ref: int
    order: int
    role: str
    under: str | None
    text: str  # as written (whitespace collapsed)
    body: str  # fillers and any "Label:" marker removed
    marker: str | None  # the section a "Label:" marker named
    doc: Doc | None = None


def _under(heading: str) -> str | None:
    """The section a compaction summary's heading ("Decisions", "Open TODOs"…) names."""
    match = _HEADING.match(heading)
    title = match.group(1) if match else heading
    return next((s for pattern, s in _KEY_HEADINGS if pattern.search(title)), None)


def _strip(sentence: str) -> tuple[str, str | None]:
    """(sentence without leading fillers and label, section the label names)."""
    body = _FILLER.sub("", sentence, count=1)
    marker: str | None = None
    match = _MARKER.match(body)
    if match:
        label = match.group(1)
        marker = next((s for pattern, s in _MARKER_SECTION if pattern.search(label)), None)
        body = body[match.end() :]
        body = _FILLER.sub("", body, count=1)
    body = body.strip()
    if body and body[0].islower():
        body = body[0].upper() + body[1:]
    return body or sentence, marker


def _sentences(passages: Sequence[Passage]) -> Iterator[_Sentence]:
    order = 0
    for passage in passages:
        role = passage.attrs.get("role", "user")
        for piece, under in sentences(passage.text, _under):
            text = " ".join(piece.split())[: MAX_SENTENCE_CHARS * 4]
            if len(text.split()) < 3 and under is None:
                continue
            body, marker = _strip(text)
            yield _Sentence(passage.ref, order, role, under, text, body, marker)
            order += 1


# --- who commits to what ----------------------------------------------------------------


def _commitment(doc: Doc) -> Token | None:
    """The subject of a commitment ("X will / needs to / promised to …"), None if the
    sentence makes none."""
    for token in doc:
        lower = token.lower_
        verb: Token | None = None
        if token.dep_ == "aux" and (lower in _MODALS or (token.tag_ == "MD" and lower != "would")):
            if lower in ("could", "might", "may", "can"):
                continue
            verb = token.head
            if lower == "should" and not any(
                c.dep_ == "nsubj" and c.lower_ in _SELF for c in verb.children
            ):
                continue  # "we should…" is a plan; "the doc should…" is not a task
        elif lower in ("going", "supposed") and any(c.dep_ == "xcomp" for c in token.children):
            verb = token
        elif lower in _NEED_VERBS and any(c.dep_ == "xcomp" for c in token.children):
            if lower.startswith("want") and not any(
                c.dep_ == "nsubj" and c.lower_ not in _SELF for c in token.children
            ):
                continue  # "I want to start running" is a wish, not a task
            verb = token
        if verb is None:
            continue
        if any(c.dep_ == "mark" and c.lower_ in ("whether", "if") for c in verb.children):
            continue  # "whether I should ask…", "if the landlord agrees, we will…"
        if lower == "should" and verb.dep_ in ("ccomp", "advcl"):
            continue  # "She thinks I should…" is advice reported, not a task taken
        subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
        if not subjects and doc[0].ent_type_ == "PERSON" and doc[0].head == verb:
            subjects = [doc[0]]  # "Tom from Hartley Heating promised…", misparsed
        if subjects and _person(subjects[0]):
            return subjects[0]
    return None


def _person(subject: Token) -> bool:
    """A subject that can own a task: a personal pronoun or a name ("the audit" cannot)."""
    lower = subject.lower_
    if lower in _SELF or lower in _THIRD or lower == "you":
        return True
    if lower in _NON_OWNERS or not subject.text[:1].isupper() or subject.text in NOT_NAMES:
        return False
    return subject.pos_ == "PROPN" or subject.ent_type_ == "PERSON" or subject.i == 0


def _imperative(doc: Doc) -> bool:
    """A task said as an order ("Call Jonas about the lease by Thursday")."""
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None or root.tag_ != "VB" or root.i > 1:
        return False
    if root.lower_ in _REPLY_VERBS:
        return False
    has_subject = any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in root.children)
    has_object = any(c.dep_ in ("dobj", "prep", "dative", "xcomp", "ccomp") for c in root.children)
    return not has_subject and has_object


def _span_name(subject: Token) -> str:
    """A proper-noun subject with its compound parts ("Priya", "Dr Okafor")."""
    parts = [
        t
        for t in subject.subtree
        if (t.pos_ == "PROPN" and t.dep_ == "compound") or t.i == subject.i
    ]
    return " ".join(t.text for t in parts) if parts else subject.text


def _owner(subject: Token | None, role: str, text: str, last_person: str | None) -> str:
    """Who a commitment belongs to: a named subject, else the speaker ("I will…")."""
    if subject is None:
        return "user"
    lower = subject.lower_
    if lower in _SELF:
        if role == "assistant":
            return "assistant"
        # an hourly note quotes both sides: "I'll … you" is the assistant talking
        if role == "note" and re.search(r"\byou(?:r)?\b", text, re.I):
            return "assistant"
        return "user"
    if lower == "you":
        return "assistant" if role in ("user", "audio", "voice") else "user"
    if lower in _THIRD:
        return last_person or "user"
    if subject.text[:1].isupper() and subject.text not in NOT_NAMES:
        return _span_name(subject)
    return "user"


# --- the day ------------------------------------------------------------------------------


def _section(s: _Sentence) -> str | None:
    head = s.body[:2000]
    if s.under is not None:
        if head.endswith("?") and s.under != QUESTION:
            return None if _NOT_QUESTION.search(head) else QUESTION  # a pending ask
        return s.under
    if s.marker == QUESTION or head.endswith("?") or _QUESTION_WORDS.search(head):
        if _NOT_QUESTION.search(head) or s.text.lower().startswith(("can we", "could we")):
            return None
        return ACTION if _REQUEST.match(head) else QUESTION
    if s.marker is not None:
        return s.marker
    if re.match(r"^if\b", head, re.I):
        return None  # conditional: "If yes, we need a room for two"
    if _PRIORITY.search(head):
        return None if _VAGUE_PRIORITY.search(head) else PRIORITY
    if _DECIDED.search(head) or head.lower().startswith(("let's go with", "let us go with")):
        return DECISION
    return ACTION


def _merge(bucket: list[Item], item: Item) -> None:
    """Add `item`, or fold it into the line it repeats (refs, owner, due, urgency)."""
    for index, known in enumerate(bucket):
        if not overlap(item.text, known.text):
            continue
        refs = tuple(dict.fromkeys(known.refs + item.refs))[:4]
        owner = known.owner
        if item.owner and (owner in (None, "user") and item.owner not in ("user", owner)):
            owner = item.owner
        text = known.text
        if known.section == PRIORITY and not _URGENT.search(text):
            text = text.rstrip(".") + URGENT_MARK  # a priority said twice is an urgent one
        bucket[index] = replace(
            known,
            text=text,
            refs=refs,
            owner=owner,
            due=known.due or item.due,
            status=DONE if DONE in (known.status, item.status) else OPEN,
        )
        return
    if len(bucket) < MAX_PER_SECTION:
        bucket.append(item)


def extract_day(passages: Sequence[Passage], day: date) -> list[Item]:
    """Every section of a day's digest from its notes, without an LLM."""
    items = [Item(SUMMARY, b.text, b.refs) for b in summarize_extractive(passages, 6)]
    said = list(_sentences(passages))
    for sentence, doc in zip(said, analyse(s.body for s in said), strict=True):
        sentence.doc = doc
    buckets: dict[str, list[Item]] = {DECISION: [], ACTION: [], QUESTION: [], PRIORITY: []}
    names: dict[str, Item] = {}
    last_person: str | None = None
    kinds = [_section(s) for s in said]
    for index, (s, section) in enumerate(zip(said, kinds, strict=True)):
        assert s.doc is not None
        text = clip(s.body)
        for name in names_in(s.doc):
            known = names.get(name)
            last_person = name
            if known is None:
                names[name] = Item(PERSON, f"{name}: {text}", (s.ref,), name=name)
            elif s.ref not in known.refs and len(known.refs) < 3:
                names[name] = known.with_refs((*known.refs, s.ref))
        if section == QUESTION:
            if not is_answered(s.body, _answers(said, kinds, index)):
                _merge(buckets[QUESTION], Item(QUESTION, text, (s.ref,)))
        elif section == ACTION:
            _action(buckets[ACTION], s, day, last_person)
        elif section == PRIORITY:
            status = DONE if _DONE.search(s.body) and not _URGENT.search(s.body) else OPEN
            _merge(buckets[PRIORITY], Item(PRIORITY, text, (s.ref,), status=status))
        elif section == DECISION:
            _merge(buckets[DECISION], Item(DECISION, text, (s.ref,)))
    for section in (DECISION, ACTION, QUESTION, PRIORITY):
        items.extend(buckets[section])
    items.extend(_distinct_names(list(names.values()))[:MAX_PER_SECTION])
    return screened(items)


_YES_NO = re.compile(r"^(?:did|does|do|is|are|was|were|has|have|had|will|can)\b", re.I)


def _answers(said: list[_Sentence], kinds: list[str | None], index: int) -> list[str]:
    """The statements that may answer question `index`: those after it; for a question in a
    compaction summary (written after the turns it sums up), every other passage's too. A
    yes/no question is not answered by a listed decision or task ("Move staging to Postgres
    17" does not say whether the upgrade passed)."""
    asked = said[index]
    yes_no = bool(_YES_NO.match(asked.body)) and " or " not in asked.body
    out = []
    for k, (other, kind) in enumerate(zip(said, kinds, strict=True)):
        if k == index or kind == QUESTION or (yes_no and other.under is not None):
            continue
        if k > index or (asked.role == "compaction" and other.ref != asked.ref):
            out.append(other.body)
    return out


def _action(bucket: list[Item], s: _Sentence, day: date, last_person: str | None) -> None:
    """The action item a sentence states, if it states one."""
    assert s.doc is not None
    body = s.body
    if _REPLY.search(body):
        return
    remind = _REMIND.match(body)
    if remind:
        task = body[remind.end() :]
        owner = "user"
    else:
        subject = _commitment(s.doc)
        listed = ACTION in (s.under, s.marker) or bool(_REQUEST.match(body))
        if subject is None and not listed and not _imperative(s.doc):
            return
        task = _REQUEST.sub("", body).lstrip(" ,") if _REQUEST.match(body) else body
        owner = _owner(subject, s.role, body, last_person)
        if subject is None and (_REQUEST.match(body) or re.search(r"\bplease\b", body, re.I)):
            owner = "assistant"  # asked of the assistant: "Can you book…?", "please draft…"
        lead = re.match(r"^([A-Z][\w .'-]{0,40}?)\s{0,2}:\s", body)
        if subject is None and lead and lead.group(1) not in NOT_NAMES:
            owner = lead.group(1)  # "Priya: design doc due Nov 27" in a TODO list
    task = task[:1].upper() + task[1:]
    status = DONE if _DONE.search(body) and not remind and s.under is None else OPEN
    _merge(
        bucket,
        Item(ACTION, clip(task), (s.ref,), owner=owner, due=due_in(s.doc, day), status=status),
    )


def _distinct_names(people: list[Item]) -> list[Item]:
    """One line per person: "Priya" folds into "Priya Shah" when both are named."""
    out: list[Item] = []
    for item in people:
        name = item.name or ""
        longer = next(
            (o for o in people if o is not item and name and f" {name} " in f" {o.name} "), None
        )
        if longer is None:
            out.append(item)
    return out
