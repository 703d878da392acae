"""Every query in docs/querying.md runs against a real index of the sample site, with its expected result.

The sample articles go through the real parser and enrichment (story ids included) and the
indexer's write path into a fresh alias on the test Elasticsearch; each example's request
is sent as written (with the alias substituted), with the reader role's credentials a
downstream application gets, and its `expect` comment is checked.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from services.indexer.bulk import BulkItem, BulkWriter
from services.indexer.documents import document_version, to_document
from services.indexer.templates import IndexNames, install
from devtools.samplesite.server import load_manifest
from tests.services.parser.test_sample_site_pages import raw_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "querying.md"
EXAMPLE = re.compile(r"<!-- example: (\{.*?\}) -->\s*```http\n(GET|POST) (\S+)\n(.*?)\n```", re.S)


@dataclass
class Example:
    name: str
    expect: dict[str, Any]
    method: str
    path: str
    body: str


def examples() -> list[Example]:
    found = []
    for meta, method, path, body in EXAMPLE.findall(DOC.read_text(encoding="utf-8")):
        info = json.loads(meta)
        found.append(Example(info["name"], info["expect"], method, path, body))
    return found


def test_the_document_has_examples_for_every_promised_query() -> None:
    names = {e.name for e in examples()}
    assert {"morphology", "phrase", "filters", "mentions", "quoting", "top-persons", "story"} <= names


@dataclass
class SampleIndex:
    es: AsyncElasticsearch
    """As the reader role."""
    names: IndexNames
    ids: dict[str, str]  # sample page id → article id
    story_ids: dict[str, str]


@pytest.fixture(scope="module")
async def sample_index(stack, stack_config, models) -> AsyncIterator[SampleIndex]:  # type: ignore[no-untyped-def]
    from services.enrichment.logic import enrich
    from services.enrichment.stories import StoryAssigner
    from services.parser.extract import parse_page

    manifest = load_manifest()
    enriched = []
    for page in manifest.articles():
        parsed = parse_page(raw_for(page))
        enriched.append((page.id, enrich(parsed, models)))  # type: ignore[arg-type]
    # The story step, over a dict instead of the faust table, in publication order.
    assign = StoryAssigner({})
    stories = [assign(a) for _, a in sorted(enriched, key=lambda pa: pa[1].published_at or pa[1].fetched_at)]
    es = AsyncElasticsearch(**stack_config.admin_es_kwargs(), request_timeout=60)
    reader_creds = stack_config.role_credentials("reader")
    reader = AsyncElasticsearch(stack_config.es_url, ca_certs=str(stack_config.ca_cert), request_timeout=60,
                                basic_auth=(reader_creds.es_username, reader_creds.es_password))
    names = IndexNames(f"q{uuid.uuid4().hex[:8]}-articles")
    await install(es, names)
    now = datetime.now(timezone.utc)
    items = [BulkItem(a.id, document_version(a), to_document(a, now)) for a in stories]
    outcomes = await BulkWriter(es, names).write(items)
    assert all(o.status == "indexed" for o in outcomes), outcomes
    await es.indices.refresh(index=names.alias)
    ids = {page_id: a.id for page_id, a in enriched}
    story_ids = {page_id: next(s.story_id for s in stories if s.id == a.id) for page_id, a in enriched}
    yield SampleIndex(reader, names, ids, story_ids)  # type: ignore[arg-type]
    await reader.close()
    await es.indices.delete(index=f"{names.alias}-v*", ignore_unavailable=True, allow_no_indices=True)
    await es.indices.delete_index_template(name=names.template)
    await es.close()


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.name)
async def test_documented_query(example: Example, sample_index: SampleIndex) -> None:
    body = re.sub(r"\{\{story_id:([\w-]+)\}\}", lambda m: sample_index.story_ids[m.group(1)], example.body)
    path = example.path.replace("/articles/", f"/{sample_index.names.alias}/", 1)
    response = await sample_index.es.perform_request(example.method, path, headers={"content-type": "application/json", "accept": "application/json"}, body=json.loads(body))
    result = response.body
    by_article = {v: k for k, v in sample_index.ids.items()}
    hits = [by_article.get(h["_id"], h["_id"]) for h in result["hits"]["hits"]]
    expect = example.expect
    for page in expect.get("includes", []):
        assert page in hits, f"{example.name}: {page} expected among {hits}"
    for page in expect.get("excludes", []):
        assert page not in hits, f"{example.name}: {page} must not match"
    if "top" in expect:
        assert hits and hits[0] == expect["top"], f"{example.name}: top hit {hits[:3]}"
    if "max_hits" in expect:
        assert result["hits"]["total"]["value"] <= expect["max_hits"], f"{example.name}: {hits}"
    if "aggregation" in expect:
        agg = expect["aggregation"]
        keys = [b["key"] for b in result["aggregations"][agg["name"]]["buckets"]]
        for key in agg.get("includes", []):
            assert key in keys, f"{example.name}: {key} not among {keys}"
        assert len(keys) >= agg.get("min_buckets", 0), f"{example.name}: {keys}"
        if "first" in agg:
            assert keys and keys[0] == agg["first"], f"{example.name}: {keys[:3]}"
