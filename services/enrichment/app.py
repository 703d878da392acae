"""Enrichment wiring: two steps, so the NLP scales out and story ids have one owner.

    news.articles.parsed.v1 ──enrich_articles (NLP, process pool)──▶ news.enrichment.stories.v1
    news.enrichment.stories.v1 ──assign_stories (story table)──▶ news.articles.enriched.v1
                     both ──bad data──▶ news.deadletter.v1

1. `enrich_articles` runs `logic.enrich` in a pool of NEWSFLOW_ENRICHMENT_PROCESSES
   worker processes (models loaded once per process), with as many concurrent agent
   instances, so the event loop only awaits results: heartbeats and commits never
   wait for NLP.
2. `assign_stories` consumes the single-partition stories topic and keeps the story
   index (services/enrichment/stories.py) in the faust table `stories`, co-partitioned
   with it and backed by its changelog topic: exactly one worker owns partition 0, so
   two workers can never mint two ids for one story, and a restarted worker rebuilds
   the index from the changelog. Table writes happen while handling the event, as
   faust requires. Fingerprints and index lookups (about 2 ms per article) run inline.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas.enriched_article_v1 import EnrichedArticleV1
from schemas.parsed_article_v1 import ParsedArticleV1
from schemas.topics import DEAD_LETTERS, ENRICHED_ARTICLES, PARSED_ARTICLES, STORY_ASSIGNMENT
from services.common.app import build_app, run_worker, topic
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard
from services.common.logs import get_logger
from services.common.outcomes import Rejected
from services.common.settings import ServiceSettings
from services.common.stage import Stage, faust_events, run_stage
from services.enrichment.stories import StoryAssigner
from services.enrichment.worker import EnrichmentPool, enrich_in_worker

log = get_logger(__name__)


class EnrichmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_ENRICHMENT_", extra="ignore")

    http_port: int = 8103
    processes: int = Field(default=1, ge=1, description="NLP worker processes (each loads the models, ~0.6 GB).")
    task_timeout: float = Field(default=120.0, gt=0, description="Seconds one article may take before it is dead-lettered.")
    story_sweep_every: int = Field(default=500, ge=1, description="Drop expired story-index entries every N articles.")


@dataclass
class PooledStage(Stage[ParsedArticleV1, EnrichedArticleV1]):
    """A stage whose `process` runs in the enrichment process pool."""

    pool: EnrichmentPool | None = None

    async def run_process(self, item: ParsedArticleV1) -> EnrichedArticleV1 | Rejected:
        assert self.pool is not None
        return await self.pool.enrich(item)


def create_app(settings: EnrichmentSettings) -> faust.App:
    app = build_app("enrichment", settings)
    parsed_topic = topic(app, PARSED_ARTICLES, settings)
    stories_topic = topic(app, STORY_ASSIGNMENT, settings)
    enriched_topic = topic(app, ENRICHED_ARTICLES, settings)
    dlq_topic = topic(app, DEAD_LETTERS, settings)
    # JSON keys and values, so the index comes back as the same dicts after a restore.
    stories = app.Table(
        "stories", partitions=STORY_ASSIGNMENT.partitions,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
    )
    pool = EnrichmentPool(settings.processes, settings.task_timeout)
    nlp = PooledStage(
        name="enrichment", input_model=ParsedArticleV1, process=enrich_in_worker,
        key_of=lambda article: article.id.encode(), pool=pool,
    )
    story = Stage(
        name="enrichment-stories", input_model=EnrichedArticleV1,
        process=StoryAssigner(stories, settings.story_sweep_every), key_of=lambda article: article.id.encode(),
    )
    dead_letters = DeadLetterSink("enrichment", lambda k, v: dlq_topic.send(key=k, value=v))
    runtime = settings.runtime

    @app.agent(parsed_topic, concurrency=settings.processes)
    async def enrich_articles(stream):  # type: ignore[no-untyped-def]
        await run_stage(
            nlp, faust_events(stream), lambda key, value: stories_topic.send(key=key, value=value),
            dead_letters, InvalidRatioGuard(runtime.max_invalid_ratio, runtime.invalid_window),
            stories_topic.get_topic_name(),
        )

    @app.agent(stories_topic)
    async def assign_stories(stream):  # type: ignore[no-untyped-def]
        await run_stage(
            story, faust_events(stream), lambda key, value: enriched_topic.send(key=key, value=value),
            dead_letters, InvalidRatioGuard(runtime.max_invalid_ratio, runtime.invalid_window),
            enriched_topic.get_topic_name(),
        )

    @app.task
    async def load_models() -> None:
        """Start the worker processes now, so the first article does not wait for the models."""
        pids = await pool.warm_up()
        log.info("enrichment workers ready", processes=len(pids), pids=pids)

    @app.on_before_shutdown.connect  # type: ignore[misc]
    async def close_pool(app_, **kwargs) -> None:  # type: ignore[no-untyped-def]
        pool.close()

    return app


def main() -> None:
    settings = EnrichmentSettings()
    run_worker(create_app(settings), "enrichment", settings)


if __name__ == "__main__":
    main()
