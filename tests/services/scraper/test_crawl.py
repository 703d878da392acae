from datetime import datetime, timedelta, timezone

from services.scraper.crawl import choose_canonical, decide, find_canonical, next_refetch, record_fetch

NOW = datetime(2025, 10, 10, 12, 0, tzinfo=timezone.utc)


def test_new_pages_are_fetched_and_known_ones_skipped() -> None:
    assert decide(None, NOW).reason == "new"
    entry, changed = record_fetch(None, url="https://n.example/a", aid="0" * 16, content_hash="h1", now=NOW, window=timedelta(hours=48))
    assert changed
    assert decide(entry, NOW + timedelta(minutes=1)).fetch is False
    assert decide(entry, NOW, force=True).reason == "forced"


def test_refetch_schedule_decays_and_ends_with_the_window() -> None:
    assert next_refetch(NOW, NOW, timedelta(hours=48)) == NOW + timedelta(minutes=15)
    assert next_refetch(NOW, NOW + timedelta(minutes=20), timedelta(hours=48)) == NOW + timedelta(hours=1)
    assert next_refetch(NOW, NOW + timedelta(hours=25), timedelta(hours=48)) is None
    assert next_refetch(NOW, NOW + timedelta(hours=2), timedelta(hours=3)) is None


def test_an_unchanged_page_is_not_a_change() -> None:
    entry, _ = record_fetch(None, url="u", aid="0" * 16, content_hash="h1", now=NOW, window=timedelta(hours=48))
    again, changed = record_fetch(entry, url="u", aid="0" * 16, content_hash="h1", now=NOW + timedelta(minutes=16), window=timedelta(hours=48))
    assert not changed and again.fetch_count == 2
    assert decide(entry, NOW + timedelta(minutes=16), refetch=True).reason == "refetch-due"


def test_rel_canonical_is_used_only_on_the_sources_domains() -> None:
    body = b'<html><head><link href="/a/?utm_source=x" rel="canonical"></head></html>'
    declared = find_canonical(body, "https://n.example/a/?page=1")
    assert declared == "https://n.example/a/?utm_source=x"
    assert choose_canonical("https://n.example/x", declared, lambda h: h == "n.example") == declared
    assert choose_canonical("https://n.example/x", "https://evil.example/", lambda h: h == "n.example") == "https://n.example/x"
