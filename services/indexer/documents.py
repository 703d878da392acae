"""From an enriched article event to the Elasticsearch document and its version.

`to_document` is the whole contract between the event schema and the index
mapping: what is indexed, under which name. `document_version` makes updates
monotonic: an article fetched later, or re-processed by a newer pipeline
revision, gets a higher version; Elasticsearch's external versioning then refuses
anything older, so a replay or a restart can never bring back an old version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.enriched_article_v1 import EnrichedArticleV1

# Bump when a parser or enrichment release should overwrite documents made from the
# same fetch (a re-parse replay). Must stay below REVISION_SLOTS.
PIPELINE_REVISION = 1
REVISION_SLOTS = 1000

# Fields of the event that stay out of the index: transport, and content that index
# contract v1 has no mapping for (live-blog post times: a candidate for contract v2).
EVENT_ONLY_FIELDS = {"event_id", "event_type", "schema_version", "live_posts"}


def document_version(article: EnrichedArticleV1, revision: int = PIPELINE_REVISION) -> int:
    """Milliseconds of the fetch time, times 1000, plus the pipeline revision."""
    if not 0 <= revision < REVISION_SLOTS:
        raise ValueError(f"revision must be in [0, {REVISION_SLOTS})")
    return int(article.fetched_at.timestamp() * 1000) * REVISION_SLOTS + revision


def to_document(article: EnrichedArticleV1, indexed_at: datetime) -> dict[str, Any]:
    doc = article.model_dump(mode="json", exclude=EVENT_ONLY_FIELDS, exclude_none=True)
    doc["indexed_at"] = indexed_at.isoformat()
    entities = article.entities
    doc["persons"] = [e.name for e in entities.persons]
    doc["organizations"] = [e.name for e in entities.organizations]
    doc["locations"] = [e.name for e in entities.locations]
    doc["quote_speakers"] = sorted({q.speaker for q in article.quotes if q.speaker})
    # Extra fields an event may carry (schemas allow them) are not part of the index contract.
    known = set(EnrichedArticleV1.model_fields) | {"indexed_at", "persons", "organizations", "locations", "quote_speakers"}
    return {k: v for k, v in doc.items() if k in known}
