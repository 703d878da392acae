from datetime import datetime, timedelta, timezone

import pytest

from services.indexer.documents import PIPELINE_REVISION, document_version, to_document
from tests.services.indexer.conftest import article


def test_a_later_fetch_has_a_higher_version() -> None:
    older, newer = article(1), article(1, minutes_later=1)
    assert document_version(newer) > document_version(older)


def test_a_newer_pipeline_revision_wins_over_the_same_fetch() -> None:
    a = article(1)
    assert document_version(a, PIPELINE_REVISION + 1) > document_version(a, PIPELINE_REVISION)
    with pytest.raises(ValueError):
        document_version(a, 1000)


def test_documents_carry_facets_and_leave_transport_fields_out() -> None:
    a = article(0)
    doc = to_document(a, datetime(2025, 10, 10, tzinfo=timezone.utc) + timedelta(minutes=5))
    assert doc["id"] == a.id and doc["indexed_at"].startswith("2025-10-10T00:05")
    assert doc["persons"] == [e.name for e in a.entities.persons]
    assert doc["quote_speakers"] == sorted({q.speaker for q in a.quotes if q.speaker})
    assert "event_id" not in doc and "schema_version" not in doc and "event_type" not in doc


def test_unknown_event_fields_stay_out_of_the_index() -> None:
    a = article(0).model_copy(update={"experimental_score": 0.7})
    assert "experimental_score" not in to_document(a, datetime.now(timezone.utc))
