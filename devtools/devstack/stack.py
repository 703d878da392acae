"""A real Kafka (KRaft) and Elasticsearch on 127.0.0.1, fetched and run by the project, secured.

Nothing here is a stand-in: Kafka is Apache Kafka's own broker assembled from Maven
Central (see deploy/local/pom.xml), Elasticsearch is Elastic's integ-test zip from
Maven Central. Every command is idempotent: `fetch` skips what is already there,
`start` leaves a running component alone, `stop` on a stopped one is a no-op.

Security is on, always (devtools/devstack/security.py): Elasticsearch serves HTTPS
with a CA of the stack's own and answers nobody without credentials; Kafka takes
SASL/SCRAM clients only and authorises them with ACLs. Every role of the pipeline
(services/ops/access.py) gets its own Kafka user and Elasticsearch API key;
`newsflow stack env --role R` prints them.

Kafka runs as one KRaft node (broker and controller in one process) or, with
`kafka_brokers=3` (NEWSFLOW_KAFKA_BROKERS=3, `newsflow stack start --brokers 3`), as
three such nodes: replication factor 3, min.insync.replicas 2. Node i listens on
kafka_port + (i-1)*port_step (controller: kafka_controller_port + (i-1)*port_step).

Layout (all under a git-ignored folder, `.stack/` by default):

    .stack/downloads/                     jars and zips, shared by every instance
    .stack/<instance>/secrets/            credentials and certificates (0700)
    .stack/<instance>/kafka/{config,data,logs}            one broker
    .stack/<instance>/kafka-<i>/{config,data,logs}        node i of three
    .stack/<instance>/elasticsearch/{config,data,logs,tmp}

Elasticsearch refuses to run as root, and Kafka should not either: when the stack is
started by root, each runs as an unprivileged system user (created on first use:
newsflow-es, newsflow-kafka) that owns its folders. If that user cannot reach the
repository (for example a clone inside a private `mktemp -d` folder), their folders
go to /var/tmp/newsflow-stack-<hash>/ instead, and `status` says where.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from devtools.devstack import security
from devtools.devstack.pids import kill_now, pid_alive, read_pid, terminate, terminate_all
from devtools.devstack.java import JavaHome, find_java
from devtools.devstack.security import (
    ES_ADMIN,
    KAFKA_ADMIN,
    KAFKA_BROKER,
    KAFKA_SASL_MECHANISM,
    KAFKA_SECURITY_PROTOCOL,
    EsClient,
    SecurityError,
    StackCredentials,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DEPLOY = REPO_ROOT / "deploy" / "local"

KAFKA_VERSION = "4.4.0"
ELASTICSEARCH_VERSION = "9.5.4"
HUNSPELL_LOCALES = ("ru_RU", "en_US")
HUNSPELL_SYSTEM_DIR = Path("/usr/share/hunspell")
DEFAULT_ALIAS = "articles"

T = TypeVar("T")


class StackError(RuntimeError):
    """A component could not be fetched, started or reached; the message says why."""


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise StackError(f"{name}={value!r} is not a number") from exc


@dataclass
class StackConfig:
    """Where the stack lives and which ports it uses; every field has an env override."""

    instance: str = "dev"
    base_dir: Path = REPO_ROOT / ".stack"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    es_port: int = 9200
    es_transport_port: int = 9300
    es_heap: str = "768m"
    kafka_heap: str = "512m"
    kafka_version: str = KAFKA_VERSION
    es_version: str = ELASTICSEARCH_VERSION
    es_user: str = "newsflow-es"
    kafka_user: str = "newsflow-kafka"
    kafka_brokers: int = 1
    """1 (one KRaft node) or 3 (three nodes: replication factor 3, min.insync.replicas 2)."""
    kafka_port_step: int = 10
    es_aliases: tuple[str, ...] = (DEFAULT_ALIAS,)
    """Index aliases (or alias patterns) the Elasticsearch roles cover; the test stack adds `*-articles`."""
    extra_kafka_properties: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, instance: str | None = None, **overrides: object) -> StackConfig:
        cfg = cls(
            instance=instance or os.environ.get("NEWSFLOW_STACK_INSTANCE", "dev"),
            base_dir=Path(os.environ.get("NEWSFLOW_STACK_DIR", REPO_ROOT / ".stack")),
            kafka_port=_env_int("NEWSFLOW_KAFKA_PORT", 9092),
            kafka_controller_port=_env_int("NEWSFLOW_KAFKA_CONTROLLER_PORT", 9093),
            es_port=_env_int("NEWSFLOW_ES_PORT", 9200),
            es_transport_port=_env_int("NEWSFLOW_ES_TRANSPORT_PORT", 9300),
            es_heap=os.environ.get("NEWSFLOW_ES_HEAP", "768m"),
            kafka_heap=os.environ.get("NEWSFLOW_KAFKA_HEAP", "512m"),
            kafka_version=os.environ.get("NEWSFLOW_KAFKA_VERSION", KAFKA_VERSION),
            es_version=os.environ.get("NEWSFLOW_ES_VERSION", ELASTICSEARCH_VERSION),
            es_user=os.environ.get("NEWSFLOW_ES_USER", "newsflow-es"),
            kafka_user=os.environ.get("NEWSFLOW_KAFKA_USER", "newsflow-kafka"),
            kafka_brokers=_env_int("NEWSFLOW_KAFKA_BROKERS", 1),
            kafka_port_step=_env_int("NEWSFLOW_KAFKA_PORT_STEP", 10),
            es_aliases=tuple(a.strip() for a in os.environ.get("NEWSFLOW_STACK_ES_ALIASES", DEFAULT_ALIAS).split(",") if a.strip()),
        )
        for key, value in overrides.items():
            setattr(cfg, key, value)
        if "kafka_brokers" not in overrides and not os.environ.get("NEWSFLOW_KAFKA_BROKERS"):
            # An instance remembers how many Kafka nodes it was started with (`--brokers` switches).
            recorded = cfg.instance_dir / "kafka.brokers"
            if recorded.exists() and recorded.read_text().strip() in ("1", "3"):
                cfg.kafka_brokers = int(recorded.read_text().strip())
        if cfg.kafka_brokers not in (1, 3):
            raise StackError(f"the local Kafka runs 1 or 3 brokers, not {cfg.kafka_brokers}")
        return cfg

    @property
    def downloads(self) -> Path:
        return self.base_dir / "downloads"

    @property
    def instance_dir(self) -> Path:
        return self.base_dir / self.instance

    @property
    def secrets_dir(self) -> Path:
        return self.instance_dir / "secrets"

    @property
    def ca_cert(self) -> Path:
        """The CA certificate Elasticsearch's HTTPS certificate is signed by (NEWSFLOW_ES_CA_CERTS)."""
        return security.tls_dir(self.secrets_dir) / "ca.crt"

    def kafka_ports(self, node: int) -> tuple[int, int]:
        """(client port, controller port) of Kafka node `node` (1-based)."""
        step = (node - 1) * self.kafka_port_step
        return self.kafka_port + step, self.kafka_controller_port + step

    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.kafka_ports(n)[0]}" for n in range(1, self.kafka_brokers + 1))

    @property
    def es_url(self) -> str:
        return f"https://127.0.0.1:{self.es_port}"

    @property
    def replication_factor(self) -> int:
        """What topics on this stack are created with (NEWSFLOW_KAFKA_REPLICATION_FACTOR)."""
        return 3 if self.kafka_brokers == 3 else 1

    def credentials(self) -> StackCredentials:
        """The instance's credentials (created on first use)."""
        return StackCredentials.load_or_create(self.secrets_dir)

    def role_credentials(self, role: str) -> security.RoleCredentials:
        """A role of the default pipeline (no namespace, alias `articles`), or `admin`."""
        return security.stack_role_credentials(StackCredentials.load(self.secrets_dir), role)

    def env(self, role: str = "reader") -> dict[str, str | None]:
        """NEWSFLOW_* variables of `role` for this stack (None: to unset); `newsflow stack env`."""
        env = security.role_env(self, self.role_credentials(role))
        env["NEWSFLOW_KAFKA_REPLICATION_FACTOR"] = str(self.replication_factor)
        return env

    def kafka_kwargs(self, username: str, password: str) -> dict[str, object]:
        """aiokafka connection arguments for a SCRAM user of this stack."""
        return {
            "bootstrap_servers": self.kafka_bootstrap,
            "security_protocol": KAFKA_SECURITY_PROTOCOL,
            "sasl_mechanism": KAFKA_SASL_MECHANISM,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
        }

    def admin_kafka_kwargs(self) -> dict[str, object]:
        """aiokafka connection arguments of the stack's Kafka administrator."""
        return self.kafka_kwargs(KAFKA_ADMIN, StackCredentials.load(self.secrets_dir).kafka_password(KAFKA_ADMIN))

    def admin_es_kwargs(self) -> dict[str, object]:
        """elasticsearch-py client arguments of the stack's Elasticsearch administrator."""
        creds = StackCredentials.load(self.secrets_dir)
        return {"hosts": [self.es_url], "basic_auth": (ES_ADMIN, creds.es_password(ES_ADMIN)), "ca_certs": str(self.ca_cert)}

    def es_admin(self) -> EsClient:
        creds = StackCredentials.load(self.secrets_dir)
        return EsClient(self.es_url, self.ca_cert, basic=(ES_ADMIN, creds.es_password(ES_ADMIN)))


