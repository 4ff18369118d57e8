"""The audio a backend is given: the speech only, glued, in pieces of bounded length.

Both backends compute features for all the audio they are handed at once, which costs
about 0.75 MB of RAM per second (measured with faster-whisper: 9.4 minutes took the process
from 235 MB to 651 MB). So the speech goes in pieces of at most `PIECE_S`: whole regions
where they fit, and a region longer than that is cut at its quietest 100 ms in the last
`SEARCH_S` before the limit, a pause between words rather than the middle of one. Each
piece keeps the map from its glued time back to the recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
PIECE_S = 60
SEARCH_S = 10
FRAME = SAMPLE_RATE // 10


@dataclass(frozen=True)
class SpeechMap:
    """Where each stretch of the glued speech audio came from in the recording."""

    regions: list[tuple[int, int]]

    def collect(self, samples: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.concatenate([samples[start:end] for start, end in self.regions])

    def original_time(self, seconds: float, *, is_end: bool = False) -> float:
        """A time in the glued audio as a time in the recording.

        An end time falling exactly where two regions meet belongs to the first of them.
        """
        position = seconds * SAMPLE_RATE
        glued = 0
        for start, end in self.regions:
            length = end - start
            inside = position <= glued + length if is_end else position < glued + length
            if inside:
                return (start + max(0.0, position - glued)) / SAMPLE_RATE
            glued += length
        return self.regions[-1][1] / SAMPLE_RATE if self.regions else 0.0


def quietest(samples: np.ndarray, low: int, high: int) -> int:
    """The middle of the quietest 100 ms frame between sample `low` and `high`."""
    import numpy as np

    starts = range(low, max(low + 1, high - FRAME + 1), FRAME // 2)
    energy = [float(np.square(samples[i : i + FRAME], dtype=np.float64).mean()) for i in starts]
    return starts[int(np.argmin(energy))] + FRAME // 2


def pieces(samples: np.ndarray, regions: list[tuple[int, int]]) -> list[SpeechMap]:
    """Group speech regions into pieces of at most `PIECE_S` seconds of glued audio."""
    limit, search = PIECE_S * SAMPLE_RATE, SEARCH_S * SAMPLE_RATE
    parts: list[tuple[int, int]] = []
    for region_start, end in regions:
        start = region_start
        while end - start > limit:
            cut = quietest(samples, start + limit - search, start + limit)
            parts.append((start, cut))
            start = cut
        parts.append((start, end))
    groups: list[SpeechMap] = []
    current: list[tuple[int, int]] = []
    length = 0
    for start, end in parts:
        if current and length + end - start > limit:
            groups.append(SpeechMap(current))
            current, length = [], 0
        current.append((start, end))
        length += end - start
    if current:
        groups.append(SpeechMap(current))
    return groups
