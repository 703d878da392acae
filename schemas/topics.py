"""The topic catalogue: every Kafka topic the pipeline uses, in one place.

A topic name carries the schema's major version (`.v1`): a breaking schema change
gets a new topic, so old and new consumers can run side by side during a migration.
`docs/architecture.md` describes who produces and consumes each topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemas.crawl_request_v1 import CrawlRequestV1
from schemas.dead_letter_v1 import DeadLetterV1
from schemas.enriched_article_v1 import EnrichedArticleV1
from schemas.frontier_task_v1 import FrontierTaskV1
from schemas.parsed_article_v1 import ParsedArticleV1
from schemas.raw_page_v1 import RawPageV1

if TYPE_CHECKING:
    from pydantic import BaseModel

DAY_MS = 24 * 3600 * 1000
MB = 1024 * 1024


@dataclass(frozen=True)
class TopicSpec:
    name: str
    schema: type[BaseModel]
    key: str
    partitions: int
    retention_ms: int
    max_message_bytes: int
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    compression: str = "gzip"
    cleanup_policy: str = "delete"
    description: str = ""

    def config(self) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "max.message.bytes": str(self.max_message_bytes),
            "cleanup.policy": self.cleanup_policy,
            "compression.type": self.compression,
        }


CRAWL_REQUESTS = TopicSpec(
    name="news.crawl.requests.v1",
    schema=CrawlRequestV1,
    key="host of the URL (or source name for kind=source)",
    partitions=1,
    retention_ms=7 * DAY_MS,
    max_message_bytes=1 * MB,
    producers=("newsflow crawl", "operators' tools"),
    consumers=("scraper",),
    description="Run-time crawl requests: single URLs or whole sources.",
)
FRONTIER = TopicSpec(
    name="news.crawl.frontier.v1",
    schema=FrontierTaskV1,
    key="host",
    partitions=4,
    retention_ms=3 * DAY_MS,
    max_message_bytes=1 * MB,
    producers=("scraper",),
    consumers=("scraper",),
    description="The scraper's work queue (feeds, sitemaps, pages), partitioned by host.",
)
RAW_PAGES = TopicSpec(
    name="news.pages.raw.v1",
    schema=RawPageV1,
    key="article id",
    partitions=4,
    retention_ms=30 * DAY_MS,
    max_message_bytes=8 * MB,
    producers=("scraper",),
    consumers=("parser",),
    description="Fetched pages with headers and decoded body; replaying it re-parses everything.",
)
PARSED_ARTICLES = TopicSpec(
    name="news.articles.parsed.v1",
    schema=ParsedArticleV1,
    key="article id",
    partitions=4,
    retention_ms=14 * DAY_MS,
    max_message_bytes=4 * MB,
    producers=("parser",),
    consumers=("enrichment",),
    description="Structured articles with per-field provenance.",
)
ENRICHED_ARTICLES = TopicSpec(
    name="news.articles.enriched.v1",
    schema=EnrichedArticleV1,
    key="article id",
    partitions=4,
    retention_ms=14 * DAY_MS,
    max_message_bytes=8 * MB,
    producers=("enrichment",),
    consumers=("indexer",),
    description="Articles with language, entities, quotes, lemmas, keywords and story ids.",
)
STORY_ASSIGNMENT = TopicSpec(
    name="news.enrichment.stories.v1",
    schema=EnrichedArticleV1,
    key="article id",
    # One partition on purpose: story ids are assigned by a single owner at a time, so
    # two workers can never mint two ids for one story. The NLP before it scales out.
    partitions=1,
    retention_ms=3 * DAY_MS,
    max_message_bytes=8 * MB,
    producers=("enrichment (NLP step)",),
    consumers=("enrichment (story step)",),
    description="Enriched articles waiting for their story id.",
)
DEAD_LETTERS = TopicSpec(
    name="news.deadletter.v1",
    schema=DeadLetterV1,
    key="article id when known, else the original key",
    partitions=1,
    retention_ms=30 * DAY_MS,
    max_message_bytes=16 * MB,
    producers=("scraper", "parser", "enrichment", "indexer"),
    consumers=("newsflow dlq", "operators"),
    description="Messages a stage could not handle, with the original bytes, stage and reason.",
)

CATALOGUE: tuple[TopicSpec, ...] = (
    CRAWL_REQUESTS,
    FRONTIER,
    RAW_PAGES,
    PARSED_ARTICLES,
    STORY_ASSIGNMENT,
    ENRICHED_ARTICLES,
    DEAD_LETTERS,
)


def topic_name(spec: TopicSpec, namespace: str = "") -> str:
    """The topic's name in a namespace; tests run isolated pipelines side by side."""
    return f"{namespace}.{spec.name}" if namespace else spec.name


def _names(names: tuple[str, ...], service: str) -> bool:
    """Producer/consumer names: "enrichment" or "enrichment (NLP step)" both name the enrichment."""
    return any(n == service or n.startswith(f"{service} (") for n in names)


def consumed_by(service: str) -> tuple[TopicSpec, ...]:
    """Catalogue topics a service consumes."""
    return tuple(spec for spec in CATALOGUE if _names(spec.consumers, service))


def produced_by(service: str) -> tuple[TopicSpec, ...]:
    """Catalogue topics a service produces to (the dead-letter topic included)."""
    return tuple(spec for spec in CATALOGUE if _names(spec.producers, service))


def used_by(service: str) -> tuple[TopicSpec, ...]:
    """Every catalogue topic a service reads or writes, in catalogue order: what it may create at start-up."""
    wanted = {spec.name for spec in consumed_by(service) + produced_by(service)}
    return tuple(spec for spec in CATALOGUE if spec.name in wanted)