def run_sync(make: Callable[[], Awaitable[T]], timeout: float = 120) -> T:
    """Run a coroutine to completion from synchronous code, also when the caller is inside an event loop.

    The stack's commands are synchronous but are called from async tests too; the
    coroutine runs on a fresh loop in a helper thread.
    """
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(make())  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target, name="newsflow-stack-sync", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise StackError(f"a stack operation did not finish within {timeout:.0f}s")
    if "error" in result:
        raise result["error"]
    return result["value"]


# --------------------------------------------------------------------------- helpers


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _require_port(port: int, what: str, env: str, wait: float = 15.0) -> None:
    # A process just killed can hold its sockets for a moment after it looks dead (its
    # other threads are still exiting): wait a little before calling the port taken.
    deadline = time.monotonic() + wait
    while not _port_free(port) and time.monotonic() < deadline:
        time.sleep(0.5)
    if not _port_free(port):
        raise StackError(
            f"{what} cannot start: port {port} on 127.0.0.1 is already in use by another "
            f"program. Stop that program or choose another port with {env}=<port>."
        )


def _run(cmd: list[str], what: str, **kwargs: object) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as exc:
        raise StackError(f"{what}: `{cmd[0]}` is not installed ({exc})") from exc
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-25:]
        raise StackError(f"{what} failed ({' '.join(cmd)}):\n" + "\n".join(tail))


