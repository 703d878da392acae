from datetime import datetime, timedelta, timezone

import pytest

from services.scraper.decisions import (
    SeenEntry, alias_value, choose_canonical, decide, find_canonical, is_expired, next_refetch, record_fetch,
)
from services.scraper.state_keys import StateKeys

NOW = datetime(2025, 10, 10, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def test_new_pages_are_fetched_and_known_ones_skipped() -> None:
    assert decide(None, NOW).reason == "new"
    entry, changed = record_fetch(None, url="https://n.example/a", content_hash="a" * 64, now=NOW, window=timedelta(hours=48))
    assert changed
    assert decide(entry, NOW + timedelta(minutes=1)).fetch is False
    assert decide(entry, NOW, force=True).reason == "forced"


def test_refetch_schedule_decays_and_ends_with_the_window() -> None:
    assert next_refetch(NOW, NOW, timedelta(hours=48)) == NOW + timedelta(minutes=15)
    assert next_refetch(NOW, NOW + timedelta(minutes=20), timedelta(hours=48)) == NOW + timedelta(hours=1)
    assert next_refetch(NOW, NOW + timedelta(hours=25), timedelta(hours=48)) is None
    assert next_refetch(NOW, NOW + timedelta(hours=2), timedelta(hours=3)) is None


def test_an_unchanged_page_is_not_a_change() -> None:
    entry, _ = record_fetch(None, url="u", content_hash="h1" * 32, now=NOW, window=timedelta(hours=48))
    again, changed = record_fetch(entry, url="u", content_hash="h1" * 32, now=NOW + timedelta(minutes=16), window=timedelta(hours=48))
    assert not changed and again.fetch_count == 2
    assert decide(entry, NOW + timedelta(minutes=16), refetch=True).reason == "refetch-due"


def test_the_seen_entry_is_one_small_value_under_a_short_key() -> None:
    url = "https://vestnik.example/news/2025/10/10/putin-aliev-dushanbe-peregovory/"
    entry, _ = record_fetch(None, url=url, content_hash="f" * 64, now=NOW, window=timedelta(hours=48),
                            etag='"5f2a-63ab9c1d"', last_modified="Fri, 10 Oct 2025 11:35:00 GMT")
    key = StateKeys.page(url)
    encoded = entry.encode()
    import json

    assert len(key) == 18 and key.startswith("u:")
    assert len(json.dumps(key)) + len(json.dumps(encoded)) < len(url) + 200, encoded
    assert SeenEntry.model_validate(encoded) == entry
    assert entry.article_id and len(entry.article_id) == 16
    

def test_hostile_validators_are_not_kept() -> None:
    entry, _ = record_fetch(None, url="u", content_hash="0" * 64, now=NOW, window=DAY, etag="x" * 5000)
    assert entry.etag is None


def test_state_values_expire_after_the_retention() -> None:
    entry, _ = record_fetch(None, url="u", content_hash="0" * 64, now=NOW, window=DAY)
    assert not is_expired(entry.encode(), NOW + 29 * DAY, 30 * DAY)
    assert is_expired(entry.encode(), NOW + 31 * DAY, 30 * DAY)
    assert is_expired(alias_value("u:x", NOW), NOW + 31 * DAY, 30 * DAY)
    assert is_expired("garbage", NOW, 30 * DAY)


def test_rel_canonical_is_used_only_on_the_sources_domains() -> None:
    body = b'<html><head><link href="/a/?utm_source=x" rel="canonical"></head></html>'
    declared = find_canonical(body, "https://n.example/a/?page=1")
    assert declared == "https://n.example/a/?utm_source=x"
    assert choose_canonical("https://n.example/x", declared, lambda h: h == "n.example") == declared
    assert choose_canonical("https://n.example/x", "https://evil.example/", lambda h: h == "n.example") == "https://n.example/x"


@pytest.mark.parametrize("body", [
    b"<head><link rel='stylesheet' href='/s.css'><LINK REL=canonical HREF=https://n.example/c/></head>",
    b'<head><link rel="alternate canonical" href="https://n.example/c/" /></head>',
    b'<head><link\n rel="canonical"\n href="https://n.example/c/"></head><body><link rel=canonical href=/body/>',
])
def test_canonical_link_spellings(body: bytes) -> None:
    assert find_canonical(body, "https://n.example/x") == "https://n.example/c/"


def test_a_link_in_the_body_is_not_the_canonical_link() -> None:
    assert find_canonical(b"<head></head><body><link rel=canonical href=/c/>", "https://n.example/x") is None


@pytest.mark.timeout(20)
@pytest.mark.parametrize("unit", [b"<link ", b'<link rel="canonical" ', b'<link href="', b"<link rel=canonical href=x "])
def test_canonical_discovery_is_linear_on_repeated_link_tags(unit: bytes) -> None:
    # 256 KiB of repeated `<link ` took about 50 s with the old regex; a 4 MiB head (cut
    # to 256 KiB) is hopeless for quadratic code and instant for linear code.
    body = b"<html><head>" + unit * (4 * 1024 * 1024 // len(unit))
    assert find_canonical(body, "https://n.example/x") is None
