"""`enrich`: a pure function of the article and the models."""

from __future__ import annotations

from services.common.outcomes import Rejected
from services.enrichment.logic import ENRICHMENT_VERSION, enrich
from tests.services.enrichment.conftest import article, corpus_article


def test_empty_body_is_rejected(models) -> None:  # type: ignore[no-untyped-def]
    result = enrich(article("Title", "   \n"), models)
    assert isinstance(result, Rejected) and result.reason == "empty-body"


def test_enrich_is_deterministic(models) -> None:  # type: ignore[no-untyped-def]
    parsed, _ = corpus_article("018-france-budget-assembly")
    first, second = enrich(parsed, models), enrich(parsed, models)
    exclude = {"enriched_at"}
    assert first.model_dump(exclude=exclude) == second.model_dump(exclude=exclude)


def test_every_enrichment_field_is_filled(seed) -> None:  # type: ignore[no-untyped-def]
    assert seed.language == "ru" and seed.language_confidence and seed.language_confidence > 0.9
    assert seed.enrichment_version == ENRICHMENT_VERSION != "newsflow-enrichment/0.1.0"
    assert seed.fingerprint and len(seed.fingerprint) == 16 and int(seed.fingerprint, 16)
    assert seed.entities.persons and seed.entities.organizations and seed.entities.locations
    assert len(seed.quotes) >= 15
    assert seed.title_lemmas and seed.body_lemmas and seed.keywords
    assert seed.story_id is None, "story ids are assigned by the story step, not by enrich"


def test_detected_language_overrides_a_wrong_hint(models) -> None:  # type: ignore[no-untyped-def]
    parsed, _ = corpus_article("020-greenland-ice-loss")
    parsed = parsed.model_copy(update={"language": "ru"})
    enriched = enrich(parsed, models)
    assert enriched.language == "en"
    assert enriched.provenance["language"].detail == "lingua"
    assert "Signe Mortensen" in [p.name for p in enriched.entities.persons]
