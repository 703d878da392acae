"""A full pipeline (four services as processes) plus the sample site, per test module."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch

from services.devstack.pipeline import Pipeline, free_port
from services.devstack.processes import ManagedProcess, stop_all, wait_http_ok
from services.devstack.stack import Stack, StackConfig
from services.samplesite.server import Manifest, load_manifest
from services.samplesite.sources import sample_sources


@dataclass
class RunningPipeline:
    pipeline: Pipeline
    base_url: str
    manifest: Manifest
    run_dir: Path

    @property
    def alias(self) -> str:
        return self.pipeline.alias

    def topic(self, name: str) -> str:
        return f"{self.pipeline.namespace}.{name}"


@contextmanager
def pipeline_running(stack_config: StackConfig, run_dir: Path, *, poll_interval: float = 5.0, min_delay: float = 0.05,
                     services: tuple[str, ...] = ("scraper", "parser", "enrichment", "indexer"),
                     with_sources: bool = True, secret_marker: str = "") -> Iterator[RunningPipeline]:
    """The sample site and the services in a fresh namespace; every process in `run_dir` is
    stopped afterwards, also when start-up fails or a test started more of them, and the
    namespace's Kafka users and ACLs are removed. `secret_marker` starts every Kafka
    password of the pipeline (leak tests)."""
    pipelines: list[Pipeline] = []
    try:
        yield _start(stack_config, run_dir, poll_interval=poll_interval, min_delay=min_delay,
                     services=services, with_sources=with_sources, secret_marker=secret_marker, started=pipelines)
    finally:
        stop_all(run_dir)
        for pipeline in pipelines:
            pipeline.revoke_access()


def _start(stack_config: StackConfig, run_dir: Path, *, poll_interval: float, min_delay: float,
           services: tuple[str, ...], with_sources: bool, secret_marker: str, started: list[Pipeline]) -> RunningPipeline:
    namespace = f"e{uuid.uuid4().hex[:8]}"
    site_port = free_port()
    site = ManagedProcess("samplesite", run_dir)
    site.start({}, ["--port", str(site_port)])
    base = f"http://127.0.0.1:{site_port}"
    assert wait_http_ok(base + "/robots.txt", 30), "sample site did not start"
    manifest = load_manifest()
    pipeline = Pipeline(stack_config, namespace=namespace, alias=f"{namespace}-articles", run_dir=run_dir,
                        extra_env={"NEWSFLOW_LOG_LEVEL": "INFO"}, secret_marker=secret_marker)
    started.append(pipeline)
    sources = sample_sources(base, manifest, poll_interval=poll_interval, min_delay=min_delay)
    pipeline.write_sources(sources if with_sources else {**sources, "sources": []})
    pipeline.start(services)
    pipeline.wait_ready(services, timeout=180)
    return RunningPipeline(pipeline, base, manifest, run_dir)


# Every Kafka password of the shared pipeline starts with this: a leak is easy to spot.
SECRET_CANARY = f"canary{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def running_pipeline(stack: Stack, stack_config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPipeline]:
    with pipeline_running(stack_config, tmp_path_factory.mktemp("pipeline"), secret_marker=SECRET_CANARY) as running:
        yield running


@pytest.fixture
async def es(stack: Stack, stack_config: StackConfig) -> AsyncIterator[AsyncElasticsearch]:
    """An Elasticsearch client of the test stack, as its administrator."""
    client = AsyncElasticsearch(**stack_config.admin_es_kwargs(), request_timeout=30)
    yield client
    await client.close()
