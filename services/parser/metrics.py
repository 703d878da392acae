"""Extraction quality signals per source: the first sign of a site's layout drifting.

An operator alerts on the share of a source's articles that come out without a date,
without authors or with a suspiciously short body (see deploy/prometheus/rules.yml).
Parsing runs in worker processes; what these counters need travels back with each
outcome (`services.parser.pool_entry.quality_notes`) and is counted in the service process.
"""

from __future__ import annotations

from prometheus_client import Counter

from services.common.outcomes import Rejected
from services.common.stage import Outcome

ARTICLES = Counter("newsflow_parser_articles_total", "Articles parsed, per source.", ["source"])
MISSING = Counter(
    "newsflow_parser_missing_fields_total",
    "Parsed articles lacking a field (published_at, authors, lead, section) or with a short body (body_short).",
    ["source", "field"],
)
REJECTED = Counter("newsflow_parser_rejected_total", "Pages rejected by the parser, per source and reason.", ["source", "reason"])


def record_quality(outcome: Outcome) -> None:
    source = outcome.notes.get("source")
    if source is None:
        return  # not decodable: no source to count it under (the dead-letter counter has it)
    if isinstance(outcome, Rejected):
        REJECTED.labels(source, outcome.reason).inc()
        return
    ARTICLES.labels(source).inc()
    for name in outcome.notes.get("missing", ()):
        MISSING.labels(source, name).inc()
