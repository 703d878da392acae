"""Typed settings from the environment, one group per concern.

Every variable starts with NEWSFLOW_. Credentials are `SecretStr` so they never show
up in logs or reprs. Settings objects are built in a service's `main()`, never at
import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """NEWSFLOW_KAFKA_*: how to reach Kafka and which topic namespace to use."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_KAFKA_", extra="ignore")

    bootstrap: str = Field(default="127.0.0.1:9092", description="Comma-separated host:port list.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    username: str | None = None
    password: SecretStr | None = None
    ssl_cafile: Path | None = None
    topic_namespace: str = Field(
        default="", description="Prefix for every topic and consumer group (isolated test runs, tenants)."
    )
    replication_factor: int = Field(default=1, ge=1)

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

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_ES_", extra="ignore")

    url: str = "http://127.0.0.1:9200"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    alias: str = Field(default="articles", description="Read alias downstream apps query.")
    request_timeout: float = Field(default=30.0, gt=0)

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
