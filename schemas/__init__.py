"""Versioned event schemas of the newsflow pipeline, the topic catalogue and the index contract.

One module per event type and major version. `EVENT_MODELS` maps each
(event_type, schema_version) to its pydantic model; a consumer decodes its input with
`services.common.stage.decode_model`, which turns what it does not understand into a
dead letter with a clear reason.
"""

from __future__ import annotations

from schemas.crawl_request_v1 import CrawlRequestV1
from schemas.dead_letter_v1 import DeadLetterV1
from schemas.enriched_article_v1 import EnrichedArticleV1
from schemas.frontier_task_v1 import FrontierTaskV1
from schemas.parsed_article_v1 import ArticleFields, ParsedArticleV1
from schemas.raw_page_v1 import RawPageV1

EVENT_MODELS = {
    ("raw_page", 1): RawPageV1,
    ("parsed_article", 1): ParsedArticleV1,
    ("enriched_article", 1): EnrichedArticleV1,
    ("dead_letter", 1): DeadLetterV1,
    ("crawl_request", 1): CrawlRequestV1,
    ("frontier_task", 1): FrontierTaskV1,
}

__all__ = [
    "ArticleFields",
    "CrawlRequestV1",
    "DeadLetterV1",
    "EVENT_MODELS",
    "EnrichedArticleV1",
    "FrontierTaskV1",
    "ParsedArticleV1",
    "RawPageV1",
]
