"""A real Kafka (KRaft) and Elasticsearch on 127.0.0.1, fetched and run by the project.

Nothing here is a stand-in: Kafka is Apache Kafka's own broker assembled from Maven
Central (see deploy/local/pom.xml), Elasticsearch is Elastic's integ-test zip from
Maven Central. Every command is idempotent: `fetch` skips what is already there,
`start` leaves a running component alone, `stop` on a stopped one is a no-op.

Layout (all under a git-ignored folder, `.stack/` by default):

    .stack/downloads/                     jars and zips, shared by every instance
    .stack/<instance>/kafka/{config,data,logs}
    .stack/<instance>/elasticsearch/{config,data,logs,tmp}

Elasticsearch refuses to run as root. When the stack is started by root, it runs
Elasticsearch as an unprivileged system user (created on first use) that owns the
instance's Elasticsearch folders. If that user cannot reach the repository (for
example a clone inside a private `mktemp -d` folder), the Elasticsearch folders go
to /var/tmp/newsflow-stack-<hash>/ instead, and `status` says where.
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
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from services.devstack.java import JavaHome, find_java

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DEPLOY = REPO_ROOT / "deploy" / "local"

KAFKA_VERSION = "4.4.0"
ELASTICSEARCH_VERSION = "9.5.4"
HUNSPELL_LOCALES = ("ru_RU", "en_US")
HUNSPELL_SYSTEM_DIR = Path("/usr/share/hunspell")


class StackError(RuntimeError):
    """A component could not be fetched, started or reached; the message says why."""


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise StackError(f"{name}={value!r} is not a port number") from exc


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
        )
        for key, value in overrides.items():
            setattr(cfg, key, value)
        return cfg

    @property
    def downloads(self) -> Path:
        return self.base_dir / "downloads"

    @property
    def instance_dir(self) -> Path:
        return self.base_dir / self.instance

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def es_url(self) -> str:
        return f"http://127.0.0.1:{self.es_port}"


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


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _terminate(pid: int, grace: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return
            time.sleep(0.2)


def _require_port(port: int, what: str, env: str) -> None:
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


# --------------------------------------------------------------------------- Kafka


class Kafka:
    """Apache Kafka in KRaft mode: one process that is both broker and controller."""

    name = "kafka"
    min_java = 17

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.libs = cfg.downloads / f"kafka-{cfg.kafka_version}" / "libs"
        self.home = cfg.instance_dir / "kafka"
        self.pidfile = self.home / "kafka.pid"

    def fetch(self) -> None:
        marker = self.libs / ".complete"
        if marker.exists():
            return
        self.libs.mkdir(parents=True, exist_ok=True)
        _run(
            [
                _mvn(),
                "-q",
                "-B",
                "-f",
                str(LOCAL_DEPLOY / "pom.xml"),
                "dependency:copy-dependencies",
                f"-Dkafka.version={self.cfg.kafka_version}",
                f"-DoutputDirectory={self.libs}",
                "-DincludeScope=runtime",
            ],
            f"fetching Kafka {self.cfg.kafka_version} from Maven Central",
        )
        if not any(self.libs.glob("kafka_2.13-*.jar")):
            raise StackError(f"Maven finished but no kafka_2.13 jar is in {self.libs}")
        marker.write_text(self.cfg.kafka_version)

    def _properties(self) -> str:
        cfg = self.cfg
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{cfg.kafka_controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{cfg.kafka_port},CONTROLLER://127.0.0.1:{cfg.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{cfg.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.home / "data"),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Topics are created explicitly from the catalogue with their partition
            # counts; an auto-created topic would silently get the wrong shape.
            "auto.create.topics.enable": "false",
            "message.max.bytes": str(16 * 1024 * 1024),
            "log.retention.hours": "168",
        }
        props.update(self.cfg.extra_kafka_properties)
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def running_pid(self) -> int | None:
        pid = _read_pid(self.pidfile)
        return pid if _pid_alive(pid) else None

    def start(self) -> None:
        if self.running_pid():
            return
        _require_port(self.cfg.kafka_port, "Kafka", "NEWSFLOW_KAFKA_PORT")
        _require_port(self.cfg.kafka_controller_port, "Kafka's controller", "NEWSFLOW_KAFKA_CONTROLLER_PORT")
        self.fetch()
        java = find_java(self.min_java)
        for sub in ("config", "data", "logs"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        props = self.home / "config" / "server.properties"
        props.write_text(self._properties())
        log_config = self.home / "config" / "log4j2.properties"
        log_config.write_text(
            (LOCAL_DEPLOY / "kafka-log4j2.properties").read_text().replace(
                "@LOG_DIR@", str(self.home / "logs")
            )
        )
        classpath = f"{self.libs}/*"
        if not (self.home / "data" / "meta.properties").exists():
            cluster_id = hashlib.sha256(str(self.home).encode()).digest()[:16]
            uuid = base64.urlsafe_b64encode(cluster_id).decode().rstrip("=")
            _run(
                [str(java.java), "-cp", classpath, "kafka.tools.StorageTool", "format",
                 "-t", uuid, "-c", str(props), "--ignore-formatted"],
                "formatting Kafka's storage",
                env={**os.environ, "KAFKA_LOG4J_OPTS": ""},
            )
        out = open(self.home / "logs" / "kafka.out", "ab")
        proc = subprocess.Popen(
            [
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
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.home,
        )
        self.pidfile.write_text(str(proc.pid))

    def healthy(self) -> bool:
        if not self.running_pid():
            return False
        return asyncio.run(_kafka_healthy(self.cfg.kafka_bootstrap))

    def wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running_pid():
                raise StackError(
                    "Kafka exited during start-up; see "
                    f"{self.home / 'logs' / 'kafka.out'} and {self.home / 'logs' / 'server.log'}"
                )
            if self.healthy():
                return
            time.sleep(1)
        raise StackError(f"Kafka did not become healthy within {timeout:.0f}s")

    def stop(self) -> None:
        pid = self.running_pid()
        if pid:
            _terminate(pid, grace=30)
        self.pidfile.unlink(missing_ok=True)

    def status(self) -> dict[str, object]:
        pid = self.running_pid()
        return {
            "component": "kafka",
            "version": self.cfg.kafka_version,
            "pid": pid,
            "bootstrap": self.cfg.kafka_bootstrap,
            "healthy": bool(pid) and self.healthy(),
            "data": str(self.home / "data"),
        }


async def _kafka_healthy(bootstrap: str) -> bool:
    import logging

    from aiokafka.admin import AIOKafkaAdminClient

    # "Connection refused" while the broker boots is expected; keep it off the console.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
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
    """A single Elasticsearch node from Elastic's integ-test zip."""

    name = "elasticsearch"

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.zip = cfg.downloads / f"elasticsearch-{cfg.es_version}.zip"
        self.as_root = os.geteuid() == 0
        base = cfg.instance_dir
        self.relocated_to: Path | None = None
        if self.as_root and not _world_traversable(cfg.base_dir):
            digest = hashlib.sha256(str(cfg.base_dir.resolve()).encode()).hexdigest()[:10]
            self.relocated_to = Path("/var/tmp") / f"newsflow-stack-{digest}"
            base = self.relocated_to / cfg.instance
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
            self._open_relocated_parents(self.home_dist.parent)
        (self.home_dist / ".complete").write_text(self.cfg.es_version)

    def _open_relocated_parents(self, path: Path) -> None:
        """Let the unprivileged user traverse the folders we created under /var/tmp."""
        if self.relocated_to is None:
            return
        for folder in [path, *path.parents]:
            if folder == self.relocated_to or self.relocated_to in folder.parents:
                folder.chmod(0o755)

    def _ensure_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(self.cfg.es_user)
        except KeyError:
            _run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                 self.cfg.es_user],
                f"creating the unprivileged user {self.cfg.es_user!r} that runs Elasticsearch",
            )
            return pwd.getpwnam(self.cfg.es_user)

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

    def _write_config(self) -> None:
        cfg = self.cfg
        if not (self.conf / "jvm.options").exists():
            shutil.copytree(self.home_dist / "config", self.conf, dirs_exist_ok=True)
        for sub in ("data", "logs", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
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
                    "xpack.security.enabled: false",
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
        pid = _read_pid(self.pidfile)
        return pid if _pid_alive(pid) else None

    def start(self) -> None:
        if self.running_pid():
            return
        _require_port(self.cfg.es_port, "Elasticsearch", "NEWSFLOW_ES_PORT")
        _require_port(self.cfg.es_transport_port, "Elasticsearch's transport", "NEWSFLOW_ES_TRANSPORT_PORT")
        self.fetch()
        java: JavaHome = find_java(self.min_java)
        self._write_config()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(java.home),
            "ES_PATH_CONF": str(self.conf),
            "ES_TMPDIR": str(self.root / "tmp"),
            "LANG": "C.UTF-8",
        }
        cmd = [str(self.home_dist / "bin" / "elasticsearch"), "-p", str(self.pidfile)]
        if self.as_root:
            user = self._ensure_user()
            subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(self.root)], check=True)
            self._open_relocated_parents(self.root)
            if not java.home.is_relative_to(Path("/usr")) and not _world_traversable(java.home):
                raise StackError(
                    f"Java at {java.home} is not readable by {self.cfg.es_user}; "
                    "set NEWSFLOW_JAVA_HOME to a JDK 21+ under /usr or /opt."
                )
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

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"{self.cfg.es_url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=5
            ) as resp:
                return json.load(resp).get("status") in ("green", "yellow")
        except (OSError, urllib.error.URLError, ValueError):
            return False

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
            _terminate(pid, grace=45)
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
        return [component.status() for component in self.components]
