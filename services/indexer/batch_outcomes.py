"""What happens to each event of a batch, decided without Elasticsearch or Kafka.

A batch read from `news.articles.enriched.v1` is a list of `Pending` events, each already
decoded (an `EnrichedArticleV1`) or refused (a `Rejected`). `build_items` turns it into the
bulk items to write; once `BulkWriter.write` has an outcome for every item, `settle` says
for every event, in input order, what the wiring must do: dead-letter it (with the reason),
count it as indexed (with its fetch time, for the freshness metric), or let it pass as stale.
The wiring acknowledges the batch only after acting on every settlement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.enriched_article_v1 import EnrichedArticleV1
from services.common.outcomes import Rejected
from services.indexer.bulk import BulkItem, ItemOutcome
from services.indexer.documents import document_version, to_document


@dataclass
class Pending:
    """One event of a batch: the consumed event (a `RawEvent`: to acknowledge or dead-letter),
    what it decoded to, and its size in bytes."""

    event: Any
    article: EnrichedArticleV1 | Rejected
    size: int


Planned = tuple[Pending, BulkItem | Rejected]


@dataclass(frozen=True)
class Settled:
    """The fate of one event once its batch was written.

    `rejected` is set when the event must be dead-lettered (it did not decode, or
    Elasticsearch refused the document), with the document's `trace_id` when there is one;
    `indexed` is true when Elasticsearch stored it (false for a stale version or a rejection).
    """

    pending: Pending
    rejected: Rejected | None = None
    trace_id: str | None = None
    indexed: bool = False

    @property
    def invalid(self) -> bool:
        """Counted by the stop rule as bad input."""
        return self.rejected is not None


def build_items(pending: list[Pending], indexed_at: datetime) -> list[Planned]:
    """Pure: the bulk item for each decoded article, or its rejection, in input order."""
    out: list[Planned] = []
    for p in pending:
        if isinstance(p.article, Rejected):
            out.append((p, p.article))
            continue
        doc = to_document(p.article, indexed_at)
        out.append((p, BulkItem(id=p.article.id, version=document_version(p.article), document=doc, size=p.size)))
    return out


def bulk_items(planned: Sequence[Planned]) -> list[BulkItem]:
    """The items to send to Elasticsearch, in order (rejections are not sent)."""
    return [item for _, item in planned if isinstance(item, BulkItem)]


def settle(planned: Sequence[Planned], outcomes: Iterable[ItemOutcome]) -> list[Settled]:
    """Pair every planned event with its outcome: one settlement per event, in input order.

    `outcomes` holds one outcome per bulk item, in the order of `bulk_items(planned)`.
    Raises ValueError when there are fewer outcomes than items (a writer that lost one).
    """
    remaining = iter(outcomes)
    settled: list[Settled] = []
    for p, item in planned:
        if isinstance(item, Rejected):
            settled.append(Settled(p, rejected=item))
            continue
        outcome = next(remaining, None)
        if outcome is None:
            raise ValueError(f"no outcome for item {item.id}: every written item needs one")
        if outcome.status == "rejected":
            rejected = Rejected(outcome.reason or "elasticsearch-rejected", outcome.detail or "", article_id=item.id, url=item.document.get("url"))
            settled.append(Settled(p, rejected=rejected, trace_id=item.document.get("trace_id")))
        else:
            settled.append(Settled(p, indexed=outcome.status == "indexed"))
    return settled
