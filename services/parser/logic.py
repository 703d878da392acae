"""The parser stage as a pure function over events, plus the site rules it needs."""

from __future__ import annotations

from pathlib import Path

from schemas.parsed_article_v1 import ParsedArticleV1
from schemas.raw_page_v1 import RawPageV1
from services.common.outcomes import Rejected
from services.parser.extract import parse_page
from schemas.sources import SiteRules, SourcesError, load_sources


class SiteRuleBook:
    """Per-source extraction rules from the sources file (empty when there is none)."""

    def __init__(self, rules: dict[str, SiteRules] | None = None) -> None:
        self.rules = rules or {}

    @classmethod
    def from_sources_file(cls, path: Path | None) -> SiteRuleBook:
        if path is None or not Path(path).exists():
            return cls()
        try:
            sources = load_sources(path)
        except SourcesError:
            raise
        return cls({s.name: s.site_rules for s in sources.sources if s.site_rules is not None})

    def for_source(self, source: str) -> SiteRules | None:
        return self.rules.get(source)


def parse_event(raw: RawPageV1, rules: SiteRuleBook) -> ParsedArticleV1 | Rejected:
    return parse_page(raw, rules.for_source(raw.source))


def parse_and_measure(raw: RawPageV1, rules: SiteRuleBook) -> ParsedArticleV1 | Rejected:
    """`parse_event` plus the per-source quality counters (the stage's wiring uses this)."""
    from services.parser.metrics import record_quality

    result = parse_event(raw, rules)
    record_quality(raw.source, result)
    return result
