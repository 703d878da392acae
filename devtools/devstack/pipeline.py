"""The four services as one pipeline on the local stack, for the demo and end-to-end tests.

A `Pipeline` has a namespace (topic prefix and consumer groups), an Elasticsearch
alias and its own run folder, so several pipelines can share one Kafka and one
Elasticsearch without seeing each other's data.

Each service runs with its own role's credentials only (services/ops/access.py),
handed over as secret files (NEWSFLOW_*_PASSWORD_FILE, mode 0600, in the run
folder). The default pipeline (no namespace) uses the stack's role users; a
namespaced pipeline gets Kafka users of its own, `<namespace>.newsflow-<role>`,
with ACLs on its namespace's topics and groups only, created on first use with the
stack's administrator and removed by `revoke_access`. Elasticsearch users are the
stack's (file realm); the stack's roles must cover the pipeline's alias
(StackConfig.es_aliases).
"""

from __future__ import annotations

import fnmatch
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from devtools.devstack import security
from devtools.devstack.processes import ManagedProcess, default_run_dir, wait_http_ok
from devtools.devstack.security import KAFKA_SASL_MECHANISM, KAFKA_SECURITY_PROTOCOL, RoleCredentials
from devtools.devstack.stack import StackConfig, StackError, kafka_admin, run_sync
from services.common.service_catalogue import DEFAULT_PORTS
from services.common.service_catalogue import SERVICE_NAMES as SERVICES
from services.ops.access import ES_ROLES, KAFKA_ROLES, ROLES, kafka_acls, kafka_username



