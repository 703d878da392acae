"""Versioned event schemas of the newsflow pipeline, the topic catalogue and the index contract.

One module per event type and major version. `EVENT_MODELS` maps each
(event_type, schema_version) to its pydantic model; a consumer decodes its input with
`services.common.stage.decode_model`, which turns what it does not understand into a
dead letter with a clear reason.
"""

from __future__ import annotations

from typing import Any

# The models are imported when first asked for (PEP 562): a process that needs one schema (a
# parser worker, the `newsflow parse` command) does not build the pydantic validators of all six.
_MODELS = {
    "CrawlRequestV1": "schemas.crawl_request_v1",
    "DeadLetterV1": "schemas.dead_letter_v1",
    "EnrichedArticleV1": "schemas.enriched_article_v1",
    "FrontierTaskV1": "schemas.frontier_task_v1",
    "ArticleFields": "schemas.parsed_article_v1",
    "ParsedArticleV1": "schemas.parsed_article_v1",
    "RawPageV1": "schemas.raw_page_v1",
}
_EVENT_KINDS = {
    ("raw_page", 1): "RawPageV1",
    ("parsed_article", 1): "ParsedArticleV1",
    ("enriched_article", 1): "EnrichedArticleV1",
    ("dead_letter", 1): "DeadLetterV1",
    ("crawl_request", 1): "CrawlRequestV1",
    ("frontier_task", 1): "FrontierTaskV1",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _MODELS:
        return getattr(importlib.import_module(_MODELS[name]), name)
    if name == "EVENT_MODELS":
        return {kind: __getattr__(model) for kind, model in _EVENT_KINDS.items()}
    raise AttributeError(f"module 'schemas' has no attribute {name!r}")


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
