"""A full pipeline (four services as processes) plus the sample site, per test module."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools.devstack.pipeline import Pipeline, free_port
from devtools.devstack.processes import ManagedProcess, stop_all, wait_http_ok, wait_listening
from devtools.devstack.stack import REPO_ROOT, Stack, StackConfig
from devtools.samplesite.crowd import CrowdSite, plan_hosts, read_log
from devtools.samplesite.server import Manifest, load_manifest
from devtools.samplesite.sources import sample_sources
from tests.helpers import role_environ


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


@dataclass
class RunningCrowd:
    """The crowd site (devtools/samplesite/crowd.py) and services crawling it."""

    site: CrowdSite
    pipeline: Pipeline
    log: Path
    run_dir: Path

    def requests(self, host: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """The site's request log so far, optionally for one host and/or path."""
        return [e for e in read_log(self.log) if (host is None or e["host"] == host) and (path is None or e["path"] == path)]

    def topic(self, name: str) -> str:
        return f"{self.pipeline.namespace}.{name}"


@contextmanager
def crowd_running(stack_config: StackConfig, run_dir: Path, *, hosts: int, pages: int, crawl_delay: float,
                  slow_hosts: int = 0, slow_seconds: float = 0.3, burst_hosts: int = 0, sources: dict[str, Any] | None = None,
                  services: tuple[str, ...] = ("scraper",), extra_env: dict[str, str] | None = None) -> Iterator[RunningCrowd]:
    """The crowd site with a request log, and `services` in a fresh namespace crawling it with
    `sources` (default: every host). Everything started is stopped afterwards."""
    port = free_port()
    log = run_dir / "requests.jsonl"
    plans = plan_hosts(hosts, crawl_delay=crawl_delay, slow_hosts=slow_hosts, slow_seconds=slow_seconds, burst_hosts=burst_hosts)
    site = CrowdSite(plans, pages, port=port)
    try:
        ManagedProcess("crowd", run_dir, module="devtools.samplesite.crowd").start(
            {}, ["--hosts", str(hosts), "--pages", str(pages), "--port", str(port), "--crawl-delay", str(crawl_delay),
                 "--slow-hosts", str(slow_hosts), "--slow-seconds", str(slow_seconds), "--burst-hosts", str(burst_hosts),
                 "--log", str(log)])
        assert wait_listening(port, 30), "crowd site did not start"
        namespace = f"c{uuid.uuid4().hex[:8]}"
        pipeline = Pipeline(stack_config, namespace=namespace, alias=f"{namespace}-articles", run_dir=run_dir, extra_env={
            "NEWSFLOW_SCRAPER_PINNED_HOSTS": site.pinned(), "NEWSFLOW_LOG_LEVEL": "INFO", **(extra_env or {})})
        pipeline.write_sources(site.sources() if sources is None else sources)
        pipeline.start(services)
        pipeline.wait_ready(services, timeout=180)
        yield RunningCrowd(site, pipeline, log, run_dir)
    finally:
        stop_all(run_dir)


def newsflow(pipeline: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `newsflow` command line against a pipeline's Kafka and namespace, as the operator
    (the role that writes crawl requests and source changes)."""
    env = role_environ(pipeline, "operator")
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)


def metric_samples(port: int, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of one metric family on a service's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                samples.append((dict(sample.labels), sample.value))
    return samples