def _world_traversable(path: Path) -> bool:
    """True when a user other than the owner can reach `path` (every parent has o+x)."""
    path = path.resolve()
    for part in [path, *path.parents]:
        if part.exists() and not (part.stat().st_mode & 0o001):
            return False
    return True


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError(
            "Maven (`mvn`) is needed to fetch Kafka and Elasticsearch from Maven Central; "
            "install it (Debian: apt-get install maven)."
        )
    return mvn


def _system_user(name: str, what: str) -> pwd.struct_passwd:
    """The unprivileged system user `name`, created when missing (root only)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        _run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
             f"creating the unprivileged user {name!r} that runs {what}")
        return pwd.getpwnam(name)


def _relocated_base(cfg: StackConfig) -> Path | None:
    """Where an unprivileged user's folders go when it cannot reach `cfg.base_dir` (root only)."""
    if os.geteuid() != 0 or _world_traversable(cfg.base_dir):
        return None
    digest = hashlib.sha256(str(cfg.base_dir.resolve()).encode()).hexdigest()[:10]
    return Path("/var/tmp") / f"newsflow-stack-{digest}"


def _open_parents(path: Path, relocated_to: Path | None) -> None:
    """Let an unprivileged user traverse the folders we created under /var/tmp."""
    if relocated_to is None:
        return
    for folder in [path, *path.parents]:
        if folder == relocated_to or relocated_to in folder.parents:
            folder.chmod(0o755)


def _check_java_readable(java: JavaHome, user: str) -> None:
    if not java.home.is_relative_to(Path("/usr")) and not _world_traversable(java.home):
        raise StackError(
            f"Java at {java.home} is not readable by {user}; set NEWSFLOW_JAVA_HOME to a JDK under /usr or /opt."
        )


def _data_matches_credentials(data_dir: Path, creds: StackCredentials) -> None:
    """Remove data made under other credentials (or none): it would refuse the new ones.

    A marker beside the data folder holds the id of the credentials it was made with.
    """
    marker = data_dir.parent / f".{data_dir.name}.credentials"
    if data_dir.exists() and any(data_dir.iterdir()):
        if marker.exists() and marker.read_text().strip() == creds.data["id"]:
            return
        print(f"note: {data_dir} was made without the stack's current credentials; starting it afresh",
              file=sys.stderr)
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(creds.data["id"])


# --------------------------------------------------------------------------- Kafka


