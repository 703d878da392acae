"""Shared fixtures.

Three tiers of tests (see tests/README.md): pure logic (no server), in-process
pipelines (real local HTTP servers), and `stack` tests against the real Kafka and
Elasticsearch that this session starts on its own ports (instance "test":
Kafka 19092, Elasticsearch 19200) and stops at the end. Each stack test works in
its own topic namespace and index alias, so tests never see each other's data.

The stack is secured as always (TLS, SASL/SCRAM, ACLs). Once it runs, the session
exports the stack administrator's credentials (NEWSFLOW_KAFKA_SECURITY_PROTOCOL,
_SASL_MECHANISM, _USERNAME, _PASSWORD, NEWSFLOW_ES_USERNAME, _PASSWORD, _CA_CERTS),
so test code and `newsflow` commands run by tests authenticate as the administrator
by default; services started through `Pipeline` get their own roles' credentials
instead (devtools/devstack/pipeline.py), and least-privilege tests ask for a role
explicitly. The test stack's Elasticsearch roles cover `articles` and every
`*-articles` alias the tests make.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from elasticsearch import AsyncElasticsearch

from devtools.devstack.security import ADMIN_ROLE, CREDENTIAL_VARIABLES
from devtools.devstack.stack import Stack, StackConfig

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


# Test aliases are `<namespace>-articles`: the test stack's Elasticsearch roles cover them.
TEST_ES_ALIASES = ("articles", "*-articles")


@pytest.fixture(scope="session")
def stack_config() -> StackConfig:
    return StackConfig.from_env("test", **TEST_PORTS, es_aliases=TEST_ES_ALIASES)


@pytest.fixture(scope="session")
def stack(stack_config: StackConfig) -> Iterator[Stack]:
    """The real Kafka and Elasticsearch, started once per session; the administrator's credentials exported."""
    stack = Stack(stack_config)
    stack.start(wait=True)
    saved = {name: os.environ.get(name) for name in CREDENTIAL_VARIABLES}
    for name, value in admin_credentials_env(stack_config).items():
        os.environ[name] = value
    yield stack
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if os.environ.get("NEWSFLOW_KEEP_STACK") != "1":
        stack.stop()


@pytest.fixture
async def es(stack: Stack, stack_config: StackConfig) -> AsyncIterator[AsyncElasticsearch]:
    """An Elasticsearch client of the test stack, as its administrator."""
    client = AsyncElasticsearch(**stack_config.admin_es_kwargs(), request_timeout=30)
    yield client
    await client.close()


def admin_credentials_env(stack_config: StackConfig) -> dict[str, str]:
    """The stack administrator's credential variables (not where the stack is: tests say that)."""
    env = stack_config.env(ADMIN_ROLE)
    return {name: value for name, value in env.items() if name in CREDENTIAL_VARIABLES and value is not None}


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def models():  # type: ignore[no-untyped-def]
    """Enrichment models, loaded once for the whole session (they take seconds)."""
    from services.enrichment.logic import load_models

    return load_models()
