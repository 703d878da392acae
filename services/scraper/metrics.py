"""Scraper metrics. Host labels only take hosts named in the sources (others become "other")."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

FETCHES = Counter(
    "newsflow_scraper_fetches_total",
    "HTTP fetches by source, host and outcome (status code or failure reason).",
    ["source", "host", "kind", "outcome"],
)
FETCH_BYTES = Counter("newsflow_scraper_fetched_bytes_total", "Body bytes fetched (after decompression).", ["source"])
FETCH_SECONDS = Histogram(
    "newsflow_scraper_fetch_seconds",
    "Time from request to last body byte.",
    ["source"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ROBOTS_DENIED = Counter("newsflow_scraper_robots_denied_total", "URLs not fetched because robots.txt disallows them.", ["source"])
DEDUP_HITS = Counter("newsflow_scraper_dedup_hits_total", "Pages not fetched or not published again.", ["source", "reason"])
QUEUE_DEPTH = Gauge("newsflow_scraper_queue_depth", "Tasks queued or in flight per host.", ["host"])
LAST_SUCCESS = Gauge(
    "newsflow_scraper_last_success_timestamp_seconds",
    "Unix time of the last successful fetch per source (alert when a source goes silent).",
    ["source"],
)
LAST_ARTICLE = Gauge(
    "newsflow_scraper_last_article_timestamp_seconds",
    "Unix time of the last new or changed article page published per source.",
    ["source"],
)
FEED_ITEMS = Counter("newsflow_scraper_feed_items_total", "Items listed by feeds and sitemaps.", ["source"])
THROTTLED = Counter("newsflow_scraper_throttled_total", "429/503 answers that slowed a host down.", ["source"])
SKIPPED = Counter("newsflow_scraper_tasks_skipped_total", "Tasks dropped without a request, by reason (e.g. source-disabled).", ["source", "reason"])
DISCOVERED_REFUSED = Counter(
    "newsflow_scraper_urls_refused_total",
    "URLs found in feeds, sitemaps, redirects or links that never became a task (off-site, not-http, forbidden-address, …).",
    ["source", "reason"],
)
PARKED = Counter(
    "newsflow_scraper_tasks_parked_total",
    "Tasks set aside until their host is ready (host-busy, host-paused, retry-after, backoff, robots-unreachable).",
    ["source", "reason"],
)
RETRIES = Counter("newsflow_scraper_retries_total", "Requests scheduled again after a 429/5xx (throttled) or a timeout/5xx (failure).", ["source", "kind"])
STATE_EXPIRED = Counter("newsflow_scraper_state_expired_total", "Crawl-state values deleted because they outlived the retention.")
TASKS_DROPPED = Counter(
    "newsflow_scraper_tasks_dropped_total",
    "Frontier tasks given up at a rebalance without acknowledging them (the partition's owner redoes them): "
    "queued (never started), cancelled (request under way) or refused (arrived while the rebalance ran).",
    ["stage"],
)