class KafkaNode:
    """One Apache Kafka process in KRaft mode, broker and controller at once."""

    name = "kafka"
    min_java = 17

    def __init__(self, cfg: StackConfig, node_id: int = 1) -> None:
        self.cfg = cfg
        self.node_id = node_id
        self.port, self.controller_port = cfg.kafka_ports(node_id)
        self.as_root = os.geteuid() == 0
        self.relocated_to = _relocated_base(cfg)
        base = (self.relocated_to / cfg.instance) if self.relocated_to else cfg.instance_dir
        self.home = base / ("kafka" if cfg.kafka_brokers == 1 else f"kafka-{node_id}")
        self.downloaded_libs = cfg.downloads / f"kafka-{cfg.kafka_version}" / "libs"
        # The unprivileged user reads the jars from a copy it can reach when the downloads cannot be.
        self.libs = (
            self.relocated_to / "dist" / f"kafka-{cfg.kafka_version}" / "libs" if self.relocated_to else self.downloaded_libs
        )
        self.pidfile = self.home / "kafka.pid"

    @property
    def label(self) -> str:
        return "kafka" if self.cfg.kafka_brokers == 1 else f"kafka-{self.node_id}"

    def fetch(self) -> None:
        marker = self.downloaded_libs / ".complete"
        if not marker.exists():
            self.downloaded_libs.mkdir(parents=True, exist_ok=True)
            _run(
                [
                    _mvn(),
                    "-q",
                    "-B",
                    "-f",
                    str(LOCAL_DEPLOY / "pom.xml"),
                    "dependency:copy-dependencies",
                    f"-Dkafka.version={self.cfg.kafka_version}",
                    f"-DoutputDirectory={self.downloaded_libs}",
                    "-DincludeScope=runtime",
                ],
                f"fetching Kafka {self.cfg.kafka_version} from Maven Central",
            )
            if not any(self.downloaded_libs.glob("kafka_2.13-*.jar")):
                raise StackError(f"Maven finished but no kafka_2.13 jar is in {self.downloaded_libs}")
            marker.write_text(self.cfg.kafka_version)
        if self.libs != self.downloaded_libs and not (self.libs / ".complete").exists():
            shutil.rmtree(self.libs, ignore_errors=True)
            shutil.copytree(self.downloaded_libs, self.libs)
            subprocess.run(["chmod", "-R", "a+rX", str(self.libs.parent)], check=True)
            _open_parents(self.libs, self.relocated_to)

    def _properties(self, creds: StackCredentials) -> str:
        cfg = self.cfg
        rf = cfg.replication_factor
        min_isr = 2 if rf == 3 else 1
        voters = ",".join(f"{n}@127.0.0.1:{cfg.kafka_ports(n)[1]}" for n in range(1, cfg.kafka_brokers + 1))
        broker_password = creds.kafka_password(KAFKA_BROKER)
        controller_password = creds.kafka["controller_password"]
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"CLIENT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"CLIENT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "CLIENT",
            # Clients and brokers: SASL/SCRAM (loopback only, so without TLS). Controllers:
            # SASL/PLAIN with a password only the nodes know (SCRAM users live in the
            # metadata the controllers serve, so they cannot authenticate controllers).
            "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": KAFKA_SASL_MECHANISM,
            "sasl.mechanism.inter.broker.protocol": KAFKA_SASL_MECHANISM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.client.sasl.enabled.mechanisms": KAFKA_SASL_MECHANISM,
            "listener.name.client.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{KAFKA_BROKER}" password="{broker_password}";'
            ),
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": (
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="controller" password="{controller_password}" user_controller="{controller_password}";'
            ),
            # Nothing is allowed without an ACL; the nodes and the stack's administrator are super users.
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{KAFKA_BROKER};User:controller;User:{KAFKA_ADMIN}",
            "log.dirs": str(self.home / "data"),
            "num.partitions": "1",
            "default.replication.factor": str(rf),
            "min.insync.replicas": str(min_isr),
            "offsets.topic.replication.factor": str(rf),
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": str(rf),
            "transaction.state.log.min.isr": str(min_isr),
            "share.coordinator.state.topic.replication.factor": str(rf),
            "share.coordinator.state.topic.min.isr": str(min_isr),
            "group.initial.rebalance.delay.ms": "0",
            # Topics are created explicitly from the catalogue with their partition
            # counts; an auto-created topic would silently get the wrong shape.
            "auto.create.topics.enable": "false",
            "message.max.bytes": str(16 * 1024 * 1024),
            "log.retention.hours": "168",
        }
        if cfg.kafka_brokers > 1:
            # A killed node must come back as a follower quickly, and a clean leader election
            # never gives up acknowledged writes.
            props["unclean.leader.election.enable"] = "false"
            props["replica.lag.time.max.ms"] = "10000"
        props.update(cfg.extra_kafka_properties)
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def running_pid(self) -> int | None:
        pid = read_pid(self.pidfile)
        return pid if pid_alive(pid) else None

    def start(self) -> None:
        """Start the node (format its storage on first use); returns at once (see `wait`)."""
        if self.running_pid():
            return
        _require_port(self.port, f"Kafka node {self.node_id}", "NEWSFLOW_KAFKA_PORT")
        _require_port(self.controller_port, f"Kafka node {self.node_id}'s controller", "NEWSFLOW_KAFKA_CONTROLLER_PORT")
        self.fetch()
        creds = self.cfg.credentials()
        java = find_java(self.min_java)
        for sub in ("config", "logs"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        _data_matches_credentials(self.home / "data", creds)
        props = self.home / "config" / "server.properties"
        security.write_private(props, self._properties(creds))
        log_config = self.home / "config" / "log4j2.properties"
        log_config.write_text(
            (LOCAL_DEPLOY / "kafka-log4j2.properties").read_text().replace("@LOG_DIR@", str(self.home / "logs"))
        )
        classpath = f"{self.libs}/*"
        if not (self.home / "data" / "meta.properties").exists():
            cluster_id = hashlib.sha256(str(self.cfg.instance_dir).encode()).digest()[:16]
            uuid = base64.urlsafe_b64encode(cluster_id).decode().rstrip("=")
            scram = [
                arg
                for user in (KAFKA_BROKER, KAFKA_ADMIN)
                for arg in ("--add-scram", f"{KAFKA_SASL_MECHANISM}=[name={user},password={creds.kafka_password(user)}]")
            ]
            _run(
                [str(java.java), "-cp", classpath, "kafka.tools.StorageTool", "format",
                 "-t", uuid, "-c", str(props), "--ignore-formatted", *scram],
                "formatting Kafka's storage",
                env={**os.environ, "KAFKA_LOG4J_OPTS": ""},
            )
        cmd = [
            str(java.java),
            f"-Xms{self.cfg.kafka_heap}",
            f"-Xmx{self.cfg.kafka_heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log_config}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(props),
        ]
        if self.as_root:
            user = _system_user(self.cfg.kafka_user, "Kafka")
            subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(self.home)], check=True)
            _open_parents(self.home, self.relocated_to)
            _check_java_readable(java, self.cfg.kafka_user)
            cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--", *cmd]
        out = open(self.home / "logs" / "kafka.out", "ab")
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.home,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        )
        self.pidfile.write_text(str(proc.pid))

    def healthy(self) -> bool:
        if not self.running_pid():
            return False
        try:
            kwargs = {**self.cfg.admin_kafka_kwargs(), "bootstrap_servers": f"127.0.0.1:{self.port}"}
        except SecurityError:
            return False
        return run_sync(lambda: _kafka_healthy(kwargs))

    def wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running_pid():
                raise StackError(
                    f"Kafka node {self.node_id} exited during start-up; see "
                    f"{self.home / 'logs' / 'kafka.out'} and {self.home / 'logs' / 'server.log'}"
                )
            if self.healthy():
                return
            time.sleep(1)
        raise StackError(f"Kafka node {self.node_id} did not become healthy within {timeout:.0f}s")

    def stop(self) -> None:
        pid = self.running_pid()
        if pid:
            terminate(pid, grace=30)
        self.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as in a crash (fault injection); `start` brings the node back."""
        pid = self.running_pid()
        if pid:
            kill_now(pid)
        self.pidfile.unlink(missing_ok=True)

    def status(self) -> dict[str, object]:
        pid = self.running_pid()
        return {
            "component": self.label,
            "version": self.cfg.kafka_version,
            "pid": pid,
            "bootstrap": f"127.0.0.1:{self.port}",
            "healthy": bool(pid) and self.healthy(),
            "data": str(self.home / "data"),
        }


class Kafka:
    """The stack's Kafka: one KRaft node, or three (`StackConfig.kafka_brokers`).

    Starting waits for every node, then makes sure the roles' users and the default
    pipeline's ACLs exist (idempotent). `node(i)` gives one node, to stop, kill or
    restart it alone.
    """

    name = "kafka"
    min_java = 17

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.nodes = [KafkaNode(cfg, n) for n in range(1, cfg.kafka_brokers + 1)]

    def node(self, node_id: int) -> KafkaNode:
        return self.nodes[node_id - 1]

    @property
    def home(self) -> Path:
        return self.nodes[0].home

    def fetch(self) -> None:
        self.nodes[0].fetch()

    def running_pid(self) -> int | None:
        """The first running node's pid (None when no node runs)."""
        return next((pid for pid in (n.running_pid() for n in self.nodes) if pid), None)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        (self.cfg.instance_dir / "kafka.brokers").write_text(f"{self.cfg.kafka_brokers}\n")

    def healthy(self) -> bool:
        return all(node.healthy() for node in self.nodes)

    def wait(self, timeout: float = 120) -> None:
        for node in self.nodes:
            node.wait(timeout)
        self.apply_access()

    def apply_access(self) -> None:
        """The roles' SCRAM users (once) and the default pipeline's ACLs (every start: cheap, idempotent)."""
        from services.ops.access import KAFKA_ROLES, kafka_acls, kafka_username
        from services.ops.kafka_access import create_acls, upsert_scram_users, wait_until_accepted

        creds = self.cfg.credentials()
        users = {kafka_username(role): creds.kafka_password(kafka_username(role)) for role in KAFKA_ROLES}
        pending = {u: p for u, p in users.items() if u not in creds.kafka.get("users_applied", [])}
        acls = [acl for role in KAFKA_ROLES for acl in kafka_acls(role)]

        async def apply() -> None:
            async with kafka_admin(self.cfg) as admin:
                # ACLs first: once a new user gets in, the broker has applied them too.
                await create_acls(admin, acls)
                if pending:
                    await upsert_scram_users(admin, pending)
            for user, password in pending.items():
                await wait_until_accepted(self.cfg.kafka_kwargs(user, password))

        run_sync(apply)
        if pending:
            creds.update("kafka", "users_applied", sorted(users))

    def stop(self) -> None:
        # Every node folder of the instance, also those of a layout started with another broker count.
        base = self.nodes[0].home.parent  # the instance folder, or its relocated copy (root, private checkout)
        homes = {h for h in base.glob("kafka*") if h.is_dir()} | {n.home for n in self.nodes}
        pids = [pid for pid in (read_pid(h / "kafka.pid") for h in homes) if pid_alive(pid)]
        # All at once: a node left alone without a quorum cannot finish a clean shutdown anyway.
        terminate_all(pids, grace=30)  # type: ignore[arg-type]
        for home in homes:
            (home / "kafka.pid").unlink(missing_ok=True)

    def status(self) -> list[dict[str, object]]:
        return [node.status() for node in self.nodes]


