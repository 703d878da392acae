"""Processes of the local stack by pid: alive?, read from a pidfile, terminate (gently, then for good).

Shared by the stack's servers (`stack.py`) and the pipeline's service processes (`processes.py`).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def pid_alive(pid: int | None) -> bool:
    """True while the process exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True


def read_pid(pidfile: Path) -> int | None:
    """The pid written in `pidfile`; None when it is missing or not a number."""
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def terminate(pid: int, grace: float) -> None:
    """SIGTERM, then SIGKILL when the process is still alive after `grace` seconds; returns once it is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.2)


def kill_now(pid: int, wait: float = 10.0) -> None:
    """SIGKILL, as in a crash; returns once the process is gone (or after `wait` seconds)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def terminate_all(pids: list[int], grace: float) -> None:
    """SIGTERM to every process, SIGKILL to those still alive after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [pid for pid in pids if pid_alive(pid)]
        for pid in alive:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while any(pid_alive(pid) for pid in alive) and time.monotonic() < deadline:
            time.sleep(0.2)
