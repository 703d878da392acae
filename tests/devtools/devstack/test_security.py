"""The local stack is secured for real: nobody anonymous gets in, and each role can do only its part."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from elasticsearch import AsyncElasticsearch, AuthenticationException, AuthorizationException

from schemas.topics import CATALOGUE, ENRICHED_ARTICLES, PARSED_ARTICLES, RAW_PAGES, topic_name
from services.common.admin import ensure_topics
from services.common.settings import KafkaSettings
from devtools.demo import query_hint
from devtools.devstack.pipeline import Pipeline
from devtools.devstack.security import CREDENTIAL_VARIABLES, RoleCredentials
from devtools.devstack.stack import REPO_ROOT, Stack, StackConfig
from services.indexer.templates import IndexNames, install
from tests.helpers import deny_output, eventually, kafka_kwargs


def es_request(cfg: StackConfig, path: str, *, auth: tuple[str, str] | None = None, method: str = "GET") -> int:
    request = urllib.request.Request(cfg.es_url + path, method=method)
    if auth:
        import base64

        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context(cafile=str(cfg.ca_cert))) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def client_as(cfg: StackConfig, creds: RoleCredentials) -> AsyncElasticsearch:
    assert creds.es_username and creds.es_password
    return AsyncElasticsearch(cfg.es_url, ca_certs=str(cfg.ca_cert), basic_auth=(creds.es_username, creds.es_password),
                              request_timeout=30)


def kafka_as(cfg: StackConfig, creds: RoleCredentials) -> dict[str, object]:
    return {"bootstrap_servers": cfg.kafka_bootstrap, "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": creds.kafka_username, "sasl_plain_password": creds.kafka_password}


@pytest.fixture
def pipeline(stack: Stack, stack_config: StackConfig, namespace: str, tmp_path: Path) -> Iterator[Pipeline]:
    """A namespaced pipeline's roles (users and ACLs), removed afterwards."""
    p = Pipeline(stack_config, namespace=namespace, alias=f"{namespace}-articles", run_dir=tmp_path / "run")
    yield p
    p.revoke_access()


@pytest.fixture
async def contract(stack: Stack, stack_config: StackConfig, namespace: str) -> AsyncIterator[tuple[AsyncElasticsearch, IndexNames]]:
    """An installed index contract with one article, as the administrator; deleted afterwards."""
    admin = AsyncElasticsearch(**stack_config.admin_es_kwargs(), request_timeout=30)
    names = IndexNames(f"{namespace}-articles")
    await install(admin, names)
    await admin.index(index=names.write_alias, id="a1", document={"title": "Переговоры в Душанбе"}, refresh=True)
    yield admin, names
    await admin.indices.delete(index=f"{names.alias}-v*", ignore_unavailable=True, allow_no_indices=True)
    await admin.options(ignore_status=404).indices.delete_index_template(name=names.template)
    for component in (names.settings_component, names.mappings_component):
        await admin.options(ignore_status=404).cluster.delete_component_template(name=component)
    await admin.close()


# --------------------------------------------------------------------------- Elasticsearch


def test_elasticsearch_answers_nobody_anonymous_and_speaks_only_tls(stack: Stack, stack_config: StackConfig) -> None:
    assert stack_config.es_url.startswith("https://")
    assert es_request(stack_config, "/") == 401
    assert es_request(stack_config, "/_cluster/health") == 401
    assert es_request(stack_config, "/", auth=("newsflow-reader", "not-the-password")) == 401
    assert es_request(stack_config, "/", auth=("elastic", "changeme")) == 401, "the built-in superuser is off"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{stack_config.es_port}/", timeout=10).read()


