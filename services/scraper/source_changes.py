"""Sources added, changed, disabled or removed at run time, as pure functions.

A crawl request of kind `source` becomes one record of the scraper's global `sources`
table (`source_change`); every worker turns the file's sources and the table's records
into its active and inactive sources (`apply_source_changes`). The wiring in `app.py`
only reads the request, writes the record and hands the result to the crawler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from schemas.crawl_request_v1 import CrawlRequestV1
from schemas.sources import Source, SourcesError, SourcesFile, parse_source
from services.common.logs import get_logger
from services.common.outcomes import Rejected

log = get_logger(__name__)

SourceState = Literal["active", "disabled", "removed"]
_STATE_AFTER: dict[str, SourceState] = {"remove": "removed", "disable": "disabled", "enable": "active"}


@dataclass(frozen=True)
class SourceChange:
    """One record for the `sources` table, and what follows from it.

    `record` is `{"state": ..., "source": definition | None, "at": ISO time}`; `poll_now` is
    true when the source was not active before and must be polled on the next tick, not an
    interval later; `added` is the new definition when the request added one.
    """

    name: str
    record: dict[str, Any]
    poll_now: bool
    added: Source | None = None

    @property
    def state(self) -> SourceState:
        return self.record["state"]


def source_change(
    request: CrawlRequestV1,
    *,
    active: Mapping[str, Source],
    inactive: Mapping[str, SourceState],
    recorded: Mapping[str, Any],
    at: datetime,
) -> SourceChange | Rejected:
    """The record a `source` crawl request writes, or why it is refused.

    `active` and `inactive` are the crawler's sources now, `recorded` the `sources` table.
    Refusals: `invalid-source` (the definition does not validate), `unknown-source` (nothing
    by that name to remove, disable or enable).
    """
    if request.action == "add":
        try:
            source = parse_source(request.source)
        except SourcesError as exc:
            return Rejected("invalid-source", str(exc))
        # A source that was not active (new, removed or disabled) is due at once; a changed
        # active one keeps its turn.
        record = {"state": "active", "source": source.model_dump(mode="json"), "at": at.isoformat()}
        return SourceChange(source.name, record, poll_now=source.name not in active, added=source)
    name = request.source_name or ""
    if not (name in active or name in inactive or name in recorded):
        return Rejected("unknown-source", f"no source named {name!r} to {request.action}")
    previous = recorded.get(name) or {}
    definition = None if request.action == "remove" else previous.get("source")
    record = {"state": _STATE_AFTER[request.action], "source": definition, "at": at.isoformat()}
    # An enabled source resumes with a poll now, not an interval later.
    return SourceChange(name, record, poll_now=request.action == "enable" and name not in active)


def apply_source_changes(file_sources: SourcesFile, changes: dict[str, dict[str, Any]]) -> tuple[dict[str, Source], dict[str, SourceState]]:
    """The active sources, and the names that are disabled or removed, after run-time changes.

    `changes` maps a source name to `{"state": active|disabled|removed, "source": {...} | None}`:
    a run-time definition replaces the file's one; a disabled source keeps its definition.
    """
    active = file_sources.by_name()
    inactive: dict[str, SourceState] = {}
    for name, change in changes.items():
        state = change.get("state", "active")
        definition = change.get("source")
        if definition:
            try:
                active[name] = Source.model_validate(definition)
            except ValueError:
                log.warning("ignoring an invalid run-time source definition", source=name)
        if state in ("disabled", "removed"):
            active.pop(name, None)
            inactive[name] = state
    return active, inactive
