"""Enriched articles for indexer tests: the schema examples, copied under fresh ids."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch

from schemas.enriched_article_v1 import EnrichedArticleV1
from devtools.devstack.stack import StackConfig
from services.indexer.templates import IndexNames, install

EXAMPLES = Path(__file__).resolve().parents[3] / "schemas" / "examples" / "enriched_article.v1"


def example_articles() -> list[EnrichedArticleV1]:
    return [EnrichedArticleV1.model_validate(json.loads(p.read_text())) for p in sorted(EXAMPLES.glob("*.json"))]


def article(n: int, *, minutes_later: int = 0, **update: object) -> EnrichedArticleV1:
    base = example_articles()[n % len(example_articles())]
    fields = {"id": f"{n:016x}", "url": f"{base.url}?n={n}", "fetched_at": base.fetched_at + timedelta(minutes=minutes_later), **update}
    return base.model_copy(update=fields)


@pytest.fixture
async def es_index(stack, stack_config: StackConfig) -> AsyncIterator[tuple[AsyncElasticsearch, IndexNames]]:  # type: ignore[no-untyped-def]
    """A fresh alias with the real index contract installed, deleted afterwards."""
    client = AsyncElasticsearch(**stack_config.admin_es_kwargs(), request_timeout=60)
    names = IndexNames(f"t{uuid.uuid4().hex[:8]}-articles")
    await install(client, names)
    yield client, names
    await client.indices.delete(index=f"{names.alias}-v*", ignore_unavailable=True, allow_no_indices=True)
    for name in (names.template, f"{names.alias}-v2"):
        await client.indices.delete_index_template(name=name, ignore=[404])
    await client.close()
