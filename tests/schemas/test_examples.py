"""Every example payload is valid and runs through every consumer of its topic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import EVENT_MODELS
from schemas.crawl_request_v1 import CrawlRequestV1
from schemas.dead_letter_v1 import DeadLetterV1
from schemas.enriched_article_v1 import EnrichedArticleV1
from schemas.frontier_task_v1 import FrontierTaskV1
from schemas.parsed_article_v1 import ParsedArticleV1
from schemas.raw_page_v1 import RawPageV1
from services.common.outcomes import Rejected
from services.common.stage import decode_model
from services.enrichment.logic import enrich
from services.indexer.batch_outcomes import Pending, build_items
from services.indexer.bulk import BulkItem
from services.parser.pool_entry import SiteRuleBook, parse_event
from schemas.sources import parse_source

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
ALL = sorted(EXAMPLES.glob("*/*.json"))


def examples(kind: str) -> list[Path]:
    return [p for p in ALL if p.parent.name == kind]


def test_every_event_type_has_examples() -> None:
    kinds = {f"{t}.v{v}" for t, v in EVENT_MODELS}
    assert kinds == {p.parent.name for p in ALL}


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example_decodes_with_its_model(path: Path) -> None:
    event_type, version = path.parent.name.rsplit(".v", 1)
    model = EVENT_MODELS[(event_type, int(version))]
    decoded = decode_model(model, path.read_bytes())
    assert not isinstance(decoded, Rejected), decoded
    assert decoded.event_type == event_type


@pytest.mark.parametrize("path", examples("raw_page.v1"), ids=lambda p: p.stem)
def test_raw_page_examples_parse(path: Path) -> None:
    raw = RawPageV1.model_validate_json(path.read_bytes())
    parsed = parse_event(raw, SiteRuleBook())
    assert isinstance(parsed, ParsedArticleV1), parsed
    assert parsed.id == raw.article_id and parsed.title and len(parsed.body) > 500


@pytest.mark.parametrize("path", examples("parsed_article.v1"), ids=lambda p: p.stem)
def test_parsed_article_examples_enrich(path: Path, models) -> None:  # type: ignore[no-untyped-def]
    parsed = ParsedArticleV1.model_validate_json(path.read_bytes())
    enriched = enrich(parsed, models)
    assert isinstance(enriched, EnrichedArticleV1), enriched
    assert enriched.id == parsed.id and enriched.word_count > 0


@pytest.mark.parametrize("path", examples("enriched_article.v1"), ids=lambda p: p.stem)
def test_enriched_article_examples_become_documents(path: Path) -> None:
    article = EnrichedArticleV1.model_validate_json(path.read_bytes())
    from datetime import datetime, timezone

    [(pending, item)] = build_items([Pending(None, article, 1)], datetime.now(timezone.utc))
    assert isinstance(item, BulkItem)
    assert item.id == article.id and item.document["title"] == article.title


@pytest.mark.parametrize("path", examples("crawl_request.v1"), ids=lambda p: p.stem)
def test_crawl_request_examples_are_accepted_by_the_scraper(path: Path) -> None:
    request = CrawlRequestV1.model_validate_json(path.read_bytes())
    if request.kind == "source":
        assert parse_source(request.source).name
    else:
        assert request.url and request.url.startswith("https://")


@pytest.mark.parametrize("path", examples("frontier_task.v1"), ids=lambda p: p.stem)
def test_frontier_task_examples_decode(path: Path) -> None:
    task = decode_model(FrontierTaskV1, path.read_bytes())
    assert isinstance(task, FrontierTaskV1) and task.host in task.url


@pytest.mark.parametrize("path", examples("dead_letter.v1"), ids=lambda p: p.stem)
def test_dead_letter_examples_keep_the_original(path: Path) -> None:
    record = DeadLetterV1.model_validate_json(path.read_bytes())
    assert record.original_value() and json.loads(record.original_value() or b"{}")
