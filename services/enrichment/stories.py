"""Story clustering and duplicate detection: fingerprints and an LSH index as plain dicts.

Fingerprints of an article (all computed from its lemmas, so a rewrite that changes a
case ending or a word order still matches):

- **exact**: SHA-256 of the body with whitespace collapsed. Same hash → `duplicate_of`
  points to the article first seen with that body.
- **SimHash** (64 bits over lemma counts, `fingerprint` in the event): a Hamming
  distance ≤ `NEAR_DUPLICATE_BITS` is the same text lightly edited → same story.
- **MinHash** (`NUM_PERM` permutations over lemma bigrams) with LSH banding
  (`BANDS` bands × `ROWS` rows): two articles whose bigram Jaccard similarity is about
  `STORY_SIMILARITY` or more share a band bucket with high probability; every candidate
  is then verified with the MinHash estimate, and must be published within
  `STORY_WINDOW` of it. On the corpus, two outlets' rewrites of one story score
  0.24–0.48, unrelated articles (even on the same topic) ≤ 0.04.

`assign_story` is pure: it reads the index through `lookup(key)` and the LSH buckets
through a `BandIndex`, and returns the updates to apply, so the index can live in a faust
table (changelog-backed, rebuilt on restart) or in a dict in tests. Keys and values are
JSON:

    article:<id>        {"story_id", "ts", "minhash", "simhash", "exact"}
    story:<story_id>    {"first_id", "first_ts", "last_ts", "size"}
    exact:<sha256>      [article id, ts]
    meta:watermark      newest publication time seen (epoch seconds)

The LSH buckets (`BANDS` per article) are not in the table: they are derived from the
`article:` records' MinHash signatures and kept in memory (`BandIndex`), rebuilt from the
table after a restore. Writing them made every article cost about 70 changelog records
(up to 200 KB when buckets were full) and a restart replay all of them; now it costs 4.

A story's id is the id of the article that opened it; `story_first_id` is the earliest
published article of the story known when the article was assigned. Entries older than
`RETENTION` before the watermark are dropped by `expired_keys` (time is the articles'
publication time, never the wall clock, so a replay assigns the same ids).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

import numpy as np

from schemas.enriched_article_v1 import EnrichedArticleV1
from services.common.logs import get_logger

log = get_logger(__name__)

NUM_PERM = 128
BANDS = 64
ROWS = 2
SHINGLE = 2
STORY_SIMILARITY = 0.12
NEAR_DUPLICATE_BITS = 3
STORY_WINDOW_SECONDS = 3 * 24 * 3600
RETENTION_SECONDS = 7 * 24 * 3600
MAX_BUCKET = 64
_PRIME = np.uint64((1 << 61) - 1)
_MASK32 = np.uint64(0xFFFFFFFF)
_rng = np.random.RandomState(20251015)
_A = _rng.randint(1, 2**32 - 1, size=NUM_PERM, dtype=np.uint64)
_B = _rng.randint(0, 2**32 - 1, size=NUM_PERM, dtype=np.uint64)
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)

Lookup = Callable[[str], Any]


def _hash32(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little")


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def words(text: str | None) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")]


def simhash(tokens: list[str]) -> int:
    """64-bit SimHash over token counts."""
    if not tokens:
        return 0
    counts: dict[str, int] = {}
    for t in tokens:
        counts[t] = counts.get(t, 0) + 1
    hashes = np.array([_hash64(t) for t in counts], dtype=np.uint64)
    weights = np.array(list(counts.values()), dtype=np.int64)
    bits = ((hashes[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(np.int64)
    totals = ((bits * 2 - 1) * weights[:, None]).sum(axis=0)
    value = 0
    for i, total in enumerate(totals):
        if total > 0:
            value |= 1 << i
    return value


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def shingles(tokens: list[str], k: int = SHINGLE) -> set[str]:
    if len(tokens) < k:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1)}


def minhash(items: set[str]) -> np.ndarray:
    """NUM_PERM 32-bit minimum hashes of a set (all 0xFFFFFFFF for the empty set)."""
    if not items:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint64)
    values = np.array([_hash32(s) for s in items], dtype=np.uint64)
    permuted = ((values[:, None] * _A[None, :] + _B[None, :]) % _PRIME) & _MASK32
    return permuted.min(axis=0)


def band_keys(signature: np.ndarray) -> list[str]:
    if bool((signature == 0xFFFFFFFF).all()):
        return []
    keys = []
    for i in range(BANDS):
        chunk = signature[i * ROWS:(i + 1) * ROWS].astype("<u4").tobytes()
        keys.append(f"band:{i}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
    return keys


def encode_signature(signature: np.ndarray) -> str:
    return base64.b64encode(signature.astype("<u4").tobytes()).decode()


def decode_signature(value: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(value), dtype="<u4").astype(np.uint64)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """MinHash estimate of the Jaccard similarity."""
    return float((a == b).mean())


@dataclass(frozen=True)
class Fingerprints:
    minhash: np.ndarray = field(repr=False)
    simhash: int
    exact: str


def fingerprints(title_lemmas: str | None, body_lemmas: str | None, body: str) -> Fingerprints:
    """The article's fingerprints (lemmas when enrichment produced them, else the words)."""
    tokens = words(body_lemmas) if body_lemmas else words(body)
    title = words(title_lemmas) if title_lemmas else []
    exact = hashlib.sha256(" ".join(body.split()).encode()).hexdigest()
    return Fingerprints(minhash(shingles(title + tokens)), simhash(tokens), exact)


