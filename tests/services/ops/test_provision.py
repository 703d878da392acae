"""`newsflow access show|apply`: the roles, printed for administrators and applied to a real Kafka."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError

from schemas.topics import CATALOGUE, PARSED_ARTICLES, RAW_PAGES, topic_name
from services.common.admin import ensure_topics
from services.common.settings import KafkaSettings
from devtools.devstack.pipeline import Pipeline
from devtools.devstack.stack import REPO_ROOT, Stack, StackConfig
from services.ops.access import ES_ROLES, KAFKA_ROLES, es_role, kafka_acls
from services.ops.kafka_access import wait_until_accepted
from services.ops.provision import show


def test_show_prints_every_acl_and_every_elasticsearch_role() -> None:
    text = show("prod", "news", "kafka:9093")
    for role in KAFKA_ROLES:
        for acl in kafka_acls(role, "prod"):
            assert acl.kafka_acls_command("kafka:9093") in text
    lines = text.splitlines()
    for role in ES_ROLES:
        body = lines[lines.index(f"PUT /_security/role/newsflow_{role}_news") + 1]
        assert json.loads(body) == es_role(role, "news")


def newsflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT, env={**os.environ, **(env or {})})


def test_apply_needs_a_password_folder() -> None:
    result = newsflow("access", "apply")
    assert result.returncode == 2 and "--passwords DIR" in result.stderr


async def test_apply_creates_users_and_acls_as_the_kafka_administrator(
    stack: Stack, stack_config: StackConfig, namespace: str, tmp_path: Path,
) -> None:
    passwords = tmp_path / "passwords"
    passwords.mkdir()
    (passwords / "kafka-parser.password").write_text("parser-password-from-a-file\n")
    await ensure_topics(KafkaSettings(bootstrap=stack_config.kafka_bootstrap, topic_namespace=namespace), CATALOGUE)
    # The session's environment holds the stack administrator: what `apply` must be run with.
    result = newsflow("access", "apply", "--namespace", namespace, "--passwords", str(passwords), "--skip-elasticsearch",
                      env={"NEWSFLOW_KAFKA_BOOTSTRAP": stack_config.kafka_bootstrap})
    try:
        assert result.returncode == 0, result.stderr
        assert f"kafka: user {namespace}.newsflow-parser" in result.stdout
        parser = stack_config.kafka_kwargs(f"{namespace}.newsflow-parser", "parser-password-from-a-file")
        await wait_until_accepted(parser)
        producer = AIOKafkaProducer(**parser, request_timeout_ms=10000)  # type: ignore[arg-type]
        await producer.start()
        try:
            await producer.send_and_wait(topic_name(PARSED_ARTICLES, namespace), b"its output")
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(topic_name(RAW_PAGES, namespace), b"not its topic")
        finally:
            await producer.stop()
    finally:
        Pipeline(stack_config, namespace=namespace, run_dir=tmp_path / "run").revoke_access()


def test_apply_as_a_role_without_rights_fails_with_the_reason(stack: Stack, stack_config: StackConfig, namespace: str,
                                                              tmp_path: Path) -> None:
    operator = stack_config.role_credentials("operator")
    passwords = tmp_path / "passwords"
    passwords.mkdir()
    (passwords / "kafka-parser.password").write_text("x" * 32)
    result = newsflow("access", "apply", "--namespace", namespace, "--passwords", str(passwords), "--skip-elasticsearch",
                      env={"NEWSFLOW_KAFKA_BOOTSTRAP": stack_config.kafka_bootstrap,
                           "NEWSFLOW_KAFKA_USERNAME": operator.kafka_username or "",
                           "NEWSFLOW_KAFKA_PASSWORD": operator.kafka_password or ""})
    assert result.returncode == 1
    assert "error:" in result.stderr and ("ClusterAuthorizationFailed" in result.stderr or "refused" in result.stderr), result.stderr
