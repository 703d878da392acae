"""Security of the local stack: a CA and certificates, generated credentials, roles applied.

Elasticsearch serves HTTPS only (a CA this module creates once with the distribution's
own `elasticsearch-certutil`) and answers nothing without credentials. Its users are
those of the file realm: the stack writes `users`, `users_roles` and `roles.yml` into
the node's config folder; the built-in `elastic` user and its reserved realm are off.
(Elastic's integ-test build, which the stack runs, lacks the `analysis-common` module
that the `.security` index needs, so native users and API keys cannot exist locally;
the settings take API keys for clusters that have them, see docs/operations.md.)
One user per role (services/ops/access.py) and the stack's administrator
`newsflow-admin` (role `superuser`, for the stack's own calls and the test suite).

Kafka authenticates every client with SASL/SCRAM-SHA-512 and authorises it with ACLs
(KRaft's StandardAuthorizer, nothing allowed without an ACL); its controller listener
uses SASL/PLAIN with a password known only to the nodes.

Everything secret lives in `<instance>/secrets/` (mode 0700, files 0600):

    credentials.json     passwords of the instance
    tls/ca.crt           the CA clients verify Elasticsearch with (NEWSFLOW_ES_CA_CERTS)
    tls/ca.key, tls/node.crt, tls/node.key

New credentials mean new data: a data folder made under other credentials (or none)
is started afresh (its users would not match), with a note on stderr.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shlex
import shutil
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.ops.access import ES_ROLES, KAFKA_ROLES, ROLES, es_role, kafka_username

if TYPE_CHECKING:
    from devtools.devstack.stack import StackConfig

KAFKA_SECURITY_PROTOCOL = "SASL_PLAINTEXT"
KAFKA_SASL_MECHANISM = "SCRAM-SHA-512"
KAFKA_ADMIN = "newsflow-admin"
"""The stack's Kafka super user: creates users and ACLs, and is what the test session uses."""
KAFKA_BROKER = "newsflow-broker"
"""Brokers' own principal between brokers (a super user, as Kafka requires)."""
KAFKA_CONTROLLER = "newsflow-controller"
"""The controller listener's SASL/PLAIN user (brokers and controllers only)."""
ES_ADMIN = "newsflow-admin"
"""The stack's Elasticsearch administrator (file realm, role `superuser`)."""
ADMIN_ROLE = "admin"
"""`stack env --role admin`: the stack's administrators, for tests and break-glass work."""

# Every variable that carries a credential or says how to authenticate. Processes the
# stack starts for a role get exactly their role's values: inherited ones are dropped.
CREDENTIAL_VARIABLES = (
    "NEWSFLOW_KAFKA_SECURITY_PROTOCOL",
    "NEWSFLOW_KAFKA_SASL_MECHANISM",
    "NEWSFLOW_KAFKA_USERNAME",
    "NEWSFLOW_KAFKA_PASSWORD",
    "NEWSFLOW_KAFKA_PASSWORD_FILE",
    "NEWSFLOW_KAFKA_SSL_CAFILE",
    "NEWSFLOW_ES_USERNAME",
    "NEWSFLOW_ES_PASSWORD",
    "NEWSFLOW_ES_PASSWORD_FILE",
    "NEWSFLOW_ES_API_KEY",
    "NEWSFLOW_ES_API_KEY_FILE",
    "NEWSFLOW_ES_CA_CERTS",
)


class SecurityError(RuntimeError):
    """A security step of the local stack failed; the message says which and why."""


def new_password(marker: str = "") -> str:
    """A fresh random password (192 bits), optionally starting with a recognisable marker."""
    return marker + secrets.token_urlsafe(24)


def write_private(path: Path, data: str | bytes, owner: tuple[int, int] | None = None) -> None:
    """Write a file only its owner (default: us) can read, atomically.

    The owner is set before the file takes its name: a program watching it (Elasticsearch
    reloading its users) never sees a version it cannot read.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data.encode() if isinstance(data, str) else data)
    if owner:
        os.chown(tmp, *owner)
    tmp.replace(path)


# --------------------------------------------------------------------------- credentials


@dataclass
class StackCredentials:
    """The secrets of one stack instance, persisted in `<secrets>/credentials.json`."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    created_now: bool = False

    @classmethod
    def load_or_create(cls, secrets_dir: Path) -> StackCredentials:
        path = secrets_dir / "credentials.json"
        if path.exists():
            return cls(path, json.loads(path.read_text()))
        secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        secrets_dir.chmod(0o700)
        kafka_users = {name: new_password() for name in (KAFKA_ADMIN, KAFKA_BROKER)}
        kafka_users.update({kafka_username(role): new_password() for role in KAFKA_ROLES})
        es_users = {ES_ADMIN: new_password()}
        es_users.update({es_username(role): new_password() for role in ES_ROLES})
        creds = cls(path, {
            "id": secrets.token_hex(8),
            "es": {"users": es_users},
            "kafka": {"controller_password": new_password(), "users": kafka_users, "users_applied": []},
        }, created_now=True)
        creds.save()
        return creds

    @classmethod
    def load(cls, secrets_dir: Path) -> StackCredentials:
        """The credentials of a stack that was started; SecurityError when it never was."""
        path = secrets_dir / "credentials.json"
        if not path.exists():
            raise SecurityError(f"no credentials at {path}: start the stack first (`newsflow stack start`)")
        return cls(path, json.loads(path.read_text()))

    def save(self) -> None:
        write_private(self.path, json.dumps(self.data, indent=2, sort_keys=True))

    def update(self, section: str, key: str, value: Any) -> None:
        """Set one entry and save, on top of what another process may have saved meanwhile."""
        if self.path.exists():
            self.data = json.loads(self.path.read_text())
        self.data[section][key] = value
        self.save()

    @property
    def es(self) -> dict[str, Any]:
        return self.data["es"]

    @property
    def kafka(self) -> dict[str, Any]:
        return self.data["kafka"]

    def kafka_password(self, user: str) -> str:
        return self.kafka["users"][user]

    def es_password(self, user: str) -> str:
        return self.es["users"][user]


