"""What a process tree costs: CPU seconds and memory, read from /proc (Linux).

Used by the end-to-end benchmark and the tests that bound memory: a service counts with
its worker processes (the zygote and the workers forked from it). Memory is reported as
RSS per process and as PSS summed over a tree: PSS splits pages shared between processes
(the workers share their models through copy-on-write), so a tree's PSS is what it
really costs the machine, where a sum of RSS would count the shared models once per worker.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
        return None


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(int(stat.parent.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        if _stat_fields(p) is not None:
            found.append(p)
            todo.extend(children.get(p, ()))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, its reaped children included (0 when gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After ")": state ppid … utime(12) stime(13) cutime(14) cstime(15), 0-based from "state".
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / _TICKS


def own_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process alone (None when it is gone): for a child the
    kernel reaps itself, whose time never reaches its parent's counters."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; (0, 0) when it is gone or unreadable."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0, 0
    rollup = dict(line.split(":", 1) for line in lines if ":" in line)
    return int(rollup["Rss"].split()[0]), int(rollup["Pss"].split()[0])


@dataclass
class TreeMemory:
    peak_pss_kib: int = 0
    """Peak of the tree's summed PSS."""
    peak_rss_kib: int = 0
    """Peak RSS of its largest single process."""
    peak_processes: int = 0


@dataclass
class MemoryWatch:
    """Samples named process trees every `interval` seconds in a thread, keeping peaks."""

    roots: dict[str, int]
    interval: float = 0.5
    peaks: dict[str, TreeMemory] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.peaks = {name: TreeMemory() for name in self.roots}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)

    def sample(self) -> None:
        for name, root in self.roots.items():
            usage = [memory_kib(p) for p in process_tree(root)]
            peak = self.peaks[name]
            peak.peak_pss_kib = max(peak.peak_pss_kib, sum(pss for _, pss in usage))
            peak.peak_rss_kib = max(peak.peak_rss_kib, max((rss for rss, _ in usage), default=0))
            peak.peak_processes = max(peak.peak_processes, len(usage))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemoryWatch:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of a tree's living processes (workers replaced meanwhile are not counted)."""
    return sum(cpu_seconds(p) for p in process_tree(root))