class kafka_admin:  # noqa: N801 - used as `async with kafka_admin(cfg) as admin`
    """An aiokafka admin client logged in as the stack's Kafka administrator."""

    def __init__(self, cfg: StackConfig, timeout_ms: int = 15000) -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        self.client = AIOKafkaAdminClient(**cfg.admin_kafka_kwargs(), request_timeout_ms=timeout_ms)  # type: ignore[arg-type]

    async def __aenter__(self):  # type: ignore[no-untyped-def]
        await self.client.start()
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


async def _kafka_healthy(kwargs: dict[str, object]) -> bool:
    import logging

    from aiokafka.admin import AIOKafkaAdminClient

    # "Connection refused" while the broker boots is expected; keep it off the console.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    admin = AIOKafkaAdminClient(**kwargs, request_timeout_ms=3000)  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(admin.start(), timeout=5)
        await asyncio.wait_for(admin.list_topics(), timeout=5)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not yet healthy"
        return False
    finally:
        try:
            await admin.close()
        except Exception:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------- Elasticsearch


class Elasticsearch:
    """A single Elasticsearch node from Elastic's integ-test zip, with security on."""

    name = "elasticsearch"

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.zip = cfg.downloads / f"elasticsearch-{cfg.es_version}.zip"
        self.as_root = os.geteuid() == 0
        self.relocated_to = _relocated_base(cfg)
        base = (self.relocated_to / cfg.instance) if self.relocated_to else cfg.instance_dir
        self.home_dist = base.parent / "dist" / f"elasticsearch-{cfg.es_version}"
        self.root = base / "elasticsearch"
        self.conf = self.root / "config"
        self.pidfile = self.root / "elasticsearch.pid"

    @property
    def min_java(self) -> int:
        return 21 if int(self.cfg.es_version.split(".")[0]) >= 9 else 17

    def fetch(self) -> None:
        if not self.zip.exists():
            self.cfg.downloads.mkdir(parents=True, exist_ok=True)
            _run(
                [
                    _mvn(),
                    "-q",
                    "-B",
                    "dependency:copy",
                    f"-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:{self.cfg.es_version}:zip",
                    f"-DoutputDirectory={self.cfg.downloads}",
                ],
                f"fetching Elasticsearch {self.cfg.es_version} (integ-test zip) from Maven Central",
            )
        if (self.home_dist / ".complete").exists():
            return
        self.home_dist.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.home_dist.parent / f".unpack-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        with zipfile.ZipFile(self.zip) as zf:
            zf.extractall(tmp)
        unpacked = next(tmp.iterdir())
        for script in (unpacked / "bin").iterdir():
            script.chmod(0o755)
        shutil.rmtree(self.home_dist, ignore_errors=True)
        unpacked.rename(self.home_dist)
        shutil.rmtree(tmp, ignore_errors=True)
        if self.as_root:
            # The distribution is read by the unprivileged user: make it readable.
            subprocess.run(["chmod", "-R", "a+rX", str(self.home_dist.parent)], check=True)
            _open_parents(self.home_dist.parent, self.relocated_to)
        (self.home_dist / ".complete").write_text(self.cfg.es_version)

    def _install_hunspell(self) -> None:
        """Copy the system's Hunspell dictionaries into the node's config.

        The `hunspell` token filter is part of the Elasticsearch server itself (unlike
        the language analyzers in `analysis-common`, which the integ-test zip lacks), so
        these dictionaries are what gives the index its morphology.
        """
        for locale in HUNSPELL_LOCALES:
            target = self.conf / "hunspell" / locale
            target.mkdir(parents=True, exist_ok=True)
            for ext in ("aff", "dic"):
                src = HUNSPELL_SYSTEM_DIR / f"{locale}.{ext}"
                if not src.exists():
                    raise StackError(
                        f"Hunspell dictionary {src} is missing; install Debian's hunspell-ru "
                        "and hunspell-en-us packages (make setup does this)."
                    )
                dst = target / f"{locale}.{ext}"
                if not dst.exists() or dst.stat().st_size != src.stat().st_size:
                    shutil.copyfile(src, dst)

    def _write_config(self, java: JavaHome, creds: StackCredentials) -> None:
        cfg = self.cfg
        if not (self.conf / "jvm.options").exists():
            shutil.copytree(self.home_dist / "config", self.conf, dirs_exist_ok=True)
        for sub in ("logs", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        _data_matches_credentials(self.root / "data", creds)
        tls = security.ensure_certificates(self.home_dist, java.home, cfg.secrets_dir)
        for name in ("ca.crt", "node.crt", "node.key"):
            security.copy_private(tls / name, self.conf / "certs" / name)
        self._write_users(creds)
        (self.conf / "elasticsearch.yml").write_text(
            "\n".join(
                [
                    f"cluster.name: newsflow-{cfg.instance}",
                    "node.name: node-1",
                    f"path.data: {self.root / 'data'}",
                    f"path.logs: {self.root / 'logs'}",
                    "network.host: 127.0.0.1",
                    f"http.port: {cfg.es_port}",
                    f"transport.port: {cfg.es_transport_port}",
                    "discovery.type: single-node",
                    # Security on: HTTPS with the stack's CA, every request authenticated (no
                    # anonymous user). Users and roles come from files (security.py says why);
                    # `elastic` and everything that needs the .security index are off. One
                    # node: no transport TLS needed.
                    "xpack.security.enabled: true",
                    "xpack.security.http.ssl.enabled: true",
                    "xpack.security.http.ssl.key: certs/node.key",
                    "xpack.security.http.ssl.certificate: certs/node.crt",
                    "xpack.security.http.ssl.certificate_authorities: [certs/ca.crt]",
                    "xpack.security.transport.ssl.enabled: false",
                    "xpack.security.authc.realms.file.file1.order: 0",
                    "xpack.security.authc.realms.native.native1.enabled: false",
                    "xpack.security.authc.reserved_realm.enabled: false",
                    "xpack.security.authc.api_key.enabled: false",
                    "xpack.security.authc.token.enabled: false",
                    # Picks up rotated passwords within a second.
                    "resource.reload.interval.high: 1s",
                    # A laptop or CI disk fills up; do not flip indices read-only at 95 %.
                    "cluster.routing.allocation.disk.threshold_enabled: false",
                    "action.destructive_requires_name: false",
                    "",
                ]
            )
        )
        (self.conf / "jvm.options.d").mkdir(exist_ok=True)
        (self.conf / "jvm.options.d" / "newsflow-heap.options").write_text(
            f"-Xms{cfg.es_heap}\n-Xmx{cfg.es_heap}\n"
        )
        self._install_hunspell()

    def running_pid(self) -> int | None:
        pid = read_pid(self.pidfile)
        return pid if pid_alive(pid) else None

    def start(self) -> None:
        if self.running_pid():
            # Running already: its roles still follow this configuration (read again within 1 s).
            self._write_users(self.cfg.credentials())
            return
        _require_port(self.cfg.es_port, "Elasticsearch", "NEWSFLOW_ES_PORT")
        _require_port(self.cfg.es_transport_port, "Elasticsearch's transport", "NEWSFLOW_ES_TRANSPORT_PORT")
        self.fetch()
        java: JavaHome = find_java(self.min_java)
        self._write_config(java, self.cfg.credentials())
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(java.home),
            "ES_PATH_CONF": str(self.conf),
            "ES_TMPDIR": str(self.root / "tmp"),
            "LANG": "C.UTF-8",
        }
        cmd = [str(self.home_dist / "bin" / "elasticsearch"), "-p", str(self.pidfile)]
        if self.as_root:
            user = _system_user(self.cfg.es_user, "Elasticsearch")
            subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(self.root)], check=True)
            _open_parents(self.root, self.relocated_to)
            _check_java_readable(java, self.cfg.es_user)
            cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                   "--init-groups", "--", *cmd]
        self.pidfile.unlink(missing_ok=True)
        out = open(self.root / "logs" / "elasticsearch.out", "ab")
        subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=self.root,
        )
        # The node writes its pid file once it is up; until then we know it by port.
        deadline = time.monotonic() + 60
        while not self.pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.3)

    def _write_users(self, creds: StackCredentials) -> None:
        """The file realm's users and the roles of services/ops/access.py (read again by the node within 1 s)."""
        from services.ops.access import ES_ROLES

        roles = {security.ES_ADMIN: "superuser"}
        roles.update({security.es_username(role): security.es_role_name(role) for role in ES_ROLES})
        owner = None
        if self.as_root:
            user = _system_user(self.cfg.es_user, "Elasticsearch")
            owner = (user.pw_uid, user.pw_gid)
        security.write_private(self.conf / "roles.yml", security.roles_yml(self.cfg.es_aliases), owner)
        security.write_file_realm(self.conf, creds.es["users"], roles, owner)

    def healthy(self) -> bool:
        if not self.cfg.ca_cert.exists() or not self.cfg.secrets_dir.joinpath("credentials.json").exists():
            return False
        try:
            status, body = self.cfg.es_admin().request(
                "GET", "/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=5
            )
        except (OSError, ValueError):
            return False
        return status == 200 and isinstance(body, dict) and body.get("status") in ("green", "yellow")

    def wait(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            if self.pidfile.exists() and not self.running_pid():
                raise StackError(f"Elasticsearch exited during start-up; see {self.root / 'logs'}")
            time.sleep(1)
        raise StackError(
            f"Elasticsearch did not become healthy within {timeout:.0f}s; see {self.root / 'logs'}"
        )

    def stop(self) -> None:
        pid = self.running_pid()
        if pid:
            terminate(pid, grace=45)
        self.pidfile.unlink(missing_ok=True)

    def status(self) -> dict[str, object]:
        pid = self.running_pid()
        return {
            "component": "elasticsearch",
            "version": self.cfg.es_version,
            "pid": pid,
            "url": self.cfg.es_url,
            "healthy": self.healthy(),
            "data": str(self.root / "data"),
            "ca_cert": str(self.cfg.ca_cert),
        }


# --------------------------------------------------------------------------- the stack


class Stack:
    """Kafka and Elasticsearch together, in start order."""

    def __init__(self, cfg: StackConfig | None = None) -> None:
        self.cfg = cfg or StackConfig.from_env()
        self.kafka = Kafka(self.cfg)
        self.elasticsearch = Elasticsearch(self.cfg)

    @property
    def components(self) -> list[Kafka | Elasticsearch]:
        return [self.kafka, self.elasticsearch]

    def fetch(self) -> None:
        for component in self.components:
            component.fetch()

    def start(self, wait: bool = True) -> None:
        # Start both before waiting: Elasticsearch takes the longest to boot.
        for component in self.components:
            component.start()
        if wait:
            self.wait()

    def wait(self) -> None:
        for component in self.components:
            component.wait()

    def stop(self) -> None:
        for component in reversed(self.components):
            component.stop()

    def status(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = [*self.kafka.status(), self.elasticsearch.status()]
        return rows

    def rotate_keys(self, timeout: float = 30) -> list[str]:
        """New passwords for every role, in Elasticsearch and Kafka; the old ones stop working at once.

        Running services keep the connections they have; they authenticate with the new
        credentials when restarted (`newsflow stack env --role R` prints them). Waits
        until Elasticsearch has read its new users file. Returns what was rotated.
        """
        from services.ops.access import ES_ROLES, KAFKA_ROLES, kafka_username
        from services.ops.kafka_access import upsert_scram_users, wait_until_accepted

        creds = self.cfg.credentials()
        kafka_passwords = {kafka_username(role): security.new_password() for role in KAFKA_ROLES}
        es_passwords = {security.es_username(role): security.new_password() for role in ES_ROLES}

        async def apply() -> None:
            async with kafka_admin(self.cfg) as client:
                await upsert_scram_users(client, kafka_passwords)
            for user, password in kafka_passwords.items():
                await wait_until_accepted(self.cfg.kafka_kwargs(user, password))

        run_sync(apply)
        creds.update("kafka", "users", {**creds.kafka["users"], **kafka_passwords})
        creds.update("es", "users", {**creds.es["users"], **es_passwords})
        self.elasticsearch._write_users(creds)  # noqa: SLF001 - the component's own files
        probe_user, probe_password = next(iter(es_passwords.items()))
        probe = EsClient(self.cfg.es_url, self.cfg.ca_cert, basic=(probe_user, probe_password))
        deadline = time.monotonic() + timeout
        while probe.request("GET", "/_security/_authenticate")[0] != 200:
            if time.monotonic() > deadline:
                raise StackError(f"Elasticsearch did not take the new passwords within {timeout:.0f}s")
            time.sleep(0.5)
        return [f"elasticsearch password: {u}" for u in es_passwords] + [f"kafka password: {u}" for u in kafka_passwords]
