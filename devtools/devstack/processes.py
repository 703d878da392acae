"""Running the four services (and the sample site) as background processes.

Used by `make demo` and the end-to-end tests: each process gets its environment,
a log file and a pid file under a run folder, and can be stopped (SIGTERM, then
SIGKILL) or killed outright to simulate a crash.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devtools.devstack.security import CREDENTIAL_VARIABLES
from devtools.devstack.pids import kill_now, pid_alive, read_pid, terminate
from devtools.devstack.stack import REPO_ROOT

SERVICE_MODULES = {
    "scraper": "services.scraper",
    "parser": "services.parser",
    "enrichment": "services.enrichment",
    "indexer": "services.indexer",
    "samplesite": "devtools.samplesite",
}


@dataclass
class ManagedProcess:
    name: str
    run_dir: Path
    module: str | None = None
    """Python module to run; defaults to the service of the same name."""

    @property
    def pidfile(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return self.run_dir / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        pid = read_pid(self.pidfile)
        return pid if pid_alive(pid) else None

    def start(self, env: dict[str, str], args: list[str] | None = None) -> int:
        """Start the process with this environment on top of ours, minus our credentials.

        A process authenticates with what `env` gives it and nothing it inherits: a
        service started for a role must not fall back on the caller's (administrator's) rights.
        """
        running = self.pid()
        if running:
            return running
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.logfile, "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", self.module or SERVICE_MODULES[self.name], *(args or [])],
            env={**{k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES}, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        self.pidfile.write_text(str(proc.pid))
        return proc.pid

    def stop(self, grace: float = 25.0) -> None:
        pid = self.pid()
        if pid:
            terminate(pid, grace)
        self.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to commit or flush anything."""
        pid = self.pid()
        if pid:
            kill_now(pid)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        self.pidfile.unlink(missing_ok=True)


def stop_all(run_dir: Path) -> None:
    """Stop every process that has a pid file in `run_dir`."""
    for pidfile in run_dir.glob("*.pid"):
        ManagedProcess(pidfile.stem, run_dir).stop()


def wait_http_ok(url: str, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def wait_listening(port: int, timeout: float) -> bool:
    """True once something accepts connections on 127.0.0.1:`port` (for servers with no health
    page, such as the crowd site, which answers only its own host names)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def default_run_dir(instance: str) -> Path:
    return REPO_ROOT / ".run" / instance
