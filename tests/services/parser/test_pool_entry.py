"""What the parser's pool processes run: one pure handler from a raw page event's bytes to an outcome."""

from __future__ import annotations

from pathlib import Path

from schemas.parsed_article_v1 import ParsedArticleV1
from services.common.outcomes import Rejected
from services.common.stage import Emit
from services.parser.pool_entry import SiteRuleBook, prepare_worker
from tests.services.parser.helpers import raw_page

ARTICLE = """<html><head><title>Мост открыли после ремонта</title></head><body><article>
<h1>Мост открыли после ремонта</h1>
<p>Движение по мосту через реку восстановлено в понедельник утром, сообщили в мэрии города.</p>
<p>Ремонт длился полгода: рабочие заменили покрытие, перила и освещение на всём протяжении моста.</p>
<p>Водителей просят соблюдать ограничение скорости: на съездах ещё идут работы по разметке полос.</p>
</article></body></html>"""

SOURCES = """sources:
- name: test
  feeds: [https://site.example/rss.xml]
  site_rules:
    title: div.rule
"""


def test_a_raw_page_becomes_a_parsed_event_keyed_by_its_id_with_quality_notes() -> None:
    handle = prepare_worker(None)
    outcome = handle(raw_page(ARTICLE).model_dump_json().encode())
    assert isinstance(outcome, Emit)
    parsed = ParsedArticleV1.model_validate_json(outcome.value)
    assert outcome.key == b"0123456789abcdef" == parsed.id.encode() and outcome.article_id == parsed.id
    assert parsed.title == "Мост открыли после ремонта"
    # What the service's per-source quality counters need, computed where the page was parsed.
    assert outcome.notes["source"] == "test"
    assert "body_short" in outcome.notes["missing"] and "published_at" in outcome.notes["missing"]


def test_bad_bytes_are_refused_not_raised() -> None:
    handle = prepare_worker(None)
    not_json = handle(b"\xff{not json")
    assert isinstance(not_json, Rejected) and not_json.reason == "invalid-json"
    assert isinstance(handle(None), Rejected)


def test_the_site_rules_of_the_sources_file_reach_the_workers(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES)
    assert SiteRuleBook.from_sources_file(sources).for_source("test").title == "div.rule"  # type: ignore[union-attr]
    assert SiteRuleBook.from_sources_file(tmp_path / "missing.yaml").for_source("test") is None
    page = ARTICLE.replace("<article>", '<div class="rule">Правило сайта</div><article>')
    with_rules = prepare_worker(str(sources))(raw_page(page).model_dump_json().encode())
    without = prepare_worker(None)(raw_page(page).model_dump_json().encode())
    assert isinstance(with_rules, Emit) and isinstance(without, Emit)
    assert ParsedArticleV1.model_validate_json(with_rules.value).title == "Правило сайта"
    assert ParsedArticleV1.model_validate_json(without.value).title == "Мост открыли после ремонта"
