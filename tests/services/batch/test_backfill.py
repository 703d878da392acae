"""The backfill's publish-or-skip decision and its resume state (pure, no server)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from services.batch.backfill import Prepared, decide
from services.batch.state import BackfillState, StateError

WHEN = datetime(2025, 10, 20, 9, tzinfo=timezone.utc)


def prepared(when: datetime = WHEN, content: str = "a" * 64) -> Prepared:
    return Prepared("0123456789abcdef", "https://a.example/1", when, content, b"{}")


def test_a_page_the_index_lacks_is_published() -> None:
    assert decide(prepared(), None, {}) is None


def test_the_index_holding_the_same_content_or_a_newer_fetch_skips_it() -> None:
    newer = {"fetched_at": (WHEN + timedelta(hours=1)).isoformat(), "content_hash": "b" * 64}
    same_time = {"fetched_at": "2025-10-20T09:00:00Z", "content_hash": "b" * 64}
    same_content = {"fetched_at": (WHEN - timedelta(days=1)).isoformat(), "content_hash": "a" * 64}
    for indexed in (newer, same_time, same_content):
        skipped = decide(prepared(), indexed, {})
        assert skipped is not None and skipped.reason == "already-indexed"


def test_an_archive_copy_newer_than_the_index_is_published_to_replace_it() -> None:
    older = {"fetched_at": (WHEN - timedelta(days=1)).isoformat(), "content_hash": "b" * 64}
    assert decide(prepared(), older, {}) is None


def test_within_a_run_only_a_newer_copy_of_an_article_goes_out_again() -> None:
    run = {"0123456789abcdef": WHEN}
    assert decide(prepared(), None, run).reason == "duplicate-in-archive"  # type: ignore[union-attr]
    assert decide(prepared(WHEN - timedelta(hours=1)), None, run) is not None
    assert decide(prepared(WHEN + timedelta(hours=1)), None, run) is None


def test_the_state_survives_a_reload_and_forgets_an_archive_whose_content_changed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "a.warc.gz"
    archive.write_bytes(b"first version")
    state = BackfillState.load(tmp_path / "state.json")
    entry = state.entry(archive)
    entry.last_offset, entry.published = 4096, 12
    state.save()
    again = BackfillState.load(tmp_path / "state.json").entry(archive)
    assert (again.last_offset, again.published, again.complete) == (4096, 12, False)
    archive.write_bytes(b"another file, same name")
    assert BackfillState.load(tmp_path / "state.json").entry(archive).last_offset is None
    assert not (tmp_path / "state.json.tmp").exists(), "written through a temporary file renamed over the old one"


def test_a_state_file_that_is_not_one_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "state.json").write_text("not json")
    with pytest.raises(StateError, match="is not a backfill state file"):
        BackfillState.load(tmp_path / "state.json")
    (tmp_path / "state.json").write_text(json.dumps({"version": 99, "archives": {}}))
    with pytest.raises(StateError, match="version 99"):
        BackfillState.load(tmp_path / "state.json")
