"""The backfill's resume state: per archive, the last record whose outcome the broker confirmed.

A small JSON file, rewritten atomically (a temporary file renamed over it) after every
confirmed batch, so a run killed at any moment leaves either the old or the new state,
never a torn one. An archive is known by its path, size and the SHA-256 of its first
64 KiB: a file replaced by another under the same name starts over instead of skipping.

    {"version": 1, "archives": {"/data/CC-NEWS-….warc.gz": {"size": …, "head": "…",
      "last_offset": 123456, "complete": false, "published": 812, "updated_at": "…"}}}
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

VERSION = 1


class StateError(ValueError):
    """The state file exists but is not a backfill state this version can read."""


@dataclass
class ArchiveState:
    size: int
    head: str
    last_offset: int | None = None
    """Offset of the last record finished (published, skipped or dead-lettered, all confirmed)."""
    complete: bool = False
    published: int = 0
    updated_at: str | None = None


def fingerprint(path: Path) -> tuple[int, str]:
    with open(path, "rb") as stream:
        head = hashlib.sha256(stream.read(65536)).hexdigest()
    return path.stat().st_size, head


class BackfillState:
    def __init__(self, path: Path, archives: dict[str, ArchiveState] | None = None) -> None:
        self.path = path
        self.archives = archives or {}

    @classmethod
    def load(cls, path: Path) -> BackfillState:
        """The state in `path` (empty when the file does not exist); raises StateError when unreadable."""
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION:
                raise StateError(f"{path}: state version {data.get('version')!r}, expected {VERSION}")
            return cls(path, {name: ArchiveState(**entry) for name, entry in data["archives"].items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            if isinstance(exc, StateError):
                raise
            raise StateError(f"{path} is not a backfill state file: {exc}") from None

    def entry(self, archive: Path) -> ArchiveState:
        """This archive's state; a fresh one when it is unknown or its content changed."""
        key = str(archive.resolve())
        size, head = fingerprint(archive)
        known = self.archives.get(key)
        if known is None or known.size != size or known.head != head:
            known = ArchiveState(size, head)
            self.archives[key] = known
        return known

    def restart(self, archive: Path) -> ArchiveState:
        size, head = fingerprint(archive)
        state = ArchiveState(size, head)
        self.archives[str(archive.resolve())] = state
        return state

    def save(self) -> None:
        """Write atomically: a temporary file in the same folder, fsynced, renamed over the old one."""
        now = datetime.now(timezone.utc).isoformat()
        data = {"version": VERSION, "archives": {k: {**asdict(v), "updated_at": v.updated_at or now} for k, v in self.archives.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=1)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, self.path)