# --------------------------------------------------------------------------- TLS


def tls_dir(secrets_dir: Path) -> Path:
    return secrets_dir / "tls"


def ensure_certificates(es_home: Path, java_home: Path, secrets_dir: Path) -> Path:
    """A CA and a certificate for 127.0.0.1/localhost, made once with `elasticsearch-certutil`; the TLS folder."""
    out = tls_dir(secrets_dir)
    wanted = [out / n for n in ("ca.crt", "ca.key", "node.crt", "node.key")]
    if all(p.exists() for p in wanted):
        return out
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    certutil = es_home / "bin" / "elasticsearch-certutil"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ES_JAVA_HOME": str(java_home), "LANG": "C.UTF-8"}
    with tempfile.TemporaryDirectory(prefix="newsflow-certs-") as tmp:
        work = Path(tmp)
        _run_tool([str(certutil), "ca", "--pem", "--silent", "--days", "3650", "--out", str(work / "ca.zip")],
                  "creating the stack's certificate authority", env)
        with zipfile.ZipFile(work / "ca.zip") as zf:
            zf.extractall(work)
        _run_tool([str(certutil), "cert", "--pem", "--silent", "--days", "3650", "--name", "node",
                   "--ip", "127.0.0.1", "--dns", "localhost",
                   "--ca-cert", str(work / "ca" / "ca.crt"), "--ca-key", str(work / "ca" / "ca.key"),
                   "--out", str(work / "node.zip")],
                  "creating Elasticsearch's certificate", env)
        with zipfile.ZipFile(work / "node.zip") as zf:
            zf.extractall(work)
        for src, name in ((work / "ca" / "ca.crt", "ca.crt"), (work / "ca" / "ca.key", "ca.key"),
                          (work / "node" / "node.crt", "node.crt"), (work / "node" / "node.key", "node.key")):
            write_private(out / name, src.read_bytes())
    # The CA certificate is public: clients of every user may read it.
    (out / "ca.crt").chmod(0o644)
    return out


def _run_tool(cmd: list[str], what: str, env: dict[str, str], stdin: str | None = None) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, input=stdin, timeout=300)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise SecurityError(f"{what} failed ({Path(cmd[0]).name} exited {result.returncode}):\n" + "\n".join(tail))


