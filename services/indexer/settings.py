"""The indexer's settings, from NEWSFLOW_INDEXER_* environment variables (and the shared ones).

Kept apart from the wiring so that operator tools (`newsflow init`) read them without
importing the faust app.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.service_catalogue import BY_NAME
from services.common.settings import ElasticsearchSettings, ServiceSettings


class IndexerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_INDEXER_", extra="ignore")

    http_port: int = BY_NAME["indexer"].http_port
    es: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    batch_max_items: int = Field(default=500, ge=1)
    batch_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    batch_max_wait: float = Field(default=1.0, gt=0)
    replicas: int = Field(default=0, ge=0, description="number_of_replicas for new indices.")
    retry_base: float = Field(default=0.5, gt=0)
    retry_cap: float = Field(default=30.0, gt=0)
    refresh: bool = Field(default=False, description="Wait for a refresh after each bulk (tests, demos).")
