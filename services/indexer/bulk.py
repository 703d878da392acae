"""Writing a batch of articles to Elasticsearch, with every item accounted for.

`BulkWriter.write(batch)` returns only when each item has an outcome:

    indexed   Elasticsearch acknowledged it (created or updated)
    stale     a newer version is already indexed (external versioning said 409)
    rejected  Elasticsearch refused the document itself (mapping/validation 4xx):
              dead-letter it with Elasticsearch's reason, never retry

Everything else is infrastructure: connection errors, timeouts, 429, 5xx, a whole
request refused for its size, and an item refused with 401/403 (a role without the
privilege on that index: a configuration to fix, not a bad document). Those items are
retried with exponential backoff,
for as long as it takes; the caller is blocked meanwhile, so the Kafka consumer
stops reading (backpressure) and nothing is committed until the batch is done.

Updates go to the index that already holds the article (found with one `ids`
query per batch), so after a rollover an edited article replaces itself instead
of appearing twice behind the read alias.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, AsyncElasticsearch

from services.common.logs import get_logger
from services.common.metrics import INFRA_RETRIES
from services.common.retry import Backoff, is_transient_status
from services.indexer import metrics
from services.indexer.templates import IndexNames

log = get_logger(__name__)

# One item refused for lack of privilege says nothing about the document: never dead-letter it.
# (A whole request refused with 401/403 is raised: the indexer stops, see services/indexer/app.py.)
ITEM_AUTH_STATUS = {401, 403}


@dataclass
class BulkItem:
    id: str
    version: int
    document: dict[str, Any]
    size: int = 0


@dataclass
class ItemOutcome:
    status: str  # "indexed" | "stale" | "rejected"
    reason: str | None = None
    detail: str | None = None


@dataclass
class BulkWriter:
    es: AsyncElasticsearch
    names: IndexNames
    retry: Backoff = field(default_factory=Backoff)
    refresh: bool = False

    async def write(self, items: list[BulkItem]) -> list[ItemOutcome]:
        """One outcome per item, in order. Blocks (retrying) while Elasticsearch is unavailable."""
        outcomes: list[ItemOutcome | None] = [None] * len(items)
        # Within a batch, only the highest version of an article matters.
        best: dict[str, int] = {}
        for i, item in enumerate(items):
            j = best.get(item.id)
            if j is None or items[j].version <= item.version:
                if j is not None:
                    outcomes[j] = ItemOutcome("stale", "superseded-in-batch")
                best[item.id] = i
            else:
                outcomes[i] = ItemOutcome("stale", "superseded-in-batch")
        pending = sorted(best.values())
        attempt = 0
        located_with: set[str | None] = set()
        while pending:
            batch = [items[i] for i in pending]
            (targets, write_index), attempt = await self._with_retry(lambda: self._locate([item.id for item in batch]), "locate", attempt)
            located_with.add(write_index)
            try:
                response, attempt = await self._with_retry(lambda: self._bulk(batch, targets), "bulk", attempt)
            except ApiError as exc:
                if exc.meta.status != 413 or len(pending) == 1:
                    raise
                # Too large for one request: split and go on.
                half = len(pending) // 2
                for i, outcome in zip(pending, await self.write(batch[:half]) + await self.write(batch[half:])):
                    outcomes[i] = outcome
                break
            retry_next: list[int] = []
            for i, result in zip(pending, response["items"]):
                action = result.get("index") or next(iter(result.values()))
                status = action.get("status", 500)
                if 200 <= status < 300:
                    outcomes[i] = ItemOutcome("indexed", action.get("result"))
                    metrics.ITEMS.labels("indexed").inc()
                elif status == 409:
                    outcomes[i] = ItemOutcome("stale", "newer-version-indexed")
                    metrics.ITEMS.labels("stale").inc()
                elif is_transient_status(status) or status in ITEM_AUTH_STATUS:
                    retry_next.append(i)
                    metrics.ITEMS.labels("retried").inc()
                else:
                    error = action.get("error") or {}
                    reason = error.get("type", f"http-{status}")
                    detail = error.get("reason", "")
                    cause = error.get("caused_by") or {}
                    if cause:
                        detail = f"{detail} (caused by {cause.get('type')}: {cause.get('reason')})"
                    outcomes[i] = ItemOutcome("rejected", f"elasticsearch-{reason}", f"Elasticsearch refused the document: {reason}: {detail}")
                    metrics.ITEMS.labels("rejected").inc()
            pending = retry_next
            if pending:
                attempt = await self._backoff(attempt, f"{len(pending)} items throttled or failed")
        written = [items[i].id for i, o in enumerate(outcomes) if o is not None and o.status == "indexed"]
        if written:
            # A rollover between the lookup and the bulk request sends an update of an article
            # that lives in the old index to the new one: two copies behind the read alias.
            (_, write_index), attempt = await self._with_retry(lambda: self._locate([]), "locate", attempt)
            if located_with != {write_index}:
                await self._with_retry(lambda: self._remove_second_copies(written), "deduplicate", attempt)
        metrics.PAUSED.set(0)
        return [o if o is not None else ItemOutcome("stale") for o in outcomes]

    async def _bulk(self, items: list[BulkItem], targets: dict[str, str]) -> Any:
        started = time.perf_counter()
        operations: list[dict[str, Any]] = []
        for item in items:
            operations.append(
                {"index": {"_index": targets.get(item.id, self.names.write_alias), "_id": item.id,
                           "version": item.version, "version_type": "external_gte"}}
            )
            operations.append(item.document)
        response = await self.es.bulk(operations=operations, refresh="wait_for" if self.refresh else None)
        metrics.BULK_SECONDS.observe(time.perf_counter() - started)
        metrics.BULK_DOCS.observe(len(items))
        return response

    async def _remove_second_copies(self, ids: list[str]) -> None:
        """Keep one copy of each article behind the read alias: the newest version (the oldest
        index on a tie, where later updates are sent); delete the others."""
        readable = await self._readable_indices()
        if len(readable) < 2:
            return
        response = await self.es.mget(docs=[{"_index": i, "_id": doc_id} for i in readable for doc_id in ids], source=False)
        copies: dict[str, list[tuple[int, str]]] = {}
        for doc in response["docs"]:
            if doc.get("found"):
                copies.setdefault(doc["_id"], []).append((doc.get("_version", 0), doc["_index"]))
        for doc_id, found in copies.items():
            if len(found) < 2:
                continue
            keep = max(found, key=lambda c: (c[0], -readable.index(c[1])))
            for _, index in found:
                if index != keep[1]:
                    await self.es.delete(index=index, id=doc_id, refresh="wait_for" if self.refresh else None)
                    log.warning("removed a second copy left by a rollover", article_id=doc_id, index=index, kept=keep[1])

    async def _readable_indices(self) -> list[str]:
        """The read alias's indices of our contract version, oldest first."""
        aliases = await self.es.indices.get_alias(name=self.names.alias, ignore_unavailable=True)
        prefix = f"{self.names.alias}-v{self.names.version}-"
        return sorted(i for i in dict(aliases) if i.startswith(prefix))

    async def _locate(self, ids: list[str]) -> tuple[dict[str, str], str | None]:
        """({article id: concrete index holding it} for ids already indexed in an older index,
        the write index the lookup saw).

        One alias lookup per batch; while the read alias has a single index that is also
        the write index (no rollover yet) there is nothing to look up. Otherwise a
        realtime multi-get (it sees writes not yet refreshed) finds where each article
        lives. Only indices of our own contract version count: during a migration the
        old version's indices are still readable but must not receive updates.
        """
        aliases = await self.es.indices.get_alias(name=f"{self.names.alias},{self.names.write_alias}", ignore_unavailable=True)
        prefix = f"{self.names.alias}-v{self.names.version}-"
        readable, write_index, write_members = [], None, []
        for index, info in dict(aliases).items():
            entries = info.get("aliases", {})
            if self.names.write_alias in entries:
                write_members.append(index)
                # After a rollover the old index keeps the write alias with is_write_index=false.
                if entries[self.names.write_alias].get("is_write_index"):
                    write_index = index
            if self.names.alias in entries and index.startswith(prefix):
                readable.append(index)
        if write_index is None and len(write_members) == 1:
            write_index = write_members[0]
        others = [i for i in readable if i != write_index]
        if not others or not ids:
            return {}, write_index
        response = await self.es.mget(docs=[{"_index": i, "_id": doc_id} for i in others for doc_id in ids], source=False)
        found: dict[str, tuple[str, int]] = {}
        for doc in response["docs"]:
            if doc.get("found") and (doc["_id"] not in found or found[doc["_id"]][1] < doc.get("_version", 0)):
                found[doc["_id"]] = (doc["_index"], doc.get("_version", 0))
        return {doc_id: index for doc_id, (index, _) in found.items()}, write_index

    async def _with_retry(self, call, what: str, attempt: int):  # type: ignore[no-untyped-def]
        """(result, attempts so far): retries infrastructure errors with backoff, raises the rest."""
        while True:
            try:
                return await call(), attempt
            except ApiError as exc:
                if is_transient_status(exc.meta.status):
                    attempt = await self._backoff(attempt, f"{what} answered {exc.meta.status}")
                    continue
                raise
            except (ESConnectionError, ConnectionTimeout, TransportError, OSError) as exc:
                attempt = await self._backoff(attempt, f"{what} failed: {type(exc).__name__}")

    async def _backoff(self, attempt: int, why: str) -> int:
        delay = self.retry.delay(attempt)
        INFRA_RETRIES.labels("indexer", "elasticsearch").inc()
        metrics.PAUSED.set(1)
        log.warning("elasticsearch unavailable, consumption paused", reason=why, retry_in=round(delay, 2), attempt=attempt + 1)
        await asyncio.sleep(delay)
        return attempt + 1
