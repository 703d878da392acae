"""`crawl_request` v1: ask the scraper to fetch a URL or to manage a source (news.crawl.requests.v1).

kind=source with `action`: `add` (a definition in `source`), `remove`, `disable` or
`enable` (the source named in `source_name`). Changes reach tasks already queued.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from schemas.common import AwareDatetime, Envelope, HttpUrl


class CrawlRequestV1(Envelope):
    event_type: Literal["crawl_request"] = "crawl_request"
    schema_version: Literal[1] = 1

    kind: Literal["url", "source"]
    url: HttpUrl | None = Field(default=None, description="For kind=url: the page to fetch (http or https).")
    source_name: str | None = Field(default=None, description="For kind=url: the source it belongs to; for remove/disable/enable: the source.")
    source: dict[str, Any] | None = Field(
        default=None, description="For kind=source: a source definition, same shape as in sources.yaml."
    )
    action: Literal["add", "remove", "disable", "enable"] = Field(
        default="add", description="For kind=source: what to do with the source (`source_name` names it unless adding)."
    )
    force: bool = Field(default=False, description="Fetch even if the URL was seen before.")
    requested_at: AwareDatetime

    @model_validator(mode="after")
    def _shape(self) -> CrawlRequestV1:
        if self.kind == "url" and not self.url:
            raise ValueError("a url crawl request needs `url`")
        if self.kind == "source" and self.action == "add" and not self.source:
            raise ValueError("a source crawl request needs `source`")
        if self.kind == "source" and self.action != "add" and not self.source_name:
            raise ValueError(f"a {self.action} source request needs `source_name`")
        return self
