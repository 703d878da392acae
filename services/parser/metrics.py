"""Extraction quality signals per source: the first sign of a site's layout drifting.

An operator alerts on the share of a source's articles that come out without a date,
without authors or with a suspiciously short body (see deploy/prometheus/rules.yml).
"""

from __future__ import annotations

from prometheus_client import Counter

from schemas.parsed_article_v1 import ParsedArticleV1
from services.common.outcomes import Rejected

ARTICLES = Counter("newsflow_parser_articles_total", "Articles parsed, per source.", ["source"])
MISSING = Counter(
    "newsflow_parser_missing_fields_total",
    "Parsed articles lacking a field (published_at, authors, lead, section) or with a short body (body_short).",
    ["source", "field"],
)
REJECTED = Counter("newsflow_parser_rejected_total", "Pages rejected by the parser, per source and reason.", ["source", "reason"])
SHORT_BODY_CHARS = 500


def record_quality(source: str, result: ParsedArticleV1 | Rejected) -> None:
    if isinstance(result, Rejected):
        REJECTED.labels(source, result.reason).inc()
        return
    ARTICLES.labels(source).inc()
    if result.published_at is None:
        MISSING.labels(source, "published_at").inc()
    if not result.authors:
        MISSING.labels(source, "authors").inc()
    if not result.lead:
        MISSING.labels(source, "lead").inc()
    if not result.section:
        MISSING.labels(source, "section").inc()
    if len(result.body) < SHORT_BODY_CHARS:
        MISSING.labels(source, "body_short").inc()
