"""Run-time source changes: the record a request writes, and the sources that follow."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from schemas.crawl_request_v1 import CrawlRequestV1
from schemas.sources import Source, SourcesFile
from services.common.outcomes import Rejected
from services.scraper.source_changes import SourceChange, apply_source_changes, source_change

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
FILE = SourcesFile(sources=[Source(name="vestnik", feeds=["https://vestnik.example/rss"])])


def request(action: str, name: str | None = None, source: dict[str, Any] | None = None) -> CrawlRequestV1:
    return CrawlRequestV1(kind="source", action=action, source_name=name, source=source, requested_at=AT)  # type: ignore[arg-type]


def change(req: CrawlRequestV1, recorded: dict[str, Any] | None = None, inactive: dict[str, Any] | None = None) -> SourceChange | Rejected:
    return source_change(req, active=FILE.by_name(), inactive=inactive or {}, recorded=recorded or {}, at=AT)


def test_a_new_source_is_recorded_active_and_polled_at_once() -> None:
    result = change(request("add", source={"name": "gorod", "feeds": ["https://gorod.example/rss"]}))
    assert isinstance(result, SourceChange)
    assert result.name == "gorod" and result.poll_now and result.added is not None
    assert result.record == {"state": "active", "source": result.added.model_dump(mode="json"), "at": AT.isoformat()}


def test_a_changed_active_source_keeps_its_turn() -> None:
    result = change(request("add", source={"name": "vestnik", "feeds": ["https://vestnik.example/other"]}))
    assert isinstance(result, SourceChange) and not result.poll_now


def test_an_invalid_definition_is_refused_with_the_field() -> None:
    result = change(request("add", source={"name": "Bad Name!", "feeds": ["ftp://x"]}))
    assert isinstance(result, Rejected) and result.reason == "invalid-source" and "name" in result.detail


def test_an_unknown_source_cannot_be_disabled() -> None:
    result = change(request("disable", "nobody"))
    assert isinstance(result, Rejected) and result.reason == "unknown-source" and "'nobody'" in result.detail


def test_disable_keeps_the_definition_remove_drops_it_enable_polls_again() -> None:
    recorded = {"vestnik": {"state": "active", "source": {"name": "vestnik", "feeds": ["https://vestnik.example/rss"]}, "at": "x"}}
    disabled = change(request("disable", "vestnik"), recorded)
    assert isinstance(disabled, SourceChange) and disabled.state == "disabled" and not disabled.poll_now
    assert disabled.record["source"] == recorded["vestnik"]["source"]
    removed = change(request("remove", "vestnik"), recorded)
    assert isinstance(removed, SourceChange) and removed.state == "removed" and removed.record["source"] is None
    # Enabling a source that is not active now (it is only in the table): polled on the next tick.
    enabled = source_change(request("enable", "vestnik"), active={}, inactive={"vestnik": "disabled"}, recorded=recorded, at=AT)
    assert isinstance(enabled, SourceChange) and enabled.state == "active" and enabled.poll_now


def test_applied_changes_replace_disable_and_remove() -> None:
    changes = {
        "vestnik": {"state": "disabled", "source": None},
        "gorod": {"state": "active", "source": {"name": "gorod", "feeds": ["https://gorod.example/rss"]}},
        "broken": {"state": "active", "source": {"name": "broken", "feeds": "not a list"}},
    }
    active, inactive = apply_source_changes(FILE, changes)
    assert sorted(active) == ["gorod"], "an invalid run-time definition is ignored, not fatal"
    assert inactive == {"vestnik": "disabled"}