def ssl_context(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


# --------------------------------------------------------------------------- Elasticsearch over HTTPS


class EsClient:
    """A small synchronous HTTPS client for the stack's own calls (bootstrap, keys, health)."""

    def __init__(self, url: str, ca: Path, *, basic: tuple[str, str] | None = None, api_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.context = ssl_context(ca)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if basic:
            token = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        elif api_key:
            self.headers["Authorization"] = f"ApiKey {api_key}"

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> tuple[int, Any]:
        """(status, parsed JSON body); network errors raise OSError, HTTP errors are returned."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.context) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _json(exc.read())

    def ok(self, method: str, path: str, body: Any = None, what: str = "") -> Any:
        status, answer = self.request(method, path, body)
        if status >= 300:
            raise SecurityError(f"{what or method + ' ' + path}: Elasticsearch answered {status}: {str(answer)[:500]}")
        return answer


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


def pbkdf2_hash(password: str, cost: int = 10000) -> str:
    """A password hash Elasticsearch's file realm verifies: `{PBKDF2}<cost>$<salt>$<key>`.

    PBKDF2-HMAC-SHA512 with a 32-byte salt and a 256-bit key, both base64 (the format
    Elasticsearch's Hasher recognises by its prefix; bcrypt would need another package).
    """
    salt = os.urandom(32)
    key = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, cost, dklen=32)
    return f"{{PBKDF2}}{cost}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def es_role_name(role: str) -> str:
    return f"newsflow_{role}"


def roles_yml(aliases: tuple[str, ...]) -> str:
    """roles.yml: the Elasticsearch roles of services/ops/access.py over every alias (pattern) of the stack."""
    lines = ["# Written by the newsflow local stack (devtools/devstack/security.py); rewritten at every start."]
    for role in ES_ROLES:
        merged: dict[str, Any] = {"cluster": [], "indices": []}
        for alias in aliases:
            descriptor = es_role(role, alias) or {}
            merged["cluster"] = sorted(set(merged["cluster"]) | set(descriptor.get("cluster", [])))
            merged["indices"].extend(descriptor.get("indices", []))
        lines.append(f"{es_role_name(role)}: {json.dumps(merged, sort_keys=True)}")
    return "\n".join(lines) + "\n"


def write_file_realm(conf: Path, passwords: dict[str, str], roles: dict[str, str], owner: tuple[int, int] | None = None) -> None:
    """The file realm's `users` (name:hash) and `users_roles` (role:user,...) files.

    Elasticsearch watches both files and picks a change up within seconds, without a restart.
    """
    users = "".join(f"{name}:{pbkdf2_hash(password)}\n" for name, password in sorted(passwords.items()))
    by_role: dict[str, list[str]] = {}
    for user, role in roles.items():
        by_role.setdefault(role, []).append(user)
    users_roles = "".join(f"{role}:{','.join(sorted(names))}\n" for role, names in sorted(by_role.items()))
    write_private(conf / "users", users, owner)
    write_private(conf / "users_roles", users_roles, owner)


def es_username(role: str) -> str:
    return f"newsflow-{role}"


# --------------------------------------------------------------------------- credentials per role


@dataclass(frozen=True)
class RoleCredentials:
    """What one role authenticates with in one pipeline."""

    role: str
    kafka_username: str | None = None
    kafka_password: str | None = None
    es_api_key: str | None = None
    """An encoded API key (`Authorization: ApiKey <it>`), for clusters that have them."""
    es_username: str | None = None
    es_password: str | None = None

    def secrets(self) -> list[str]:
        """Every secret value (for leak checks)."""
        values = [self.kafka_password, self.es_api_key, self.es_password]
        if self.es_api_key:
            values.append(base64.b64decode(self.es_api_key).decode().split(":", 1)[1])
        return [v for v in values if v]


def connection_env(cfg: StackConfig) -> dict[str, str]:
    """Where the stack is and how to reach it, without credentials."""
    return {
        "NEWSFLOW_ES_URL": cfg.es_url,
        "NEWSFLOW_ES_CA_CERTS": str(cfg.ca_cert),
        "NEWSFLOW_KAFKA_BOOTSTRAP": cfg.kafka_bootstrap,
        "NEWSFLOW_KAFKA_SECURITY_PROTOCOL": KAFKA_SECURITY_PROTOCOL,
        "NEWSFLOW_KAFKA_SASL_MECHANISM": KAFKA_SASL_MECHANISM,
    }


def role_env(cfg: StackConfig, creds: RoleCredentials) -> dict[str, str | None]:
    """`NEWSFLOW_*` variables for a role: values to export, None for variables to unset."""
    env: dict[str, str | None] = dict(connection_env(cfg))
    env["NEWSFLOW_KAFKA_USERNAME"] = creds.kafka_username
    env["NEWSFLOW_KAFKA_PASSWORD"] = creds.kafka_password
    env["NEWSFLOW_ES_API_KEY"] = creds.es_api_key
    env["NEWSFLOW_ES_USERNAME"] = creds.es_username
    env["NEWSFLOW_ES_PASSWORD"] = creds.es_password
    for name in ("NEWSFLOW_KAFKA_PASSWORD_FILE", "NEWSFLOW_ES_PASSWORD_FILE", "NEWSFLOW_ES_API_KEY_FILE"):
        env[name] = None
    return env


def render_env(env: dict[str, str | None]) -> str:
    """Shell lines for `eval`: `export NAME=value` (quoted) or `unset NAME`."""
    lines = []
    for name, value in env.items():
        lines.append(f"export {name}={shlex.quote(value)}" if value is not None else f"unset {name}")
    return "\n".join(lines)


def stack_role_credentials(creds: StackCredentials, role: str) -> RoleCredentials:
    """A role of the stack's default pipeline (no namespace, alias `articles`), or the administrator."""
    if role == ADMIN_ROLE:
        return RoleCredentials(ADMIN_ROLE, KAFKA_ADMIN, creds.kafka_password(KAFKA_ADMIN),
                               es_username=ES_ADMIN, es_password=creds.es_password(ES_ADMIN))
    if role not in ROLES:
        raise SecurityError(f"unknown role {role!r}; roles: {', '.join((*ROLES, ADMIN_ROLE))}")
    user = kafka_username(role) if role in KAFKA_ROLES else None
    es_user = es_username(role) if role in ES_ROLES else None
    return RoleCredentials(
        role,
        kafka_username=user,
        kafka_password=creds.kafka_password(user) if user else None,
        es_username=es_user,
        es_password=creds.es_password(es_user) if es_user else None,
    )


def copy_private(src: Path, dst: Path, owner: tuple[int, int] | None = None) -> None:
    """Copy a secret file, readable by its (new) owner only."""
    write_private(dst, src.read_bytes(), owner)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
