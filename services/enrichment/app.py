"""Enrichment wiring: two steps, so the NLP scales out and story ids have one owner.

    news.articles.parsed.v1 ──enrich_articles (NLP, killable workers)──▶ news.enrichment.stories.v1
    news.enrichment.stories.v1 ──assign_stories (story table)──▶ news.articles.enriched.v1
                     both ──bad data──▶ news.deadletter.v1

1. `enrich_articles` runs `logic.enrich` in a pool of NEWSFLOW_ENRICHMENT_WORKERS worker
   processes forked from one zygote that loaded the models (services/enrichment/pool_entry.py),
   each article under a time limit; the event loop only moves bytes, so heartbeats and
   commits never wait for NLP.
2. `assign_stories` consumes the single-partition stories topic and keeps the story
   index (services/enrichment/stories.py) in the faust table `stories`, co-partitioned
   with it and backed by its changelog topic: exactly one worker owns partition 0, so
   two workers can never mint two ids for one story, and a restarted worker rebuilds
   the index from the changelog. Table writes happen while handling the event, as
   faust requires. Fingerprints and index lookups (about 2 ms per article) run inline.
"""

from __future__ import annotations

import os

import faust
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas.enriched_article_v1 import EnrichedArticleV1
from schemas.topics import DEAD_LETTERS, ENRICHED_ARTICLES, PARSED_ARTICLES, STORY_ASSIGNMENT
from services.common.app import build_app, run_stage_agent, run_worker, start_pool, topic
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard
from services.common.delivery import Publisher
from services.common.settings import ServiceSettings
from services.common.stage import EventPath, StageLogic, StageRunner, inline, pooled
from services.common.workers import WorkerPool
from services.enrichment.stories import StoryAssigner


def default_workers() -> int:
    """One NLP worker per core (they share the models' memory), at least one, at most four."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)))


class EnrichmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_ENRICHMENT_", extra="ignore")

    http_port: int = 8103
    workers: int = Field(default_factory=default_workers, ge=1, le=64,
                         description="NLP worker processes; default one per core (they share the loaded models).")
    time_limit: float = Field(default=30.0, gt=0, description="Seconds one article may take before it is dead-lettered as `timeout`.")
    recycle_after: int = Field(
        default=1000, ge=0,
        description="Replace an NLP worker by a fresh fork of the zygote after this many articles (0: never): "
                    "bounds what a worker accumulates (word caches, spaCy's vocabulary, a fragmented heap).")
    story_sweep_every: int = Field(default=500, ge=1, description="Drop expired story-index entries every N articles.")
    preload_languages: str = Field(
        default="ru,en,uk",
        description="Languages whose lemma dictionaries are loaded before the first article, comma-separated, or "
                    "`all` (every detected language with a dictionary: about 530 MiB more, shared by the workers, "
                    "and a minute of start-up). Others load on their first article, once per worker.")

    def preload(self) -> tuple[str, ...] | str:
        value = self.preload_languages.strip().lower()
        return "all" if value == "all" else tuple(code.strip() for code in value.split(",") if code.strip())


def nlp_pool(settings: EnrichmentSettings) -> WorkerPool:
    return WorkerPool("enrichment", "services.enrichment.pool_entry:prepare_worker", prepare_args=(settings.preload(),),
                      size=settings.workers, time_limit=settings.time_limit, recycle_after=settings.recycle_after or None)


def create_app(settings: EnrichmentSettings, pool: WorkerPool | None = None) -> faust.App:
    """The enrichment's faust app; `pool` may be launched already (see `main`)."""
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
    pool = pool or nlp_pool(settings)
    assigner = StoryAssigner(stories, settings.story_sweep_every)
    story = StageLogic(
        name="enrichment-stories", input_model=EnrichedArticleV1,
        process=assigner, key_of=lambda article: article.id.encode(),
    )
    dead_letters = DeadLetterSink("enrichment", Publisher.for_faust_topic(dlq_topic, "enrichment").deliver)
    runtime = settings.runtime
    # One stop rule for the whole service: both steps' dead letters count towards it.
    stop_rule = InvalidRatioGuard(runtime.max_invalid_ratio, runtime.invalid_window)
    nlp_runner = StageRunner(
        EventPath("enrichment", dead_letters, stop_rule), pooled(pool, "enrichment"),
        Publisher.for_faust_topic(stories_topic, "enrichment"), window=2 * settings.workers,
    )
    story_runner = StageRunner(
        EventPath("enrichment-stories", dead_letters, stop_rule), inline(story),
        Publisher.for_faust_topic(enriched_topic, "enrichment"),
    )

    @app.agent(parsed_topic)
    async def enrich_articles(stream):  # type: ignore[no-untyped-def]
        await run_stage_agent(nlp_runner, stream)

    @app.agent(stories_topic)
    async def assign_stories(stream):  # type: ignore[no-untyped-def]
        await run_stage_agent(story_runner, stream)

    @app.on_partitions_revoked.connect  # type: ignore[misc]
    async def forget_story_buckets(app_, revoked, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # The story table may be restored or handed over: its in-memory LSH buckets are
        # rebuilt from it by the next article, after the restore.
        assigner.forget_bands()

    @app.task
    async def load_models() -> None:
        """Start the workers now, so the first article does not wait for the models."""
        await start_pool(pool, app)

    @app.on_before_shutdown.connect  # type: ignore[misc]
    async def close_pool(app_, **kwargs) -> None:  # type: ignore[no-untyped-def]
        pool.close()

    return app


def main() -> None:
    settings = EnrichmentSettings()
    pool = nlp_pool(settings)
    # The models load (about 10 s) while faust restores the story table and joins the group:
    # faust starts app tasks only after the restore, too late to begin loading then.
    pool.launch()
    run_worker(create_app(settings, pool), "enrichment", settings)


if __name__ == "__main__":
    main()
