"""Stable article ids.

An article's id is the first 16 hex digits of SHA-256 over its canonical URL, so the
same article fetched twice, by another worker or after a restart, gets the same id:
the Kafka key, the Elasticsearch `_id` and the dedup key all derive from it.
"""

from __future__ import annotations

import hashlib


def article_id(canonical_url: str) -> str:
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:16]
