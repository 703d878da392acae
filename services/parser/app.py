"""Parser wiring: news.pages.raw.v1 → parse (killable workers) → news.articles.parsed.v1 (or dead letters)."""

from __future__ import annotations

from pathlib import Path

import faust
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas.topics import DEAD_LETTERS, PARSED_ARTICLES, RAW_PAGES
from services.common.app import build_app, run_stage_agent, run_worker, start_pool, topic
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard
from services.common.delivery import Publisher
from services.common.service_catalogue import BY_NAME
from services.common.settings import ServiceSettings
from services.common.stage import EventPath, StageRunner, pooled
from services.common.workers import WorkerPool
from services.parser.pool_entry import SiteRuleBook
from services.parser.metrics import record_quality


class ParserSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_PARSER_", extra="ignore")

    http_port: int = BY_NAME["parser"].http_port
    sources_file: Path | None = Field(default=Path("deploy/local/sources.yaml"), description="For per-site rules.")
    workers: int = Field(default=1, ge=1, le=64, description="Parser worker processes.")
    time_limit: float = Field(default=10.0, gt=0, description="Seconds one page may take before it is dead-lettered as `timeout`.")


def create_app(settings: ParserSettings) -> faust.App:
    app = build_app("parser", settings)
    raw_topic = topic(app, RAW_PAGES, settings)
    parsed_topic = topic(app, PARSED_ARTICLES, settings)
    dlq_topic = topic(app, DEAD_LETTERS, settings)
    SiteRuleBook.from_sources_file(settings.sources_file)  # a broken sources file stops the start, here
    pool = WorkerPool(
        "parser", "services.parser.pool_entry:prepare_worker",
        (str(settings.sources_file) if settings.sources_file else None,),
        size=settings.workers, time_limit=settings.time_limit,
    )
    runtime = settings.runtime
    path = EventPath("parser", DeadLetterSink("parser", Publisher.for_faust_topic(dlq_topic, "parser").deliver),
                     InvalidRatioGuard(runtime.max_invalid_ratio, runtime.invalid_window))
    runner = StageRunner(
        path, pooled(pool, "parser"), Publisher.for_faust_topic(parsed_topic, "parser"),
        window=2 * settings.workers, on_outcome=record_quality,
    )

    @app.agent(raw_topic)
    async def parse_pages(stream):  # type: ignore[no-untyped-def]
        await run_stage_agent(runner, stream)

    @app.task
    async def start_workers() -> None:
        await start_pool(pool, app)

    @app.on_before_shutdown.connect  # type: ignore[misc]
    async def stop_workers(app_, **kwargs) -> None:  # type: ignore[no-untyped-def]
        pool.close()

    return app


def main() -> None:
    settings = ParserSettings()
    run_worker(create_app(settings), "parser", settings)


if __name__ == "__main__":
    main()
