"""The crawler against real local HTTP servers: politeness, freshness, limits and safety."""

from __future__ import annotations

import socket
import time
import zlib

import pytest
from aiohttp import web

from services.scraper.crawler import page_task
from services.scraper.fetch import FetchLimits
from tests.services.scraper.conftest import SILENT_SOURCE, CrawlHarness, LocalSite, SilentServer, make_harness

RU = "Сенатор Владимир Джабаров отметил, что встреча двух президентов прошла очень продуктивно. " * 10


def rss(base: str, paths: list[str]) -> str:
    items = "".join(f"<item><title>t{i}</title><link>{base}{p}</link><guid>g{i}</guid></item>" for i, p in enumerate(paths))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'


def article(title: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{RU}</p></body></html>"


def source(site: LocalSite, **extra: object) -> dict:  # type: ignore[type-arg]
    return {
        "sources": [{"name": "local", "feeds": [site.base + "/feed.xml"], "allowed_domains": ["127.0.0.1"],
                     "allow_private_addresses": True, **extra}],
        "defaults": {"politeness": {"min_delay": 0.0, "max_concurrency": 4}},
    }


def harness(harnesses: list[CrawlHarness], *args, **kwargs) -> CrawlHarness:  # type: ignore[no-untyped-def]
    h = make_harness(*args, **kwargs)
    harnesses.append(h)
    return h


async def test_robots_disallow_and_crawl_delay_are_obeyed(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    site.page("/robots.txt", "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.5\n", "text/plain")
    paths = ["/a/1/", "/a/2/", "/a/3/", "/private/secret/"]
    site.page("/feed.xml", rss(site.base, paths), "application/rss+xml")
    for p in paths:
        site.page(p, article(p))
    h = harness(harnesses, source(site))
    await h.poll("local")

    assert not site.hits_for("/private/secret/"), "robots.txt disallows it"
    assert sorted(r.url for r in h.raw) == sorted(site.base + p for p in paths[:3])
    starts = [hit.at for hit in site.hits if hit.path != "/robots.txt"]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(gaps) == 3 and min(gaps) >= 0.48, f"gaps between requests to one host: {gaps}"


async def test_retry_after_slows_the_host_down(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    answers = iter([web.Response(status=429, headers={"Retry-After": "1"}), web.Response(text=article("ok"), content_type="text/html")])

    async def throttled(request: web.Request) -> web.StreamResponse:
        return next(answers)

    site.route("/busy/", throttled)
    h = harness(harnesses, source(site))
    await h.run([page_task(site.base + "/busy/", "local")])

    hits = site.hits_for("/busy/")
    assert len(hits) == 2
    assert hits[1].at - hits[0].at >= 0.98, "waited for Retry-After"
    assert len(h.raw) == 1 and not h.dead


async def test_not_modified_feeds_and_pages_publish_nothing_new(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    body = rss(site.base, ["/n/1/"])

    async def feed(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"f1"':
            return web.Response(status=304, headers={"ETag": '"f1"'})
        return web.Response(text=body, content_type="application/rss+xml", headers={"ETag": '"f1"'})

    async def page(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"p1"':
            return web.Response(status=304, headers={"ETag": '"p1"'})
        return web.Response(text=article("n1"), content_type="text/html", headers={"ETag": '"p1"'})

    site.route("/feed.xml", feed)
    site.route("/n/1/", page)
    h = harness(harnesses, source(site))
    await h.poll("local")
    assert len(h.raw) == 1

    await h.poll("local")
    feed_hits = site.hits_for("/feed.xml")
    assert feed_hits[-1].headers.get("If-None-Match") == '"f1"'
    assert len(site.hits_for("/n/1/")) == 1, "a 304 feed lists nothing new"

    # The page is due for its first re-fetch: the conditional GET answers 304.
    [key] = [k for k in h.crawler.later if k.startswith("r:")]
    due = int(time.time()) - 1
    h.crawler.later[key]["at"] = due
    h.seen[key[2:]]["r"] = due
    h.crawler.reindex_later()
    assert await h.crawler.release_due() == 1
    await h.run([])
    page_hits = site.hits_for("/n/1/")
    assert len(page_hits) == 2 and page_hits[-1].headers.get("If-None-Match") == '"p1"'
    assert len(h.raw) == 1, "304 → no new raw page event"


async def test_an_unchanged_page_is_not_republished(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    site.page("/same/", article("same"))
    h = harness(harnesses, source(site))
    await h.run([page_task(site.base + "/same/", "local")])
    await h.run([page_task(site.base + "/same/", "local", force=True)])
    assert len(site.hits_for("/same/")) == 2
    assert len(h.raw) == 1, "same content hash → not published again"


async def test_url_variants_are_fetched_once(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    port = site.port
    variants = [
        "/story/?utm_source=tg&utm_medium=social",
        "/story/#comments",
        "/story",
        "/story/?fbclid=abc123",
        "/STORY/../story/",
    ]
    # (http and https share one spelling only on default ports: with an explicit port they
    # are two origins, tested in test_urls.py.)
    items = [f"http://127.0.0.1:{port}{v}" for v in variants]
    feed = '<?xml version="1.0"?><rss version="2.0"><channel>' + "".join(f"<item><link>{u.replace('&', '&amp;')}</link></item>" for u in items) + "</channel></rss>"
    site.page("/feed.xml", feed, "application/rss+xml")
    site.page("/story", article("story"))
    site.page("/story/", article("story"))
    h = harness(harnesses, source(site, keep_trailing_slash=False))
    await h.poll("local")
    assert len(site.hits_for("/story")) + len(site.hits_for("/story/")) == 1
    assert len(h.raw) == 1


async def test_a_server_that_never_answers_times_out(harnesses, silent_server: SilentServer) -> None:  # type: ignore[no-untyped-def]
    limits = FetchLimits(connect_timeout=1, total_timeout=1, attempts=2, backoff_base=0.05)
    h = harness(harnesses, SILENT_SOURCE, limits=limits)
    started = time.monotonic()
    await h.run([page_task(silent_server.url("/hang/"), "s")], timeout=20)
    elapsed = time.monotonic() - started
    assert [d[0].reason for d in h.dead] == ["timeout"]
    assert elapsed < 5, f"bounded by the total timeout and two attempts, took {elapsed:.1f}s"
    assert len(silent_server.connections) == 2, "retried once"


async def test_a_50_mb_page_is_cut_at_the_limit_and_dead_lettered(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    sent = {"bytes": 0}

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        chunk = b"<p>" + b"x" * (1024 * 1024 - 7) + b"</p>\n"
        try:
            for _ in range(50):
                await response.write(chunk)
                sent["bytes"] += len(chunk)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    site.route("/huge/", huge)
    limit = 5 * 1024 * 1024
    h = harness(harnesses, source(site), limits=FetchLimits(max_bytes=limit, total_timeout=20, attempts=1))
    await h.run([page_task(site.base + "/huge/", "local")])
    [(rejected, task, original)] = h.dead
    assert rejected.reason == "too-large"
    assert original is not None and len(original) == limit
    assert not h.raw
    assert sent["bytes"] < 50 * 1024 * 1024, "the download stopped at the limit"


async def test_a_gzip_bomb_is_refused(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1024 * 1024)
    bomb = b"".join(compressor.compress(zeros) for _ in range(200)) + compressor.flush()
    assert len(bomb) < 300 * 1024  # 200 MB expanded

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})

    site.route("/bomb/", handler)
    h = harness(harnesses, source(site), limits=FetchLimits(max_bytes=50 * 1024 * 1024, attempts=1))
    await h.run([page_task(site.base + "/bomb/", "local")])
    assert [d[0].reason for d in h.dead] == ["decompression-bomb"]


async def test_redirects_to_internal_addresses_are_refused(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    # news.test is pinned to the local server (an operator's trusted DNS answer), but the
    # source does not allow private addresses: its redirects must not reach them.
    async def to_loopback(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"http://127.0.0.1:{site.port}/secret/")

    async def to_metadata(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    site.route("/go-local/", to_loopback)
    site.route("/go-metadata/", to_metadata)
    site.page("/secret/", "internal")
    site.page("/fine/", article("fine"))
    sources = {"sources": [{"name": "public", "allowed_domains": ["news.test"], "politeness": {"respect_robots": False}}]}
    h = harness(harnesses, sources, pinned={"news.test": "127.0.0.1"})
    base = f"http://news.test:{site.port}"
    await h.run([page_task(base + "/go-local/", "public"), page_task(base + "/go-metadata/", "public"), page_task(base + "/fine/", "public")])

    assert {d[0].reason for d in h.dead} == {"forbidden-address"}
    assert len(h.dead) == 2
    assert not site.hits_for("/secret/")
    assert [r.url for r in h.raw] == [base + "/fine/"]


async def test_names_that_resolve_to_internal_addresses_are_refused(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    site.page("/x/", article("x"))
    names = ["localhost"]
    hostname = socket.gethostname()
    try:
        if socket.gethostbyname(hostname).startswith("127."):
            names.append(hostname)
    except OSError:
        pass
    sources = {"sources": [{"name": "public", "allowed_domains": names, "politeness": {"respect_robots": False}}]}
    h = harness(harnesses, sources)
    await h.run([page_task(f"http://{name}:{site.port}/x/", "public") for name in names])
    assert [d[0].reason for d in h.dead] == ["forbidden-address"] * len(names)
    assert not site.hits_for("/x/")


@pytest.mark.parametrize(
    ("content_type", "encoding", "declaration", "expected_source"),
    [
        ("text/html; charset=windows-1251", "cp1251", "", "http-header"),
        ("text/html", "cp1251", '<meta charset="windows-1251">', "meta"),
        ("text/html", "koi8_r", '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">', "meta"),
        ("text/html", "koi8_r", "", "detected"),
        ("text/html", "cp1251", "", "detected"),
    ],
)
async def test_non_utf8_pages_are_decoded(site: LocalSite, harnesses, content_type, encoding, declaration, expected_source) -> None:  # type: ignore[no-untyped-def]
    text = f"<html><head>{declaration}<title>Переговоры</title></head><body><h1>Переговоры в Душанбе</h1><p>{RU}</p></body></html>"
    site.page("/ru/", text.encode(encoding), content_type)
    h = harness(harnesses, source(site))
    await h.run([page_task(site.base + "/ru/", "local")])
    [raw] = h.raw
    assert "Переговоры в Душанбе" in (raw.html or "") and "Джабаров" in (raw.html or "")
    assert raw.encoding_source == expected_source
