"""The whole-process parse benchmark counts every process a command starts."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.bench_parser_process import _run, write_pages

# A parent that ignores SIGCHLD (as the worker pool's zygote does): its child is reaped by
# the kernel, and getrusage(RUSAGE_CHILDREN) never sees the child's CPU time.
_FORK_AND_BURN = """
import os, signal, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
if os.fork() == 0:
    end = time.process_time() + 0.6
    while time.process_time() < end:
        pass
    os._exit(0)
time.sleep(1.5)
"""


def test_cpu_of_a_child_reaped_by_the_kernel_is_counted() -> None:
    cpu, wall = _run([sys.executable, "-c", _FORK_AND_BURN])
    assert cpu >= 0.5, f"the child's 0.6 s of CPU went uncounted: {cpu:.2f} s"
    assert wall >= 1.5


def test_the_mixed_corpus_is_written_once_per_copy(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    once = write_pages(tmp_path / "a", 1)
    twice = write_pages(tmp_path / "b", 2)
    assert once > 80 and twice == 2 * once
    assert len(list((tmp_path / "b").glob("*.html"))) == twice
