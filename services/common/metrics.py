"""Prometheus metrics shared by the stages, named after Prometheus conventions.

Every name starts with `newsflow_`, counters end in `_total`, durations are seconds.
Labels take values from small, known sets (stage, topic, reason, source, status
class); URLs and article ids never become labels.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
FRESHNESS_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)

EVENTS_IN = Counter("newsflow_events_in_total", "Events consumed by a stage.", ["stage", "topic"])
EVENTS_OUT = Counter("newsflow_events_out_total", "Events produced by a stage.", ["stage", "topic"])
DEAD_LETTERS = Counter(
    "newsflow_events_dead_lettered_total", "Events a stage sent to the dead-letter topic.", ["stage", "reason"]
)
PROCESSING_SECONDS = Histogram(
    "newsflow_processing_seconds", "Time a stage spends on one event.", ["stage"], buckets=LATENCY_BUCKETS
)
CONSUMER_LAG = Gauge(
    "newsflow_consumer_lag", "Messages behind the end of the partition.", ["stage", "topic", "partition"]
)
LAST_EVENT_TIMESTAMP = Gauge(
    "newsflow_last_event_timestamp_seconds", "Unix time of the last event a stage handled.", ["stage"]
)
INFRA_RETRIES = Counter(
    "newsflow_infrastructure_retries_total",
    "Retries after infrastructure trouble (never dead-lettered).",
    ["stage", "dependency"],
)
EVENT_LOOP_LAG = Gauge("newsflow_event_loop_lag_seconds", "How late the event loop ran a 1 s tick.", ["stage"])
READY = Gauge("newsflow_ready", "1 when the service is connected to what it needs.", ["stage"])
