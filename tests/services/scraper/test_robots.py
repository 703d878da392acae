"""robots.txt rules from an answer, and how long they are kept."""

from __future__ import annotations

import time

from services.scraper.robots import RobotsCache, rules_from_response

UA = "newsflow-test/1.0"
ROBOTS = b"""User-agent: *
Disallow: /private/
Crawl-delay: 2.5
Sitemap: https://a.example/sitemap.xml

User-agent: newsflow-test
Disallow: /drafts/
"""


def test_a_robots_file_is_followed_for_our_agent() -> None:
    rules = rules_from_response(200, ROBOTS, now=0.0)
    assert rules.can_fetch("https://a.example/news/1", UA)
    assert not rules.can_fetch("https://a.example/drafts/1", UA), "our own group applies"
    assert not rules.can_fetch("https://a.example/private/1", "other-bot/1.0")
    assert rules.crawl_delay("other-bot/1.0") == 2.5
    assert rules.sitemaps() == ["https://a.example/sitemap.xml"]
    assert not rules.unreachable


def test_a_missing_file_allows_everything_and_an_error_disallows_for_a_while() -> None:
    missing = rules_from_response(404, None, now=0.0)
    assert missing.can_fetch("https://a.example/anything", UA) and missing.crawl_delay(UA) is None and missing.sitemaps() == []
    for status in (500, 503, None):  # a server error, or no answer at all (RFC 9309: complete disallow)
        broken = rules_from_response(status, None, now=0.0)
        assert broken.unreachable and not broken.can_fetch("https://a.example/", UA)


def test_undecodable_bytes_do_not_break_the_parser() -> None:
    rules = rules_from_response(200, b"User-agent: *\nDisallow: /\xff\xfe/\n", now=0.0)
    assert rules.can_fetch("https://a.example/ok", UA)


def test_rules_expire_after_their_ttl_errors_sooner() -> None:
    cache = RobotsCache(ttl=100.0, error_ttl=10.0)
    now = time.monotonic()
    cache.put("https://ok.example", rules_from_response(200, ROBOTS, now=now - 50))
    cache.put("https://old.example", rules_from_response(200, ROBOTS, now=now - 150))
    cache.put("https://down.example", rules_from_response(503, None, now=now - 20))
    assert cache.get("https://ok.example") is not None
    assert cache.get("https://old.example") is None
    assert cache.get("https://down.example") is None, "an unreachable robots.txt is asked again after error_ttl"
    assert cache.get("https://never.example") is None