async def test_the_reader_reads_the_alias_but_cannot_write_or_delete(stack_config: StackConfig, contract) -> None:  # type: ignore[no-untyped-def]
    _, names = contract
    reader = client_as(stack_config, stack_config.role_credentials("reader"))
    try:
        hits = (await reader.search(index=names.alias, query={"match": {"title": "переговоры"}}))["hits"]["hits"]
        assert [h["_id"] for h in hits] == ["a1"]
        with pytest.raises(AuthorizationException):
            await reader.index(index=names.write_alias, id="a2", document={"title": "forged"})
        with pytest.raises(AuthorizationException):
            await reader.index(index=names.alias, id="a2", document={"title": "forged"})
        with pytest.raises(AuthorizationException):
            await reader.delete(index=names.first_index, id="a1")
        with pytest.raises(AuthorizationException):
            await reader.indices.delete(index=names.first_index)
        with pytest.raises(AuthorizationException):
            await reader.indices.put_index_template(name=f"{names.alias}-evil", index_patterns=[f"{names.alias}-v*"])
        with pytest.raises(AuthorizationException):
            await reader.search(index=names.first_index)  # the alias only, not its indices by name
    finally:
        await reader.close()


async def test_the_indexer_writes_through_the_write_alias_but_cannot_touch_other_indices(stack_config: StackConfig, contract) -> None:  # type: ignore[no-untyped-def]
    admin, names = contract
    indexer = client_as(stack_config, stack_config.role_credentials("indexer"))
    other = f"x{uuid.uuid4().hex[:8]}"
    try:
        await indexer.index(index=names.write_alias, id="a2", document={"title": "indexed"}, refresh=True)
        assert (await admin.count(index=names.alias))["count"] == 2
        await admin.indices.create(index=other)
        with pytest.raises(AuthorizationException):
            await indexer.index(index=other, id="a3", document={"title": "elsewhere"})
        with pytest.raises(AuthorizationException):
            await indexer.indices.delete(index=other)
    finally:
        await admin.options(ignore_status=404).indices.delete(index=other)
        await indexer.close()


