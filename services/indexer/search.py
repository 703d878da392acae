"""Queries downstream apps ask most, built from plain arguments (used by `newsflow search`).

Pure functions returning Elasticsearch request bodies; docs/querying.md shows the same
queries as JSON for people writing their own clients.
"""

from __future__ import annotations

from typing import Any


def build_search(
    text: str | None = None,
    *,
    source: str | None = None,
    language: str | None = None,
    since: str | None = None,
    until: str | None = None,
    person: str | None = None,
    organization: str | None = None,
    location: str | None = None,
    quoted: str | None = None,
    story: str | None = None,
    phrase: bool = False,
) -> dict[str, Any]:
    """A bool query: full text (morphology-aware) in `must`, everything else as filters."""
    must: list[dict[str, Any]] = []
    filters: list[dict[str, Any]] = []
    if text:
        if phrase:
            must.append({"multi_match": {"query": text, "type": "phrase", "fields": ["title", "lead", "body"]}})
        else:
            # quotes.text is nested: search it through its own nested clause.
            must.append({"bool": {"should": [
                {"multi_match": {"query": text, "fields": ["title^3", "lead^2", "body"]}},
                {"nested": {"path": "quotes", "query": {"match": {"quotes.text": text}}, "score_mode": "max"}},
            ], "minimum_should_match": 1}})
    for field, value in (("source", source), ("language", language), ("persons", person),
                         ("organizations", organization), ("locations", location), ("story_id", story)):
        if value:
            filters.append({"term": {field: value}})
    if since or until:
        bounds = {k: v for k, v in (("gte", since), ("lte", until)) if v}
        filters.append({"range": {"published_at": bounds}})
    if quoted:
        filters.append({"nested": {"path": "quotes", "query": {"term": {"quotes.speaker": quoted}}}})
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


def build_top(facet: str, size: int = 10) -> dict[str, Any]:
    """Top values of a facet (persons, organizations, locations, source, tags…) in matching articles."""
    return {"top": {"terms": {"field": facet, "size": size}}}
