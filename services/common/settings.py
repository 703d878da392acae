"""Typed settings from the environment, one group per concern.

Every variable starts with NEWSFLOW_. Credentials are `SecretStr` so they never show
up in logs or reprs, and validation errors never echo what was given. Every secret
also comes from a file: NEWSFLOW_KAFKA_PASSWORD_FILE, NEWSFLOW_ES_PASSWORD_FILE and
NEWSFLOW_ES_API_KEY_FILE name a file whose content (without its trailing newline) is
the secret, as Kubernetes and Compose mount secrets; giving a secret both ways is an
error. A URL with credentials in it (https://user:pass@host) is refused: credentials
have their own settings, which are masked. Settings objects are built in a service's
`main()`, never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def read_secret_file(path: Path, variable: str) -> SecretStr:
    """The secret in `path` (one trailing newline removed); ValueError naming the variable, never the content."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{variable}={path}: cannot read the secret file ({exc.strerror or exc})") from None
    text = text[:-1] if text.endswith("\n") else text
    text = text[:-1] if text.endswith("\r") else text
    if not text:
        raise ValueError(f"{variable}={path}: the secret file is empty")
    return SecretStr(text)


def _secret_from_file(settings: BaseSettings, field: str, env_prefix: str) -> None:
    path = getattr(settings, f"{field}_file")
    if path is None:
        return
    variable = f"{env_prefix}{field.upper()}"
    secret = read_secret_file(path, f"{variable}_FILE")
    current = getattr(settings, field)
    # Validation runs again on nested settings objects: a value read from the file before is fine.
    if current is not None and current.get_secret_value() != secret.get_secret_value():
        raise ValueError(f"give {variable} or {variable}_FILE, not both")
    object.__setattr__(settings, field, secret)


