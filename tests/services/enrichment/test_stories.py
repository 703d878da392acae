"""Fingerprints and story assignment over a plain dict (what the faust table holds)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from services.enrichment.stories import StoryAssigner
from services.enrichment.logic import enrich
from services.enrichment.stories import (
    MAX_BUCKET, NUM_PERM, RETENTION_SECONDS, STORY_SIMILARITY, BandIndex, assign_story, expired_keys, fingerprints,
    hamming, similarity, simhash, words,
)
from services.samplesite.server import load_manifest
from tests.services.enrichment.conftest import corpus_article
from tests.services.parser.test_sample_site_pages import raw_for

MANIFEST = load_manifest()


@pytest.fixture(scope="module")
def site(models):  # type: ignore[no-untyped-def]
    """The sample site's articles, parsed and enriched."""
    from services.parser.extract import parse_page

    return {page.id: enrich(parse_page(raw_for(page)), models) for page in MANIFEST.articles()}


def prints(a):  # type: ignore[no-untyped-def]
    return fingerprints(a.title_lemmas, a.body_lemmas, a.body)


def test_simhash_is_stable_and_close_for_small_edits() -> None:
    text = words("Россия и Азербайджан договорились синхронизировать графики строительных работ " * 3)
    edited = list(text)
    edited[3] = "решили"
    assert simhash(text) == simhash(list(text))
    assert hamming(simhash(text), simhash(edited)) <= 8
    assert hamming(simhash(text), simhash(words("Снег выпадет в Москве на следующей неделе"))) > 10


def test_rewrites_are_similar_and_unrelated_articles_are_not(site) -> None:  # type: ignore[no-untyped-def]
    a, b = prints(site["overchuk-baku-north-south"]), prints(site["baku-north-south-schedule"])
    seed = prints(site["putin-aliev-dushanbe"])
    assert similarity(a.minhash, b.minhash) >= 2 * STORY_SIMILARITY
    assert similarity(a.minhash, seed.minhash) < STORY_SIMILARITY
    assert similarity(b.minhash, seed.minhash) < STORY_SIMILARITY
    assert len(a.minhash) == NUM_PERM


def test_rewrite_pair_shares_a_story_and_the_seed_does_not(site) -> None:  # type: ignore[no-untyped-def]
    table: dict = {}  # type: ignore[type-arg]
    assign = StoryAssigner(table)
    order = ["overchuk-baku-north-south", "putin-aliev-dushanbe", "moscow-parks-trees", "baku-north-south-schedule"]
    out = {name: assign(site[name]) for name in order}
    vestnik, express = out["overchuk-baku-north-south"], out["baku-north-south-schedule"]
    assert vestnik.story_id == express.story_id == vestnik.id, "the story is named after its first article"
    assert out["putin-aliev-dushanbe"].story_id not in (vestnik.story_id, None)
    assert out["moscow-parks-trees"].story_id == out["moscow-parks-trees"].id
    # express was published 45 minutes before vestnik: it is the story's earliest article from now on.
    assert express.story_first_id == express.id and vestnik.story_first_id == vestnik.id
    assert express.duplicate_of is None
    json.dumps(table)  # everything the table holds is JSON


def test_the_same_article_again_keeps_its_story(site) -> None:  # type: ignore[no-untyped-def]
    table: dict = {}  # type: ignore[type-arg]
    assign = StoryAssigner(table)
    first = assign(site["overchuk-baku-north-south"])
    assign(site["baku-north-south-schedule"])
    keys = set(table)
    again = assign(site["overchuk-baku-north-south"])  # a re-crawl or a replay
    assert again.story_id == first.story_id and again.duplicate_of is None
    assert set(table) == keys


def test_exact_copy_from_another_url_is_flagged(site) -> None:  # type: ignore[no-untyped-def]
    table: dict = {}  # type: ignore[type-arg]
    assign = StoryAssigner(table)
    original = assign(site["putin-aliev-dushanbe"])
    copy = site["putin-aliev-dushanbe"].model_copy(update={"id": "00000000000000ff", "url": "https://copy.test/a"})
    flagged = assign(copy)
    assert flagged.duplicate_of == original.id
    assert flagged.story_id == original.story_id


