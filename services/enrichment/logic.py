"""Enrichment of one parsed article: a pure function of the article and the loaded models.

    language (lingua) → entities (natasha / spaCy) → quotes and speakers → lemmas
    (pymorphy3 / simplemma) → keywords (YAKE) → word count, reading time, SimHash

What each language gets is in docs/enrichment.md. Story ids are not assigned here:
they need the index of earlier articles, which the story step owns (services/enrichment/
stories.py, wired in app.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.common import FieldProvenance, utcnow
from schemas.enriched_article_v1 import EnrichedArticleV1
from schemas.parsed_article_v1 import ParsedArticleV1
from services.common.outcomes import Rejected
from services.enrichment.entities import Analysis, EnglishNER, RawMention, RussianNER, resolve
from services.enrichment.keywords import KeywordExtractor
from services.enrichment.language import LanguageDetector
from services.enrichment.lemmas import Lemmatizer
from services.enrichment.quotes import extract_quotes
from services.enrichment.stories import simhash_hex
from services.enrichment.text import mask_credits

ENRICHMENT_VERSION = "newsflow-enrichment/0.3.0"
WORDS_PER_MINUTE = 200
LANGUAGE_OVERRIDE_CONFIDENCE = 0.7
# Named-entity recognition and quotes look at this much of a field; longer texts (rare:
# transcripts, documents) are still lemmatised and counted in full.
MAX_NLP_CHARS = 100_000
_WORD = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)


@dataclass
class Models:
    """Everything `enrich` needs, loaded once per process by `load_models()`.

    Only `language` is required; a stage built without the NLP models still detects the
    language and counts words (entities, quotes, lemmas and keywords stay empty).
    """

    language: LanguageDetector
    lemmatizer: Lemmatizer | None = None
    russian: RussianNER | None = None
    english: EnglishNER | None = None
    keywords: KeywordExtractor | None = None

    def ner_for(self, language: str | None) -> RussianNER | EnglishNER | None:
        return {"ru": self.russian, "en": self.english}.get(language or "")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def enrich(article: ParsedArticleV1, models: Models) -> EnrichedArticleV1 | Rejected:
    """The enriched article, or Rejected("empty-body") for an article without text.

    Pure: the same article and models give the same result (bar `enriched_at`). CPU-bound
    (tens of milliseconds per article): call it off the event loop.
    """
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

    texts = {"title": article.title or "", "lead": article.lead or "", "body": article.body}
    extra: dict[str, object] = {}
    lemmatizer = models.lemmatizer
    ner = models.ner_for(language)
    analyses: dict[str, Analysis] = {}
    if ner is not None:
        raw: list[RawMention] = []
        for field_name, text in texts.items():
            if text.strip():
                analysis = ner.analyse(mask_credits(text[:MAX_NLP_CHARS]), field_name)
                analyses[field_name] = analysis
                raw.extend(analysis.mentions)
        result = resolve(raw, texts, language, lemmatizer)
        extra["entities"] = result.entities
        if lemmatizer is not None:
            extra["quotes"] = extract_quotes(article.body, language, analyses.get("body"), result, lemmatizer)
    if lemmatizer is not None:
        extra["title_lemmas"] = lemmatizer.lemmatize_text(article.title, language)
        extra["body_lemmas"] = lemmatizer.lemmatize_text(article.body, language)
        if models.keywords is not None:
            tokens = [t for a in (analyses.get("title"), analyses.get("body")) if a for t in a.tokens]
            extra["keywords"] = models.keywords.extract(article.title, article.body, language, tokens)
    words = count_words(article.body)
    fields = article.model_dump(exclude={"event_type", "schema_version", "provenance", "language"})
    fields.update(
        provenance=provenance,
        language=language,
        language_confidence=confidence,
        word_count=words,
        reading_time_minutes=round(words / WORDS_PER_MINUTE, 1),
        fingerprint=simhash_hex(extra.get("body_lemmas"), article.body),  # type: ignore[arg-type]
        enrichment_version=ENRICHMENT_VERSION,
        enriched_at=utcnow(),
        **extra,
    )
    return EnrichedArticleV1(**fields)


# Lemma dictionaries loaded before the first article by default. Every other language the
# detector knows loads its simplemma dictionary on its first article (up to 1.4 s, once
# per worker). Preloading all 28 costs about 530 MiB more per process tree (shared by the
# workers) and a minute of start-up: `NEWSFLOW_ENRICHMENT_PRELOAD_LANGUAGES=all`.
DEFAULT_PRELOAD_LANGUAGES = ("ru", "en", "uk")


def load_models(preload_languages: tuple[str, ...] | str = DEFAULT_PRELOAD_LANGUAGES) -> Models:
    """Load every model once per process (a few seconds; nothing is downloaded).

    What an article can need is loaded here, before the first one: the NER models, the
    keyword stopword lists of every language the detector knows, and the lemma
    dictionaries of `preload_languages` ("all": every language the detector knows that
    has one). In the service this runs in the worker pool's zygote, so the workers, forked
    from it, share all of it copy-on-write.
    """
    from services.enrichment.language import DEFAULT_LANGUAGES, default_detector

    from services.enrichment.gazetteer import Gazetteer

    lemmatizer = Lemmatizer()
    wanted = DEFAULT_LANGUAGES if preload_languages == "all" else tuple(preload_languages)
    lemmatizer.warm_up(tuple(code for code in wanted if lemmatizer.supports(code)))
    keywords = KeywordExtractor(lemmatizer)
    keywords.warm_up(DEFAULT_LANGUAGES)
    return Models(
        language=default_detector(),
        lemmatizer=lemmatizer,
        russian=RussianNER(lemmatizer),
        english=EnglishNER(Gazetteer.load()),
        keywords=keywords,
    )
