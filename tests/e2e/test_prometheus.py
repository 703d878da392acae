"""A real Prometheus scraping the running pipeline, with the project's own rules loaded.

The four services crawl the sample site through the real Kafka and Elasticsearch;
Prometheus (Debian's /usr/bin/prometheus) scrapes them every second and evaluates
deploy/prometheus/rules.yml. Checked through Prometheus' HTTP API: every target is up,
freshness observations and per-stage throughput arrive, and every recording and
alerting rule evaluates without error against real series. `newsflow status` is
checked against the same pipeline.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from elasticsearch import AsyncElasticsearch

from devtools.devstack.pipeline import free_port
from devtools.devstack.processes import ManagedProcess, wait_http_ok
from devtools.devstack.stack import REPO_ROOT, StackConfig
from tests.e2e.conftest import RunningPipeline
from tests.helpers import eventually, expected_ids, role_environ

pytestmark = pytest.mark.slow

PROMETHEUS = Path("/usr/bin/prometheus")
RULES = REPO_ROOT / "deploy" / "prometheus" / "rules.yml"
STAGES = ("scraper", "parser", "enrichment", "indexer")


@dataclass
class RunningPrometheus:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    async def query(self, expr: str) -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{self.url}/api/v1/query", params={"query": expr}) as resp:
                body = await resp.json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    async def get(self, path: str) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            async with session.get(self.url + path) as resp:
                body = await resp.json()
        assert body["status"] == "success", body
        return body["data"]

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no log)"


def _scrape_config(running: RunningPipeline, extra: dict[str, int]) -> dict[str, Any]:
    ports = running.pipeline.ports
    targets = [{"targets": [f"127.0.0.1:{ports[s]}"], "labels": {"service": s}} for s in STAGES]
    targets += [{"targets": [f"127.0.0.1:{port}"], "labels": {"service": s, "role": "recrawl"}} for s, port in extra.items()]
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "newsflow", "metrics_path": "/metrics", "static_configs": targets}],
    }


@pytest.fixture(scope="module")
def recrawl_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def prometheus(running_pipeline: RunningPipeline, recrawl_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    assert PROMETHEUS.exists(), "Debian's prometheus package is missing; `make setup` installs it"
    folder = tmp_path_factory.mktemp("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump(_scrape_config(running_pipeline, {"scraper": recrawl_port})))
    check = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    log = folder / "prometheus.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h", "--log.level=warn"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    running = RunningPrometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        assert wait_http_ok(f"{running.url}/-/ready", 60), f"prometheus did not start:\n{running.log_tail()}"
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def _indexed(es: AsyncElasticsearch, alias: str, ids: list[str]) -> int:
    try:
        await es.indices.refresh(index=alias)
        return (await es.count(index=alias, query={"ids": {"values": ids}}))["count"]
    except Exception:  # noqa: BLE001 - index not created yet
        return 0


def _by_label(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}


async def test_prometheus_sees_every_service_and_the_crawl(
    running_pipeline: RunningPipeline, prometheus: RunningPrometheus, recrawl_port: int, es: AsyncElasticsearch,
) -> None:
    # Every service target is up.
    async def all_up() -> dict[str, float]:
        up = _by_label(await prometheus.query('up{job="newsflow", role=""}'), "service")
        return up if up == {s: 1.0 for s in STAGES} else {}

    await eventually(all_up, timeout=60, what="all four targets up")
    active = (await prometheus.get("/api/v1/targets"))["activeTargets"]
    health = {t["labels"]["service"]: t["health"] for t in active if t["labels"].get("role") is None}
    assert health == {s: "up" for s in STAGES}, health

    # The sample crawl completes; the indexer has observed a freshness per article.
    expected = expected_ids(running_pipeline.base_url, running_pipeline.manifest)
    alias = running_pipeline.alias
    async def crawled() -> bool:
        return await _indexed(es, alias, list(expected)) == len(expected)

    await eventually(crawled, timeout=240, what=f"all {len(expected)} sample articles indexed")

    async def freshness_count(minimum: int) -> float | None:
        result = await prometheus.query("sum(newsflow_freshness_seconds_count)")
        value = float(result[0]["value"][1]) if result else 0.0
        return value if value >= minimum else None

    first = await eventually(lambda: freshness_count(len(expected)), timeout=60, what="freshness observations in Prometheus")

    # A second scraper without memory (new group id) fetches and publishes every page
    # again, so every stage processes the whole site while Prometheus watches.
    pipeline = running_pipeline.pipeline
    recrawl = ManagedProcess("scraper-recrawl", running_pipeline.run_dir, module="services.scraper")
    recrawl.start({**pipeline.env("scraper", group_id="prometheus-recrawl"), "NEWSFLOW_SCRAPER_HTTP_PORT": str(recrawl_port)})
    try:
        async def throughput() -> dict[str, float]:
            rates = _by_label(await prometheus.query('sum by (stage) (rate(newsflow_events_out_total{job="newsflow"}[1m]))'), "stage")
            return rates if all(rates.get(s, 0) > 0 for s in STAGES) else {}

        rates = await eventually(throughput, timeout=240, interval=2, what="events out per second for every stage")
        assert set(rates) >= set(STAGES)
        ins = _by_label(await prometheus.query('sum by (stage) (rate(newsflow_events_in_total{job="newsflow"}[1m]))'), "stage")
        assert all(ins.get(s, 0) > 0 for s in STAGES), ins

        await eventually(lambda: freshness_count(int(first) + len(expected)), timeout=240, what="freshness of the re-crawled articles")
        p95 = await prometheus.query("histogram_quantile(0.95, sum by (le) (rate(newsflow_freshness_seconds_bucket[5m])))")
        assert p95 and 0 < float(p95[0]["value"][1]) < 3600, p95
    finally:
        recrawl.stop()

    # The project's rules evaluate cleanly against these real series.
    await asyncio.sleep(3)
    groups = (await prometheus.get("/api/v1/rules"))["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == sum(len(g["rules"]) for g in yaml.safe_load(RULES.read_text())["groups"])
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert broken == {}, broken
    recorded = await prometheus.query("stage:newsflow_events_in:rate5m")
    assert set(_by_label(recorded, "stage")) >= set(STAGES)
    lag = await prometheus.query("stage:newsflow_consumer_lag:sum")
    assert set(_by_label(lag, "stage")) >= {"parser", "enrichment", "indexer"}
    ready = _by_label(await prometheus.query('newsflow_ready{role=""}'), "stage")
    assert ready == {s: 1.0 for s in STAGES}


def test_newsflow_status_reports_the_running_pipeline(running_pipeline: RunningPipeline, stack_config: StackConfig) -> None:
    pipeline = running_pipeline.pipeline
    urls = [f"--{s}=http://127.0.0.1:{pipeline.ports[s]}" for s in STAGES]
    cmd = [sys.executable, "-m", "services.cli", "status", "--json", "--window", "1",
           "--bootstrap", stack_config.kafka_bootstrap, "--namespace", pipeline.namespace, *urls]
    started = time.monotonic()
    # As the operator role: reading every stage's lag needs no more.
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env=role_environ(pipeline, "operator"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 30
    data = json.loads(result.stdout)
    assert data["healthy"] is True and data["kafka_error"] is None
    stages = {s["stage"]: s for s in data["stages"]}
    assert list(stages) == list(STAGES)
    for name, stage in stages.items():
        assert stage["live"] and stage["ready"], name
        assert stage["consumer_lag_source"] == "kafka", name
        assert stage["events_in_total"] > 0, name
        assert stage["events_in_per_second"] is not None, name
    assert set(stages["parser"]["consumer_lag_by_partition"]) == {f"{pipeline.namespace}.news.pages.raw.v1"}
    assert len(stages["parser"]["consumer_lag_by_partition"][f"{pipeline.namespace}.news.pages.raw.v1"]) == 4
    assert stages["parser"]["dead_letters_by_reason"].get("not-an-article", 0) >= 1, "the section front"
    assert data["freshness_seconds"]["count"] >= 24
    assert data["freshness_seconds"]["p95"] > 0

    # The table for humans: one row per stage, exit 0 when healthy.
    table = subprocess.run([*cmd[:4], "--window", "0.5", *cmd[7:]], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert table.returncode == 0, table.stdout + table.stderr
    for name in STAGES:
        assert any(line.startswith(name) for line in table.stdout.splitlines()), table.stdout
    assert "healthy: every stage is live and ready" in table.stdout

    # A stage that does not answer makes the command fail.
    down = subprocess.run([*cmd, "--indexer=http://127.0.0.1:1"], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert down.returncode == 1
    assert json.loads(down.stdout)["healthy"] is False
