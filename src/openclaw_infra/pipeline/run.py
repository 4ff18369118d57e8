"""One period run: the skeleton that hourly notes, daily digests and weekly syntheses share.

A run finds the periods owed since its watermark, oldest first, and does each: the kind's
own work gathers the inputs, calls the summariser, writes the file and commits it with the
watermark (or cursors) it covers, so a failure leaves that period owed and nothing half
done. Before each period what health reads goes to the ledger, so a failed run still says
how far it got; after the last, the written files are indexed. `run_ledgered` wraps a run in
its job (lock, ledger record) and records the LLM usage of every run, failed ones too:
tokens, cost, retries, time waited before retries and time inside API requests.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import InfraError
from openclaw_infra.core.jobs import run_job
from openclaw_infra.core.ledger import RunRecord
from openclaw_infra.llm.client import LLMUnavailableError
from openclaw_infra.pipeline.summarizer import Summarizer

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.memory.embedder import Embedder

P = TypeVar("P")


class RunReport(Protocol):
    """What the skeleton keeps current in a kind's report."""

    owed_left: int
    indexed: int

    def as_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=RunReport)


@dataclass
class Owed(Generic[P]):
    """Periods owed now, oldest first: `due` are done by this run, `later` wait for the next
    (beyond this run's cap)."""

    due: list[P]
    later: list[P] = field(default_factory=list)


class PeriodRun(ABC, Generic[P, R]):
    """The loop over owed periods; a kind supplies what is specific to it."""

    oldest_key: ClassVar[str]  # the ledger detail naming the oldest period still owed
    report: R
    details: dict[str, Any]

    def __init__(
        self,
        settings: Settings,
        conn: sqlite3.Connection,
        summarizer: Summarizer[Any],
        *,
        embedder: Callable[[], Embedder],
        now: datetime | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.conn = conn
        self.summarizer = summarizer
        self.embedder = embedder  # called only when texts are compared or files indexed
        self.now = now or datetime.now(UTC)
        self.tz = settings.tz
        self.details = details if details is not None else {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts` from the run's embedder (loaded on first use)."""
        return self.embedder().encode(list(texts))

    @abstractmethod
    def owed(self) -> Owed[P]:
        """The periods owed, from the watermark."""

    @abstractmethod
    def do(self, period: P) -> None:
        """Gather, summarise, write and commit one period (its watermark with its output)."""

    @abstractmethod
    def key(self, period: P) -> str:
        """The period as the ledger and the files name it."""

    @abstractmethod
    def index(self) -> int:
        """Index the files written since they were last indexed; how many."""

    def after_periods(self) -> None:
        """Work that follows the last period (hourly: cursors past noise-only transcripts)."""

    def kept_errors(self) -> Sequence[InfraError]:
        """Errors met while reading that did not stop the run; the first fails it at the end."""
        return ()

    def run(self) -> R:
        owed = self.owed()
        left = [*owed.due, *owed.later]
        self.report.owed_left = len(left)
        for period in owed.due:
            self._progress(left)
            self.do(period)
            left.pop(0)
            self.report.owed_left -= 1
        self._progress(left)
        self.after_periods()
        self.report.indexed += self.index()
        errors = self.kept_errors()
        if errors:
            raise errors[0]
        return self.report

    def _progress(self, left: list[P]) -> None:
        """What health reads from the ledger, kept current even if the run fails next."""
        # tokens and cost go to the ledger's own columns (run_ledgered fills them)
        self.details.update(
            {
                k: v
                for k, v in self.report.as_dict().items()
                if k not in ("tokens_in", "tokens_out", "cost_usd")
            }
        )
        self.details[self.oldest_key] = self.key(left[0]) if left else None


def run_ledgered(
    settings: Settings,
    job: str,
    summarizer: Summarizer[Any],
    start: Callable[[sqlite3.Connection, dict[str, Any]], PeriodRun[Any, R]],
    items: Callable[[R], int],
) -> R:
    """One locked, ledgered run of `job`: `start(conn, details)` builds the period run;
    `items(report)` is what the ledger counts. Exit 75 when another run holds the lock or
    the API stays unavailable (the period stays owed)."""
    with run_job(settings, job) as ctx:
        run = start(ctx.conn, ctx.run.details)
        try:
            return run.run()
        except LLMUnavailableError:
            ctx.run.details["llm_failed"] = True
            raise
        finally:
            ctx.run.items = items(run.report)
            _record_usage(ctx.run, summarizer)


def _record_usage(record: RunRecord, summarizer: Summarizer[Any]) -> None:
    """The meter counts every billed call, those of a failed period included."""
    meter, pricing = summarizer.meter, summarizer.pricing
    if meter is None or pricing is None:
        return  # no LLM in this run
    record.tokens_in, record.tokens_out = meter.tokens_in, meter.tokens_out
    record.cost_usd = pricing.cost(meter.tokens_in, meter.tokens_out)
    record.details.update(
        llm_retries=meter.retries,
        llm_waited_s=round(meter.waited_s, 3),
        llm_s=round(meter.elapsed_s, 3),
        llm_errors=dict(sorted(meter.errors.items())),
    )
    record.details.setdefault("llm_failed", False)