def test_story_window_and_retention() -> None:
    a, _ = corpus_article("015-novosibirsk-most-ob-a")
    b, _ = corpus_article("016-novosibirsk-most-ob-b")
    from services.enrichment.lemmas import Lemmatizer

    lemmatizer = Lemmatizer()
    pa = fingerprints(lemmatizer.lemmatize_text(a.title, "ru"), lemmatizer.lemmatize_text(a.body, "ru"), a.body)
    pb = fingerprints(lemmatizer.lemmatize_text(b.title, "ru"), lemmatizer.lemmatize_text(b.body, "ru"), b.body)
    t0 = datetime(2025, 10, 1, tzinfo=timezone.utc).timestamp()

    def run(delta_days: float) -> tuple[str, str]:
        table: dict = {}  # type: ignore[type-arg]
        bands = BandIndex()
        first = assign_story(a.id, t0, pa, table.get, bands)
        table.update(first.updates)
        bands.add(a.id, t0, first.band_keys)
        second = assign_story(b.id, t0 + delta_days * 86400, pb, table.get, bands)
        return first.story_id, second.story_id

    same, other = run(0.1)
    assert same == other, "a rewrite of the same story (the 015/016 pair)"
    far, away = run(10)
    assert far != away, "the same words ten days later are a new story"

    table: dict = {}  # type: ignore[type-arg]
    bands = BandIndex()
    first = assign_story(a.id, t0, pa, table.get, bands)
    table.update(first.updates)
    bands.add(a.id, t0, first.band_keys)
    later = assign_story(b.id, t0 + RETENTION_SECONDS + 86400, pb, table.get, bands)
    table.update(later.updates)
    bands.add(b.id, t0 + RETENTION_SECONDS + 86400, later.band_keys)
    stale = expired_keys(table.items(), table["meta:watermark"])
    assert f"article:{a.id}" in stale and f"article:{b.id}" not in stale
    bands.drop_before(table["meta:watermark"] - RETENTION_SECONDS)
    assert {aid for bucket in bands.snapshot().values() for _, aid in bucket} == {b.id}


def test_published_time_is_used_not_the_clock(site) -> None:  # type: ignore[no-untyped-def]
    table: dict = {}  # type: ignore[type-arg]
    assign = StoryAssigner(table)
    a = site["overchuk-baku-north-south"]
    b = site["baku-north-south-schedule"].model_copy(update={"published_at": a.published_at + timedelta(days=5)})
    assert assign(a).story_id != assign(b).story_id


def test_an_article_writes_four_records_and_no_buckets_to_the_table(site) -> None:  # type: ignore[no-untyped-def]
    # The buckets used to be ~64 table writes per article (each a list of up to 64 entries):
    # every one a changelog record, and a restart replayed them all.
    table: dict = {}  # type: ignore[type-arg]
    assign = StoryAssigner(table)
    for article in site.values():
        before = dict(table)
        assign(article)
        written = {k for k in table if k not in before or table[k] != before[k]}
        assert len(written) <= 4, sorted(written)
    assert not any(k.startswith("band:") for k in table)


def test_buckets_rebuilt_from_the_table_are_the_live_ones(site) -> None:  # type: ignore[no-untyped-def]
    articles = list(site.values())
    table: dict = {}  # type: ignore[type-arg]
    live = StoryAssigner(table)
    for article in articles[:-1]:
        live(article)
    assert BandIndex.rebuild(reversed(list(table.items()))).snapshot() == live.bands().snapshot()
    # A new owner restored from the table assigns the next article as the old owner would.
    restored = StoryAssigner(dict(table))
    assert restored(articles[-1]).story_id == live(articles[-1]).story_id
    # After a rebalance the buckets come back from the table, not from memory.
    live.forget_bands()
    assert live.bands().snapshot() == BandIndex.rebuild(table.items()).snapshot()


def test_a_full_bucket_keeps_the_newest_articles_whatever_the_order() -> None:
    entries = [(f"{n:016x}", float(n % 97)) for n in range(3 * MAX_BUCKET)]
    forward, backward = BandIndex(), BandIndex()
    for aid, ts in entries:
        forward.add(aid, ts, ["band:0:x"])
    for aid, ts in reversed(entries):
        backward.add(aid, ts, ["band:0:x"])
    newest = sorted((ts, aid) for aid, ts in entries)[-MAX_BUCKET:]
    assert forward.snapshot() == backward.snapshot() == {"band:0:x": newest}
    assert forward.bucket("band:0:x", horizon=90.0) == [e for e in newest if e[0] >= 90.0]


def test_bucket_keys_left_by_an_earlier_version_are_swept() -> None:
    table = {"band:3:abcd": [["00000000000000aa", 5.0]], "meta:watermark": 10.0}
    assert expired_keys(table.items(), 10.0) == ["band:3:abcd"]