def simhash_hex(body_lemmas: str | None, body: str) -> str:
    return f"{simhash(words(body_lemmas) if body_lemmas else words(body)):016x}"


@dataclass
class Assignment:
    story_id: str
    first_id: str
    duplicate_of: str | None
    similarity: float | None
    matched_id: str | None
    updates: dict[str, Any]
    """Table writes to apply: key → JSON value (None deletes the key)."""
    band_keys: list[str]
    """LSH buckets to add the article to (`BandIndex.add`) once the writes are applied."""


def timestamp(published_at: datetime | None, fetched_at: datetime) -> float:
    return (published_at or fetched_at).timestamp()


class BandIndex:
    """The LSH band buckets: band key → [(ts, article id), …], sorted, the newest MAX_BUCKET.

    Derived state: `rebuild` from the table's `article:` records gives exactly what adding
    the same articles one by one gives, in any order (a bucket keeps the MAX_BUCKET largest
    (ts, id) pairs), so a restored owner finds the same candidates as the one before it.
    """

    def __init__(self) -> None:
        self._buckets: dict[str, list[tuple[float, str]]] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def add(self, article_id: str, ts: float, keys: Iterable[str]) -> None:
        entry = (float(ts), article_id)
        for key in keys:
            bucket = self._buckets.setdefault(key, [])
            if any(other == article_id for _, other in bucket):
                continue
            bisect.insort(bucket, entry)
            if len(bucket) > MAX_BUCKET:
                del bucket[0]

    def bucket(self, key: str, horizon: float) -> list[tuple[float, str]]:
        return [e for e in self._buckets.get(key, ()) if e[0] >= horizon]

    def drop_before(self, horizon: float) -> None:
        for key in list(self._buckets):
            kept = [e for e in self._buckets[key] if e[0] >= horizon]
            if kept:
                self._buckets[key] = kept
            else:
                del self._buckets[key]

    def snapshot(self) -> dict[str, list[tuple[float, str]]]:
        return {key: list(bucket) for key, bucket in self._buckets.items()}

    @classmethod
    def rebuild(cls, items: Iterable[tuple[str, Any]]) -> "BandIndex":
        """The buckets of every `article:` record among the table's items."""
        index = cls()
        for key, value in items:
            if key.startswith("article:") and isinstance(value, dict) and isinstance(value.get("minhash"), str):
                index.add(key[len("article:"):], float(value.get("ts", 0.0)), band_keys(decode_signature(value["minhash"])))
        return index


