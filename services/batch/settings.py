"""The limits the batch commands share with the services, from the same NEWSFLOW_* variables.

The command line does not import the services' apps (that would load faust for a one-page
parse); these classes read the very same variables with the same defaults, and
tests/services/batch/test_settings.py fails if a default drifts from the service's.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.bounded import PageLimits


class ScraperLimits(BaseSettings):
    """NEWSFLOW_SCRAPER_MAX_PAGE_BYTES: the largest page (after decompression) read from anywhere."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_SCRAPER_", extra="ignore")

    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

    def page_limits(self) -> PageLimits:
        return PageLimits(max_bytes=self.max_page_bytes)


class ParserTimeLimit(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_PARSER_", extra="ignore")

    time_limit: float = Field(default=10.0, gt=0)


class EnrichmentTimeLimit(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_ENRICHMENT_", extra="ignore")

    time_limit: float = Field(default=30.0, gt=0)


def default_time_limit(stage: str) -> float:
    """Seconds per page: the parser's limit for `parse`, the enrichment's for `enrich`."""
    return (EnrichmentTimeLimit() if stage == "enrich" else ParserTimeLimit()).time_limit
