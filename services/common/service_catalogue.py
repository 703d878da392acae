"""The catalogue of the four stage services: name, HTTP port, consumer group, module.

One definition read by the services' settings (their default `http_port`), the faust app
id, operator status, the container health check, the access rules, the local stack, the
command line and the deployment tests. Standard library only: the container's health
check imports it and must start in tens of milliseconds.

The topics each service reads and writes are in the topic catalogue (`schemas/topics.py`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceEntry:
    """One stage service.

    `http_port` serves /metrics, /livez and /readyz (default of NEWSFLOW_<SERVICE>_HTTP_PORT);
    `module` is the wiring module `newsflow run <name>` starts (its `main()`).
    """

    name: str
    http_port: int
    module: str

    @property
    def group(self) -> str:
        """The consumer group (= faust app id) outside any namespace and without an override."""
        return f"newsflow-{self.name}"


SERVICES: tuple[ServiceEntry, ...] = (
    ServiceEntry("scraper", 8101, "services.scraper.app"),
    ServiceEntry("parser", 8102, "services.parser.app"),
    ServiceEntry("enrichment", 8103, "services.enrichment.app"),
    ServiceEntry("indexer", 8104, "services.indexer.app"),
)
BY_NAME: dict[str, ServiceEntry] = {s.name: s for s in SERVICES}
SERVICE_NAMES: tuple[str, ...] = tuple(BY_NAME)
DEFAULT_PORTS: dict[str, int] = {s.name: s.http_port for s in SERVICES}


def group_id(service: str, namespace: str = "", override: str | None = None) -> str:
    """A service's consumer group (= faust app id): `newsflow-<service>` or the override,
    prefixed `<namespace>.` in a namespaced pipeline."""
    name = override or f"newsflow-{service}"
    return f"{namespace}.{name}" if namespace else name
