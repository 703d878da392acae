"""`dead_letter` v1: a message a stage could not handle (news.deadletter.v1).

Only bad data is dead-lettered; infrastructure trouble is retried, never sent here.
The original bytes are kept so that `newsflow dlq replay` can send them back.
"""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field

from schemas.common import AwareDatetime, Envelope

Stage = Literal["scraper", "parser", "enrichment", "indexer"]


class DeadLetterV1(Envelope):
    event_type: Literal["dead_letter"] = "dead_letter"
    schema_version: Literal[1] = 1

    stage: Stage
    reason: str = Field(description="Machine-friendly reason code, e.g. `invalid-json`, `not-an-article`.")
    detail: str = Field(description="Human-readable explanation (Elasticsearch's reason for the indexer).")
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    article_id: str | None = None
    url: str | None = None
    original_key_b64: str | None = None
    original_value_b64: str | None = Field(default=None, description="The message exactly as received.")
    original_truncated: bool = Field(default=False, description="True when the original was cut to fit.")
    failed_at: AwareDatetime

    def original_value(self) -> bytes | None:
        return base64.b64decode(self.original_value_b64) if self.original_value_b64 is not None else None
