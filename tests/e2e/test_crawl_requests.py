"""Sources and URLs added at run time through the crawl-requests topic (`newsflow crawl`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml
from elasticsearch import AsyncElasticsearch

from devtools.devstack.stack import REPO_ROOT, Stack, StackConfig
from devtools.samplesite.sources import sample_sources
from tests.e2e.conftest import RunningPipeline, pipeline_running
from tests.helpers import all_indexed, eventually, expected_ids, role_environ

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def empty_pipeline(stack: Stack, stack_config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPipeline]:
    with pipeline_running(stack_config, tmp_path_factory.mktemp("requests"), with_sources=False) as running:
        yield running


def newsflow(running: RunningPipeline, *args: str) -> subprocess.CompletedProcess[str]:
    env = role_environ(running.pipeline, "operator")
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)


async def test_sources_added_at_run_time_are_crawled(empty_pipeline: RunningPipeline, es: AsyncElasticsearch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    expected = expected_ids(empty_pipeline.base_url, empty_pipeline.manifest)
    sources = sample_sources(empty_pipeline.base_url, empty_pipeline.manifest)
    path = tmp_path / "more-sources.yaml"
    path.write_text(yaml.safe_dump(sources, allow_unicode=True))

    result = newsflow(empty_pipeline, "crawl", "--add-source", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("requested: source") == len(sources["sources"])

    await eventually(lambda: all_indexed(es, empty_pipeline.alias, list(expected)), timeout=240, what="the run-time sources crawled into Elasticsearch")


def test_a_bad_source_file_is_refused_with_the_field_named(empty_pipeline: RunningPipeline, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.yaml"
    path.write_text("sources:\n  - name: x\n    feeds: [not-a-url]\n")
    result = newsflow(empty_pipeline, "crawl", "--add-source", str(path))
    assert result.returncode == 2 and "sources.0.feeds" in result.stderr