def _shell_env(stack_config: StackConfig) -> dict[str, str]:
    """A shell's environment without the session's credentials, pointing `newsflow stack` at the test stack."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES}
    env.update({"NEWSFLOW_STACK_DIR": str(stack_config.base_dir), "NEWSFLOW_STACK_INSTANCE": stack_config.instance,
                "NEWSFLOW_KAFKA_PORT": str(stack_config.kafka_port), "NEWSFLOW_ES_PORT": str(stack_config.es_port),
                "NEWSFLOW_KAFKA_CONTROLLER_PORT": str(stack_config.kafka_controller_port),
                "NEWSFLOW_ES_TRANSPORT_PORT": str(stack_config.es_transport_port)})
    return env


@pytest.fixture
def articles_alias(stack: Stack, stack_config: StackConfig) -> str:
    """The default alias `articles` of the test stack, with one known article in it."""
    names = IndexNames("articles")

    async def seed() -> None:
        es = AsyncElasticsearch(**stack_config.admin_es_kwargs(), request_timeout=30)
        try:
            await install(es, names)
            await es.index(index=names.write_alias, id="curl-check", refresh=True,
                           document={"title": "Проверка", "body": "Стороны провели переговоры в Душанбе."})
        finally:
            await es.close()

    asyncio.run(seed())
    return names.alias


def _readme_blocks(after: str, document: str = "README.md") -> list[str]:
    """The code blocks (without their language line) after the text `after` in a document."""
    text = (REPO_ROOT / document).read_text(encoding="utf-8")
    section = text[text.index(after):]
    return [block.split("\n", 1)[1] for block in section.split("```")[1:4:2]]


def test_the_demo_s_query_recipe_works_with_the_reader_credential_only(stack_config: StackConfig, articles_alias: str) -> None:
    """What `make demo` prints (eval "$(newsflow stack env)", then curl), run literally in a shell."""
    recipe = [line.split("  #")[0] for line in query_hint(stack_config).splitlines()[:3]]
    assert recipe[0].strip().startswith('eval "$(.venv/bin/newsflow stack env') and "curl" in recipe[1]
    script = "\n".join([
        "set -eu",
        recipe[0],
        'test "$NEWSFLOW_ES_USERNAME" = newsflow-reader',
        'test -z "${NEWSFLOW_KAFKA_PASSWORD:-}"',  # the reader has no Kafka access at all
        *recipe[1:3],
        "echo",
        # The same credential cannot write.
        """curl -sS -o /dev/null -w '%{http_code}' --cacert "$NEWSFLOW_ES_CA_CERTS" -u "$NEWSFLOW_ES_USERNAME:$NEWSFLOW_ES_PASSWORD" """
        """-X PUT -H 'Content-Type: application/json' -d '{"title": "forged"}' "$NEWSFLOW_ES_URL/articles-write/_doc/forged" """,
    ])
    result = subprocess.run(["bash", "-c", script], env=_shell_env(stack_config), capture_output=True, text=True, timeout=120,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    answer, write_status = result.stdout.strip().splitlines()
    assert "curl-check" in [h["_id"] for h in json.loads(answer)["hits"]["hits"]]
    assert write_status == "403"


def test_the_readme_s_query_examples_run_as_the_reader(stack_config: StackConfig, articles_alias: str) -> None:
    shell, python = _readme_blocks("the credential a downstream application gets")
    querying = _readme_blocks("## Access", "docs/querying.md")[0]
    assert "newsflow stack env" in shell and "newsflow stack env" in querying and "Elasticsearch(" in python
    script = f"""set -eu
{shell}
echo
{querying}
echo
eval "$(.venv/bin/newsflow stack env)"
{sys.executable} - <<'PYTHON'
{python}
print(es.search(index="articles", query={{"ids": {{"values": ["curl-check"]}}}})["hits"]["total"]["value"])
PYTHON
"""
    result = subprocess.run(["bash", "-c", script], env=_shell_env(stack_config), capture_output=True, text=True, timeout=120,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    curl_answer, querying_answer, python_answer = result.stdout.strip().splitlines()
    assert "curl-check" in [h["_id"] for h in json.loads(curl_answer)["hits"]["hits"]]
    assert "curl-check" in [h["_id"] for h in json.loads(querying_answer)["hits"]["hits"]], "morphology: «переговорами»"
    assert python_answer == "1"


# --------------------------------------------------------------------------- Kafka


async def test_an_anonymous_or_wrongly_authenticated_kafka_client_gets_nothing(stack: Stack, stack_config: StackConfig) -> None:
    anonymous = AIOKafkaAdminClient(bootstrap_servers=stack_config.kafka_bootstrap, request_timeout_ms=5000)
    with pytest.raises((KafkaError, OSError, asyncio.TimeoutError)):
        await asyncio.wait_for(_list_topics(anonymous), timeout=30)
    wrong = AIOKafkaAdminClient(bootstrap_servers=stack_config.kafka_bootstrap, security_protocol="SASL_PLAINTEXT",
                                sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="newsflow-admin",
                                sasl_plain_password="guessed", request_timeout_ms=5000)
    with pytest.raises((KafkaError, OSError, asyncio.TimeoutError)):
        await asyncio.wait_for(_list_topics(wrong), timeout=30)


async def _list_topics(admin: AIOKafkaAdminClient) -> list[str]:
    try:
        await admin.start()
        return await admin.list_topics()
    finally:
        await admin.close()


async def test_a_service_produces_to_its_outputs_only(stack_config: StackConfig, namespace: str, pipeline: Pipeline) -> None:
    await ensure_topics(KafkaSettings(bootstrap=stack_config.kafka_bootstrap, topic_namespace=namespace), CATALOGUE)
    producer = AIOKafkaProducer(**kafka_as(stack_config, pipeline.credentials("parser")), request_timeout_ms=10000)
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(PARSED_ARTICLES, namespace), b"own output")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(topic_name(RAW_PAGES, namespace), b"forged page")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(topic_name(RAW_PAGES, "someone-else"), b"another pipeline")
    finally:
        await producer.stop()


async def test_a_service_reads_its_inputs_in_its_own_group_only(stack_config: StackConfig, namespace: str, pipeline: Pipeline) -> None:
    await ensure_topics(KafkaSettings(bootstrap=stack_config.kafka_bootstrap, topic_namespace=namespace), CATALOGUE)
    creds = pipeline.credentials("indexer")

    async def first_message(topic: str, group: str) -> object:
        consumer = AIOKafkaConsumer(topic, **kafka_as(stack_config, creds), group_id=group, auto_offset_reset="earliest",
                                    request_timeout_ms=10000)
        try:
            await consumer.start()
            return await asyncio.wait_for(consumer.getone(), timeout=20)
        finally:
            await consumer.stop()

    with pytest.raises(KafkaError):  # the parsed articles are the enrichment's input, not the indexer's
        await first_message(topic_name(PARSED_ARTICLES, namespace), f"{namespace}.newsflow-indexer")
    with pytest.raises(KafkaError):  # another stage's group
        await first_message(topic_name(ENRICHED_ARTICLES, namespace), f"{namespace}.newsflow-parser")


async def test_a_principal_without_write_on_its_output_is_refused_by_the_broker(
    stack_config: StackConfig, namespace: str, pipeline: Pipeline,
) -> None:
    """The Kafka half of "a refused produce stops the stage": the broker refuses, visibly."""
    await ensure_topics(KafkaSettings(bootstrap=stack_config.kafka_bootstrap, topic_namespace=namespace), CATALOGUE)
    output = topic_name(PARSED_ARTICLES, namespace)
    producer = AIOKafkaProducer(**kafka_as(stack_config, pipeline.credentials("parser")), request_timeout_ms=10000)
    await producer.start()
    try:
        await producer.send_and_wait(output, b"allowed while the ACL exists")
        deny_output(pipeline, "parser")
        refused = await eventually(lambda: _refused(producer, output), timeout=30, interval=1, what="the produce refused")
        assert isinstance(refused, TopicAuthorizationFailedError)
    finally:
        await producer.stop()


async def _refused(producer: AIOKafkaProducer, topic: str) -> BaseException | None:
    try:
        await producer.send_and_wait(topic, b"after the ACL was removed")
    except TopicAuthorizationFailedError as exc:
        return exc
    return None


# --------------------------------------------------------------------------- rotation


async def test_rotating_keys_retires_old_credentials_and_a_restarted_service_uses_the_new(
    stack: Stack, stack_config: StackConfig, pipeline: Pipeline,
) -> None:
    old_reader = stack_config.role_credentials("reader")
    old_operator = stack_config.role_credentials("operator")
    pipeline.write_sources({"sources": []})
    pipeline.start(("indexer",))
    try:
        pipeline.wait_ready(("indexer",), timeout=180)
        rotated = await asyncio.to_thread(stack.rotate_keys)
        assert any("newsflow-reader" in line for line in rotated) and any("newsflow-operator" in line for line in rotated)
        new_reader = stack_config.role_credentials("reader")
        assert new_reader.es_password != old_reader.es_password
        assert es_request(stack_config, f"/{pipeline.alias}/_count", auth=(old_reader.es_username, old_reader.es_password)) == 401  # type: ignore[arg-type]
        assert es_request(stack_config, f"/{pipeline.alias}/_count", auth=(new_reader.es_username, new_reader.es_password)) == 200  # type: ignore[arg-type]
        with pytest.raises((KafkaError, OSError, asyncio.TimeoutError)):
            await asyncio.wait_for(_list_topics(AIOKafkaAdminClient(**kafka_as(stack_config, old_operator), request_timeout_ms=5000)), 30)
        assert isinstance(await _list_topics(AIOKafkaAdminClient(**kafka_as(stack_config, stack_config.role_credentials("operator")))), list)
        # The running indexer keeps its connection; restarted, it reads the new password from its secret file.
        pipeline.stop(("indexer",))
        pipeline.start(("indexer",))
        pipeline.wait_ready(("indexer",), timeout=180)
        secret = Path(pipeline.env("indexer")["NEWSFLOW_ES_PASSWORD_FILE"]).read_text()
        assert secret == stack_config.role_credentials("indexer").es_password
    finally:
        pipeline.stop(("indexer",))


def test_kafka_admin_kwargs_of_the_session_are_the_administrators(stack: Stack, stack_config: StackConfig) -> None:
    assert kafka_kwargs(stack_config.kafka_bootstrap)["sasl_plain_username"] == "newsflow-admin"
