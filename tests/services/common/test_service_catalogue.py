"""The service catalogue is the one definition: settings, app ids, status, health check and CLI agree with it."""

from __future__ import annotations

import importlib

import pytest

from services.common.app import app_id
from services.common.service_catalogue import BY_NAME, DEFAULT_PORTS, SERVICE_NAMES, SERVICES, group_id

SETTINGS = {"scraper": "ScraperSettings", "parser": "ParserSettings", "enrichment": "EnrichmentSettings", "indexer": "IndexerSettings"}


def test_the_four_stages_with_distinct_ports() -> None:
    assert SERVICE_NAMES == ("scraper", "parser", "enrichment", "indexer")
    assert DEFAULT_PORTS == {"scraper": 8101, "parser": 8102, "enrichment": 8103, "indexer": 8104}
    assert len(set(DEFAULT_PORTS.values())) == len(SERVICES)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_entry_names_a_runnable_module_whose_settings_use_its_port(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = BY_NAME[name]
    module = importlib.import_module(entry.module)
    assert callable(module.main)
    monkeypatch.delenv(f"NEWSFLOW_{name.upper()}_HTTP_PORT", raising=False)
    settings_class = getattr(module, SETTINGS[name])
    assert settings_class.model_fields["http_port"].default == entry.http_port


@pytest.mark.parametrize(("namespace", "override", "expected"), [
    ("", None, "newsflow-parser"),
    ("t1", None, "t1.newsflow-parser"),
    ("", "newsflow-parser-replay-2", "newsflow-parser-replay-2"),
    ("t1", "replay", "t1.replay"),
])
def test_the_group_is_the_faust_app_id(namespace: str, override: str | None, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.parser.app import ParserSettings

    monkeypatch.setenv("NEWSFLOW_KAFKA_TOPIC_NAMESPACE", namespace)
    if override:
        monkeypatch.setenv("NEWSFLOW_PARSER_GROUP_ID", override)
    else:
        monkeypatch.delenv("NEWSFLOW_PARSER_GROUP_ID", raising=False)
    assert group_id("parser", namespace, override) == app_id("parser", ParserSettings()) == expected
    assert BY_NAME["parser"].group == "newsflow-parser"


def test_operator_tools_and_the_cli_read_the_catalogue() -> None:
    from services.cli import build_parser
    from services.ops import healthcheck, status

    assert status.SERVICES == SERVICE_NAMES and status.DEFAULT_PORTS == DEFAULT_PORTS
    assert healthcheck.DEFAULT_PORTS == DEFAULT_PORTS
    parser = build_parser()
    assert parser.parse_args(["run", "indexer"]).service == "indexer"
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "samplesite"])
