"""`newsflow backfill` against the real Kafka (and Elasticsearch for the index lookup), as a command.

The archives are built here, from the sample site's pages; the command runs as a separate
process with the settings an operator would give it (NEWSFLOW_KAFKA_*, NEWSFLOW_ES_*).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from services.common.ids import article_id
from services.scraper.decisions import dedup_key
from tests.helpers import read_topic
from tests.warc_builder import Resource, Response, Revisit, generated_site_records, write_warc

ROOT = Path(__file__).resolve().parents[3]


def backfill(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", "backfill", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def published(result: subprocess.CompletedProcess[str]) -> int:
    match = re.search(r"(\d+) published", result.stderr)
    assert match, result.stderr
    return int(match.group(1))


@pytest.fixture
def env(stack, stack_config, namespace, tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        **os.environ,
        "NEWSFLOW_KAFKA_BOOTSTRAP": stack_config.kafka_bootstrap,
        "NEWSFLOW_KAFKA_TOPIC_NAMESPACE": namespace,
        "NEWSFLOW_ES_URL": stack_config.es_url,
        "NEWSFLOW_ES_ALIAS": f"{namespace}-articles",
        "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
    }


def topic_messages(stack_config, namespace: str, name: str) -> list[tuple[bytes | None, bytes | None]]:  # type: ignore[no-untyped-def]
    return asyncio.run(read_topic(stack_config.kafka_bootstrap, f"{namespace}.{name}", idle=3.0, limit=120))


def test_an_archive_of_two_thousand_records_lands_every_article_exactly_once_across_an_interrupted_run_and_reruns(
        env, stack_config, namespace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    records, urls = generated_site_records(1000)
    archive = tmp_path / "CC-NEWS-20251020-00000.warc.gz"
    write_warc(archive, records)
    assert len(records) == 2000

    # A run stopped after 300 pages (as a killed run would be, at a confirmed batch) …
    first = backfill(env, str(archive), "--limit", "300", "--jobs", "2")
    assert first.returncode == 0, first.stderr
    assert published(first) == 300
    # … is resumed after its last published record, and finishes the archive …
    second = backfill(env, str(archive), "--resume", "--jobs", "2")
    assert second.returncode == 0, second.stderr
    assert published(second) == 700
    assert "request 700" in second.stderr, "every request record counted as skipped, with its reason"
    # … and once complete, another run publishes nothing.
    third = backfill(env, str(archive), "--resume")
    assert third.returncode == 0, third.stderr
    assert published(third) == 0
    assert "already complete" in third.stderr

    messages = topic_messages(stack_config, namespace, "news.pages.raw.v1")
    keys = Counter(key.decode() for key, _ in messages if key)
    expected = {article_id(dedup_key(url)) for url in urls}
    assert len(expected) == 1000
    assert set(keys) == expected, "every article of the archive, and nothing else"
    assert max(keys.values()) == 1, "each exactly once"
    event = json.loads(messages[0][1])
    assert event["event_type"] == "raw_page" and event["fetched_at"].startswith("2025-10-20T09:00:00")


def test_broken_records_are_dead_lettered_and_the_rest_published(env, stack_config, namespace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ok = Response("https://a.example/news/1/", b"<html><head><title>One</title></head><body><p>one</p></body></html>")
    cut_by_crawler = Response("https://a.example/news/2/", b"<html><body><p>two", warc_headers={"WARC-Truncated": "length"})
    image = Response("https://a.example/i.png", b"\x89PNG\r\n", headers=[("Content-Type", "image/png")])
    revisit = Revisit("https://a.example/news/1/", refers_to_date=datetime(2025, 10, 19, tzinfo=timezone.utc))
    redirect = Response("https://a.example/old", b"", status="301 Moved Permanently", headers=[("Location", "/news/1/")])
    metadata = Resource("https://a.example/news/1/", b"fetchTimeMs: 12\r\n", kind="metadata", content_type="application/warc-fields")
    last = Response("https://a.example/news/3/", b"<html><body><p>three</p>" + secrets.token_hex(3000).encode() + b"</body></html>")
    archive = tmp_path / "broken.warc.gz"
    write_warc(archive, [ok, cut_by_crawler, image, revisit, redirect, metadata, last], cut_last=100)

    result = backfill(env, str(archive), "--no-index-check")
    assert result.returncode == 0, result.stderr
    assert published(result) == 1
    for reason in ("warc-truncated 1", "record-truncated 1", "not-html 1", "revisit 1", "status-301 1", "metadata 1"):
        assert reason in result.stderr, (reason, result.stderr)

    letters = [json.loads(v) for _, v in topic_messages(stack_config, namespace, "news.deadletter.v1") if v]
    by_reason = {letter["reason"]: letter for letter in letters}
    assert set(by_reason) == {"warc-truncated", "record-truncated"}
    assert all(letter["stage"] == "scraper" for letter in letters)
    assert "broken.warc.gz@" in by_reason["warc-truncated"]["detail"]
    assert by_reason["record-truncated"]["url"] == "https://a.example/news/3/"
    assert base64.b64decode(by_reason["warc-truncated"]["original_value_b64"]).startswith(b"<html><body><p>two")


def test_kafka_out_of_reach_stops_the_run_with_one_line_and_no_state(tmp_path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "a.warc.gz"
    write_warc(archive, [Response("https://a.example/1", b"<html><body>x</body></html>")])
    env = {**os.environ, "NEWSFLOW_KAFKA_BOOTSTRAP": "127.0.0.1:9", "NEWSFLOW_DATA_DIR": str(tmp_path / "data")}
    result = backfill(env, str(archive), "--wait", "2", timeout=120)
    assert result.returncode == 1
    assert "cannot reach Kafka at 127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "backfill-state.json").exists()
