"""Errors as values between steps: a step returns its result or a `Rejected`.

`Rejected` is bad data: the stage dead-letters it with `reason` and never retries.
Infrastructure trouble is not a `Rejected`; it is raised and retried by the wiring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rejected:
    reason: str
    """Short machine-friendly code, e.g. `invalid-json`, `not-an-article`, `too-large`."""
    detail: str
    """What a person needs to understand the rejection."""
    article_id: str | None = None
    url: str | None = None
    trace_id: str | None = None
    notes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Stage-specific facts for the service's metrics (see services/common/stage.py `Emit`)."""
