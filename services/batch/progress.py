"""A progress line on stderr and the one-line summary at the end of a batch command.

The progress line is redrawn in place (carriage return) at most a few times a second, and
only when stderr is a terminal or `--progress` asked for it, so a pipe or a log file gets
nothing but the summary.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, TextIO


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def reasons_text(counter: Counter[str], limit: int = 8) -> str:
    """'timeout 2, too-large 1' — the most frequent first."""
    items = counter.most_common()
    text = ", ".join(f"{reason} {count}" for reason, count in items[:limit])
    if len(items) > limit:
        text += f", {len(items) - limit} more reasons"
    return text


@dataclass
class Tally:
    """What a batch did, by outcome and by reason."""

    started: float = field(default_factory=time.monotonic)
    done: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    """e.g. articles, rejected, skipped, published, already-indexed"""
    rejected: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def reject(self, reason: str) -> None:
        self.outcomes["rejected"] += 1
        self.rejected[reason] += 1

    def skip(self, reason: str) -> None:
        self.outcomes["skipped"] += 1
        self.skipped[reason] += 1


@dataclass
class Progress:
    """Draws `describe(tally)` plus rate and ETA on `stream`, throttled; `close()` clears it."""

    tally: Tally
    describe: Callable[[Tally], str]
    unit: str = "items"
    total: int | None = None
    fraction: Callable[[], float | None] | None = None
    """Share of the work done (e.g. bytes of the archives read), for the ETA when `total` is unknown."""
    enabled: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    interval: float = 0.2
    _last: float = 0.0
    _width: int = 0

    @staticmethod
    def wanted(flag: bool | None, stream: TextIO | None = None) -> bool:
        """On when asked for, or by default when the stream is a terminal."""
        stream = stream or sys.stderr
        return bool(flag) or (flag is None and hasattr(stream, "isatty") and stream.isatty())

    def update(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        tally = self.tally
        elapsed = tally.elapsed
        rate = tally.done / elapsed if elapsed > 0 else 0.0
        done = f"{tally.done}/{self.total}" if self.total is not None else f"{tally.done}"
        share = tally.done / self.total if self.total else (self.fraction() if self.fraction else None)
        eta = f"  ETA {_clock(elapsed * (1 - share) / share)}" if share and 0 < share < 1 else ""
        line = f"{done} {self.unit}  {rate:.1f}/s  {_clock(elapsed)}{eta}  {self.describe(tally)}"
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
