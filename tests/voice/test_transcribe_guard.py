"""The hallucination guard: what survives Whisper's segments, and what never does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openclaw_infra.voice.guard import MIN_REPEATS, collapse_loops, guard
from openclaw_infra.voice.transcript import Segment, clean_text


def seg(text: str, no_speech: float = 0.05, start: float = 0.0, logprob: float = -0.3) -> Segment:
    return Segment(start, start + 1.0, text, logprob, no_speech, 1.2)


def test_silence_loop_across_windows_is_dropped_entirely() -> None:
    """Twenty windows of "you" judged silent (no_speech_prob 0.95) leave no text at all, not
    one "you", even when each was decoded confidently."""
    result = guard([seg(" you", no_speech=0.95, start=30.0 * i, logprob=-0.2) for i in range(20)])
    assert result.segments == []
    assert result.loops_removed == 20


def test_a_lone_silence_hallucination_is_dropped() -> None:
    """One window of silence decoded as "you" (no-speech 0.95, log-prob -0.70, measured on
    both backends) is dropped; speech Whisper is unsure of but calls speech stays, and so
    does a confident segment even when the no-speech head hesitates."""
    result = guard(
        [
            seg(" you", no_speech=0.95, logprob=-0.70),
            seg("Half past seven.", no_speech=0.38, logprob=-0.9),
            seg("Call Anna.", no_speech=0.85, logprob=-0.2),
        ]
    )
    assert [s.text for s in result.segments] == ["Half past seven.", "Call Anna."]
    assert result.dropped == 1


def test_loop_across_windows_over_speech_keeps_one_copy() -> None:
    """A sentence repeated in consecutive windows of audio that has speech is kept once."""
    result = guard([seg("Call me back.", start=i) for i in range(4)] + [seg("Thanks.", start=9)])
    assert [s.text for s in result.segments] == ["Call me back.", "Thanks."]
    assert result.loops_removed == 3


def test_two_identical_segments_are_not_a_loop() -> None:
    """People repeat themselves: two equal segments in a row stay as they are."""
    result = guard([seg("Yes."), seg("Yes.")])
    assert [s.text for s in result.segments] == ["Yes.", "Yes."]
    assert result.loops_removed == 0


def test_punctuation_only_segments_are_not_speech() -> None:
    """openai-whisper on faint noise writes " ." segments (measured): they are dropped."""
    result = guard([seg(" ."), seg(" . . ."), seg("♪"), seg("…"), seg("Hello there.")])
    assert [s.text for s in result.segments] == ["Hello there."]
    assert result.dropped == 4


def test_word_loop_inside_a_segment_is_collapsed() -> None:
    """A decoder stuck on one word or phrase keeps a single copy; the rest of the text stays."""
    words = ["I", "think", "the", "the", "the", "the", "the", "plan", "is", "fine"]
    out, removed = collapse_loops(words)
    assert " ".join(out) == "I think the plan is fine"
    assert removed == 4
    phrase = ("so we go " * 6 + "home now").split()
    out, removed = collapse_loops(phrase)
    assert " ".join(out) == "so we go home now"
    assert removed == 5


def test_repeats_below_the_threshold_are_speech() -> None:
    """ "no, no, no" (three times) is how people talk, not a loop."""
    words = ["no,", "no,", "no,", "not", "that", "one"]
    assert collapse_loops(words) == (words, 0)
    assert MIN_REPEATS > 3


def test_loop_match_ignores_case_and_punctuation() -> None:
    """ "Okay. okay, OKAY okay!" is one word said four times."""
    out, removed = collapse_loops(["Okay.", "okay,", "OKAY", "okay!", "fine"])
    assert out == ["Okay.", "fine"]
    assert removed == 3


def test_control_and_bidi_characters_are_removed() -> None:
    """Transcript text is untrusted: no terminal escapes or right-to-left overrides survive."""
    assert clean_text("hi\x1b[31m there\u202e\x00 \n\t you") == "hi[31m there you"
    result = guard([seg("\x07\u200b")])
    assert result.segments == []


@given(st.lists(st.sampled_from(["a", "b", "c", "the", "you", "."]), max_size=60))
def test_collapse_only_removes_words(words: list[str]) -> None:
    """Collapsing never invents or reorders words: the output is a subsequence of the input,
    and it changes the text exactly when it reports a cut."""
    out, removed = collapse_loops(words)
    it = iter(words)
    assert all(w in it for w in out)
    assert (removed == 0) == (out == words)
    assert len(words) - len(out) >= removed


@given(
    st.lists(
        st.tuples(st.sampled_from(["you", "Hello.", " .", "ok ok ok ok"]), st.floats(0, 1)),
        max_size=12,
    )
)
def test_guard_output_always_has_words(items: list[tuple[str, float]]) -> None:
    """Whatever the decoder produced, every kept segment contains a word character."""
    result = guard([seg(text, no_speech=p, start=i) for i, (text, p) in enumerate(items)])
    assert all(any(ch.isalnum() for ch in s.text) for s in result.segments)
    assert len(result.segments) <= len(items)