class KafkaSettings(BaseSettings):
    """NEWSFLOW_KAFKA_*: how to reach Kafka and which topic namespace to use."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_KAFKA_", extra="ignore", hide_input_in_errors=True,
                                      env_ignore_empty=True)

    bootstrap: str = Field(default="127.0.0.1:9092", description="Comma-separated host:port list.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = Field(default=None, description="File holding the password (a mounted secret).")
    ssl_cafile: Path | None = None
    topic_namespace: str = Field(
        default="", description="Prefix for every topic and consumer group (isolated test runs, tenants)."
    )
    replication_factor: int = Field(default=1, ge=1, description="Replicas of every topic the services create (3 on a cluster).")
    min_insync_replicas: int | None = Field(
        default=None, ge=1,
        description="min.insync.replicas of the topics created; default 2 with three or more replicas, else 1. "
        "With acks=all, a write is acknowledged only once this many replicas have it.",
    )

    @field_validator("bootstrap")
    @classmethod
    def _no_credentials_in_bootstrap(cls, value: str) -> str:
        if "@" in value:
            raise ValueError(
                "NEWSFLOW_KAFKA_BOOTSTRAP holds host:port pairs only; give credentials with "
                "NEWSFLOW_KAFKA_USERNAME and NEWSFLOW_KAFKA_PASSWORD (or NEWSFLOW_KAFKA_PASSWORD_FILE)"
            )
        return value

    @model_validator(mode="after")
    def _password_file(self) -> KafkaSettings:
        _secret_from_file(self, "password", "NEWSFLOW_KAFKA_")
        if self.min_insync_replicas is None:
            object.__setattr__(self, "min_insync_replicas", 2 if self.replication_factor >= 3 else 1)
        elif self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"NEWSFLOW_KAFKA_MIN_INSYNC_REPLICAS={self.min_insync_replicas} exceeds "
                f"NEWSFLOW_KAFKA_REPLICATION_FACTOR={self.replication_factor}: no write could ever be acknowledged"
            )
        return self

    @property
    def broker_url(self) -> str:
        return ";".join(f"kafka://{hp.strip()}" for hp in self.bootstrap.split(",") if hp.strip())

    def aiokafka_kwargs(self) -> dict[str, object]:
        """Connection arguments for plain aiokafka clients (admin, producer, consumer)."""
        kwargs: dict[str, object] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.username
            kwargs["sasl_plain_password"] = self.password.get_secret_value() if self.password else None
        if self.security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            kwargs["ssl_context"] = create_ssl_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)
        return kwargs


class ElasticsearchSettings(BaseSettings):
    """NEWSFLOW_ES_*: how to reach Elasticsearch and which index names to use."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_ES_", extra="ignore", hide_input_in_errors=True,
                                      env_ignore_empty=True)

    url: str = "https://127.0.0.1:9200"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = Field(default=None, description="File holding the password (a mounted secret).")
    api_key: SecretStr | None = Field(default=None, description="Encoded API key (id:key in base64), sent as `ApiKey`.")
    api_key_file: Path | None = Field(default=None, description="File holding the encoded API key.")
    ca_certs: Path | None = None
    verify_certs: bool = True
    alias: str = Field(default="articles", description="Read alias downstream apps query.")
    request_timeout: float = Field(default=30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _no_credentials_in_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("NEWSFLOW_ES_URL must be an http(s)://host[:port] URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "NEWSFLOW_ES_URL must not carry credentials (user:password@host); give them with "
                "NEWSFLOW_ES_USERNAME and NEWSFLOW_ES_PASSWORD (or NEWSFLOW_ES_PASSWORD_FILE), "
                "or NEWSFLOW_ES_API_KEY (or NEWSFLOW_ES_API_KEY_FILE)"
            )
        return value

    @model_validator(mode="after")
    def _secret_files(self) -> ElasticsearchSettings:
        _secret_from_file(self, "password", "NEWSFLOW_ES_")
        _secret_from_file(self, "api_key", "NEWSFLOW_ES_")
        return self

    @property
    def write_alias(self) -> str:
        return f"{self.alias}-write"

    def client_kwargs(self) -> dict[str, object]:
        kwargs: dict[str, object] = {
            "hosts": [self.url],
            "request_timeout": self.request_timeout,
            "retry_on_timeout": False,
            "max_retries": 0,
        }
        if self.api_key:
            kwargs["api_key"] = self.api_key.get_secret_value()
        elif self.username:
            kwargs["basic_auth"] = (self.username, self.password.get_secret_value() if self.password else "")
        # TLS options only for an https URL (the client refuses them on http).
        if self.url.startswith("https://"):
            if self.ca_certs:
                kwargs["ca_certs"] = str(self.ca_certs)
            if not self.verify_certs:
                kwargs["verify_certs"] = False
        return kwargs


class RuntimeSettings(BaseSettings):
    """NEWSFLOW_*: settings every service shares (logging, state, failure policy)."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="ignore")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    data_dir: Path = Field(default=Path(".run/data"), description="Faust's local state folder.")
    table_store: str = Field(
        default="memory://",
        description="Faust table store; tables are rebuilt from their Kafka changelog on start.",
    )
    max_invalid_ratio: float = Field(
        default=0.5, ge=0, le=1,
        description="Stop the worker when more than this share of the last `invalid_window` messages "
        "was dead-lettered: a bad deploy should halt, not flood the dead-letter topic.",
    )
    invalid_window: int = Field(default=200, ge=10)
    shutdown_timeout: float = Field(default=20.0, gt=0)
    session_timeout: float = Field(
        default=10.0, ge=6, le=300,
        description="Kafka consumer session timeout: how long the group waits for a member that stopped "
        "answering (killed, frozen) before giving its partitions to the others.",
    )


class ServiceSettings(BaseSettings):
    """Fields every service has; each service subclasses this with its own env prefix."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_SERVICE_", extra="ignore")

    http_host: str = Field(default="127.0.0.1", description="Bind address of /metrics and health.")
    http_port: int = Field(default=0, ge=0, le=65535)
    group_id: str | None = Field(
        default=None,
        description="Consumer group and state name; default newsflow-<service> (in the topic namespace). "
        "A new group id starts with empty state, e.g. for a full re-crawl.",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
