"""The fate of every event of a batch: pure, no Elasticsearch, no Kafka."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.common.outcomes import Rejected
from services.indexer.batch_outcomes import Pending, Settled, build_items, bulk_items, settle
from services.indexer.bulk import BulkItem, ItemOutcome
from services.indexer.documents import document_version
from tests.services.indexer.conftest import article

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def pending(n: int) -> Pending:
    a = article(n)
    raw = a.model_dump_json().encode()
    return Pending(event=f"event-{n}", article=a, size=len(raw))


def refused(n: int) -> Pending:
    return Pending(event=f"event-{n}", article=Rejected("invalid-json", "not JSON"), size=1)


def test_build_items_keeps_input_order_and_passes_rejections_through() -> None:
    batch = [pending(1), refused(2), pending(3)]
    planned = build_items(batch, NOW)
    assert [p for p, _ in planned] == batch
    first, second, third = (item for _, item in planned)
    assert isinstance(first, BulkItem) and isinstance(third, BulkItem)
    assert second is batch[1].article
    assert first.id == batch[0].article.id and first.size == batch[0].size  # type: ignore[union-attr]
    assert first.version == document_version(batch[0].article)  # type: ignore[arg-type]
    assert first.document["indexed_at"] == NOW.isoformat()


def test_only_decoded_articles_are_sent() -> None:
    planned = build_items([refused(1), pending(2), refused(3)], NOW)
    assert [item.id for item in bulk_items(planned)] == [article(2).id]


def test_each_event_gets_its_own_outcome_in_order() -> None:
    batch = [pending(1), refused(2), pending(3), pending(4)]
    planned = build_items(batch, NOW)
    outcomes = [ItemOutcome("indexed"), ItemOutcome("rejected", "mapper_parsing_exception", "field [x]"), ItemOutcome("stale")]
    settled = settle(planned, outcomes)
    assert [s.pending for s in settled] == batch
    indexed, decode_refusal, es_refusal, stale = settled
    assert indexed == Settled(batch[0], indexed=True) and not indexed.invalid
    assert decode_refusal.rejected is batch[1].article and decode_refusal.invalid and not decode_refusal.indexed
    assert es_refusal.invalid and not es_refusal.indexed
    assert es_refusal.rejected is not None
    assert (es_refusal.rejected.reason, es_refusal.rejected.detail) == ("mapper_parsing_exception", "field [x]")
    assert es_refusal.rejected.article_id == batch[2].article.id  # type: ignore[union-attr]
    assert es_refusal.rejected.url == batch[2].article.url  # type: ignore[union-attr]
    assert es_refusal.trace_id == batch[2].article.trace_id  # type: ignore[union-attr]
    assert stale == Settled(batch[3]) and not stale.invalid and not stale.indexed


def test_a_refusal_without_a_reason_gets_a_generic_one() -> None:
    [settled] = settle(build_items([pending(1)], NOW), [ItemOutcome("rejected")])
    assert settled.rejected is not None and settled.rejected.reason == "elasticsearch-rejected" and settled.rejected.detail == ""


def test_a_missing_outcome_is_an_error_not_a_silent_pass() -> None:
    with pytest.raises(ValueError, match="no outcome"):
        settle(build_items([pending(1), pending(2)], NOW), [ItemOutcome("indexed")])