def assign_story(article_id: str, ts: float, prints: Fingerprints, lookup: Lookup, bands: BandIndex) -> Assignment:
    """Story id, earliest article and exact-duplicate pointer for one article.

    An article seen before (a re-crawl, a replay) keeps its story. Otherwise the best
    verified LSH candidate (near-duplicate SimHash first, then MinHash similarity ≥
    STORY_SIMILARITY) within STORY_WINDOW decides; without one, the article opens a story.
    """
    known = lookup(f"article:{article_id}")
    if isinstance(known, dict) and known.get("story_id"):
        story = lookup(f"story:{known['story_id']}") or {}
        return Assignment(
            story_id=known["story_id"], first_id=story.get("first_id", article_id),
            duplicate_of=known.get("duplicate_of"), similarity=None, matched_id=None, updates={}, band_keys=[],
        )

    watermark = max(float(lookup("meta:watermark") or 0.0), ts)
    horizon = watermark - RETENTION_SECONDS
    updates: dict[str, Any] = {}

    duplicate_of: str | None = None
    exact_key = f"exact:{prints.exact}"
    exact = lookup(exact_key)
    if isinstance(exact, list) and len(exact) == 2 and exact[0] != article_id and exact[1] >= horizon:
        duplicate_of = exact[0]

    keys = band_keys(prints.minhash)
    candidates: dict[str, float] = {}
    for k in keys:
        for other_ts, other in bands.bucket(k, horizon):
            if other != article_id:
                candidates[other] = other_ts
    if duplicate_of:
        candidates.setdefault(duplicate_of, ts)

    best: tuple[float, str, dict[str, Any]] | None = None
    for other in sorted(candidates):
        record = lookup(f"article:{other}")
        if not isinstance(record, dict) or abs(float(record.get("ts", 0)) - ts) > STORY_WINDOW_SECONDS and other != duplicate_of:
            continue
        if other == duplicate_of:
            score = 1.0
        elif hamming(int(record.get("simhash", "0"), 16), prints.simhash) <= NEAR_DUPLICATE_BITS and prints.simhash:
            score = 1.0
        else:
            score = similarity(decode_signature(record["minhash"]), prints.minhash)
            if score < STORY_SIMILARITY:
                continue
        if best is None or score > best[0]:
            best = (score, other, record)

    if best is not None:
        score, matched, record = best
        story_id = record["story_id"]
        story = lookup(f"story:{story_id}") or {"first_id": matched, "first_ts": record.get("ts", ts), "size": 1}
        story = dict(story)
        if ts < float(story.get("first_ts", ts)):
            story["first_id"], story["first_ts"] = article_id, ts
        story["size"] = int(story.get("size", 1)) + 1
        story["last_ts"] = max(float(story.get("last_ts", ts)), ts)
        first_id = story["first_id"]
    else:
        score, matched = None, None
        story_id, first_id = article_id, article_id
        story = {"first_id": article_id, "first_ts": ts, "last_ts": ts, "size": 1}

    updates[f"story:{story_id}"] = story
    updates[f"article:{article_id}"] = {
        "story_id": story_id, "ts": ts, "minhash": encode_signature(prints.minhash),
        "simhash": f"{prints.simhash:016x}", "exact": prints.exact, "duplicate_of": duplicate_of,
    }
    if not (isinstance(exact, list) and len(exact) == 2 and exact[1] >= horizon):
        updates[exact_key] = [article_id, ts]
    updates["meta:watermark"] = watermark
    return Assignment(story_id, first_id, duplicate_of, score, matched, updates, keys)


def expired_keys(items: Iterable[tuple[str, Any]], watermark: float) -> list[str]:
    """Keys whose entries are all older than RETENTION before `watermark` (to delete).

    `band:` keys, which tables written before the buckets moved to `BandIndex` still
    hold, are all returned: nothing reads them any more.
    """
    horizon = watermark - RETENTION_SECONDS
    out = []
    for k, v in items:
        if k.startswith("article:") and isinstance(v, dict) and float(v.get("ts", 0)) < horizon:
            out.append(k)
        elif k.startswith("story:") and isinstance(v, dict) and float(v.get("last_ts", v.get("first_ts", 0))) < horizon:
            out.append(k)
        elif k.startswith("exact:") and isinstance(v, list) and len(v) == 2 and float(v[1]) < horizon:
            out.append(k)
        elif k.startswith("band:"):
            out.append(k)
    return out


class StoryAssigner:
    """The story step's per-event function over a table-like mapping (faust Table or dict).

    Keeps the `BandIndex` beside the table. Call `forget_bands()` when the table may have
    changed under it (a rebalance, a restore): the next article rebuilds it from the table.
    """

    def __init__(self, table, sweep_every: int = 500) -> None:  # type: ignore[no-untyped-def]
        self.table = table
        self.sweep_every = sweep_every
        self._seen = 0
        self._bands: BandIndex | None = None

    def forget_bands(self) -> None:
        self._bands = None

    def bands(self) -> BandIndex:
        if self._bands is None:
            self._bands = BandIndex.rebuild(list(self.table.items()))
            log.info("story index buckets rebuilt from the table", buckets=len(self._bands))
        return self._bands

    def __call__(self, article: EnrichedArticleV1) -> EnrichedArticleV1:
        prints = fingerprints(article.title_lemmas, article.body_lemmas, article.body)
        ts = timestamp(article.published_at, article.fetched_at)
        bands = self.bands()
        result = assign_story(article.id, ts, prints, self.table.get, bands)
        for key, value in result.updates.items():
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        bands.add(article.id, ts, result.band_keys)
        self._seen += 1
        if self._seen % self.sweep_every == 0:
            watermark = float(self.table.get("meta:watermark") or 0.0)
            for key in expired_keys(list(self.table.items()), watermark):
                del self.table[key]
            bands.drop_before(watermark - RETENTION_SECONDS)
        if result.matched_id:
            log.info("story matched", story_id=result.story_id, matched=result.matched_id,
                     similarity=round(result.similarity or 0.0, 3), duplicate_of=result.duplicate_of)
        return article.model_copy(update={
            "story_id": result.story_id, "story_first_id": result.first_id, "duplicate_of": result.duplicate_of,
        })
