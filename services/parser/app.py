"""Parser wiring: news.pages.raw.v1 → parse_page → news.articles.parsed.v1 (or dead letters)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import faust
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas.raw_page_v1 import RawPageV1
from schemas.topics import DEAD_LETTERS, PARSED_ARTICLES, RAW_PAGES
from services.common.app import build_app, run_worker, topic
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard
from services.common.settings import ServiceSettings
from services.common.stage import Stage, faust_events, run_stage
from services.parser.logic import SiteRuleBook, parse_and_measure


class ParserSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_PARSER_", extra="ignore")

    http_port: int = 8102
    sources_file: Path | None = Field(default=Path("deploy/local/sources.yaml"), description="For per-site rules.")
    threads: int = Field(default=1, ge=1, description="Parse threads; parsing runs off the event loop.")


def create_app(settings: ParserSettings) -> faust.App:
    app = build_app("parser", settings)
    raw_topic = topic(app, RAW_PAGES, settings)
    parsed_topic = topic(app, PARSED_ARTICLES, settings)
    dlq_topic = topic(app, DEAD_LETTERS, settings)
    rules = SiteRuleBook.from_sources_file(settings.sources_file)
    stage = Stage(
        name="parser",
        input_model=RawPageV1,
        process=partial(parse_and_measure, rules=rules),
        key_of=lambda article: article.id.encode(),
        executor=ThreadPoolExecutor(settings.threads, thread_name_prefix="parse"),
    )
    dead_letters = DeadLetterSink("parser", lambda k, v: dlq_topic.send(key=k, value=v))
    guard = InvalidRatioGuard(settings.runtime.max_invalid_ratio, settings.runtime.invalid_window)

    @app.agent(raw_topic)
    async def parse_pages(stream):  # type: ignore[no-untyped-def]
        await run_stage(
            stage,
            faust_events(stream),
            lambda key, value: parsed_topic.send(key=key, value=value),
            dead_letters,
            guard,
            parsed_topic.get_topic_name(),
        )

    return app


def main() -> None:
    settings = ParserSettings()
    run_worker(create_app(settings), "parser", settings)


if __name__ == "__main__":
    main()
