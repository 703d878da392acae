"""Shared fixtures.

Three tiers of tests (see tests/README.md): pure logic (no server), in-process
pipelines (real local HTTP servers), and `stack` tests against the real Kafka and
Elasticsearch that this session starts on its own ports (instance "test":
Kafka 19092, Elasticsearch 19200) and stops at the end. Each stack test works in
its own topic namespace and index alias, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from services.devstack.stack import Stack, StackConfig

# Overridable so two checkouts can run their suites side by side on one machine.
TEST_PORTS = {
    "kafka_port": int(os.environ.get("NEWSFLOW_TEST_KAFKA_PORT", 19092)),
    "kafka_controller_port": int(os.environ.get("NEWSFLOW_TEST_KAFKA_CONTROLLER_PORT", 19093)),
    "es_port": int(os.environ.get("NEWSFLOW_TEST_ES_PORT", 19200)),
    "es_transport_port": int(os.environ.get("NEWSFLOW_TEST_ES_TRANSPORT_PORT", 19300)),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "stack" in item.fixturenames or "pipeline_env" in item.fixturenames:
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def stack_config() -> StackConfig:
    return StackConfig.from_env("test", **TEST_PORTS)


@pytest.fixture(scope="session")
def stack(stack_config: StackConfig) -> Iterator[Stack]:
    """The real Kafka and Elasticsearch, started once per session."""
    stack = Stack(stack_config)
    stack.start(wait=True)
    yield stack
    if os.environ.get("NEWSFLOW_KEEP_STACK") != "1":
        stack.stop()


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def models():  # type: ignore[no-untyped-def]
    """Enrichment models, loaded once for the whole session (they take seconds)."""
    from services.enrichment.logic import load_models

    return load_models()
