"""The batch commands read the services' own variables, with the services' own defaults."""

from __future__ import annotations

from services.batch.settings import ScraperLimits, default_time_limit
from services.enrichment.app import EnrichmentSettings
from services.parser.app import ParserSettings
from services.scraper.app import ScraperSettings


def test_defaults_are_the_services_defaults() -> None:
    assert ScraperLimits().max_page_bytes == ScraperSettings.model_fields["max_page_bytes"].default
    assert default_time_limit("parse") == ParserSettings.model_fields["time_limit"].default
    assert default_time_limit("enrich") == EnrichmentSettings.model_fields["time_limit"].default


def test_the_same_variables_set_them(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEWSFLOW_SCRAPER_MAX_PAGE_BYTES", "65536")
    monkeypatch.setenv("NEWSFLOW_PARSER_TIME_LIMIT", "2.5")
    assert ScraperLimits().page_limits().max_bytes == 65536 == ScraperSettings().max_page_bytes
    assert default_time_limit("parse") == 2.5 == ParserSettings().time_limit