# Where `free_port` looks: below the kernel's usual ephemeral range (32768–60999) and below the
# fixed ports of the local stacks (19092 and up).
_PORT_RANGE = (12000, 19000)
_handed_out: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now, for a process started next to bind.

    Not `bind(0)`: the kernel answers that from its ephemeral range, the range every outgoing
    connection (Kafka and Elasticsearch clients, dozens of them in a test session) also takes
    its local port from, so between this call and the service's own bind a client could take
    the port ("address already in use" at start-up). Ports outside that range are only ever
    taken by an explicit bind; each is handed out once per process.
    """
    import random

    low, high = _PORT_RANGE
    ephemeral = _ephemeral_range()
    candidates = [p for p in range(low, high) if not ephemeral[0] <= p <= ephemeral[1] and p not in _handed_out]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free TCP port in {low}–{high} outside the ephemeral range {ephemeral}")


@dataclass
class Pipeline:
    stack: StackConfig
    namespace: str = ""
    alias: str = "articles"
    run_dir: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    secret_marker: str = ""
    """Kafka passwords of a namespaced pipeline start with this (tests look for leaks of it)."""
    _granted: set[tuple[str, str | None]] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.run_dir is None:
            self.run_dir = default_run_dir(self.namespace or self.stack.instance)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            # The default pipeline (the demo) honours NEWSFLOW_<SERVICE>_HTTP_PORT, as the services do.
            configured = os.environ.get(f"NEWSFLOW_{name.upper()}_HTTP_PORT")
            default = int(configured) if configured and not self.namespace else DEFAULT_PORTS[name]
            self.ports.setdefault(name, default if not self.namespace else free_port())

    @property
    def sources_file(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "sources.yaml"

    def write_sources(self, sources: dict) -> Path:  # type: ignore[type-arg]
        self.sources_file.write_text(yaml.safe_dump(sources, allow_unicode=True, sort_keys=False))
        return self.sources_file

    # ------------------------------------------------------------------ credentials

    @property
    def secrets_dir(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "secrets"

    def _read_secret(self, name: str) -> str | None:
        path = self.secrets_dir / name
        return path.read_text() if path.exists() else None

    def _write_secret(self, name: str, value: str) -> Path:
        path = self.secrets_dir / name
        security.write_private(path, value)
        return path

    def credentials(self, role: str) -> RoleCredentials:
        """What `role` authenticates with in this pipeline (its Kafka user is created on first use)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        self.grant(role)
        creds = self.stack.credentials()
        user = password = None
        if role in KAFKA_ROLES:
            user = kafka_username(role, self.namespace)
            password = creds.kafka_password(user) if not self.namespace else self._read_secret(f"{role}.kafka-password")
        es_user = security.es_username(role) if role in ES_ROLES else None
        return RoleCredentials(role, user, password, es_username=es_user,
                               es_password=creds.es_password(es_user) if es_user else None)

    def grant(self, role: str, group_id: str | None = None) -> None:
        """Make sure `role` can work in this pipeline: its Kafka user and ACLs (idempotent, once per object)."""
        if (role, group_id) in self._granted:
            return
        if role in ES_ROLES and not any(fnmatch.fnmatchcase(self.alias, pattern) for pattern in self.stack.es_aliases):
            raise StackError(
                f"the stack's Elasticsearch roles cover {', '.join(self.stack.es_aliases)}, not the alias {self.alias!r}; "
                "start the stack with NEWSFLOW_STACK_ES_ALIASES including it"
            )
        if role in KAFKA_ROLES and (self.namespace or group_id):
            from services.ops.kafka_access import create_acls, upsert_scram_users, wait_until_accepted

            users: dict[str, str] = {}
            if self.namespace:
                if self._read_secret(f"{role}.kafka-password") is None:
                    password = security.new_password(self.secret_marker)
                    users[kafka_username(role, self.namespace)] = password
            acls = kafka_acls(role, self.namespace, group_override=group_id)

            async def apply() -> None:
                async with kafka_admin(self.stack) as admin:
                    # ACLs first: once the new user gets in, the broker has applied them too
                    # (one metadata log, applied in order).
                    await create_acls(admin, acls)
                    if users:
                        await upsert_scram_users(admin, users)
                for user, password in users.items():
                    await wait_until_accepted(self.stack.kafka_kwargs(user, password))

            run_sync(apply)
            for password in users.values():
                self._write_secret(f"{role}.kafka-password", password)
        self._granted.add((role, group_id))

    def revoke_access(self) -> None:
        """Remove a namespaced pipeline's Kafka users and their ACLs (the default pipeline's stay)."""
        if not self.namespace:
            return
        from services.ops.kafka_access import delete_acls_of, delete_scram_users

        users = [kafka_username(role, self.namespace) for role in KAFKA_ROLES]

        async def apply() -> None:
            async with kafka_admin(self.stack) as admin:
                await delete_acls_of(admin, [f"User:{u}" for u in users])
                await delete_scram_users(admin, users)

        run_sync(apply)
        self._granted.clear()
        for role in KAFKA_ROLES:
            (self.secrets_dir / f"{role}.kafka-password").unlink(missing_ok=True)

    def role_env(self, role: str) -> dict[str, str | None]:
        """NEWSFLOW_* variables of `role` with the secrets themselves, e.g. for `newsflow crawl` as the operator."""
        env = security.role_env(self.stack, self.credentials(role))
        env["NEWSFLOW_KAFKA_TOPIC_NAMESPACE"] = self.namespace
        env["NEWSFLOW_ES_ALIAS"] = self.alias
        env["NEWSFLOW_KAFKA_REPLICATION_FACTOR"] = str(self.stack.replication_factor)
        return env

    def env(self, service: str, *, group_id: str | None = None) -> dict[str, str]:
        """A service's environment: where things are, and its own credentials as secret files.

        `group_id` runs the service in another consumer group (a re-crawl), granted first.
        """
        assert self.run_dir is not None
        if group_id:
            self.grant(service, group_id)
        creds = self.credentials(service)
        env = {
            "NEWSFLOW_KAFKA_BOOTSTRAP": self.stack.kafka_bootstrap,
            "NEWSFLOW_KAFKA_TOPIC_NAMESPACE": self.namespace,
            "NEWSFLOW_KAFKA_REPLICATION_FACTOR": str(self.stack.replication_factor),
            "NEWSFLOW_KAFKA_SECURITY_PROTOCOL": KAFKA_SECURITY_PROTOCOL,
            "NEWSFLOW_KAFKA_SASL_MECHANISM": KAFKA_SASL_MECHANISM,
            "NEWSFLOW_ES_URL": self.stack.es_url,
            "NEWSFLOW_ES_CA_CERTS": str(self.stack.ca_cert),
            "NEWSFLOW_ES_ALIAS": self.alias,
            "NEWSFLOW_DATA_DIR": str(self.run_dir / "data"),
            "NEWSFLOW_LOG_FORMAT": "json",
            "NEWSFLOW_SCRAPER_SOURCES_FILE": str(self.sources_file),
            "NEWSFLOW_SCRAPER_STATE_STORE": "rocksdb://",
            "NEWSFLOW_PARSER_SOURCES_FILE": str(self.sources_file),
            f"NEWSFLOW_{service.upper()}_HTTP_PORT": str(self.ports[service]),
        }
        # Written every time: after `stack rotate-keys` a restarted service must get the new one.
        if creds.kafka_username and creds.kafka_password:
            env["NEWSFLOW_KAFKA_USERNAME"] = creds.kafka_username
            env["NEWSFLOW_KAFKA_PASSWORD_FILE"] = str(self._write_secret(f"{service}.kafka-password", creds.kafka_password))
        if creds.es_username and creds.es_password:
            env["NEWSFLOW_ES_USERNAME"] = creds.es_username
            env["NEWSFLOW_ES_PASSWORD_FILE"] = str(self._write_secret(f"{service}.es-password", creds.es_password))
        if group_id:
            env[f"NEWSFLOW_{service.upper()}_GROUP_ID"] = group_id
        # Whatever credential the caller's environment holds is cleared (an empty variable is
        # unset for the settings), so `{**os.environ, **pipeline.env(s)}` runs `s` as its role too.
        for name in security.CREDENTIAL_VARIABLES:
            env.setdefault(name, "")
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
