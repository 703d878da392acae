"""Enrichment of one parsed article: a pure function of the article and the loaded models."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.common import FieldProvenance, utcnow
from schemas.enriched_article_v1 import EnrichedArticleV1
from schemas.parsed_article_v1 import ParsedArticleV1
from services.common.outcomes import Rejected
from services.enrichment.language import LanguageDetector

ENRICHMENT_VERSION = "newsflow-enrichment/0.1.0"
WORDS_PER_MINUTE = 200
LANGUAGE_OVERRIDE_CONFIDENCE = 0.7
_WORD = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)


@dataclass
class Models:
    language: LanguageDetector


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def enrich(article: ParsedArticleV1, models: Models) -> EnrichedArticleV1 | Rejected:
    if not article.body.strip():
        return Rejected("empty-body", "the article has no body text", article.id, article.url)
    provenance = dict(article.provenance)
    language, confidence = article.language, None
    detected = models.language.detect(article.body)
    if detected is not None:
        confidence = detected.confidence
        if detected.code != language and detected.confidence >= LANGUAGE_OVERRIDE_CONFIDENCE:
            language = detected.code
            provenance["language"] = FieldProvenance(source="enrichment", confidence=detected.confidence, detail="lingua")
    words = count_words(article.body)
    return EnrichedArticleV1(
        **article.model_dump(exclude={"event_type", "schema_version", "provenance", "language"}),
        provenance=provenance,
        language=language,
        language_confidence=confidence,
        word_count=words,
        reading_time_minutes=round(words / WORDS_PER_MINUTE, 1),
        enrichment_version=ENRICHMENT_VERSION,
        enriched_at=utcnow(),
    )


def load_models() -> Models:
    """Load every model once per process (seconds; nothing is downloaded)."""
    from services.enrichment.language import default_detector

    return Models(language=default_detector())
