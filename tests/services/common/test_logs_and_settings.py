"""Structured JSON logs carry service, trace and article ids; secrets never reach a log line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common.logs import bind_event, configure_logging, get_logger
from services.common.settings import ElasticsearchSettings, KafkaSettings


def test_log_lines_are_json_with_service_trace_and_article(capfd, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    configure_logging("parser", "INFO", "json")
    with bind_event(trace_id="t-123", article_id="0123456789abcdef"):
        get_logger("test").info("parsed", title_chars=42)
    logging.getLogger("faust.worker").warning("foreign library line")
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    ours = next(line for line in lines if line["event"] == "parsed")
    assert ours["service"] == "parser" and ours["trace_id"] == "t-123" and ours["article_id"] == "0123456789abcdef"
    assert ours["level"] == "info" and ours["title_chars"] == 42 and "timestamp" in ours
    foreign = next(line for line in lines if line["event"] == "foreign library line")
    assert foreign["service"] == "parser" and "trace_id" not in foreign


def test_secrets_do_not_appear_in_settings_reprs_or_logs(capfd, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEWSFLOW_KAFKA_PASSWORD", "kafka-s3cret")
    monkeypatch.setenv("NEWSFLOW_ES_API_KEY", "es-s3cret")
    kafka, es = KafkaSettings(), ElasticsearchSettings()
    configure_logging("indexer", "INFO", "json")
    get_logger("test").info("settings", kafka=repr(kafka), es=str(es), dump=kafka.model_dump_json())
    out = capfd.readouterr().err
    assert "s3cret" not in out and "**********" in out
    assert kafka.password is not None and kafka.password.get_secret_value() == "kafka-s3cret"


# --------------------------------------------------------------------------- secrets from files, URLs without them

SECRET_VARIABLES = (
    "NEWSFLOW_KAFKA_PASSWORD", "NEWSFLOW_KAFKA_PASSWORD_FILE", "NEWSFLOW_KAFKA_USERNAME", "NEWSFLOW_KAFKA_BOOTSTRAP",
    "NEWSFLOW_ES_PASSWORD", "NEWSFLOW_ES_PASSWORD_FILE", "NEWSFLOW_ES_API_KEY", "NEWSFLOW_ES_API_KEY_FILE",
    "NEWSFLOW_ES_USERNAME", "NEWSFLOW_ES_URL",
)


@pytest.fixture
def clean_env(monkeypatch):  # type: ignore[no-untyped-def]
    """No credentials from the test session (stack tests export the administrator's)."""
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("variable", "build", "read"),
    [
        ("NEWSFLOW_KAFKA_PASSWORD", KafkaSettings, lambda s: s.password),
        ("NEWSFLOW_ES_PASSWORD", ElasticsearchSettings, lambda s: s.password),
        ("NEWSFLOW_ES_API_KEY", ElasticsearchSettings, lambda s: s.api_key),
    ],
)
def test_every_secret_also_comes_from_a_file(clean_env, tmp_path: Path, variable: str, build, read) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret"
    secret.write_text("from-a-mounted-secret\n")  # `echo` and most editors end files with a newline
    clean_env.setenv(f"{variable}_FILE", str(secret))
    settings = build()
    assert read(settings).get_secret_value() == "from-a-mounted-secret"
    assert "from-a-mounted-secret" not in repr(settings) and "from-a-mounted-secret" not in settings.model_dump_json()


def test_a_secret_given_both_ways_is_refused_without_showing_either(clean_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret"
    secret.write_text("file-s3cret")
    clean_env.setenv("NEWSFLOW_KAFKA_PASSWORD", "env-s3cret")
    clean_env.setenv("NEWSFLOW_KAFKA_PASSWORD_FILE", str(secret))
    with pytest.raises(ValidationError) as caught:
        KafkaSettings()
    message = str(caught.value)
    assert "give NEWSFLOW_KAFKA_PASSWORD or NEWSFLOW_KAFKA_PASSWORD_FILE, not both" in message
    assert "s3cret" not in message


def test_an_unreadable_or_empty_secret_file_names_the_variable(clean_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clean_env.setenv("NEWSFLOW_ES_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValidationError, match=r"NEWSFLOW_ES_PASSWORD_FILE=.*missing: cannot read the secret file"):
        ElasticsearchSettings()
    empty = tmp_path / "empty"
    empty.write_text("\n")
    clean_env.setenv("NEWSFLOW_ES_PASSWORD_FILE", str(empty))
    with pytest.raises(ValidationError, match="the secret file is empty"):
        ElasticsearchSettings()


@pytest.mark.parametrize("url", ["https://newsflow:hunter2-s3cret@es.example:9200", "http://:hunter2-s3cret@es.example",
                                 "https://hunter2-s3cret@es.example"])
def test_credentials_in_the_elasticsearch_url_are_refused_and_not_echoed(clean_env, url: str) -> None:  # type: ignore[no-untyped-def]
    clean_env.setenv("NEWSFLOW_ES_URL", url)
    with pytest.raises(ValidationError) as caught:
        ElasticsearchSettings()
    message = str(caught.value)
    assert "NEWSFLOW_ES_URL must not carry credentials" in message and "NEWSFLOW_ES_PASSWORD_FILE" in message
    assert "hunter2" not in message


def test_credentials_in_the_kafka_bootstrap_are_refused(clean_env) -> None:  # type: ignore[no-untyped-def]
    clean_env.setenv("NEWSFLOW_KAFKA_BOOTSTRAP", "newsflow:hunter2@kafka:9092")
    with pytest.raises(ValidationError) as caught:
        KafkaSettings()
    assert "host:port pairs only" in str(caught.value) and "hunter2" not in str(caught.value)


def test_a_service_given_a_url_with_credentials_exits_with_the_reason_and_without_the_secret(clean_env) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    env.update({"NEWSFLOW_ES_URL": "https://indexer:canary-7f3a9c@127.0.0.1:1", "NEWSFLOW_LOG_FORMAT": "json"})
    result = subprocess.run([sys.executable, "-m", "services.indexer"], env=env, capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[3])
    assert result.returncode != 0
    assert "NEWSFLOW_ES_URL must not carry credentials" in result.stderr
    assert "canary-7f3a9c" not in result.stdout + result.stderr
