"""`python -m services.ops.init` against the real Kafka and Elasticsearch of the test stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from elasticsearch import AsyncElasticsearch

from schemas.topics import CATALOGUE, topic_name
from devtools.devstack.pipeline import Pipeline
from devtools.devstack.stack import REPO_ROOT, Stack, StackConfig
from services.indexer.templates import IndexNames
from tests.helpers import kafka_kwargs


def run_init(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.ops.init", *args],
        env={**os.environ, "NEWSFLOW_LOG_FORMAT": "json", **env},
        capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT,
    )


def log_events(stderr: str) -> list[dict]:  # type: ignore[type-arg]
    events = []
    for line in stderr.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


async def test_init_creates_every_topic_and_the_index_contract_idempotently(
    stack: Stack, stack_config: StackConfig, namespace: str, es: AsyncElasticsearch, tmp_path: Path,
) -> None:
    names = IndexNames(f"{namespace}-articles")
    # As the operator role of the namespace, not the administrator: init needs no more.
    operator = Pipeline(stack_config, namespace=namespace, alias=names.alias, run_dir=tmp_path)
    env = {k: v for k, v in operator.role_env("operator").items() if v is not None}
    try:
        first = run_init(env, "--timeout", "120")
        assert first.returncode == 0, first.stderr[-3000:]
        done = [e for e in log_events(first.stderr) if e.get("event") == "init done"]
        assert done and done[0]["first_index_created"] is True

        admin = AIOKafkaAdminClient(**kafka_kwargs(stack_config.kafka_bootstrap))
        await admin.start()
        try:
            wanted = {topic_name(spec, namespace): spec for spec in CATALOGUE}
            described = {d["topic"]: d for d in await admin.describe_topics(list(wanted))}
        finally:
            await admin.close()
        for name, spec in wanted.items():
            assert len(described[name]["partitions"]) == spec.partitions, name

        assert await es.indices.exists_index_template(name=names.template)
        aliases = await es.indices.get_alias(name=names.write_alias)
        assert list(aliases) == [names.first_index]
        settings = await es.indices.get_settings(index=names.first_index)
        analysis = settings[names.first_index]["settings"]["index"]["analysis"]["filter"]
        assert {f["type"] for f in analysis.values()} == {"hunspell"}

        again = run_init(env, "--timeout", "120")
        assert again.returncode == 0, again.stderr[-3000:]
        done = [e for e in log_events(again.stderr) if e.get("event") == "init done"]
        assert done and done[0]["first_index_created"] is False
    finally:
        operator.revoke_access()
        await es.indices.delete(index=f"{names.alias}-v*", ignore_unavailable=True, allow_no_indices=True)
        await es.options(ignore_status=404).indices.delete_index_template(name=names.template)
        for component in (names.settings_component, names.mappings_component):
            await es.options(ignore_status=404).cluster.delete_component_template(name=component)


def test_init_gives_up_on_unreachable_kafka_with_exit_1() -> None:
    started = time.monotonic()
    result = run_init({"NEWSFLOW_KAFKA_BOOTSTRAP": "127.0.0.1:1"}, "--topics-only", "--timeout", "3", timeout=60)
    assert result.returncode == 1
    assert any(e.get("event") == "init failed" for e in log_events(result.stderr)), result.stderr[-2000:]
    assert time.monotonic() - started < 45


def test_init_gives_up_on_unreachable_elasticsearch_with_exit_1() -> None:
    result = run_init({"NEWSFLOW_ES_URL": "http://127.0.0.1:1"}, "--index-only", "--timeout", "3", timeout=60)
    assert result.returncode == 1
    failed = [e for e in log_events(result.stderr) if e.get("event") == "init failed"]
    assert failed and "not usable within 3s" in failed[0]["error"]


async def test_init_stops_at_once_when_elasticsearch_refuses_the_contract(stack: Stack, stack_config: StackConfig, namespace: str,
                                                                         es: AsyncElasticsearch) -> None:
    # Index names must be lower-case: Elasticsearch answers 400, and waiting would not help.
    names = IndexNames(f"{namespace.upper()}-articles")
    started = time.monotonic()
    try:
        result = run_init({"NEWSFLOW_ES_URL": stack_config.es_url, "NEWSFLOW_ES_ALIAS": names.alias}, "--index-only", "--timeout", "120")
        assert result.returncode == 1
        failed = [e for e in log_events(result.stderr) if e.get("event") == "init failed"]
        assert failed and "refused the index contract (400)" in failed[0]["error"], result.stderr[-2000:]
        assert time.monotonic() - started < 60, "a refusal must not be retried until the deadline"
    finally:
        await es.options(ignore_status=404).indices.delete_index_template(name=names.template)
        for component in (names.settings_component, names.mappings_component):
            await es.options(ignore_status=404).cluster.delete_component_template(name=component)
