"""Enrichment wiring: news.articles.parsed.v1 → enrich → news.articles.enriched.v1."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import faust
from pydantic_settings import SettingsConfigDict

from schemas.parsed_article_v1 import ParsedArticleV1
from schemas.topics import DEAD_LETTERS, ENRICHED_ARTICLES, PARSED_ARTICLES
from services.common.app import build_app, run_worker, topic
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard
from services.common.settings import ServiceSettings
from services.common.stage import Stage, faust_events, run_stage
from services.enrichment.language import default_detector
from services.enrichment.logic import Models, enrich


class EnrichmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_ENRICHMENT_", extra="ignore")

    http_port: int = 8103


def _enrich(article: ParsedArticleV1):  # type: ignore[no-untyped-def]
    return enrich(article, Models(language=default_detector()))


def create_app(settings: EnrichmentSettings) -> faust.App:
    app = build_app("enrichment", settings)
    parsed_topic = topic(app, PARSED_ARTICLES, settings)
    enriched_topic = topic(app, ENRICHED_ARTICLES, settings)
    dlq_topic = topic(app, DEAD_LETTERS, settings)
    stage = Stage(
        name="enrichment",
        input_model=ParsedArticleV1,
        process=_enrich,
        key_of=lambda article: article.id.encode(),
        executor=ThreadPoolExecutor(1, thread_name_prefix="enrich"),
    )
    dead_letters = DeadLetterSink("enrichment", lambda k, v: dlq_topic.send(key=k, value=v))
    guard = InvalidRatioGuard(settings.runtime.max_invalid_ratio, settings.runtime.invalid_window)

    @app.agent(parsed_topic)
    async def enrich_articles(stream):  # type: ignore[no-untyped-def]
        await run_stage(
            stage, faust_events(stream), lambda key, value: enriched_topic.send(key=key, value=value),
            dead_letters, guard, enriched_topic.get_topic_name(),
        )

    return app


def main() -> None:
    settings = EnrichmentSettings()
    run_worker(create_app(settings), "enrichment", settings)


if __name__ == "__main__":
    main()
