"""Indexer metrics: bulk sizes and latency, item outcomes, pause state, end-to-end freshness."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from services.common.metrics import FRESHNESS_BUCKETS

BULK_SECONDS = Histogram(
    "newsflow_indexer_bulk_seconds", "Latency of one bulk request.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BULK_DOCS = Histogram(
    "newsflow_indexer_bulk_documents", "Documents per bulk request.", buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000)
)
ITEMS = Counter(
    "newsflow_indexer_items_total", "Bulk items by outcome (indexed, stale, rejected, retried).", ["outcome"]
)
PAUSED = Gauge("newsflow_indexer_paused", "1 while consumption is paused waiting for Elasticsearch.")
FRESHNESS = Histogram(
    "newsflow_freshness_seconds",
    "End-to-end freshness: time from fetch to acknowledged in Elasticsearch.",
    buckets=FRESHNESS_BUCKETS,
)
