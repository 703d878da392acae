"""What the enrichment's pool processes run (pool_entry.py): one pure handler from the parsed event's bytes to an outcome."""

from __future__ import annotations

import json

from schemas.enriched_article_v1 import EnrichedArticleV1
from services.common.outcomes import Rejected
from services.common.stage import Emit
from services.enrichment.pool_entry import nlp_logic
from tests.services.enrichment.conftest import corpus_article


def test_a_parsed_article_becomes_an_enriched_event_keyed_by_its_id(models) -> None:  # type: ignore[no-untyped-def]
    parsed, _ = corpus_article("000-putin-aliev-dushanbe")
    parsed = parsed.model_copy(update={"trace_id": "trace-1"})
    outcome = nlp_logic(models).handle(parsed.model_dump_json().encode())
    assert isinstance(outcome, Emit)
    assert outcome.key == parsed.id.encode() and outcome.article_id == parsed.id and outcome.trace_id == "trace-1"
    enriched = EnrichedArticleV1.model_validate_json(outcome.value)
    assert enriched.id == parsed.id and enriched.language == "ru"
    assert "Владимир Путин" in [e.name for e in enriched.entities.persons]


def test_bad_bytes_are_refused_not_raised(models) -> None:  # type: ignore[no-untyped-def]
    handle = nlp_logic(models).handle
    not_json = handle(b"\xff{not json")
    assert isinstance(not_json, Rejected) and not_json.reason == "invalid-json"
    wrong_shape = handle(json.dumps({"event_type": "parsed_article", "schema_version": 1}).encode())
    assert isinstance(wrong_shape, Rejected) and wrong_shape.reason == "invalid-schema"
    assert isinstance(handle(None), Rejected)


def test_the_service_pool_recycles_workers_after_the_configured_count(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from services.enrichment.app import EnrichmentSettings, nlp_pool

    assert nlp_pool(EnrichmentSettings()).recycle_after == 1000
    monkeypatch.setenv("NEWSFLOW_ENRICHMENT_RECYCLE_AFTER", "0")
    assert nlp_pool(EnrichmentSettings()).recycle_after is None, "0 means never"
    monkeypatch.setenv("NEWSFLOW_ENRICHMENT_RECYCLE_AFTER", "250")
    assert nlp_pool(EnrichmentSettings()).recycle_after == 250
