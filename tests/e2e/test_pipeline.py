"""The sample site, crawled through Kafka and the four services into Elasticsearch."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch

from devtools.devstack.pipeline import free_port
from devtools.devstack.processes import ManagedProcess
from devtools.devstack.stack import REPO_ROOT
from tests.e2e.conftest import SECRET_CANARY, RunningPipeline
from tests.helpers import all_indexed, dead_letters, eventually, expected_ids, indexed_count, read_topic, role_environ

pytestmark = pytest.mark.slow

SEED_ID = "putin-aliev-dushanbe"
SEED_CAPTIONS = [
    "Владимир Путин и Ильхам Алиев (слева) во время встречи в правительственной резиденции в Душанбе",
    "Ильхам Алиев во время встречи с президентом РФ Владимиром Путиным в правительственной резиденции Кохи Сомон",
    "Григорий Сысоев/POOL/ТАСС",
    "Торговый порт в Баку",
    "Shutterstock/FOTODOM",
    "Сергей Булкин/NEWS.ru",
]
SEED_QUOTES = [
    "Личные отношения очень важны.",
    "Я полагаю, что она послужит началом преодоления возникшего на определенном этапе недопонимания.",
    "Очень многие хотят в этом половить какую-то свою удачу",
    "Баку и Москва продолжают идти по дорожным картам",
]


async def test_every_sample_article_is_indexed_with_its_fields(running_pipeline: RunningPipeline, es: AsyncElasticsearch) -> None:
    expected = expected_ids(running_pipeline.base_url, running_pipeline.manifest)
    alias = running_pipeline.alias

    await eventually(lambda: all_indexed(es, alias, list(expected)), timeout=240, what=f"all {len(expected)} sample articles in Elasticsearch")
    total = await indexed_count(es, alias)
    assert total == len(expected) == 24, "only the sample articles, once each (the section front is not an article)"

    hits = (await es.search(index=alias, size=100, query={"match_all": {}}))["hits"]["hits"]
    assert {h["_id"] for h in hits} == set(expected)
    for hit in hits:
        doc, page = hit["_source"], expected[hit["_id"]]
        want = page.expected
        assert doc["id"] == hit["_id"]
        assert doc["title"] == want["title"], page.id
        assert doc["language"] == want["language"], page.id
        assert doc["authors"] == want["authors"], page.id
        published = datetime.fromisoformat(doc["published_at"])
        assert published.tzinfo is not None, page.id
        assert abs((published - page.published_at).total_seconds()) < 60, page.id
        for fragment in want.get("body_contains", []):
            assert fragment in doc["body"], (page.id, fragment)
        for fragment in want.get("body_excludes", []):
            assert fragment not in doc["body"], (page.id, fragment)
        assert doc["word_count"] > 100
        assert doc["provenance"]["body"]["source"] in ("visible", "microdata", "jsonld", "site-rule")
        assert doc["fetched_at"] <= doc["indexed_at"]


async def test_seed_article_is_searchable_by_name(running_pipeline: RunningPipeline, es: AsyncElasticsearch) -> None:
    expected = expected_ids(running_pipeline.base_url, running_pipeline.manifest)
    seed_id = next(i for i, p in expected.items() if p.id == SEED_ID)
    await eventually(lambda: all_indexed(es, running_pipeline.alias, [seed_id]), timeout=240, what="seed article indexed")
    result = await es.search(index=running_pipeline.alias, query={"multi_match": {"query": "Алиев", "fields": ["title^2", "body"]}})
    assert result["hits"]["hits"], "a search for Алиев finds something"
    top = result["hits"]["hits"][0]
    assert top["_id"] == seed_id
    doc = top["_source"]
    assert doc["title"] == "„Кризис эмоций“ позади: о чем договорились Путин и Алиев в Душанбе"
    assert doc["published_at"].startswith("2025-10-10T") and doc["published_at"].endswith("+03:00")
    for quote in SEED_QUOTES:
        assert quote in doc["body"]
    for caption in SEED_CAPTIONS:
        assert caption not in doc["body"]
    captions = " ".join(f"{i.get('caption') or ''} {i.get('credit') or ''}" for i in doc["images"])
    assert "Торговый порт в Баку" in captions and "Shutterstock/FOTODOM" in captions

    # Morphology with nothing but a standard query: the article never writes «переговорами»
    # (it says «переговоры», «переговоров»), yet a plain match for that form finds it.
    assert "переговорами" not in doc["body"].lower()
    for form in ("переговоры", "переговорами"):
        morph = await es.search(index=running_pipeline.alias, query={"match": {"body": form}})
        assert seed_id in [h["_id"] for h in morph["hits"]["hits"]], form


async def test_section_front_is_dead_lettered_not_indexed(running_pipeline: RunningPipeline, stack_config) -> None:  # type: ignore[no-untyped-def]
    topic = running_pipeline.topic("news.deadletter.v1")

    async def section_rejected() -> list[dict]:  # type: ignore[type-arg]
        records = await dead_letters(stack_config.kafka_bootstrap, topic)
        return [r for r in records if r["stage"] == "parser" and r["reason"] == "not-an-article" and r["url"].endswith("/express/politics/")]

    records = await eventually(section_rejected, timeout=240, what="section front in the dead-letter topic")
    assert records[0]["original_value_b64"], "the dead letter keeps the original message"


async def test_second_crawl_keeps_ids_and_adds_no_duplicates(running_pipeline: RunningPipeline, es: AsyncElasticsearch) -> None:
    expected = expected_ids(running_pipeline.base_url, running_pipeline.manifest)
    alias = running_pipeline.alias
    await eventually(lambda: all_indexed(es, alias, list(expected)), timeout=240, what="first crawl complete")
    first = {h["_id"]: h["_source"]["fetched_at"] for h in (await es.search(index=alias, size=100, source=["fetched_at"]))["hits"]["hits"]}

    # A second scraper with a new group id has no memory of the first crawl: it fetches
    # and publishes every page again, and everything downstream runs a second time.
    pipeline = running_pipeline.pipeline
    recrawl = ManagedProcess("scraper-recrawl", running_pipeline.run_dir, module="services.scraper")
    recrawl.start({**pipeline.env("scraper", group_id="recrawl"), "NEWSFLOW_SCRAPER_HTTP_PORT": str(free_port())})

    async def all_refetched() -> bool:
        await es.indices.refresh(index=alias)
        hits = (await es.search(index=alias, size=100, source=["fetched_at"]))["hits"]["hits"]
        return len(hits) == len(first) and all(h["_source"]["fetched_at"] > first[h["_id"]] for h in hits)

    try:
        await eventually(all_refetched, timeout=240, what="every article re-indexed from the second crawl")
    finally:
        recrawl.stop()
    assert await indexed_count(es, alias) == len(expected)
    ids = {h["_id"] for h in (await es.search(index=alias, size=100, source=False))["hits"]["hits"]}
    assert ids == set(expected) == set(first)



async def test_no_secret_reaches_logs_metrics_status_or_dead_letters(running_pipeline: RunningPipeline, stack_config, es) -> None:  # type: ignore[no-untyped-def]
    """Canary: the pipeline ran on passwords that start with a recognisable marker; it must appear nowhere it is read."""
    pipeline = running_pipeline.pipeline
    expected = expected_ids(running_pipeline.base_url, running_pipeline.manifest)
    await eventually(lambda: all_indexed(es, running_pipeline.alias, list(expected)), timeout=240, what="the crawl done")
    stages = ("scraper", "parser", "enrichment", "indexer")
    creds = {s: pipeline.credentials(s) for s in stages}
    assert all(c.kafka_password and c.kafka_password.startswith(SECRET_CANARY) for c in creds.values()), "the canary is in use"
    secrets = {SECRET_CANARY, *(v for c in creds.values() for v in c.secrets())}
    # The administrator's credentials live in this test process only: no service may have them.
    secrets |= {os.environ[name] for name in ("NEWSFLOW_KAFKA_PASSWORD", "NEWSFLOW_ES_PASSWORD") if os.environ.get(name)}

    places: dict[str, str] = {}
    for log in sorted(running_pipeline.run_dir.rglob("*.log")):
        if log.stat().st_size == 0 and "crawl-state" in log.parts:
            continue  # an empty RocksDB write-ahead log of the scraper's crawl state: nothing to read
        places[f"log {log.relative_to(running_pipeline.run_dir)}"] = log.read_text(errors="replace")
    for stage in stages:
        for path in ("/metrics", "/livez", "/readyz"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{pipeline.ports[stage]}{path}", timeout=10) as resp:
                    places[f"{stage} {path}"] = resp.read().decode(errors="replace")
            except urllib.error.HTTPError as exc:
                places[f"{stage} {path}"] = exc.read().decode(errors="replace")
        pid = pipeline.process(stage).pid()
        assert pid, f"{stage} is running"
        # Passwords travel in files, not in the environment other processes of the user can read.
        places[f"{stage} environment"] = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    urls = [f"--{s}=http://127.0.0.1:{pipeline.ports[s]}" for s in stages]
    status = subprocess.run([sys.executable, "-m", "services.cli", "status", "--json", "--window", "1",
                             "--bootstrap", stack_config.kafka_bootstrap, "--namespace", pipeline.namespace, *urls],
                            capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env=role_environ(pipeline, "operator"))
    assert status.returncode == 0, status.stderr[-2000:]
    places["newsflow status --json"] = status.stdout + status.stderr
    letters = await read_topic(stack_config.kafka_bootstrap, running_pipeline.topic("news.deadletter.v1"))
    assert letters, "the section front is among the dead letters"
    places["dead letters"] = "\n".join((k or b"").decode(errors="replace") + " " + (v or b"").decode(errors="replace") for k, v in letters)

    assert len(places) >= 4 * 4 + 3 and all(text for text in places.values()), "every place was read"
    leaks = sorted(f"{where}: {secret[:6]}…" for where, text in places.items() for secret in secrets if secret in text)
    assert leaks == [], leaks
