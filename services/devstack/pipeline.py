"""The four services as one pipeline on the local stack, for the demo and end-to-end tests.

A `Pipeline` has a namespace (topic prefix and consumer groups), an Elasticsearch
alias and its own run folder, so several pipelines can share one Kafka and one
Elasticsearch without seeing each other's data.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from services.devstack.processes import ManagedProcess, default_run_dir, wait_http_ok
from services.devstack.stack import StackConfig

SERVICES = ("scraper", "parser", "enrichment", "indexer")
DEFAULT_PORTS = {"scraper": 8101, "parser": 8102, "enrichment": 8103, "indexer": 8104}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Pipeline:
    stack: StackConfig
    namespace: str = ""
    alias: str = "articles"
    run_dir: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.run_dir is None:
            self.run_dir = default_run_dir(self.namespace or self.stack.instance)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            self.ports.setdefault(name, DEFAULT_PORTS[name] if not self.namespace else free_port())

    @property
    def sources_file(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "sources.yaml"

    def write_sources(self, sources: dict) -> Path:  # type: ignore[type-arg]
        self.sources_file.write_text(yaml.safe_dump(sources, allow_unicode=True, sort_keys=False))
        return self.sources_file

    def env(self, service: str) -> dict[str, str]:
        assert self.run_dir is not None
        env = {
            "NEWSFLOW_KAFKA_BOOTSTRAP": self.stack.kafka_bootstrap,
            "NEWSFLOW_KAFKA_TOPIC_NAMESPACE": self.namespace,
            "NEWSFLOW_ES_URL": self.stack.es_url,
            "NEWSFLOW_ES_ALIAS": self.alias,
            "NEWSFLOW_DATA_DIR": str(self.run_dir / "data"),
            "NEWSFLOW_LOG_FORMAT": "json",
            "NEWSFLOW_SCRAPER_SOURCES_FILE": str(self.sources_file),
            "NEWSFLOW_SCRAPER_STATE_STORE": "rocksdb://",
            "NEWSFLOW_PARSER_SOURCES_FILE": str(self.sources_file),
            f"NEWSFLOW_{service.upper()}_HTTP_PORT": str(self.ports[service]),
        }
        env.update(self.extra_env)
        return env

    def process(self, service: str) -> ManagedProcess:
        assert self.run_dir is not None
        return ManagedProcess(service, self.run_dir)

    def start(self, services: tuple[str, ...] = SERVICES) -> None:
        for service in services:
            self.process(service).start(self.env(service))

    def wait_ready(self, services: tuple[str, ...] = SERVICES, timeout: float = 120.0) -> None:
        for service in services:
            url = f"http://127.0.0.1:{self.ports[service]}/readyz"
            if not wait_http_ok(url, timeout):
                log = self.process(service).logfile
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
                raise RuntimeError(f"{service} did not become ready at {url}; last log lines:\n{tail}")

    def stop(self, services: tuple[str, ...] = SERVICES) -> None:
        for service in reversed(services):
            self.process(service).stop()
