"""`frontier_task` v1: the scraper's own work queue, keyed by host (news.crawl.frontier.v1).

Keying by host puts every task for one host in one partition, so exactly one scraper
worker owns a host and its politeness limits hold across the whole group.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import AwareDatetime, DiscoveredVia, Envelope, HttpUrl


class FrontierTaskV1(Envelope):
    event_type: Literal["frontier_task"] = "frontier_task"
    schema_version: Literal[1] = 1

    kind: Literal["feed", "sitemap", "page"]
    url: HttpUrl
    host: str
    source: str
    discovered_via: DiscoveredVia | None = None
    force: bool = False
    enqueued_at: AwareDatetime
    depth: int = Field(default=0, ge=0, le=64, description="Sitemap-index nesting that led to this task (0 for a source's own).")
    attempt: int = Field(default=0, ge=0, le=1000, description="Retryable failures (timeouts, 5xx) so far, for a task that was parked.")
    throttled: int = Field(default=0, ge=0, le=1000, description="429/503 answers so far, for a task that was parked.")
    spent_seconds: float = Field(default=0.0, ge=0, description="Request time already spent on this task (its budget).")
