"""The sources file: what to crawl, validated so a mistake names the bad field.

```yaml
user_agent: "newsflow/0.1 (+https://example.org/bot)"
defaults:
  poll_interval: 300
  politeness: {min_delay: 1.0, max_concurrency: 2}
sources:
  - name: vestnik
    feeds: ["https://vestnik.example/rss.xml"]
    sitemaps: []
    allowed_domains: ["vestnik.example"]
    language: ru
    timezone: Europe/Moscow
    poll_interval: 120
    politeness: {min_delay: 0.5}
    site_rules: {body: "div.article__text", exclude: [".related"]}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_USER_AGENT = "newsflow/0.1 (+https://github.com/newsflow/newsflow; news ingestion bot)"


class SourcesError(ValueError):
    """The sources file is missing, not YAML, or a field is invalid; the message names it."""


class Politeness(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_delay: float | None = Field(default=None, ge=0, description="Seconds between requests to one host.")
    max_concurrency: int | None = Field(default=None, ge=1, le=64, description="Requests in flight per host.")
    respect_robots: bool | None = None


class SiteRules(BaseModel):
    """CSS selectors that win over every other extraction source for this site."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    lead: str | None = None
    body: str | None = None
    exclude: list[str] = Field(default_factory=list, description="Removed from the body before extraction.")
    published_at: str | None = None
    authors: str | None = None
    section: str | None = None
    tags: str | None = None


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    allowed_domains: list[str] = Field(default_factory=list)
    poll_interval: float | None = Field(default=None, ge=5, description="Seconds between feed polls.")
    politeness: Politeness = Field(default_factory=Politeness)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    timezone: str | None = None
    allow_private_addresses: bool = Field(
        default=False,
        description="Allow loopback/private/link-local targets (only for sites you run yourself).",
    )
    keep_trailing_slash: bool = True
    refetch_window_hours: float | None = Field(default=None, ge=0)
    site_rules: SiteRules | None = None

    @field_validator("feeds", "sitemaps")
    @classmethod
    def _absolute_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an absolute http(s) URL")
        return urls

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        return [d.strip().lower().lstrip(".") for d in domains if d.strip()]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, zone: str | None) -> str | None:
        if zone is None:
            return None
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {zone!r}") from exc
        return zone

    @model_validator(mode="after")
    def _complete(self) -> Source:
        if not self.allowed_domains:
            hosts = {urlsplit(u).hostname for u in [*self.feeds, *self.sitemaps]}
            self.allowed_domains = sorted(h.lower() for h in hosts if h)
        return self

    def allows_host(self, host: str) -> bool:
        host = host.lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    poll_interval: float = Field(default=300, ge=5)
    politeness: Politeness = Field(default_factory=lambda: Politeness(min_delay=1.0, max_concurrency=2))
    refetch_window_hours: float = Field(default=48, ge=0)


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_agent: str = DEFAULT_USER_AGENT
    defaults: Defaults = Field(default_factory=Defaults)
    sources: list[Source] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesFile:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        return self

    def by_name(self) -> dict[str, Source]:
        return {s.name: s for s in self.sources}

    def source_for_host(self, host: str) -> Source | None:
        for source in self.sources:
            if source.allows_host(host):
                return source
        return None


def format_validation_error(exc: ValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(f"  {loc}: {err['msg']}")
    return f"{where} is invalid:\n" + "\n".join(lines)


def parse_sources(data: Any, where: str = "sources") -> SourcesFile:
    try:
        return SourcesFile.model_validate(data or {})
    except ValidationError as exc:
        raise SourcesError(format_validation_error(exc, where)) from None


def load_sources(path: Path | str) -> SourcesFile:
    """Read and validate a sources YAML file. Raises SourcesError naming the bad field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesError(f"cannot read sources file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourcesError(f"{path} is not valid YAML: {exc}") from None
    return parse_sources(data, str(path))


def parse_source(data: Any) -> Source:
    """Validate one source definition (from a crawl request)."""
    try:
        return Source.model_validate(data)
    except ValidationError as exc:
        raise SourcesError(format_validation_error(exc, "source")) from None
