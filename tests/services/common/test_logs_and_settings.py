"""Structured JSON logs carry service, trace and article ids; secrets never reach a log line."""

from __future__ import annotations

import json
import logging

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
