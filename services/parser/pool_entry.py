"""The parser's entry into its worker pool: `parse_page` as the stage's pure function over events.

The extraction itself is `extract.parse_page`; this module adapts it to the event path: the
site rules of the sources file (`SiteRuleBook`), the per-source quality notes, the
`StageLogic` and `prepare_worker`, which the pool's zygote runs once (services/common/workers.py).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Callable

from schemas.parsed_article_v1 import ParsedArticleV1
from schemas.raw_page_v1 import RawPageV1
from schemas.sources import SiteRules, load_sources
from services.common.outcomes import Rejected
from services.common.stage import Outcome, StageLogic
from services.parser.extract import parse_page

# A body shorter than this counts as "body_short" in the per-source quality counters.
SHORT_BODY_CHARS = 500


class SiteRuleBook:
    """Per-source extraction rules from the sources file (empty when there is none)."""

    def __init__(self, rules: dict[str, SiteRules] | None = None) -> None:
        self.rules = rules or {}

    @classmethod
    def from_sources_file(cls, path: Path | None) -> SiteRuleBook:
        """Raises SourcesError when the file exists but is not valid."""
        if path is None or not Path(path).exists():
            return cls()
        sources = load_sources(path)
        return cls({s.name: s.site_rules for s in sources.sources if s.site_rules is not None})

    def for_source(self, source: str) -> SiteRules | None:
        return self.rules.get(source)


def parse_event(raw: RawPageV1, rules: SiteRuleBook) -> ParsedArticleV1 | Rejected:
    return parse_page(raw, rules.for_source(raw.source))


def quality_notes(raw: RawPageV1, result: ParsedArticleV1 | Rejected) -> dict[str, Any]:
    """What the per-source quality counters need: the source and the fields an article lacks."""
    if isinstance(result, Rejected):
        return {"source": raw.source}
    missing = [name for name in ("published_at", "authors", "lead", "section") if not getattr(result, name)]
    if len(result.body) < SHORT_BODY_CHARS:
        missing.append("body_short")
    return {"source": raw.source, "missing": missing}


def stage_logic(rules: SiteRuleBook) -> StageLogic[RawPageV1, ParsedArticleV1]:
    return StageLogic(
        name="parser", input_model=RawPageV1, process=partial(parse_event, rules=rules),
        key_of=lambda article: article.id.encode(), notes_of=quality_notes,
    )


def prepare_worker(sources_file: str | None) -> Callable[[bytes | None], Outcome]:
    """Runs once in the worker pool's zygote: the handler every parser worker calls."""
    return stage_logic(SiteRuleBook.from_sources_file(Path(sources_file) if sources_file else None)).handle
