"""Fingerprints and story assignment over a plain dict (what the faust table holds)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from services.enrichment.stories import StoryAssigner
from services.enrichment.logic import enrich
from services.enrichment.stories import (
    NUM_PERM, RETENTION_SECONDS, STORY_SIMILARITY, assign_story, expired_keys, fingerprints, hamming, similarity,
    simhash, words,
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
        first = assign_story(a.id, t0, pa, table.get)
        table.update(first.updates)
        second = assign_story(b.id, t0 + delta_days * 86400, pb, table.get)
        return first.story_id, second.story_id

    same, other = run(0.1)
    assert same == other, "a rewrite of the same story (the 015/016 pair)"
    far, away = run(10)
    assert far != away, "the same words ten days later are a new story"

    table: dict = {}  # type: ignore[type-arg]
    table.update(assign_story(a.id, t0, pa, table.get).updates)
    later = assign_story(b.id, t0 + RETENTION_SECONDS + 86400, pb, table.get)
    table.update(later.updates)
    stale = expired_keys(table.items(), table["meta:watermark"])
    assert f"article:{a.id}" in stale and f"article:{b.id}" not in stale
    assert all(not k.startswith("band:") or any(e[0] == a.id for e in table[k]) for k in stale)


def test_published_time_is_used_not_the_clock(site) -> None:  # type: ignore[no-untyped-def]
    table: dict = {}  # type: ignore[type-arg]
    assign = StoryAssigner(table)
    a = site["overchuk-baku-north-south"]
    b = site["baku-north-south-schedule"].model_copy(update={"published_at": a.published_at + timedelta(days=5)})
    assert assign(a).story_id != assign(b).story_id
