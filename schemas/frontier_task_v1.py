"""`frontier_task` v1: the scraper's own work queue, keyed by host (news.crawl.frontier.v1).

Keying by host puts every task for one host in one partition, so exactly one scraper
worker owns a host and its politeness limits hold across the whole group.
"""

from __future__ import annotations

from typing import Literal

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
